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
from collections.abc import Callable
from typing import Any, Literal

from jeepney import HeaderFields, MatchRule, Message
from jeepney.io.blocking import DBusConnection
from jeepney.wrappers import DBusErrorResponse

from .dbus_loop import IF_PROPERTIES, ServiceWatcher

log = logging.getLogger(__name__)

UPOWER_BUS_NAME = "org.freedesktop.UPower"
UPOWER_PATH = "/org/freedesktop/UPower"
UPOWER_INTERFACE = "org.freedesktop.UPower"
DISPLAY_DEVICE_PATH = "/org/freedesktop/UPower/devices/DisplayDevice"
DEVICE_INTERFACE = "org.freedesktop.UPower.Device"

Mode = Literal["upower", "none"]
#: ``on_change(on_battery, percentage)``; percentage None when UPower shows no battery
PowerCallback = Callable[[bool, "int | None"], None]


class PowerWatcher(ServiceWatcher):
    """Call ``on_change(on_battery, percentage)`` when UPower's view of the power changes.

    The first known state is reported too (after :meth:`start`), so a caller learns where it
    stands. ``bus`` is a jeepney bus name ("SYSTEM") or a D-Bus address.
    """

    thread_name = "syncassistant-power"
    service = UPOWER_BUS_NAME
    label = "battery watching"
    active_mode = "upower"

    def __init__(self, on_change: PowerCallback, *, bus: str = "SYSTEM", call_timeout: float = 10.0) -> None:
        self._on_change = on_change
        self._on_battery: bool | None = None
        self._percentage: float | None = None
        self._present = False  # the DisplayDevice has a battery (IsPresent)
        self._reported: tuple[bool, int | None] | None = None
        super().__init__(bus, call_timeout, self.thread_name, log, "power watcher")

    # ---- public API -----------------------------------------------------------------------

    @property
    def mode(self) -> Mode | None:  # type: ignore[override]
        """"upower" while UPower is followed, "none" without it, None before start."""
        return super().mode  # type: ignore[return-value]

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

    def start(self, timeout: float = 10.0) -> None:
        """Start the watcher thread; wait (up to ``timeout``) until the first state is known."""
        with self._lock:
            self._reported = None
        self._start(timeout)

    # ---- the service ----------------------------------------------------------------------

    def _match_rules(self) -> list[MatchRule]:
        return [MatchRule(type="signal", sender=UPOWER_BUS_NAME, interface=IF_PROPERTIES,
                          member="PropertiesChanged", path=path) for path in (UPOWER_PATH, DISPLAY_DEVICE_PATH)]

    def _forget(self) -> None:
        with self._lock:
            self._on_battery = self._percentage = None
            self._present = False

    def _appeared(self, conn: DBusConnection) -> None:
        daemon = self._get_all(conn, UPOWER_PATH, UPOWER_INTERFACE)
        try:
            display = self._get_all(conn, DISPLAY_DEVICE_PATH, DEVICE_INTERFACE)
        except DBusErrorResponse as e:  # an old UPower without a DisplayDevice: OnBattery alone
            log.info("UPower has no DisplayDevice (%s): following OnBattery only", e)
            display = {}
        self._update(daemon, display)
        log.info("following UPower: on battery %s, %s %%", self.on_battery, self.percentage)

    def _vanished(self, conn: DBusConnection) -> None:
        self._report()

    def _service_signal(self, conn: DBusConnection, msg: Message) -> None:
        hdr = msg.header.fields
        if hdr.get(HeaderFields.member) != "PropertiesChanged":
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
