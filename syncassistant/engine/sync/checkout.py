"""Moving the work tree from one commit to another (after a merge) without losing a write the
user makes while it happens.

`git read-tree -m -u OLD NEW` checks that every file it will replace or delete is as OLD has it,
and that no untracked file stands where a new one goes, then writes. Between the check and the
write it starts git-annex's smudge filter (70-100 ms): a file the user created or saved in that
time was deleted and written over (chaos storm seed 2: A's new `sub/s3.txt`, created 70 ms into
the read-tree, gone). Here git still makes the check (`--dry-run`), but each file is then put
in place with renameat2 (engine/atomicfs.py) and checked against what was there before the check:

- a new file goes in with RENAME_NOREPLACE: if the user has made one by that name meanwhile,
  theirs keeps the name and the merged version becomes a variant (`name.variant-XXXX.ext`, the
  tag every clone gives that version), as in a conflict;
- a changed file is swapped in with RENAME_EXCHANGE, and what it swapped out must be the file
  seen before the check, else it goes back and the merged version becomes a variant;
- a deleted file is renamed aside and removed only if it is the file seen before the check (an
  edit wins over a deletion, as in a merge).

The index then follows (`read-tree -m -i`) and is refreshed; the files' content is filled in as
after any merge (transfers/pointers.py, `git annex smudge --update`).
"""

from __future__ import annotations

import contextlib
import logging
import os
import secrets
import subprocess
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from ..atomicfs import Identity, exchange, identity, rename_noreplace, same_file
from ..context import RepoContext
from ..proc.git import kill_group, repo_env
from .conflicts import LITERAL, Side, key_of, small_blobs, variant_path

log = logging.getLogger(__name__)

EMPTY_TREE = "4b825dc642cb6eb9a060e54bf8d69288fbee4904"
FILES = ("100644", "100755", "120000")
# the index refresh after the move must not run git-annex's clean filter: the files we wrote
# are the blobs themselves (pointer files for annexed ones), so git's own hash matches them
NO_ANNEX_FILTER = ("-c", "filter.annex.process=", "-c", "filter.annex.clean=", "-c", "filter.annex.smudge=")


@dataclass
class Change:
    path: str
    old_mode: str
    new_mode: str
    old_sha: str
    new_sha: str

    @property
    def removes(self) -> bool:
        """The old file goes (deleted, or replaced by something that is not a file)."""
        return self.old_mode in FILES and self.new_mode not in FILES

    @property
    def writes(self) -> bool:
        return self.new_mode in FILES


@dataclass
class Outcome:
    kept_user_writes: list[str]  # paths where a write made meanwhile kept the name
    variants: dict[str, str]  # path -> where its merged version went instead


def changes(ctx: RepoContext, old: str | None, new: str) -> list[Change]:
    """What differs between two commits, path by path (no rename detection)."""
    res = ctx.git.run("diff-tree", "-r", "-z", "--no-renames", "--no-commit-id", old or EMPTY_TREE, new,
                      timeout=600)
    fields = res.stdout.split("\0")
    out = []
    for meta, path in zip(fields[0::2], fields[1::2], strict=False):
        parts = meta.lstrip(":").split()
        if len(parts) >= 5 and path:
            out.append(Change(path, parts[0], parts[1], parts[2], parts[3]))
    return out


