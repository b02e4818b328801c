"""What changed, where and when: the folder's history read from git, for `log`, `restore` and
the Recent changes window.

One `git log --no-merges --raw -M -z` of the branch, limited to N commits, gives every change
with its commit, listed from the side it was made on. A merge mostly only joins what devices
did; what it changed itself (a conflict kept as `name.variant-XXXX`, the name it left, two text
edits merged) is what differs from every parent: a second `git log --merges -c --raw`, whose
entries are marked `merged`. Two `git cat-file` batches then read the small
blobs (git-annex pointer files and symlink targets) for the keys, whose `-sSIZE` field gives
the size without touching the content; a file kept in git has its blob's size. The device is
the commit's trailer (provenance.py), else "git-annex in NAME" of `git annex sync`, else
unknown. Nothing here changes the repository.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from .proc.annex import Annex
from .proc.git import Git
from .provenance import UNKNOWN, Device, descriptions, device_of

LITERAL = {"GIT_LITERAL_PATHSPECS": "1"}
POINTER_MAX = 32 * 1024  # git-annex pointer files and symlink targets are far smaller
ZERO = "0" * 40
DEFAULT_LIMIT = 200  # commits a listing reads unless asked for more
KINDS = {"A": "added", "C": "added", "M": "changed", "T": "changed", "D": "deleted", "R": "moved"}
_SIZE = re.compile(r"-s(\d+)(?:-|$)")


@dataclass
class Change:
    """One file changed by one commit."""
    commit: str
    time: int  # the commit's author time (when the change was made), seconds since the epoch
    device: str  # a name, or "" when the commit does not say
    device_uuid: str
    author: str  # the git author: a person, the same on all of their devices
    kind: str  # added | changed | moved | deleted
    path: str
    old_path: str | None = None  # where a moved file was
    mode: str = ""  # git mode of the version after the change (before it, for a deletion)
    blob: str = ""  # ... its blob
    key: str | None = None  # ... its git-annex key, None for a file kept in git
    size: int | None = None
    summary: str = ""  # the first line of the commit message
    merged: bool = False  # made by a merge (a conflict's variant, the name it left, a text merge)

    @property
    def device_label(self) -> str:
        return self.device or (self.device_uuid[:8] if self.device_uuid else UNKNOWN)

    def to_json(self) -> dict[str, Any]:
        return {**asdict(self), "device_label": self.device_label}


@dataclass
class Version:
    """One version of a file: what a change left at that path (a deletion has none)."""
    number: int  # 1 = the newest version, 2 the one before, ...
    change: Change
    deleted_after: bool = False  # the next change of this path deleted it
    where: list[str] = field(default_factory=list)  # device names holding its content (last known)
    away: list[str] = field(default_factory=list)  # ... of those, remotes on a path that is not there now
    here: bool = False  # its content is on this device

    def to_json(self) -> dict[str, Any]:
        return {"number": self.number, **self.change.to_json(), "deleted_after": self.deleted_after,
                "where": self.where, "away": self.away, "here": self.here}


def key_of(mode: str, data: bytes) -> str | None:
    """The git-annex key a blob names: an unlocked file's pointer (`/annex/objects/KEY`) or a
    locked file's symlink target; None for a file kept in git."""
    if len(data) > POINTER_MAX:
        return None
    if mode == "120000":
        if b"annex/objects/" not in data:
            return None
        target = data
    elif mode in ("100644", "100755"):
        if not data.startswith(b"/annex/objects/"):
            return None
        target = data.split(b"\n", 1)[0].rstrip(b"\r")
    else:
        return None
    name = os.fsdecode(target.rsplit(b"/", 1)[-1])
    return name if "--" in name else None


def key_size(key: str | None) -> int | None:
    """The size a git-annex key records (`SHA256E-s1234--...`), if it does."""
    if not key:
        return None
    m = _SIZE.search(key.split("--", 1)[0])
    return int(m.group(1)) if m else None


def blob_facts(git: Git, shas: set[str]) -> dict[str, tuple[int, bytes | None]]:
    """sha -> (size, content if small enough to be a pointer): two `git cat-file` batches."""
    shas = {s for s in shas if s and s != ZERO}
    if not shas:
        return {}
    check = git.run("cat-file", "--batch-check=%(objectname) %(objectsize)",
                    input="\n".join(sorted(shas)) + "\n", check=False, timeout=600).stdout.split("\n")
    sizes: dict[str, int] = {}
    for line in check:
        parts = line.split()
        if len(parts) == 2 and parts[1].isdigit():
            sizes[parts[0]] = int(parts[1])
    small = sorted(s for s, n in sizes.items() if n <= POINTER_MAX)
    out: dict[str, tuple[int, bytes | None]] = {s: (n, None) for s, n in sizes.items()}
    if small:
        data = git.run("cat-file", "--batch", input="\n".join(small) + "\n", check=False,
                       timeout=600).stdout.encode("utf-8", "surrogateescape")
        pos = 0
        while pos < len(data):
            end = data.find(b"\n", pos)
            if end < 0:
                break
            header = data[pos:end].split()
            pos = end + 1
            if len(header) != 3 or not header[2].isdigit():
                continue
            n = int(header[2])
            out[header[0].decode()] = (n, data[pos:pos + n])
            pos += n + 1
    return out


