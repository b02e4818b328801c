"""Recovering at start-up from a daemon that was killed (SIGKILL, power loss).

A stale `index.lock` (no process has it open) is removed; a half-done merge is finished by the
Merger (both versions kept); uncommitted changes are found with `git status` and committed.
"""

from __future__ import annotations

import logging
import os
import time
from pathlib import Path

log = logging.getLogger(__name__)


def open_by_any_process(path: Path) -> bool:
    """Whether any process on this machine has `path` open (a /proc scan; start-up only)."""
    target = os.path.realpath(path)
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        fd_dir = f"/proc/{pid}/fd"
        try:
            fds = os.listdir(fd_dir)
        except OSError:
            continue
        for fd in fds:
            try:
                if os.readlink(f"{fd_dir}/{fd}") == target:
                    return True
            except OSError:
                continue
    return False


def remove_if_stale(lock: Path, min_age: float) -> bool:
    """Remove `lock` if no process has it open and it has not changed for `min_age` seconds.

    git keeps a lock file open while it writes it, then renames it: one that nobody holds and
    that stays was left by a process killed meanwhile, e.g. a git-annex transfer into this clone
    from another clone's daemon, killed mid-way. Left in place it stops every commit and merge
    here for good (issue 15, bench/README.md "What loses edits", 5)."""
    try:
        st = lock.stat()
    except FileNotFoundError:
        return True
    if time.time() - st.st_mtime < min_age or open_by_any_process(lock):
        return False
    try:
        if lock.stat().st_ino != st.st_ino:  # taken again meanwhile
            return False
        lock.unlink()
    except FileNotFoundError:
        return True
    except OSError as e:
        log.error("cannot remove stale %s: %s", lock, e)
        return False
    log.warning("removed %s: held by no process for %.0f s", lock, time.time() - st.st_mtime)
    return True


def remove_stale_locks(git_dir: Path) -> list[str]:
    removed = []
    for name in ("index.lock", "HEAD.lock", "refs/heads/git-annex.lock"):
        lock = git_dir / name
        if lock.exists() and not open_by_any_process(lock):
            try:
                lock.unlink()
                removed.append(name)
                log.warning("removed stale %s left by a killed process", lock)
            except OSError as e:
                log.error("cannot remove stale %s: %s", lock, e)
    return removed