def move_work_tree(ctx: RepoContext, old: str | None, new: str) -> str | Outcome:
    """Move the work tree and index from commit `old` to `new` (the caller holds ctx.lock and
    moves HEAD after). Returns git's reason if it cannot start (nothing was changed then: a
    file to replace was edited, an untracked file stands in the way), else what was kept."""
    git = ctx.git
    todo = changes(ctx, old, new)
    # each file as it is before git's check, which finds it as `old` has it: a file that is still
    # this one when we replace it holds nothing the user wrote. A path `old` has no file at is
    # expected to be free (git checks that too).
    before = {c.path: identity(ctx.root / c.path) if c.old_mode in FILES else None for c in todo}
    res = git.run("read-tree", "-m", "-n", "-u", old or EMPTY_TREE, new, check=False, timeout=600)
    if res.returncode != 0:
        return (res.stderr or res.stdout).strip() or f"git read-tree exited {res.returncode}"
    outcome = Outcome([], {})
    removed = [c for c in todo if c.removes]
    for c in sorted(removed, key=lambda c: -c.path.count("/")):
        if not _remove(ctx, c, before[c.path]):
            outcome.kept_user_writes.append(c.path)
    _prune_folders(ctx.root, [c.path for c in removed])
    writes = [c for c in todo if c.writes]
    for c, data in _contents(ctx, writes):
        if data is None:
            log.error("%s: %s: git has no object %s; left as it is", ctx.root, c.path, c.new_sha)
            continue
        variant = _install(ctx, c, data, before[c.path])
        if variant is not None:
            outcome.kept_user_writes.append(c.path)
            outcome.variants[c.path] = variant
    git.run("read-tree", "-m", "-i", old or EMPTY_TREE, new, timeout=600)
    git.run(*NO_ANNEX_FILTER, "update-index", "-q", "--refresh", check=False, timeout=600)
    for p in outcome.kept_user_writes:
        log.info("%s: %s was written during the merge: the write keeps the name", ctx.root, p)
    return outcome


def _aside(full: Path) -> Path:
    # a short name beside the file (same file system; the watcher ignores the suffix)
    return full.with_name(f".{secrets.token_hex(4)}.syncassistant-tmp")


def _unwritten(ctx: RepoContext, c: Change, before: Identity | None) -> Identity | None:
    """The file's identity now if it holds what `old` has (None if it is gone or was written).

    Not the same file as before the check is no proof of a write: git-annex fills in a pointer
    file when its content arrives, and a file may be only touched. Then its content decides,
    as git's own check does (through the clean filter)."""
    now = identity(ctx.root / c.path)
    if now is None or now == before:
        return now
    full = ctx.root / c.path
    try:
        if c.old_mode == "120000":
            target = os.fsencode(os.readlink(full))
            return now if target == small_blobs(ctx, {c.old_sha}).get(c.old_sha) else None
        res = ctx.git.run("hash-object", "--", c.path, check=False, env=LITERAL, timeout=3600)
    except OSError:
        return None
    return now if res.returncode == 0 and res.stdout.strip() == c.old_sha else None


def _remove(ctx: RepoContext, c: Change, before: Identity | None) -> bool:
    """Delete `c.path` if it holds what the old commit has; False if a write keeps it."""
    root, path = ctx.root, c.path
    full = root / path
    if identity(full) is None:
        return True  # gone already: that is the deletion too
    before = _unwritten(ctx, c, before)
    if before is None:
        return identity(full) is None
    aside = _aside(full)
    try:
        os.rename(full, aside)
    except FileNotFoundError:
        return True
    if same_file(identity(aside), before):
        aside.unlink(missing_ok=True)
        return True
    # written between our look and the rename (through a file it had open): an edit beats a delete
    try:
        rename_noreplace(aside, full)
    except FileExistsError:  # and a new file made by that name as well: keep both
        rename_noreplace(aside, root / variant_path(path, secrets.token_hex(2)))
    return False


def _prune_folders(root: Path, paths: list[str]) -> None:
    """Remove folders left empty by removed files, as git does (a folder with anything in it stays)."""
    folders = {str(Path(p).parent) for p in paths if "/" in p}
    for folder in sorted(folders, key=lambda f: -f.count("/")):
        d = root / folder
        while d != root:
            try:
                d.rmdir()
            except OSError:
                break
            d = d.parent


def _install(ctx: RepoContext, c: Change, data: bytes, before: Identity | None) -> str | None:
    """Put the new version of `c.path` in place; None if it took the name, else the variant path
    it went to (a write made meanwhile kept the name)."""
    full = ctx.root / c.path
    try:
        full.parent.mkdir(parents=True, exist_ok=True)
    except OSError as e:  # a file where a folder must go, made meanwhile
        log.warning("%s: %s: %s", ctx.root, c.path, e)
        return _as_variant(ctx, c, data, f"folder blocked: {e}")
    tmp = _aside(full)
    try:
        _write(tmp, c.new_mode, data)
    except OSError:  # a full disk: nothing half-written left beside the file; the merge fails
        tmp.unlink(missing_ok=True)
        raise
    try:
        if before is not None:
            before = _unwritten(ctx, c, before)
        if before is None:
            try:
                rename_noreplace(tmp, full)
                return None
            except FileExistsError:  # made (or written) meanwhile: theirs keeps the name
                pass
        else:
            exchange(tmp, full)
            if same_file(identity(tmp), before):
                tmp.unlink(missing_ok=True)
                return None
            exchange(tmp, full)  # written as it was swapped out: it goes back
        tmp.unlink(missing_ok=True)
        return _as_variant(ctx, c, data, "written meanwhile")
    except OSError as e:
        tmp.unlink(missing_ok=True)
        log.warning("%s: %s: %s", ctx.root, c.path, e)
        return _as_variant(ctx, c, data, str(e))


