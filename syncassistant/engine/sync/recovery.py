"""Recovering at start-up from a daemon that was killed (SIGKILL, power loss).

Stale lock files (`index.lock`, a ref's lock; no process has them open) are removed; a half-done merge is finished by the
Merger (both versions kept); uncommitted changes are found with `git status` and committed.
"""

from __future__ import annotations

import logging
import os
import time
from pathlib import Path

from ..proc.lockfiles import open_paths

log = logging.getLogger(__name__)


# Written only by this clone's daemon (which holds the daemon lock while we start): a lock here
# that no process holds was left by our killed predecessor, whatever its age.
OURS = ("index.lock", "HEAD.lock", "refs/heads/git-annex.lock")
# Others (another clone's push writes refs/heads/synced/*) close a ref lock before renaming it:
# one that nobody holds is stale only once it is this old.
OTHERS_AGE = 2.0


def remove_stale_locks(git_dir: Path) -> list[str]:
    """Remove the lock files of git_dir (top level and under refs/) that a killed process left.

    A ref lock left by a `git update-ref` killed with our daemon (refs/heads/master.lock) stopped
    every commit and merge of that clone for good, across restarts (chaos kill seed 3)."""
    ours = set(OURS)
    head = git_dir / "HEAD"
    try:
        target = head.read_text().strip()
        if target.startswith("ref: "):
            ours.add(target[5:] + ".lock")
    except OSError:
        pass
    candidates = [p for p in git_dir.glob("*.lock") if p.is_file()]
    candidates += [p for p in (git_dir / "refs").rglob("*.lock") if p.is_file()]
    if not candidates:
        return []
    open_now = open_paths()
    removed = []
    for lock in candidates:
        name = lock.relative_to(git_dir).as_posix()
        if os.path.realpath(lock) in open_now:
            continue
        try:
            if name not in ours and time.time() - lock.stat().st_mtime < OTHERS_AGE:
                continue
            lock.unlink()
        except FileNotFoundError:
            continue
        except OSError as e:
            log.error("cannot remove stale %s: %s", lock, e)
            continue
        removed.append(name)
        log.warning("removed stale %s left by a killed process", lock)
    return removed
