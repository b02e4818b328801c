"""Invite and join (engine/network/invite.py) with real parts on 127.0.0.1: a magic-wormhole
mailbox server (PyPI magic-wormhole-mailbox-server) per test, two sshd (one per "device", each
with its own authorized_keys and host key), two folders, the real ssh client and git-annex-shell.
"""

from __future__ import annotations

import base64
import json
import os
import queue
import socket
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import keyring
import pytest
import sshd_server
from conftest import VENV_BIN, git, wait_for
from test_cloud import MemoryKeyring

from syncassistant.engine.daemon import Assistant
from syncassistant.engine.network import authkeys, cloud, sshmux
from syncassistant.engine.network import invite as inv
from syncassistant.engine.repo import init_repo

pytestmark = pytest.mark.slow
CLOUD_SYNC = 180.0  # a deadline: a loaded machine has taken 40 s for a commit to reach the cloud


def _listening(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1):
            return True
    except OSError:
        return False


class Mailbox:
    """`twist wormhole-mailbox` on 127.0.0.1 (its database in a temp dir)."""

    def __init__(self, d: Path) -> None:
        self.dir = d
        self.port = sshd_server.free_port()
        self.url = f"ws://127.0.0.1:{self.port}/v1"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        twist = os.path.join(VENV_BIN, "twist")
        self.log = open(self.dir / "mailbox.log", "wb")
        self.proc = subprocess.Popen([twist, "wormhole-mailbox", f"--port=tcp:{self.port}:interface=127.0.0.1",
                                      f"--channel-db={self.dir}/relay.sqlite"], cwd=self.dir,
                                     stdout=self.log, stderr=subprocess.STDOUT)
        wait_for(lambda: self.proc.poll() is not None or _listening(self.port), 30, what="the mailbox server")
        assert self.proc.poll() is None, (self.dir / "mailbox.log").read_text()

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
            self.proc = None
            self.log.close()


@pytest.fixture
def mailbox(tmp_path: Path) -> Iterator[Mailbox]:
    d = tmp_path / "mailbox"
    d.mkdir()
    m = Mailbox(d)
    m.start()
    yield m
    m.stop()
    sshmux.close_all()  # masters opened by the pairing's ssh test (tests without daemons)


@pytest.fixture(scope="module")
def two_sshd(tmp_path_factory: pytest.TempPathFactory) -> Iterator[list[sshd_server.SshServer]]:
    """Two sshd on 127.0.0.1, one per device, each reading its own authorized_keys."""
    if not sshd_server.available():
        pytest.skip("openssh-server is not installed (run ./setup.sh)")
    servers = []
    try:
        for name in ("sshdA", "sshdB"):
            s = sshd_server.SshServer(tmp_path_factory.mktemp(name), sshd_server.free_port(), bin_dir=VENV_BIN)
            s.write_files()
            s.start()
            servers.append(s)
        yield servers
    finally:
        for s in servers:
            s.stop()


def access(server: sshd_server.SshServer) -> inv.SshAccess:
    found = inv.local_ssh(server.port, ["127.0.0.1"], authorized_keys=server.dir / "authorized_keys",
                          host_key_files=[server.dir / "host_ed25519.pub"])
    assert found is not None and found.host_keys
    return found


def no_server() -> inv.SshAccess | None:
    """What local_ssh finds on a port where nothing listens: no server."""
    return inv.local_ssh(sshd_server.free_port(), ["127.0.0.1"])


