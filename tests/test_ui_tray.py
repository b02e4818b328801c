"""The tray icon and its menu on real daemons: state icon, status lines, actions reach the engine."""

from __future__ import annotations

from conftest import git, in_tree
from test_ui_app import TIMEOUT_MS

from syncassistant.ui import app as app_module
from syncassistant.ui import i18n
from syncassistant.ui.state import AppState, RepoView, Summary, overall_summary, repo_summary

pytest_plugins = ("test_ui_app",)  # the UI fixtures: sync_app, linked_pair


def menu_texts(app) -> list[str]:
    app.tray.refresh()
    return [a.text() for a in app.tray.menu.actions() if not a.isSeparator() and a.isVisible()]


def test_menu_has_a_line_per_repository_and_the_actions(qtbot, sync_app, linked_pair):
    a, b = linked_pair
    app = sync_app(a, b)
    texts = menu_texts(app)
    assert texts[0].startswith("A: ") and texts[1].startswith("B: ")
    assert texts[2:] == ["Open folder", "Pause syncing", "Sync now", "Transfers…", "Conflicts…",
                         "Recent changes…", "Connect another device…", "Join with a code…", "Settings…", "Quit"]
    assert app.tray.open_action.menu() is not None  # two folders: a submenu
    assert [x.text() for x in app.tray.open_action.menu().actions()] == ["A", "B"]


# `daemons` before `sync_app`: fixtures end in reverse order, so the app's engine has stopped
# when the daemons fixture checks that no child process is left.
def test_pause_from_the_menu_stops_pushes_and_resume_syncs(qtbot, daemons, sync_app, linked_pair):
    a, b = linked_pair
    app = sync_app(a)
    daemons(b)  # the other clone runs headless, like another device
    if True:
        daemon = app.handles[str(a.resolve())].worker.daemon
        app.tray.pause_action.trigger()
        qtbot.waitUntil(lambda: daemon.ctx.paused.is_set(), timeout=TIMEOUT_MS)
        qtbot.waitUntil(lambda: app.state.summary.state == "paused", timeout=TIMEOUT_MS)
        assert app.tray.pause_action.text() == "Resume syncing"
        assert app.tray.icon.toolTip() == "SyncAssistant: Syncing is paused"
        before = git(b, "rev-parse", "HEAD")
        (a / "while-paused.txt").write_text("waits")
        # the watcher has seen the file, and the paused committer holds it
        qtbot.waitUntil(lambda: daemon.committer.pending_count() > 0, timeout=TIMEOUT_MS)
        assert not in_tree(b, "while-paused.txt") and git(b, "rev-parse", "HEAD") == before
        app.tray.pause_action.trigger()  # now "Resume syncing"
        qtbot.waitUntil(lambda: not daemon.ctx.paused.is_set(), timeout=TIMEOUT_MS)
        qtbot.waitUntil(lambda: in_tree(b, "while-paused.txt"), timeout=TIMEOUT_MS)
        qtbot.waitUntil(lambda: app.state.summary.state == "idle", timeout=TIMEOUT_MS)
        assert app.tray.pause_action.text() == "Pause syncing"


def test_sync_now_and_open_folder_reach_their_targets(qtbot, sync_app, linked_pair, monkeypatch):
    a, b = linked_pair
    app = sync_app(a)
    opened = []
    monkeypatch.setattr(app_module, "open_folder", lambda p: opened.append(p) or True)
    app.tray.open_action.trigger()  # one folder: a plain action
    assert opened == [str(a.resolve())]
    daemon = app.handles[str(a.resolve())].worker.daemon
    syncs = []
    real = daemon.sync_now
    monkeypatch.setattr(daemon, "sync_now", lambda: (syncs.append(1), real())[1])
    app.tray.sync_action.trigger()
    qtbot.waitUntil(lambda: syncs == [1], timeout=TIMEOUT_MS)


