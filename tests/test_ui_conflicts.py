"""The conflicts window on a real conflict between two real clones; resolving syncs."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import git, tree_files
from PySide6.QtWidgets import QMessageBox
from test_ui_app import TIMEOUT_MS, linked_pair, sync_app  # noqa: F401  (fixtures)

from syncassistant.ui import conflicts_window
from syncassistant.ui.conflict_ops import ConflictError, keep_one


def make_conflict(a: Path, b: Path) -> None:
    (a / "notes.txt").write_text("shopping:\nmilk\nbread\n")
    (b / "notes.txt").write_text("shopping:\nmilk\neggs\nbread\n")
    for r in (a, b):
        git(r, "annex", "add", "notes.txt")
        git(r, "commit", "-qm", "add notes.txt")


def variants(repo: Path) -> list[str]:
    return sorted(p for p in tree_files(repo) if p.startswith("notes"))


def open_with_conflict(qtbot, sync_app, a: Path, b: Path):
    make_conflict(a, b)
    app = sync_app(a, b)
    qtbot.waitUntil(lambda: any(v.conflicts for v in app.state.ordered()), timeout=TIMEOUT_MS)
    qtbot.waitUntil(lambda: len(variants(a)) == 2 and variants(a) == variants(b), timeout=TIMEOUT_MS)
    win = app.show_conflicts()
    qtbot.waitUntil(lambda: win.variants.topLevelItemCount() == 2, timeout=TIMEOUT_MS)
    return app, win


def test_window_shows_the_conflict_its_versions_and_a_diff(qtbot, sync_app, linked_pair):
    a, b = linked_pair
    app, win = open_with_conflict(qtbot, sync_app, a, b)
    assert app.state.summary.state == "conflict"
    # each clone that merged the other's version records the conflict: here, one or both
    n = sum(len(v.conflicts) for v in app.state.ordered())
    assert n in (1, 2)
    assert app.tray.icon.toolTip() == f"SyncAssistant: {n} conflict{'s' if n > 1 else ''} to resolve"
    app.tray.refresh()
    assert app.tray.conflicts_action.text() == f"Conflicts ({n})…"
    assert win.list.count() == n and win.list.item(0).text().startswith("notes.txt\n")
    assert win.title.text() == "notes.txt"
    key, rec = win.current
    rows = [[win.variants.topLevelItem(i).text(c) for c in range(4)] for i in range(2)]
    assert sorted(r[0] for r in rows) == sorted(rec["variants"])
    sides = {info.side for info in win.infos}
    assert sides == {"ours", "theirs"}
    came = " ".join(r[1] for r in rows)
    assert "this device" in came and rec["remote"] in came
    assert all(r[3] for r in rows)  # a size for each
    assert all(r[2] for r in rows)  # and when it changed
    # the version recorded here is text on disk: the preview is a diff (or says where content is)
    if all(info.kind == "text" for info in win.infos):
        assert win.preview.currentWidget() is win.diff
        text = win.diff.toPlainText()
        assert "eggs" in text
    else:
        assert win.preview.currentWidget() is win.message and "another device" in win.message.text()


def test_keep_this_one_renames_deletes_and_syncs(qtbot, sync_app, linked_pair, monkeypatch):
    a, b = linked_pair
    app, win = open_with_conflict(qtbot, sync_app, a, b)
    key, rec = win.current
    here = Path(key)
    other = b if here == a.resolve() else a
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
    qtbot.waitUntil(lambda: app.state.summary.state == "idle", timeout=TIMEOUT_MS)


def test_keep_both_marks_resolved_and_leaves_the_files(qtbot, sync_app, linked_pair):
    a, b = linked_pair
    app, win = open_with_conflict(qtbot, sync_app, a, b)
    key, rec = win.current
    before = variants(a)
    qtbot.mouseClick(win.both_button, conflicts_window.Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: win.right.currentWidget() is win.empty, timeout=TIMEOUT_MS)
    assert app.handles[key].worker.daemon.conflicts.open_conflicts() == []
    assert variants(a) == before and len(before) == 2


def test_open_folder_opens_the_files_folder(qtbot, sync_app, linked_pair, monkeypatch):
    a, b = linked_pair
    app, win = open_with_conflict(qtbot, sync_app, a, b)
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
