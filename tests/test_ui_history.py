"""Devices in the conflicts window, and the Recent changes window, on real clones in the real app."""

from __future__ import annotations

import re
from pathlib import Path

from conftest import git, link
from PySide6.QtCore import Qt
from test_ui_app import TIMEOUT_MS
from test_ui_conflicts import show, variants

from syncassistant.engine import history, provenance
from syncassistant.engine.proc.git import Git
from syncassistant.ui import history_window
from syncassistant.ui.workers import wait_background

pytest_plugins = ("test_ui_app",)  # the UI fixtures: sync_app


def named_pair(make_repo) -> tuple[Path, Path]:
    """Clones "laptop" (A) and "USB drive BACKUP" (B), each the other's remote."""
    a = make_repo("A")
    git(a, "annex", "describe", "here", "laptop")
    b = make_repo("B", clone_of=a)
    git(b, "remote", "remove", "origin")
    git(b, "annex", "describe", "here", "USB drive BACKUP")
    link(a, b, "b", "a")
    return a, b


def commit_as_daemon(repo: Path, rel: str, text: str) -> None:
    """A commit with the trailers our committer writes (engine/provenance.py)."""
    (repo / rel).write_text(text)
    git(repo, "annex", "add", "-q", rel)
    msg = provenance.with_trailers(f"Update {rel}", provenance.DeviceCache(Git(repo)).me())
    git(repo, "commit", "-q", "-m", msg)


def test_the_conflicts_window_names_both_devices(qtbot, daemons, sync_app, make_repo):
    a, b = named_pair(make_repo)
    commit_as_daemon(a, "notes.txt", "shopping:\nmilk\nbread\n")
    commit_as_daemon(b, "notes.txt", "shopping:\nmilk\neggs\nbread\n")
    ours, theirs = git(b, "rev-parse", "HEAD").strip(), git(a, "rev-parse", "HEAD").strip()
    git(b, "fetch", "-q", str(a), "master:refs/heads/synced/master")  # what A's push would do
    key_a, key_b = (git(r, "annex", "lookupkey", "notes.txt").strip() for r in (a, b))
    git(b, "annex", "get", "-q", "--key", key_a, "--from", "a")
    git(a, "annex", "get", "-q", "--key", key_b, "--from", "b")
    app = sync_app(b)
    qtbot.waitUntil(lambda: any(v.conflicts for v in app.state.ordered()), timeout=TIMEOUT_MS)
    qtbot.waitUntil(lambda: git(a, "rev-parse", "synced/master") == git(b, "rev-parse", "HEAD"),
                    timeout=TIMEOUT_MS)
    daemons(a)
    qtbot.waitUntil(lambda: len(variants(a)) == 2 and git(a, "rev-parse", "HEAD") == git(b, "rev-parse", "HEAD"),
                    timeout=TIMEOUT_MS)
    win = show(qtbot, app)
    key, rec = win.current
    # the record: both devices, both times, both parent commits of the merge
    assert rec["ours"]["device"] == "USB drive BACKUP" and rec["theirs"]["device"] == "laptop"
    assert rec["ours"]["device_uuid"] == git(b, "config", "annex.uuid").strip()
    assert rec["theirs"]["device_uuid"] == git(a, "config", "annex.uuid").strip()
    assert rec["ours"]["parent"] == ours and rec["theirs"]["parent"] == theirs
    assert rec["ours"]["time"] > 0 and rec["theirs"]["time"] > 0
    # the window: devices, not the git author (the same "Test" on both)
    assert "from laptop" in win.list.item(0).text()
    assert "laptop" in win.explain.text()
    came = {win.infos[i].side: win.variants.topLevelItem(i).text(1) for i in range(2)}
    assert came == {"ours": "this device (USB drive BACKUP)", "theirs": "laptop"}
    # the notice names both devices too
    sent = app.notifications.notifier.sent
    assert any("notes.txt was changed on USB drive BACKUP and on laptop." in body for _, body in sent), sent
    # the log shows what the merge did: each version kept under its own name, by this device
    made = [c for c in history.changes(b) if c.merged]
    assert {c.path for c in made if c.kind == "added"} == set(rec["variants"])
    assert {c.path for c in made if c.kind == "deleted"} == {"notes.txt"}
    assert {c.device for c in made} == {"USB drive BACKUP"}
    # the merge that made the conflict names both devices
    trailers = provenance.parse_trailers(git(b, "log", "-1", "--merges", "--format=%B"))
    assert trailers["Device"] == "USB drive BACKUP" and trailers["Merged-Device"] == "laptop"


