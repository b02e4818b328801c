"""Run conditions through the real tray app (SyncApp, offscreen) with a UPower stand-in on a
private system bus: the tray says why content is held, "Sync anyway for an hour" lets it
through and the conditions come back when that time is up; the Folders page sets them."""
# Fixtures are imported from dbus_fixtures and requested by name, which pyflakes reads as
# redefinitions: hence the file-wide F811 exemption.
# ruff: noqa: F811

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import annex, git, in_tree
from dbus_fixtures import (  # noqa: F401  (fixtures)
    bus_factory,
    no_thread_leaks,
    processes,
    service_factory,
    system_bus,
)
from test_ui_app import TIMEOUT_MS

from syncassistant.engine.devices.conditions import read_conditions, write_conditions
from syncassistant.engine.proc.git import Git

pytest_plugins = ("test_ui_app",)  # the UI fixtures: sync_app
pytestmark = pytest.mark.usefixtures("no_thread_leaks")


def content_at(repo: Path, rel: str) -> bool:
    return annex(repo, "find", "--in=here", "--", rel, check=False).strip() == rel


@pytest.fixture
def a_to_b(make_repo, daemons) -> tuple[Path, Path]:
    """Clones A and B, B a remote of A by its path; B's daemon runs headless (another device)."""
    a = make_repo("A")
    b = make_repo("B", clone_of=a)
    git(b, "remote", "remove", "origin")
    git(a, "remote", "add", "b", str(b))
    daemons(b)
    return a, b


# The bus and its stand-ins after `sync_app` and the daemons: fixtures end in reverse order, and
# those check that no child process is left. (The app is made in the test, with the bus set.)
def test_the_tray_says_why_content_is_held_and_sync_anyway_releases_it(qtbot, a_to_b, sync_app, system_bus,
                                                                      service_factory):
    upower = service_factory("upower", system_bus, "--initial", json.dumps({"OnBattery": True, "Percentage": 23}))
    a, b = a_to_b
    write_conditions(Git(a), on_battery="hold-content", battery_below=30)
    app = sync_app(a)
    held = "Holding content: on battery (23 %)"
    qtbot.waitUntil(lambda: app.state.summary.text == held, timeout=TIMEOUT_MS)
    app.tray.refresh()
    assert app.state.summary.state == "paused"
    assert app.tray.icon.toolTip() == f"SyncAssistant: {held}"
    assert app.tray.status_line(app.state.ordered()[0]) == f"A: {held}"
    assert app.tray.override_action.isVisible() and app.tray.override_action.text() == "Sync anyway for an hour"

    (a / "held.txt").write_text("waits for the charger\n")
    qtbot.waitUntil(lambda: in_tree(b, "held.txt"), timeout=TIMEOUT_MS)  # the commit travels
    daemon = app.handles[str(a.resolve())].worker.daemon
    qtbot.waitUntil(lambda: any(t["path"] == "held.txt" and t["state"] == "queued"
                                for t in daemon.transfers_snapshot()), timeout=TIMEOUT_MS)
    assert not content_at(b, "held.txt")
    assert app.state.summary.text == held  # a held transfer is not "Syncing 1 file"

    app.tray.override_action.trigger()  # one click
    qtbot.waitUntil(lambda: content_at(b, "held.txt"), timeout=TIMEOUT_MS)
    qtbot.waitUntil(lambda: app.state.summary.state == "idle", timeout=TIMEOUT_MS)
    app.tray.refresh()
    assert not app.tray.override_action.isVisible()
    assert app.tray.icon.toolTip() == "SyncAssistant: Everything is up to date"
    until = daemon.status()["conditions"]["override_until"]
    assert until is not None and until - daemon.status()["started"] > 3000  # an hour from the click

    # the hour is over (shortened here): the conditions apply again, and the tray says so
    app.override_conditions(0.5)
    qtbot.waitUntil(lambda: app.state.summary.text == held, timeout=TIMEOUT_MS)
    upower.command("set", OnBattery=False)
    qtbot.waitUntil(lambda: app.state.summary.state == "idle", timeout=TIMEOUT_MS)