def pair(a: Path, b: Path | None, mailbox: Mailbox, tmp_path: Path, ssh_a: inv.SshAccess | None,
         ssh_b: inv.SshAccess | None, code_filter: Callable[[str], str] = lambda c: c,
         join_wait: float = 20.0, invite_kw: dict | None = None,
         join_kw: dict | None = None) -> tuple[object, object, float]:
    """Invite on `a` (a thread), join on `b` with the code; each side's Device or exception,
    and the join's duration."""
    codes: queue.Queue[str] = queue.Queue()
    result: dict[str, object] = {}

    def inviter() -> None:
        try:
            result["a"] = inv.invite(a, ssh=ssh_a, on_code=codes.put, mailbox=mailbox.url, name="alpha",
                                     data_dir=tmp_path / "dataA", wait=60, **(invite_kw or {}))
        except Exception as e:  # handed to the test
            result["a"] = e

    t = threading.Thread(target=inviter, name="test-inviter")
    t.start()
    try:
        code = codes.get(timeout=30)
    except queue.Empty:
        t.join(60)
        raise AssertionError(f"no code: {result.get('a')!r}") from None
    (tmp_path / "code").write_text(code)
    started = time.monotonic()
    try:
        joined: object = inv.join(code_filter(code), b, ssh=ssh_b, mailbox=mailbox.url, name="beta",
                                  data_dir=tmp_path / "dataB", wait=join_wait, **(join_kw or {}))
    except Exception as e:
        joined = e
    took = time.monotonic() - started
    t.join(90)
    assert not t.is_alive(), "the invitation did not end"
    return result["a"], joined, took


def auth_lines(server: sshd_server.SshServer) -> list[str]:
    return [ln for ln in (server.dir / "authorized_keys").read_text().splitlines() if authkeys.MARKER_PREFIX in ln]


def pairing_dirs(tmp_path: Path) -> list[Path]:
    return [p for side in ("dataA", "dataB") for p in (tmp_path / side / "pairings").glob("*")]


# -- the happy path --------------------------------------------------------------------------------
def test_invite_and_join_sync_both_ways(tmp_path: Path, daemons, mailbox: Mailbox, two_sshd) -> None:
    sa, sb = two_sshd
    a = init_repo(tmp_path / "A", "A")
    (a / "from-a.txt").write_text("made on A before the invitation\n")
    da = daemons(a)
    wait_for(lambda: "from-a.txt" in git(a, "ls-files"), 30, what="A's commit")
    b = tmp_path / "B"  # the join makes it

    dev_a, dev_b, took = pair(a, b, mailbox, tmp_path, access(sa), access(sb))
    assert isinstance(dev_a, inv.Device), dev_a
    assert isinstance(dev_b, inv.Device), dev_b
    print(f"join took {took:.2f} s")
    assert dev_a.name == "beta" and dev_b.name == "alpha"
    assert dev_a.remote == "beta" and dev_b.remote == "alpha"
    assert dev_b.uuid == git(a, "config", "annex.uuid").strip()
    assert dev_a.uuid == git(b, "config", "annex.uuid").strip()
    # each side's key is authorised on the other's sshd, restricted to its folder
    [line_a] = auth_lines(sa)
    [line_b] = auth_lines(sb)
    assert line_a.startswith("restrict,command=") and f"GIT_ANNEX_SHELL_DIRECTORY={a} " in line_a
    assert f"GIT_ANNEX_SHELL_DIRECTORY={b} " in line_b
    key_b = Path(dev_b.key_dir) / "id_ed25519"
    assert oct(key_b.stat().st_mode & 0o777) == "0o600"
    assert git(b, "config", "remote.alpha.url").strip() == f"ssh://{sa_user()}@127.0.0.1:{sa.port}{a}"

    start = time.monotonic()
    db = daemons(b)
    wait_for(lambda: (b / "from-a.txt").is_file() and (b / "from-a.txt").read_text().startswith("made on A"),
             60, what="A's file on B")
    print(f"first file on B {time.monotonic() - start:.2f} s after B's daemon started")
    (b / "from-b.txt").write_text("made on B\n")
    start = time.monotonic()
    wait_for(lambda: (a / "from-b.txt").is_file() and (a / "from-b.txt").read_text() == "made on B\n",
             60, what="B's file on A")
    print(f"B -> A {time.monotonic() - start:.2f} s")
    (a / "later-a.txt").write_text("later on A\n")
    wait_for(lambda: (b / "later-a.txt").is_file() and (b / "later-a.txt").read_text() == "later on A\n",
             60, what="A's later file on B")
    assert da and db

    # the code is spent: a second join waits for nobody, says so, and makes nothing
    with pytest.raises(inv.InviteError, match="nobody is inviting"):
        inv.join(code_of(tmp_path), tmp_path / "C", ssh=None, mailbox=mailbox.url, data_dir=tmp_path / "dataC",
                 wait=5)
    assert not (tmp_path / "C").exists() and not (tmp_path / "dataC").exists()

    # B's key reaches git-annex on A's folder and nothing else
    ssh_b = ["ssh", "-F", "none", "-i", str(key_b), "-o", "IdentitiesOnly=yes", "-o", "BatchMode=yes",
             "-o", f"UserKnownHostsFile={key_b.parent / 'known_hosts'}", "-o", "StrictHostKeyChecking=yes",
             "-p", str(sa.port), f"{sa_user()}@127.0.0.1"]
    ok = subprocess.run([*ssh_b, f"git-annex-shell configlist '{a}'"], capture_output=True, text=True, timeout=60)
    assert ok.returncode == 0 and git(a, "config", "annex.uuid").strip() in ok.stdout, ok.stderr
    shell = subprocess.run([*ssh_b, "echo hi"], capture_output=True, text=True, timeout=60)
    assert shell.returncode != 0 and "hi" not in shell.stdout, (shell.stdout, shell.stderr)
    other = init_repo(tmp_path / "other", "other")
    elsewhere = subprocess.run([*ssh_b, f"git-annex-shell configlist '{other}'"], capture_output=True, text=True,
                               timeout=60)
    assert elsewhere.returncode != 0 and "annex.uuid" not in elsewhere.stdout, elsewhere.stdout
    clone = subprocess.run(["git", "clone", "-q", f"ssh://{sa_user()}@127.0.0.1:{sa.port}{other}", str(tmp_path / "x")],
                           env={**os.environ, "GIT_SSH_COMMAND": " ".join(ssh_b[:-3])}, capture_output=True,
                           text=True, timeout=60)
    assert clone.returncode != 0 and not (tmp_path / "x").exists(), clone.stderr

    # listed, then disconnected: its key, its remote and our key for it go; the files stay
    listed = inv.list_devices(b)
    assert [d.name for d in listed] == ["alpha"]
    gone = inv.disconnect(b, "alpha")
    assert gone.remote == "alpha"
    assert "alpha" not in git(b, "remote").split()
    assert not auth_lines(sb)
    assert not key_b.parent.exists()
    assert (b / "from-a.txt").is_file() and (b / "from-b.txt").is_file()
    assert inv.list_devices(b) == []
    inv.disconnect(a, "beta")
    assert not auth_lines(sa) and "beta" not in git(a, "remote").split()


