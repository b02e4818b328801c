"""One ssh connection per host: the ssh ControlMaster options every engine ssh uses, and their end.

This module owns the process's private directory of ControlMaster sockets, the ssh options that
make git pushes and fetches, git-annex transfers and the notifychanges connection to one host
share a single ssh connection, the ssh command built from the user's own and them
(:func:`choose`), and closing those connections when the engine stops (:func:`close_all`).

The user's ssh comes first: git's own choice for the repository (``$GIT_SSH_COMMAND``, else
``core.sshCommand``, else ``$GIT_SSH``, else ssh), word for word, so a ``Host`` alias, key or jump
host of their ``ssh -F config`` works for us as it does for ``git push``; our options and the
remote's ``annex-ssh-options`` are appended to it. ``core.sshCommand`` is per repository (it
may be set in the repository's config), so this module never reads config itself: git.py reads
it per repository and hands it to :func:`choose`, and every git, git-annex and notifychanges
process of a repository gets the command built for it (and for its remote, where it has one).

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
from dataclasses import dataclass, field
from pathlib import Path

from .urls import BadURL, parse_remote_url

log = logging.getLogger(__name__)

CONTROL_PERSIST = 300  # idle seconds a master outlives its last client (a killed daemon's too)
# A master whose link died must notice soon: every new push or transfer waits on it until then.
# 5 s x 3 is a small packet every 5 s while idle, and at most ~15 s of waiting after a cut.
KEEPALIVE = ("-o", "ServerAliveInterval=5", "-o", "ServerAliveCountMax=3")
DEFAULT_SSH = ("ssh", "-o", "BatchMode=yes", "-o", "ConnectTimeout=10")
# sun_path holds 104 bytes on the BSDs (108 on Linux) with its NUL; %C expands to "/" + 40 hex,
# and the master first binds a temporary name, that path + ".XXXXXXXXXXXXXXXX" (17 more)
_SOCKET_ROOM = 103 - 41 - 17

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


@dataclass(frozen=True)
class SshCommand:
    """How ssh is run for one repository (and remote): git's own choice, our sharing on top.

    Either ``shell``, a command line run by ``sh`` the way git runs ``GIT_SSH_COMMAND`` and
    ``core.sshCommand`` (the user's words verbatim, then our options, each shell-quoted), or
    ``program`` (``$GIT_SSH``: run without a shell, with ``options`` before the arguments).
    ``env`` is what git and git-annex need in their environment to run the same ssh.
    """

    shell: str | None
    program: str | None = None
    options: tuple[str, ...] = ()
    is_ssh: bool = False  # OpenSSH's client: takes -o options, -T, -n
    shared: bool = False  # carries our ControlMaster options
    env: dict[str, str] = field(default_factory=dict)

    def argv(self, *args: str) -> list[str]:
        """argv running this ssh with `args` (host, remote command...).

        A command line that a shell would only split into words (no variables, ``~``, quotes
        inside quotes, redirections...) runs as those words, ssh then being our child itself
        (ending it ends the connection); any other runs as git runs it, ``sh -c 'COMMAND "$@"'``,
        with `args` as the shell's positional parameters: never parsed by that shell, whatever
        a URL or path holds."""
        if self.shell is not None:
            words = shell_words(self.shell)
            if words is not None:
                return [*words, *args]
            return ["sh", "-c", self.shell + ' "$@"', "ssh", *args]
        return [self.program or "ssh", *self.options, *args]


# Characters that make sh do more than split words (expansions, globs, redirections, several
# commands, comments, tilde): a command holding any of them is left to sh itself.
_SHELL_SPECIAL = frozenset("$`\\;|&<>()*?[]{}#~!\n")


def shell_words(command: str) -> list[str] | None:
    """`command` split into words exactly as sh would split it, or None when sh would do more
    than split it (then only sh can run it faithfully)."""
    if any(c in _SHELL_SPECIAL for c in command):
        return None
    try:
        words = shlex.split(command)
    except ValueError:
        return None
    if not words or "=" in words[0]:  # VAR=value command: an assignment for sh
        return None
    return words


def annex_ssh_options(value: str | None) -> list[str]:
    """``remote.NAME.annex-ssh-options`` as git-annex reads it: split on whitespace, no quoting."""
    return (value or "").split()


def choose(env: Mapping[str, str], core_command: str | None = None,
           annex_options: str | None = None) -> SshCommand:
    """The ssh that git would run for a repository, with our connection sharing and the
    remote's ``annex-ssh-options`` added where they can be.

    Git's order: ``$GIT_SSH_COMMAND``, else ``core.sshCommand`` (`core_command`, read from the
    repository's config by the caller), else ``$GIT_SSH``, else plain ssh (ours:
    ``DEFAULT_SSH``, no prompts). `env` is the user's environment (not one we built).

    A command line is kept word for word -- a shell runs it, so ``$HOME`` or quoting stay as the
    user wrote them; shlex only looks at it -- and when its program is OpenSSH's ssh our
    ControlMaster options (unless it chooses its own sharing) and then the remote's
    annex-ssh-options are appended, shell-quoted. git-annex ignores core.sshCommand, and
    ``$GIT_SSH_COMMAND`` too unless ``GIT_ANNEX_USE_GIT_SSH=1``: so a command chosen by the user
    goes to git-annex as ``GIT_SSH_COMMAND`` with that switch (only for ssh itself: git-annex adds
    ``-n``, which other programs may not take), else git-annex would reach another host than
    git does. ``$GIT_SSH`` (a program, no options possible) is left to git and git-annex.
    """
    user = env.get("GIT_SSH_COMMAND", "").strip()
    command = user or (core_command or "").strip()
    if not command and env.get("GIT_SSH"):
        program = env["GIT_SSH"]
        if os.path.basename(program) != "ssh":
            return SshCommand(None, program)
        extra = annex_ssh_options(annex_options)
        opts = control_options() if is_plain_ssh([program, *extra]) else []
        return SshCommand(None, program, tuple([*opts, *extra]), is_ssh=True, shared=bool(opts))
    chosen = bool(command)
    command = command or shlex.join(DEFAULT_SSH)
    try:
        argv = shlex.split(command)
    except ValueError:  # unbalanced quotes: the shell will say what it thinks of it
        return SshCommand(command, env={"GIT_SSH_COMMAND": command})
    if not argv or os.path.basename(argv[0]) != "ssh":
        return SshCommand(command, env={"GIT_SSH_COMMAND": command})
    extra = annex_ssh_options(annex_options)
    opts = control_options() if is_plain_ssh([*argv, *extra]) else []
    # ssh takes the first value it gets for an option: the user's words come first and win,
    # then our sharing, then the remote's options (git-annex puts them after its own too)
    full = " ".join([command, *([shlex.join([*opts, *extra])] if opts or extra else [])])
    out = {"GIT_SSH_COMMAND": full}
    if chosen or opts:
        # With GIT_ANNEX_USE_GIT_SSH git-annex runs this same command, so its transfers reach the
        # host the user's command reaches and ride on the master git's pushes opened (it then
        # leaves annex.sshcaching off). Our plain default without sharing is left to git-annex's
        # own ssh and its caching.
        out["GIT_ANNEX_USE_GIT_SSH"] = "1"
    return SshCommand(full, is_ssh=True, shared=bool(opts), env=out)


def ssh_env(env: Mapping[str, str], core_command: str | None = None,
            annex_options: str | None = None) -> dict[str, str]:
    """The ``GIT_SSH_COMMAND`` (and ``GIT_ANNEX_USE_GIT_SSH``) to put into `env` for git and
    git-annex, or {} to leave `env` as it is (``$GIT_SSH``); see :func:`choose`."""
    return choose(env, core_command, annex_options).env


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
    if not any("ControlPath=" in a for a in ssh):  # (inside the script of a `sh -c` argv too)
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
            r = _run([*ssh, "-O", "check", *dest], timeout=10)
            if r.returncode != 0:
                # No master yet: run a no-op; its ssh becomes the master and persists. Not `-N -f`:
                # should a git-annex ssh (which does not come through here) bind the socket first,
                # ssh carries on without multiplexing, and a -N connection would then stay open
                # forever, unseen by close_all. A command ends, whatever happened.
                opened = _run([*ssh, *dest, "true"], timeout=timeout)
                r = _run([*ssh, "-O", "check", *dest], timeout=10)
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


def _run(argv: list[str], timeout: float) -> subprocess.CompletedProcess[str]:
    """subprocess.run in a session of its own whose whole group is killed on timeout: under
    ``sh -c`` ssh is sh's child, and killing sh alone would leave it running. (A master that
    ssh leaves behind has a session of its own: it stays.)"""
    proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, start_new_session=True)
    try:
        out, err = proc.communicate(timeout=timeout)
    except BaseException:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        proc.communicate()
        raise
    return subprocess.CompletedProcess(argv, proc.returncode, out, err)


def connect(url: str, ssh: SshCommand) -> str | None:
    """:func:`ensure_master` for the host of a remote URL with the repository's (and remote's) ssh
    command (:func:`choose`); None also for URLs that are not ssh and commands that do not
    share connections. The command runs as git runs it (see :meth:`SshCommand.argv`)."""
    try:
        parsed = parse_remote_url(url)
    except BadURL:
        return None
    if parsed.kind != "ssh" or not parsed.host or not ssh.shared:
        return None
    return ensure_master(ssh.argv(), destination(parsed.host, parsed.port, parsed.user))


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