def _as_variant(ctx: RepoContext, c: Change, data: bytes, why: str) -> str | None:
    """Write the merged version under its variant name (the one every clone gives it)."""
    side = Side(c.new_mode, c.new_sha, key_of(c.new_mode, data))
    for length in (4, 8, 32):
        name = variant_path(c.path, side.tag(length))
        full = ctx.root / name
        tmp = _aside(full)
        try:
            _write(tmp, c.new_mode, data)
            rename_noreplace(tmp, full)
        except OSError:
            tmp.unlink(missing_ok=True)
            continue
        log.info("%s: merged version of %s kept as %s (%s)", ctx.root, c.path, name, why)
        return name
    log.error("%s: merged version of %s could not be written (%s); it is in commit history", ctx.root, c.path, why)
    return None


def _write(tmp: Path, mode: str, data: bytes) -> None:
    if mode == "120000":
        os.symlink(os.fsdecode(data), tmp)
        return
    # git's own modes: 0666 or 0777, less the umask
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o777 if mode == "100755" else 0o666)
    with os.fdopen(fd, "wb") as f:
        f.write(data)


def _contents(ctx: RepoContext, writes: list[Change]) -> Iterator[tuple[Change, bytes | None]]:
    """Each file's bytes as git's checkout writes them: symlink targets as they are, files through
    the filters (git-annex's smudge filter gives a pointer file and notes the file, so that
    `smudge --update` fills it in; end-of-line and ident conversion as configured)."""
    links = [c for c in writes if c.new_mode == "120000"]
    if links:
        raw = small_blobs(ctx, {c.new_sha for c in links})  # symlink targets are short
        for c in links:
            yield c, raw.get(c.new_sha)
    files = [c for c in writes if c.new_mode != "120000"]
    plain, odd = [], []
    for c in files:
        (odd if "\n" in c.path or c.path[:1].isspace() else plain).append(c)
    if plain:
        yield from _filtered(ctx, plain)
    for c in odd:  # a name `git cat-file --batch` cannot take: one process each
        res = subprocess.run(["git", "cat-file", "--filters", f"--path={c.path}", c.new_sha], cwd=ctx.root,
                             env=repo_env(ctx.root), capture_output=True, timeout=600)
        yield c, res.stdout if res.returncode == 0 else None


def _filtered(ctx: RepoContext, files: list[Change]) -> Iterator[tuple[Change, bytes | None]]:
    """One `git cat-file --batch --filters`, read as it answers (a file at a time in memory)."""
    proc = subprocess.Popen(["git", "cat-file", "--batch", "--filters"], cwd=ctx.root, env=repo_env(ctx.root),
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                            start_new_session=True)
    assert proc.stdin is not None and proc.stdout is not None
    stdin, stdout = proc.stdin, proc.stdout

    def feed() -> None:
        with contextlib.suppress(OSError):  # it ended early: the reader sees that
            for c in files:
                stdin.write(f"{c.new_sha} {c.path}\n".encode(errors="surrogateescape"))
            stdin.close()

    writer = threading.Thread(target=feed, name="syncassistant-checkout-feed", daemon=True)
    writer.start()
    try:
        for c in files:
            header = stdout.readline().split()
            if len(header) != 3:
                yield c, None
                continue
            size = int(header[2])
            data = stdout.read(size)
            stdout.read(1)
            yield c, data
    finally:
        stdout.close()  # (read to the end, or left early: then its next write fails and it ends)
        writer.join(30)
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            kill_group(proc)
            proc.wait()
