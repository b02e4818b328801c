"""Network reachability and metering, as NetworkManager reports them (no Qt).

This module owns :class:`NetworkWatcher`: a worker thread ("syncassistant-net") that follows
``org.freedesktop.NetworkManager`` on the system bus (``$DBUS_SYSTEM_BUS_ADDRESS`` is honoured):
the ``State``, ``Connectivity``, ``Metered`` and ``PrimaryConnection`` properties, read with
``GetAll`` when NM appears and then followed through
``org.freedesktop.DBus.Properties.PropertiesChanged`` and NM's own ``StateChanged`` signal.  It
calls ``on_online()`` / ``on_offline()`` on transitions, and ``on_connection_changed(name)`` when
the primary connection changes: its ``Id`` (the connection's name, a Wi-Fi network's SSID unless
renamed), read once from its ``org.freedesktop.NetworkManager.Connection.Active`` object.

Without NetworkManager the watcher is inactive (``mode == "none"``) and logs so; it never polls.
With a system bus it subscribes to ``NameOwnerChanged`` and becomes active if NM appears later;
without any system bus the thread ends at once.  Callbacks run on the watcher thread: keep them
short and thread-safe (the Qt adapter turns them into signals).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any, Literal

from jeepney import DBusAddress, HeaderFields, MatchRule, Message, new_method_call
from jeepney.io.blocking import DBusConnection
from jeepney.wrappers import DBusErrorResponse, unwrap_msg

from .dbus_loop import IF_PROPERTIES, ServiceWatcher

log = logging.getLogger(__name__)

NM_BUS_NAME = "org.freedesktop.NetworkManager"
NM_PATH = "/org/freedesktop/NetworkManager"
NM_INTERFACE = "org.freedesktop.NetworkManager"
IF_ACTIVE_CONNECTION = "org.freedesktop.NetworkManager.Connection.Active"

NM_STATE_CONNECTED_GLOBAL = 70  # NMState
NM_CONNECTIVITY_FULL = 4  # NMConnectivityState
NM_METERED_YES = 1  # NMMetered
NM_METERED_GUESS_YES = 3

Mode = Literal["networkmanager", "none"]


def is_online(state: int | None, connectivity: int | None) -> bool:
    """NM's view of "online": globally connected, or full connectivity confirmed."""
    return state == NM_STATE_CONNECTED_GLOBAL or connectivity == NM_CONNECTIVITY_FULL


def is_metered(metered: int | None) -> bool:
    """NMMetered "yes" or "guess-yes"."""
    return metered in (NM_METERED_YES, NM_METERED_GUESS_YES)


