"""What the content scanner has looked at, kept across restarts, so a start scans what changed.

A scan of the whole tree asks git-annex about every file (two `git annex find` per remote, about
1 ms a file each: 100,000 files took minutes at every start-up, most of it to learn that nothing
needs moving). Like git's index and Syncthing's database, we keep what the last scan learnt, in
``.git/syncassistant/scan-state.json``:

- the commit (HEAD) and git-annex branch it covered, and what the remotes and preferred content
  were then (names, UUIDs, modes, expressions; the blob ids of the logs preferred content is
  made of);
- the paths for which it proposed a transfer, before routing (``pending``): work that was
  outstanding then, whether queued, left to another clone by routing, or deferred.

A *catch-up* scan (at start, when a remote comes back) then looks at: the paths whose file
changed between that commit and HEAD; the pending paths; and the paths of the keys whose
location log changed in a way that may call for a transfer (the content is not here, or a
remote we upload to is not recorded as having it). Every other path had no transfer to propose
then, and nothing its answer depends on has changed since. The same scan over the whole tree is
done instead when there is no state, the remotes or the preferred-content logs changed, a commit
is gone, or too many keys would have to be looked up one by one.

The state moves only after a scan covered it: a scan killed half-way leaves the older state, and
the next start looks at a superset.
"""

from __future__ import annotations

import json
import logging
import os
import re
import subprocess
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from ..network.netmap_store import annex_log_stamp, cat_blobs, unmerged_annex_branches
from ..proc.annex import annex_binary
from ..proc.git import base_env

if TYPE_CHECKING:
    from ..context import RepoContext
    from ..proc.git import Git
    from .scanner import RemoteInfo

log = logging.getLogger(__name__)

STATE_FILE = "scan-state.json"
VERSION = 1
# Keys whose paths are asked of git-annex one at a time (`git annex whereused`, ~50 ms each):
# beyond this many a scan of the whole tree is as quick.
MAX_LOOKUPS = 60
# What preferred content is made of: any change means every file's answer may differ.
CONTENT_LOGS = ("preferred-content.log", "group.log", "groupwanted.log", "required-content.log",
                "numcopies.log", "mincopies.log", "trust.log")
# A per-key log on the git-annex branch: xxx/yyy/KEY.log (location) or KEY.log.met (metadata).
_KEY_LOG = re.compile(r"^[0-9a-f]{3}/[0-9a-f]{3}/(.+)\.log(\.met)?$")
POINTER_PREFIX = b"/annex/objects/"
POINTER_MAX = 8192


@dataclass
class Snapshot:
    """What a scan covers: taken before it starts (later changes are the next scan's)."""

    head: str | None
    annex: str | None
    remotes: list[list[str]]  # [name, uuid, mode, wanted] of each remote content syncs with
    here_wants: str
    logs: str  # the blob ids of CONTENT_LOGS
    uuid: str  # this clone's (a copied repository given a new one has scanned nothing)
    pending: list[str] = field(default_factory=list)

    def covers_remotes_of(self, now: Snapshot) -> bool:
        """The same clone; every remote now was there then, the same; preferred content is as
        it was."""
        then = {tuple(r) for r in self.remotes}
        return (self.uuid == now.uuid and self.here_wants == now.here_wants and self.logs == now.logs
                and all(tuple(r) in then for r in now.remotes))


def take(ctx: RepoContext, remotes: list[RemoteInfo], here_wants: str) -> Snapshot:
    """HEAD, the git-annex branch and the remotes now. Other clones' git-annex branches that
    arrived are merged first (git-annex does that on its next read anyway): else their location
    changes would be neither in this scan's diff nor looked at by this run."""
    if unmerged_annex_branches(ctx.git):
        ctx.annex.update_branch()
    return Snapshot(head=ctx.git.rev("HEAD"), annex=ctx.git.ref_sha("refs/heads/git-annex"),
                    remotes=sorted([r.name, r.uuid, r.mode, r.wanted] for r in remotes),
                    here_wants=here_wants, logs=annex_log_stamp(ctx.git, *CONTENT_LOGS),
                    uuid=ctx.annex.uuid() or "")


