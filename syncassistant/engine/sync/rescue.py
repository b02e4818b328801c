"""Keeping the user's own bytes at a conflicted path while a merge is resolved.

A daemon killed mid-merge leaves the merge in progress (MERGE_HEAD, unmerged paths). If the user
then saves one of those files, the file at the conflicted path is neither side of the merge: it
is the newest edit of all. Resolving the conflict (both sides kept as variants) removes the
file at that path, and with it the edit, which was in no commit and no annex object. So before a
conflict is resolved, every file at an unmerged path that is not what the merge itself wrote
(one side's pointer, symlink or content, or git's conflict markers around the sides' lines) is
copied aside into `.git/syncassistant/rescued/`, and put back after the resolution: at its name if
that is free, else beside it as `name.variant-edit.ext`. The watcher then sees it and it is
committed like any edit.
"""

from __future__ import annotations

import filecmp
import logging
import os
import re
import shutil
import stat
import uuid
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from ..context import RepoContext

log = logging.getLogger(__name__)

SMALL = 64 * 1024  # pointer files, symlink targets and conflict-marked pointers are tiny
KEY_SIZE = re.compile(r"-s(\d+)-")
MARKERS = (b"<<<<<<< ", b"=======", b">>>>>>> ", b"||||||| ")


@dataclass
class Rescued:
    path: str  # the conflicted path, relative to the work tree
    kept: Path  # where the user's file waits meanwhile


def _stages(ctx: RepoContext) -> dict[str, list[str]]:
    """Unmerged path -> blob ids of its stages (base, ours, theirs; those that exist)."""
    out: dict[str, list[str]] = {}
    res = ctx.git.run("ls-files", "-u", "-z", check=False)
    for rec in res.stdout.split("\0"):
        if not rec:
            continue
        meta, _, path = rec.partition("\t")
        fields = meta.split()
        if len(fields) == 3:
            out.setdefault(path, []).append(fields[1])
    return out


def _blob_contents(ctx: RepoContext, shas: list[str]) -> dict[str, bytes]:
    if not shas:
        return {}
    res = ctx.git.run("cat-file", "--batch", input="".join(f"{s}\n" for s in shas).encode(), check=False)
    data = res.stdout if isinstance(res.stdout, bytes) else res.stdout.encode("utf-8", "surrogateescape")
    out: dict[str, bytes] = {}
    pos = 0
    while pos < len(data):
        nl = data.index(b"\n", pos)
        head = data[pos:nl].split()
        pos = nl + 1
        if len(head) < 3:  # "<sha> missing"
            continue
        size = int(head[2])
        out[head[0].decode()] = data[pos:pos + size]
        pos += size + 1
    return out


def _key_of(pointer: bytes) -> str | None:
    text = pointer.strip().decode(errors="replace")
    if "/annex/objects/" not in text or "\n" in text:
        return None
    return text.rsplit("/", 1)[-1]


def _is_sides_content(ctx: RepoContext, full: Path, st: os.stat_result, keys: set[str]) -> bool:
    """The regular file `full` holds the content of one of `keys` (compared with the annex
    object where it is here; a file of another size cannot be one of them)."""
    for key in keys:
        m = KEY_SIZE.search(key)
        if m and int(m.group(1)) != st.st_size:
            continue
        res = ctx.annex.run("contentlocation", key, check=False)
        loc = res.stdout.strip()
        if res.returncode == 0 and loc and filecmp.cmp(full, ctx.root / loc, shallow=False):
            return True
    return False


def _merge_wrote(ctx: RepoContext, full: Path, sides: list[bytes]) -> bool:
    """`full` is what the merge itself left at a conflicted path, not a later edit."""
    try:
        st = os.lstat(full)
    except OSError:
        return True  # nothing there to keep
    if stat.S_ISLNK(st.st_mode):
        target = os.fsencode(os.readlink(full))
        return any(target == s.rstrip(b"\n") for s in sides) or _key_of(target) in {
            _key_of(s) for s in sides if _key_of(s)}
    if not stat.S_ISREG(st.st_mode):
        return True  # a folder in the way: git keeps it; nothing of the user's is lost here
    keys = {k for k in (_key_of(s) for s in sides) if k}
    if st.st_size <= SMALL:
        data = full.read_bytes()
        if any(data == s for s in sides):
            return True
        if _key_of(data) in keys:
            return True
        if data.startswith(MARKERS[0]) or b"\n" + MARKERS[0] in data:
            lines = {ln.rstrip(b"\r") for s in sides for ln in s.split(b"\n")}
            if all(ln.rstrip(b"\r") in lines or ln.startswith(MARKERS) for ln in data.split(b"\n")):
                return True
    return bool(keys) and _is_sides_content(ctx, full, st, keys)