def sa_user() -> str:
    import getpass
    return getpass.getuser()


def code_of(tmp_path: Path) -> str:
    return (tmp_path / "code").read_text()


def assert_nothing_left(tmp_path: Path, a: Path, servers: list[sshd_server.SshServer], *extra_keys: Path) -> None:
    assert pairing_dirs(tmp_path) == []
    for s in servers:
        assert auth_lines(s) == []
    for f in extra_keys:
        assert authkeys.MARKER_PREFIX not in (f.read_text() if f.exists() else "")
    assert git(a, "remote").split() == []
    assert inv.list_devices(a) == []
    assert not (tmp_path / "B").exists()


# -- bad input: a clear message, nothing half-made --------------------------------------------------
def test_wrong_code_fails_on_both_sides(tmp_path: Path, mailbox: Mailbox, two_sshd) -> None:
    sa, sb = two_sshd
    a = init_repo(tmp_path / "A", "A")

    def mistype(code: str) -> str:
        nameplate, *words = code.split("-")
        return "-".join([nameplate, *words[:-1], "zulu" if words[-1] != "zulu" else "yankee"])

    dev_a, dev_b, _ = pair(a, tmp_path / "B", mailbox, tmp_path, access(sa), access(sb), code_filter=mistype)
    assert isinstance(dev_b, inv.InviteError) and "code is wrong" in str(dev_b), dev_b
    assert isinstance(dev_a, inv.InviteError) and "code is wrong" in str(dev_a), dev_a
    assert_nothing_left(tmp_path, a, two_sshd)


def test_code_nobody_holds(tmp_path: Path, mailbox: Mailbox) -> None:
    started = time.monotonic()
    with pytest.raises(inv.InviteError, match="nobody is inviting with the code 999-no-body"):
        inv.join("999-no-body", tmp_path / "B", ssh=None, mailbox=mailbox.url, data_dir=tmp_path / "dataB", wait=3)
    assert time.monotonic() - started < 30
    assert not (tmp_path / "B").exists() and not (tmp_path / "dataB").exists()
    with pytest.raises(inv.InviteError, match="not an invitation code"):
        inv.join("hello world; rm", tmp_path / "B", ssh=None, mailbox=mailbox.url)


