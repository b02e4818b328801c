"""The tray runs the whole engine: drives plugged in, the network, ssh change notices.

What a new user meets, through the real tray (SyncApp, offscreen, its defaults): a clone on a
drive mounted at /media/BACKUP is plugged in while the tray runs; the tray syncs it both ways
and a Notify call on the session bus names the drive; while the drive is away it is offline,
quietly (no "Can't reach"). Notify calls go to a recorder on a private session bus.

The drive tests run in a private mount namespace (`unshare -m`: this module runs itself again
there, see test_in_a_mount_namespace), where they mount a tmpfs on /media (the host's /media
is never touched) and a tmpfs "drive" at /media/BACKUP. Unplugging moves that mount out of
/media (`mount --move`) and plugging in moves it back, so its content survives, as a real
drive's does (an unmounted tmpfs is gone). The tray finds drives through /proc/self/mountinfo
where no UDisks2 is on the (private) system bus, or through the UDisks2 stand-in there.
"""
# Fixtures are imported from dbus_fixtures and requested by name, which pyflakes reads as
# redefinitions: hence the file-wide F811 exemption.
# ruff: noqa: F811

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from conftest import annex, assert_idle_cpu, assert_no_children, git
from dbus_fixtures import (  # noqa: F401  (fixtures)
    ServiceProcess,
    bus_factory,
    no_thread_leaks,
    processes,
    service_factory,
    session_bus,
    system_bus,
    wait_until,
)

from syncassistant.engine import control
from syncassistant.engine.devices.drives import create_drive_clone
from syncassistant.engine.devices.notify import Notifier
from syncassistant.engine.network.remotepaths import RemotePaths
from syncassistant.engine.sync import pusher as pusher_mod
from syncassistant.ui.app import SyncApp
from syncassistant.ui.config import AppConfig
from syncassistant.ui.workers import wait_background

pytestmark = pytest.mark.usefixtures("no_thread_leaks")

IN_NAMESPACE = "SYNCASSISTANT_TEST_MOUNT_NAMESPACE"  # set in the copy of pytest run by unshare
in_namespace = pytest.mark.skipif(not os.environ.get(IN_NAMESPACE),
                                  reason="runs in a mount namespace, started by test_in_a_mount_namespace")
HERE = Path(__file__).resolve().parent
TIMEOUT_MS = 60000  # a deadline: a passing test goes on as soon as its condition holds
MOUNT_POINT = Path("/media/BACKUP")
DISCONNECTED, CONNECTED_GLOBAL = 20, 70
CONN_NONE, CONN_FULL = 1, 4
METERED_YES, METERED_NO = 1, 2


# ---- helpers ---------------------------------------------------------------------------------


def namespace_problem() -> str | None:
    if os.geteuid() != 0:
        return "needs root to mount"
    try:
        probe = subprocess.run(["unshare", "-m", "--propagation", "private", "true"],
                               capture_output=True, text=True, timeout=10)
    except FileNotFoundError:
        return "unshare missing (util-linux)"
    if probe.returncode:
        return f"cannot create a mount namespace: {probe.stderr.strip()}"
    return None


def run(*cmd: str) -> None:
    subprocess.run(cmd, check=True, capture_output=True, text=True, timeout=60)


class Drive:
    """A tmpfs "drive" at /media/BACKUP (in this process's own mount namespace only)."""

    def __init__(self, tmp: Path) -> None:
        assert os.environ.get(IN_NAMESPACE), "mounts only inside the test's own mount namespace"
        run("mount", "-t", "tmpfs", "-o", "size=4m,mode=0755", "satest-media", "/media")
        MOUNT_POINT.mkdir()
        run("mount", "-t", "tmpfs", "-o", "size=1g", "satest-backup", str(MOUNT_POINT))
        self.away = tmp / "drive-away"  # where the drive's mount waits while unplugged
        self.away.mkdir()
        self.plugged = True

    def unplug(self) -> None:
        run("mount", "--move", str(MOUNT_POINT), str(self.away))
        self.plugged = False

    def plug(self) -> None:
        run("mount", "--move", str(self.away), str(MOUNT_POINT))
        self.plugged = True

    def close(self) -> None:
        run("umount", "--lazy", str(MOUNT_POINT if self.plugged else self.away))
        run("umount", "--lazy", "/media")


def has_file(repo: Path, rel: str, data: bytes) -> bool:
    """The file is in the repository's work tree with its content, and git-annex there has it."""
    try:
        if (repo / rel).read_bytes() != data:
            return False
    except OSError:
        return False
    return annex(repo, "find", "--in=here", "--", rel, check=False).strip() == rel


