"""One ssh connection per host: the ssh ControlMaster options every engine ssh uses, and their end.

This module owns the process's private directory of ControlMaster sockets, the ssh options that
make git pushes and fetches, git-annex transfers and the notifychanges connection to one host
share a single ssh connection, the ``GIT_SSH_COMMAND`` built from them (:func:`ssh_env`), and
closing those connections when the engine stops (:func:`close_all`).

Why our own ControlMaster rather than git-annex's ``annex.sshcaching``: git-annex caches only
its own ssh connections (sockets in ``.git/annex/ssh/``) and stops them when each git-annex
process ends, so git's pushes and fetches and every new ``copy --batch`` process made fresh
handshakes. One ``GIT_SSH_COMMAND`` with ``GIT_ANNEX_USE_GIT_SSH=1`` makes git and git-annex use
the same command and so the same master (git-annex then leaves its own caching off).

The directory is per process (``<runtime dir>/syncassistant-ssh/<pid>`` or
``/tmp/syncassistant-ssh-<uid>/<pid>``, mode 0700): stopping one daemon closes only its own
masters, never a connection another process is transferring over, and two processes reaching
the same host:port from different network namespaces never share a socket. Masters persist
between pushes (``ControlPersist``) and are closed by :func:`close_all` when the engine stops
(the CLI and the tray call it; an ``atexit`` hook is the safety net). A daemon that is killed
leaves masters that end on their own after ``CONTROL_PERSIST`` idle seconds.
"""

from __future__ import annotations

import atexit
import logging
import os
import shlex
import shutil
import signal
import stat
import subprocess
import tempfile
import threading
import time
from collections.abc import Mapping
from pathlib import Path

from .urls import BadURL, parse_remote_url

log = logging.getLogger(__name__)

CONTROL_PERSIST = 300  # idle seconds a master outlives its last client (a killed daemon's too)
# A master whose link died must notice soon: every new push or transfer waits on it until then.
# 5 s x 3 is a small packet every 5 s while idle, and at most ~15 s of waiting after a cut.
KEEPALIVE = ("-o", "ServerAliveInterval=5", "-o", "ServerAliveCountMax=3")
DEFAULT_SSH = ("ssh", "-o", "BatchMode=yes", "-o", "ConnectTimeout=10")
_SOCKET_ROOM = 104 - 41  # sun_path holds ~104 bytes on Linux and BSDs; %C expands to 40 hex + "/"

_lock = threading.Lock()
_dir: Path | None = None
_dir_pid: int | None = None
_atexit_done = False


def _base_dir() -> Path:
    runtime = os.environ.get("XDG_RUNTIME_DIR")
    if runtime and os.path.isdir(runtime):
        return Path(runtime) / "syncassistant-ssh"
    return Path(tempfile.gettempdir()) / f"syncassistant-ssh-{os.getuid()}"


def _private_dir(path: Path) -> bool:
    """Make `path` (mode 0700) unless it exists; True if it is a directory only we can use."""
    try:
        path.mkdir(mode=0o700, exist_ok=True)
        st = path.lstat()
    except OSError as e:
        log.debug("cannot make %s: %s", path, e)
        return False
    return stat.S_ISDIR(st.st_mode) and st.st_uid == os.getuid() and not st.st_mode & 0o077


def control_dir() -> Path | None:
    """This process's private socket directory, made on first use; None: no connection sharing
    (the directory is not private to us, or its path leaves no room for a socket name)."""
    global _dir, _dir_pid, _atexit_done
    with _lock:
        pid = os.getpid()
        if _dir_pid == pid:  # after fork() the child gets a directory of its own
            return _dir
        _dir_pid, _dir = pid, None
        base = _base_dir()
        if not _private_dir(base):
            log.warning("%s is not a private directory of ours: ssh connections are not shared", base)
            return None
        d = base / str(pid)
        if len(str(d)) > _SOCKET_ROOM:
            log.info("%s is too long a path for ssh control sockets: ssh connections are not shared", d)
            return None
        _remove_stale(base, pid)
        if not _private_dir(d):
            return None
        _dir = d
        if not _atexit_done:
            atexit.register(close_all)
            _atexit_done = True
        return d