def changes(root: str | Path, path: str | None = None, limit: int = DEFAULT_LIMIT,
            rev: str = "HEAD") -> list[Change]:
    """The changes of the newest `limit` commits (not merges) of `rev`, newest first; only
    those of `path` (a file or folder, relative to the top) when given."""
    git = Git(root)
    if git.rev(rev) is None:
        return []
    args = ["log", "--no-merges", "-z", "--raw", "-M", "--no-abbrev", "--no-color",
            "--format=%x1e%H%x1f%at%x1f%an <%ae>%x1f%B%x1f", f"-n{max(1, int(limit))}", rev, "--"]
    if path:
        args.append(path)
    out = git.run(*args, env=LITERAL, timeout=600).stdout
    names = descriptions(git)
    found = _parse(out, names)
    # what merges changed themselves: --no-renames, so a conflict shows as its variants added and
    # the name it left deleted (with renames git pairs a variant with the other side's file)
    args = ["log", "--merges", "-c", "-z", "--raw", "--no-renames", "--no-abbrev", "--no-color",
            "--format=%x1e%H%x1f%at%x1f%an <%ae>%x1f%B%x1f", f"-n{max(1, int(limit))}", rev, "--"]
    if path:
        args.append(path)
    merged = _parse(git.run(*args, env=LITERAL, timeout=600).stdout, names)
    if merged:
        if len({c.commit for c in found}) >= limit and found:  # don't reach further back than the rest
            merged = [c for c in merged if c.time >= found[-1].time]
        # newest first; within one second a merge goes before the commits it joins (stable sort:
        # each commit's own order stays)
        found = sorted(found + merged, key=lambda c: (-c.time, not c.merged))
    facts = blob_facts(git, {c.blob for c in found})
    for c in found:
        size, data = facts.get(c.blob, (None, None))
        c.key = key_of(c.mode, data) if data is not None else None
        c.size = key_size(c.key) if c.key else (size if c.mode != "120000" else None)
    return found


def _parse(out: str, names: dict[str, str]) -> list[Change]:
    """`git log -z --raw --format=<ours>` output into Changes. A header token starts with \\x1e
    and ends with \\x1f (a message holds no NUL); each raw entry is `:meta`, then one path, or two
    for a rename or copy."""
    result: list[Change] = []
    tokens = out.split("\0")
    i = 0
    head: tuple[str, int, Device, bool, str, str] | None = None
    while i < len(tokens):
        tok = tokens[i].lstrip("\n")
        i += 1
        if tok.startswith("\x1e"):
            for rec in tok.split("\x1e")[1:]:  # a commit without changes shares the next's token
                fields = rec.split("\x1f", 3)
                if len(fields) < 4 or not fields[1].strip().isdigit():
                    head = None
                    continue
                body = fields[3][:-1] if fields[3].endswith("\x1f") else fields[3]
                device, said = device_of(body, names)
                summary = body.strip().split("\n", 1)[0] if body.strip() else ""
                head = (fields[0], int(fields[1]), device, said, fields[2], summary)
            continue
        if not tok.startswith(":") or head is None:
            continue
        parents = len(tok) - len(tok.lstrip(":"))
        if parents > 1:  # a merge's combined entry: modes and shas of each parent, then the result
            meta = tok[parents:].split()
            if len(meta) < 2 * parents + 3 or i >= len(tokens):
                continue
            status, path_ = meta[-1], tokens[i]
            i += 1
            kind = "added" if set(status) == {"A"} else "deleted" if set(status) == {"D"} else "changed"
            deleted = kind == "deleted"
            sha, commit_time, device, said, author, summary = head
            result.append(Change(
                commit=sha, time=commit_time, device=device.name if said else "", device_uuid=device.uuid,
                author=author, kind=kind, path=path_, mode=meta[0] if deleted else meta[parents],
                blob=meta[parents + 1] if deleted else meta[2 * parents + 1], summary=summary, merged=True))
            continue
        meta = tok[1:].split()
        if len(meta) < 5:
            continue
        old_mode, new_mode, old_sha, new_sha, status = meta[:5]
        two = status[:1] in ("R", "C")
        if i >= len(tokens) or (two and i + 1 >= len(tokens)):
            break
        first = tokens[i]
        second = tokens[i + 1] if two else None
        i += 2 if two else 1
        kind = KINDS.get(status[:1], "changed")
        sha, commit_time, device, said, author, summary = head
        deleted = kind == "deleted"
        result.append(Change(
            commit=sha, time=commit_time, device=device.name if said else "", device_uuid=device.uuid,
            author=author, kind=kind, path=second if two else first, old_path=first if two else None,
            mode=old_mode if deleted else new_mode, blob=old_sha if deleted else new_sha, summary=summary))
    return result


