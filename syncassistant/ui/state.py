"""What the UI knows about each repository, and the one-line summary the tray shows.

`AppState` lives in the GUI thread. Workers feed it status snapshots, transfer dicts and limits
(through queued signals); windows and the tray read it and listen to its signals. It never asks
the engine anything itself.

Summary states, most urgent first: error > conflict > paused > syncing > offline > idle.
"""

from __future__ import annotations

import os
import time
from collections import deque
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from PySide6.QtCore import QObject, Signal

from .i18n import tr
from .units import format_size

PRIORITY = ("error", "conflict", "paused", "syncing", "offline", "idle")
ACTIVE = ("queued", "running")
FINISHED_KEPT = 100  # finished/cancelled transfers kept per repository for the window
SPEED_WINDOW = 8.0  # seconds of progress reports the shown speed is measured over
SPEED_MIN_SPAN = 2.0  # no speed shown before reports span this long (the first burst misleads)


@lru_cache(maxsize=256)
def _real(path: str) -> str:
    return os.path.realpath(os.path.expanduser(path))


def repo_key(path: str | os.PathLike[str]) -> str:
    """The identity of a repository in the UI: its real path (what the engine reports)."""
    return _real(os.fspath(path))


def display_path(path: str | os.PathLike[str]) -> str:
    """A path as a person reads it: the home folder shown as ~."""
    text = os.fspath(path)
    home = os.path.expanduser("~").rstrip("/")
    for base in {home, _real(home)}:
        if base and (text == base or text.startswith(base + "/")):
            return "~" + text[len(base):]
    return text


@dataclass
class RepoView:
    key: str
    status: dict[str, Any] | None = None
    problem: str | None = None  # the daemon could not start (or stopped with an error)
    running: bool = False
    transfers: dict[str, dict[str, Any]] = field(default_factory=dict)
    limits: dict[str, Any] | None = None
    has_transfers: bool = False  # the engine offers a transfer manager for this repository

    @property
    def name(self) -> str:
        return os.path.basename(self.key.rstrip("/")) or self.key

    @property
    def paused(self) -> bool:
        """Paused by the person (the tray's Pause, the CLI's pause), not by a run condition."""
        if not (self.status and self.status.get("state") == "paused"):
            return False
        return "user" in self.status.get("paused_by", ["user"])

    @property
    def held_by_conditions(self) -> dict[str, Any] | None:
        """The run conditions' report while they hold content or pause this folder, else None."""
        report = (self.status or {}).get("conditions") or {}
        return report if report.get("action") in ("hold-content", "pause") else None

    @property
    def conditions_overridden(self) -> bool:
        """Conditions would hold this folder, but the person said "sync anyway" for a while."""
        report = (self.status or {}).get("conditions") or {}
        return bool(report.get("override_until")) and bool(report.get("reasons"))

    @property
    def conflicts(self) -> list[dict[str, Any]]:
        return list((self.status or {}).get("conflicts") or [])

    def active_transfers(self) -> list[dict[str, Any]]:
        """Transfers under way or due: not a download routing holds back (its tree parent
        brings the content; it runs only if that never happens), which is no work for now."""
        return [t for t in self.transfers.values() if t.get("state") in ACTIVE and not held_back(t)]

    def failing_remotes(self) -> list[dict[str, Any]]:
        return [r for r in (self.status or {}).get("remotes") or [] if r.get("error") or r.get("offline")]


def held_back(t: dict[str, Any]) -> bool:
    """A queued download that routing defers: another device is expected to bring it."""
    return t.get("state") == "queued" and bool(t.get("deferred"))


@dataclass(frozen=True)
class Summary:
    state: str  # one of PRIORITY
    text: str  # one line for a person


def bytes_left(transfers: list[dict[str, Any]]) -> int:
    return sum(max(0, (t.get("size") or 0) - (t.get("bytes_done") or 0)) for t in transfers)


def syncing_text(transfers: list[dict[str, Any]]) -> str:
    if not transfers:
        return tr("Summary", "Syncing changes…")
    left = bytes_left(transfers)
    text = tr("Summary", "Syncing %n file(s)", len(transfers))
    if left:
        text = tr("Summary", "%1, %2 left").replace("%1", text).replace("%2", format_size(left))
    return text


