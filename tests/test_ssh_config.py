"""The user's own ssh command: ``core.sshCommand`` and ``remote.NAME.annex-ssh-options``.

People pick a key or a jump host with ``core.sshCommand = ssh -F DIR/ssh_config`` and a remote
``alias:/srv/repo`` whose host is a ``Host`` block of that file. The engine used to put its own
``GIT_SSH_COMMAND`` (the default ssh plus its ControlMaster options) into every environment,
which overrides ``core.sshCommand``: every push failed with "Could not resolve hostname".

* Against the throwaway sshd: a clone whose ssh reaches the server only through a Host alias of
  its core.sshCommand and a key given in the remote's annex-ssh-options pushes to it, uploads
  content into it (git-annex) and hears of a change made there (notifychanges), with connection
  sharing and without it (then every path makes its own connection with its own options).
* Offline, with an ``ssh`` that only records its arguments: git's precedence (GIT_SSH_COMMAND >
  core.sshCommand > GIT_SSH > ssh), our options layered after the user's words, the command run
  by a shell the way git runs it, and URLs and paths never reaching that shell.
"""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import annex, git, wait_for

from syncassistant.engine.network import sshmux
from syncassistant.engine.network.notifychanges import RemoteChangeWatcher, notifychanges_argv
from syncassistant.engine.network.urls import parse_remote_url
from syncassistant.engine.proc import git as gitmod

HOST = "feas"  # a name only the user's ssh_config knows


@pytest.fixture
def no_ssh_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """No ssh command in the environment: what git and we run comes from git config alone."""
    for name in ("GIT_SSH_COMMAND", "GIT_SSH", "GIT_ANNEX_USE_GIT_SSH", "GIT_SSH_VARIANT"):
        monkeypatch.delenv(name, raising=False)
    gitmod.reset_env_cache()


def write_ssh_config(path: Path, sshd: dict) -> Path:
    """A user's ssh_config with a Host alias for the test sshd, and no key: the key comes from
    the remote's annex-ssh-options, so a connection made without them is refused."""
    d = sshd["dir"]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join([
        f"Host {HOST}",
        "  HostName 127.0.0.1",
        f"  Port {sshd['port']}",
        f"  User {os.environ.get('USER') or 'root'}",
        "  IdentitiesOnly yes",  # no agent, no default keys: only what the command line gives
        f"  UserKnownHostsFile {d}/known_hosts",
        "  StrictHostKeyChecking accept-new",
        "  BatchMode yes",
        "  ConnectTimeout 5",
    ]) + "\n")
    return path


def make_server(tmp_path: Path, a: Path) -> Path:
    server = tmp_path / "server.git"
    git(tmp_path, "clone", "-q", "--bare", str(a), str(server))
    annex(server, "init", "server")
    return server


def on_server(server: Path, rel: str) -> bool:
    """In the server's synced/master (a push), with its content in the server's annex (an upload)."""
    r = subprocess.run(["git", "cat-file", "-p", f"refs/heads/synced/master:{rel}"], cwd=server,
                       capture_output=True, text=True)
    if r.returncode:
        return False
    key = r.stdout.strip().rsplit("/", 1)[-1]
    return subprocess.run(["git", "annex", "contentlocation", key], cwd=server, capture_output=True,
                          timeout=60).returncode == 0


def accepted(sshd: dict) -> int:
    return (sshd["dir"] / "sshd.log").read_text().count("Accepted publickey")


# -- against the real sshd --------------------------------------------------------------------------


