"""Locked files: git-annex's symlinks into `.git/annex/objects`, recognised without git-annex.

Repositories made by `git annex init` (and by the git-annex assistant) add files locked: the file
becomes a symlink to its content. Handing such a symlink back to `git annex add --batch` makes
git-annex write it anew (moved aside and created again, even when nothing changed), which the
watcher sees as a change, which is added again: a loop that kept a core busy on every adopted
clone. A symlink that already points at its content from where it stands needs no git-annex at
all: staging it is a `git update-index`, which touches nothing in the work tree. Only a symlink
moved to another folder (its relative target now wrong) goes to git-annex, which rewrites it once.
"""

from __future__ import annotations

import os
from enum import Enum
from pathlib import Path

OBJECTS = "annex/objects/"


class LinkState(Enum):
    NOT_ANNEXED = "not annexed"  # a regular file, a folder, a plain symlink, or gone
    RIGHT = "right"  # a symlink to annexed content that resolves from where it stands
    MOVED = "moved"  # a symlink to annexed content whose relative target is wrong here


def link_state(root: Path, git_dir: Path, rel: str) -> LinkState:
    """What `rel` is, judged from its symlink target alone (the content need not be here)."""
    full = os.path.join(root, rel)
    try:
        target = os.readlink(full)
    except OSError:  # not a symlink, or gone
        return LinkState.NOT_ANNEXED
    at = target.find(OBJECTS)
    if at < 0:
        return LinkState.NOT_ANNEXED
    parts = target[at + len(OBJECTS):].split("/")
    if len(parts) < 2 or parts[-1] != parts[-2]:  # .../KEY/KEY
        return LinkState.NOT_ANNEXED
    suffix = target[at + len(OBJECTS):]
    resolved = os.path.normpath(os.path.join(os.path.dirname(full), target))
    expected = {os.path.normpath(os.path.join(root, ".git", OBJECTS, suffix)),
                os.path.normpath(os.path.join(git_dir, OBJECTS, suffix))}
    return LinkState.RIGHT if resolved in expected else LinkState.MOVED
