"""NetworkWatcher against a NetworkManager stand-in on a real private "system" bus."""
# Fixtures are imported from dbus_fixtures and requested by name, which pyflakes reads as
# redefinitions: hence the file-wide F811 exemption.
# ruff: noqa: F811

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from dbus_fixtures import (  # noqa: F401  (fixtures)
    Events,
    bus_factory,
    no_thread_leaks,
    processes,
    service_factory,
    system_bus,
    wait_until,
)

from syncassistant.engine.devices.netwatch import NetworkWatcher

pytestmark = pytest.mark.usefixtures("no_thread_leaks")

DISCONNECTED, CONNECTED_SITE, CONNECTED_GLOBAL = 20, 60, 70
CONN_NONE, CONN_LIMITED, CONN_FULL = 1, 3, 4
METERED_YES, METERED_NO, METERED_GUESS_YES, METERED_GUESS_NO = 1, 2, 3, 4


def make_watcher(events: Events, **kw) -> NetworkWatcher:
    return NetworkWatcher(events.callback("online"), events.callback("offline"),
                          on_metered_changed=events.callback("metered"), **kw)


def test_online_offline_and_metered(system_bus, service_factory):
    initial = {"State": DISCONNECTED, "Connectivity": CONN_NONE, "Metered": METERED_NO}
    nm = service_factory("networkmanager", system_bus, "--initial", json.dumps(initial))
    events = Events()
    watcher = make_watcher(events)
    watcher.start()
    try:
        assert watcher.mode == "networkmanager"
        events.expect("offline")  # the initial state is reported
        assert watcher.online is False and watcher.metered is False

        nm.command("set", State=CONNECTED_GLOBAL, Connectivity=CONN_FULL)
        events.expect("online")
        assert watcher.online is True
        assert (watcher.state, watcher.connectivity) == (CONNECTED_GLOBAL, CONN_FULL)

        nm.command("set", Metered=METERED_GUESS_YES)
        assert events.expect("metered")[1] is True
        assert watcher.metered is True
        nm.command("set", Metered=METERED_YES)  # still metered: no callback for that
        nm.command("set", Metered=METERED_GUESS_NO)
        assert events.expect("metered")[1] is False

        # captive portal / limited: NM drops to CONNECTED_SITE -> offline
        nm.command("set", State=CONNECTED_SITE, Connectivity=CONN_LIMITED)
        events.expect("offline")
        assert watcher.online is False
    finally:
        assert watcher.stop()
    kinds = [e[0] for e in events.seen + events.drain()]
    assert kinds == ["offline", "online", "metered", "metered", "offline"]


def test_state_changed_signal_alone_is_enough(system_bus, service_factory):
    nm = service_factory("networkmanager", system_bus)
    events = Events()
    watcher = make_watcher(events, report_initial=False)
    watcher.start()
    try:
        assert watcher.online is False
        nm.command("set", State=CONNECTED_GLOBAL, signals="state")  # NM's own StateChanged(u)
        events.expect("online")
        nm.command("set", State=DISCONNECTED, signals="props")  # only Properties.PropertiesChanged
        events.expect("offline")
    finally:
        assert watcher.stop()
    assert [e[0] for e in events.seen + events.drain()] == ["online", "offline"]


def test_without_networkmanager_inactive_until_it_appears(system_bus, service_factory, caplog):
    events = Events()
    watcher = make_watcher(events)
    with caplog.at_level("INFO", logger="syncassistant.engine.devices.netwatch"):
        watcher.start()
    try:
        assert watcher.mode == "none"
        assert watcher.online is None and watcher.metered is False
        assert "NetworkManager is not on the system bus" in caplog.text
        assert watcher.is_running  # asleep on the bus socket, waiting for NameOwnerChanged

        nm = service_factory("networkmanager", system_bus, "--initial",
                             json.dumps({"State": CONNECTED_GLOBAL, "Connectivity": CONN_FULL,
                                         "Metered": METERED_YES}))
        events.expect("online")
        assert watcher.mode == "networkmanager"
        assert watcher.metered is True

        nm.quit()
        wait_until(lambda: watcher.mode == "none", 10, "the watcher to notice NM leaving")
        assert watcher.online is None
    finally:
        assert watcher.stop()


def test_without_a_system_bus(monkeypatch, tmp_path: Path):
    monkeypatch.setenv("DBUS_SYSTEM_BUS_ADDRESS", f"unix:path={tmp_path / 'no-bus.sock'}")
    events = Events()
    watcher = make_watcher(events)
    watcher.start()
    assert watcher.mode == "none"
    wait_until(lambda: not watcher.is_running, 5, "the watcher thread to end")
    t0 = time.monotonic()
    assert watcher.stop()
    assert time.monotonic() - t0 < 1
    assert events.drain() == []


def test_stop_is_prompt_while_idle(system_bus, service_factory):
    service_factory("networkmanager", system_bus)
    watcher = make_watcher(Events())
    watcher.start()
    t0 = time.monotonic()
    assert watcher.stop(timeout=2.0)
    assert time.monotonic() - t0 < 1.0  # woken through its eventfd, not a polling interval


def test_the_primary_connection_by_name(system_bus, service_factory):
    nm = service_factory("networkmanager", system_bus, "--initial", json.dumps(
        {"State": CONNECTED_GLOBAL, "Connectivity": CONN_FULL, "Connection": "Home"}))
    events = Events()
    watcher = make_watcher(events, on_connection_changed=events.callback("connection"))
    watcher.start()
    try:
        assert events.expect("connection") == ("connection", "Home")  # read with GetAll at start
        assert watcher.connection == "Home"
        nm.command("set", Connection="Café Wi-Fi")  # a new active connection object, one signal
        assert events.expect("connection") == ("connection", "Café Wi-Fi")
        nm.command("set", Connection=None, State=DISCONNECTED)
        assert events.expect("connection") == ("connection", None)
        assert watcher.connection is None
        nm.command("set", Connection="Home", State=CONNECTED_GLOBAL)
        assert events.expect("connection") == ("connection", "Home")
    finally:
        assert watcher.stop()
