"""Battery and mains power, as UPower reports them (no Qt).

This module owns :class:`PowerWatcher`: a worker thread ("syncassistant-power") that follows
``org.freedesktop.UPower`` on the system bus (``$DBUS_SYSTEM_BUS_ADDRESS`` is honoured): the
daemon's ``OnBattery`` on ``/org/freedesktop/UPower`` and the ``Percentage`` of its
``DisplayDevice`` (the one battery figure a desktop shows, however many batteries there are),
read with ``GetAll`` when UPower appears and then followed through
``org.freedesktop.DBus.Properties.PropertiesChanged``. It calls ``on_change(on_battery,
percentage)`` when either changes (the percentage in whole per cent: UPower reports fractions,
and nothing here needs them).

Without UPower the watcher is inactive (``mode == "none"``) and logs so; it never polls. With
a system bus it subscribes to ``NameOwnerChanged`` and becomes active if UPower appears later;
without any system bus the thread ends at once. Callbacks run on the watcher thread: keep them
short and thread-safe.
"""

from __future__ import annotations

import logging
import threading
from collections import deque
from collections.abc import Callable
from typing import Any, Literal

from jeepney import DBusAddress, HeaderFields, MatchRule, Message, new_method_call
from jeepney.bus_messages import message_bus
from jeepney.io.blocking import DBusConnection, Proxy, open_dbus_connection
from jeepney.wrappers import DBusErrorResponse, unwrap_msg

from .dbus_loop import Waiter, WatcherThread, dispatch_pending

log = logging.getLogger(__name__)

UPOWER_BUS_NAME = "org.freedesktop.UPower"
UPOWER_PATH = "/org/freedesktop/UPower"
UPOWER_INTERFACE = "org.freedesktop.UPower"
DISPLAY_DEVICE_PATH = "/org/freedesktop/UPower/devices/DisplayDevice"
DEVICE_INTERFACE = "org.freedesktop.UPower.Device"
IF_PROPERTIES = "org.freedesktop.DBus.Properties"
_DBUS_NAME = "org.freedesktop.DBus"

Mode = Literal["upower", "none"]
#: ``on_change(on_battery, percentage)``; percentage None when UPower shows no battery
PowerCallback = Callable[[bool, "int | None"], None]


