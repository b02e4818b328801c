"""Invite and join (engine/network/invite.py) with real parts on 127.0.0.1: a magic-wormhole
mailbox server (PyPI magic-wormhole-mailbox-server) per test, two sshd (one per "device", each
with its own authorized_keys and host key), two folders, the real ssh client and git-annex-shell.
"""

from __future__ import annotations

import os
import queue
import socket
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import sshd_server
from conftest import VENV_BIN, git, wait_for

from syncassistant.engine.network import authkeys, sshmux
from syncassistant.engine.network import invite as inv
from syncassistant.engine.repo import init_repo

pytestmark = pytest.mark.slow


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
         join_wait: float = 20.0) -> tuple[object, object, float]:
    """Invite on `a` (a thread), join on `b` with the code; each side's Device or exception,
    and the join's duration."""
    codes: queue.Queue[str] = queue.Queue()
    result: dict[str, object] = {}

    def inviter() -> None:
        try:
            result["a"] = inv.invite(a, ssh=ssh_a, on_code=codes.put, mailbox=mailbox.url, name="alpha",
                                     data_dir=tmp_path / "dataA", wait=60)
        except Exception as e:  # handed to the test
            result["a"] = e

    t = threading.Thread(target=inviter, name="test-inviter")
    t.start()
    try:
        code = codes.get(timeout=30)
    except queue.Empty:
        t.join(60)
        raise AssertionError(f"no code: {result.get('a')!r}") from None
    started = time.monotonic()
    try:
        joined: object = inv.join(code_filter(code), b, ssh=ssh_b, mailbox=mailbox.url, name="beta",
                                  data_dir=tmp_path / "dataB", wait=join_wait)
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
