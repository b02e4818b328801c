"""Files left as pointer files although their content is here, and filling them in.

git-annex fills in an unlocked file when its content arrives, if it knows the file belongs to the
key; it learns that when the file is checked out (a merge). When content arrives in the same
moment as the merge that brings the file (another clone uploading to us while we merge), each
side can miss the other: git-annex queues its key-database writes, so the process storing the
content may not see the file yet, and the one recording the file may not see the content yet.
The file then stays a pointer file, and nothing would look again (the content is here, so no
transfer is needed, and nothing writes the file, so the watcher sees nothing). We look after every
scan of changed paths, after every download and after every merge.

We fill files in ourselves rather than with `git annex fix` or `smudge --update`: git-annex
checks that the file is a pointer, copies the content to a temporary file and renames it over
the file, so a write the user makes in between (a few ms) is replaced, bytes gone (chaos storm
seeds 4 and 5, three lost writes). Here the copy is swapped in with one `renameat2(RENAME_EXCHANGE)`
and what it swapped out is checked: anything but the pointer we read goes back to its name.
"""

from __future__ import annotations

import logging
import os
import secrets
import shutil
import stat
from collections.abc import Iterable
from pathlib import Path

from ..atomicfs import exchange
from ..context import RepoContext
from ..proc.annex import chunk_paths

log = logging.getLogger(__name__)

POINTER_PREFIX = b"/annex/objects/"
POINTER_MAX = 8192  # a pointer file is one short line
# Files we fill in must be hashed once more by the committer's `git annex add` (git-annex does not
# know the new file's inode); above this size git-annex fills them in itself (`smudge --update`).
SAFE_FILL_MAX = 4 * 2**20


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


def _pointer(full: Path) -> tuple[os.stat_result, bytes] | None:
    try:
        st = os.lstat(full)
        if not stat.S_ISREG(st.st_mode) or st.st_size > POINTER_MAX:
            return None
        with open(full, "rb") as f:
            data = f.read(POINTER_MAX + 1)
    except OSError:
        return None
    return (st, data) if data.startswith(POINTER_PREFIX) else None


def _unchanged(path: Path, st: os.stat_result, data: bytes) -> bool:
    """`path` is still the file we read (same inode, size, time and bytes)."""
    try:
        now = os.lstat(path)
        if (now.st_ino, now.st_size, now.st_mtime_ns) != (st.st_ino, st.st_size, st.st_mtime_ns):
            return False
        with open(path, "rb") as f:
            return f.read(POINTER_MAX + 1) == data
    except OSError:
        return False


def fill_in_safely(ctx: RepoContext, paths: Iterable[str]) -> list[str]:
    """Replace those of `paths` that are pointer files whose content is here (up to
    SAFE_FILL_MAX) with the content, never over a write made meanwhile; the paths filled in.
    Touches no index: the committer's next look at them (the watcher sees the swap) finds the
    same key and refreshes the index entry."""
    found: dict[str, tuple[os.stat_result, bytes, str]] = {}
    for p in paths:
        got = _pointer(ctx.root / p)
        if got is not None:
            key = got[1].strip().rsplit(b"/", 1)[-1].decode(errors="replace")
            if key and "\n" not in key:
                found[p] = (*got, key)
    if not found:
        return []
    res = ctx.annex.run("contentlocation", "--batch", input="".join(k + "\n" for *_, k in found.values()),
                        check=False, timeout=600)
    filled = []
    for (p, (st, data, _key)), loc in zip(found.items(), res.stdout.split("\n"), strict=False):
        try:
            small = bool(loc) and os.stat(ctx.root / loc).st_size <= SAFE_FILL_MAX
        except OSError:
            small = False
        if small and _swap_in(ctx.root / p, ctx.root / loc, st, data):
            filled.append(p)
    if filled:
        log.debug("%s: filled in %d file(s) whose content is here", ctx.root, len(filled))
    return filled


def _swap_in(full: Path, obj: Path, st: os.stat_result, data: bytes) -> bool:
    # a short name beside the file (same file system; the watcher ignores the suffix)
    tmp = full.with_name(f".{secrets.token_hex(4)}.syncassistant-tmp")
    try:
        shutil.copyfile(obj, tmp)
        os.chmod(tmp, stat.S_IMODE(st.st_mode))
        if not _unchanged(full, st, data):
            os.unlink(tmp)
            return False
        exchange(tmp, full)
    except OSError as e:
        log.debug("%s: not filled in: %s", full, e)
        tmp.unlink(missing_ok=True)
        return False
    if _unchanged(tmp, st, data):  # what we swapped out is the pointer: done
        tmp.unlink(missing_ok=True)
        return True
    # the user wrote (or saved over) the file in between: their file goes back to its name
    try:
        exchange(tmp, full)
        tmp.unlink(missing_ok=True)
    except OSError as e:
        log.error("%s: a write made while it was filled in is at %s: %s", full, tmp, e)
    return False


def fill_in(ctx: RepoContext, paths: list[str]) -> None:
    """Fill in the files whose content is here but which are still pointer files (the big ones
    with `git annex fix`, which also updates the index)."""
    if not paths:
        return
    log.info("%s: filling in %d file(s) whose content is here: %s", ctx.root, len(paths), paths[:5])
    left = set(paths) - set(fill_in_safely(ctx, paths))
    if left:
        with ctx.lock:  # not while a merge or a commit changes the index
            for chunk in chunk_paths(sorted(left)):
                res = ctx.annex.run("fix", "--quiet", "--", *chunk, check=False, timeout=600)
                if res.returncode != 0:
                    log.warning("%s: git annex fix failed: %s", ctx.root, res.stderr.strip()[:500])
