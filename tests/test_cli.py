"""The command line, run as a user runs it: real processes, real repositories."""

from __future__ import annotations

import json
import os
import shutil
import signal
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import git, in_tree, wait_for

from syncassistant.engine.network.urls import BadURL, parse_remote_url

SA = [sys.executable, "-m", "syncassistant.cli"]


def sa(*args: str, check: bool = True, timeout: float = 120) -> subprocess.CompletedProcess:
    r = subprocess.run([*SA, *args], capture_output=True, text=True, timeout=timeout)
    if check and r.returncode:
        raise AssertionError(f"syncassistant {' '.join(args)} -> {r.returncode}: {r.stderr}")
    return r


def test_help_on_every_command():
    for cmd in (["--help"], ["init", "--help"], ["remote", "add", "--help"], ["daemon", "--help"],
                ["status", "--help"], ["limit", "--help"], ["rule", "add", "--help"], ["sync", "--help"]):
        assert sa(*cmd).stdout.startswith("usage:")


def test_init_is_idempotent_and_adopts(tmp_path):
    p = tmp_path / "My Folder"
    sa("init", str(p), "--name", "laptop")
    uuid = git(p, "config", "annex.uuid")
    sa("init", str(p))
    assert git(p, "config", "annex.uuid") == uuid
    assert git(p, "config", "annex.addunlocked").strip() == "true"
    plain = tmp_path / "plain"
    git(tmp_path, "init", "-q", str(plain))
    r = sa("status", str(plain), check=False)
    assert r.returncode == 1 and "without git-annex" in r.stderr and "syncassistant init" in r.stderr
    sa("init", str(plain))
    assert git(plain, "config", "annex.uuid").strip()


def test_errors_are_one_line(tmp_path):
    r = sa("status", str(tmp_path / "nope"), check=False)
    assert r.returncode == 1 and r.stderr.count("\n") == 1 and "no such folder" in r.stderr
    r = sa("daemon", "--foreground", str(tmp_path), check=False)
    assert r.returncode == 1 and "not a git repository" in r.stderr


@pytest.mark.parametrize("url", ["ext::sh -c touch% /tmp/pwned", "fd::17", "foo::bar", "-oProxyCommand=x",
                                 "ssh://-oProxyCommand=x/p", "http://example.com/r", "ssh://host", "a\nb"])
def test_remote_add_refuses_dangerous_urls(tmp_path, url):
    p = tmp_path / "r"
    sa("init", str(p))
    r = sa("remote", "add", str(p), "x", url, check=False)
    assert r.returncode in (1, 2), r.stdout  # 2: argparse already refuses an option-like value
    assert "x" not in git(p, "remote").split()