def conditions_text(report: dict[str, Any]) -> str:
    """"Holding content: metered connection", "Paused: on battery (23 %)" (the engine's report)."""
    parts = []
    for reason in report.get("reasons") or []:
        if reason.get("kind") == "metered":
            parts.append(tr("Summary", "metered connection"))
        elif reason.get("kind") == "network":
            parts.append(tr("Summary", "on another network (%1)").replace("%1", str(reason.get("name"))))
        elif reason.get("percentage") is not None:
            parts.append(tr("Summary", "on battery (%1 %)").replace("%1", f"{reason['percentage']:.0f}"))
        else:
            parts.append(tr("Summary", "on battery"))
    why = ", ".join(parts)
    if report.get("action") == "pause":
        return tr("Summary", "Paused: %1").replace("%1", why)
    return tr("Summary", "Holding content: %1").replace("%1", why)


def repo_summary(view: RepoView) -> Summary:
    """State and line for one repository (the tray menu's status line)."""
    st = view.status or {}
    if view.problem:
        return Summary("error", tr("Summary", "Not syncing: %1").replace("%1", view.problem))
    if not view.running or not view.status:
        return Summary("syncing", tr("Summary", "Starting…"))
    errors = st.get("errors") or {}
    if errors:
        where, message = next(iter(errors.items()))
        return Summary("error", tr("Summary", "Problem while syncing (%1): %2").replace("%1", where)
                       .replace("%2", str(message).splitlines()[0] if message else ""))
    if view.conflicts:
        return Summary("conflict", tr("Summary", "%n conflict(s) to resolve", len(view.conflicts)))
    if view.paused:
        return Summary("paused", tr("Summary", "Paused"))
    held = view.held_by_conditions
    if held is not None:  # (its queued transfers wait for the condition: that is no syncing)
        return Summary("paused", conditions_text(held))
    active = view.active_transfers()
    if active or not st.get("idle", True):
        return Summary("syncing", syncing_text(active))
    failing = view.failing_remotes()
    if failing:
        names = ", ".join(r["name"] for r in failing)
        return Summary("offline", tr("Summary", "Can't reach %1").replace("%1", names))
    if not st.get("remotes"):
        return Summary("idle", tr("Summary", "Up to date (no other devices yet)"))
    return Summary("idle", tr("Summary", "Up to date"))


def overall_summary(views: list[RepoView]) -> Summary:
    """The tray icon's state and tooltip line over every repository."""
    if not views:
        return Summary("idle", tr("Summary", "No folders set up yet"))
    per = [(v, repo_summary(v)) for v in views]
    state = min((s.state for _, s in per), key=PRIORITY.index)
    if state == "syncing":
        active = [t for v in views for t in v.active_transfers()]
        return Summary("syncing", syncing_text(active))
    if state == "conflict":
        n = sum(len(v.conflicts) for v in views)
        return Summary("conflict", tr("Summary", "%n conflict(s) to resolve", n))
    if state == "paused" and all(s.state == "paused" and v.paused for v, s in per):
        return Summary("paused", tr("Summary", "Syncing is paused"))
    if state == "paused" and len({s.text for _, s in per if s.state == "paused"}) == 1 \
            and all(s.state == "paused" for _, s in per):
        return Summary("paused", per[0][1].text)  # every folder held for the same reason: say it once
    if state == "idle":
        return Summary("idle", tr("Summary", "Everything is up to date"))
    v, s = next((v, s) for v, s in per if s.state == state)
    return Summary(state, s.text if len(views) == 1 else f"{v.name}: {s.text}")


def last_sync(view: RepoView) -> float | None:
    times = [r.get("last_sync") for r in (view.status or {}).get("remotes") or [] if r.get("last_sync")]
    return max(times) if times else None