def load(state_dir: Path) -> Snapshot | None:
    try:
        raw = json.loads((state_dir / STATE_FILE).read_text(encoding="utf-8"))
        if raw.pop("version", None) != VERSION:
            return None
        return Snapshot(**raw)
    except (OSError, ValueError, TypeError):
        return None


def save(state_dir: Path, snap: Snapshot, pending: Iterable[str]) -> None:
    """Write the state atomically (a torn file would only cost a full scan, a stale one a
    bigger catch-up: both safe)."""
    data = {"version": VERSION, **asdict(snap), "pending": sorted(set(pending))}
    tmp = state_dir / (STATE_FILE + ".tmp")
    try:
        tmp.write_text(json.dumps(data), encoding="utf-8")
        os.replace(tmp, state_dir / STATE_FILE)
    except OSError as e:
        log.warning("%s: cannot record the content scan's state: %s", state_dir, e)


@dataclass
class CatchUp:
    """What a catch-up scan looks at; ``full`` says why the whole tree must be scanned instead."""

    paths: list[str] = field(default_factory=list)
    full: str | None = None
    changed_files: int = 0
    changed_logs: int = 0
    looked_up: int = 0


def catch_up(ctx: RepoContext, then: Snapshot | None, now: Snapshot, remotes: list[RemoteInfo]) -> CatchUp:
    """The paths a scan must look at to know what the last scan (``then``) plus this one would
    know of the whole tree at ``now``."""
    if then is None:
        return CatchUp(full="no record of an earlier scan")
    if not then.covers_remotes_of(now):
        return CatchUp(full="this clone, its remotes or preferred content changed")
    git = ctx.git
    changed: set[str] = set()
    blobs: dict[str, str] = {}  # path -> blob id of its new version (its key is in the blob)
    if then.head != now.head:
        if then.head is None or now.head is None:
            return CatchUp(full="no commit to compare with")
        res = git.run("diff-tree", "-r", "-z", "--no-renames", then.head, now.head, check=False, timeout=600)
        if res.returncode != 0:
            return CatchUp(full=f"cannot compare with the last scanned commit: {res.stderr.strip()[:200]}")
        for meta, path in _raw_entries(res.stdout):
            parts = meta.split()
            if parts[-1] != "D":
                changed.add(path)
                if parts[1] in ("100644", "100755", "120000"):
                    blobs[path] = parts[3]
    result = CatchUp(changed_files=len(changed))
    logs = _changed_key_logs(ctx, then.annex, now.annex)
    if logs is None:
        return CatchUp(full="cannot compare with the last scanned git-annex branch")
    locations, metadata = logs
    preferred = bool(now.here_wants) or any(r[3] for r in now.remotes)
    # metadata matters only to preferred-content expressions (metadata=...)
    keys = {**{k: b"" for k in metadata}, **locations} if preferred else locations
    result.changed_logs = len(keys)
    paths = changed | set(then.pending)
    if keys:
        me = now.uuid
        uploads = {r.uuid for r in remotes if r.uploads}
        contents = cat_blobs(git, [*(s for s in keys.values() if isinstance(s, str)),
                                   *_small_blobs(git, blobs.values())])
        covered = {k for b in blobs.values() if (k := _key_of(contents.get(b))) is not None}
        lookups = []
        for key, source in keys.items():
            if key in covered:
                continue
            text = source if isinstance(source, bytes) else contents.get(source) or b""
            if preferred or _may_need_transfer(text, me, uploads):
                lookups.append(key)
        if len(lookups) > MAX_LOOKUPS:
            return CatchUp(full=f"{len(lookups)} files' location logs changed")
        for key in lookups:
            paths.update(_paths_of_key(ctx, key))
        result.looked_up = len(lookups)
    result.paths = sorted(paths)
    return result