def test_remote_add_local_and_refuses_bad_names(tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    sa("init", str(a))
    sa("init", str(b))
    sa("remote", "add", str(a), "bee", str(b), "--cost", "150")
    assert git(a, "config", "remote.bee.annex-cost").strip() == "150"
    for bad in ("-x", "a b", "../x", "x.lock"):
        assert sa("remote", "add", str(a), bad, str(b), check=False).returncode in (1, 2)
    r = sa("remote", "add", str(a), "gone", str(tmp_path / "missing"), check=False)
    assert r.returncode == 1 and "cannot reach" in r.stderr
    sa("remote", "add", str(a), "gone", str(tmp_path / "missing"), "--no-check")


def start_daemon(repo: Path, log_dir: Path | None = None) -> subprocess.Popen:
    """`syncassistant daemon --foreground`, its log (stderr) in a file (next to the repository by
    default): a pipe that nobody reads fills up and blocks the daemon's logging, and its stop."""
    log_path = (log_dir or repo.parent) / f"{repo.name}-daemon.log"
    log = open(log_path, "w")
    proc = subprocess.Popen([*SA, "daemon", "--foreground", str(repo)], stderr=log, text=True,
                            start_new_session=True)
    log.close()
    proc.log_path = log_path  # type: ignore[attr-defined]
    return proc


def stop_daemon(proc: subprocess.Popen) -> int:
    """SIGTERM, then the exit status; a daemon that does not stop in 60 s is killed (so it cannot
    outlive its test and fail the next ones) and the test fails with its last log lines."""
    proc.send_signal(signal.SIGTERM)
    try:
        return proc.wait(60)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        tail = proc.log_path.read_text(errors="replace")[-3000:]  # type: ignore[attr-defined]
        raise AssertionError(f"the daemon did not stop within 60 s of SIGTERM; its log ends:\n{tail}") from None


def test_daemon_lifecycle_status_pause_limit_and_clean_stop(tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    sa("init", str(a))
    git(tmp_path, "clone", "-q", str(a), str(b))
    sa("init", str(b))
    sa("remote", "add", str(a), "b", str(b))
    proc = start_daemon(a)
    try:
        sock = a / ".git/syncassistant/control.sock"
        wait_for(sock.exists, what="control socket")
        assert stat.S_IMODE(sock.stat().st_mode) == 0o600
        r = sa("daemon", str(a), check=False)
        assert r.returncode == 1 and "already running" in r.stderr
        st = json.loads(sa("status", "--json", str(a)).stdout)
        assert st["state"] == "running" and st["remotes"][0]["name"] == "b"
        sa("pause", str(a))
        assert json.loads(sa("status", "--json", str(a)).stdout)["state"] == "paused"
        sa("resume", str(a))
        out = sa("limit", str(a), "--upload", "500KiB/s").stdout
        assert "500.0 KiB/s" in out
        for bad in ("-3", "fast"):
            r = sa("limit", str(a), "--download", bad, check=False)
            assert r.returncode == 1 and "rate" in r.stderr
        (a / "x.txt").write_text("x")
        # (synced/master exists only once something is pushed: b already held A's first commit)
        wait_for(lambda: "x.txt" in git(b, "ls-tree", "-r", "--name-only", "synced/master", check=False),
                 what="push to b")
        sa("sync", str(a))
    finally:
        rc = stop_daemon(proc)
    assert rc == 0, proc.log_path.read_text()
    assert not (a / ".git/syncassistant/control.sock").exists()
    assert json.loads(sa("status", "--json", str(a)).stdout)["state"] == "not running"


def test_background_daemon_logs_to_git_dir(tmp_path):
    a = tmp_path / "a"
    sa("init", str(a))
    sa("daemon", str(a))
    try:
        wait_for(lambda: json.loads(sa("status", "--json", str(a)).stdout)["state"] == "running")
        log = a / ".git/syncassistant/daemon.log"
        wait_for(lambda: "daemon started" in log.read_text(), what="log line")
        pid = json.loads(sa("status", "--json", str(a)).stdout)["pid"]
    finally:
        pid = json.loads(sa("status", "--json", str(a)).stdout).get("pid")
        if pid:
            os.kill(pid, signal.SIGTERM)
    wait_for(lambda: json.loads(sa("status", "--json", str(a)).stdout)["state"] == "not running", 30)


def test_recovers_after_sigkill(tmp_path):
    a = tmp_path / "a"
    sa("init", str(a))
    proc = subprocess.Popen([*SA, "daemon", "--foreground", str(a)], stderr=subprocess.DEVNULL)
    wait_for((a / ".git/syncassistant/control.sock").exists)
    proc.kill()
    proc.wait()
    # what a kill mid-commit leaves: a stale index.lock and changes never committed
    (a / ".git/index.lock").write_text("")
    (a / "left behind.txt").write_text("uncommitted")
    proc = start_daemon(a)
    try:
        wait_for(lambda: "left behind.txt" in git(a, "ls-files"), what="uncommitted change committed")
        assert not (a / ".git/index.lock").exists()
    finally:
        assert stop_daemon(proc) == 0


def test_recovers_a_half_done_merge(tmp_path, make_repo, daemons):
    a = make_repo("A")
    b = make_repo("B", clone_of=a)
    for r, text in ((a, "from A"), (b, "from B")):
        (r / "c.txt").write_text(text)
        git(r, "annex", "add", "c.txt")
        git(r, "commit", "-qm", "c")
    git(b, "fetch", "-q", "origin")
    git(b, "merge", "origin/master", check=False)  # killed here: a conflicted merge in progress
    assert (b / ".git/MERGE_HEAD").exists()
    daemons(b)
    wait_for(lambda: not (b / ".git/MERGE_HEAD").exists(), what="merge finished")
    names = git(b, "ls-files").split()
    assert sum("c" in n for n in names) == 2, names
    assert in_tree(b, names[0])


def test_full_disk_is_reported_and_retried(tmp_path):
    if os.geteuid() != 0:
        pytest.skip("needs root to mount a small tmpfs")
    mnt = tmp_path / "small"
    mnt.mkdir()
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=3m", "tmpfs", str(mnt)]).returncode:
        pytest.skip("cannot mount tmpfs here")
    try:
        a = mnt / "a"
        sa("init", str(a))
        proc = start_daemon(a, log_dir=tmp_path)  # not on the small disk it fills
        try:
            wait_for((a / ".git/syncassistant/control.sock").exists)
            big = a / "big.bin"
            try:
                with open(big, "wb") as f:
                    f.write(os.urandom(int(1.5 * 1024 * 1024)))
            except OSError:
                pass
            st = wait_for(lambda: json.loads(sa("status", "--json", str(a)).stdout).get("errors"), 60,
                          what="the full disk to be reported")
            assert "commit" in st
            assert big.exists(), "the user's file was lost"
            subprocess.run(["mount", "-o", "remount,size=200m", str(mnt)], check=True)  # above annex.diskreserve (100 MB)
            sa("sync", str(a))
            wait_for(lambda: "big.bin" in git(a, "ls-files"), 60, what="commit after space came back")
        finally:
            stop_daemon(proc)
    finally:
        subprocess.run(["umount", "-l", str(mnt)])


def test_status_of_repo_path_with_long_name(tmp_path):
    deep = tmp_path / ("x" * 60) / ("y" * 60)
    sa("init", str(deep))
    proc = subprocess.Popen([*SA, "daemon", "--foreground", str(deep)], stderr=subprocess.DEVNULL)
    try:
        wait_for(lambda: json.loads(sa("status", "--json", str(deep)).stdout)["state"] == "running")
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(60) == 0
    assert len(str(Path(deep) / ".git/syncassistant/control.sock")) > 108


# -- remote URLs with IPv6 hosts ------------------------------------------------------------------
@pytest.mark.parametrize("text,host,user,port,path", [
    ("ssh://[::1]:2222/srv/r", "[::1]", None, 2222, "/srv/r"),
    ("ssh://me@[fe80::1%eth0]/srv/r", "[fe80::1%eth0]", "me", None, "/srv/r"),  # link-local + interface
    ("ssh://[2001:db8::7]/~/r", "[2001:db8::7]", None, None, "/~/r"),
    ("me@[::1]:repo", "[::1]", "me", None, "repo"),  # scp-style, as git reads it
    ("[2001:db8::2]:~/r", "[2001:db8::2]", None, None, "~/r"),
])
def test_ipv6_ssh_urls_are_accepted(text, host, user, port, path):
    u = parse_remote_url(text)
    assert (u.kind, u.url, u.host, u.user, u.port, u.path) == ("ssh", text, host, user, port, path)


@pytest.mark.parametrize("text", [
    "ssh://[::1/p",  # unclosed
    "ssh://[-oProxyCommand=x]/p", "ssh://[fe80::1%-oProxyCommand=x]/p", "ssh://[fe80::1%eth0;id]/p",
    "me@[::1%eth0 x]:p", "[::1]:-oProxyCommand=x", "ssh://-oX@[::1]/p", "-o@[::1]:p",
    "ssh://[1.2.3.4]/p", "ssh://[zz::1]/p", "[not-an-address]:p", "ssh://[::1]:0/p", "ssh://[::1]:99999/p",
    "ssh://[::1]/", "[::1]:", "ext::ssh -6 [::1] %S", "fd::[::1]", "foo::[::1]:p",
])
def test_bad_ipv6_and_option_like_urls_are_refused(text):
    with pytest.raises(BadURL):
        parse_remote_url(text)


def test_push_over_ssh_to_ipv6_loopback(make_repo, daemons, ssh_env):
    if not ssh_env["ipv6"]:
        pytest.skip("no ::1 on this machine (ip -6 addr show lo)")
    server = make_repo("server")
    a = make_repo("A", clone_of=server)
    git(a, "remote", "rename", "origin", "server")
    url = f"ssh://[::1]:{ssh_env['port']}{server}"
    sa("remote", "add", str(a), "server6", url)  # through the CLI's URL check
    git(a, "remote", "remove", "server")
    daemons(a)
    (a / "over-ipv6.txt").write_text("v6\n")

    def arrived() -> bool:
        r = subprocess.run(["git", "cat-file", "-p", "refs/heads/synced/master:over-ipv6.txt"], cwd=server,
                           capture_output=True, text=True)
        key = r.stdout.strip().rsplit("/", 1)[-1]
        return r.returncode == 0 and subprocess.run(["git", "annex", "contentlocation", key], cwd=server,
                                                    capture_output=True).returncode == 0

    wait_for(arrived, 60, "the file and its content over ssh://[::1]")
    log = (ssh_env["dir"] / "sshd.log").read_text()
    assert "Accepted publickey for" in log and "from ::1 port" in log


def test_a_folder_beyond_the_inotify_watch_limit_is_still_synced(tmp_path):
    # Found: a folder with more subfolders than the inotify watch limit (fs.inotify.max_user_watches)
    # and the daemon did not start at all: watchdog's Observer.start raised "inotify watch limit
    # reached". A user namespace has a limit of its own (/proc/sys/user/max_inotify_watches), so
    # the test lowers it for this daemon alone, as a user's crowded system would be.
    if os.geteuid() != 0 or shutil.which("unshare") is None:
        pytest.skip("needs root and unshare")
    if subprocess.run(["unshare", "-U", "-r", "sh", "-c", "echo 50 > /proc/sys/user/max_inotify_watches"],
                      capture_output=True).returncode:
        pytest.skip("no per-namespace inotify limit here")
    a = tmp_path / "a"
    sa("init", str(a))
    for i in range(3):
        (a / "small" / f"s{i}").mkdir(parents=True)
    for i in range(200):
        (a / "big" / f"d{i:03}").mkdir(parents=True)
    git(a, "config", "syncassistant.unwatchedPoll", "1")
    log_path = tmp_path / "a-daemon.log"
    with open(log_path, "w") as log:
        proc = subprocess.Popen(
            ["unshare", "-U", "-r", "sh", "-c", 'echo 60 > /proc/sys/user/max_inotify_watches && exec "$@"',
             "sh", *SA, "daemon", "--foreground", str(a)], stderr=log, start_new_session=True)
    proc.log_path = log_path  # type: ignore[attr-defined]
    try:
        warning = wait_for(lambda: json.loads(sa("status", "--json", str(a)).stdout).get("warnings", {}).get("watch"),
                           60, lambda: f"the watch warning; log: {log_path.read_text()[-2000:]}")
        assert "big" in warning and "max_user_watches = 60" in warning, warning
        (a / "small" / "s1" / "near.txt").write_text("watched\n")
        (a / "big" / "d150" / "far.txt").write_text("polled\n")
        wait_for(lambda: {"small/s1/near.txt", "big/d150/far.txt"}
                 <= set(git(a, "ls-tree", "-r", "--name-only", "HEAD").splitlines()), 30,
                 lambda: f"both files committed; log: {log_path.read_text()[-2000:]}")
        out = sa("status", str(a)).stdout
        assert "note (watch): too many folders for inotify" in out, out
        # a watched folder that grows past the limit: watchdog skips the subfolders it cannot
        # watch (and only logs it); that folder is polled from then on
        for i in range(80):
            (a / "small" / f"n{i:02}").mkdir()
        (a / "small" / "n79" / "deep.txt").write_text("in a folder made past the limit\n")
        wait_for(lambda: "small/n79/deep.txt" in git(a, "ls-tree", "-r", "--name-only", "HEAD").splitlines(), 30,
                 lambda: f"the file in the grown folder committed; log: {log_path.read_text()[-2000:]}")
        warning = json.loads(sa("status", "--json", str(a)).stdout)["warnings"]["watch"]
        assert "big" in warning and "small" in warning, warning
    finally:
        assert stop_daemon(proc) == 0