@pytest.mark.timeout(600)
@pytest.mark.parametrize("sharing", [True, False], ids=["shared", "unshared"])
def test_host_alias_of_core_sshcommand_for_pushes_transfers_and_notices(
        sshd, no_ssh_env, make_repo, daemons, tmp_path: Path, monkeypatch, sharing: bool):
    sshmux.close_all()  # a master left by an earlier test would carry the connection for us
    if not sharing:  # each path then connects by itself, with its own command and options
        monkeypatch.setattr(sshmux, "control_options", lambda: [])
    config = write_ssh_config(tmp_path / "my ssh" / "config", sshd)  # a space: the shell must see quoting
    key = sshd["dir"] / "id_ed25519"
    user_ssh = f"ssh -F {shlex.quote(str(config))}"
    # the alias alone is refused (no key); with the key it is the way in
    probe = [*shlex.split(user_ssh), HOST, "true"]
    assert subprocess.run(probe, capture_output=True, timeout=30).returncode != 0
    r = subprocess.run([*probe[:-2], "-i", str(key), HOST, "true"], capture_output=True, text=True, timeout=30)
    assert r.returncode == 0, r.stderr

    a = make_repo("A")
    server = make_server(tmp_path, a)
    git(a, "config", "core.sshCommand", user_ssh)  # per repository, as `git config` sets it
    git(a, "remote", "add", "server", f"{HOST}:{server}")
    git(a, "config", "remote.server.annex-ssh-options", f"-i {key}")
    git(a, "config", "remote.server.annex-uuid", git(server, "config", "annex.uuid").strip())
    gitmod.reset_env_cache()
    before = accepted(sshd)
    da = daemons(a)
    watcher = RemoteChangeWatcher(da)
    watcher.start()
    try:
        # the first push and the notifychanges session open the connection (one after the
        # other, through sshmux.connect); a git-annex upload starting at that very moment would
        # not wait for them and might open its own (as with our default command)
        wait_for(lambda: git(server, "rev-parse", "-q", "--verify", "refs/heads/synced/master", check=False),
                 60, lambda: f"the first push: {da.status()['remotes']}")
        wait_for(lambda: watcher.status()["server"]["connected"], 30,
                 lambda: f"the notifychanges connection: {watcher.status()}")
        (a / "photo.jpg").write_bytes(os.urandom(4096))
        wait_for(lambda: on_server(server, "photo.jpg"), 60,
                 lambda: f"photo.jpg pushed and uploaded: remotes {da.status()['remotes']}, "
                         f"transfers {da.transfers.snapshot()}")
        wait_for(da.is_idle, 60, "A to settle")
        fetches = watcher.status()["server"]["fetches"]

        # a change made on the server side (another clone pushes straight into it): only the
        # notice can bring it to A, which has nothing to push and does not poll
        b = tmp_path / "B"
        git(tmp_path, "clone", "-q", str(server), str(b))
        git(b, "fetch", "-q", "origin", "refs/heads/synced/master")
        git(b, "checkout", "-q", "FETCH_HEAD")
        (b / "note.txt").write_text("from the server side\n")
        git(b, "add", "note.txt")
        git(b, "-c", "user.name=B", "-c", "user.email=b@example.invalid", "commit", "-q", "-m", "note")
        git(b, "push", "-q", "origin", "HEAD:refs/heads/synced/master")
        wait_for(lambda: (a / "note.txt").exists(), 30,
                 lambda: f"note.txt in A: notifychanges {watcher.status()}")
        assert watcher.status()["server"]["fetches"] > fetches
        masters = sshmux.masters()
        connections = accepted(sshd) - before
    finally:
        watcher.stop()
    print(f"\n{'shared' if sharing else 'unshared'}: {connections} ssh connections, masters {masters}")
    if sharing:
        # our sharing rides on the user's command: one master, found again by every path
        assert len(masters) == 1, masters
        assert connections == 1, connections
    else:
        assert masters == {}
        assert connections >= 3  # a push, an upload, the notifychanges session at least


# -- offline: what each path runs -------------------------------------------------------------------


def test_precedence_is_gits_and_our_options_follow_the_users_words(monkeypatch):
    monkeypatch.setattr(sshmux, "control_options", lambda: ["-o", "ControlPath=/s/%C"])
    core = "ssh -F '/my dir/config'"
    # $GIT_SSH_COMMAND > core.sshCommand > $GIT_SSH > ssh, as in git
    got = sshmux.choose({"GIT_SSH_COMMAND": "ssh -v", "GIT_SSH": "/bin/my-ssh"}, core)
    assert got.shell == "ssh -v -o ControlPath=/s/%C"
    got = sshmux.choose({"GIT_SSH": "/bin/my-ssh"}, core, "-i /k/id -o User=$(whoami)")
    # the user's words verbatim (a shell runs them), ours then the remote's, quoted for that shell
    assert got.shell == "ssh -F '/my dir/config' -o ControlPath=/s/%C -i /k/id -o 'User=$(whoami)'"
    assert got.env == {"GIT_SSH_COMMAND": got.shell, "GIT_ANNEX_USE_GIT_SSH": "1"}  # git-annex too
    assert got.argv("-p", "22", "h", "cmd") == ["sh", "-c", got.shell + ' "$@"', "ssh", "-p", "22", "h", "cmd"]
    # a command sh would only split into words runs as those words (ssh is then our own child)
    got = sshmux.choose({}, "ssh -F '/my dir/config'")
    assert got.argv("h", "c") == ["ssh", "-F", "/my dir/config", "-o", "ControlPath=/s/%C", "h", "c"]
    for needs_sh in ('ssh -F "$HOME/c"', "ssh -i ~/k", "LC_ALL=C ssh", "ssh -v 2>/dev/null", "ssh -F a\\ b"):
        assert sshmux.shell_words(needs_sh) is None, needs_sh
    got = sshmux.choose({"GIT_SSH": "/bin/my-ssh"}, None)
    assert (got.shell, got.program, got.env) == (None, "/bin/my-ssh", {})  # left to git and git-annex
    assert got.argv("h", "cmd") == ["/bin/my-ssh", "h", "cmd"]
    got = sshmux.choose({}, None)
    assert got.shell is not None and got.shell.startswith(shlex.join(sshmux.DEFAULT_SSH) + " -o ControlPath=")
    # a wrapper that is not ssh gets no options (git-annex's -n might break it either)
    got = sshmux.choose({}, "/opt/wrap --via jump", "-i /k/id")
    assert got.env == {"GIT_SSH_COMMAND": "/opt/wrap --via jump"} and not got.is_ssh