def notices(recorder: ServiceProcess) -> list[tuple[str, str]]:
    return [(ev["summary"], ev["body"]) for ev in recorder.poll("notify")]


def cant_reach(recorder: ServiceProcess) -> list[tuple[str, str]]:
    return [n for n in notices(recorder) if n[0].startswith("Can't reach")]


def remote_status(app: SyncApp, repo: Path, name: str) -> dict:
    view = app.state.views[str(repo.resolve())]
    return next((r for r in (view.status or {}).get("remotes") or [] if r["name"] == name), {})


@pytest.fixture
def tray(qtbot, tmp_path: Path) -> Iterator[Callable[..., SyncApp]]:
    """Factory: the tray app on the given repositories, notifying through the desktop's
    org.freedesktop.Notifications (the session bus of the test); stopped at teardown."""
    apps: list[SyncApp] = []

    def make(*repos: Path) -> SyncApp:
        config = AppConfig(tmp_path / f"config{len(apps)}")
        for r in repos:
            config.add_repository(r)
        app = SyncApp(config, notifier=Notifier("SyncAssistant"))
        apps.append(app)
        app.start()
        qtbot.waitUntil(lambda: all(v.status is not None for v in app.state.ordered()), timeout=TIMEOUT_MS)
        return app

    yield make
    for app in apps:
        app.shutdown()
    wait_background()
    assert_no_children()


# ---- the drive tests, each in a mount namespace of its own -----------------------------------


@pytest.mark.timeout(900)
@pytest.mark.parametrize("test", ["test_drive_plugged_in_mountinfo", "test_drive_plugged_in_udisks",
                                  "test_headless_daemon_notifies_too"])
def test_in_a_mount_namespace(test: str):
    """Run a drive test in a copy of pytest in a private mount namespace (its mounts, at
    /media, are seen nowhere else and go when it ends)."""
    problem = namespace_problem()
    if problem:
        pytest.skip(problem)
    # a short base: the private buses' sockets live there (a unix socket path has 108 bytes)
    base = Path(tempfile.mkdtemp(prefix="sa-ns-"))
    cmd = ["unshare", "-m", "--propagation", "private", sys.executable, "-m", "pytest", "-q", "-s",
           "-p", "no:cacheprovider", f"--basetemp={base}", f"{HERE / Path(__file__).name}::{test}"]
    try:
        res = subprocess.run(cmd, env={**os.environ, IN_NAMESPACE: "1"}, cwd=HERE.parent, capture_output=True,
                             text=True, timeout=840)
    finally:
        shutil.rmtree(base, ignore_errors=True)
    print(res.stdout[-6000:], res.stderr[-3000:])
    assert res.returncode == 0 and " passed" in res.stdout, f"{test} failed:\n{res.stdout[-12000:]}\n{res.stderr[-3000:]}"


def drive_round(qtbot, app: SyncApp, a: Path, drive: Drive, recorder: ServiceProcess,
                plug: Callable[[], None], unplug: Callable[[], None]) -> dict[str, float]:
    """While the tray runs: the drive is away (offline, quietly); files wait on both sides;
    plugged in, both reach the other side and the notices name the drive."""
    clone = drive.away / "A"
    (a / "from-folder.txt").write_bytes(b"written in the folder while the drive was away\n")
    qtbot.waitUntil(lambda: "from-folder.txt" in git(a, "ls-files"), timeout=TIMEOUT_MS)
    # the drive was used elsewhere meanwhile: a file committed there
    (clone / "from-drive.txt").write_bytes(b"written on the drive\n")
    annex(clone, "add", "from-drive.txt")
    git(clone, "commit", "-q", "-m", "from the drive")
    # with retries every 0.3 s doubling, a drive counted as failing makes 3 attempts in 1 s
    qtbot.wait(3000)
    assert cant_reach(recorder) == [], "a drive that is away is offline, quietly"
    assert remote_status(app, a, "BACKUP").get("offline") is True, remote_status(app, a, "BACKUP")

    t0 = time.monotonic()
    plug()
    clone = MOUNT_POINT / "A"
    qtbot.waitUntil(lambda: ("Drive BACKUP connected", "syncing 2 files") in notices(recorder)
                    or any(s == "Drive BACKUP connected" for s, _ in notices(recorder)), timeout=TIMEOUT_MS)
    connected = time.monotonic() - t0
    qtbot.waitUntil(lambda: has_file(clone, "from-folder.txt",
                                     b"written in the folder while the drive was away\n"), timeout=TIMEOUT_MS)
    to_drive = time.monotonic() - t0
    qtbot.waitUntil(lambda: has_file(a, "from-drive.txt", b"written on the drive\n"), timeout=TIMEOUT_MS)
    to_folder = time.monotonic() - t0
    qtbot.waitUntil(lambda: ("BACKUP is up to date", "safe to remove") in notices(recorder),
                    timeout=2 * TIMEOUT_MS)
    safe = time.monotonic() - t0
    assert any(s == "Drive BACKUP connected" and "syncing" in b for s, b in notices(recorder)), notices(recorder)
    # idle means idle, also with a drive attached: nothing wakes by itself
    qtbot.waitUntil(lambda: app.state.summary.state == "idle", timeout=TIMEOUT_MS)
    idle_cpu = assert_idle_cpu(3, 0.2, what="the tray with a synced drive plugged in")

    # away again: offline, quietly, also while there is something new for it
    unplug()
    qtbot.waitUntil(lambda: remote_status(app, a, "BACKUP").get("offline") is True, timeout=TIMEOUT_MS)
    (a / "later.txt").write_bytes(b"later\n")
    qtbot.waitUntil(lambda: "later.txt" in git(a, "ls-files"), timeout=TIMEOUT_MS)
    qtbot.wait(3000)
    assert cant_reach(recorder) == []
    times = {"connected notice": connected, "folder file on the drive": to_drive,
             "drive file in the folder": to_folder, "safe to remove": safe}
    print("seconds after plug-in:", {k: round(v, 2) for k, v in times.items()}, "notices:", notices(recorder),
          f"idle CPU {idle_cpu:.3f} s in 3 s")
    return times


