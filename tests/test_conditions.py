"""Run conditions (metered network, battery) on real clones, with NetworkManager and UPower
stand-ins on a real private system bus (tests/dbus_fixtures.py).

Clone A syncs to clone B (A has B as a remote, over ssh where the network matters; B runs a
daemon of its own that merges what A pushes). A's conditions hold A's content transfers or
pause A; what reaches B's tree and B's annex shows what went on: git-level sync goes on while
content is held, nothing moves while paused, and everything arrives once the condition ends or
is overridden.
"""
# Fixtures are imported from dbus_fixtures and requested by name, which pyflakes reads as
# redefinitions: hence the file-wide F811 exemption.
# ruff: noqa: F811

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from conftest import annex, assert_idle_cpu, git, in_tree, wait_for
from dbus_fixtures import (  # noqa: F401  (fixtures)
    bus_factory,
    no_thread_leaks,
    processes,
    service_factory,
    system_bus,
)

from syncassistant import cli
from syncassistant.engine.daemon import Assistant, Daemon
from syncassistant.engine.devices.conditions import (
    BadCondition,
    Conditions,
    Situation,
    decide,
    parse_conditions,
    read_conditions,
    write_conditions,
)
from syncassistant.engine.devices.drives import DeviceMonitor
from syncassistant.engine.proc.git import Git

pytestmark = pytest.mark.usefixtures("no_thread_leaks")

CONNECTED_GLOBAL, CONN_FULL = 70, 4
METERED_YES, METERED_NO = 1, 2
NM_ONLINE = {"State": CONNECTED_GLOBAL, "Connectivity": CONN_FULL, "Metered": METERED_NO}


# ---- what the settings mean (no daemons) ----------------------------------------------------


def test_settings_are_read_with_the_old_key_and_bad_values_fall_back_to_sync():
    assert parse_conditions({}) == Conditions()
    assert parse_conditions({"syncassistant.pause-on-metered": "true"}).on_metered == "hold-content"
    # the new key wins over the old one (git config --get-regexp gives keys in lower case)
    c = parse_conditions({"syncassistant.pause-on-metered": "true", "syncassistant.onmetered": "Pause",
                          "syncassistant.onbattery": "hold-content", "syncassistant.batterybelow": "30 %"})
    assert (c.on_metered, c.on_battery, c.battery_below, c.problems) == ("pause", "hold-content", 30, ())
    bad = parse_conditions({"syncassistant.onmetered": "sometimes", "syncassistant.onbattery": "pause",
                            "syncassistant.batterybelow": "half"})
    assert (bad.on_metered, bad.on_battery) == ("sync", "sync")
    assert len(bad.problems) == 2
    assert "syncassistant.onMetered = 'sometimes' is not one of sync, hold-content, pause" in bad.problems[0]
    assert "syncassistant.batteryBelow = 'half' is not a whole number" in bad.problems[1]


def test_what_the_conditions_decide():
    cond = Conditions("hold-content", "pause", 30)
    net = frozenset({"server"})
    assert decide(cond, Situation(), net).action == "sync"
    v = decide(cond, Situation(metered=True), net)
    assert (v.action, v.holds, v.text()) == ("hold-content", {"metered": net}, "Holding content: metered connection")
    assert decide(cond, Situation(on_battery=True, percentage=31), net).action == "sync"  # above the threshold
    v = decide(cond, Situation(metered=True, on_battery=True, percentage=23), net)
    assert v.action == "pause" and v.holds == {"metered": net, "battery": None}
    assert v.text() == "Paused: metered connection, on battery (23 %)"
    always = Conditions(on_battery="hold-content")
    assert decide(always, Situation(on_battery=True, percentage=99), net).text() == "Holding content: on battery (99 %)"
    assert decide(always, Situation(on_battery=True), net).text() == "Holding content: on battery"
    home = Conditions(only_networks=("Home", "Office"))
    assert decide(home, Situation(network="Home"), net).action == "sync"
    assert decide(home, Situation(network=None), net).action == "sync"  # not connected: nothing to hold
    v = decide(home, Situation(network="Café"), net)
    assert (v.action, v.holds, v.text()) == ("hold-content", {"network": net}, "Holding content: on another network (Café)")
    assert decide(Conditions(only_networks=("Home",), on_other_networks="pause"), Situation(network="Café"),
                  net).action == "pause"
    over = decide(always, Situation(on_battery=True), net, override_until=time.time() + 60)
    assert over.action == "sync" and not over.holds and over.reasons  # overridden, not gone
    assert decide(always, Situation(on_battery=True), net, override_until=time.time() - 1).action == "hold-content"