class PowerWatcher:
    """Call ``on_change(on_battery, percentage)`` when UPower's view of the power changes.

    The first known state is reported too (after :meth:`start`), so a caller learns where it
    stands. ``bus`` is a jeepney bus name ("SYSTEM") or a D-Bus address.
    """

    thread_name = "syncassistant-power"

    def __init__(self, on_change: PowerCallback, *, bus: str = "SYSTEM", call_timeout: float = 10.0) -> None:
        self._on_change = on_change
        self._bus = bus
        self._call_timeout = call_timeout
        self._lock = threading.Lock()  # guards the state below
        self._mode: Mode | None = None
        self._on_battery: bool | None = None
        self._percentage: float | None = None
        self._present = False  # the DisplayDevice has a battery (IsPresent)
        self._reported: tuple[bool, int | None] | None = None
        self._owner: str | None = None  # watcher thread only
        self._thread = WatcherThread(self._run, self.thread_name, log, "power watcher")

    # ---- public API -----------------------------------------------------------------------

    @property
    def mode(self) -> Mode | None:
        """"upower" while UPower is followed, "none" without it, None before start."""
        with self._lock:
            return self._mode

    @property
    def on_battery(self) -> bool:
        """True while UPower says the machine runs on battery (False when unknown)."""
        with self._lock:
            return bool(self._on_battery)

    @property
    def percentage(self) -> int | None:
        """The battery's charge in whole per cent; None without UPower or a battery."""
        with self._lock:
            return self._rounded()

    @property
    def is_running(self) -> bool:
        return self._thread.is_alive

    def start(self, timeout: float = 10.0) -> None:
        """Start the watcher thread; wait (up to ``timeout``) until the first state is known."""
        if self.is_running:
            raise RuntimeError("PowerWatcher is already running")
        with self._lock:  # a restart reports afresh
            self._mode = self._on_battery = self._percentage = self._reported = None
            self._present = False
        if not self._thread.start(timeout):
            log.warning("power watcher did not read UPower's state within %.1f s", timeout)

    def stop(self, timeout: float = 2.0) -> bool:
        """Stop the watcher thread; True if it ended within ``timeout`` seconds."""
        return self._thread.stop(timeout)

    # ---- thread body ----------------------------------------------------------------------

    def _inactive(self, level: int, message: str, *args: Any) -> None:
        with self._lock:
            self._mode = "none"
            self._on_battery = self._percentage = None
            self._present = False
        log.log(level, message, *args)

    def _run(self, stop: threading.Event, wake_fd: int, ready: threading.Event) -> None:
        try:
            try:
                conn = open_dbus_connection(bus=self._bus)
            except (OSError, KeyError, ValueError, TimeoutError) as e:
                self._inactive(logging.INFO, "no system bus (%s); battery watching is inactive", e)
                return
            with conn:
                self._watch(conn, stop, wake_fd, ready)
        except (OSError, TimeoutError) as e:
            self._inactive(logging.WARNING, "lost the system bus (%s); battery watching is inactive", e)
        except Exception:
            log.exception("power watcher failed")
            self._inactive(logging.INFO, "battery watching is inactive")
        finally:
            ready.set()

    def _watch(self, conn: DBusConnection, stop: threading.Event, wake_fd: int,
               ready: threading.Event) -> None:
        bus = Proxy(message_bus, conn, timeout=self._call_timeout)
        owner_rule = MatchRule(type="signal", sender=_DBUS_NAME, interface=_DBUS_NAME,
                               member="NameOwnerChanged", path="/org/freedesktop/DBus")
        owner_rule.add_arg_condition(0, UPOWER_BUS_NAME)
        for path in (UPOWER_PATH, DISPLAY_DEVICE_PATH):
            bus.AddMatch(MatchRule(type="signal", sender=UPOWER_BUS_NAME, interface=IF_PROPERTIES,
                                   member="PropertiesChanged", path=path))
        bus.AddMatch(owner_rule)
        signals: deque[Message] = deque()  # every signal the bus routes to us (our matches only)
        with conn.filter(MatchRule(type="signal"), queue=signals):
            try:
                owner = bus.GetNameOwner(UPOWER_BUS_NAME)[0]
            except DBusErrorResponse:  # org.freedesktop.DBus.Error.NameHasNoOwner
                owner = None
            if owner:
                self._appeared(conn, owner)
            else:
                self._inactive(logging.INFO, "UPower is not on the system bus; battery watching is "
                                             "inactive until it appears")
            ready.set()
            waiter = Waiter(conn, wake_fd)
            while not stop.is_set():
                dispatch_pending(conn, signals, self._signal)
                if not waiter.wait():
                    return

    def _get_all(self, conn: DBusConnection, path: str, interface: str) -> dict[str, Any]:
        props = DBusAddress(path, bus_name=UPOWER_BUS_NAME, interface=IF_PROPERTIES)
        reply = conn.send_and_get_reply(new_method_call(props, "GetAll", "s", (interface,)),
                                        timeout=self._call_timeout)
        (values,) = unwrap_msg(reply)
        return {k: v[1] for k, v in values.items()}

    def _appeared(self, conn: DBusConnection, owner: str) -> None:
        self._owner = owner
        try:
            daemon = self._get_all(conn, UPOWER_PATH, UPOWER_INTERFACE)
        except DBusErrorResponse as e:
            self._inactive(logging.WARNING, "cannot read UPower's properties (%s); inactive until it restarts", e)
            return
        try:
            display = self._get_all(conn, DISPLAY_DEVICE_PATH, DEVICE_INTERFACE)
        except DBusErrorResponse as e:  # an old UPower without a DisplayDevice: OnBattery alone
            log.info("UPower has no DisplayDevice (%s): following OnBattery only", e)
            display = {}
        with self._lock:
            self._mode = "upower"
        self._update(daemon, display)
        log.info("following UPower: on battery %s, %s %%", self.on_battery, self.percentage)

    def _signal(self, conn: DBusConnection, msg: Message) -> None:
        hdr = msg.header.fields
        member, sender = hdr.get(HeaderFields.member), hdr.get(HeaderFields.sender)
        if member == "NameOwnerChanged" and sender == _DBUS_NAME:
            name, _old, new_owner = msg.body
            if name != UPOWER_BUS_NAME:
                return
            if new_owner:
                log.info("UPower appeared on the system bus")
                self._appeared(conn, new_owner)
            else:
                self._owner = None
                self._inactive(logging.INFO, "UPower left the system bus; battery watching is inactive")
                self._report()
            return
        if sender != self._owner or member != "PropertiesChanged":
            return
        iface, changed, _invalidated = msg.body
        values = {k: v[1] for k, v in changed.items()}
        path = hdr.get(HeaderFields.path)
        if path == UPOWER_PATH and iface == UPOWER_INTERFACE:
            self._update(values, {})
        elif path == DISPLAY_DEVICE_PATH and iface == DEVICE_INTERFACE:
            self._update({}, values)

    def _update(self, daemon: dict[str, Any], display: dict[str, Any]) -> None:
        with self._lock:
            if "OnBattery" in daemon:
                self._on_battery = bool(daemon["OnBattery"])
            if "IsPresent" in display:
                self._present = bool(display["IsPresent"])
            if "Percentage" in display:
                self._percentage = float(display["Percentage"])
                if "IsPresent" not in display and self._percentage > 0:
                    self._present = True  # (some UPower versions leave IsPresent out of a change)
        self._report()

    def _rounded(self) -> int | None:
        # Caller holds the lock. A machine without a battery has a DisplayDevice too, empty.
        if not self._present or self._percentage is None:
            return None
        return int(round(self._percentage))

    def _report(self) -> None:
        with self._lock:
            now = (bool(self._on_battery), self._rounded())
            if now == self._reported:
                return
            self._reported = now
        log.debug("power: on battery %s, %s %%", *now)
        try:
            self._on_change(*now)
        except Exception:
            log.exception("power callback failed")
