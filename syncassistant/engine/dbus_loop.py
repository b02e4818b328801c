"""The event loop pieces shared by the D-Bus watchers (mounts.py, netwatch.py), no Qt.

Each watcher owns one blocking jeepney connection on its own thread. It routes every signal the
bus sends it into a deque (``conn.filter(MatchRule(type="signal"), queue=...)``), then loops:
:func:`dispatch_pending` handles what has arrived, :class:`Waiter` sleeps in ``poll()`` on the
bus socket plus an eventfd that the watcher's ``stop()`` writes to. Nothing polls on a timer.
"""

from __future__ import annotations

import logging
import select
from collections import deque
from collections.abc import Callable

from jeepney import HeaderFields, Message
from jeepney.io.blocking import DBusConnection

log = logging.getLogger(__name__)

SignalHandler = Callable[[DBusConnection, Message], None]


def dispatch_pending(conn: DBusConnection, signals: deque[Message], handle: SignalHandler) -> None:
    """Handle every signal already received or readable without blocking.

    Handlers may make method calls; signals arriving meanwhile land in ``signals`` and are handled
    in the same call. A handler's exception is logged and the next signal handled, except
    OSError/TimeoutError (the bus hung up or stopped answering), which propagate to the caller.
    """
    while True:
        try:
            while True:  # parse everything buffered or readable without blocking
                conn.recv_messages(timeout=0)
        except TimeoutError:
            pass
        if not signals:
            return
        while signals:
            msg = signals.popleft()
            try:
                handle(conn, msg)
            except (OSError, TimeoutError):
                raise
            except Exception:
                log.exception("failed to handle D-Bus signal %s", msg.header.fields.get(HeaderFields.member))


class Waiter:
    """Sleep until the bus socket has data or the wake eventfd was written (no timer)."""

    def __init__(self, conn: DBusConnection, wake_fd: int) -> None:
        self._wake_fd = wake_fd
        self._poller = select.poll()
        self._poller.register(conn.sock.fileno(), select.POLLIN)
        self._poller.register(wake_fd, select.POLLIN)

    def wait(self) -> bool:
        """False when woken through the eventfd (stop requested), True when the bus has data."""
        return self._wake_fd not in dict(self._poller.poll())