def test_relay_down(tmp_path: Path) -> None:
    a = init_repo(tmp_path / "A", "A")
    down = f"ws://127.0.0.1:{sshd_server.free_port()}/v1"  # nothing listens: connection refused
    with pytest.raises(inv.InviteError, match="cannot reach the invitation server"):
        inv.invite(a, ssh=None, on_code=lambda c: None, mailbox=down, data_dir=tmp_path / "dataA", wait=30)
    with pytest.raises(inv.InviteError, match="cannot reach the invitation server"):
        inv.join("7-some-code", tmp_path / "B", ssh=None, mailbox=down, data_dir=tmp_path / "dataB", wait=30)
    assert pairing_dirs(tmp_path) == [] and not (tmp_path / "B").exists()
    assert git(a, "remote").split() == []


def test_ssh_server_refuses(tmp_path: Path, mailbox: Mailbox, two_sshd) -> None:
    """A offers an sshd that does not read the authorized_keys A writes to; B runs none: B cannot
    reach A, A cannot reach B, both say so and take everything back."""
    sa, sb = two_sshd
    a = init_repo(tmp_path / "A", "A")
    unread = tmp_path / "unread_authorized_keys"
    real = access(sa)
    ssh_a = inv.SshAccess(real.user, real.hosts, real.port, real.host_keys, authorized_keys=unread)
    dev_a, dev_b, _ = pair(a, tmp_path / "B", mailbox, tmp_path, ssh_a, no_server())
    assert isinstance(dev_b, inv.InviteError), dev_b
    assert "cannot reach alpha over ssh" in str(dev_b) and "Permission denied" in str(dev_b), dev_b
    assert isinstance(dev_a, inv.InviteError) and "beta cannot reach this device" in str(dev_a), dev_a
    assert_nothing_left(tmp_path, a, two_sshd, unread)


def test_neither_device_runs_ssh(tmp_path: Path, mailbox: Mailbox, two_sshd) -> None:
    a = init_repo(tmp_path / "A", "A")
    dev_a, dev_b, _ = pair(a, tmp_path / "B", mailbox, tmp_path, no_server(), no_server())
    assert isinstance(dev_b, inv.InviteError) and "neither device runs an ssh server" in str(dev_b), dev_b
    assert "add cloud storage to the folder" in str(dev_b)
    assert isinstance(dev_a, inv.InviteError) and "neither device runs an ssh server" in str(dev_a), dev_a
    assert_nothing_left(tmp_path, a, two_sshd)


# -- the command line ------------------------------------------------------------------------------
def test_cli_invite_join_devices(tmp_path: Path, mailbox: Mailbox, two_sshd) -> None:
    sa, sb = two_sshd
    a = init_repo(tmp_path / "A", "A")
    b = tmp_path / "B"
    cli = [os.path.join(VENV_BIN, "syncassistant")]

    def side(s: sshd_server.SshServer, name: str) -> list[str]:
        return ["--mailbox", mailbox.url, "--ssh-port", str(s.port), "--ssh-host", "127.0.0.1",
                "--authorized-keys", str(s.dir / "authorized_keys"), "--host-key", str(s.dir / "host_ed25519.pub"),
                "--name", name, "--timeout", "120"]

    inviter = subprocess.Popen([*cli, "invite", str(a), *side(sa, "alpha")], stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True)
    try:
        lines = []
        while not any("syncassistant join " in ln for ln in lines):
            line = inviter.stdout.readline()  # the code comes first; EOF if the invite failed
            assert line, inviter.stderr.read()
            lines.append(line)
        code = next(ln for ln in lines if "syncassistant join " in ln).split()[-1]
        joined = subprocess.run([*cli, "join", code, str(b), *side(sb, "beta")], capture_output=True, text=True,
                                timeout=300)
        assert joined.returncode == 0, joined.stderr
        assert "connected alpha: remote alpha -> ssh://" in joined.stdout
        out, err = inviter.communicate(timeout=120)
        assert inviter.returncode == 0, err
        assert "connected beta: remote beta" in out
    finally:
        if inviter.poll() is None:
            inviter.kill()
            inviter.communicate()

    listed = subprocess.run([*cli, "devices", str(b)], capture_output=True, text=True, timeout=60)
    assert listed.returncode == 0 and listed.stdout.startswith("alpha: remote alpha -> ssh://"), listed
    gone = subprocess.run([*cli, "devices", str(b), "--disconnect", "alpha"], capture_output=True, text=True,
                          timeout=60)
    assert gone.returncode == 0 and "disconnected alpha" in gone.stdout, gone.stderr
    again = subprocess.run([*cli, "devices", str(b), "--disconnect", "alpha"], capture_output=True, text=True,
                           timeout=60)
    assert again.returncode == 1 and "no connected device 'alpha'" in again.stderr
    assert not auth_lines(sb)
    assert subprocess.run([*cli, "devices", str(a), "--disconnect", "beta"], capture_output=True,
                          timeout=60).returncode == 0
    assert not auth_lines(sa)