def versions(root: str | Path, path: str, limit: int = 1000) -> list[Version]:
    """Every version of the file at `path` (relative to the top), newest first, numbered from 1.

    A change that deleted the file is no version (it left nothing); the version before it is
    marked `deleted_after`. Where each version's content is comes from `whereabouts`."""
    found = [c for c in changes(root, path, limit) if c.path == path]
    out: list[Version] = []
    deleted_next = False
    for c in found:  # newest first
        if c.kind == "deleted":
            deleted_next = True
            continue
        out.append(Version(len(out) + 1, c, deleted_after=deleted_next))
        deleted_next = False
    return out


def whereabouts(root: str | Path, keys: list[str]) -> dict[str, tuple[bool, list[tuple[str, str]]]]:
    """key -> (content here, [(uuid, name) of every other clone git-annex last knew to hold it]),
    from one `git annex whereis --batch-keys` (location tracking: what was true when each clone
    last reported, not a live look)."""
    keys = [k for k in dict.fromkeys(keys) if k and "\n" not in k]
    if not keys:
        return {}
    git = Git(root)
    me = git.config_get("annex.uuid") or ""
    res = Annex(root).run("whereis", "--json", "--json-error-messages", "--batch-keys",
                          input="\n".join(keys) + "\n", check=False, timeout=600)
    out: dict[str, tuple[bool, list[tuple[str, str]]]] = {k: (False, []) for k in keys}
    for line in res.stdout.splitlines():
        try:
            rec = json.loads(line)
        except ValueError:
            continue
        key = rec.get("key")
        if key not in out:
            continue
        holders = [(str(w.get("uuid", "")), str(w.get("description", "")))
                   for w in (rec.get("whereis") or [])]
        here = any(u == me for u, _ in holders)
        out[key] = (here, [(u, d) for u, d in holders if u != me])
    return out


def away_now(root: str | Path) -> set[str]:
    """UUIDs of this clone's remotes on a local path that do not hold their repository now (a
    drive not plugged in, a folder moved): their content cannot be fetched at the moment. A
    network remote is not tried here (that takes a connection): it counts as reachable."""
    from .devices.mounts import read_git_config
    from .network.remotepaths import local_remotes, remote_path_problem

    git = Git(root)
    cfg = read_git_config(git.git_dir / "config")
    return {uuid for path, uuid in local_remotes(Path(root), cfg).values()
            if uuid and remote_path_problem(path, uuid) is not None}


def with_whereabouts(root: str | Path, found: list[Version]) -> list[Version]:
    """Fill in each version's `here`, `where` and `away` (files kept in git are always here)."""
    where = whereabouts(root, [v.change.key for v in found if v.change.key])
    gone = away_now(root) if where else set()
    for v in found:
        if not v.change.key:
            v.here = True
            continue
        here, others = where.get(v.change.key, (False, []))
        v.here = here
        # (git-annex's description, with `[remote]` after it where this clone has a remote there)
        v.where = [d.strip() or u[:8] for u, d in others]
        v.away = [d.strip() or u[:8] for u, d in others if u in gone]
    return found


def content_here(root: str | Path, v: Version, limit: int = 256 * 1024) -> bytes | None:
    """The first `limit` bytes of a version's content if it is on this device (for a preview;
    nothing is fetched), else None."""
    c = v.change
    git = Git(root)
    if c.key:
        res = Annex(root).run("contentlocation", c.key, check=False)
        loc = res.stdout.strip()
        if res.returncode != 0 or not loc:
            return None
        p = Path(loc) if os.path.isabs(loc) else Path(root) / loc
        try:
            with open(p, "rb") as f:
                return f.read(limit)
        except OSError:
            return None
    if c.mode == "120000" or not c.blob or (c.size or 0) > limit:  # (not read whole for a peek)
        return None
    res = git.run("cat-file", "blob", c.blob, check=False, timeout=60)
    return res.stdout.encode("utf-8", "surrogateescape")[:limit] if res.returncode == 0 else None
