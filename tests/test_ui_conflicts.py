"""The conflicts window on a real conflict between two real clones; resolving syncs."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import git, tree_files
from PySide6.QtWidgets import QMessageBox
from test_ui_app import TIMEOUT_MS

from syncassistant.ui import conflicts_window
from syncassistant.ui.conflict_ops import ConflictError, keep_one, pointer_key

pytest_plugins = ("test_ui_app",)  # the UI fixtures: sync_app, linked_pair


def make_conflict(a: Path, b: Path) -> None:
    (a / "notes.txt").write_text("shopping:\nmilk\nbread\n")
    (b / "notes.txt").write_text("shopping:\nmilk\neggs\nbread\n")
    for r in (a, b):
        git(r, "annex", "add", "notes.txt")
        git(r, "commit", "-qm", "add notes.txt")


def variants(repo: Path) -> list[str]:
    return sorted(p for p in tree_files(repo) if p.startswith("notes"))


def open_with_conflict(qtbot, sync_app, daemons, a: Path, b: Path):
    """A conflict that B's daemon (in the app) finds and records; A runs headless, like another
    device, and takes B's resolution of the merge as it is."""
    make_conflict(a, b)
    git(b, "fetch", "-q", str(a), "master:refs/heads/synced/master")  # what A's push would do
    # each clone has the other's version's content already, as content sync would bring it: no
    # download writes a version while the test deletes it (see `show`)
    key_a, key_b = (git(r, "annex", "lookupkey", "notes.txt").strip() for r in (a, b))
    git(b, "annex", "get", "-q", "--key", key_a, "--from", "a")
    git(a, "annex", "get", "-q", "--key", key_b, "--from", "b")
    app = sync_app(b)
    qtbot.waitUntil(lambda: any(v.conflicts for v in app.state.ordered()), timeout=TIMEOUT_MS)
    # B has pushed its merge to A; A (another device) starts and takes it
    qtbot.waitUntil(lambda: git(a, "rev-parse", "synced/master") == git(b, "rev-parse", "HEAD"),
                    timeout=TIMEOUT_MS)
    daemons(a)
    qtbot.waitUntil(lambda: len(variants(a)) == 2 and variants(a) == variants(b)
                    and git(a, "rev-parse", "HEAD") == git(b, "rev-parse", "HEAD"), timeout=TIMEOUT_MS)
    return app, show(qtbot, app)


def settled(app) -> bool:
    """Nothing in flight: every version's content is here and every daemon is idle."""
    for key, view in app.state.views.items():
        for c in view.conflicts:
            if any(pointer_key(Path(key) / v) for v in c["variants"]):
                return False
    return all(h.worker.daemon.is_idle() for h in app.handles.values())


def show(qtbot, app):
    # A person resolves after syncing has settled (see test_resolution_survives_twin_merges).
    # Deleting a version while content sync is still writing it makes the engine's committer
    # stall for its retry period (reported).
    qtbot.waitUntil(lambda: settled(app), timeout=TIMEOUT_MS)
    win = app.show_conflicts()
    qtbot.waitUntil(lambda: win.variants.topLevelItemCount() == 2, timeout=TIMEOUT_MS)
    return win


# `daemons` before `sync_app`: fixtures end in reverse order, so the app's engine has stopped
# when the daemons fixture checks that no child process is left.
def test_window_shows_the_conflict_its_versions_and_a_diff(qtbot, daemons, sync_app, linked_pair):
    a, b = linked_pair
    app, win = open_with_conflict(qtbot, sync_app, daemons, a, b)
    assert app.state.summary.state == "conflict"
    assert app.tray.icon.toolTip() == "SyncAssistant: 1 conflict to resolve"
    app.tray.refresh()
    assert app.tray.conflicts_action.text() == "Conflicts (1)…"
    assert win.list.count() == 1 and win.list.item(0).text().startswith("notes.txt\n")
    assert win.title.text() == "notes.txt"
    key, rec = win.current
    rows = [[win.variants.topLevelItem(i).text(c) for c in range(4)] for i in range(2)]
    assert sorted(r[0] for r in rows) == sorted(rec["variants"])
    sides = {info.side for info in win.infos}
    assert sides == {"ours", "theirs"}
    came = " ".join(r[1] for r in rows)
    assert "this device" in came and "another device" in came  # B's merge of a push: no remote name
    assert all(r[3] for r in rows)  # a size for each
    assert all(r[2] for r in rows)  # and when it changed
    # the version recorded here is text on disk: the preview is a diff (or says where content is)
    if all(info.kind == "text" for info in win.infos):
        assert win.preview.currentWidget() is win.diff
        text = win.diff.toPlainText()
        assert "eggs" in text
    else:
        assert win.preview.currentWidget() is win.message and "another device" in win.message.text()