def _raw_entries(out: str) -> Iterable[tuple[str, str]]:
    """(":old-mode new-mode old-blob new-blob status", path) of `git diff-tree -r -z` output."""
    items = out.split("\0")
    for meta, path in zip(items[0::2], items[1::2], strict=False):
        if meta.startswith(":"):
            yield meta, path


def _changed_key_logs(ctx: RepoContext, old: str | None,
                      new: str | None) -> tuple[dict[str, str | bytes], set[str]] | None:
    """The per-key logs on the git-annex branch that changed from `old` to `new`: key -> the
    blob id of its location log (or its text, from git-annex's journal: changes not committed
    to the branch yet), and the keys whose metadata changed. None: cannot tell."""
    locations: dict[str, str | bytes] = {}
    metadata: set[str] = set()
    if old != new:
        if old is None or new is None:
            return None
        res = ctx.git.run("diff-tree", "-r", "-z", "--no-renames", old, new, check=False, timeout=600)
        if res.returncode != 0:
            return None
        for meta, path in _raw_entries(res.stdout):
            m = _KEY_LOG.match(path)
            if m and meta.split()[-1] != "D":
                if m.group(2):
                    metadata.add(m.group(1))
                else:
                    locations[m.group(1)] = meta.split()[3]
    journal = ctx.git.git_dir / "annex" / "journal"
    try:
        names = os.listdir(journal)
    except OSError:
        names = []
    for name in names:
        # '/' is written '_' and '_' '__'; the hash folders hold no '_', so "xxx_yyy_" leads
        m = _KEY_LOG.match(f"{name[:3]}/{name[4:7]}/{name[8:].replace('__', '_')}") if len(name) > 8 else None
        if m and m.group(2):
            metadata.add(m.group(1))
        elif m:
            try:
                locations[m.group(1)] = (journal / name).read_bytes()
            except OSError:
                continue
    return locations, metadata


def _may_need_transfer(log_text: bytes, me: str, uploads: set[str]) -> bool:
    """From a location log: the content is not here, or a remote we upload to lacks it. Only
    then can its files need a transfer (a copy arriving somewhere else takes work away)."""
    latest: dict[str, tuple[float, str]] = {}
    for line in log_text.decode("utf-8", errors="replace").splitlines():
        words = line.split()
        if len(words) != 3:
            continue
        try:
            ts = float(words[0].rstrip("s"))
        except ValueError:
            continue
        if words[2] not in latest or ts >= latest[words[2]][0]:
            latest[words[2]] = (ts, words[1])
    present = {u for u, (_, state) in latest.items() if state == "1"}
    return me not in present or not uploads <= present


def _small_blobs(git: Git, shas: Iterable[str]) -> list[str]:
    """The blobs small enough to be pointer files or symlinks (a big file kept in git is not read)."""
    shas = list(dict.fromkeys(shas))
    if not shas:
        return []
    res = git.run("cat-file", "--batch-check", input="".join(s + "\n" for s in shas), check=False, timeout=600)
    out = []
    for line in res.stdout.splitlines():
        parts = line.split()
        if len(parts) == 3 and parts[1] == "blob" and int(parts[2]) <= POINTER_MAX:
            out.append(parts[0])
    return out


def _key_of(blob: bytes | None) -> str | None:
    """The key named by a pointer file or an annex symlink's target."""
    if not blob or len(blob) > POINTER_MAX:
        return None
    text = blob.strip()
    if text.startswith(POINTER_PREFIX) or b"/annex/objects/" in text:
        return text.rsplit(b"/", 1)[-1].decode("utf-8", errors="surrogateescape")
    return None


def _paths_of_key(ctx: RepoContext, key: str) -> list[str]:
    """The files in the current tree whose content is `key` (git-annex's keys database)."""
    res = subprocess.run([annex_binary(), "whereused", f"--key={key}"], cwd=ctx.root, env=base_env(),
                         capture_output=True, stdin=subprocess.DEVNULL, timeout=120)
    out = []
    for line in res.stdout.decode("utf-8", errors="surrogateescape").splitlines():
        if line.startswith(key + " "):
            out.append(os.path.normpath(line[len(key) + 1:]))
    return out