class AppState(QObject):
    """Per-repository views, fed by the workers; signals tell windows what changed."""

    reposChanged = Signal()  # a repository was added or removed
    repoChanged = Signal(str)  # key: status, running or problem changed
    transferChanged = Signal(str, object)  # key, transfer dict (one row changed)
    transfersReset = Signal(str)  # key: the repository's transfer list was replaced
    limitsChanged = Signal(str, object)  # key, limits dict
    summaryChanged = Signal(object)  # Summary

    def __init__(self, parent: QObject | None = None):
        super().__init__(parent)
        self.views: dict[str, RepoView] = {}
        self.summary = overall_summary([])
        self._samples: dict[tuple[str, str], deque[tuple[float, int]]] = {}

    # -- repositories -------------------------------------------------------------------------
    def add(self, key: str) -> RepoView:
        view = self.views.get(key)
        if view is None:
            view = self.views[key] = RepoView(key)
            self.reposChanged.emit()
            self._resummarise()
        return view

    def remove(self, key: str) -> None:
        if self.views.pop(key, None) is not None:
            self.reposChanged.emit()
            self._resummarise()

    def ordered(self) -> list[RepoView]:
        return list(self.views.values())

    # -- updates from workers (GUI thread) -------------------------------------------------------
    def set_status(self, key: str, status: dict[str, Any]) -> None:
        view = self.views.get(key)
        if view is None:
            return
        view.status = status
        view.running = True
        view.problem = None
        self.repoChanged.emit(key)
        self._resummarise()

    def set_running(self, key: str, running: bool, problem: str | None = None) -> None:
        view = self.views.get(key)
        if view is None:
            return
        view.running = running
        view.problem = problem
        if not running:
            for t in view.active_transfers():
                t["state"] = "cancelled"
        self.repoChanged.emit(key)
        self._resummarise()

    def set_transfers(self, key: str, transfers: list[dict[str, Any]], limits: dict[str, Any] | None,
                      available: bool) -> None:
        view = self.views.get(key)
        if view is None:
            return
        view.has_transfers = available
        fresh = {t["id"]: dict(t) for t in transfers}
        # A report sent after the snapshot was taken may have arrived before it: keep it.
        newest = max((t.get("seq", 0) for t in transfers), default=0)
        for tid, t in view.transfers.items():
            if t.get("seq", 0) > newest or (tid in fresh and t.get("seq", 0) > fresh[tid].get("seq", 0)):
                fresh[tid] = t
        view.transfers = fresh
        self.transfersReset.emit(key)
        if limits is not None:
            self.set_limits(key, limits)
        self._resummarise()

    def update_transfer(self, key: str, transfer: dict[str, Any]) -> None:
        view = self.views.get(key)
        if view is None or "id" not in transfer:
            return
        old = view.transfers.get(transfer["id"])
        if old is not None and old.get("seq", 0) > transfer.get("seq", 0):
            return  # an older report that lost the race to the GUI thread (see TransferManager._emit)
        transfer = dict(transfer)
        self._measure(key, transfer)
        view.transfers[transfer["id"]] = transfer
        if transfer.get("state") not in ACTIVE and (old is None or old.get("state") in ACTIVE):
            self._prune(view)
        self.transferChanged.emit(key, transfer)
        if old is None or old.get("state") != transfer.get("state") or self.summary.state == "syncing":
            self._resummarise()

    def _measure(self, key: str, t: dict[str, Any]) -> None:
        """Speed and time left over the last few seconds of wall time, as a person sees them.

        A paced transfer moves in bursts (the engine stops git-annex between them), so the rate
        of one burst says little; bytes over wall time is what the person waits for.
        """
        ident = (key, t["id"])
        if t.get("state") != "running":
            self._samples.pop(ident, None)
            return
        now = time.monotonic()
        samples = self._samples.setdefault(ident, deque())
        samples.append((now, int(t.get("bytes_done") or 0)))
        while len(samples) > 2 and now - samples[1][0] >= SPEED_WINDOW:
            samples.popleft()
        t0, b0 = samples[0]
        done = samples[-1][1]
        if now - t0 < SPEED_MIN_SPAN:
            t["speed"], t["eta"] = 0.0, None
            return
        speed = max(0.0, (done - b0) / (now - t0))
        t["speed"] = speed
        size = t.get("size")
        t["eta"] = (max(0, size - done) / speed) if size and speed > 0 else None

    def set_limits(self, key: str, limits: dict[str, Any]) -> None:
        view = self.views.get(key)
        if view is None:
            return
        view.limits = limits
        self.limitsChanged.emit(key, limits)

    def _prune(self, view: RepoView) -> None:
        finished = [t for t in view.transfers.values() if t.get("state") not in ACTIVE]
        if len(finished) <= FINISHED_KEPT:
            return
        finished.sort(key=lambda t: t.get("finished") or 0)
        for t in finished[: len(finished) - FINISHED_KEPT]:
            view.transfers.pop(t["id"], None)
        self.transfersReset.emit(view.key)

    def _resummarise(self) -> None:
        summary = overall_summary(self.ordered())
        if summary != self.summary:
            self.summary = summary
            self.summaryChanged.emit(summary)


def ago(t: float | None) -> str:
    """"2 minutes ago" (humanize), or "never"."""
    if not t:
        return tr("Summary", "never")
    import humanize

    return humanize.naturaltime(time.time() - t)
