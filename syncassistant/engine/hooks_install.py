"""Making git-annex's stock post-receive hook step aside while our daemon runs.

git-annex installs a post-receive hook that starts git-annex twice on every push we receive
(`post-receive --help`, then `post-receive`, which merges synced/git-annex). Our daemon merges
that branch itself when the ref changes, so while it runs the hook only delays every incoming
push. We replace the hook only if it is exactly git-annex's stock one, with a version that does
the same thing unless our daemon holds its lock.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

log = logging.getLogger(__name__)

STOCK_POST_RECEIVE = """#!/bin/sh
# automatically configured by git-annex
if git annex post-receive --help >/dev/null 2>&1; then git annex post-receive; fi
"""

OURS_POST_RECEIVE = """#!/bin/sh
# automatically configured by git-annex
# (adjusted by syncassistant: skipped while its daemon, which does the same merge, runs)
if command -v flock >/dev/null 2>&1 && [ -e "${GIT_DIR:-.}/syncassistant/daemon.lock" ] && \\
   ! flock -n "${GIT_DIR:-.}/syncassistant/daemon.lock" true 2>/dev/null; then exit 0; fi
if git annex post-receive --help >/dev/null 2>&1; then git annex post-receive; fi
"""


def adjust_post_receive(git_dir: Path) -> bool:
    """Install our variant if the hook is git-annex's stock one; True if it is ours now."""
    hook = Path(git_dir) / "hooks" / "post-receive"
    try:
        text = hook.read_text()
    except OSError:
        return False
    if text == OURS_POST_RECEIVE:
        return True
    if text != STOCK_POST_RECEIVE:
        return False
    tmp = hook.with_name("post-receive.syncassistant-tmp")
    tmp.write_text(OURS_POST_RECEIVE)
    os.chmod(tmp, 0o755)
    os.replace(tmp, hook)
    log.info("%s: post-receive hook now skips while the daemon runs", hook)
    return True


# -- post-merge: run git-annex's work-tree update ourselves, alongside the branch merge ----------

STOCK_POST_MERGE = """#!/bin/sh
# automatically configured by git-annex
git annex smudge --update
"""

# Hooks `git merge --no-verify` would still run; any of them (but a stock post-merge) means we
# leave the merge to the hooks as they are.
_MERGE_HOOKS = ("prepare-commit-msg", "reference-transaction")


def hookless_merge_dir(git_dir: Path) -> Path | None:
    """An empty hooks folder to merge with (`-c core.hooksPath=...`) when the only hook a merge
    would run is git-annex's stock post-merge, which the Merger then runs itself (as
    `git annex smudge --update`, at the same time as the git-annex branch merge); else None.

    Checked on every merge, so a hook the user adds later is honoured."""
    hooks = Path(git_dir) / "hooks"
    if any((hooks / name).exists() for name in _MERGE_HOOKS):
        return None
    try:
        if (hooks / "post-merge").read_text() != STOCK_POST_MERGE:
            return None
    except OSError:
        return None
    empty = Path(git_dir) / "syncassistant" / "no-hooks"
    try:
        empty.mkdir(parents=True, exist_ok=True)
    except OSError:
        return None
    return empty if not any(empty.iterdir()) else None
