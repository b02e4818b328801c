"""A remote on a local path whose repository goes away (a drive unplugged, a folder moved).

Nothing of ours may write at the remote's path unless it holds the repository with the remote's
annex UUID: git-annex processes started while it was there keep its old layout, and at an empty
folder where a bare repository was they create `annex/` again and store content in it (measured:
see engine/network/remotepaths.py). Processes bound to a remote that vanished end at once; its transfers
wait, and go when the repository is back.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import threading
import time
from pathlib import Path

import pytest
from conftest import annex, git, wait_for


def uuid_of(repo: Path) -> str:
    return git(repo, "config", "annex.uuid").strip()


def make_remote(tmp: Path, a: Path, path: Path, bare: bool, name: str = "b") -> str:
    """A clone of `a` at `path` (bare or not), remote `name` of `a` with its uuid recorded."""
    git(tmp, "clone", "-q", *(["--bare"] if bare else []), str(a), str(path))
    if not bare:
        git(path, "remote", "remove", "origin")
    annex(path, "init", name.upper())
    git(a, "remote", "add", name, str(path))
    uuid = uuid_of(path)
    git(a, "config", f"remote.{name}.annex-uuid", uuid)
    return uuid


def has_content(repo: Path, a: Path, rel: str) -> bool:
    key = annex(a, "lookupkey", rel, check=False).strip()
    if not key or not repo.exists():
        return False
    r = subprocess.run(["git", "annex", "contentlocation", key], cwd=repo, capture_output=True, text=True)
    return r.returncode == 0 and bool(r.stdout.strip())


def bound_to(remote: str, path: Path) -> list[str]:
    """Our child processes bound to `remote`: a transfer process for it, or one running there."""
    me = str(os.getpid())
    found = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            if fields[1] != me or fields[0] == "Z":
                continue
            argv = Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace").split("\0")
            cwd = os.readlink(f"/proc/{pid}/cwd")
        except (OSError, IndexError):
            continue
        pairs = set(zip(argv, argv[1:], strict=False))
        if ({("--to", remote), ("--from", remote)} & pairs or cwd.startswith(str(path))
                or any(str(path) in a for a in argv)):
            found.append(f"{pid}: {' '.join(argv)} (in {cwd})")
    return found


def listing(path: Path) -> list[str] | None:
    """What is at `path`: None when nothing, else the names below it."""
    if not os.path.lexists(path):
        return None
    return sorted(str(p.relative_to(path)) for p in path.rglob("*"))


def transfer_of(d, rel: str, remote: str) -> dict | None:
    for t in d.transfers.snapshot():
        if t["path"] == rel and t["remote"] == remote:
            return t
    return None


def new_file_while_away(a: Path, da, rel: str) -> None:
    """A new file in A while B is away: committed, pushed and uploaded as far as A can, until A
    is idle. An upload to B may be queued (it waits: no failure) or, with B known to be down,
    routed around (a scan brings it when B is back)."""
    (a / rel).write_bytes(os.urandom(1000))
    wait_for(lambda: rel in git(a, "ls-files"), 30, f"{rel} committed")
    wait_for(da.is_idle, 30, lambda: f"A to be idle: {da.busy_reasons()}")
    t = transfer_of(da, rel, "b")
    assert t is None or t["state"] == "queued", t


# ---- the check itself ------------------------------------------------------------------------


def test_remote_path_problem_reads_each_layout(make_repo, tmp_path: Path):
    from syncassistant.engine.network.remotepaths import remote_path_problem

    a = make_repo("A")
    nonbare, bare = tmp_path / "N", tmp_path / "S.git"
    u_n = make_remote(tmp_path, a, nonbare, bare=False, name="n")
    u_s = make_remote(tmp_path, a, bare, bare=True, name="s")
    linked = tmp_path / "L"  # a work tree whose .git is a file pointing elsewhere
    git(tmp_path, "clone", "-q", "--separate-git-dir", str(tmp_path / "L-git"), str(a), str(linked))
    annex(linked, "init", "L")
    u_l = uuid_of(linked)
    assert remote_path_problem(nonbare, u_n) is None
    assert remote_path_problem(nonbare / ".git", u_n) is None  # a URL naming the .git directory
    assert remote_path_problem(bare, u_s) is None
    assert remote_path_problem(linked, u_l) is None
    assert remote_path_problem(nonbare, None) is None  # uuid not known yet: any repository
    assert "another repository" in (remote_path_problem(nonbare, u_s) or "")
    assert "no repository" in (remote_path_problem(tmp_path / "missing", u_n) or "")
    (tmp_path / "empty").mkdir()
    assert "no repository" in (remote_path_problem(tmp_path / "empty", None) or "")
    # a plain git repository (no git-annex yet) is fine while the uuid is not known
    git(tmp_path, "init", "-q", "--bare", str(tmp_path / "plain.git"))
    assert remote_path_problem(tmp_path / "plain.git", None) is None
    assert remote_path_problem(tmp_path / "plain.git", u_s) is not None


def test_remote_paths_reports_going_and_coming_back_without_polling(make_repo, tmp_path: Path):
    """The watcher notices a rename away and back, and a repository replaced by another, by inotify."""
    from syncassistant.engine.network.remotepaths import RemotePaths

    a = make_repo("A")
    b = tmp_path / "B"
    make_remote(tmp_path, a, b, bare=True)
    seen: list[tuple[str, bool]] = []
    paths = RemotePaths(a, a / ".git")
    paths.subscribe(lambda remote, problem: seen.append((remote, problem is None)))
    paths.start()
    try:
        assert paths.problem("b") is None and paths.problem("not-a-remote") is None
        os.rename(b, tmp_path / "B.gone")
        wait_for(lambda: ("b", False) in seen, 5, "the vanished path to be reported")
        b.mkdir()  # the empty folder a drive leaves behind
        time.sleep(0.2)
        assert seen == [("b", False)]
        b.rmdir()
        os.rename(tmp_path / "B.gone", b)
        wait_for(lambda: seen[-1:] == [("b", True)], 5, "the repository's return to be reported")
        # another repository at the path is not the remote
        shutil.rmtree(b)
        wait_for(lambda: seen[-1:] == [("b", False)], 5, "the removal to be reported")
        gone_at = len(seen)
        git(tmp_path, "clone", "-q", "--bare", str(a), str(b))
        annex(b, "init", "other")
        time.sleep(0.2)
        assert seen[gone_at:] == [], "another repository at the path was taken for the remote"
        assert "another repository" in (paths.problem("b") or "")
        # idle means idle: the watcher thread sleeps in poll() (no CPU spent while nothing moves)
        thread = next(t for t in threading.enumerate() if t.name.startswith("syncassistant-remotepaths"))
        assert thread.is_alive()
        stat = Path(f"/proc/self/task/{thread.native_id}/stat").read_text().rsplit(")", 1)[1].split()
        before = int(stat[11]) + int(stat[12])
        time.sleep(1.0)
        stat = Path(f"/proc/self/task/{thread.native_id}/stat").read_text().rsplit(")", 1)[1].split()
        assert int(stat[11]) + int(stat[12]) - before <= 1  # clock ticks (1/100 s)
    finally:
        paths.stop()


# ---- a daemon syncing to a remote whose path vanishes -----------------------------------------


@pytest.mark.parametrize("layout", ["bare", "non-bare"])
@pytest.mark.parametrize("left", ["nothing", "an empty folder"])
def test_vanished_remote_path_gets_nothing_and_syncing_resumes(layout, left, make_repo, daemons,
                                                               tmp_path: Path):
    a = make_repo("A")
    b = tmp_path / "B"
    make_remote(tmp_path, a, b, bare=layout == "bare")
    da = daemons(a)
    (a / "one.bin").write_bytes(os.urandom(1000))
    wait_for(lambda: has_content(b, a, "one.bin"), 60, "one.bin's content in B")
    # A idle, with a process kept ready for the next upload to B: the drive pulled out while
    # nothing moves (a process in the middle of a transfer may still write in the moment
    # before it is ended: see engine/network/remotepaths.py)
    wait_for(da.is_idle, 30, lambda: f"A to be idle: {da.busy_reasons()}")
    wait_for(lambda: bound_to("b", b), 30, "a transfer process for b")

    away = tmp_path / "B.away"
    os.rename(b, away)
    if left == "an empty folder":
        b.mkdir()  # what an unplugged drive leaves: its mount point
    wait_for(lambda: not bound_to("b", b), 5, lambda: f"b's processes to end: {bound_to('b', b)}")

    new_file_while_away(a, da, "two.bin")
    assert listing(b) == (None if left == "nothing" else []), "something was written at B's path"
    assert not bound_to("b", b)
    assert "b" in da.status()["held"]["offline"]

    if left == "an empty folder":
        b.rmdir()
    os.rename(away, b)  # the repository is back: no `sync` needed
    wait_for(lambda: has_content(b, a, "two.bin"), 30, "two.bin's content in B after it came back")
    assert has_content(b, a, "one.bin")


def test_another_repository_at_the_path_is_left_alone(make_repo, daemons, tmp_path: Path):
    """A drive mounted where another was: nothing is pushed to or stored in the stranger."""
    a = make_repo("A")
    b = tmp_path / "B"
    make_remote(tmp_path, a, b, bare=True)
    da = daemons(a)
    (a / "one.bin").write_bytes(os.urandom(1000))
    wait_for(lambda: has_content(b, a, "one.bin"), 60, "one.bin's content in B")
    wait_for(da.is_idle, 30, lambda: f"A to be idle: {da.busy_reasons()}")
    os.rename(b, tmp_path / "B.away")
    wait_for(lambda: not bound_to("b", b), 5, lambda: f"b's processes to end: {bound_to('b', b)}")
    other = tmp_path / "other"
    other.mkdir()
    git(other, "init", "-q")
    annex(other, "init", "stranger")
    git(other, "commit", "-q", "--allow-empty", "-m", "stranger's")
    git(tmp_path, "clone", "-q", "--bare", str(other), str(b))
    annex(b, "init", "stranger's drive")
    before = listing(b)
    new_file_while_away(a, da, "two.bin")

    def push_error() -> str:
        return next(r["error"] or "" for r in da.pusher.snapshot() if r["name"] == "b")

    # (the push failing while the path was empty retries after its back-off, and is refused)
    wait_for(lambda: "another repository" in push_error(), 30, lambda: f"the push refused: {push_error()}")
    assert listing(b) == before, "we wrote into another repository"
    assert git(b, "for-each-ref", "refs/heads/synced").strip() == ""


# ---- a real drive: a file system mounted and unmounted -----------------------------------------


def _mount_reason() -> str | None:
    if os.geteuid() != 0:
        return "needs root to mount"
    if not Path("/dev/loop-control").exists():
        return "no loop devices"
    if not shutil.which("mkfs.ext4"):
        return "mkfs.ext4 missing"
    return None


def test_unplugged_drive_mount_point_stays_empty(make_repo, daemons, tmp_path: Path):
    """A bare clone on an ext4 drive; the drive goes (lazy unmount, as when it is pulled out): its
    empty mount point gets nothing, the transfer process ends; plugged in again, syncing resumes."""
    reason = _mount_reason()
    if reason:
        pytest.skip(reason)
    a = make_repo("A")
    (a / "one.bin").write_bytes(os.urandom(1000))
    git(a, "annex", "add", "one.bin")
    git(a, "commit", "-q", "-m", "one")
    content = tmp_path / "drive-content"
    content.mkdir()
    git(content, "clone", "-q", "--bare", str(a), "B.git")
    annex(content / "B.git", "init", "stick")
    git(content / "B.git", "config", "annex.diskreserve", "1MB")  # (a small drive; the default keeps 100 MB)
    image = tmp_path / "stick.img"
    subprocess.run(["truncate", "-s", "64M", str(image)], check=True)
    subprocess.run(["mkfs.ext4", "-q", "-F", "-L", "stick", "-d", str(content), str(image)], check=True)
    stick = tmp_path / "media" / "stick"
    stick.mkdir(parents=True)
    b = stick / "B.git"
    git(a, "remote", "add", "b", str(b))
    git(a, "config", "remote.b.annex-uuid", uuid_of(content / "B.git"))

    def plug() -> None:
        subprocess.run(["mount", "-o", "loop", str(image), str(stick)], check=True, timeout=60)

    def attached() -> str:
        return subprocess.run(["losetup", "-j", str(image)], capture_output=True, text=True).stdout.strip()

    plug()
    try:
        da = daemons(a)
        wait_for(lambda: has_content(b, a, "one.bin"), 60, "one.bin's content on the drive")
        wait_for(da.is_idle, 30, lambda: f"A to be idle: {da.busy_reasons()}")
        wait_for(lambda: bound_to("b", b), 30, "a transfer process for b")
        subprocess.run(["umount", "-l", str(stick)], check=True, timeout=60)
        wait_for(lambda: not bound_to("b", b), 5, lambda: f"b's processes to end: {bound_to('b', b)}")
        new_file_while_away(a, da, "two.bin")
        assert listing(stick) == [], "something was written into the empty mount point"
        # the old mount is gone for good (its last user ended) before the drive comes back
        wait_for(lambda: not attached(), 30, lambda: f"the loop device to be released: {attached()}")
        plug()
        wait_for(lambda: has_content(b, a, "two.bin"), 30, "two.bin's content on the drive after plugging in")
    finally:
        subprocess.run(["umount", "-l", str(stick)], capture_output=True)