def test_join_from_a_device_without_ssh_server(tmp_path: Path, daemons, mailbox: Mailbox, two_sshd) -> None:
    """The laptop case: only the inviter runs an ssh server. The joiner gets a remote, the inviter
    only an authorised key; both directions still sync (B pushes to A and hears A's changes)."""
    sa, _ = two_sshd
    a = init_repo(tmp_path / "A", "A")
    daemons(a)
    dev_a, dev_b, _ = pair(a, tmp_path / "B", mailbox, tmp_path, access(sa), no_server())
    assert isinstance(dev_a, inv.Device) and isinstance(dev_b, inv.Device), (dev_a, dev_b)
    assert dev_a.remote is None and dev_a.authorized_keys and dev_a.key_dir is None
    assert dev_b.remote == "alpha" and dev_b.authorized_keys is None
    assert git(a, "remote").split() == [] and len(auth_lines(sa)) == 1
    assert not (tmp_path / "dataA" / "pairings").exists() or not any((tmp_path / "dataA" / "pairings").iterdir())
    b = tmp_path / "B"
    # B hears of A's changes through its change-notice session to A: the Assistant runs those
    assistant = Assistant([b], devices=False)
    assistant.start()
    try:
        (b / "from-b.txt").write_text("made on B\n")
        wait_for(lambda: (a / "from-b.txt").is_file() and (a / "from-b.txt").read_text() == "made on B\n", 60,
                 what="B's file on A")
        (a / "from-a.txt").write_text("made on A\n")
        wait_for(lambda: (b / "from-a.txt").is_file() and (b / "from-a.txt").read_text() == "made on A\n", 60,
                 what="A's file on B")
    finally:
        assistant.stop()
    # A has no remote for B, yet knows when B last reached it: B's logins touch a file
    [seen_b] = inv.list_devices(a)
    assert seen_b.name == "beta" and seen_b.last_seen and time.time() - seen_b.last_seen < 120, seen_b
    inv.disconnect(a, "beta")
    assert not list((a / ".git" / "syncassistant" / "seen").iterdir())
    assert not auth_lines(sa)
    inv.disconnect(b, "alpha")


# -- the cloud bridge the invitation carries -------------------------------------------------------
@pytest.fixture
def cloud_keyring(monkeypatch: pytest.MonkeyPatch) -> Iterator[MemoryKeyring]:
    """A keyring that keeps secrets (the session's is the null one); gpg's agent, which
    git-annex's shared encryption starts in this test's HOME, is ended afterwards."""
    backend = MemoryKeyring()
    previous = keyring.get_keyring()
    keyring.set_keyring(backend)
    cloud.forget_cache()
    yield backend
    keyring.set_keyring(previous)
    cloud.forget_cache()
    gnupg = Path(os.environ["HOME"]) / ".gnupg"
    if gnupg.is_dir():
        subprocess.run(["gpgconf", "--homedir", str(gnupg), "--kill", "gpg-agent"], capture_output=True, timeout=30)


def directory_bridge(a: Path, store: Path) -> None:
    """A's cloud remote "cloud": an encrypted directory special remote, history included."""
    store.mkdir()
    cloud.add_cloud_remote(a, "cloud", cloud.check_config("directory", directory=str(store)), None)