def set_aside_edits(ctx: RepoContext) -> list[Rescued]:
    """Move the user's edits at unmerged paths out of the work tree (caller holds ctx.lock)."""
    stages = _stages(ctx)
    if not stages:
        return []
    blobs = _blob_contents(ctx, sorted({s for shas in stages.values() for s in shas}))
    kept: list[Rescued] = []
    folder = ctx.state_dir / "rescued"
    for path, shas in stages.items():
        full = ctx.root / path
        if _merge_wrote(ctx, full, [blobs.get(s, b"") for s in shas]):
            continue
        folder.mkdir(exist_ok=True)
        dest = folder / uuid.uuid4().hex[:12]
        try:
            # where it belongs, first: a daemon killed before putting it back does so at start
            (folder / f"{dest.name}.path").write_bytes(os.fsencode(path))
            # a copy: the resolution looks at the file (git-annex's resolvemerge fails on a
            # conflicted file that is gone), then removes it or keeps it
            shutil.copy2(full, dest, follow_symlinks=False)
        except OSError as e:
            log.error("%s: cannot set aside the edit of %s during its conflict: %s", ctx.root, path, e)
            continue
        log.warning("%s: %s was edited during an unfinished merge: kept aside while the conflict is resolved",
                    ctx.root, path)
        kept.append(Rescued(path, dest))
    return kept


def _same(a: Path, b: Path) -> bool:
    try:
        sa, sb = os.lstat(a), os.lstat(b)
        if stat.S_ISLNK(sa.st_mode) or stat.S_ISLNK(sb.st_mode):
            return stat.S_ISLNK(sa.st_mode) and stat.S_ISLNK(sb.st_mode) and os.readlink(a) == os.readlink(b)
        return stat.S_ISREG(sa.st_mode) and filecmp.cmp(a, b, shallow=False)
    except OSError:
        return False


def put_back(ctx: RepoContext, kept: list[Rescued]) -> list[str]:
    """Return the set-aside edits to the work tree; the paths they now have."""
    out = []
    for r in kept:
        target = ctx.root / r.path
        if _same(target, r.kept):  # the resolution left the edit where it was
            r.kept.unlink()
            Path(f"{r.kept}.path").unlink(missing_ok=True)
            continue
        if os.path.lexists(target):
            p = PurePosixPath(r.path)
            suffix = p.suffix if len(p.suffix) <= 10 else ""
            stem = p.name[: len(p.name) - len(suffix)] if suffix else p.name
            target = ctx.root / p.with_name(f"{stem[:200]}.variant-edit{suffix}")
            n = 1
            while os.path.lexists(target):
                n += 1
                target = ctx.root / p.with_name(f"{stem[:200]}.variant-edit{n}{suffix}")
        target.parent.mkdir(parents=True, exist_ok=True)
        os.rename(r.kept, target)
        Path(f"{r.kept}.path").unlink(missing_ok=True)
        out.append(os.path.relpath(target, ctx.root))
        log.warning("%s: the edit made during the unfinished merge is back as %s", ctx.root, out[-1])
    return out


def put_back_leftovers(ctx: RepoContext) -> list[str]:
    """Edits set aside by a daemon killed before it put them back (start-up)."""
    folder = ctx.state_dir / "rescued"
    try:
        names = sorted(os.listdir(folder))
    except OSError:
        return []
    kept = []
    for name in names:
        if name.endswith(".path"):
            continue
        try:
            path = os.fsdecode((folder / f"{name}.path").read_bytes())
        except OSError:
            path = f"rescued-{name}"  # its name was not written: keep the bytes at the top
        kept.append(Rescued(path, folder / name))
    return put_back(ctx, kept)
