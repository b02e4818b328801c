"""The transfers window on real transfers between real clones: rows, progress, cancel, retry and
limits that reach the engine while a transfer runs."""

from __future__ import annotations

import os
import subprocess

from conftest import git
from PySide6.QtCore import Qt
from test_ui_app import TIMEOUT_MS

from syncassistant.ui.transfers_window import PROGRESS_ROLE, TransfersModel

pytest_plugins = ("test_ui_app",)  # the UI fixtures: sync_app, linked_pair

MiB = 1024 * 1024


def row_of(win, path: str, remote: str = "b") -> int | None:
    """The row of this file's transfer: the one under way, else the latest."""
    m = win.model
    rows = [r for r in range(m.rowCount())
            if (found := m.transfer(r)) and found[1].get("path") == path and found[1].get("remote") == remote]
    active = [r for r in rows if m.transfer(r)[1].get("state") in ("running", "queued")]
    if active:
        return active[-1]
    return max(rows, key=lambda r: m.transfer(r)[1].get("queued_at") or 0) if rows else None


def cell(win, row: int, column: str) -> str:
    return win.model.index(row, TransfersModel.COLUMNS.index(column)).data() or ""


def engine_transfer(daemon, tid: str) -> dict:
    return next((t for t in daemon.transfers.snapshot() if t["id"] == tid), {})


def in_remote(repo, path: str, remote: str = "b") -> bool:
    r = subprocess.run(["git", "annex", "find", f"--in={remote}", "--", path], cwd=repo,
                       capture_output=True, text=True)
    return r.stdout.strip() == path


def test_transfers_window_shows_real_transfers_and_controls_them(qtbot, sync_app, linked_pair):
    a, b = linked_pair
    app = sync_app(a)
    daemon = app.handles[str(a.resolve())].worker.daemon
    win = app.show_transfers()
    assert win.stack.currentWidget() is win.empty
    # a slow upload: 300 kB/s for 24 MiB
    win.upload_limit.edit.setText("300 kB/s")
    win.upload_limit.edit.editingFinished.emit()
    qtbot.waitUntil(lambda: daemon.transfers.limits_dict()["upload"] == 300_000, timeout=TIMEOUT_MS)
    with open(a / "video.bin", "wb") as f:
        f.write(os.urandom(24 * MiB))

    # (60 s: a loaded machine may start git-annex slowly)
    qtbot.waitUntil(lambda: (r := row_of(win, "video.bin")) is not None and cell(win, r, "progress") != "Waiting"
                    and 0 < (win.model.index(r, 3).data(PROGRESS_ROLE) or 0) < 1, timeout=60000)
    qtbot.waitUntil(lambda: win.stack.currentWidget() is win.table, timeout=TIMEOUT_MS)
    r = row_of(win, "video.bin")
    assert cell(win, r, "file") == "video.bin"
    assert cell(win, r, "direction") == "↑ Upload" and cell(win, r, "remote") == "b"
    assert " of 25.2 MB" in cell(win, r, "progress")
    # after a few reports: a speed in line with the limit and a time left
    qtbot.waitUntil(lambda: cell(win, row_of(win, "video.bin"), "speed") != "", timeout=60000)
    t = win.model.transfer(row_of(win, "video.bin"))[1]
    assert t["speed"] < 3_000_000, t["speed"]
    assert cell(win, row_of(win, "video.bin"), "eta")
    qtbot.waitUntil(lambda: "running" in win.summary.text() and "left" in win.summary.text(), timeout=TIMEOUT_MS)

    # cancel from the window: the engine cancels it
    tid = win.model.transfer(row_of(win, "video.bin"))[1]["id"]
    win.table.selectRow(row_of(win, "video.bin"))
    assert win.cancel_button.isEnabled() and not win.retry_button.isEnabled()
    qtbot.mouseClick(win.cancel_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: engine_transfer(daemon, tid).get("state") == "cancelled", timeout=TIMEOUT_MS)
    qtbot.waitUntil(lambda: cell(win, row_of(win, "video.bin"), "progress") == "Cancelled", timeout=TIMEOUT_MS)
    assert not in_remote(a, "video.bin")

    # retry with no limit: it runs again and completes; the content is in the other clone
    win.table.selectRow(row_of(win, "video.bin"))
    qtbot.waitUntil(win.retry_button.isEnabled, timeout=TIMEOUT_MS)
    win.upload_limit.edit.setText("")
    win.upload_limit.edit.editingFinished.emit()
    qtbot.waitUntil(lambda: daemon.transfers.limits_dict()["upload"] == 0, timeout=TIMEOUT_MS)
    qtbot.mouseClick(win.retry_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: cell(win, row_of(win, "video.bin"), "progress") == "Done", timeout=60000)
    assert in_remote(a, "video.bin")
    assert app.saved_limits() == {"upload": 0}
    assert git(b, "rev-parse", "HEAD")  # B is a real clone that got the content


def test_limit_changed_in_the_window_reaches_the_engine_and_shows_engine_changes(qtbot, sync_app, linked_pair):
    a, b = linked_pair
    app = sync_app(a)
    daemon = app.handles[str(a.resolve())].worker.daemon
    win = app.show_transfers()
    win.download_limit.edit.setText("1.5 MB/s")
    win.download_limit.edit.editingFinished.emit()
    qtbot.waitUntil(lambda: daemon.transfers.limits_dict()["download"] == 1_500_000, timeout=TIMEOUT_MS)
    win.download_limit.edit.setText("-1")
    win.download_limit.edit.editingFinished.emit()
    assert win.download_limit.error.isVisibleTo(win) and "negative" in win.download_limit.error.text()
    assert daemon.transfers.limits_dict()["download"] == 1_500_000
    # a change made elsewhere (the CLI's `syncassistant limit`) shows up here through the engine's event
    app.handles[str(a.resolve())].submit(lambda d: d.transfers.set_limit(upload=750_000))
    qtbot.waitUntil(lambda: win.upload_limit.edit.text() == "750 kB/s", timeout=TIMEOUT_MS)


def test_a_transfer_that_moved_nothing_says_so(qapp):
    text = TransfersModel.progress_text
    assert text({"state": "done", "direction": "download", "size": 9, "bytes_done": 9}) == "Done"
    assert text({"state": "done", "direction": "download", "skipped": True}) == "Already here"
    assert text({"state": "done", "direction": "upload", "skipped": True}) == "Already there"
    # a download routing holds back: the tree parent is to bring it
    assert text({"state": "queued", "direction": "download", "deferred": True}) == "Another device brings it"
    assert text({"state": "queued", "direction": "download"}) == "Waiting"