def make_drive_clone(make_repo, tmp_path: Path) -> tuple[Path, Drive]:
    """Folder A with a file, its clone on the drive (remote BACKUP); the drive unplugged."""
    a = make_repo("A")
    (a / "first.txt").write_bytes(b"first\n")
    annex(a, "add", "first.txt")
    git(a, "commit", "-q", "-m", "first")
    drive = Drive(tmp_path)
    assert create_drive_clone(a, MOUNT_POINT, "BACKUP") == "BACKUP"
    drive.unplug()
    return a, drive


@in_namespace
def test_drive_plugged_in_mountinfo(qtbot, tray, make_repo, session_bus, system_bus, service_factory,
                                    tmp_path: Path, monkeypatch):
    """No UDisks2 on the system bus: the tray follows /proc/self/mountinfo."""
    monkeypatch.setattr(pusher_mod, "BACKOFF_START", 0.3)
    recorder = service_factory("notifications", session_bus)
    a, drive = make_drive_clone(make_repo, tmp_path)
    try:
        app = tray(a)
        drive_round(qtbot, app, a, drive, recorder, drive.plug, drive.unplug)
        app.shutdown()  # (before the drive goes: nothing of ours may keep it busy)
    finally:
        drive.close()


@in_namespace
def test_drive_plugged_in_udisks(qtbot, tray, make_repo, session_bus, system_bus, service_factory,
                                 tmp_path: Path, monkeypatch):
    """UDisks2 (a stand-in) on the system bus reports the drive, as on a desktop."""
    monkeypatch.setattr(pusher_mod, "BACKOFF_START", 0.3)
    recorder = service_factory("notifications", session_bus)
    udisks = service_factory("udisks", system_bus)
    udisks.command("add", name="sdb1", label="BACKUP", mounts=[])
    a, drive = make_drive_clone(make_repo, tmp_path)

    def plug() -> None:
        drive.plug()
        udisks.command("mount", name="sdb1", path=str(MOUNT_POINT))

    def unplug() -> None:
        drive.unplug()  # (the path goes first, then udisksd tells)
        udisks.command("unmount", name="sdb1")

    try:
        app = tray(a)
        drive_round(qtbot, app, a, drive, recorder, plug, unplug)
        app.shutdown()
    finally:
        drive.close()


@in_namespace
def test_headless_daemon_notifies_too(make_repo, session_bus, system_bus, service_factory, processes,
                                      tmp_path: Path):
    """`syncassistant daemon` sends the same notices to the desktop where a session bus runs
    (it used to log them only)."""
    recorder = service_factory("notifications", session_bus)
    a, drive = make_drive_clone(make_repo, tmp_path)
    try:
        (a / "from-folder.txt").write_bytes(b"from the folder\n")
        daemon = processes.popen([str(Path(sys.executable).parent / "syncassistant"), "daemon", "--foreground",
                                  str(a)], log=tmp_path / "daemon.log")

        def idle() -> bool:
            try:
                return bool(control.request(a / ".git" / "syncassistant", {"cmd": "status"}, timeout=5)
                            ["status"]["idle"])
            except control.ControlError:
                return False

        wait_until(idle, 60, "the daemon to be up and idle")
        assert "from-folder.txt" in git(a, "ls-files")
        t0 = time.monotonic()
        drive.plug()
        connected = recorder.expect("notify", summary="Drive BACKUP connected", timeout=60)
        recorder.expect("notify", summary="BACKUP is up to date", timeout=120)
        print(f"headless: 'connected' notice {connected['body']!r}, up to date after "
              f"{time.monotonic() - t0:.2f} s")
        assert has_file(MOUNT_POINT / "A", "from-folder.txt", b"from the folder\n")
        assert connected["app_name"] == "SyncAssistant"
        daemon.terminate()
        assert daemon.wait(60) == 0, (tmp_path / "daemon.log").read_text()[-3000:]
    finally:
        drive.close()


