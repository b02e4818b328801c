"""git's lock files (`index.lock` and the like): which one a killed process left behind."""

from __future__ import annotations

import logging
import os
import time
from pathlib import Path

log = logging.getLogger(__name__)


def open_paths() -> set[str]:
    """Every file some process on this machine has open (a /proc scan: not for every round)."""
    found: set[str] = set()
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
                found.add(os.readlink(f"{fd_dir}/{fd}"))
            except OSError:
                continue
    return found


def open_by_any_process(path: Path) -> bool:
    """Whether any process on this machine has `path` open."""
    return os.path.realpath(path) in open_paths()


def remove_if_stale(lock: Path, min_age: float) -> bool:
    """Remove `lock` if no process has it open and it has not changed for `min_age` seconds.

    git holds a lock file open while it writes it (a ref's lock only until the new value is in
    it, renamed moments later): one that nobody holds and that stays was left by a process killed
    meanwhile, e.g. a git-annex transfer into this clone
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
