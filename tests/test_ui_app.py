"""The tray app as a whole: real daemons on real repositories, one instance, config, memory.

Also the home of the UI tests' shared fixtures (`sync_app`, `linked_pair`), imported by the other
test_ui_*.py modules.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from conftest import assert_no_children, git, link, wait_for

from syncassistant.engine import control
from syncassistant.ui.app import SingleInstance, SyncApp
from syncassistant.ui.config import AppConfig, autostart_file, set_start_at_login, start_at_login_enabled
from syncassistant.ui.state import AppState
from syncassistant.ui.workers import wait_background

# A deadline, not a wait: passing tests end as soon as the condition holds. Generous, because
# the CI machine is shared and a loaded one has taken well over 10 s for a sync round.
TIMEOUT_MS = 60000


class FakeNotifier:
    """Stands in for the D-Bus notifier: records instead of talking to a session bus."""

    def __init__(self, works: bool = True):
        self.works = works
        self.sent: list[tuple[str, str]] = []

    def notify(self, summary: str, body: str, icon: str = "", urgency: int = 1, timeout_ms: int = -1) -> bool:
        self.sent.append((summary, body))
        return self.works

    def close(self) -> None:
        pass


@pytest.fixture
def sync_app(qtbot, tmp_path: Path, daemons) -> Iterator[Callable[..., SyncApp]]:
    """Factory: a SyncApp on the given repositories (config in tmp), stopped at teardown.

    Daemons a test started beside the app are stopped too before looking for processes left
    behind: a running daemon keeps git-annex processes ready (engine/proc/annex_batch.py)."""
    apps: list[SyncApp] = []

    def make(*repos: Path, wait: bool = True) -> SyncApp:
        config = AppConfig(tmp_path / f"config{len(apps)}")
        for r in repos:
            config.add_repository(r)
        app = SyncApp(config, notifier=FakeNotifier())  # type: ignore[arg-type]
        apps.append(app)
        app.start()
        if wait:
            qtbot.waitUntil(lambda: all(v.status is not None for v in app.state.ordered()), timeout=TIMEOUT_MS)
        return app

    yield make
    for app in apps:
        app.shutdown()
        for w in app.windows.values():
            w.deleteLater()
    for d in reversed(daemons.started):
        if d._started:
            d.stop()
    wait_background()
    assert_no_children()


@pytest.fixture
def linked_pair(make_repo) -> tuple[Path, Path]:
    """Two clones A and B, each the other's remote (no origin)."""
    a = make_repo("A")
    b = make_repo("B", clone_of=a)
    git(b, "remote", "remove", "origin")
    link(a, b, "b", "a")
    return a, b


def test_app_shows_the_state_of_real_daemons(qtbot, sync_app, linked_pair):
    a, b = linked_pair
    app = sync_app(a, b)
    views = app.state.ordered()
    assert [v.name for v in views] == ["A", "B"]
    assert all(v.running and v.status["state"] == "running" for v in views)
    (a / "hello.txt").write_text("hello")
    qtbot.waitUntil(lambda: (b / "hello.txt").exists(), timeout=TIMEOUT_MS)
    qtbot.waitUntil(lambda: app.state.summary.state == "idle" and all(
        r["last_sync"] for v in app.state.ordered() for r in v.status["remotes"]), timeout=TIMEOUT_MS)
    app.tray.refresh()
    lines = [act.text() for act in app.tray._status_actions.values()]
    assert lines[0].startswith("A: Up to date") and "synced" in lines[0]
    assert app.tray.icon.toolTip() == "SyncAssistant: Everything is up to date"


def test_a_folder_that_cannot_start_says_why(qtbot, sync_app, tmp_path, monkeypatch):
    plain = tmp_path / "plain"
    plain.mkdir()
    # AppState belongs to the GUI thread: the workers' reports must reach it there (a lambda
    # connected to a worker's signal ran in the worker's thread)
    threads = []
    set_running = AppState.set_running
    monkeypatch.setattr(AppState, "set_running", lambda self, *a, **k: (
        threads.append(threading.current_thread() is threading.main_thread()), set_running(self, *a, **k)))
    app = sync_app(plain, wait=False)
    view = app.state.views[str(plain.resolve())]
    qtbot.waitUntil(lambda: view.problem is not None, timeout=TIMEOUT_MS)
    assert "not a git repository" in view.problem
    assert app.state.summary.state == "error"
    assert threads and all(threads)
    app.tray.refresh()
    assert "Not syncing" in next(iter(app.tray._status_actions.values())).text()