def test_writing_refuses_bad_values_and_replaces_the_old_key(make_repo):
    a = make_repo("A")
    g = Git(a)
    g.config_set("syncassistant.pause-on-metered", "true")
    with pytest.raises(BadCondition, match="not one of"):
        write_conditions(g, on_battery="never")
    with pytest.raises(BadCondition, match="between 0 and 100"):
        write_conditions(g, battery_below=150)
    assert read_conditions(g) == Conditions(on_metered="hold-content")  # nothing written
    c = write_conditions(g, on_metered="pause", on_battery="hold-content", battery_below=20)
    assert c == Conditions("pause", "hold-content", 20)
    assert g.config_get("syncassistant.pause-on-metered") is None
    with pytest.raises(BadCondition, match="not one of hold-content, pause"):
        write_conditions(g, on_other_networks="sync")
    c = write_conditions(g, only_networks=" Home ,Office,, Home", on_other_networks="pause")
    assert (c.only_networks, c.on_other_networks) == (("Home", "Office"), "pause")
    assert g.config_get("syncassistant.onlyOnNetworks") == "Home, Office"
    assert write_conditions(g, only_networks="").only_networks == ()


# ---- on real clones ---------------------------------------------------------------------------


@pytest.fixture
def one_way(make_repo, daemons) -> Callable[..., tuple[Path, Path, Daemon]]:
    """``one_way(url_of_b=None)``: clones A and B, B a remote of A (at ``url_of_b(B)``, default
    its path); B's daemon runs (it merges A's pushes). Returns (A, B, B's daemon)."""

    def make(url_of_b: Callable[[Path], str] | None = None) -> tuple[Path, Path, Daemon]:
        a = make_repo("A")
        b = make_repo("B", clone_of=a)
        git(b, "remote", "remove", "origin")
        git(a, "remote", "add", "b", url_of_b(b) if url_of_b else str(b))
        return a, b, daemons(b)

    return make


@pytest.fixture
def monitors() -> Iterator[Callable[..., DeviceMonitor]]:
    started: list[DeviceMonitor] = []

    def start(*ds: Daemon, **kw) -> DeviceMonitor:
        m = DeviceMonitor(list(ds), use_udisks=False, **kw)
        m.start()
        started.append(m)
        return m

    yield start
    for m in started:
        m.stop()


def content_at(repo: Path, rel: str) -> bool:
    return annex(repo, "find", "--in=here", "--", rel, check=False).strip() == rel


def held_upload(d: Daemon, rel: str) -> bool:
    """The upload of ``rel`` is queued (and stays there: something holds it)."""
    return any(t["path"] == rel and t["state"] == "queued" and t["direction"] == "upload"
               for t in d.transfers_snapshot())


def conditions(d: Daemon) -> dict:
    return d.status()["conditions"] or {}


def commit_arrives_but_content_is_held(a: Path, b: Path, da: Daemon, rel: str) -> None:
    (a / rel).write_text(f"{rel} written while held\n")
    wait_for(lambda: in_tree(b, rel), 60, f"{rel}'s commit to reach B's tree")
    wait_for(lambda: held_upload(da, rel), 30, lambda: f"{rel}'s upload held: {da.transfers_snapshot()}")
    assert not content_at(b, rel)


def test_metered_holds_content_over_the_network_while_commits_go_on(one_way, daemons, monitors, ssh_env,
                                                                     system_bus, service_factory):
    nm = service_factory("networkmanager", system_bus, "--initial", json.dumps(NM_ONLINE))
    a, b, _db = one_way(lambda b: f"ssh://127.0.0.1:{ssh_env['port']}{b}")  # crosses the network
    write_conditions(Git(a), on_metered="hold-content")
    da = daemons(a)
    monitors(da, watch_power=False)
    wait_for(lambda: conditions(da).get("action") == "sync", 10, "the first conditions report")
    (a / "before.txt").write_text("sent while not metered\n")
    wait_for(lambda: content_at(b, "before.txt"), 90, "content over ssh while not metered")

    nm.command("set", Metered=METERED_YES)
    wait_for(lambda: conditions(da).get("action") == "hold-content", 10, "the hold")
    st = da.status()
    assert st["conditions"]["text"] == "Holding content: metered connection"
    assert st["held"]["holds"] == {"metered": ["b"]} and st["state"] == "running"
    commit_arrives_but_content_is_held(a, b, da, "metered.txt")

    nm.command("set", Metered=METERED_NO)
    wait_for(lambda: content_at(b, "metered.txt"), 90, "the held content after the connection is unmetered")
    assert conditions(da)["action"] == "sync" and da.status()["held"]["holds"] == {}