def in_cloud(src: Path, name: str, other) -> None:
    """Wait until `src` has pushed `name` to the cloud, then have the other side's daemon look
    now: a cloud sends no change notices, and its poller backs off from 3 s to 5 minutes when
    quiet (engine/network/cloudpoll.py), which this test does not wait out."""
    wait_for(lambda: name in git(src, "ls-tree", "--name-only", "refs/remotes/cloud/synced/master", check=False),
             CLOUD_SYNC, what=f"{name} pushed to the cloud")
    other.sync_now()


def test_no_ssh_server_on_either_joins_through_the_cloud_the_invitation_carries(
        tmp_path: Path, daemons, mailbox: Mailbox, two_sshd, cloud_keyring) -> None:
    """Neither device runs an ssh server, A has a cloud remote: the code alone connects them
    through it (B's folder is a clone of the cloud remote), and files go both ways."""
    a = init_repo(tmp_path / "A", "A")
    (a / "before.txt").write_text("made on A before the invitation\n")
    git(a, "annex", "add", "before.txt")
    git(a, "commit", "-q", "-m", "before")
    directory_bridge(a, tmp_path / "store")
    da = daemons(a)
    b = tmp_path / "B"
    dev_a, dev_b, took = pair(a, b, mailbox, tmp_path, no_server(), no_server())
    assert isinstance(dev_a, inv.Device), dev_a
    assert isinstance(dev_b, inv.Device), dev_b
    print(f"join through the cloud took {took:.2f} s")
    assert (dev_a.name, dev_a.cloud, dev_a.remote, dev_a.authorized_keys) == ("beta", "cloud", None, None)
    assert (dev_b.name, dev_b.cloud, dev_b.remote, dev_b.authorized_keys) == ("alpha", "cloud", None, None)
    assert dev_a.uuid == git(b, "config", "annex.uuid").strip()
    assert dev_b.uuid == git(a, "config", "annex.uuid").strip()
    # no ssh piece anywhere: no keys, no authorized lines, only the cloud remote on each side
    assert pairing_dirs(tmp_path) == [] and all(auth_lines(s) == [] for s in two_sshd)
    assert git(a, "remote").split() == ["cloud"] and git(b, "remote").split() == ["cloud"]
    assert "cipher" not in (b / ".git" / "config").read_text()
    assert [d.name for d in inv.list_devices(a)] == ["beta"] and [d.name for d in inv.list_devices(b)] == ["alpha"]

    db = daemons(b)
    # before.txt's content reaches the cloud only after A's daemon started (upload, then the
    # location log pushed): B learns it is there by looking, and its poller backs off while B
    # is quiet, so B is asked to look every few seconds.
    last = [0.0]

    def before_on_b() -> bool:
        if (b / "before.txt").is_file() and (b / "before.txt").read_text().startswith("made on A"):
            return True
        if time.monotonic() - last[0] > 5:
            last[0] = time.monotonic()
            db.sync_now()
        return False

    wait_for(before_on_b, CLOUD_SYNC, what="A's file on B")
    (b / "from-b.txt").write_text("made on B\n")
    start = time.monotonic()
    in_cloud(b, "from-b.txt", da)
    wait_for(lambda: (a / "from-b.txt").is_file() and (a / "from-b.txt").read_text() == "made on B\n",
             CLOUD_SYNC, what="B's file on A through the cloud")
    print(f"B -> A through the cloud {time.monotonic() - start:.2f} s")
    (a / "from-a.txt").write_text("made on A\n")
    start = time.monotonic()
    in_cloud(a, "from-a.txt", db)
    print(f"A's file in the cloud after {time.monotonic() - start:.2f} s")
    wait_for(lambda: (b / "from-a.txt").is_file() and (b / "from-a.txt").read_text() == "made on A\n",
             CLOUD_SYNC, what="A's file on B through the cloud")
    print(f"A -> B through the cloud {time.monotonic() - start:.2f} s")

    # a device met only through the cloud was last seen when its newest change came
    [beta] = inv.list_devices(a)
    assert beta.last_seen and time.time() - beta.last_seen < CLOUD_SYNC * 3, beta
    # disconnecting forgets the device; the cloud remote stays (others may sync through it)
    gone = inv.disconnect(a, "beta")
    assert gone.cloud == "cloud" and inv.list_devices(a) == []
    assert git(a, "remote").split() == ["cloud"]