def test_windows_open_from_the_menu(qtbot, sync_app, linked_pair):
    a, b = linked_pair
    app = sync_app(a, b)
    app.tray.transfers_action.trigger()
    app.tray.conflicts_action.trigger()
    app.tray.settings_action.trigger()
    assert set(app.windows) == {"transfers", "conflicts", "settings"}
    assert all(w.isVisible() for w in app.windows.values())


def test_summary_states_and_tooltips(qapp):
    i18n.install(qapp)
    running = {"state": "running", "idle": True, "remotes": [{"name": "b", "last_sync": 1.0, "error": None}],
               "conflicts": [], "errors": {}}
    v = RepoView("/x/Docs", status=dict(running), running=True)
    assert repo_summary(v) == Summary("idle", "Up to date")
    v.transfers = {"1": {"id": "1", "state": "running", "size": 10_000_000, "bytes_done": 1_000_000},
                   "2": {"id": "2", "state": "queued", "size": 3_000_000, "bytes_done": 0},
                   "3": {"id": "3", "state": "queued", "size": 0, "bytes_done": 0}}
    assert overall_summary([v]) == Summary("syncing", "Syncing 3 files, 12 MB left")
    v.transfers = {"1": {"id": "1", "state": "running", "size": 10, "bytes_done": 0}}
    assert overall_summary([v]).text == "Syncing 1 file, 10 Bytes left"
    # a download routing holds back (a nearer device brings it) is no work for now
    v.transfers = {"1": {"id": "1", "state": "queued", "deferred": True, "size": 10, "bytes_done": 0}}
    assert overall_summary([v]) == Summary("idle", "Everything is up to date")
    v.transfers = {}
    v.status = {**running, "remotes": [{"name": "usb", "error": "not mounted", "offline": True}]}
    assert repo_summary(v) == Summary("offline", "Can't reach usb")
    v.status = {**running, "state": "paused"}
    assert overall_summary([v]) == Summary("paused", "Syncing is paused")
    v.status = {**running, "conflicts": [{"id": "c"}, {"id": "d"}]}
    assert overall_summary([v]) == Summary("conflict", "2 conflicts to resolve")
    v.status = {**running, "errors": {"commit": "disk full"}}
    assert repo_summary(v).state == "error" and "disk full" in repo_summary(v).text


def test_a_transfer_report_that_arrives_late_does_not_undo_a_newer_one(qapp):
    """Engine threads report one transfer out of order at times: enqueue's "queued" can reach the
    GUI thread after the worker's "done" (the tray said "Syncing 1 file" for ever, CI of session 5).
    The sequence number the engine stamps on each report keeps the newest."""
    i18n.install(qapp)
    state = AppState()
    key = "/x/Docs"
    state.add(key)
    state.set_status(key, {"state": "running", "idle": True, "remotes": [{"name": "b", "last_sync": 1.0}],
                           "conflicts": [], "errors": {}})
    row = {"id": "upload:b:K", "path": "notes.txt", "size": 26, "bytes_done": 0}
    state.update_transfer(key, {**row, "state": "running", "seq": 2})
    state.update_transfer(key, {**row, "state": "done", "bytes_done": 26, "seq": 3})
    state.update_transfer(key, {**row, "state": "queued", "seq": 1})  # the late one
    assert state.views[key].transfers["upload:b:K"]["state"] == "done"
    assert state.summary == Summary("idle", "Everything is up to date")
    # a snapshot taken before the last report, delivered after it, does not undo it either
    other = {"id": "upload:b:L", "path": "x", "size": 5, "bytes_done": 0}
    state.update_transfer(key, {**other, "state": "done", "bytes_done": 5, "seq": 5})
    state.set_transfers(key, [{**row, "state": "done", "seq": 4}, {**other, "state": "running", "seq": 4}], None, True)
    assert state.views[key].transfers["upload:b:L"]["state"] == "done"
    assert state.summary.state == "idle"
    # a newer snapshot replaces what came before
    state.set_transfers(key, [{**other, "state": "running", "seq": 6}], None, True)
    assert list(state.views[key].transfers) == ["upload:b:L"] and state.summary.state == "syncing"
