"""One ssh connection per host: the GIT_SSH_COMMAND the engine builds, and what the sshd sees.

* ssh_env keeps a user's GIT_SSH_COMMAND word for word and appends our ControlMaster options
  only to plain ssh; GIT_SSH and commands that choose their own sharing are left alone.
* Against the throwaway sshd: a daemon's pushes and git-annex uploads to an ssh remote use ONE
  accepted ssh connection, where without sharing each push and each transfer batch made its own;
  closing the masters leaves no ssh process behind.
"""

from __future__ import annotations

import os
import shlex
import stat
import subprocess
import time
from pathlib import Path

import pytest
from conftest import alive, git, wait_for

from syncassistant.engine.network import sshmux
from syncassistant.engine.proc import git as gitmod

# -- the command --------------------------------------------------------------------------------


def test_default_command_shares_connections_and_git_annex_uses_it():
    env = sshmux.ssh_env({})
    argv = shlex.split(env["GIT_SSH_COMMAND"])
    assert argv[:5] == list(sshmux.DEFAULT_SSH)
    assert "ControlMaster=auto" in argv and f"ControlPersist={sshmux.CONTROL_PERSIST}" in argv
    path = next(a for a in argv if a.startswith("ControlPath="))[len("ControlPath="):]
    assert path.endswith("/%C") and Path(path).parent.name == str(os.getpid())
    st = os.lstat(Path(path).parent)
    assert stat.S_IMODE(st.st_mode) == 0o700 and st.st_uid == os.getuid()
    assert env["GIT_ANNEX_USE_GIT_SSH"] == "1"  # else git-annex ignores GIT_SSH_COMMAND


def test_users_plain_ssh_command_is_kept_verbatim_and_extended():
    user = 'ssh -F "$HOME/my ssh config" -i ~/.ssh/key'  # a shell runs it: $HOME must stay as written
    env = sshmux.ssh_env({"GIT_SSH_COMMAND": user})
    assert env["GIT_SSH_COMMAND"].startswith(user + " -o ControlMaster=auto")


@pytest.mark.parametrize("env, annex_uses_it", [
    ({"GIT_SSH": "/usr/local/bin/my-ssh"}, False),  # a program: no options can be added, GIT_SSH_COMMAND would override it
    ({"GIT_SSH_COMMAND": "/opt/wrap/ssh-wrapper --via jump"}, False),  # not ssh: git-annex's -n might break it
    # the user's own sharing: kept as it is, and git-annex uses it too (it is how they reach the host)
    ({"GIT_SSH_COMMAND": "ssh -o ControlPath=/my/sockets/%C -o ControlMaster=auto"}, True),
    ({"GIT_SSH_COMMAND": "ssh -S none"}, True),
])
def test_other_commands_are_left_alone(env, annex_uses_it):
    out = sshmux.ssh_env(env)
    assert out.get("GIT_SSH_COMMAND", "") == env.get("GIT_SSH_COMMAND", "")
    assert ("GIT_ANNEX_USE_GIT_SSH" in out) == annex_uses_it


def test_base_env_carries_the_shared_command(monkeypatch):
    monkeypatch.delenv("GIT_SSH_COMMAND", raising=False)
    monkeypatch.delenv("GIT_SSH", raising=False)
    gitmod.reset_env_cache()
    env = gitmod.base_env()
    assert "ControlMaster=auto" in env["GIT_SSH_COMMAND"] and env["GIT_ANNEX_USE_GIT_SSH"] == "1"


# -- against a real sshd ------------------------------------------------------------------------


def accepted(sshd: dict) -> int:
    """ssh connections the sshd accepted so far (one line per authenticated connection)."""
    return (sshd["dir"] / "sshd.log").read_text().count("Accepted publickey")


