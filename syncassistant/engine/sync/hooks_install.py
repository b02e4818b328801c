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

def user_post_merge_hook(git_dir: Path, hooks_path: str | None) -> Path | None:
    """The post-merge hook to run after a merge we made (`git read-tree` runs none): the user's
    own, where there is one; None for none or git-annex's stock one, whose work (`git annex
    smudge --update`) the Merger does itself, beside the git-annex branch merge.

    Checked on every merge, so a hook the user adds later is honoured."""
    folder = Path(hooks_path) if hooks_path else Path(git_dir) / "hooks"
    if hooks_path and not folder.is_absolute():
        folder = Path(git_dir).parent / folder
    hook = folder / "post-merge"
    try:
        if hook.read_text(errors="replace") == STOCK_POST_MERGE or not os.access(hook, os.X_OK):
            return None
    except OSError:
        return None
    return hook