def test_ssh_that_fails_both_ways_falls_back_to_the_cloud(tmp_path: Path, mailbox: Mailbox, two_sshd,
                                                           cloud_keyring) -> None:
    """A offers an sshd that refuses B's key, B runs none: instead of failing, every ssh piece
    is taken back and B joins through A's cloud remote; the message says how they connected."""
    sa, _ = two_sshd
    a = init_repo(tmp_path / "A", "A")
    directory_bridge(a, tmp_path / "store")
    unread = tmp_path / "unread_authorized_keys"
    real = access(sa)
    ssh_a = inv.SshAccess(real.user, real.hosts, real.port, real.host_keys, authorized_keys=unread)
    steps_a: list[tuple[str, str]] = []
    steps_b: list[tuple[str, str]] = []
    dev_a, dev_b, _ = pair(a, tmp_path / "B", mailbox, tmp_path, ssh_a, no_server(),
                           invite_kw={"on_step": lambda *s: steps_a.append(s)},
                           join_kw={"on_step": lambda *s: steps_b.append(s)})
    assert isinstance(dev_a, inv.Device) and isinstance(dev_b, inv.Device), (dev_a, dev_b)
    assert dev_a.cloud == dev_b.cloud == "cloud" and dev_a.remote is None and dev_b.remote is None
    # what each side said while it worked: B tried ssh to A (A has no remote: B runs no sshd)
    assert steps_b == [("peer", "alpha"), ("ssh", "alpha"), ("cloud", "cloud")]
    assert steps_a == [("peer", "beta"), ("cloud", "cloud")]
    assert pairing_dirs(tmp_path) == [] and authkeys.MARKER_PREFIX not in unread.read_text()
    assert git(tmp_path / "B", "remote").split() == ["cloud"] and git(a, "remote").split() == ["cloud"]


def test_cloud_bridge_without_credentials_or_into_a_full_folder_fails_clearly(
        tmp_path: Path, mailbox: Mailbox, two_sshd, cloud_keyring) -> None:
    """A WebDAV bridge whose password A does not share: B cannot use it and says why; with
    --share-cloud-credentials's equivalent it works. A folder with files cannot become a clone."""
    from cloud_servers import PASSWORD, USER, DavServer

    with DavServer(tmp_path / "dav") as dav:
        a = init_repo(tmp_path / "A", "A")
        cloud.add_cloud_remote(a, "dav", cloud.check_config("webdav", url=dav.url), cloud.Credentials(USER, PASSWORD))
        dev_a, dev_b, _ = pair(a, tmp_path / "B", mailbox, tmp_path, no_server(), no_server())
        assert isinstance(dev_b, inv.InviteError), dev_b
        assert "needs its user name and password, which the inviting device did not share" in str(dev_b)
        assert isinstance(dev_a, inv.InviteError) and "did not share" in str(dev_a), dev_a
        assert not (tmp_path / "B").exists() and pairing_dirs(tmp_path) == [] and inv.list_devices(a) == []

        full = tmp_path / "full"
        full.mkdir()
        (full / "mine.txt").write_text("already here\n")
        dev_a, dev_b, _ = pair(a, full, mailbox, tmp_path, no_server(), no_server(),
                               invite_kw={"share_cloud_credentials": True})
        assert isinstance(dev_b, inv.InviteError) and "needs a new or empty folder" in str(dev_b), dev_b
        assert sorted(p.name for p in full.iterdir()) == ["mine.txt"] and inv.list_devices(a) == []

        # (B's join takes the credentials from the invitation only, never from this shared keyring:
        # the first attempt above failed with A's password in it)
        dev_a, dev_b, _ = pair(a, tmp_path / "B", mailbox, tmp_path, no_server(), no_server(),
                               invite_kw={"share_cloud_credentials": True})
        assert isinstance(dev_b, inv.Device) and dev_b.cloud == "dav", dev_b
        uuid = git(tmp_path / "B", "config", "remote.dav.annex-uuid").strip()
        assert json.loads(cloud_keyring.items[("syncassistant", f"cloud:{uuid}")])["password"] == PASSWORD
        assert PASSWORD not in (tmp_path / "B" / ".git" / "config").read_text()


