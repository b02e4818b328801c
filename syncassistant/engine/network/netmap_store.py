"""Publishing this clone's outgoing edges, and reading every clone's: the network map on disk.

Where the logs live
-------------------
Each clone writes only its own edge log, ``syncassistant/netmap/<uuid>.log``
(:func:`netmap.log_path`), so two clones never write the same file.

git-annex has no supported way to store a third-party file on its ``git-annex`` branch:
``git annex config --set`` accepts only a fixed list of settings ("... is not a configuration
setting that can be stored in the git-annex branch"), metadata is per key, and committing to
the branch behind git-annex's back races with its journal and its own index
(``.git/annex/index``).  So the logs live on a dedicated branch, :data:`REF`
(``refs/heads/syncassistant-netmap``), written with plumbing only (``hash-object``,
``update-index`` on a temporary ``GIT_INDEX_FILE``, ``write-tree``, ``commit-tree`` and
``update-ref`` with the old value, so a concurrent writer makes us retry instead of losing an
update).  The work tree, the real index and HEAD are never touched.

How it travels and merges
-------------------------
It travels like ``git-annex`` does in ``git annex sync``: the pusher pushes :data:`REF` to each
remote's :data:`SYNCED_REF` (see :func:`refspecs`), and a fetch brings the remote's copies in as
``refs/remotes/<r>/syncassistant-netmap`` and ``refs/remotes/<r>/synced/syncassistant-netmap``.
:func:`merge_incoming` merges them by a *tree union*: for every path the version with the newest
snapshot (``ts``, see :func:`netmap.parse_edges`) wins; identical timestamps fall back to the
greater blob id, so every clone picks the same.  It cannot conflict (one writer per file), the
merge commit has every merged head as a parent (so the next push to a remote's ``synced/`` ref
fast-forwards), and nothing is committed when every incoming head is already contained.

Nodes (UUID -> description) come from ``uuid.log`` on the ``git-annex`` branch (plus git-annex's
uncommitted journal); repositories marked dead in ``trust.log`` are left out of the map.
"""

from __future__ import annotations

import logging
import os
import tempfile
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeAlias

from ..context import RepoContext
from ..proc.git import Git, GitError
from .netmap import LOG_DIR, Edge, NetMap, _snapshot_ts, format_edges, log_path, parse_edges
from .remotes import remotes_of

if TYPE_CHECKING:
    #: Anything naming a repository: its RepoContext, a Git, or its path.
    Repo: TypeAlias = RepoContext | Git | str | os.PathLike[str]

log = logging.getLogger(__name__)

BRANCH = "syncassistant-netmap"
REF = f"refs/heads/{BRANCH}"
SYNCED_REF = f"refs/heads/synced/{BRANCH}"
#: Where other clones' copies of the branch show up (pushed to us, or fetched).
INCOMING_PATTERNS = (SYNCED_REF, f"refs/remotes/*/{BRANCH}", f"refs/remotes/*/synced/{BRANCH}",
                     f"refs/synced/*/{BRANCH}")  # (the last: tagged pushes, see Pusher.push_remote)
#: A remote that is still reachable is re-published only when its last-seen time is this old,
#: so an idle clone does not make a commit (and a push) on every check.
SEEN_REFRESH = 6 * 3600.0
#: Measured throughputs closer than this ratio count as unchanged (no re-publish).
BPS_TOLERANCE = 1.25
#: Upload modes of the content scanner that send content through a remote.
UPLOAD_MODES = ("full", "upload-only")
ZERO_OID = "0" * 40
_RETRIES = 8
_IDENTITY = {
    "GIT_AUTHOR_NAME": "syncassistant",
    "GIT_AUTHOR_EMAIL": "syncassistant@localhost",
    "GIT_COMMITTER_NAME": "syncassistant",
    "GIT_COMMITTER_EMAIL": "syncassistant@localhost",
}

_locks: dict[str, threading.Lock] = {}
_locks_guard = threading.Lock()


# ---------------------------------------------------------------------------- small helpers


def git_of(repo: Repo) -> Git:
    """A :class:`Git` for a RepoContext, a Git or a path."""
    if isinstance(repo, Git):
        return repo
    if isinstance(repo, RepoContext):
        return repo.git
    return Git(Path(os.fspath(repo)))


def _lock(git: Git) -> threading.Lock:
    """One lock per repository in this process (update-ref's old-value check covers others)."""
    key = str(git.path.resolve())
    with _locks_guard:
        return _locks.setdefault(key, threading.Lock())


