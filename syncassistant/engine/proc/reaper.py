"""Our git and git-annex processes end with the process that started them, even a killed one.

A daemon killed with SIGKILL left its children running: a `git annex copy --batch` that the
rate limiter had SIGSTOPped stayed stopped for good, holding git-annex's transfer lock, and
orphaned batch processes outlived it (the restarted daemon then waited on their locks: "waits:
the other side is moving it" every 2 s, for minutes). Each child carries a mark in its
environment (OWNER_VAR: the owner's pid and start time, which no later process shares), and:

- a guard process, started by the front ends (CLI daemon, tray) in a session of its own, waits
  for the owner's end (EOF on a pipe only the owner holds) and then kills what carries its mark;
- every daemon start kills marked processes whose owner is gone (the guard was killed too).

PR_SET_PDEATHSIG was not used: it fires when the *thread* that started the child ends, and our
batch processes are started by short-lived threads too.

The guard waits in /bin/sh and becomes Python (exec, the same process) only once the owner has
ended: it is a child of the daemon for the daemon's whole life, and a Python waiting there held
12 MB resident (a fifth of an idle daemon's budget), a shell ~2 MB.
"""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys

log = logging.getLogger(__name__)

OWNER_VAR = "SYNCASSISTANT_OWNER"

# $0: the Python to become, $1: this file, $2: the owner's mark. `read` returns false at EOF;
# -I -S: the kill step needs the standard library only, not the venv's site-packages.
_GUARD_SH = 'trap "" INT; while read -r _; do :; done; exec "$0" -I -S "$1" "$2"'


def _start_time(pid: int) -> str | None:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[19]
    except (OSError, IndexError):
        return None


def owner_mark(pid: int | None = None) -> str:
    """The mark of process `pid` (this one by default): "<pid>.<start time in ticks>"."""
    pid = os.getpid() if pid is None else pid
    return f"{pid}.{_start_time(pid)}"


def _alive(mark: str) -> bool:
    pid, _, started = mark.partition(".")
    return pid.isdigit() and _start_time(int(pid)) == started


def marked() -> dict[int, str]:
    """pid -> owner mark of every process (readable to us) that carries one."""
    needle = f"\0{OWNER_VAR}=".encode()
    out = {}
    me = os.getpid()
    for name in os.listdir("/proc"):
        if not name.isdigit() or int(name) == me:
            continue
        try:
            with open(f"/proc/{name}/environ", "rb") as f:
                env = b"\0" + f.read()
        except OSError:
            continue
        at = env.find(needle)
        if at >= 0:
            end = env.find(b"\0", at + len(needle))
            out[int(name)] = env[at + len(needle):end if end >= 0 else None].decode(errors="replace")
    return out


def _kill(pids: list[int]) -> None:
    for pid in pids:
        try:
            os.kill(pid, signal.SIGKILL)  # (a SIGSTOPped process dies of it too)
        except OSError:
            pass


def kill_orphans() -> list[int]:
    """Kill marked processes whose owner has ended; their pids."""
    orphans = sorted(pid for pid, mark in marked().items() if not _alive(mark))
    if orphans:
        log.warning("ending %d process(es) left by a daemon that was killed: %s", len(orphans), orphans[:20])
        _kill(orphans)
    return orphans


def guard() -> subprocess.Popen:
    """Start the guard for this process (see the module docstring). Keep the returned object
    for the life of the process: its stdin pipe is what the guard waits on."""
    env = {k: v for k, v in os.environ.items() if k != OWNER_VAR}
    return subprocess.Popen(["/bin/sh", "-c", _GUARD_SH, sys.executable, os.path.abspath(__file__), owner_mark()],
                            stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            env=env, start_new_session=True, close_fds=True)


def _guard_main(mark: str) -> int:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # a Ctrl-C meant for the daemon is not for us
    try:  # (run by the guard's shell, stdin is at its end already)
        while sys.stdin.buffer.read(4096):
            pass
    except OSError:
        pass
    # The owner has ended. Its children may still be finishing a clean stop: only what carries
    # its mark is ended, and a clean stop has left nothing.
    _kill([pid for pid, m in marked().items() if m == mark])
    return 0


if __name__ == "__main__":
    sys.exit(_guard_main(sys.argv[1]))
