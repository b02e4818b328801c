"""Shared fixtures: isolated git config, real repositories in tmp_path, daemons, an sshd."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

VENV_BIN = os.path.dirname(sys.executable)
os.environ["PATH"] = VENV_BIN + os.pathsep + os.environ.get("PATH", "/usr/bin:/bin")
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from syncassistant.engine import git as gitmod  # noqa: E402
from syncassistant.engine import sshmux  # noqa: E402
from syncassistant.engine.daemon import Daemon  # noqa: E402
from syncassistant.engine.repo import init_repo  # noqa: E402


def wait_for(pred: Callable[[], object], timeout: float = 60.0, what: object = "condition") -> object:
    """Poll `pred` until it is truthy; fail the test after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = pred()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what() if callable(what) else what}")
        time.sleep(0.01)


def git(repo: Path, *args: str, check: bool = True) -> str:
    r = subprocess.run(["git", *args], cwd=repo, capture_output=True, text=True)
    if check and r.returncode:
        raise AssertionError(f"git {' '.join(args)} failed: {r.stderr}")
    return r.stdout


def annex(repo: Path, *args: str, check: bool = True, timeout: float = 120) -> str:
    r = subprocess.run(["git", "annex", *args], cwd=repo, capture_output=True, text=True, timeout=timeout)
    if check and r.returncode:
        raise AssertionError(f"git annex {' '.join(args)} failed: {r.stderr}")
    return r.stdout if check else r.stdout + r.stderr


@pytest.fixture(autouse=True)
def isolated_env(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Never touch the user's git config, keyring or XDG dirs."""
    home = tmp_path_factory.mktemp("home")
    cfg = home / "gitconfig"
    cfg.write_text("[user]\n\tname = Test\n\temail = test@example.invalid\n"
                   "[init]\n\tdefaultBranch = master\n[protocol \"file\"]\n\tallow = always\n")
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", str(cfg))
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home / ".config"))
    monkeypatch.setenv("XDG_DATA_HOME", str(home / ".local/share"))
    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", "keyring.backends.null.Keyring")
    monkeypatch.delenv("GIT_SSH_COMMAND", raising=False)
    gitmod.reset_env_cache()
    yield
    gitmod.reset_env_cache()


@pytest.fixture
def make_repo(tmp_path: Path) -> Callable[..., Path]:
    def make(name: str, clone_of: Path | None = None) -> Path:
        path = tmp_path / name
        if clone_of is not None:
            git(tmp_path, "clone", "-q", str(clone_of), str(path))
        init_repo(path, name)
        return path
    return make


def link(a: Path, b: Path, name_in_a: str, name_in_b: str | None = None) -> None:
    """Make b a remote of a (and a of b when name_in_b is given)."""
    git(a, "remote", "add", name_in_a, str(b))
    if name_in_b:
        git(b, "remote", "add", name_in_b, str(a))


@pytest.fixture
def daemons() -> Iterator[Callable[[Path], Daemon]]:
    started: list[Daemon] = []

    def start(path: Path) -> Daemon:
        d = Daemon(path)
        d.start()
        started.append(d)
        return d

    yield start
    for d in reversed(started):
        if d._started:
            d.stop()
    # ssh masters detach from us (their parent is init), so assert_no_children cannot see them:
    # end them as the CLI and the tray do after stopping their daemons, and check they went
    masters = sshmux.masters()
    sshmux.close_all()
    left = [pid for pid in masters.values() if alive(pid)]
    assert not left, f"ssh masters left behind: {left}"
    assert_no_children()


