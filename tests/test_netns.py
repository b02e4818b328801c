"""The link to an ssh server is cut mid-sync and restored: nothing is lost, syncing resumes.

Two network namespaces joined by a veth pair: the client namespace runs our daemon (a
subprocess, `ip netns exec`), the server namespace runs a throwaway sshd with git-annex-shell
on its PATH and a git-annex repository. The addresses are RFC 5737 TEST-NET-2 ones that exist
only inside these namespaces. Every client (daemon, git, ssh, git-annex) runs inside the client
namespace: the root namespace has a default route, so traffic sent from it to these addresses
would leave the machine. Only the control socket (a unix socket: not network-namespaced) is
used from the root namespace.
"""

from __future__ import annotations

import itertools
import json
import os
import shutil
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import sshd_server
from conftest import VENV_BIN, git, wait_for

CLIENT_IP, SERVER_IP, PORT = "198.51.100.1", "198.51.100.2", 2222
_serial = itertools.count()


def ip(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    r = subprocess.run(["ip", *args], capture_output=True, text=True, timeout=30)
    if check and r.returncode:
        raise AssertionError(f"ip {' '.join(args)} failed: {r.stderr.strip()}")
    return r


def netns_pids(ns: str) -> list[int]:
    r = ip("netns", "pids", ns, check=False)
    return [int(p) for p in r.stdout.split()] if r.returncode == 0 else []


def describe_pids(pids: list[int]) -> list[str]:
    out = []
    for pid in pids:
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                cmd = f.read().replace(b"\0", b" ").decode(errors="replace")
            out.append(f"{pid}: {cmd}")
        except OSError:
            continue
    return out


def _remove_leftovers() -> None:
    """Delete namespaces of earlier runs that died before their teardown (their pid is gone)."""
    for line in ip("netns", "list", check=False).stdout.splitlines():
        name = line.split()[0] if line.split() else ""
        if not (name.startswith("sant") and name[-1] in "cs"):
            continue
        pid = name[4:-1].split("x")[0]
        if pid.isdigit() and not os.path.exists(f"/proc/{pid}"):
            ip("netns", "del", name, check=False)


@pytest.fixture
def netns(tmp_path: Path) -> Iterator[dict]:
    """Client and server namespaces joined by veth, sshd in the server namespace.

    Names carry our pid and a serial (parallel runs and leftovers never collide); interface
    names stay under the kernel's 15 characters.
    """
    if not shutil.which("ip") or not sshd_server.available():
        pytest.skip("iproute2 and openssh-server are needed (run ./setup.sh)")
    _remove_leftovers()
    tag = f"sant{os.getpid()}x{next(_serial)}"
    cns, sns, cdev, sdev = tag + "c", tag + "s", tag + "vc", tag + "vs"
    if len(cdev) > 15:  # a very large pid: keep the name unique but short enough
        tag = f"sant{os.getpid() % 10**7}x{next(_serial) % 10}"
        cns, sns, cdev, sdev = tag + "c", tag + "s", tag + "vc", tag + "vs"
    r = ip("netns", "add", cns, check=False)
    if r.returncode:
        pytest.skip(f"cannot create network namespaces here: {r.stderr.strip()}")
    sshd: sshd_server.SshServer | None = None
    try:
        ip("netns", "add", sns)
        ip("link", "add", cdev, "type", "veth", "peer", "name", sdev)
        ip("link", "set", cdev, "netns", cns)
        ip("link", "set", sdev, "netns", sns)
        ip("-n", cns, "addr", "add", f"{CLIENT_IP}/24", "dev", cdev)
        ip("-n", sns, "addr", "add", f"{SERVER_IP}/24", "dev", sdev)
        for ns, dev in ((cns, cdev), (sns, sdev)):
            ip("-n", ns, "link", "set", "lo", "up")
            ip("-n", ns, "link", "set", dev, "up")

        # Short timeouts: a cut link must fail a push in seconds, not minutes.
        sshd = sshd_server.SshServer(
            tmp_path / "ssh", PORT, listen=(SERVER_IP,), wrapper=("ip", "netns", "exec", sns), bin_dir=VENV_BIN,
            client_options={"ConnectTimeout": 3, "ServerAliveInterval": 1, "ServerAliveCountMax": 3})
        sshd.write_files()
        sshd.start()
        yield {"client": cns, "server": sns, "client_dev": cdev, "server_dev": sdev, "dir": sshd.dir,
               "ssh_command": sshd.ssh_command, "sshd_log": sshd.log_path, "git_env": sshd.git_env()}
    finally:
        if sshd is not None:
            sshd.stop()
        for ns in (cns, sns):  # anything still running in there belongs to this test
            for pid in netns_pids(ns):
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            ip("netns", "del", ns, check=False)  # takes its end of the veth pair with it


def in_client(ns: dict, *argv: str, timeout: float = 60, env: dict[str, str] | None = None
              ) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["ip", "netns", "exec", ns["client"], *argv], capture_output=True, text=True,
                          timeout=timeout, env=env)


def status(repo: Path) -> dict:
    """`syncassistant status --json` (over the unix control socket: fine from the root namespace)."""
    r = subprocess.run([os.path.join(VENV_BIN, "syncassistant"), "status", "--json", str(repo)],
                       capture_output=True, text=True, timeout=30)
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)


def remote_state(repo: Path, name: str) -> dict:
    st = status(repo)
    return next((r for r in st.get("remotes", []) if r["name"] == name), {})