def test_the_folders_page_sets_the_conditions_and_the_engine_applies_them(qtbot, a_to_b, sync_app, system_bus,
                                                                         service_factory):
    service_factory("upower", system_bus, "--initial", json.dumps({"OnBattery": True, "Percentage": 60}))
    a, _b = a_to_b
    git(a, "config", "syncassistant.onMetered", "sometimes")  # set by hand, wrongly
    app = sync_app(a)
    page = app.show_settings("repositories").page("repositories")
    box = page.conditions
    qtbot.waitUntil(lambda: box.key == str(a.resolve()) and box.battery.isEnabled(), timeout=TIMEOUT_MS)
    assert box.conditions().on_battery == "sync" and not box.below.isEnabled()
    assert "syncassistant.onMetered = 'sometimes'" in box.error.text()  # said, and syncing goes on
    assert box.now.text() == "Now: syncing everything"

    box.battery.setCurrentIndex(box.battery.findData("pause"))
    box.battery.activated.emit(box.battery.currentIndex())  # what a person's choice emits
    qtbot.waitUntil(lambda: app.state.summary.text == "Paused: on battery (60 %)", timeout=TIMEOUT_MS)
    assert read_conditions(Git(a)).on_battery == "pause" and box.below.isEnabled()
    qtbot.waitUntil(lambda: box.now.text() == "Now: Paused: on battery (60 %)", timeout=TIMEOUT_MS)
    app.tray.refresh()
    assert app.tray.pause_action.text() == "Pause syncing"  # not paused by the person

    box.below.setValue(50)  # below 50 % only: at 60 % it syncs again
    box.below.editingFinished.emit()
    qtbot.waitUntil(lambda: app.state.summary.state == "idle", timeout=TIMEOUT_MS)
    assert read_conditions(Git(a)).battery_below == 50

    assert not box.elsewhere.isEnabled()
    box.networks.setText("Home,  Office")
    box.networks.editingFinished.emit()
    qtbot.waitUntil(lambda: read_conditions(Git(a)).only_networks == ("Home", "Office"), timeout=TIMEOUT_MS)
    qtbot.waitUntil(lambda: box.elsewhere.isEnabled() and box.networks.text() == "Home, Office", timeout=TIMEOUT_MS)
    assert box.conditions().on_other_networks == "hold-content"


def test_summaries_of_folders_held_by_conditions(qapp):
    from syncassistant.ui import i18n
    from syncassistant.ui.state import RepoView, Summary, overall_summary, repo_summary

    i18n.install(qapp)
    idle = {"state": "running", "idle": True, "remotes": [{"name": "b", "last_sync": 1.0}], "conflicts": [],
            "errors": {}, "paused_by": []}
    hold = {"action": "hold-content", "reasons": [{"kind": "metered"}], "override_until": None}
    assert repo_summary(RepoView("/x/Music", status={**idle, "conditions": {
        "action": "pause", "reasons": [{"kind": "network", "name": "Café"}]}}, running=True)).text == \
        "Paused: on another network (Café)"
    docs = RepoView("/x/Docs", status={**idle, "conditions": hold}, running=True)
    photos = RepoView("/x/Photos", status={**idle, "conditions": hold}, running=True)
    assert repo_summary(docs) == Summary("paused", "Holding content: metered connection")
    assert overall_summary([docs, photos]) == Summary("paused", "Holding content: metered connection")
    photos.status = {**idle, "state": "paused", "paused_by": ["conditions"], "conditions": {
        "action": "pause", "reasons": [{"kind": "metered"}, {"kind": "battery", "percentage": 9.0}]}}
    assert repo_summary(photos).text == "Paused: metered connection, on battery (9 %)"
    assert overall_summary([docs, photos]).text == "Docs: Holding content: metered connection"
    assert not photos.paused  # the tray offers Pause, not Resume: the person did not pause it
    photos.status = {**photos.status, "paused_by": ["conditions", "user"]}
    assert photos.paused and repo_summary(photos) == Summary("paused", "Paused")
    docs.status = {**idle, "conditions": {**hold, "action": "sync", "override_until": 2e9}}
    assert repo_summary(docs).state == "idle" and docs.conditions_overridden


def test_the_general_page_leads_to_the_folders_conditions(qtbot, a_to_b, sync_app):
    a, _b = a_to_b
    app = sync_app(a)
    dlg = app.show_settings("general")
    dlg.page("general").conditions_button.click()
    assert dlg.stack.currentIndex() == dlg.PAGES.index("repositories")
    box = dlg.page("repositories").conditions
    qtbot.waitUntil(lambda: box.key == str(a.resolve()) and box.metered.isEnabled(), timeout=TIMEOUT_MS)
