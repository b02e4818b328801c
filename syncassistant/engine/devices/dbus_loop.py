"""The event loop pieces shared by the D-Bus watchers (mounts.py, netwatch.py, power.py), no Qt.

Each watcher owns one blocking jeepney connection on its own thread. It routes every signal the
bus sends it into a deque (``conn.filter(MatchRule(type="signal"), queue=...)``), then loops:
:func:`dispatch_pending` handles what has arrived, :class:`Waiter` sleeps in ``poll()`` on the
bus socket plus an eventfd that the watcher's ``stop()`` writes to. Nothing polls on a timer.
:class:`WatcherThread` is that thread's start/stop life cycle (stop Event, eventfd, ready Event).
:class:`ServiceWatcher` is the whole life of a watcher that follows one service's properties.
"""

from __future__ import annotations

import logging
import os
import select
import threading
from collections import deque
from collections.abc import Callable
from typing import Any

from jeepney import DBusAddress, HeaderFields, MatchRule, Message, new_method_call
from jeepney.bus_messages import message_bus
from jeepney.io.blocking import DBusConnection, Proxy, open_dbus_connection
from jeepney.wrappers import DBusErrorResponse, unwrap_msg

log = logging.getLogger(__name__)

IF_PROPERTIES = "org.freedesktop.DBus.Properties"
_DBUS_NAME = "org.freedesktop.DBus"

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


class ServiceWatcher:
    """The life of a watcher that follows one system service's properties (NetworkManager,
    UPower): the connection on its own thread, the service's coming and going
    (``NameOwnerChanged``), the first read when it appears, and the wait for signals.

    A subclass names the service (``service``, ``label`` for the logs, e.g. "network
    watching"), adds its own match rules (:meth:`_match_rules`), reads the service's state in
    :meth:`_appeared` (raise ``DBusErrorResponse`` if it cannot), forgets it in
    :meth:`_forget`, and handles the service's own signals in :meth:`_service_signal` (only
    those sent by the current owner reach it). ``mode`` is the subclass's word for "active"
    while the service is followed, "none" while it is not, None before :meth:`start`.
    """

    service = ""
    label = ""
    active_mode = ""

    def __init__(self, bus: str, call_timeout: float, thread_name: str, log_: logging.Logger,
                 thread_label: str) -> None:
        self._bus = bus
        self._call_timeout = call_timeout
        self._log = log_
        self._lock = threading.Lock()  # guards the subclass's state and _mode
        self._mode: str | None = None
        self._owner: str | None = None  # watcher thread only
        self._thread = WatcherThread(self._run, thread_name, log_, thread_label)

    @property
    def mode(self) -> str | None:
        with self._lock:
            return self._mode

    @property
    def is_running(self) -> bool:
        return self._thread.is_alive

    def _start(self, timeout: float) -> None:
        if self.is_running:
            raise RuntimeError(f"{type(self).__name__} is already running")
        with self._lock:  # a restart reports afresh
            self._mode = None
        self._forget()
        if not self._thread.start(timeout):
            self._log.warning("%s did not read %s's state within %.1f s", self.label, self.service, timeout)

    def stop(self, timeout: float = 2.0) -> bool:
        """Stop the watcher thread; True if it ended within ``timeout`` seconds."""
        return self._thread.stop(timeout)

    # -- for subclasses ---------------------------------------------------------------------------
    def _match_rules(self) -> list[MatchRule]:
        return []

    def _appeared(self, conn: DBusConnection) -> None:
        raise NotImplementedError

    def _forget(self) -> None:
        """Drop what is known of the service (it left, or the watcher starts again)."""

    def _vanished(self, conn: DBusConnection) -> None:
        """The service left the bus (after :meth:`_forget`): report what that changes."""

    def _service_signal(self, conn: DBusConnection, msg: Message) -> None:
        raise NotImplementedError

    def _get_all(self, conn: DBusConnection, path: str, interface: str) -> dict[str, Any]:
        props = DBusAddress(path, bus_name=self.service, interface=IF_PROPERTIES)
        reply = conn.send_and_get_reply(new_method_call(props, "GetAll", "s", (interface,)),
                                        timeout=self._call_timeout)
        (values,) = unwrap_msg(reply)
        return {k: v[1] for k, v in values.items()}

    def _inactive(self, level: int, message: str, *args: Any) -> None:
        with self._lock:
            self._mode = "none"
        self._forget()
        self._log.log(level, message, *args)

    # -- the thread -------------------------------------------------------------------------------
    def _run(self, stop: threading.Event, wake_fd: int, ready: threading.Event) -> None:
        try:
            try:
                conn = open_dbus_connection(bus=self._bus)
            except (OSError, KeyError, ValueError, TimeoutError) as e:
                self._inactive(logging.INFO, "no system bus (%s); %s is inactive", e, self.label)
                return
            with conn:
                self._watch(conn, stop, wake_fd, ready)
        except (OSError, TimeoutError) as e:
            self._inactive(logging.WARNING, "lost the system bus (%s); %s is inactive", e, self.label)
        except Exception:
            self._log.exception("%s failed", self.label)
            self._inactive(logging.INFO, "%s is inactive", self.label)
        finally:
            ready.set()

    def _watch(self, conn: DBusConnection, stop: threading.Event, wake_fd: int, ready: threading.Event) -> None:
        bus = Proxy(message_bus, conn, timeout=self._call_timeout)
        owner_rule = MatchRule(type="signal", sender=_DBUS_NAME, interface=_DBUS_NAME,
                               member="NameOwnerChanged", path="/org/freedesktop/DBus")
        owner_rule.add_arg_condition(0, self.service)
        for rule in (*self._match_rules(), owner_rule):
            bus.AddMatch(rule)
        signals: deque[Message] = deque()  # every signal the bus routes to us (our matches only)
        with conn.filter(MatchRule(type="signal"), queue=signals):
            try:
                owner = bus.GetNameOwner(self.service)[0]
            except DBusErrorResponse:  # org.freedesktop.DBus.Error.NameHasNoOwner
                owner = None
            if owner:
                self._take_owner(conn, owner)
            else:
                self._inactive(logging.INFO, "%s is not on the system bus; %s is inactive until it appears",
                               self.service, self.label)
            ready.set()
            waiter = Waiter(conn, wake_fd)
            while not stop.is_set():
                dispatch_pending(conn, signals, self._signal)
                if not waiter.wait():
                    return

    def _take_owner(self, conn: DBusConnection, owner: str) -> None:
        self._owner = owner
        with self._lock:  # (before _appeared reports the state it read: callbacks see it active)
            self._mode = self.active_mode
        try:
            self._appeared(conn)
        except DBusErrorResponse as e:
            self._inactive(logging.WARNING, "cannot read %s's properties (%s); inactive until it restarts",
                           self.service, e)

    def _signal(self, conn: DBusConnection, msg: Message) -> None:
        hdr = msg.header.fields
        if hdr.get(HeaderFields.member) == "NameOwnerChanged" and hdr.get(HeaderFields.sender) == _DBUS_NAME:
            name, _old, new_owner = msg.body
            if name != self.service:
                return
            if new_owner:
                self._log.info("%s appeared on the system bus", self.service)
                self._take_owner(conn, new_owner)
            else:
                self._owner = None
                self._inactive(logging.INFO, "%s left the system bus; %s is inactive", self.service, self.label)
                self._vanished(conn)
            return
        if hdr.get(HeaderFields.sender) == self._owner:
            self._service_signal(conn, msg)
