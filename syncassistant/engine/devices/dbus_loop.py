"""The event loop pieces shared by the D-Bus watchers (mounts.py, netwatch.py), no Qt.

Each watcher owns one blocking jeepney connection on its own thread. It routes every signal the
bus sends it into a deque (``conn.filter(MatchRule(type="signal"), queue=...)``), then loops:
:func:`dispatch_pending` handles what has arrived, :class:`Waiter` sleeps in ``poll()`` on the
bus socket plus an eventfd that the watcher's ``stop()`` writes to. Nothing polls on a timer.
:class:`WatcherThread` is that thread's start/stop life cycle (stop Event, eventfd, ready Event).
"""

from __future__ import annotations

import logging
import os
import select
import threading
from collections import deque
from collections.abc import Callable

from jeepney import HeaderFields, Message
from jeepney.io.blocking import DBusConnection

log = logging.getLogger(__name__)

SignalHandler = Callable[[DBusConnection, Message], None]
#: A watcher's thread body: ``run(stop, wake_fd, ready)``.
WatcherBody = Callable[[threading.Event, int, threading.Event], None]


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


class WatcherThread:
    """Start and stop one watcher thread that sleeps in a :class:`Waiter`.

    ``body(stop, wake_fd, ready)`` runs on a daemon thread called ``name``; it must return soon
    after ``stop`` is set or ``wake_fd`` becomes readable, and set ``ready`` once its first
    snapshot is taken (also when it fails).  ``label`` ("mount watcher") names the watcher in the
    warning that ``log`` gets when the thread does not stop in time.  The caller checks
    :attr:`is_alive` before :meth:`start`.
    """

    def __init__(self, body: WatcherBody, name: str, log: logging.Logger, label: str) -> None:
        self._body = body
        self._name = name
        self._log = log
        self._label = label
        self._thread: threading.Thread | None = None
        self._stop_event = threading.Event()
        self._wake_fd: int | None = None

    @property
    def is_alive(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def start(self, timeout: float) -> bool:
        """Start a new thread; True if it set ``ready`` within ``timeout`` seconds."""
        # new Events and eventfd on each start: the last run's stop Event stays set and stop()
        # closed its eventfd; each thread is handed its own, so runs never share them
        self._stop_event = threading.Event()
        ready = threading.Event()
        self._wake_fd = os.eventfd(0, os.EFD_CLOEXEC | os.EFD_NONBLOCK)
        self._thread = threading.Thread(
            target=self._body, args=(self._stop_event, self._wake_fd, ready),
            name=self._name, daemon=True,
        )
        self._thread.start()
        return ready.wait(timeout)

    def stop(self, timeout: float) -> bool:
        """Ask the thread to end and wake it; True if it ended within ``timeout`` seconds."""
        thread, wake_fd = self._thread, self._wake_fd
        if thread is None:
            return True
        self._stop_event.set()
        if wake_fd is not None:
            os.eventfd_write(wake_fd, 1)  # wakes the Waiter's poll() at once
        thread.join(timeout)
        if thread.is_alive():
            self._log.warning("%s thread did not stop within %.1f s", self._label, timeout)
            return False  # keep the eventfd open: the thread may still poll it
        if wake_fd is not None:
            os.close(wake_fd)
        self._thread, self._wake_fd = None, None
        return True
