"""Desktop notifications through org.freedesktop.Notifications on the session bus (no Qt).

This module owns :class:`Notifier`, which sends ``Notify`` calls with a jeepney blocking
connection to ``$DBUS_SESSION_BUS_ADDRESS``.  ``notify()`` returns False (and logs at debug
level) when there is no session bus or no notification service, so that callers can fall back:
the tray shows its own balloon, the headless daemon just logs.  One connection is kept and
re-opened after a failure; a lock makes the notifier safe to share between threads.

It also owns :class:`Notice`, what the engine has to tell a person (a drive connected, up to
date...). Both front ends get the same notices from the engine: the headless daemon sends
their English text with :meth:`Notifier.send`; the tray words them in the user's language
from their ``kind`` and fields, and sends them through this same Notifier.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from typing import Any, Literal

from jeepney import DBusAddress, new_method_call
from jeepney.io.blocking import DBusConnection, open_dbus_connection
from jeepney.wrappers import DBusErrorResponse, unwrap_msg

log = logging.getLogger(__name__)

NOTIFICATIONS_BUS_NAME = "org.freedesktop.Notifications"
NOTIFICATIONS_PATH = "/org/freedesktop/Notifications"
NOTIFICATIONS_INTERFACE = "org.freedesktop.Notifications"

URGENCY_LOW, URGENCY_NORMAL, URGENCY_CRITICAL = 0, 1, 2

_ADDRESS = DBusAddress(NOTIFICATIONS_PATH, bus_name=NOTIFICATIONS_BUS_NAME, interface=NOTIFICATIONS_INTERFACE)


NoticeKind = Literal["drive-connected", "drive-synced", "drive-incomplete", "drive-removed"]


@dataclass(frozen=True)
class Notice:
    """Something the engine tells a person about a drive (``label``): ``files`` to sync once
    connected (None: not counted yet), ``failed`` files and the first ``error`` when incomplete.
    ``summary`` and ``body`` are the English text (the log, the headless daemon)."""

    kind: NoticeKind
    label: str
    files: int | None = None
    failed: int = 0
    error: str | None = None

    @property
    def summary(self) -> str:
        return {"drive-connected": f"Drive {self.label} connected",
                "drive-synced": f"{self.label} is up to date",
                "drive-incomplete": f"{self.label} is not fully synced",
                "drive-removed": f"{self.label} was removed"}[self.kind]

    @property
    def body(self) -> str:
        if self.kind == "drive-connected":
            if self.files is None:
                return "syncing"
            return f"syncing {self.files} file{'s' if self.files != 1 else ''}"
        if self.kind == "drive-synced":
            return "safe to remove"
        if self.kind == "drive-incomplete":
            return f"{self.failed} file{'s' if self.failed != 1 else ''} could not be copied: {self.error}"
        return "before it was fully synced"


class Notifier:
    """Send desktop notifications; ``notify()`` is False when nobody can show them.

    ``bus`` is a jeepney bus name ("SESSION") or a D-Bus address; ``timeout`` bounds each call
    (a service started by bus activation may need a moment).
    """

    def __init__(self, app_name: str = "SyncAssistant", *, bus: str = "SESSION",
                 timeout: float = 5.0) -> None:
        self.app_name = app_name
        self._bus = bus
        self._timeout = timeout
        self._lock = threading.Lock()
        self._conn: DBusConnection | None = None
        self.last_id: int | None = None  # id the server gave the last notification

    def notify(self, summary: str, body: str, icon: str = "", urgency: int = URGENCY_NORMAL,
               timeout_ms: int = -1) -> bool:
        """Show a notification; True if the notification service accepted it.

        ``urgency`` is 0 (low), 1 (normal) or 2 (critical); ``timeout_ms`` -1 lets the server decide.
        """
        hints: dict[str, tuple[str, Any]] = {"urgency": ("y", int(urgency))}
        args = (self.app_name, 0, icon, summary, body, [], hints, int(timeout_ms))
        with self._lock:
            for attempt in (1, 2):  # a second try on a fresh connection if the old one broke
                conn = self._connection()
                if conn is None:
                    return False
                try:
                    reply = conn.send_and_get_reply(
                        new_method_call(_ADDRESS, "Notify", "susssasa{sv}i", args), timeout=self._timeout)
                    (self.last_id,) = unwrap_msg(reply)
                    return True
                except DBusErrorResponse as e:  # e.g. ServiceUnknown: no notification daemon
                    log.debug("notification service refused %r: %s", summary, e)
                    return False
                except (OSError, TimeoutError) as e:
                    log.debug("notification %r failed (attempt %d): %s", summary, attempt, e)
                    self._close_locked()
            return False

    def send(self, notice: Notice) -> bool:
        """Show an engine notice in English (the headless daemon; the tray words its own)."""
        return self.notify(notice.summary, notice.body)

    def close(self) -> None:
        """Close the session-bus connection (the next ``notify()`` opens a new one)."""
        with self._lock:
            self._close_locked()

    def __enter__(self) -> Notifier:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _connection(self) -> DBusConnection | None:
        if self._conn is None:
            try:
                self._conn = open_dbus_connection(bus=self._bus)
            # KeyError: $DBUS_SESSION_BUS_ADDRESS unset; OSError: no socket / refused
            except (OSError, KeyError, ValueError, TimeoutError) as e:
                log.debug("no session bus for notifications: %r", e)
                return None
        return self._conn

    def _close_locked(self) -> None:
        if self._conn is not None:
            try:
                self._conn.close()
            except OSError:
                pass
            self._conn = None