def on_server(server: Path, rel: str) -> bool:
    """In the server's synced/master, with its content in the server's annex."""
    r = subprocess.run(["git", "cat-file", "-p", f"refs/heads/synced/master:{rel}"], cwd=server,
                       capture_output=True, text=True)
    if r.returncode:
        return False
    key = r.stdout.strip().rsplit("/", 1)[-1]
    return subprocess.run(["git", "annex", "contentlocation", key], cwd=server, capture_output=True,
                          timeout=60).returncode == 0


def sync_files(make_repo, daemons, sshd: dict, tag: str, n: int) -> tuple[int, int]:
    """A daemon pushes and uploads n files, one after another, to an ssh remote; returns
    (connections accepted in all, pushes made)."""
    server = make_repo(f"server-{tag}")
    # A clone that knows the server's annex uuid, as a clone made from it does. (On first contact
    # with a remote whose uuid it does not know, git-annex asks for it over its own ssh, which
    # can race the first push and open a second connection once.)
    a = make_repo(f"A-{tag}", clone_of=server)
    git(a, "remote", "rename", "origin", "server")
    git(a, "remote", "set-url", "server", f"ssh://127.0.0.1:{sshd['port']}{server}")
    before = accepted(sshd)
    da = daemons(a)
    # the first push at start opens the connection; wait for it so nothing races it below
    wait_for(lambda: git(server, "rev-parse", "-q", "--verify", "refs/heads/synced/master", check=False),
             60, "the first push")
    for i in range(n):
        (a / f"{tag}-{i}.txt").write_text(f"{tag} {i}\n")
        wait_for(lambda i=i: on_server(server, f"{tag}-{i}.txt"), 60,
                 lambda i=i: f"{tag}-{i}.txt on the server: {da.status()['remotes']}")
    wait_for(da.is_idle, 60, "the daemon to settle")
    count, pushes = accepted(sshd) - before, da.pusher.pushes
    da.stop()
    return count, pushes


@pytest.mark.timeout(600)
def test_pushes_and_transfers_share_one_ssh_connection(make_repo, daemons, ssh_env, monkeypatch):
    sshmux.close_all()  # a master left by an earlier test in this process would hide ours
    n = 4
    shared, pushes = sync_files(make_repo, daemons, ssh_env, "shared", n)
    assert pushes >= n + 1
    masters = sshmux.masters()
    assert len(masters) == 1, masters
    assert shared == 1, f"{shared} ssh connections for {pushes} pushes and {n} uploads"

    # the master ends with the engine: nothing of ours stays connected
    pid = next(iter(masters.values()))
    sshmux.close_all()
    wait_for(lambda: not alive(pid), 10, "the ssh master to exit")
    assert sshmux.masters() == {}

    # the same work without sharing, for comparison: one connection per push and per batch
    monkeypatch.setattr(sshmux, "control_options", lambda: [])
    gitmod.reset_env_cache()
    unshared, pushes2 = sync_files(make_repo, daemons, ssh_env, "unshared", n)
    print(f"\nssh connections for {n} files: shared {shared} ({pushes} pushes), "
          f"unshared {unshared} ({pushes2} pushes)")
    assert unshared >= pushes2 > n, (unshared, pushes2)


def test_close_all_ends_a_master_nobody_uses(ssh_env):
    sshmux.close_all()
    gitmod.reset_env_cache()
    env = gitmod.base_env()
    t0 = time.monotonic()
    r = subprocess.run(["sh", "-c", env["GIT_SSH_COMMAND"] + ' "$@"', "ssh", "-p", str(ssh_env["port"]),
                        "127.0.0.1", "true"], env=env, capture_output=True, text=True, timeout=30)
    assert r.returncode == 0, r.stderr
    masters = sshmux.masters()
    assert len(masters) == 1, masters  # persisted after its only client ended
    sshmux.close_all()
    pid = next(iter(masters.values()))
    wait_for(lambda: not alive(pid), 10, "the master to exit")
    assert time.monotonic() - t0 < 20