def test_only_on_named_networks_elsewhere_content_waits(one_way, daemons, monitors, ssh_env, system_bus,
                                                         service_factory, capsys):
    nm = service_factory("networkmanager", system_bus, "--initial", json.dumps({**NM_ONLINE, "Connection": "Café"}))
    a, b, _db = one_way(lambda b: f"ssh://127.0.0.1:{ssh_env['port']}{b}")
    write_conditions(Git(a), only_networks="Home, Office")
    da = daemons(a)
    monitors(da, watch_power=False)
    wait_for(lambda: conditions(da).get("action") == "hold-content", 10, "the hold on another network")
    assert conditions(da)["text"] == "Holding content: on another network (Café)"
    assert da.status()["held"]["holds"] == {"network": ["b"]}
    commit_arrives_but_content_is_held(a, b, da, "cafe.txt")

    nm.command("set", Connection="Home")
    wait_for(lambda: content_at(b, "cafe.txt"), 90, "the held content at home")
    assert conditions(da)["action"] == "sync" and da.status()["held"]["holds"] == {}
    assert cli.main(["conditions", str(a)]) == 0
    out = capsys.readouterr().out
    assert "only on networks: Home, Office (elsewhere: hold-content)" in out and "network: Home" in out


def test_battery_below_the_threshold_holds_and_mains_releases(one_way, daemons, monitors, system_bus,
                                                             service_factory):
    upower = service_factory("upower", system_bus, "--initial", json.dumps({"OnBattery": False, "Percentage": 80}))
    a, b, db = one_way()  # a folder on this machine: on battery every transfer is held
    write_conditions(Git(a), on_battery="hold-content", battery_below=30)
    da = daemons(a)
    monitor = monitors(da, watch_network=False)
    assert monitor.power is not None and monitor.power.mode == "upower"

    upower.command("set", OnBattery=True)  # 80 %: above the threshold, nothing is held
    wait_for(lambda: monitor.conditions.situation.on_battery, 10, "on battery")
    (a / "above.txt").write_text("sent on battery at 80 %\n")
    wait_for(lambda: content_at(b, "above.txt"), 60, "content on battery above the threshold")
    assert conditions(da)["action"] == "sync"

    t0 = time.monotonic()
    upower.command("set", Percentage=23)
    wait_for(lambda: conditions(da).get("action") == "hold-content", 10, "the hold below 30 %")
    print(f"23 % -> hold applied in {(time.monotonic() - t0) * 1000:.0f} ms")
    assert conditions(da)["text"] == "Holding content: on battery (23 %)"
    assert da.status()["held"]["holds"] == {"battery": None}
    commit_arrives_but_content_is_held(a, b, da, "low.txt")

    t0 = time.monotonic()
    upower.command("set", OnBattery=False)
    wait_for(lambda: content_at(b, "low.txt"), 60, "the held content on mains power")
    print(f"mains power -> held content at the other clone in {(time.monotonic() - t0) * 1000:.0f} ms")
    assert conditions(da)["action"] == "sync"
    # idle with both watchers' stand-ins on the bus: nothing wakes by itself
    wait_for(lambda: da.is_idle() and db.is_idle(), 60, lambda: f"idle: {da.busy_reasons()} {db.busy_reasons()}")
    used = assert_idle_cpu(3.0, 0.15, "two daemons, the device monitor and its watchers")
    print(f"idle with the power watcher: {used:.3f} CPU-s in 3 s")


