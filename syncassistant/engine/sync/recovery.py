"""Recovering at start-up from a daemon that was killed (SIGKILL, power loss).

A stale `index.lock` (no process has it open) is removed; a half-done merge is finished by the
Merger (both versions kept); uncommitted changes are found with `git status` and committed.
"""

from __future__ import annotations

import logging
from pathlib import Path

from ..proc.lockfiles import open_by_any_process

log = logging.getLogger(__name__)


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