def my_uuid(repo: Repo) -> str | None:
    """This clone's git-annex UUID (``annex.uuid``), or None before ``git annex init``."""
    return git_of(repo).config_get("annex.uuid") or None


def _to_bytes(text: str) -> bytes:
    """Undo Git.run's decoding (utf-8 with surrogateescape round-trips exactly)."""
    return text.encode("utf-8", errors="surrogateescape")


def cat_blobs(git: Git, names: Sequence[str]) -> dict[str, bytes | None]:
    """Contents of many objects in one ``git cat-file --batch``: name -> bytes (None if missing).

    ``names`` are object names (shas or ``<rev>:<path>``); none may contain a newline.
    """
    wanted = [n for n in dict.fromkeys(names) if n and "\n" not in n]
    out: dict[str, bytes | None] = {n: None for n in names}
    if not wanted:
        return out
    res = git.run("cat-file", "--batch", input="".join(n + "\n" for n in wanted), check=False,
                  timeout=max(60.0, len(wanted) / 200))
    data = _to_bytes(res.stdout)
    pos = 0
    for name in wanted:
        end = data.find(b"\n", pos)
        if end < 0:
            break
        header = data[pos:end].decode("utf-8", errors="replace")
        pos = end + 1
        if header.endswith((" missing", " ambiguous")):
            continue
        parts = header.rsplit(" ", 2)  # "<sha> <type> <size>"
        try:
            size = int(parts[-1])
        except ValueError:
            break  # out of step: give up rather than misattribute contents
        out[name] = data[pos:pos + size]
        pos += size + 1  # the content is followed by a newline
    return out


def _ls_tree(git: Git, rev: str) -> dict[str, tuple[str, str]]:
    """path -> (mode, blob sha) of every file in ``rev``."""
    res = git.run("ls-tree", "-r", "-z", "--full-tree", rev)
    entries: dict[str, tuple[str, str]] = {}
    for item in res.stdout.split("\0"):
        if not item:
            continue
        meta, _, path = item.partition("\t")
        parts = meta.split()
        if len(parts) == 3 and parts[1] == "blob":
            entries[path] = (parts[0], parts[2])
    return entries


def _write_tree(git: Git, entries: Mapping[str, tuple[str, str]]) -> str:
    """A tree object holding exactly ``entries`` (path -> (mode, blob)), via a scratch index."""
    fd, index = tempfile.mkstemp(prefix="netmap-index-", dir=git.git_dir)
    os.close(fd)
    os.unlink(index)  # git creates it; an empty file is not a valid index
    env = {"GIT_INDEX_FILE": index}
    try:
        info = "".join(f"{mode} blob {sha}\t{path}\0" for path, (mode, sha) in sorted(entries.items()))
        if info:
            git.run("update-index", "--add", "-z", "--index-info", input=info, env=env)
        return git.run("write-tree", env=env).stdout.strip()
    finally:
        for leftover in (index, index + ".lock"):
            try:
                os.unlink(leftover)
            except FileNotFoundError:
                pass


def _hash_blob(git: Git, data: str | bytes) -> str:
    return git.run("hash-object", "-w", "--stdin", "-t", "blob", input=data).stdout.strip()


def _commit(git: Git, tree: str, parents: Sequence[str], message: str) -> str:
    args = ["commit-tree", tree]
    for parent in parents:
        args += ["-p", parent]
    return git.run(*args, "-m", message, env=dict(_IDENTITY)).stdout.strip()


def _update_ref(git: Git, new: str, old: str | None, message: str) -> bool:
    """Move :data:`REF` from ``old`` (None: must not exist) to ``new``; False if it moved meanwhile."""
    res = git.run("update-ref", "-m", message, REF, new, old or ZERO_OID, check=False)
    return res.returncode == 0


def _uuid_of_path(path: str) -> str | None:
    prefix = LOG_DIR + "/"
    if path.startswith(prefix) and path.endswith(".log"):
        uuid = path[len(prefix):-4]
        if uuid and "/" not in uuid:
            return uuid
    return None


# ---------------------------------------------------------------------------- local edges