def test_a_forged_cloud_bridge_in_an_offer_is_refused() -> None:
    """The share string in an offer is checked like the rest: a type that runs a program, an
    unknown setting, a damaged string, a remote name git would misread: each a clear error."""
    offer = {"type": "offer", "version": 1, "pairing": "0123456789abcdef",
             "uuid": "01234567-89ab-cdef-0123-456789abcdef", "name": "alpha", "path": "/home/a/Sync",
             "key": "ssh-ed25519 " + "A" * 68, "ssh": None}

    def forge(data: dict) -> str:
        return cloud.SHARE_PREFIX + base64.urlsafe_b64encode(json.dumps(data).encode()).decode()

    good = {"name": "cloud", "uuid": "11111111-2222-3333-4444-555555555555", "type": "directory",
            "config": {"directory": "/srv/store", "encryption": "shared", "cipher": "abc"}}
    assert inv.check_offer({**offer, "cloud": forge(good)}).cloud_name == "cloud"
    for bad, why in [
        ({**good, "type": "external"}, "unknown type"),
        ({**good, "config": {**good["config"], "externaltype": "evil"}}, "settings we do not take"),
        ({**good, "config": {**good["config"], "directory": "relative/dir"}}, "not an absolute path"),
        ({**good, "config": {**good["config"], "encryption": "none"}}, "no shared encryption key"),
        ({**good, "name": "-ohno"}, ""),
    ]:
        with pytest.raises(inv.InviteError, match=f"invalid offer \\(cloud bridge: .*{why}"):
            inv.check_offer({**offer, "cloud": forge(bad)})
    for junk in (["a list"], "not a share string", "syncassistant-cloud:v1:!!!", "x" * 20000):
        with pytest.raises(inv.InviteError, match="invalid offer \\(cloud bridge"):
            inv.check_offer({**offer, "cloud": junk})


def test_cli_joins_through_the_cloud_the_invitation_carries(tmp_path: Path, mailbox: Mailbox,
                                                             cloud_keyring) -> None:
    """The command line, neither side with an ssh server: `join` makes the folder from A's
    cloud remote and both say how they are connected; `--no-cloud` carries none."""
    a = init_repo(tmp_path / "A", "A")
    directory_bridge(a, tmp_path / "store")
    cli = [os.path.join(VENV_BIN, "syncassistant")]
    common = ["--mailbox", mailbox.url, "--no-ssh-server", "--timeout", "120"]

    def invite_and_join(*invite_args: str) -> tuple[subprocess.CompletedProcess, str, str, int]:
        inviter = subprocess.Popen([*cli, "invite", str(a), *common, "--name", "alpha", *invite_args],
                                   stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            line = ""
            while "syncassistant join " not in line:
                line = inviter.stdout.readline()
                assert line, inviter.stderr.read()
            joined = subprocess.run([*cli, "join", line.split()[-1], str(tmp_path / "B"), *common, "--name", "beta"],
                                    capture_output=True, text=True, timeout=300)
            out, err = inviter.communicate(timeout=120)
        finally:
            if inviter.poll() is None:
                inviter.kill()
                inviter.communicate()
        return joined, out, err, inviter.returncode

    joined, out, err, rc = invite_and_join("--no-cloud")
    assert joined.returncode == 1 and "neither device runs an ssh server" in joined.stderr, joined.stderr
    assert rc == 1 and not (tmp_path / "B").exists()

    joined, out, err, rc = invite_and_join()
    assert joined.returncode == 0, joined.stderr
    assert "connected alpha: through the cloud remote cloud" in joined.stdout, joined.stdout
    assert rc == 0 and "connected beta: through the cloud remote cloud" in out, (out, err)
    listed = subprocess.run([*cli, "devices", str(tmp_path / "B")], capture_output=True, text=True, timeout=60)
    assert listed.stdout.startswith("alpha: through the cloud remote cloud"), listed.stdout
    gone = subprocess.run([*cli, "devices", str(a), "--disconnect", "beta"], capture_output=True, text=True,
                          timeout=60)
    assert gone.returncode == 0 and "the cloud remote cloud stays" in gone.stdout, gone.stdout
