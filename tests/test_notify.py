"""Notifier against a real private session bus and a recording org.freedesktop.Notifications."""
# Fixtures are imported from dbus_fixtures and requested by name, which pyflakes reads as
# redefinitions: hence the file-wide F811 exemption.
# ruff: noqa: F811

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from dbus_fixtures import (  # noqa: F401  (fixtures)
    PrivateBus,
    ProcessTracker,
    bus_factory,
    no_thread_leaks,
    processes,
    service_factory,
    session_bus,
)

from syncassistant.engine.devices.notify import URGENCY_CRITICAL, Notifier

pytestmark = pytest.mark.usefixtures("no_thread_leaks")


def test_delivers_summary_and_body(session_bus, service_factory):
    recorder = service_factory("notifications", session_bus)
    with Notifier("SyncAssistant Tests") as notifier:
        assert notifier.notify("Drive connected", "PHOTOS: 2 repositories will sync",
                               icon="drive-removable-media", urgency=URGENCY_CRITICAL, timeout_ms=4000)
        got = recorder.expect("notify")
        assert got["summary"] == "Drive connected"
        assert got["body"] == "PHOTOS: 2 repositories will sync"
        assert got["app_name"] == "SyncAssistant Tests"
        assert got["icon"] == "drive-removable-media"
        assert got["hints"] == {"urgency": 2}
        assert got["expire_timeout"] == 4000
        assert notifier.last_id == got["id"]

        # the same connection serves the next call; defaults are urgency normal, server timeout
        assert notifier.notify("Synced", "all up to date")
        got = recorder.expect("notify")
        assert (got["summary"], got["hints"], got["expire_timeout"]) == ("Synced", {"urgency": 1}, -1)


def test_false_without_a_notification_service(session_bus):
    with Notifier() as notifier:
        assert notifier.notify("nobody", "listens") is False


def test_false_without_a_session_bus(monkeypatch, tmp_path: Path):
    monkeypatch.delenv("DBUS_SESSION_BUS_ADDRESS", raising=False)
    assert Notifier().notify("no", "bus") is False
    monkeypatch.setenv("DBUS_SESSION_BUS_ADDRESS", f"unix:path={tmp_path / 'missing.sock'}")
    assert Notifier().notify("no", "bus") is False


def test_reconnects_after_the_bus_restarts(tmp_path: Path, processes: ProcessTracker, service_factory,
                                           monkeypatch):
    first = PrivateBus(tmp_path / "bus", processes).start()
    monkeypatch.setenv("DBUS_SESSION_BUS_ADDRESS", first.address)
    recorder = service_factory("notifications", first)
    notifier = Notifier()
    try:
        assert notifier.notify("one", "first bus")
        recorder.expect("notify", summary="one")

        recorder.quit()
        first.stop()
        assert notifier.notify("lost", "bus is gone") is False  # no bus: False, no exception

        second = PrivateBus(tmp_path / "bus", processes).start()  # same socket path, new daemon
        assert second.address.split(",")[0] == first.address.split(",")[0]
        recorder2 = service_factory("notifications", second)
        assert notifier.notify("two", "second bus")
        recorder2.expect("notify", summary="two", body="second bus")
    finally:
        notifier.close()


def test_thread_safe(session_bus, service_factory):
    recorder = service_factory("notifications", session_bus)
    notifier = Notifier()
    results: list[bool] = []
    lock = threading.Lock()

    def send(worker: int) -> None:
        for i in range(5):
            ok = notifier.notify(f"w{worker}-{i}", "body")
            with lock:
                results.append(ok)

    threads = [threading.Thread(target=send, args=(w,), name=f"test-notify-{w}") for w in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    notifier.close()
    assert results == [True] * 20
    summaries = {recorder.expect("notify")["summary"] for _ in range(20)}
    assert summaries == {f"w{w}-{i}" for w in range(4) for i in range(5)}