def _remove_stale(base: Path, me: int) -> None:
    """Close masters and remove directories left by processes of ours that are gone (killed)."""
    try:
        entries = list(base.iterdir())
    except OSError:
        return
    for d in entries:
        if not d.name.isdigit() or int(d.name) == me or os.path.exists(f"/proc/{d.name}"):
            continue
        _close_dir(d)


def control_options() -> list[str]:
    """ssh options that share one connection per host (empty if sharing is not possible)."""
    d = control_dir()
    if d is None:
        return []
    return ["-o", "ControlMaster=auto", "-o", f"ControlPath={d}/%C",
            "-o", f"ControlPersist={CONTROL_PERSIST}", *KEEPALIVE]


def is_plain_ssh(argv: list[str]) -> bool:
    """OpenSSH's client that we may add options to: its program is named ssh, and it does not
    choose its own connection sharing (then that choice is the user's and stays)."""
    if not argv or os.path.basename(argv[0]) != "ssh":
        return False
    if any(a == "-M" or a.startswith("-S") for a in argv[1:]):
        return False
    lowered = [a.lower() for a in argv[1:]]
    return not any("controlmaster" in a or "controlpath" in a for a in lowered)


def ssh_env(env: Mapping[str, str]) -> dict[str, str]:
    """The ``GIT_SSH_COMMAND`` (and ``GIT_ANNEX_USE_GIT_SSH``) to put into `env` for git and
    git-annex, or {} to leave `env` as it is.

    A user's ``GIT_SSH_COMMAND`` is kept word for word (a shell runs it: shlex only looks at it)
    with our options appended when it is plain ssh; a command that is not ssh, or that chooses
    its own ControlMaster, is left alone. ``$GIT_SSH`` (a program, no options possible) is left
    alone too: setting ``GIT_SSH_COMMAND`` would override it.
    """
    user = env.get("GIT_SSH_COMMAND", "").strip()
    if not user and env.get("GIT_SSH"):
        return {}
    command = user or shlex.join(DEFAULT_SSH)
    try:
        argv = shlex.split(command)
    except ValueError:
        return {"GIT_SSH_COMMAND": command}
    opts = control_options() if is_plain_ssh(argv) else []
    if not opts:
        return {"GIT_SSH_COMMAND": command}
    # With GIT_ANNEX_USE_GIT_SSH git-annex runs this same command, so its transfers ride on the
    # master git's pushes opened (and it leaves annex.sshcaching off). A user who set
    # GIT_SSH_COMMAND for git gets it for git-annex too, which is how they reach that server.
    return {"GIT_SSH_COMMAND": command + " " + shlex.join(opts), "GIT_ANNEX_USE_GIT_SSH": "1"}


_host_locks: dict[tuple[str, ...], threading.Lock] = {}
_known_masters: dict[tuple[str, ...], int] = {}  # destination -> master pid last seen running


def destination(host: str, port: int | None, user: str | None) -> list[str]:
    """ssh's arguments naming a host the way git passes them (`[-p PORT] [user@]host`)."""
    host = host[1:-1] if host.startswith("[") and host.endswith("]") else host  # IPv6: no brackets
    return [*(["-p", str(port)] if port else []), f"{user}@{host}" if user else host]


