"""Telling the person about what needs them: conflicts, errors that do not fix themselves, and
the engine's notices (a drive connected, up to date: the same notices the headless daemon sends).

Notifications go to org.freedesktop.Notifications through the engine's `Notifier` (a D-Bus call,
made on the thread pool so a slow service never blocks the GUI); where no notification service
runs, the tray icon shows its own message. Repeats of one message are folded for a while, and a
remote that fails is reported once, after a few failed retries, until it works again; a remote
away (a drive unplugged) is no failure and is never reported.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable

from PySide6.QtCore import QObject, Signal, Slot
from PySide6.QtWidgets import QSystemTrayIcon

from ..engine.devices.notify import URGENCY_CRITICAL, URGENCY_NORMAL, Notice, Notifier
from .icons import icon_path
from .state import AppState, repo_key
from .workers import EventBridge, run_in_background

log = logging.getLogger(__name__)

REPEAT_AFTER = 600.0  # seconds before the same message is shown again
REMOTE_FAILURES = 3  # failed attempts before "can't reach" becomes worth a notification


class Notifications(QObject):
    shown = Signal(str, str, str)  # summary, body, how ("desktop" | "tray" | "off")

    def __init__(self, bridge: EventBridge, state: AppState, tray: QSystemTrayIcon | None,
                 enabled: Callable[[], bool], notifier: Notifier | None = None,
                 parent: QObject | None = None):
        super().__init__(parent)
        self.state = state
        self.tray = tray
        self.enabled = enabled
        self.notifier = notifier or Notifier("SyncAssistant")
        self._recent: dict[str, float] = {}
        self._failing: set[tuple[str, str]] = set()
        bridge.conflict.connect(self._on_conflict)
        bridge.error.connect(self._on_error)
        bridge.pushed.connect(lambda repo, remote: self._failing.discard((repo_key(repo), remote)))
        state.repoChanged.connect(self._on_repo_changed)

    # -- what is worth telling ----------------------------------------------------------------
    def _on_conflict(self, repo: str, record: dict) -> None:
        name = os.path.basename(repo_key(repo))
        path = str(record.get("path", ""))
        ours = str((record.get("ours") or {}).get("device") or "")
        theirs = str((record.get("theirs") or {}).get("device") or "")
        if ours and theirs and "device_uuid" in (record.get("theirs") or {}):
            body = self.tr("%1 was changed on %2 and on %3. Both versions are kept; "
                           "open Conflicts… to choose.").replace("%1", path).replace("%2", ours).replace("%3", theirs)
        else:
            body = self.tr("%1 was changed on two devices. Both versions are kept; "
                           "open Conflicts… to choose.").replace("%1", path)
        self.notify(self.tr("Conflict in %1").replace("%1", name), body, key=f"conflict:{repo}:{path}")

    def _on_error(self, repo: str, where: str, message: str) -> None:
        name = os.path.basename(repo_key(repo))
        self.notify(self.tr("Syncing %1 has a problem").replace("%1", name),
                    message.splitlines()[0] if message else where,
                    key=f"error:{repo}:{where}:{message[:80]}", urgency=URGENCY_CRITICAL)

    def _on_repo_changed(self, key: str) -> None:
        view = self.state.views.get(key)
        if view is None:
            return
        if view.problem:
            self.notify(self.tr("%1 is not syncing").replace("%1", view.name), view.problem,
                        key=f"problem:{key}:{view.problem}", urgency=URGENCY_CRITICAL)
        for r in (view.status or {}).get("remotes") or []:
            ident = (key, r.get("name", ""))
            if r.get("error") and not r.get("offline") and (r.get("failures") or 0) >= REMOTE_FAILURES:
                if ident not in self._failing:
                    self._failing.add(ident)
                    self.notify(self.tr("Can't reach %1").replace("%1", ident[1]),
                                self.tr("%1 has not synced with it since %2 attempts: %3")
                                .replace("%1", view.name).replace("%2", str(r.get("failures")))
                                .replace("%3", str(r.get("error"))), key=f"remote:{key}:{ident[1]}")
            elif not r.get("error"):
                self._failing.discard(ident)

    @Slot(object)
    def show_notice(self, notice: Notice) -> None:
        """A notice from the engine (the device monitor), in the user's language. Each is news
        (a drive plugged in twice is connected twice): none is folded."""
        label = notice.label
        urgency = URGENCY_NORMAL
        if notice.kind == "drive-connected":
            summary = self.tr("Drive %1 connected").replace("%1", label)
            body = (self.tr("syncing") if notice.files is None
                    else self.tr("syncing %n file(s)", "", notice.files))
        elif notice.kind == "drive-synced":
            summary = self.tr("%1 is up to date").replace("%1", label)
            body = self.tr("safe to remove")
        elif notice.kind == "drive-incomplete":
            summary = self.tr("%1 is not fully synced").replace("%1", label)
            body = self.tr("%n file(s) could not be copied: %1", "", notice.failed).replace("%1", notice.error or "")
            urgency = URGENCY_CRITICAL
        else:
            summary = self.tr("%1 was removed").replace("%1", label)
            body = self.tr("before it was fully synced")
            urgency = URGENCY_CRITICAL
        self.notify(summary, body, urgency=urgency, fold=False)

    # -- showing ------------------------------------------------------------------------------
    def notify(self, summary: str, body: str, key: str | None = None, urgency: int = URGENCY_NORMAL,
               fold: bool = True) -> None:
        """Show a notification unless turned off or (`fold`) the same was shown recently."""
        if not self.enabled():
            self.shown.emit(summary, body, "off")
            return
        if fold:
            key = key or summary + body
            now = time.monotonic()
            if now - self._recent.get(key, -REPEAT_AFTER) < REPEAT_AFTER:
                return
            self._recent[key] = now
        icon = str(icon_path("syncassistant"))
        notifier = self.notifier

        def send() -> bool:
            return notifier.notify(summary, body, icon=icon, urgency=urgency)

        def done(ok: object, error: object) -> None:
            if ok:
                self.shown.emit(summary, body, "desktop")
            else:
                self._tray_message(summary, body, urgency)

        run_in_background(send, done, self)

    def _tray_message(self, summary: str, body: str, urgency: int) -> None:
        if self.tray is not None and self.tray.isVisible() and QSystemTrayIcon.supportsMessages():
            kind = (QSystemTrayIcon.MessageIcon.Warning if urgency >= URGENCY_CRITICAL
                    else QSystemTrayIcon.MessageIcon.Information)
            self.tray.showMessage(summary, body, kind, 10000)
            self.shown.emit(summary, body, "tray")
        else:
            log.info("notification (no way to show it): %s: %s", summary, body)
            self.shown.emit(summary, body, "log")

    def close(self) -> None:
        self.notifier.close()
