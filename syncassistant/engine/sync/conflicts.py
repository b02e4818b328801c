"""Conflicts never stop syncing: resolve a conflicted merge keeping every version, and record it.

We resolve conflicted merges ourselves, path by path from the index's stages (2 = ours, 3 =
theirs), the way git-annex's `resolvemerge` means to (Annex/AutoMerge.hs), so a mixed network of
our clones, `git annex sync` and the assistant makes the same tree of the same merge:

- two different versions: both become `name.variant-XXXX.ext`, XXXX the first 4 hex digits of
  the md5 of the version's git-annex key (Annex/VariantFile.hs); a locked file stays a symlink,
  an unlocked one a pointer file with its mode;
- an annexed version against one that is not (a file kept in git, a plain symlink): the annexed
  one becomes the variant, the other keeps the name;
- the same key on both sides (locked here, unlocked there): one file, unlocked if either is;
- modify/delete: the edit keeps its name (git-annex makes it a lone variant; both of our clones
  do the same, so they converge);
- a file against a folder: the folder keeps the name, the file becomes `name.variant-XXXX` on
  both clones (git-annex keeps the `~HEAD`/`~branch` git puts in the name, which differs
  between the clones);
- two versions kept in git (git-annex leaves those unresolved): both become variants, tagged by
  their blob, so both clones again make the same tree.

We do not call `git annex resolvemerge`: git-annex 10.20261026 files one path's version under
another's name (a path deleted on our side, followed in `git ls-files -u` order by a path with an
our-side stage, gets that path's version as its own), nests a variant of a variant with the whole
key in its name (`doc0.variant-a015.variant-SHA256E-s40--5e04...txt.txt`) until names pass 255
bytes, and then fails half-way: on a 243-byte name it took the path out of the index, staged
neither version and left the file untracked in the work tree (the old code here then committed
that merge), where it stops every later merge that brings a file of that name.
Variant names here never nest and stay within MAX_NAME_BYTES. Each conflict is recorded in
`.git/syncassistant/conflicts.json` for the conflicts window.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import stat
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from ..context import RepoContext
from ..proc.annex import chunk_paths
from ..provenance import Device, device_of, trailers

log = logging.getLogger(__name__)

MARKER = ".variant-"
# Variant names stay at most this long (bytes), so any git-annex can still add the file after an
# edit, an assistant clone too: `git annex add` first copies a file to
# .git/annex/othertmp/ingest-<name><suffix>, ~20 bytes longer than its name, and that fails with
# "File name too long" past 233-254 bytes (the suffix varies; committer.LONG_NAME is 200 for it).
MAX_NAME_BYTES = 200
EXT_MAX_BYTES = 20  # a longer "extension" of a name too long is cut with the stem
ZERO = "0" * 40
LITERAL = {"GIT_LITERAL_PATHSPECS": "1"}
POINTER_MAX = 32 * 1024  # git-annex pointer files and symlink targets are far smaller
_KEY = re.compile(r"^[A-Z0-9_]+(-[A-Za-z][0-9]+)*--")


class ConflictStore:
    """The recorded conflicts of one repository (a small JSON file, rewritten atomically)."""

    def __init__(self, state_dir: Path):
        self.file = Path(state_dir) / "conflicts.json"
        self._lock = threading.Lock()

    def load(self) -> list[dict]:
        with self._lock:
            return self._read()

    def _read(self) -> list[dict]:
        try:
            data = json.loads(self.file.read_text())
            return data if isinstance(data, list) else []
        except (OSError, ValueError):
            return []

    def _write(self, items: list[dict]) -> None:
        tmp = self.file.with_name(self.file.name + ".tmp")
        tmp.write_text(json.dumps(items, indent=1))
        os.replace(tmp, self.file)

    def add(self, record: dict) -> dict:
        record = {"id": uuid.uuid4().hex[:12], "time": time.time(), "resolved": False, **record}
        with self._lock:
            items = self._read()
            items.append(record)
            self._write(items[-500:])
        return record

    def mark_resolved(self, conflict_id: str) -> bool:
        with self._lock:
            items = self._read()
            found = False
            for it in items:
                if it.get("id") == conflict_id:
                    it["resolved"] = True
                    found = True
            self._write(items)
            return found

    def open_conflicts(self) -> list[dict]:
        return [c for c in self.load() if not c.get("resolved")]


# -- names ------------------------------------------------------------------------------------------

def _stem_ext(name: str) -> tuple[str, str]:
    """Split a file name as git-annex does (System.FilePath: the extension from the last dot),
    dropping an existing `.variant-TAG` (and anything after it before the extension) from the
    stem, so a variant of a variant is a variant of the original name."""
    last = name.rfind(".")
    mark = name.find(MARKER)
    if mark >= 0:
        return name[:mark], name[last:] if last > mark else ""
    if last <= 0:
        # no extension, or a dot file like ".hidden": git-annex 10.20261026 names a variant of
        # "sub/.hidden" "sub.variant-XXXX.hidden", out of its folder; keep the name whole instead
        return name, ""
    return name[:last], name[last:]


def variant_base(path: str) -> str | None:
    """The original name of a `name.variant-XXXX.ext` path, or None if it is no variant."""
    folder, _, name = path.rpartition("/")
    if MARKER not in name:
        return None
    stem, ext = _stem_ext(name)
    return f"{folder}/{stem}{ext}" if folder else stem + ext


def variant_path(path: str, tag: str) -> str:
    """`dir/name.variant-TAG.ext` for `dir/name.ext`: git-annex's name (Annex/VariantFile.hs
    mkVariant), except that an existing variant tag is replaced, not nested, and a name that would
    pass MAX_NAME_BYTES has its stem shortened (the extension and the tag stay)."""
    folder, _, name = path.rpartition("/")
    stem, ext = _stem_ext(name)
    if len(os.fsencode(stem + MARKER + tag + ext)) > MAX_NAME_BYTES and len(os.fsencode(ext)) > EXT_MAX_BYTES:
        stem, ext = stem + ext, ""  # too long to keep whole: cut it with the stem
    tail = f"{MARKER}{tag}{ext}"
    raw = os.fsencode(stem)
    room = MAX_NAME_BYTES - len(os.fsencode(tail))
    if len(raw) > room:
        cut = max(room, 0)
        while cut > 0 and raw[cut] & 0xC0 == 0x80:  # never inside a UTF-8 character
            cut -= 1
        # and not ending in a dot or a space (FAT and VFAT refuse those; git-annex avoids them too)
        stem = os.fsdecode(raw[:cut].rstrip(b". ")) or "_"
    new = stem + tail
    return f"{folder}/{new}" if folder else new


# -- the two sides of a conflicted path -------------------------------------------------------------

@dataclass(frozen=True)
class Side:
    mode: str
    sha: str
    key: str | None = None  # the git-annex key it points to; None for a file kept in git

    @property
    def locked(self) -> bool:
        return self.mode == "120000"

    def same_version(self, other: Side) -> bool:
        if self.key or other.key:
            return self.key == other.key
        return self.sha == other.sha and self.locked == other.locked

    def tag(self, length: int = 4) -> str:
        """The variant tag: git-annex's (md5 of the serialized key) for an annexed version; for one
        kept in git, the same hash of its mode and blob, so both clones pick the same tag."""
        source = self.key if self.key else f"{self.mode} {self.sha}"
        digest = hashlib.md5(source.encode("utf-8", "surrogateescape"), usedforsecurity=False)
        return digest.hexdigest()[:length]


def _file_key(name: str) -> str:
    """A key from its file-name form (git-annex's fileKey: `%` was `/`, `&c` `:`, `&s` `%`, `&a` `&`)."""
    return name.replace("%", "/").replace("&c", ":").replace("&s", "%").replace("&a", "&")


def key_of(mode: str, data: bytes) -> str | None:
    """The git-annex key a blob points to: a locked file's symlink target or an unlocked file's
    pointer (`/annex/objects/KEY`); None for anything else."""
    if len(data) > POINTER_MAX:
        return None
    if mode == "120000":
        target = data
        if b"/annex/objects/" not in target and not target.startswith(b"annex/objects/"):
            return None
    elif mode in ("100644", "100755"):
        if not data.startswith(b"/annex/objects/"):
            return None
        target = data.split(b"\n", 1)[0].rstrip(b"\r")
    else:
        return None
    key = _file_key(os.fsdecode(target.rsplit(b"/", 1)[-1]))
    return key if _KEY.match(key) else None


def small_blobs(ctx: RepoContext, shas: set[str]) -> dict[str, bytes]:
    """sha -> content of the blobs small enough to be pointers or symlink targets."""
    if not shas:
        return {}
    git = ctx.git
    check = git.run("cat-file", "--batch-check=%(objectname) %(objectsize)", input="\n".join(sorted(shas)) + "\n",
                    check=False).stdout.split("\n")
    small = [parts[0] for parts in (line.split() for line in check)
             if len(parts) == 2 and parts[1].isdigit() and int(parts[1]) <= POINTER_MAX]
    if not small:
        return {}
    raw = git.run("cat-file", "--batch", input="\n".join(small) + "\n", check=False)
    data = raw.stdout.encode("utf-8", "surrogateescape")
    out: dict[str, bytes] = {}
    pos = 0
    while pos < len(data):
        nl = data.find(b"\n", pos)
        if nl < 0:
            break
        head = data[pos:nl].split()
        pos = nl + 1
        if len(head) != 3 or not head[2].isdigit():  # "<sha> missing"
            continue
        size = int(head[2])
        out[head[0].decode()] = data[pos:pos + size]
        pos += size + 1
    return out


@dataclass
class Conflict:
    staged: str  # the unmerged path in the index
    name: str  # the path the versions belong to (differs in a file/folder conflict: `name~HEAD`)
    ours: Side | None
    theirs: Side | None
    beside_folder: bool = False  # the other side has a folder at `name`
    base: Side | None = None  # the merge base's version, if it had one
    text_merged: bool = False  # a file kept in git whose two edits git's text merge combined
    keep: Side | None = None  # what stays at `name`
    variants: dict[str, Side] = field(default_factory=dict)  # variant path -> version


def _unmerged(ctx: RepoContext, env: dict[str, str] | None = None) -> dict[str, dict[str, tuple[str, str]]]:
    """Unmerged path -> stage ("1", "2", "3") -> (mode, blob)."""
    out: dict[str, dict[str, tuple[str, str]]] = {}
    for rec in ctx.git.run("ls-files", "-u", "-z", env=env).stdout.split("\0"):
        meta, tab, path = rec.partition("\t")
        fields = meta.split()
        if tab and len(fields) == 3:
            out.setdefault(path, {})[fields[2]] = (fields[0], fields[1])
    return out


def _file_in(ctx: RepoContext, commit: str, path: str) -> str | None:
    """The blob at `path` in `commit`, or None (nothing there, or a folder)."""
    res = ctx.git.run("ls-tree", "-z", commit, "--", path, check=False, env=LITERAL)
    meta, _, name = res.stdout.split("\0")[0].partition("\t")
    parts = meta.split()
    return parts[2] if name == path and len(parts) == 3 and parts[1] == "blob" else None


def _conflicts(ctx: RepoContext, theirs_commit: str, env: dict[str, str] | None = None) -> list[Conflict]:
    entries = _unmerged(ctx, env)
    blobs = small_blobs(ctx, {sha for stages in entries.values() for st, (_, sha) in stages.items() if st in "123"})
    # a three-way read-tree leaves a file/folder conflict as the file's stages at its name and the
    # folder's files beneath it
    under = {p[:i] for p in _index_paths(ctx, env) for i in range(len(p)) if p[i] == "/"}
    out = []
    for path, stages in sorted(entries.items()):
        sides = []
        for st in ("2", "3"):
            if st in stages:
                mode, sha = stages[st]
                sides.append(Side(mode, sha, key_of(mode, blobs.get(sha, b""))))
            else:
                sides.append(None)
        c = Conflict(path, path, sides[0], sides[1])
        if "1" in stages:
            mode, sha = stages["1"]
            c.base = Side(mode, sha, key_of(mode, blobs.get(sha, b"")))
        c.beside_folder = path in under
        # git moves the file of a file/folder conflict to `name~HEAD` (ours) or `name~<branch>`
        # (theirs); the name belongs to the side's file, the other side has a folder there
        cut = path.rfind("~")
        if cut > 0 and "/" not in path[cut:] and (c.ours is None) != (c.theirs is None):
            side, commit = (c.ours, "HEAD") if c.ours else (c.theirs, theirs_commit)
            base = path[:cut]
            if side is not None and _file_in(ctx, commit, path) is None and _file_in(ctx, commit, base) == side.sha:
                c.name, c.beside_folder = base, True
        out.append(c)
    return out


def _decide(c: Conflict) -> list[Side]:
    """Set what keeps the name; return the versions that become variants."""
    sides = [s for s in (c.ours, c.theirs) if s is not None]
    if c.beside_folder:
        return sides
    if len(sides) == 1:  # modify/delete: the edit wins, nothing is lost
        c.keep = sides[0]
        return []
    if not sides:  # the base alone (both renamed it, to different names): those names keep it
        return []
    ours, theirs = sides
    if ours.same_version(theirs):
        # the same content, locked on one side: unlocked wins (it works everywhere), as in git-annex
        c.keep = max(sides, key=lambda s: (not s.locked, s.mode))
        return []
    if bool(ours.key) != bool(theirs.key):  # the annexed version moves, the other keeps the name
        c.keep = theirs if ours.key else ours
        return [ours if ours.key else theirs]
    return [ours, theirs]


def _name_variants(ctx: RepoContext, c: Conflict, versions: list[Side],
                   taken: dict[str, tuple[str, str]], folders: set[str]) -> None:
    """Pick free variant names: the usual 4-digit tags, longer ones if two versions' tags collide
    or another file already has the name (the same choice on every clone: it depends only on the
    merged tree), and never a name where an untracked file of the user's stands."""
    def free(path: str, side: Side) -> bool:
        if path in folders:
            return False
        if path in taken:
            return taken[path] == (side.mode, side.sha)  # the same version already there is fine
        return not os.path.lexists(ctx.root / path)

    for length in (4, 8, 32):
        names = [variant_path(c.name, s.tag(length)) for s in versions]
        if len(set(names)) == len(names) and all(free(n, s) for n, s in zip(names, versions, strict=True)):
            break
    else:  # even 32 digits taken (the same md5 for two versions): count on
        names = []
        for s in versions:
            n = 2
            while not free(candidate := variant_path(c.name, f"{s.tag(32)}-{n}"), s) or candidate in names:
                n += 1
            names.append(candidate)
    for n, s in zip(names, versions, strict=True):
        c.variants[n] = s
        taken[n] = (s.mode, s.sha)


def _index_paths(ctx: RepoContext, env: dict[str, str] | None = None) -> set[str]:
    """Every path in the index, at any stage."""
    return {p for p in ctx.git.run("ls-files", "-z", env=env).stdout.split("\0") if p}


def _index_entries(ctx: RepoContext, env: dict[str, str] | None = None) -> dict[str, tuple[str, str]]:
    out = {}
    for rec in ctx.git.run("ls-files", "-s", "-z", env=env).stdout.split("\0"):
        meta, tab, path = rec.partition("\t")
        fields = meta.split()
        if tab and len(fields) == 3 and fields[2] == "0":
            out[path] = (fields[0], fields[1])
    return out


def _stage_resolution(ctx: RepoContext, conflicts: list[Conflict], env: dict[str, str] | None) -> dict[str, Side]:
    """Decide every conflict and put the result in the index (`env` may name another index file):
    every stage of the conflicted paths out, the chosen versions in. Returns path -> version staged."""
    taken = _index_entries(ctx, env)
    folders = {p[:i] for p in taken for i in range(len(p)) if p[i] == "/"}
    moving = []
    for c in conflicts:
        merged = _merge_text(ctx, c)
        if merged is not None:
            c.keep, c.text_merged = merged, True
            moving.append((c, []))
        else:
            moving.append((c, _decide(c)))
    for c in conflicts:  # names kept first: a variant may not take one
        if c.keep is not None:
            taken[c.name] = (c.keep.mode, c.keep.sha)
    for c, versions in moving:
        if versions:
            _name_variants(ctx, c, versions, taken, folders)
    staged: dict[str, Side] = {}
    for c in conflicts:
        if c.keep is not None:
            staged[c.name] = c.keep
        staged.update(c.variants)
    info = "".join(f"0 {ZERO}\t{c.staged}\0" for c in conflicts)
    info += "".join(f"{s.mode} {s.sha} 0\t{p}\0" for p, s in staged.items())
    ctx.git.run("update-index", "-z", "--index-info", input=info.encode("utf-8", "surrogateescape"), env=env)
    return staged


TEXT_MERGE_MAX = 1024 * 1024


def _merge_text(ctx: RepoContext, c: Conflict) -> Side | None:
    """A file kept in git (not annexed) changed on both sides: git's three-way text merge, as
    `git merge` would do it; None if the changes overlap (both versions are kept then)."""
    sides = (c.base, c.ours, c.theirs)
    if c.beside_folder or any(s is None or s.key or s.mode not in ("100644", "100755") for s in sides):
        return None
    assert c.base is not None and c.ours is not None and c.theirs is not None
    git = ctx.git
    sizes = git.run("cat-file", "--batch-check=%(objectsize)",
                    input="".join(f"{s.sha}\n" for s in sides), check=False).stdout.split()
    if len(sizes) != 3 or not all(n.isdigit() and int(n) <= TEXT_MERGE_MAX for n in sizes):
        return None
    with tempfile.TemporaryDirectory(dir=ctx.state_dir) as tmp:
        files = []
        for name, side in zip(("base", "ours", "theirs"), sides, strict=True):
            data = git.run("cat-file", "blob", side.sha, check=False).stdout.encode("utf-8", "surrogateescape")
            if b"\0" in data:  # binary: no text merge
                return None
            path = Path(tmp) / name
            path.write_bytes(data)
            files.append(str(path))
        res = git.run("merge-file", "-q", "-p", files[1], files[0], files[2], check=False)
        if res.returncode != 0:  # overlapping changes (>0) or an error (<0)
            return None
        merged = Path(tmp) / "merged"
        merged.write_bytes(res.stdout.encode("utf-8", "surrogateescape"))
        sha = git.run("hash-object", "-w", "--no-filters", "--", str(merged)).stdout.strip()
    mode = c.ours.mode if c.ours.mode != c.base.mode else c.theirs.mode
    return Side(mode, sha, None)


def _records(ctx: RepoContext, conflicts: list[Conflict], ours_commit: str | None, theirs_commit: str | None,
             source_ref: str, source_label: str) -> list[dict]:
    records: list[dict] = []
    by_name: dict[str, list[Conflict]] = {}
    for c in conflicts:
        if not c.text_merged:  # git's text merge took both sides' changes: no conflict left
            by_name.setdefault(c.name, []).append(c)
    for name, group in sorted(by_name.items()):
        variants = {p for c in group for p in c.variants}
        variants |= {name for c in group if c.keep is not None}
        if not variants:  # nothing to choose between (the base of a rename/rename): no record
            continue
        log.info("%s: merge conflict on %s: kept %s", ctx.root, name, ", ".join(sorted(variants)))
        records.append({
            "path": name,
            "variants": sorted(variants),
            "remote": source_label,
            "source_ref": source_ref,
            "ours": _side_info(ctx, ours_commit, name),
            "theirs": _side_info(ctx, theirs_commit, name),
        })
    return records


def resolve_index(ctx: RepoContext, env: dict[str, str], ours_commit: str, theirs_commit: str,
                  source_ref: str, source_label: str) -> list[dict]:
    """Resolve the conflicts a three-way `git read-tree -m` left in the index file `env` names,
    keeping every version; the work tree is not touched. Returns the conflict records."""
    conflicts = _conflicts(ctx, theirs_commit, env)
    _stage_resolution(ctx, conflicts, env)
    return _records(ctx, conflicts, ours_commit, theirs_commit, source_ref, source_label)


def resolve_merge(ctx: RepoContext, source_ref: str, source_label: str) -> list[dict]:
    """Finish a conflicted `git merge` left in progress (by a killed daemon of an older version,
    or by git-annex) keeping every version; commit; return the records.

    Caller holds ctx.lock and has checked that a merge is in progress (MERGE_HEAD exists); edits
    the user made at conflicted paths meanwhile are the caller's (engine/sync/rescue.py)."""
    git = ctx.git
    theirs_commit = git.rev("MERGE_HEAD") or "MERGE_HEAD"
    ours_commit = git.rev("HEAD")
    conflicts = _conflicts(ctx, theirs_commit)
    staged = _stage_resolution(ctx, conflicts, None)

    # the work tree: what git wrote at a conflicted path (conflict markers, one side's pointer) goes
    for c in conflicts:
        if c.staged not in staged:
            full = ctx.root / c.staged
            try:
                if not stat.S_ISDIR(os.lstat(full).st_mode):
                    full.unlink()
            except FileNotFoundError:
                pass
    if staged:
        res = git.run("checkout-index", "-f", "-u", "-z", "--stdin",
                      input="".join(f"{p}\0" for p in staged).encode("utf-8", "surrogateescape"),
                      check=False, timeout=600)
        if res.returncode != 0:  # the index holds every version: the next round writes the files
            log.warning("%s: writing resolved files: %s", ctx.root, res.stderr.strip()[:500])
    # git writes unlocked files as pointers (the merge, checkout-index): fill in the ones whose
    # content is here, as git-annex's post-merge hook would (it does not run for a merge that
    # stopped on a conflict), at once: until then the user sees pointers. smudge --update leaves
    # their index entries to `restage` (its restage.log); without that each showed as modified.
    for args in (("smudge", "--update"), ("restage",)):
        res = ctx.annex.run(*args, check=False, timeout=600)
        if res.returncode != 0:
            log.warning("%s: git annex %s: %s", ctx.root, " ".join(args), res.stderr.strip()[:500])
    if (git.git_dir / "MERGE_HEAD").exists():
        commit_merge_in_progress(ctx)
    return _records(ctx, conflicts, ours_commit, theirs_commit, source_ref, source_label)


def commit_merge_in_progress(ctx: RepoContext) -> None:
    """Commit the merge git left in progress. Its message too may be missing: a daemon killed
    right after starting `git merge` left an empty MERGE_MSG, and `git commit --no-edit` then
    refused ("Aborting commit due to empty commit message") on every retry, for good."""
    git = ctx.git
    try:
        msg = (git.git_dir / "MERGE_MSG").read_text(errors="replace").strip()
    except OSError:
        msg = ""
    args = ["--no-edit"] if msg else ["-m", "Merge (finished after an interruption)"]
    args += [f"--trailer={line}" for line in trailers(ctx.devices.me()).splitlines()]
    git.run("commit", "-q", "--no-verify", *args, timeout=600)


def _side_info(ctx: RepoContext, commit: str | None, path: str) -> dict:
    """One side of a conflict: the merge's parent on that side (`parent`), the last commit there
    that changed the file (`commit`, its `time`), and the device it was made on (`device`, a
    name; `device_uuid`) from that commit's trailers (provenance.py); `author` is the git author,
    which names a person, not a device. A commit without trailers (plain git annex sync's names
    its device in the message, anything else nothing) leaves the device empty."""
    if not commit:
        return {}
    r = ctx.git.run("log", "-1", "--format=%H%x00%an%x00%ae%x00%ct%x00%B", commit, "--", path, check=False,
                    env=LITERAL)
    parts = r.stdout.split("\0", 4)
    if len(parts) != 5 or not parts[3].strip().isdigit():
        return {"parent": commit, "commit": commit}
    device, said = device_of(parts[4], {})
    if device.uuid:
        device = ctx.devices.device(device.uuid) if not device.name else \
            Device(device.uuid, ctx.devices.device(device.uuid).name or device.name)
    return {"parent": commit, "commit": parts[0], "time": int(parts[3]),
            "device": device.name if said else "", "device_uuid": device.uuid,
            "author": f"{parts[1]} <{parts[2]}>"}


# -- a merge blocked by an untracked file ------------------------------------------------------------

def clear_the_way(ctx: RepoContext, theirs: str, source_ref: str, source_label: str) -> list[dict]:
    """Set aside the untracked files standing where merging `theirs` writes; return records.

    git refuses such a merge ("untracked working tree files would be overwritten by merge").
    The committer commits new files before a merge, but not one it cannot add: a variant that
    `git annex resolvemerge` wrote and then failed to stage ("File name too long") could never be
    added either, and every merge stopped on it, retried every 60 s for ever. A file with exactly
    their version's bytes goes (into the annex first, if it is theirs' annexed content); any
    other moves beside it as a variant of its name, for the committer to commit. Caller holds
    ctx.lock, after a failed merge and a flush of pending changes."""
    git = ctx.git
    res = git.run("diff", "--name-only", "-z", "--no-renames", "--diff-filter=AMT", "HEAD", theirs, check=False)
    if res.returncode != 0:
        return []
    candidates: list[str] = []
    looked: set[str] = set()
    for path in (p for p in res.stdout.split("\0") if p):
        parts = path.split("/")
        for i in range(1, len(parts) + 1):
            sub = "/".join(parts[:i])
            if sub in looked:
                continue
            looked.add(sub)
            try:
                mode = os.lstat(ctx.root / sub).st_mode
            except OSError:
                break  # nothing there, so nothing under it either
            if not stat.S_ISDIR(mode):  # a file or symlink where they have this file or a folder
                candidates.append(sub)
                break
    if not candidates:
        return []
    untracked: set[str] = set()
    for chunk in chunk_paths(candidates):
        out = git.run("ls-files", "-z", "--others", "--exclude-standard", "--", *chunk, env=LITERAL,
                      check=False).stdout
        untracked |= set(out.split("\0")) & set(chunk)
    records = []
    for path in sorted(untracked):
        moved = _clear(ctx, theirs, path)
        if moved is None:
            continue
        records.append({"path": path, "variants": sorted([path, moved]), "remote": source_label,
                        "source_ref": source_ref, "ours": {}, "theirs": _side_info(ctx, theirs, path)})
    return records


def _calckey(ctx: RepoContext, path: str, backend: str | None = None) -> str | None:
    args = ["calckey", *(["--backend", backend] if backend else []), "--", path]
    res = ctx.annex.run(*args, check=False, timeout=3600)
    key = res.stdout.strip()
    return key if res.returncode == 0 and _KEY.match(key) else None


def _clear(ctx: RepoContext, theirs: str, path: str) -> str | None:
    """Make way at `path` (untracked); the variant it moved to, or None if it only went away."""
    git, full = ctx.git, ctx.root / path
    ls = git.run("ls-tree", "-z", theirs, "--", path, check=False, env=LITERAL).stdout.split("\0")[0]
    meta, _, name = ls.partition("\t")
    parts = meta.split()
    their = (parts[0], parts[2]) if name == path and len(parts) == 3 and parts[1] == "blob" else None
    their_key = key_of(their[0], small_blobs(ctx, {their[1]}).get(their[1], b"")) if their else None
    if full.is_symlink():
        target = os.fsencode(os.readlink(full))
        sha = git.run("hash-object", "-t", "blob", "--stdin", input=target).stdout.strip()
        ours = Side("120000", sha, key_of("120000", target))
        if their is not None and their == (ours.mode, ours.sha):
            full.unlink()  # their commit holds exactly this link
            log.info("%s: %s was in the way of a merge and is theirs as it is: removed", ctx.root, path)
            return None
    else:
        mode = "100755" if os.stat(full).st_mode & 0o111 else "100644"
        key = sha = None
        if their is not None and their_key is None:
            sha = git.run("hash-object", "--no-filters", "--", path, env=LITERAL).stdout.strip()
            if sha == their[1]:
                full.unlink()  # their commit holds exactly these bytes
                log.info("%s: %s was in the way of a merge and is theirs as it is: removed", ctx.root, path)
                return None
        if their_key is not None:
            key = _calckey(ctx, path, their_key.split("-", 1)[0])
            if key == their_key and _into_annex(ctx, path, key):
                return None
        key = key or _calckey(ctx, path)
        if key is None and sha is None:
            sha = git.run("hash-object", "--no-filters", "--", path, env=LITERAL).stdout.strip()
        ours = Side(mode, sha or "", key)
    taken = _index_entries(ctx)
    for length in (4, 8, 32):
        aside = variant_path(path, ours.tag(length))
        if aside not in taken and not os.path.lexists(ctx.root / aside):
            break
    else:
        aside = variant_path(path, uuid.uuid4().hex[:12])
    os.rename(full, ctx.root / aside)
    log.warning("%s: %s was in the way of a merge: moved to %s", ctx.root, path, aside)
    return aside


def _into_annex(ctx: RepoContext, path: str, key: str) -> bool:
    """The untracked file at `path` holds `key`'s content: make sure the annex has it, then let
    it go (their pointer comes in its place and is filled from the annex)."""
    here = ctx.annex.run("contentlocation", key, check=False)
    if here.returncode == 0 and here.stdout.strip():
        os.unlink(ctx.root / path)
    else:
        res = ctx.annex.run("setkey", key, path, check=False, timeout=3600)  # moves the file in
        if res.returncode != 0 or os.path.lexists(ctx.root / path):
            log.warning("%s: git annex setkey for %s: %s", ctx.root, path, res.stderr.strip()[:300])
            return False
    log.info("%s: %s was in the way of a merge and is their annexed content: taken into the annex",
             ctx.root, path)
    return True
