"""Files left as pointer files although their content is here, and filling them in.

git-annex fills in an unlocked file when its content arrives, if it knows the file belongs to the
key; it learns that when the file is checked out (a merge). When content arrives in the same
moment as the merge that brings the file (another clone uploading to us while we merge), each
side can miss the other: git-annex queues its key-database writes, so the process storing the
content may not see the file yet, and the one recording the file may not see the content yet.
The file then stays a pointer file, and nothing would look again (the content is here, so no
transfer is needed, and nothing writes the file, so the watcher sees nothing). `git annex fix`
fills it in. We look after every scan of changed paths and after every download.
"""

from __future__ import annotations

import logging
import os
import stat
from collections.abc import Iterable

from ..context import RepoContext
from ..proc.annex import chunk_paths

log = logging.getLogger(__name__)

POINTER_PREFIX = b"/annex/objects/"
POINTER_MAX = 8192  # a pointer file is one short line


def left_as_pointers(ctx: RepoContext, paths: Iterable[str]) -> list[str]:
    """Those of `paths` (content known to be here) whose work-tree file is still a pointer."""
    out = []
    for p in paths:
        full = ctx.root / p
        try:
            st = os.lstat(full)
            if not stat.S_ISREG(st.st_mode) or st.st_size > POINTER_MAX:
                continue
            with open(full, "rb") as f:
                head = f.read(len(POINTER_PREFIX))
        except OSError:
            continue
        if head == POINTER_PREFIX:
            out.append(p)
    return out


def populated(ctx: RepoContext, path: str) -> bool:
    """The work-tree file holds its content: a symlink that resolves (a locked file) or a regular
    file that is not a pointer file (an unlocked one)."""
    full = ctx.root / path
    try:
        st = os.lstat(full)
        if stat.S_ISLNK(st.st_mode):
            return full.exists()
        if not stat.S_ISREG(st.st_mode):
            return False
    except OSError:
        return False
    return not left_as_pointers(ctx, [path])


def fill_in(ctx: RepoContext, paths: list[str]) -> None:
    """`git annex fix` the files whose content is here but which are still pointer files."""
    if not paths:
        return
    log.info("%s: filling in %d file(s) whose content is here: %s", ctx.root, len(paths), paths[:5])
    with ctx.lock:  # not while a merge or a commit changes the index
        for chunk in chunk_paths(paths):
            res = ctx.annex.run("fix", "--quiet", "--", *chunk, check=False, timeout=600)
            if res.returncode != 0:
                log.warning("%s: git annex fix failed: %s", ctx.root, res.stderr.strip()[:500])