def on_server(server: Path, rel: str) -> bool:
    """The file is in the server's synced/master and its content is in the server's annex."""
    r = subprocess.run(["git", "cat-file", "-p", f"refs/heads/synced/master:{rel}"], cwd=server,
                       capture_output=True, text=True)
    if r.returncode:
        return False
    key = r.stdout.strip().rsplit("/", 1)[-1]
    c = subprocess.run(["git", "annex", "contentlocation", key], cwd=server, capture_output=True, text=True,
                       timeout=60)
    return c.returncode == 0


def in_server_git(server: Path, rel: str) -> bool:
    return subprocess.run(["git", "cat-file", "-e", f"refs/heads/synced/master:{rel}"], cwd=server,
                          capture_output=True).returncode == 0


@pytest.mark.timeout(600)
def test_link_cut_mid_sync_and_restored(netns, make_repo, tmp_path: Path):
    server = make_repo("server")
    a = make_repo("A", clone_of=server)
    url = f"ssh://{SERVER_IP}:{PORT}{server}"
    git(a, "remote", "set-url", "origin", url)
    # GIT_SSH_COMMAND with our -F config (the sshd wants our key), and GIT_ANNEX_USE_GIT_SSH=1
    # (git-annex honours GIT_SSH_COMMAND only with it)
    env = {**os.environ, **netns["git_env"]}
    # the link works, from inside the client namespace
    probe = in_client(netns, "git", "ls-remote", url, env=env)
    assert probe.returncode == 0, probe.stderr

    daemon_log = open(tmp_path / "daemon.log", "w")
    daemon = subprocess.Popen(["ip", "netns", "exec", netns["client"], os.path.join(VENV_BIN, "syncassistant"),
                               "-v", "daemon", "--foreground", str(a)],
                              env=env, stdout=daemon_log, stderr=subprocess.STDOUT)

    def log_tail() -> str:
        return (tmp_path / "daemon.log").read_text()[-3000:]

    try:
        wait_for(lambda: daemon.poll() is not None or status(a).get("state") == "running", 60,
                 lambda: f"the daemon to start: {log_tail()}")
        assert daemon.poll() is None, log_tail()

        # 1. a change reaches the server (git and content)
        (a / "first.bin").write_bytes(os.urandom(4096))
        wait_for(lambda: on_server(server, "first.bin"), 60, lambda: f"first.bin on the server: {log_tail()}")

        # 2. cut the link; a change made now cannot go: the remote is reported failing, with
        # the error and when it will be retried
        ip("-n", netns["client"], "link", "set", netns["client_dev"], "down")
        (a / "second.bin").write_bytes(os.urandom(4096))
        failing = wait_for(lambda: (lambda r: r if r.get("error") and r.get("next_retry") else None)(
            remote_state(a, "origin")), 60, lambda: f"origin to fail: {status(a)}")
        assert failing["failures"] >= 1
        assert failing["next_retry"] > time.time() - 1
        assert not in_server_git(server, "second.bin")

        # 3. restore the link: the daemon retries on its own within its back-off (3 s doubling:
        # the retry already scheduled, or the next one after it) and the change arrives
        ip("-n", netns["client"], "link", "set", netns["client_dev"], "up")
        st = remote_state(a, "origin")
        own_deadline = max(0.0, (st.get("next_retry") or time.time()) - time.time()) + 30
        wait_for(lambda: on_server(server, "second.bin"), own_deadline,
                 lambda: f"second.bin on the server without a forced retry: {status(a)} {log_tail()}")
        wait_for(lambda: not remote_state(a, "origin").get("error"), 30, "origin to be healthy again")

        # 4. cut again until the back-off is long, restore, and `syncassistant sync` retries at once
        ip("-n", netns["client"], "link", "set", netns["client_dev"], "down")
        (a / "third.bin").write_bytes(os.urandom(4096))
        wait_for(lambda: remote_state(a, "origin").get("failures", 0) >= 3, 90,
                 lambda: f"three failed pushes: {status(a)}")
        ip("-n", netns["client"], "link", "set", netns["client_dev"], "up")
        scheduled = remote_state(a, "origin")["next_retry"]
        assert scheduled - time.time() > 5, "the back-off should be 12 s after three failures"
        r = subprocess.run([os.path.join(VENV_BIN, "syncassistant"), "sync", str(a)],
                           capture_output=True, text=True, timeout=30)
        assert r.returncode == 0, r.stderr
        wait_for(lambda: in_server_git(server, "third.bin"), 60, lambda: f"third.bin after sync: {log_tail()}")
        assert time.time() < scheduled, "the forced retry did not beat the scheduled one"
        wait_for(lambda: on_server(server, "third.bin"), 60, lambda: f"third.bin's content: {status(a)}")

        # nothing was lost on the way
        for name in ("first.bin", "second.bin", "third.bin"):
            assert on_server(server, name), name
            want = (a / name).read_bytes()
            key = git(server, "cat-file", "-p", f"refs/heads/synced/master:{name}").strip().rsplit("/", 1)[-1]
            loc = git(server, "annex", "contentlocation", key).strip()
            assert (server / loc).read_bytes() == want, name
    finally:
        # 5. SIGTERM stops the daemon cleanly: exit status 0 and nothing of it left running in
        # its namespace (ssh, ssh masters, git, git-annex all lived there)
        if daemon.poll() is None:
            daemon.send_signal(signal.SIGTERM)
        try:
            rc = daemon.wait(60)
        except subprocess.TimeoutExpired:
            daemon.kill()
            daemon.wait(10)
            rc = None
        daemon_log.close()
    assert rc == 0, f"daemon exit status {rc}: {log_tail()}"
    wait_for(lambda: not netns_pids(netns["client"]), 10,
             lambda: f"the client namespace to be empty: {describe_pids(netns_pids(netns['client']))}")