def alive(pid: int) -> bool:
    """The process runs (a zombie waiting for init to reap it does not count)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return False


def children() -> list[str]:
    """Descriptions of live (non-zombie) child processes of the test process."""
    me = str(os.getpid())
    found = []
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            with open(f"/proc/{pid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            if fields[1] == me and fields[0] != "Z":
                with open(f"/proc/{pid}/cmdline", "rb") as f:
                    cmd = f.read().replace(b"\0", b" ").decode(errors="replace")
                found.append(f"{pid}: {cmd}")
        except OSError:
            continue
    return found


def assert_no_children(timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while children() and time.monotonic() < deadline:
        time.sleep(0.05)
    left = [c for c in children() if "sshd" not in c and "dbus-daemon" not in c]
    assert not left, f"processes left behind: {left}"


def in_tree(repo: Path, rel: str) -> bool:
    return os.path.lexists(repo / rel)


def tree_files(repo: Path) -> set[str]:
    out = set()
    for root, dirs, files in os.walk(repo):
        if ".git" in dirs:
            dirs.remove(".git")
        for f in files:
            out.add(os.path.relpath(os.path.join(root, f), repo))
    return out


# -- ssh ------------------------------------------------------------------------------------------
@pytest.fixture(scope="session")
def sshd(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict]:
    """A throwaway sshd on 127.0.0.1 (key auth only, git-annex-shell on PATH)."""
    if not shutil.which("sshd", path="/usr/sbin:/usr/bin"):
        pytest.skip("openssh-server is not installed (run ./setup.sh)")
    d = tmp_path_factory.mktemp("sshd")
    os.chmod(d, 0o700)
    for key, comment in (("host_ed25519", "host"), ("id_ed25519", "client")):
        subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(d / key), "-C", comment],
                       check=True)
    shutil.copy(d / "id_ed25519.pub", d / "authorized_keys")
    os.chmod(d / "authorized_keys", 0o600)
    import socket
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    # also on ::1 where this machine has it (for ssh://[::1]:PORT/ URLs), same port
    ipv6 = False
    try:
        with socket.socket(socket.AF_INET6) as s6:
            s6.bind(("::1", port))
        ipv6 = True
    except OSError:
        pass
    listen6 = "ListenAddress ::1\n" if ipv6 else ""
    (d / "sshd_config").write_text(f"""Port {port}
ListenAddress 127.0.0.1
{listen6}HostKey {d}/host_ed25519
PidFile {d}/sshd.pid
AuthorizedKeysFile {d}/authorized_keys
StrictModes no
PubkeyAuthentication yes
PasswordAuthentication no
KbdInteractiveAuthentication no
PermitRootLogin prohibit-password
UsePAM no
SetEnv PATH={VENV_BIN}:/usr/local/bin:/usr/bin:/bin
Subsystem sftp internal-sftp
LogLevel VERBOSE
""")
    (d / "ssh_config").write_text(f"""Host *
  User {os.environ.get('USER') or 'root'}
  IdentityFile {d}/id_ed25519
  IdentitiesOnly yes
  UserKnownHostsFile {d}/known_hosts
  StrictHostKeyChecking accept-new
  BatchMode yes
  ConnectTimeout 5
""")
    os.makedirs("/run/sshd", exist_ok=True)
    log = open(d / "sshd.log", "w")
    proc = subprocess.Popen(["/usr/sbin/sshd", "-D", "-e", "-f", str(d / "sshd_config")],
                            stdout=log, stderr=subprocess.STDOUT)
    wait_for(lambda: "Server listening" in (d / "sshd.log").read_text(), 10, "sshd to listen")
    if ipv6:
        ipv6 = bool(wait_for(lambda: "Server listening on ::1" in (d / "sshd.log").read_text(), 10,
                             "sshd to listen on ::1"))
    info = {"port": port, "dir": d, "ssh_command": f"ssh -F {d}/ssh_config", "proc": proc, "ipv6": ipv6}
    yield info
    proc.terminate()
    proc.wait(10)
    log.close()


@pytest.fixture
def ssh_env(sshd: dict, monkeypatch: pytest.MonkeyPatch) -> dict:
    monkeypatch.setenv("GIT_SSH_COMMAND", sshd["ssh_command"])
    monkeypatch.setenv("GIT_ANNEX_USE_GIT_SSH", "1")  # git-annex honours GIT_SSH_COMMAND only with this
    gitmod.reset_env_cache()
    return sshd