def ensure_master(ssh: list[str], dest: list[str], timeout: float = 30.0) -> str | None:
    """Open the shared connection to `dest` now unless it is up; None when it is up (or `ssh`
    does not share connections), else ssh's error in one line.

    ssh's ControlMaster=auto alone lets clients that start at the same moment (the first push,
    the notifychanges session, a fetch) each find no master and each open a connection: the
    callers we start go through here, one at a time per host, so the first opens the master
    and the others find it. Checking is a `ssh -O check` (~10 ms, no network), skipped while
    the master pid we saw is alive. Opening costs a no-op remote command (`true`).
    """
    if not any(a.startswith("ControlPath=") for a in ssh):
        return None
    key = (str(os.getpid()), *ssh, *dest)
    with _lock:
        lock = _host_locks.setdefault(key, threading.Lock())
    with lock:
        pid = _known_masters.get(key)
        if pid and _alive(pid):
            return None
        _known_masters.pop(key, None)
        try:
            r = subprocess.run([*ssh, "-O", "check", *dest], stdin=subprocess.DEVNULL, capture_output=True,
                               text=True, timeout=10)
            if r.returncode != 0:
                # No master yet: run a no-op; its ssh becomes the master and persists. Not `-N -f`:
                # should a git-annex ssh (which does not come through here) bind the socket first,
                # ssh carries on without multiplexing, and a -N connection would then stay open
                # forever, unseen by close_all. A command ends, whatever happened.
                opened = subprocess.run([*ssh, *dest, "true"], stdin=subprocess.DEVNULL, capture_output=True,
                                        text=True, timeout=timeout)
                r = subprocess.run([*ssh, "-O", "check", *dest], stdin=subprocess.DEVNULL,
                                   capture_output=True, text=True, timeout=10)
                if r.returncode != 0 and opened.returncode != 0:
                    lines = [ln.strip() for ln in opened.stderr.splitlines() if ln.strip()]
                    return lines[-1] if lines else f"ssh exit status {opened.returncode}"
        except subprocess.TimeoutExpired:
            return f"ssh to {dest[-1]} timed out after {timeout:.0f} s"
        except OSError as e:
            return f"cannot run ssh: {e}"
        if "pid=" in r.stderr:
            try:
                _known_masters[key] = int(r.stderr.split("pid=", 1)[1].split(")", 1)[0])
            except ValueError:
                pass
        return None


def connect(url: str, env: Mapping[str, str]) -> str | None:
    """:func:`ensure_master` for the host of a remote URL, with the ssh command of `env` (the
    engine's base environment); None also for URLs that are not ssh and commands we cannot run
    without the shell git would use (variables, quoting tricks)."""
    try:
        parsed = parse_remote_url(url)
    except BadURL:
        return None
    command = env.get("GIT_SSH_COMMAND", "")
    if parsed.kind != "ssh" or not parsed.host or not command or any(c in command for c in "$`\\;|&<>*?"):
        return None
    try:
        ssh = shlex.split(command)
    except ValueError:
        return None
    return ensure_master(ssh, destination(parsed.host, parsed.port, parsed.user))


def masters() -> dict[str, int]:
    """Running masters of this process: socket path -> master pid."""
    d = _dir if _dir_pid == os.getpid() else None
    return _masters_in(d) if d else {}


def _masters_in(d: Path) -> dict[str, int]:
    found: dict[str, int] = {}
    try:
        sockets = [p for p in d.iterdir() if p.is_socket()]
    except OSError:
        return found
    for sock in sockets:
        pid = _master_pid(sock)
        if pid:
            found[str(sock)] = pid
    return found


def _control(sock: Path, op: str) -> subprocess.CompletedProcess[str] | None:
    """``ssh -O op`` on one socket. The path is given literally (no %C), so the host argument
    is a placeholder, and ``-F none`` keeps any user config (Match exec...) out of it."""
    ssh = shutil.which("ssh") or "ssh"
    try:
        return subprocess.run([ssh, "-F", "none", "-o", f"ControlPath={sock}", "-O", op, "placeholder"],
                              stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=5)
    except (OSError, subprocess.TimeoutExpired):
        return None


def _master_pid(sock: Path) -> int | None:
    r = _control(sock, "check")  # "Master running (pid=1234)" on stderr
    if r is None or r.returncode != 0 or "pid=" not in r.stderr:
        return None
    try:
        return int(r.stderr.split("pid=", 1)[1].split(")", 1)[0])
    except ValueError:
        return None


def _close_dir(d: Path, timeout: float = 5.0) -> None:
    """Ask every master in `d` to exit, wait for each (SIGTERM if it will not), remove `d`."""
    pids = _masters_in(d)
    for sock in pids:
        _control(Path(sock), "exit")
    deadline = time.monotonic() + timeout
    for pid in pids.values():
        while _alive(pid) and time.monotonic() < deadline:
            time.sleep(0.02)
        if _alive(pid):
            log.warning("ssh master %d did not exit: terminating it", pid)
            try:
                os.kill(pid, signal.SIGTERM)
            except OSError:
                pass
    shutil.rmtree(d, ignore_errors=True)


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return False


def close_all() -> None:
    """End this process's ssh masters (call after every daemon stopped; idempotent)."""
    global _dir, _dir_pid
    with _lock:
        d = _dir if _dir_pid == os.getpid() else None
        _dir, _dir_pid = None, None
        _known_masters.clear()
    if d is not None:
        _close_dir(d)