def test_recent_changes_lists_a_change_and_restores_a_file_through_its_buttons(qtbot, daemons, sync_app,
                                                                               make_repo, monkeypatch):
    a, b = named_pair(make_repo)
    daemons(a)
    app = sync_app(b)
    (a / "report.txt").write_text("draft one\n")
    qtbot.waitUntil(lambda: (b / "report.txt").exists() and (b / "report.txt").read_text() == "draft one\n",
                    timeout=TIMEOUT_MS)
    (a / "report.txt").write_text("draft two, then deleted\n")
    qtbot.waitUntil(lambda: (b / "report.txt").read_text() == "draft two, then deleted\n", timeout=TIMEOUT_MS)
    (a / "report.txt").unlink()
    (b / "from-b.txt").write_text("made on the drive\n")
    qtbot.waitUntil(lambda: not (b / "report.txt").exists()
                    and not git(b, "ls-tree", "HEAD", "--", "report.txt").strip(), timeout=TIMEOUT_MS)

    app.tray.refresh()
    assert app.tray.history_action.isEnabled()
    app.tray.history_action.trigger()
    win = app.windows["history"]
    assert isinstance(win, history_window.HistoryWindow) and win.isVisible()

    def rows() -> list[list[str]]:
        return [[win.list.topLevelItem(i).text(c) for c in range(6)] for i in range(win.list.topLevelItemCount())]

    qtbot.waitUntil(lambda: [r[2] for r in rows() if r[3] == "report.txt"] == ["deleted", "changed", "added"],
                    timeout=TIMEOUT_MS)
    assert {r[1] for r in rows() if r[3] == "report.txt"} == {"laptop"}
    # filters: by device, by name
    qtbot.waitUntil(lambda: any(r[3] == "from-b.txt" for r in rows()), timeout=TIMEOUT_MS)
    assert [r[1] for r in rows() if r[3] == "from-b.txt"] == ["USB drive BACKUP"]
    win.device.setCurrentIndex(win.device.findData("USB drive BACKUP"))
    assert [r[3] for r in rows()] == ["from-b.txt"]
    win.device.setCurrentIndex(win.device.findData("laptop"))
    win.name.setText("REPORT")
    assert rows() and all(r[3] == "report.txt" for r in rows())

    opened: list[str] = []
    monkeypatch.setattr(history_window, "open_folder", lambda p: opened.append(p) or True)
    win.list.setCurrentItem(win.list.topLevelItem(0))
    qtbot.mouseClick(win.show_button, Qt.MouseButton.LeftButton)
    assert opened == [str(b)]

    qtbot.mouseClick(win.restore_button, Qt.MouseButton.LeftButton)
    dialog = win.dialogs[-1]
    qtbot.waitUntil(lambda: dialog.list.topLevelItemCount() == 2, timeout=TIMEOUT_MS)
    assert [dialog.list.topLevelItem(i).text(2) for i in range(2)] == ["laptop", "laptop"]
    assert dialog.list.topLevelItem(0).text(4) == "on this device"
    # the chosen version's content is here: a preview of it
    qtbot.waitUntil(lambda: dialog.preview.currentWidget() is dialog.text
                    and dialog.text.toPlainText() == "draft two, then deleted\n", timeout=TIMEOUT_MS)
    # what old versions cost here: the first draft at least (the second may still be used by a
    # remote-tracking branch not yet moved past the deletion: git annex unused looks at every ref)
    def cost_shown() -> None:  # an assertion, so that a time-out says what was shown
        m = re.match(r"Old versions kept on this device: (\d+) \(", win.cost.text())
        assert m and int(m.group(1)) >= 1, win.cost.text()
    qtbot.waitUntil(cost_shown, timeout=TIMEOUT_MS)
    assert "Every version is kept" in win.cost.text()
    # the older draft, as a copy beside it
    dialog.list.setCurrentItem(dialog.list.topLevelItem(1))
    qtbot.mouseClick(dialog.copy_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: "Restored as" in dialog.result.text(), timeout=TIMEOUT_MS)
    copies = [p for p in b.iterdir() if p.name.startswith("report (restored ")]
    assert len(copies) == 1 and copies[0].read_text() == "draft one\n"
    # the last version, at its own name
    dialog.list.setCurrentItem(dialog.list.topLevelItem(0))
    qtbot.mouseClick(dialog.restore_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: (b / "report.txt").exists(), timeout=TIMEOUT_MS)
    assert (b / "report.txt").read_text() == "draft two, then deleted\n"
    # both are changes like any other: committed here by B's daemon, synced to A
    def in_a(name: str, text: str) -> bool:  # (the file comes first as a pointer, then its content)
        try:
            return (a / name).read_text() == text
        except OSError:
            return False
    qtbot.waitUntil(lambda: in_a("report.txt", "draft two, then deleted\n") and in_a(copies[0].name, "draft one\n"),
                    timeout=TIMEOUT_MS)
    # and the window lists the restore, made on this device
    win.name.setText("")
    win.device.setCurrentIndex(0)
    qtbot.waitUntil(lambda: any(r[3] == "report.txt" and r[2] == "added" and r[1] == "USB drive BACKUP"
                                for r in rows()), timeout=TIMEOUT_MS)
    assert wait_background(TIMEOUT_MS)  # no history read outlives the test (and its app)