class NetworkWatcher(ServiceWatcher):
    """Call ``on_online()`` / ``on_offline()`` when NetworkManager's connectivity changes.

    With ``report_initial`` (the default) the first known state is reported too, so a caller
    learns where it stands right after :meth:`start`.  ``on_metered_changed(metered)`` is optional.
    ``bus`` is a jeepney bus name ("SYSTEM") or a D-Bus address.
    """

    thread_name = "syncassistant-net"
    service = NM_BUS_NAME
    label = "network watching"
    active_mode = "networkmanager"

    def __init__(
        self,
        on_online: Callable[[], None],
        on_offline: Callable[[], None],
        *,
        on_metered_changed: Callable[[bool], None] | None = None,
        on_connection_changed: Callable[[str | None], None] | None = None,
        report_initial: bool = True,
        bus: str = "SYSTEM",
        call_timeout: float = 10.0,
    ) -> None:
        self._on_online = on_online
        self._on_offline = on_offline
        self._on_metered_changed = on_metered_changed
        self._on_connection_changed = on_connection_changed
        self._report_initial = report_initial
        self._state: int | None = None
        self._connectivity: int | None = None
        self._metered_raw: int | None = None
        self._reported_online: bool | None = None  # last value given to a callback
        self._reported_metered: bool | None = None
        self._connection: str | None = None  # the primary connection's Id
        self._primary_path: str | None = None  # watcher thread only
        super().__init__(bus, call_timeout, self.thread_name, log, "network watcher")

    # ---- public API -----------------------------------------------------------------------

    @property
    def mode(self) -> Mode | None:  # type: ignore[override]
        """"networkmanager" while NM is followed, "none" without it, None before start."""
        return super().mode  # type: ignore[return-value]

    @property
    def online(self) -> bool | None:
        """True/False per NetworkManager, None while unknown (no NM)."""
        with self._lock:
            if self._mode != "networkmanager":
                return None
            return is_online(self._state, self._connectivity)

    @property
    def metered(self) -> bool:
        """True when NM says the primary connection is metered (yes or guess-yes)."""
        with self._lock:
            return is_metered(self._metered_raw)

    @property
    def connection(self) -> str | None:
        """The primary connection's name (NM's connection Id), None when there is none."""
        with self._lock:
            return self._connection

    @property
    def state(self) -> int | None:
        """NM's raw NMState, None while unknown."""
        with self._lock:
            return self._state

    @property
    def connectivity(self) -> int | None:
        """NM's raw NMConnectivityState, None while unknown."""
        with self._lock:
            return self._connectivity

    def start(self, timeout: float = 10.0) -> None:
        """Start the watcher thread; wait (up to ``timeout``) until the first state is known."""
        with self._lock:  # a restart must not report against the last run's state
            self._reported_online = self._reported_metered = None
            self._connection = self._primary_path = None
        self._start(timeout)

    # ---- the service ----------------------------------------------------------------------

    def _match_rules(self) -> list[MatchRule]:
        return [
            MatchRule(type="signal", sender=NM_BUS_NAME, interface=IF_PROPERTIES,
                      member="PropertiesChanged", path=NM_PATH),
            # StateChanged, and the legacy NM-interface PropertiesChanged(a{sv}) of NM < 1.2x
            MatchRule(type="signal", sender=NM_BUS_NAME, interface=NM_INTERFACE, path=NM_PATH),
        ]

    def _forget(self) -> None:
        with self._lock:
            self._state = self._connectivity = self._metered_raw = None

    def _appeared(self, conn: DBusConnection) -> None:
        values = self._get_all(conn, NM_PATH, NM_INTERFACE)
        self._update(values)
        self._follow_primary(conn, values.get("PrimaryConnection", "/"))
        log.info("following NetworkManager: state %s, connectivity %s, metered %s, connection %r",
                 self.state, self.connectivity, self.metered, self.connection)

    def _vanished(self, conn: DBusConnection) -> None:
        self._follow_primary(conn, None)

    def _follow_primary(self, conn: DBusConnection, path: str | None) -> None:
        """The primary connection is (now) the active connection at ``path`` ("/": none)."""
        if path == self._primary_path:
            return
        self._primary_path = path
        name = None
        if path and path != "/":
            props = DBusAddress(path, bus_name=NM_BUS_NAME, interface=IF_PROPERTIES)
            try:
                reply = conn.send_and_get_reply(
                    new_method_call(props, "Get", "ss", (IF_ACTIVE_CONNECTION, "Id")), timeout=self._call_timeout)
                name = str(unwrap_msg(reply)[0][1])
            except DBusErrorResponse as e:  # gone again already: the next change says what is now
                log.info("cannot read the name of NetworkManager's connection %s: %s", path, e)
        with self._lock:
            changed = name != self._connection
            self._connection = name
        if changed and self._on_connection_changed is not None:
            log.info("primary network connection: %r", name)
            try:
                self._on_connection_changed(name)
            except Exception:
                log.exception("connection callback failed")

    def _service_signal(self, conn: DBusConnection, msg: Message) -> None:
        hdr = msg.header.fields
        if hdr.get(HeaderFields.path) != NM_PATH:
            return
        member, iface = hdr.get(HeaderFields.member), hdr.get(HeaderFields.interface)
        if iface == IF_PROPERTIES and member == "PropertiesChanged":
            changed_iface, changed, _invalidated = msg.body
            if changed_iface == NM_INTERFACE:
                self._update({k: v[1] for k, v in changed.items()})
                if "PrimaryConnection" in changed:
                    self._follow_primary(conn, changed["PrimaryConnection"][1])
        elif iface == NM_INTERFACE and member == "StateChanged":
            self._update({"State": msg.body[0]})
        elif iface == NM_INTERFACE and member == "PropertiesChanged":  # legacy a{sv} form
            self._update({k: v[1] for k, v in msg.body[0].items()})
            if "PrimaryConnection" in msg.body[0]:
                self._follow_primary(conn, msg.body[0]["PrimaryConnection"][1])

    def _update(self, values: dict[str, Any]) -> None:
        """Take new property values; call back on an online/offline or metered transition."""
        with self._lock:
            if "State" in values:
                self._state = int(values["State"])
            if "Connectivity" in values:
                self._connectivity = int(values["Connectivity"])
            if "Metered" in values:
                self._metered_raw = int(values["Metered"])
            online = is_online(self._state, self._connectivity)
            metered = is_metered(self._metered_raw)
            first = self._reported_online is None
            online_changed = online != self._reported_online
            metered_changed = self._reported_metered is not None and metered != self._reported_metered
            self._reported_online, self._reported_metered = online, metered
        if online_changed and (self._report_initial or not first):
            log.info("network is %s (NM state %s, connectivity %s)",
                     "online" if online else "offline", self._state, self._connectivity)
            try:
                (self._on_online if online else self._on_offline)()
            except Exception:
                log.exception("network %s callback failed", "online" if online else "offline")
        if metered_changed and self._on_metered_changed is not None:
            log.info("network is %s", "metered" if metered else "not metered")
            try:
                self._on_metered_changed(metered)
            except Exception:
                log.exception("metered callback failed")