# ---- the network, under the tray -------------------------------------------------------------


def test_tray_follows_the_network(qtbot, tray, make_repo, system_bus, service_factory, tmp_path: Path,
                                  monkeypatch):
    """Going online retries a failing remote at once; a metered connection holds content
    transfers over the network (with syncassistant.pause-on-metered)."""
    monkeypatch.setattr(pusher_mod, "BACKOFF_START", 30.0)
    nm = service_factory("networkmanager", system_bus, "--initial",
                         json.dumps({"State": DISCONNECTED, "Connectivity": CONN_NONE, "Metered": METERED_NO}))
    a = make_repo("A")
    git(a, "config", "syncassistant.pause-on-metered", "true")
    server = tmp_path / "server.git"  # not there yet: pushes fail (stands in for a server away)
    git(a, "remote", "add", "server", f"file://{server}")
    # crosses the network, never pushed to (annex-sync=false): only its transfers are held
    git(a, "remote", "add", "cloud", "ssh://server.invalid/srv/a")
    git(a, "config", "remote.cloud.annex-sync", "false")
    # The engine watches a local-path remote's folder and pushes as soon as its repository
    # appears (engine/network/remotepaths.py); this test is about the network, so that watcher does not
    # run (the check before each push does).
    monkeypatch.setattr(RemotePaths, "start", RemotePaths.check_all)
    app = tray(a)
    qtbot.waitUntil(lambda: (remote_status(app, a, "server").get("failures") or 0) >= 1, timeout=TIMEOUT_MS)
    next_retry = remote_status(app, a, "server")["next_retry"]
    assert next_retry - time.time() > 20
    subprocess.run(["git", "init", "-q", "--bare", str(server)], check=True)
    t0 = time.monotonic()
    nm.command("set", State=CONNECTED_GLOBAL, Connectivity=CONN_FULL)
    qtbot.waitUntil(lambda: remote_status(app, a, "server").get("last_sync") is not None, timeout=TIMEOUT_MS)
    print(f"online -> pushed in {time.monotonic() - t0:.2f} s (the back-off had {next_retry - time.time():.0f} s left)")
    assert time.time() < next_retry - 15

    view = app.state.views[str(a.resolve())]
    nm.command("set", Metered=METERED_YES)
    qtbot.waitUntil(lambda: (view.status or {}).get("held", {}).get("holds") == {"metered": ["cloud"]},
                    timeout=TIMEOUT_MS)
    nm.command("set", Metered=METERED_NO)
    qtbot.waitUntil(lambda: (view.status or {}).get("held", {}).get("holds") == {}, timeout=TIMEOUT_MS)


# ---- ssh change notices, under the tray ------------------------------------------------------


def test_tray_hears_of_changes_on_an_ssh_remote(qtbot, tray, ssh_env, make_repo, tmp_path: Path):
    """A change pushed to the ssh server by another clone reaches the tray's folder within
    seconds: the tray keeps a git-annex-shell notifychanges connection, it does not poll."""
    a = make_repo("A")
    server = tmp_path / "server.git"
    git(tmp_path, "clone", "-q", "--bare", str(a), str(server))
    annex(server, "init", "server")
    url = f"ssh://127.0.0.1:{ssh_env['port']}{server}"
    git(a, "remote", "add", "server", url)
    b = make_repo("B", clone_of=a)
    app = tray(a)
    qtbot.waitUntil(lambda: remote_status(app, a, "server").get("last_sync") is not None, timeout=TIMEOUT_MS)
    qtbot.wait(2000)  # the notifychanges connection is up (READY) well before this
    (b / "from-b.txt").write_text("from B\n")
    git(b, "add", "from-b.txt")
    git(b, "commit", "-q", "-m", "from B")
    git(b, "push", "-q", url, "master:refs/heads/synced/master")
    t0 = time.monotonic()
    qtbot.waitUntil(lambda: (a / "from-b.txt").exists(), timeout=15000)
    print(f"B's push on the server -> in A's folder: {time.monotonic() - t0:.2f} s")