def test_pause_on_battery_stops_git_sync_and_resumes(one_way, daemons, monitors, system_bus, service_factory):
    upower = service_factory("upower", system_bus, "--initial", json.dumps({"OnBattery": True, "Percentage": 50}))
    a, b, _db = one_way()
    write_conditions(Git(a), on_battery="pause")
    da = daemons(a)
    monitors(da, watch_network=False)
    wait_for(lambda: da.status()["state"] == "paused", 10, "the pause on battery")
    st = da.status()
    assert st["paused_by"] == ["conditions"] and st["conditions"]["text"] == "Paused: on battery (50 %)"
    before = git(b, "rev-parse", "HEAD")
    (a / "paused.txt").write_text("waits for mains power\n")
    wait_for(lambda: da.committer.pending_count() > 0, 30, "the change to be seen (and held)")
    # the user's resume does not undo the condition's pause, nor does the condition end the user's
    da.pause()
    da.resume()
    assert da.status()["paused_by"] == ["conditions"]
    assert not in_tree(b, "paused.txt") and git(b, "rev-parse", "HEAD") == before

    upower.command("set", OnBattery=False)
    wait_for(lambda: content_at(b, "paused.txt"), 60, "commit and content once on mains power")
    assert da.status()["state"] == "running" and da.status()["paused_by"] == []


def test_override_lets_content_through_then_expires(one_way, system_bus, service_factory, capsys):
    service_factory("upower", system_bus, "--initial", json.dumps({"OnBattery": True, "Percentage": 40}))
    a, b, _db = one_way()
    write_conditions(Git(a), on_battery="hold-content")
    assistant = Assistant([a])
    assistant.start()
    try:
        da = assistant.daemons[0]
        wait_for(lambda: conditions(da).get("action") == "hold-content", 10, "the hold on battery")
        commit_arrives_but_content_is_held(a, b, da, "held.txt")

        # the CLI without options: the conditions and whether they hold (through the control socket)
        assert cli.main(["conditions", str(a)]) == 0
        out = capsys.readouterr().out
        assert "on battery: hold-content" in out and "Holding content: on battery (40 %)" in out

        until = assistant.override_conditions(seconds=600.0)  # an hour, shortened for the test
        assert until is not None and 590 < until - time.time() <= 600
        wait_for(lambda: content_at(b, "held.txt"), 60, "content during the override")
        assert conditions(da)["action"] == "sync" and conditions(da)["override_until"] == until
        assert conditions(da)["text"] == "Syncing anyway (conditions overridden)"

        # the monitor's worker wakes when the time is up, and the conditions apply again (made
        # short only now: content that took long to arrive must not find the override over)
        t0 = time.monotonic()
        assistant.override_conditions(seconds=1.0)
        wait_for(lambda: conditions(da).get("action") == "hold-content", 15, "the override to expire")
        assert time.monotonic() - t0 >= 0.9
        assert conditions(da)["override_until"] is None
        commit_arrives_but_content_is_held(a, b, da, "after.txt")

        # --override-hour from the command line reaches every folder of the running engine
        assistant.devices.conditions.override_duration = 60.0
        assert cli.main(["conditions", str(a), "--override-hour"]) == 0
        assert "overridden until" in capsys.readouterr().out
        wait_for(lambda: content_at(b, "after.txt"), 60, "content after the CLI's override")
    finally:
        assistant.stop()


def test_the_cli_sets_conditions_and_a_running_daemon_applies_them(one_way, system_bus, service_factory, capsys):
    service_factory("upower", system_bus, "--initial", json.dumps({"OnBattery": True, "Percentage": 15}))
    a, _b, _db = one_way()
    assistant = Assistant([a])
    assistant.start()
    try:
        da = assistant.daemons[0]
        wait_for(lambda: conditions(da).get("action") == "sync", 10, "the first report")
        assert cli.main(["conditions", str(a), "--battery", "hold-content", "--battery-below", "20"]) == 0
        out = capsys.readouterr().out
        assert "on battery: hold-content below 20 %" in out and "Holding content: on battery (15 %)" in out
        assert conditions(da)["action"] == "hold-content"  # applied before the command returned
        assert cli.main(["status", str(a)]) == 0
        assert "  Holding content: on battery (15 %)" in capsys.readouterr().out.splitlines()
        with pytest.raises(SystemExit):  # argparse refuses it
            cli.main(["conditions", str(a), "--battery", "sometimes"])
        capsys.readouterr()
        # a bad value written by hand: syncing goes on, the status warns
        git(a, "config", "syncassistant.onBattery", "sometimes")
        assert cli.main(["conditions", str(a)]) == 0
        out = capsys.readouterr().out
        assert conditions(da)["action"] == "sync"
        assert "is not one of sync, hold-content, pause" in da.status()["warnings"]["conditions"]
        assert "problem:" in out and "sometimes" in out
    finally:
        assistant.stop()