def test_single_instance_brings_the_first_forward(qtbot, tmp_path):
    first = SingleInstance(tmp_path)
    assert first.claim()
    try:
        with qtbot.waitSignal(first.activated, timeout=5000) as sig:
            assert SingleInstance(tmp_path).claim(["--minimized"]) is False
        assert sig.args == [["--minimized"]]
    finally:
        first.release()
    again = SingleInstance(tmp_path)  # the lock is free again once the first is gone
    assert again.claim()
    again.release()


def test_repositories_and_settings_are_kept_in_xdg_config(tmp_path):
    cfg = AppConfig()
    assert cfg.repos_file == Path(os.environ["XDG_CONFIG_HOME"]) / "syncassistant" / "repos.json"
    assert cfg.add_repository(tmp_path / "x") and not cfg.add_repository(tmp_path / "x")
    cfg.set("notifications", False)
    again = AppConfig()
    assert again.repositories == [str(tmp_path / "x")] and again.notifications is False
    assert again.remove_repository(tmp_path / "x") and AppConfig().repositories == []


def test_start_at_login_writes_and_removes_the_autostart_entry():
    assert not start_at_login_enabled()
    path = set_start_at_login(True)
    assert path == autostart_file() == Path(os.environ["XDG_CONFIG_HOME"]) / "autostart" / (
        "io.github.syncassistant.SyncAssistant.desktop")
    text = path.read_text()
    assert "[Desktop Entry]" in text and "tray --minimized" in text
    assert start_at_login_enabled()
    set_start_at_login(False)
    assert not path.exists() and not start_at_login_enabled()


def _rss_kib(pid: int) -> int:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise AssertionError("no VmRSS")


@pytest.mark.slow
def test_tray_process_one_instance_clean_exit_and_memory(linked_pair, tmp_path):
    """The real entry point in a process: a second start hands over; RSS with one idle repository."""
    a, _b = linked_pair
    AppConfig().add_repository(a)
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "XDG_RUNTIME_DIR": str(tmp_path / "run")}
    (tmp_path / "run").mkdir(mode=0o700)
    cmd = [sys.executable, "-c", "import sys; from syncassistant.ui.main import main; sys.exit(main())"]
    log = open(tmp_path / "tray.log", "w+")
    proc = subprocess.Popen([*cmd, "--minimized"], env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        wait_for(lambda: "tray ready" in (tmp_path / "tray.log").read_text(), 30, "the tray to start")
        state_dir = a / ".git" / "syncassistant"

        def idle() -> bool:
            try:
                return bool(control.request(state_dir, {"cmd": "status"}, timeout=5)["status"]["idle"])
            except control.ControlError:
                return False

        wait_for(idle, 30, "the tray's daemon to be up and idle")
        second = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=30)
        assert second.returncode == 0 and "already running" in second.stderr
        wait_for(idle, 30, "idle again after the second start")
        rss_mib = _rss_kib(proc.pid) / 1024
        print(f"tray RSS with one idle repository: {rss_mib:.1f} MiB")
        (tmp_path / "rss.txt").write_text(f"{rss_mib:.1f}\n")
        assert rss_mib < 150, f"tray uses {rss_mib:.1f} MiB"
    finally:
        proc.send_signal(signal.SIGTERM)
        rc = proc.wait(60)
        log.close()
    assert rc == 0, (tmp_path / "tray.log").read_text()
    assert "daemon stopped" in (tmp_path / "tray.log").read_text()


def test_every_control_in_every_window_has_an_accessible_name(qtbot, sync_app, linked_pair):
    from PySide6.QtWidgets import QAbstractButton, QAbstractItemView, QAbstractSpinBox, QComboBox, QLineEdit

    a, b = linked_pair
    app = sync_app(a)
    windows = [app.show_transfers(), app.show_conflicts(), app.show_settings()]
    kinds = (QAbstractButton, QLineEdit, QComboBox, QAbstractSpinBox, QAbstractItemView)
    missing = []
    for win in windows:
        for w in win.findChildren(kinds[0]) + [x for k in kinds[1:] for x in win.findChildren(k)]:
            if w.objectName().startswith("qt_") or type(w).__name__ == "QHeaderView":
                continue  # Qt's own parts (spin box editors, header sections)
            if not w.accessibleName():
                missing.append(f"{type(win).__name__}: {type(w).__name__} {getattr(w, 'text', lambda: '')()!r}")
    assert not missing, missing