def test_core_sshcommand_is_read_per_repository_and_again_after_a_change(no_ssh_env, make_repo):
    a, b = make_repo("A"), make_repo("B")
    git(a, "config", "core.sshCommand", "ssh -F /a/config")
    git(a, "config", "remote.r.annex-ssh-options", "-i /a/key")
    assert gitmod.ssh_command(a).shell.startswith("ssh -F /a/config ")
    assert gitmod.ssh_command(a, "r").shell.endswith(" -i /a/key")
    assert gitmod.ssh_command(b).shell.startswith(shlex.join(sshmux.DEFAULT_SSH))
    assert gitmod.repo_env(a)["GIT_SSH_COMMAND"].startswith("ssh -F /a/config ")
    git(b, "config", "core.sshCommand", "ssh -F /b/config")  # the cached answer must not stay
    assert gitmod.ssh_command(b).shell.startswith("ssh -F /b/config ")
    git(b, "config", "--unset", "core.sshCommand")
    git(b, "config", "--global", "core.sshCommand", "ssh -F /global/config")
    assert gitmod.ssh_command(b).shell.startswith("ssh -F /global/config ")
    assert gitmod.ssh_command(a).shell.startswith("ssh -F /a/config ")  # the repository's own wins


def fake_ssh(tmp_path: Path) -> tuple[Path, Path]:
    """An `ssh` that records its arguments (one JSON line per call) and fails like a refused one."""
    d = tmp_path / "bin"
    d.mkdir()
    log = tmp_path / "ssh-calls.jsonl"
    prog = d / "ssh"
    prog.write_text(f"#!{sys.executable}\nimport json, sys\n"
                    f"open({str(log)!r}, 'a').write(json.dumps(sys.argv[1:]) + '\\n')\nsys.exit(255)\n")
    prog.chmod(0o755)
    return prog, log


def test_git_git_annex_and_notifychanges_run_the_users_command_as_git_does(no_ssh_env, make_repo, tmp_path):
    from syncassistant.engine.proc.annex_batch import AnnexBatch
    from syncassistant.engine.proc.git import Git

    prog, log = fake_ssh(tmp_path)
    a = make_repo("A")
    # a shell runs it, as git does: $HOME is the shell's to expand
    git(a, "config", "core.sshCommand", f'{shlex.quote(str(prog))} -F "$HOME/my ssh config"')
    evil = "/srv/it's $(touch pwned) here.git"  # reaches ssh as one argument, never our shell
    git(a, "remote", "add", "server", f"{HOST}:{evil}")
    git(a, "config", "remote.server.annex-ssh-options", "-i /keys/feas")
    g = Git(a)

    def calls() -> list[list[str]]:
        return [json.loads(line) for line in log.read_text().splitlines()] if log.exists() else []

    g.run("fetch", "server", env=g.ssh_env("server"), check=False, timeout=60)  # as ctx.fetch and the pusher
    fetch = calls()
    g.run("ls-remote", "server", check=False, timeout=60)  # a command with no remote of ours
    ls_remote = calls()[len(fetch):]
    batch = AnnexBatch(a, ["copy", "--to", "server"])  # a transfer process: asks the remote's uuid
    wait_for(lambda: len(calls()) > len(fetch) + len(ls_remote), 60, "git-annex to run ssh")
    batch.close()
    annex_calls = calls()[len(fetch) + len(ls_remote):]
    cfg = g.config_get_regexp(r"^remote\.")
    argv = notifychanges_argv(g, "server", parse_remote_url(cfg["remote.server.url"]), cfg)
    subprocess.run(argv, cwd=a, env=gitmod.repo_env(a, "server"), stdin=subprocess.DEVNULL, timeout=60)
    notify = calls()[-1]

    home = os.environ["HOME"]
    for call in [*fetch, *ls_remote, *annex_calls, notify]:
        assert call[:2] == ["-F", f"{home}/my ssh config"], call  # the user's words first, expanded
        assert "ControlMaster=auto" in call and HOST in call, call  # our sharing after them
        # the path arrives whole in the remote command (quoted for the remote's shell, each
        # program its own way), never having passed through a local shell
        assert call[-2] == HOST and "s $(touch pwned) here.git'" in call[-1], call
    # the remote's annex-ssh-options wherever we know the remote, after our options
    for call in [*fetch, *annex_calls, notify]:
        i = call.index("-i")
        assert call[i + 1] == "/keys/feas" and i > call.index("ControlMaster=auto"), call
    assert all("-i" not in call for call in ls_remote)
    assert "-n" in annex_calls[0]  # git-annex's own arguments: it did run our command
    assert notify[-1] == "git-annex-shell notifychanges " + shlex.quote(evil)
    assert not list(tmp_path.rglob("pwned")) and not (Path.cwd() / "pwned").exists()
