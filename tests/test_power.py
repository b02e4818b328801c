"""PowerWatcher against a UPower stand-in on a real private "system" bus (tests/dbus_fixtures.py)."""
# Fixtures are imported from dbus_fixtures and requested by name, which pyflakes reads as
# redefinitions: hence the file-wide F811 exemption.
# ruff: noqa: F811

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from conftest import assert_idle_cpu
from dbus_fixtures import (  # noqa: F401  (fixtures)
    Events,
    bus_factory,
    no_thread_leaks,
    processes,
    service_factory,
    system_bus,
    wait_until,
)

from syncassistant.engine.devices.power import PowerWatcher

pytestmark = pytest.mark.usefixtures("no_thread_leaks")


def test_on_battery_and_percentage_follow_upower(system_bus, service_factory):
    upower = service_factory("upower", system_bus, "--initial",
                             json.dumps({"OnBattery": False, "Percentage": 81.4}))
    events = Events()
    watcher = PowerWatcher(events.callback("power"))
    watcher.start()
    try:
        assert watcher.mode == "upower"
        assert events.expect("power") == ("power", False, 81)  # the first state is reported
        assert (watcher.on_battery, watcher.percentage) == (False, 81)

        upower.command("set", OnBattery=True)
        assert events.expect("power") == ("power", True, 81)
        upower.command("set", Percentage=80.9)  # same whole per cent: no callback
        upower.command("set", Percentage=23.0)
        assert events.expect("power") == ("power", True, 23)
        assert watcher.percentage == 23
        upower.command("set", OnBattery=False)
        assert events.expect("power") == ("power", False, 23)
    finally:
        assert watcher.stop()
    assert [e[1:] for e in events.seen + events.drain()] == [(False, 81), (True, 81), (True, 23), (False, 23)]


def test_a_machine_without_a_battery(system_bus, service_factory):
    service_factory("upower", system_bus, "--initial", json.dumps({"IsPresent": False, "Percentage": 0}))
    events = Events()
    watcher = PowerWatcher(events.callback("power"))
    watcher.start()
    try:
        assert events.expect("power") == ("power", False, None)
        assert watcher.percentage is None
    finally:
        assert watcher.stop()


def test_without_upower_inactive_until_it_appears_and_after_it_leaves(system_bus, service_factory, caplog):
    events = Events()
    watcher = PowerWatcher(events.callback("power"))
    with caplog.at_level("INFO", logger="syncassistant.engine.devices.power"):
        watcher.start()
    try:
        assert watcher.mode == "none"
        assert "UPower is not on the system bus" in caplog.text
        assert watcher.is_running  # asleep on the bus socket, waiting for NameOwnerChanged
        upower = service_factory("upower", system_bus, "--initial",
                                 json.dumps({"OnBattery": True, "Percentage": 42}))
        assert events.expect("power") == ("power", True, 42)
        assert watcher.mode == "upower"
        upower.quit()
        assert events.expect("power") == ("power", False, None)  # gone: no battery condition holds
        wait_until(lambda: watcher.mode == "none", 10, "the watcher to notice UPower leaving")
    finally:
        assert watcher.stop()


def test_without_a_system_bus(monkeypatch, tmp_path: Path):
    monkeypatch.setenv("DBUS_SYSTEM_BUS_ADDRESS", f"unix:path={tmp_path / 'no-bus.sock'}")
    watcher = PowerWatcher(Events().callback("power"))
    watcher.start()
    assert watcher.mode == "none"
    wait_until(lambda: not watcher.is_running, 5, "the watcher thread to end")
    assert watcher.stop()


def test_idle_watcher_uses_no_cpu_and_stops_at_once(system_bus, service_factory):
    service_factory("upower", system_bus, "--initial", json.dumps({"OnBattery": True}))
    events = Events()
    watcher = PowerWatcher(events.callback("power"))
    watcher.start()
    try:
        events.expect("power")
        used = assert_idle_cpu(3.0, 0.05, "the power watcher and the UPower stand-in")
        print(f"idle: {used:.3f} CPU-s in 3 s")
    finally:
        t0 = time.monotonic()
        assert watcher.stop(timeout=2.0)
        assert time.monotonic() - t0 < 1.0  # woken through its eventfd, not a polling interval