def local_edges(
    repo: Repo,
    reachable: Mapping[str, bool] | None = None,
    *,
    measured_bps: Mapping[str, float] | None = None,
    now: float | None = None,
) -> list[Edge]:
    """This clone's outgoing edges: one per remote that content can be uploaded to.

    A remote counts when git-annex knows its UUID (``remote.<n>.annex-uuid``, recorded the
    first time git-annex talks to it) and it is not ``annex-ignore``d, not ``annex-sync=false``
    and not in a syncassistant mode that never uploads.  Its cost is ``remote.<n>.annex-cost``,
    else :func:`remotes.default_cost` of its URL (special remotes without a URL: git-annex's
    expensive class).  ``reachable`` (remote name -> bool, from the caller's pushes and
    transfers) marks remotes down; a remote not in it counts as reachable.  A reachable edge is
    stamped ``last_seen=now``; a down one keeps the time it was last published as seen.
    """
    git = git_of(repo)
    me = my_uuid(git)
    if not me:
        return []
    now = time.time() if now is None else now
    reachable = reachable or {}
    measured_bps = measured_bps or {}
    previous = {e.remote: e for e in published_edges(git, me)}
    edges: list[Edge] = []
    for name, remote in remotes_of(git).items():
        uuid = (remote.uuid or "").strip()
        if not uuid or uuid == me:
            continue
        if remote.ignore or not remote.sync or remote.mode not in UPLOAD_MODES:
            continue
        cost = remote.cost  # annex-cost, else git-annex's default for its kind
        up = bool(reachable.get(name, True))
        seen = now if up else (previous[name].last_seen if name in previous else None)
        edges.append(Edge(src=me, dst=uuid, remote=name, cost=cost,
                          measured_bps=measured_bps.get(name), last_seen=seen, reachable=up))
    return edges


# ---------------------------------------------------------------------------- publishing


def published_text(repo: Repo, uuid: str | None = None) -> bytes | None:
    """The edge log of ``uuid`` (default: this clone) as committed on :data:`REF`."""
    git = git_of(repo)
    uuid = uuid or my_uuid(git)
    if not uuid:
        return None
    return cat_blobs(git, [f"{REF}:{log_path(uuid)}"]).get(f"{REF}:{log_path(uuid)}")


def published_edges(repo: Repo, uuid: str | None = None) -> list[Edge]:
    """The edges of ``uuid`` (default: this clone) as committed on :data:`REF`."""
    git = git_of(repo)
    uuid = uuid or my_uuid(git)
    text = published_text(git, uuid) if uuid else None
    return parse_edges(text, src=uuid) if text is not None and uuid else []


def _same_edges(old: Iterable[Edge], new: Iterable[Edge]) -> bool:
    """Equal for routing purposes; last_seen only matters once it is SEEN_REFRESH stale."""
    def index(edges: Iterable[Edge]) -> dict[tuple[str, str], Edge]:
        return {(e.dst, e.remote): e for e in edges}

    def close(x: float | None, y: float | None) -> bool:
        if x is None or y is None:
            return x is None and y is None
        low, high = sorted((x, y))
        return high <= low * BPS_TOLERANCE if low > 0 else high == low

    a, b = index(old), index(new)
    if a.keys() != b.keys():
        return False
    for key, e in a.items():
        f = b[key]
        if (e.cost, e.reachable) != (float(f.cost), f.reachable) or not close(e.measured_bps, f.measured_bps):
            return False
        if f.last_seen is not None and (e.last_seen is None or f.last_seen - e.last_seen > SEEN_REFRESH):
            return False
    return True


def publish(repo: Repo, edges: Iterable[Edge], *, now: float | None = None) -> bool:
    """Commit this clone's ``edges`` as its log on :data:`REF`; True if a commit was made.

    Nothing is committed when the published edges already say the same (see
    :data:`SEEN_REFRESH`).  Raises ValueError for edges that do not start at this clone.
    """
    git = git_of(repo)
    me = my_uuid(git)
    if not me:
        raise ValueError(f"{git.path}: not a git-annex repository (no annex.uuid)")
    edges = list(edges)
    path = log_path(me)
    with _lock(git):
        for _ in range(_RETRIES):
            parent = git.ref_sha(REF)
            entries = _ls_tree(git, parent) if parent else {}
            current = cat_blobs(git, [entries[path][1]])[entries[path][1]] if path in entries else None
            if current is not None and _same_edges(parse_edges(current, src=me), edges):
                return False
            text = format_edges(me, edges, now=now, previous=current)
            entries[path] = ("100644", _hash_blob(git, text))
            tree = _write_tree(git, entries)
            message = f"netmap: {me} publishes {len(edges)} edge(s)"
            commit = _commit(git, tree, [parent] if parent else [], message)
            if _update_ref(git, commit, parent, "netmap: publish"):
                log.debug("%s: published %d netmap edge(s)", git.path, len(edges))
                return True
        raise GitError(["update-ref", REF], 1, "", "netmap branch kept changing; publish gave up")


