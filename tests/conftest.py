"""Shared fixtures: isolated git config, real repositories in tmp_path, daemons, an sshd."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import sshd_server  # tests/sshd_server.py: the throwaway sshd, shared with test_netns and bench_ssh

VENV_BIN = os.path.dirname(sys.executable)
os.environ["PATH"] = VENV_BIN + os.pathsep + os.environ.get("PATH", "/usr/bin:/bin")
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from syncassistant.engine.daemon import Daemon  # noqa: E402
from syncassistant.engine.network import sshmux  # noqa: E402
from syncassistant.engine.proc import git as gitmod  # noqa: E402
from syncassistant.engine.repo import init_repo  # noqa: E402


def wait_for(pred: Callable[[], object], timeout: float = 60.0, what: object = "condition") -> object:
    """Poll `pred` until it is truthy; fail the test after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = pred()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what() if callable(what) else what}"
                                 f"\n{diagnosis()}")
        time.sleep(0.01)


def diagnosis() -> str:
    """Where the engine's threads and this process's children are (for a timeout's report)."""
    import threading
    import traceback
    names = {t.ident: t.name for t in threading.enumerate()}
    lines = []
    for ident, frame in sys._current_frames().items():
        name = names.get(ident, "?")
        if name.startswith("syncassistant"):
            stack = traceback.extract_stack(frame)[-7:]
            lines.append(f"thread {name}: " + " < ".join(f"{Path(f.filename).name}:{f.lineno} {f.name}"
                                                         for f in reversed(stack)))
    parent: dict[int, int] = {}
    info: dict[int, str] = {}
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            cmd = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            wchan = Path(f"/proc/{pid}/wchan").read_text().strip()
        except (OSError, IndexError):
            continue
        parent[int(pid)] = int(fields[1])
        info[int(pid)] = f"{pid} [{fields[0]} {wchan or '-'}] {cmd.strip()[:240]}"
    mine, todo = [], [os.getpid()]
    while todo:
        p = todo.pop()
        kids = sorted(c for c, pp in parent.items() if pp == p)
        mine += kids
        todo += kids
    lines += [f"process {info[p]}" for p in mine if p in info]
    # whoever else holds a pipe of ours open (a reader blocked past its child's exit waits on it)
    ours = {}
    for fd in os.listdir("/proc/self/fd"):
        try:
            target = os.readlink(f"/proc/self/fd/{fd}")
        except OSError:
            continue
        if target.startswith("pipe:"):
            ours[target] = fd
    for pid in info:
        if pid == os.getpid():
            continue
        try:
            fds = os.listdir(f"/proc/{pid}/fd")
        except OSError:
            continue
        for fd in fds:
            try:
                target = os.readlink(f"/proc/{pid}/fd/{fd}")
            except OSError:
                continue
            if target in ours and pid not in mine:
                lines.append(f"pipe {target} (our fd {ours[target]}) held as fd {fd} by {info[pid]} "
                             f"(parent {parent.get(pid)})")
    return "\n".join(lines)


def git(repo: Path, *args: str, check: bool = True) -> str:
    deadline = time.monotonic() + 10
    while True:
        r = subprocess.run(["git", *args], cwd=repo, capture_output=True, text=True)
        # git config takes no lock wait: a running git-annex that has just met a remote writes
        # its annex-uuid to .git/config, and a `git remote add` at that moment fails (a user
        # would run it again, and so do we)
        if not (r.returncode and "could not lock config file" in r.stderr and time.monotonic() < deadline):
            break
        time.sleep(0.05)
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

    start.started = started  # type: ignore[attr-defined]  # for fixtures that end them sooner
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
    # The session's own servers (sshd, dbus-daemon) are children too and stay: wait for the rest
    # only (waiting for all cost every teardown after the first ssh test its full 10 s).
    def left() -> list[str]:
        return [c for c in children() if "sshd" not in c and "dbus-daemon" not in c]

    deadline = time.monotonic() + timeout
    while left() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not left(), f"processes left behind: {left()}"


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
    if not sshd_server.available():
        pytest.skip("openssh-server is not installed (run ./setup.sh)")
    port = sshd_server.free_port("127.0.0.1")
    # also on ::1 where this machine has it (for ssh://[::1]:PORT/ URLs), same port
    ipv6 = sshd_server.ipv6_loopback_free(port)
    server = sshd_server.SshServer(tmp_path_factory.mktemp("sshd"), port,
                                   listen=("127.0.0.1", "::1") if ipv6 else ("127.0.0.1",),
                                   bin_dir=VENV_BIN, sftp=True)
    with server:
        yield {"port": port, "dir": server.dir, "ssh_command": server.ssh_command, "proc": server.proc,
               "ipv6": ipv6, "server": server}