def test_keep_this_one_renames_deletes_and_syncs(qtbot, daemons, sync_app, linked_pair, monkeypatch):
    a, b = linked_pair
    app, win = open_with_conflict(qtbot, sync_app, daemons, a, b)
    key, rec = win.current
    here, other = Path(key), a
    assert here == b.resolve()
    ours = next(i for i, info in enumerate(win.infos) if info.side == "ours")
    kept_text = (here / win.infos[ours].path).read_text()
    win.variants.setCurrentItem(win.variants.topLevelItem(ours))
    asked = []
    monkeypatch.setattr(QMessageBox, "question", lambda *a, **k: asked.append(a) or QMessageBox.StandardButton.Yes)
    qtbot.mouseClick(win.keep_button, conflicts_window.Qt.MouseButton.LeftButton)
    assert asked
    qtbot.waitUntil(lambda: variants(here) == ["notes.txt"], timeout=TIMEOUT_MS)
    assert (here / "notes.txt").read_text() == kept_text
    # an ordinary change: committed here and synced to the other clone
    qtbot.waitUntil(lambda: variants(other) == ["notes.txt"], timeout=TIMEOUT_MS)
    qtbot.waitUntil(lambda: git(here, "rev-parse", "HEAD") == git(other, "rev-parse", "HEAD"), timeout=TIMEOUT_MS)
    daemon = app.handles[key].worker.daemon
    assert daemon.conflicts.open_conflicts() == []
    qtbot.waitUntil(lambda: not any(v.conflicts for v in app.state.ordered()), timeout=TIMEOUT_MS)
    qtbot.waitUntil(lambda: win.right.currentWidget() is win.empty, timeout=TIMEOUT_MS)
    assert "Kept notes.txt" in win.result.text()

    def up_to_date() -> None:  # an assertion, so that a time-out says what was left
        view = app.state.views[key]
        assert app.state.summary.state == "idle", (app.state.summary, daemon.busy_reasons(),
                                                   view.failing_remotes(), (view.status or {}).get("errors"))
    qtbot.waitUntil(up_to_date, timeout=TIMEOUT_MS)


def test_keep_both_marks_resolved_and_leaves_the_files(qtbot, daemons, sync_app, linked_pair):
    a, b = linked_pair
    app, win = open_with_conflict(qtbot, sync_app, daemons, a, b)
    key, rec = win.current
    before = variants(a)
    qtbot.mouseClick(win.both_button, conflicts_window.Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: win.right.currentWidget() is win.empty, timeout=TIMEOUT_MS)
    assert app.handles[key].worker.daemon.conflicts.open_conflicts() == []
    assert variants(a) == before and len(before) == 2


def test_open_folder_opens_the_files_folder(qtbot, daemons, sync_app, linked_pair, monkeypatch):
    a, b = linked_pair
    app, win = open_with_conflict(qtbot, sync_app, daemons, a, b)
    opened = []
    monkeypatch.setattr(conflicts_window, "open_folder", lambda p: opened.append(p) or True)
    qtbot.mouseClick(win.open_button, conflicts_window.Qt.MouseButton.LeftButton)
    assert opened == [win.current[0]]


def test_keep_one_refuses_paths_outside_the_repository(tmp_path):
    (tmp_path / "x.variant-1").write_text("1")
    rec = {"path": "x", "variants": ["x.variant-1", "../outside"]}
    with pytest.raises(ConflictError):
        keep_one(tmp_path, rec, "x.variant-1")
    assert (tmp_path / "x.variant-1").exists()


# Both clones merge the conflict at once and make twin merge commits of one tree; the Merger
# joins twins, so a resolution made later is not undone by the other clone's twin.
def test_resolution_survives_twin_merges(qtbot, sync_app, linked_pair, monkeypatch):
    a, b = linked_pair
    make_conflict(a, b)
    app = sync_app(a, b)  # both daemons see the other's commit at once
    qtbot.waitUntil(lambda: any(v.conflicts for v in app.state.ordered()), timeout=TIMEOUT_MS)
    qtbot.waitUntil(lambda: len(variants(a)) == 2 and variants(a) == variants(b), timeout=TIMEOUT_MS)
    win = show(qtbot, app)
    key, rec = win.current
    monkeypatch.setattr(QMessageBox, "question", lambda *a, **k: QMessageBox.StandardButton.Yes)
    qtbot.mouseClick(win.keep_button, conflicts_window.Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: variants(a) == ["notes.txt"] and variants(b) == ["notes.txt"], timeout=TIMEOUT_MS)
    qtbot.waitUntil(lambda: git(a, "rev-parse", "HEAD^{tree}") == git(b, "rev-parse", "HEAD^{tree}"),
                    timeout=TIMEOUT_MS)
    assert variants(a) == ["notes.txt"] == variants(b)