def publish_local(repo: Repo, reachable: Mapping[str, bool] | None = None) -> bool:
    """:func:`publish` (:func:`local_edges` (``reachable``)): the daemon's one-call hook.

    Never raises on git trouble (logged instead); returns whether a commit was made.
    """
    try:
        git = git_of(repo)
        if not my_uuid(git):
            return False
        return publish(git, local_edges(git, reachable))
    except (GitError, OSError) as e:
        log.warning("netmap: publishing this clone's edges failed: %s", e)
        return False


class Publisher:
    """Keeps this clone's published edges current while a daemon runs (one thread).

    Re-publishes (debounced by ``delay`` seconds) after pushes succeed or fail, since that is
    when a remote is found down or back, and every ``refresh`` seconds (remotes added or
    re-costed, last-seen times).  Reachability comes from ``snapshot()`` (``Pusher.snapshot``:
    records with "name", "error", "offline").  After a publish that committed something,
    ``on_change()`` runs (give it ``pusher.request`` so the map travels).
    """

    WATCHED = ("pushed", "push-failed", "state")

    def __init__(self, ctx: RepoContext, snapshot: Callable[[], list[dict]],
                 on_change: Callable[[], None] = lambda: None, *, delay: float = 2.0,
                 refresh: float = 3600.0) -> None:
        self.ctx = ctx
        self.snapshot = snapshot
        self.on_change = on_change
        self.delay = delay
        self.refresh = refresh
        self.publishes = 0
        self._cond = threading.Condition()
        self._wanted = True  # publish once at start
        self._stop = False
        self._unsubscribe: Callable[[], None] | None = None
        self._thread = threading.Thread(target=self._loop, daemon=True,
                                        name=f"syncassistant-netmap-{ctx.root.name}")

    def start(self) -> None:
        self._unsubscribe = self.ctx.events.subscribe(self._on_event)
        self._thread.start()

    def stop(self) -> None:
        if self._unsubscribe:
            self._unsubscribe()
        with self._cond:
            self._stop = True
            self._cond.notify_all()
        if self._thread.is_alive():
            self._thread.join(30)

    def request(self) -> None:
        """Publish soon (after ``delay``)."""
        with self._cond:
            self._wanted = True
            self._cond.notify_all()

    def _on_event(self, event: Any) -> None:
        if event.kind in self.WATCHED and event.repo == str(self.ctx.root):
            self.request()

    def reachability(self) -> dict[str, bool]:
        return {str(r["name"]): not (r.get("error") or r.get("offline")) for r in self.snapshot()}

    def _loop(self) -> None:
        while True:
            with self._cond:
                if not self._wanted and not self._stop:
                    self._cond.wait(self.refresh)
                    self._wanted = True
                if not self._stop:
                    self._cond.wait(self.delay)  # let a burst of pushes settle
                if self._stop or self.ctx.stopping.is_set():
                    return
                self._wanted = False
            if self.ctx.paused.is_set():
                continue
            if publish_local(self.ctx, self.reachability()):
                self.publishes += 1
                try:
                    self.on_change()
                except Exception:
                    log.exception("netmap: on_change failed")


# ---------------------------------------------------------------------------- merging


def incoming_refs(repo: Repo) -> dict[str, str]:
    """Other clones' copies of the branch: refname -> commit."""
    git = git_of(repo)
    return {ref: sha for ref, sha in git.refs(*INCOMING_PATTERNS).items() if not ref.endswith("/HEAD")}


def _union(git: Git, commits: Sequence[str]) -> dict[str, tuple[str, str]]:
    """Tree union of ``commits``: per path the version with the newest snapshot."""
    versions: dict[str, dict[str, str]] = {}  # path -> blob -> mode
    for commit in dict.fromkeys(commits):
        for path, (mode, sha) in _ls_tree(git, commit).items():
            versions.setdefault(path, {}).setdefault(sha, mode)
    contested = [sha for blobs in versions.values() if len(blobs) > 1 for sha in blobs]
    contents = cat_blobs(git, contested) if contested else {}
    entries: dict[str, tuple[str, str]] = {}
    for path, blobs in versions.items():
        if len(blobs) == 1:
            (sha, mode), = blobs.items()
            entries[path] = (mode, sha)
            continue
        uuid = _uuid_of_path(path)

        def rank(sha: str, uuid: str | None = uuid) -> tuple[float, str]:
            text = contents.get(sha)
            ts = _snapshot_ts(text, uuid) if text is not None and uuid else None
            return (ts if ts is not None else float("-inf"), sha)

        best = max(blobs, key=rank)
        entries[path] = (blobs[best], best)
    return entries