@pytest.fixture
def ssh_env(sshd: dict, monkeypatch: pytest.MonkeyPatch) -> dict:
    for name, value in sshd["server"].git_env().items():  # GIT_SSH_COMMAND, GIT_ANNEX_USE_GIT_SSH=1
        monkeypatch.setenv(name, value)
    gitmod.reset_env_cache()
    return sshd


# -- the user's world: repositories made by git-annex itself ----------------------------------------
def plain_annex_repo(path: Path, description: str, clone_of: Path | None = None) -> Path:
    """A clone made the way `git annex` users make them: `git init` or `git clone`, `git annex
    init`, files added locked (symlinks) with `git annex add`; no syncassistant init."""
    if clone_of is None:
        git(path.parent, "init", "-q", str(path))
    else:
        git(path.parent, "clone", "-q", str(clone_of), str(path))
        git(path, "remote", "remove", "origin")
    annex(path, "init", "-q", description)
    return path


@pytest.fixture
def plain_clones(tmp_path: Path) -> Callable[..., list[Path]]:
    """`plain_clones(n)`: n plain git-annex clones of one repository holding a locked file,
    each a remote of every other by its path (named after it)."""
    def make(n: int = 2, names: tuple[str, ...] = ("A", "B", "C", "D")) -> list[Path]:
        first = plain_annex_repo(tmp_path / names[0], names[0])
        (first / "locked.txt").write_text("a locked file from git annex add\n")
        annex(first, "add", "-q", "locked.txt")
        git(first, "commit", "-q", "-m", "a locked file")
        repos = [first] + [plain_annex_repo(tmp_path / name, name, clone_of=first) for name in names[1:n]]
        for r in repos:
            for other in repos:
                if other != r:
                    git(r, "remote", "add", other.name.lower(), str(other))
        for r in repos:
            annex(r, "sync", "-q", timeout=300)
        return repos
    return make


@pytest.fixture
def annex_assistant() -> Iterator[Callable[[Path], subprocess.Popen]]:
    """`annex_assistant(path)` runs the real `git annex assistant` on a clone until the test ends."""
    running: list[tuple[Path, subprocess.Popen]] = []

    def start(path: Path) -> subprocess.Popen:
        proc = subprocess.Popen(["git", "annex", "assistant", "--foreground"], cwd=path,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
        running.append((path, proc))
        wait_for(lambda: (path / ".git/annex/daemon.pid").exists(), 60, what=f"the assistant in {path.name}")
        return proc

    yield start
    for path, proc in running:
        subprocess.run(["git", "annex", "assistant", "--stop"], cwd=path, timeout=60, capture_output=True)
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, 9)
            proc.wait()


# -- idle means idle -------------------------------------------------------------------------------
_TICK = os.sysconf("SC_CLK_TCK")


def tree_cpu(exclude: tuple[str, ...] = ("sshd", "dbus-daemon", "annex assistant")) -> float:
    """CPU seconds used so far by this process (where in-process daemons run), the children it
    has reaped, and every live descendant with its reaped children; the session's own servers
    (and a real git-annex assistant under test) are left out, with their subtrees."""
    t = os.times()
    total = t.user + t.system + t.children_user + t.children_system
    parent: dict[int, int] = {}
    ticks: dict[int, int] = {}
    cmd: dict[int, str] = {}
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            cmd[int(pid)] = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except (OSError, IndexError):
            continue
        parent[int(pid)] = int(fields[1])
        ticks[int(pid)] = sum(int(x) for x in fields[11:15])  # utime stime cutime cstime
    todo = [os.getpid()]
    while todo:
        p = todo.pop()
        for child, pp in parent.items():
            if pp == p and not any(name in cmd.get(child, "") for name in exclude):
                total += ticks[child] / _TICK
                todo.append(child)
    return total


def assert_idle_cpu(seconds: float = 5.0, limit: float = 0.15, what: str = "the daemons") -> float:
    """Over `seconds`, this process and its descendants use under `limit` CPU seconds (idle means
    idle: no loop, watcher or repair step that wakes by itself). Returns what they used."""
    before = tree_cpu()
    time.sleep(seconds)  # measuring, not waiting for a condition
    used = tree_cpu() - before
    assert used < limit, f"{what} used {used:.2f} CPU-s in {seconds:.0f} s while idle\n{diagnosis()}"
    return used