def merge_incoming(repo: Repo) -> bool:
    """Merge other clones' copies of the branch into :data:`REF`; True if it moved.

    Fast-forwards when one incoming copy already holds the union and ours; otherwise makes one
    merge commit (parents: ours and every incoming head not already contained), also when the
    union is just our tree, so that pushing to the remotes those heads came from fast-forwards.
    Never conflicts.
    """
    git = git_of(repo)
    with _lock(git):
        for _ in range(_RETRIES):
            local = git.ref_sha(REF)
            heads = sorted(set(incoming_refs(git).values()) - {local})
            heads = [h for h in heads if local is None or not git.is_ancestor(h, local)]
            if not heads:
                return False
            # drop heads contained in other heads, to keep the parents minimal
            heads = [h for h in heads if not any(o != h and git.is_ancestor(h, o) for o in heads)]
            entries = _union(git, ([local] if local else []) + heads)
            tree = _write_tree(git, entries)
            # Even when they bring nothing new (same tree), a commit containing them is made:
            # else our next push to a remote whose synced/ ref is one of them would be rejected
            # as not a fast-forward again and again.  Such commits never cause a push (the
            # pusher compares trees), so two clones cannot ping-pong them.
            new = None
            for head in heads:
                contains_local = local is None or git.is_ancestor(local, head)
                if contains_local and git.ref_sha(f"{head}^{{tree}}") == tree:
                    new = head  # fast-forward
                    break
            if new is None:
                parents = ([local] if local else []) + heads
                new = _commit(git, tree, parents, f"netmap: merge {len(heads)} incoming cop(ies)")
            if _update_ref(git, new, local, "netmap: merge"):
                log.debug("%s: merged %d incoming netmap head(s)", git.path, len(heads))
                return True
        raise GitError(["update-ref", REF], 1, "", "netmap branch kept changing; merge gave up")


# ---------------------------------------------------------------------------- pushing


def refspecs(repo: Repo | None = None) -> list[str]:
    """What the pusher adds to each ``git push``.

    With ``repo``: ``["<sha>:refs/heads/synced/syncassistant-netmap"]`` for the current commit
    of :data:`REF`, or ``[]`` when the branch does not exist yet (a refspec naming a missing ref
    would fail the whole push).  Without: the symbolic refspec.
    """
    if repo is None:
        return [f"{REF}:{SYNCED_REF}"]
    sha = git_of(repo).ref_sha(REF)
    return [f"{sha}:{SYNCED_REF}"] if sha else []


def tree_id(repo: Repo) -> str | None:
    """The tree of :data:`REF` (None if absent): for the pusher's "anything new?" check."""
    return git_of(repo).ref_sha(f"{REF}^{{tree}}")


# ---------------------------------------------------------------------------- reading the map


def _annex_journal_file(git: Git, path: str) -> bytes | None:
    """git-annex's uncommitted change to ``path`` of its branch ('/' -> '_', '_' -> '__')."""
    name = path.replace("_", "__").replace("/", "_")
    try:
        return (git.git_dir / "annex" / "journal" / name).read_bytes()
    except OSError:
        return None


def unmerged_annex_branches(git: Git) -> list[str]:
    """Other clones' git-annex branches (pushed to us or fetched) that ours does not contain yet."""
    local = git.ref_sha("refs/heads/git-annex")
    found = git.refs("refs/heads/synced/git-annex", "refs/remotes/*/git-annex")
    shas = sorted({sha for ref, sha in found.items() if not ref.endswith("/HEAD")} - {local})
    return [sha for sha in shas if local is None or not git.is_ancestor(sha, local)]


def annex_branch_files(git: Git, paths: Sequence[str], *, unmerged: bool = False) -> dict[str, bytes]:
    """Current contents of files on the ``git-annex`` branch, with git-annex's journal appended.

    With ``unmerged``, the versions on :func:`unmerged_annex_branches` are appended too (what
    git-annex would union-merge on its next run), so news that arrived is not missed.
    """
    revs = ["refs/heads/git-annex"] + (unmerged_annex_branches(git) if unmerged else [])
    found = cat_blobs(git, [f"{rev}:{p}" for rev in revs for p in paths])
    out: dict[str, bytes] = {}
    for p in paths:
        parts = [found.get(f"{rev}:{p}") or b"" for rev in revs]
        journal = _annex_journal_file(git, p)
        if journal:
            parts.append(journal)
        out[p] = b"\n".join(part for part in parts if part)
    return out


def _timestamped(line: str) -> tuple[str, str, float] | None:
    """``uuid value... timestamp=N[s]`` -> (uuid, value, ts)."""
    words = line.split()
    if len(words) < 2 or not words[-1].startswith("timestamp="):
        return None
    try:
        ts = float(words[-1][len("timestamp="):].rstrip("s"))
    except ValueError:
        return None
    return words[0], " ".join(words[1:-1]), ts


def _latest(text: bytes) -> dict[str, str]:
    latest: dict[str, tuple[float, str]] = {}
    for raw in text.decode("utf-8", errors="replace").splitlines():
        rec = _timestamped(raw)
        if rec is None:
            continue
        uuid, value, ts = rec
        if uuid not in latest or ts >= latest[uuid][0]:
            latest[uuid] = (ts, value)
    return {uuid: value for uuid, (_, value) in latest.items()}


def annex_log_stamp(repo: Repo, *files: str) -> str:
    """Changes when any of these files of the git-annex branch does (their blob ids); for caches
    that must not be thrown away on every commit to the branch."""
    git = git_of(repo)
    return git.run("ls-tree", "refs/heads/git-annex", "--", *files, check=False).stdout


def repositories(repo: Repo) -> tuple[dict[str, str], set[str]]:
    """(UUID -> description from ``uuid.log``, UUIDs marked dead in ``trust.log``)."""
    git = git_of(repo)
    files = annex_branch_files(git, ["uuid.log", "trust.log"])
    dead = {uuid for uuid, level in _latest(files["trust.log"]).items() if level == "X"}
    return _latest(files["uuid.log"]), dead


def read_logs(repo: Repo, *, include_incoming: bool = True) -> dict[str, bytes]:
    """UUID -> edge log text, from :data:`REF` (and, by default, unmerged incoming copies)."""
    git = git_of(repo)
    commits = [c for c in [git.ref_sha(REF)] if c]
    if include_incoming:
        commits += sorted(set(incoming_refs(git).values()) - set(commits))
    if not commits:
        return {}
    entries = _union(git, commits) if len(commits) > 1 else _ls_tree(git, commits[0])
    by_uuid = {uuid: sha for path, (_, sha) in entries.items() if (uuid := _uuid_of_path(path))}
    blobs = cat_blobs(git, list(by_uuid.values()))
    return {uuid: blobs[sha] or b"" for uuid, sha in by_uuid.items()}


def load_map(repo: Repo, *, include_incoming: bool = True, local: bool = False,
             reachable: Mapping[str, bool] | None = None) -> NetMap:
    """The whole network as this clone knows it.

    Edges: every clone's published log (:func:`read_logs`); with ``local`` this clone's
    current :func:`local_edges` (``reachable``) replace its published ones (for a map drawn
    while no daemon runs).  Nodes: descriptions from ``uuid.log``; dead repositories and their
    edges are left out.
    """
    git = git_of(repo)
    logs = read_logs(git, include_incoming=include_incoming)
    nodes, dead = repositories(git)
    edges = [edge for uuid, text in logs.items() for edge in parse_edges(text, src=uuid)]
    me = my_uuid(git)
    if local and me:
        edges = [e for e in edges if e.src != me] + local_edges(git, reachable)
    edges = [e for e in edges if e.src not in dead and e.dst not in dead]
    known = {uuid: desc for uuid, desc in nodes.items() if uuid not in dead}
    if me and me not in known:
        known[me] = ""
    return NetMap(known, edges)


def resolve_repository(repo: Repo, name: str) -> str | None:
    """A UUID for ``name``: "here", a UUID, a remote name, a description, or a unique UUID prefix."""
    git = git_of(repo)
    if name == "here":
        return my_uuid(git)
    remote = remotes_of(git).get(name)
    if remote is not None and remote.uuid:
        return remote.uuid
    nodes, _ = repositories(git)
    uuids = set(nodes) | set(read_logs(git))
    if name in uuids:
        return name
    by_desc = [u for u, d in nodes.items() if d == name]
    if len(by_desc) == 1:
        return by_desc[0]
    by_prefix = [u for u in uuids if u.startswith(name)]
    return by_prefix[0] if len(by_prefix) == 1 else None
