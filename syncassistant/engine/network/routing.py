"""Who sends content where: the arborescence of the network map applied to upload decisions.

Preferred content still decides *who wants what* (the scanner only proposes uploads to remotes
that want and lack a key); routing only decides *who sends*: for a key that entered the network
at repository R (its *origin*, :func:`origin_of`), this clone uploads only to its children in
the minimum-cost arborescence rooted at R (:meth:`NetMap.forward_targets`).  It falls back to
flooding (every candidate) whenever the map cannot say: this clone or the origin unknown to
the map, or a candidate remote the map has never heard of (added since the last publish).
A remote known to be down is routed around (the tree is recomputed without that edge).

The origin of a key is read from git-annex's location log: the repository whose current
"present" record is the oldest.  Records of different machines are compared, so clock skew
of more than the time content takes to cross the network can pick another origin; the cost is
a different (still complete) tree, never lost content.

Downloads (:func:`route_transfers`): a download from a remote that is not this clone's parent
in the tree brings the content over an edge the tree does not use (often the expensive one).
With ``download_grace`` > 0 such downloads are *deferred* (marked ``deferred``) by that many
seconds plus the time the tree path should need for the bytes (each hop at its measured
throughput, 1 MiB/s where none is known yet; :func:`grace_for`) rather than dropped: if
the parent delivers first, the deferred download finds the content present and moves nothing;
if the parent never does (switched off: it cannot publish that), the download still happens.
The scanner uses :data:`DOWNLOAD_GRACE`; the transfer queue does not count a deferred download
that is not due as work in progress (idle means "nothing to do now"). A parent this clone
cannot reach itself (down, or in ``down_remotes``) never causes a deferral.
"""

from __future__ import annotations

import hashlib
import logging
import os
import threading
import time
from collections.abc import Collection, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING

from .netmap import NetMap
from .netmap_store import (
    INCOMING_PATTERNS,
    REF,
    annex_branch_files,
    annex_log_stamp,
    git_of,
    load_map,
    my_uuid,
)
from .remotes import remotes_of

if TYPE_CHECKING:
    from ..proc.git import Git
    from ..transfers.model import Transfer
    from .netmap_store import Repo

log = logging.getLogger(__name__)

#: Seconds a download over a non-tree edge waits for the tree to deliver the content first,
#: on top of the time the tree path should need for the bytes (:func:`delivery_time`).
DOWNLOAD_GRACE = 60.0
MIB = 1024 * 1024
#: Speed assumed for a tree edge nobody has measured yet (the old fixed rule: 1 s per MiB).
UNMEASURED_BPS = float(MIB)
#: The tree path's expected time is stretched by this: links share, and speeds vary.
DELIVERY_SLACK = 1.5
#: However slow the path, a deferred download runs after this long: the parent may be gone.
MAX_GRACE = 6 * 3600.0


# ---------------------------------------------------------------------------- decisions


def _my_remotes(netmap: NetMap, me: str) -> dict[str, str]:
    """remote name -> destination UUID of every edge ``me`` published."""
    return {e.remote: e.dst for e in netmap.edges if e.src == me}


def upload_targets(
    netmap: NetMap,
    me_uuid: str | None,
    origin_uuid: str | None,
    candidates: Sequence[str],
    down_remotes: Collection[str] = frozenset(),
) -> list[str]:
    """Which of the ``candidates`` (remote names that want and lack the content) to upload to.

    Content that entered the network at ``origin_uuid`` goes to this clone's children in the
    arborescence rooted there, recomputed without the edges through ``down_remotes``; a clone
    outside that tree floods to the candidates outside it too (NetMap.forward_targets).
    Returns ``candidates`` unchanged (flooding) when the map knows neither this clone nor the
    origin, and keeps any candidate the map has no edge for (the map is older than the remote).
    Order of ``candidates`` is kept.
    """
    candidates = list(candidates)
    if not me_uuid or not origin_uuid or not netmap.has(me_uuid) or not netmap.has(origin_uuid):
        return candidates
    mine = _my_remotes(netmap, me_uuid)
    if not mine:
        return candidates
    down = frozenset((me_uuid, mine[r], r) for r in down_remotes if r in mine)
    targets = set(netmap.forward_targets(origin_uuid, me_uuid, down))
    return [r for r in candidates if r in targets or r not in mine]


def tree_parent(netmap: NetMap, me_uuid: str, origin_uuid: str,
                down_edges: Collection[tuple[str, str, str]] = frozenset()) -> str | None:
    """The UUID that forwards ``origin_uuid``'s content to ``me_uuid`` in the tree (None: none)."""
    if not netmap.has(me_uuid) or not netmap.has(origin_uuid):
        return None
    return netmap.tree_parent(origin_uuid, me_uuid, down_edges)


def seconds_per_byte(netmap: NetMap, origin_uuid: str, me_uuid: str,
                     down_edges: Collection[tuple[str, str, str]] = frozenset()) -> float:
    """What each byte costs in time on the tree path from ``origin_uuid`` to ``me_uuid``.

    Content is stored and forwarded hop by hop, so the hops' times add up; each hop at its
    measured throughput (the publisher's own measurement), or :data:`UNMEASURED_BPS`.
    """
    path = netmap.tree_path(origin_uuid, me_uuid, down_edges)
    if path is None:
        return 1 / UNMEASURED_BPS
    return sum(1 / (edge.measured_bps or UNMEASURED_BPS) for edge in path)


def delivery_time(netmap: NetMap, origin_uuid: str, me_uuid: str, size: int,
                  down_edges: Collection[tuple[str, str, str]] = frozenset()) -> float:
    """Seconds the tree should need to bring ``size`` bytes from ``origin_uuid`` to ``me_uuid``."""
    return size * seconds_per_byte(netmap, origin_uuid, me_uuid, down_edges)


def grace(size: int, per_byte: float, base: float) -> float:
    """How long a download off the tree waits for the tree parent to deliver (see the module
    docstring): ``base`` plus the tree path's expected time, with slack, at most MAX_GRACE."""
    return min(MAX_GRACE, base + DELIVERY_SLACK * size * per_byte)


def grace_for(netmap: NetMap, origin_uuid: str, me_uuid: str, size: int, base: float,
              down_edges: Collection[tuple[str, str, str]] = frozenset()) -> float:
    """:func:`grace` for one download (route_transfers works the path out once per origin)."""
    return grace(size, seconds_per_byte(netmap, origin_uuid, me_uuid, down_edges), base)


# ---------------------------------------------------------------------------- origins


def location_log_path(key: str) -> str:
    """Path of ``key``'s location log on the git-annex branch (``hashdirlower``)."""
    digest = hashlib.md5(key.encode("utf-8", errors="surrogateescape"), usedforsecurity=False).hexdigest()
    return f"{digest[:3]}/{digest[3:6]}/{key}.log"


def parse_location_log(text: bytes | str) -> str | None:
    """The origin in a location log: the UUID whose latest record is "present" and oldest.

    Lines are ``<timestamp>[s] <1|0|X> <uuid>``; for each UUID only its latest line counts
    (as in git-annex).  None when no repository is recorded as having the content.
    """
    if isinstance(text, bytes):
        text = text.decode("utf-8", errors="replace")
    latest: dict[str, tuple[float, str]] = {}
    for line in text.splitlines():
        words = line.split()
        if len(words) != 3:
            continue
        try:
            ts = float(words[0].rstrip("s"))
        except ValueError:
            continue
        uuid = words[2]
        if uuid not in latest or ts >= latest[uuid][0]:
            latest[uuid] = (ts, words[1])
    present = [(ts, uuid) for uuid, (ts, state) in latest.items() if state == "1"]
    return min(present)[1] if present else None


def origins(repo: Repo, keys: Iterable[str]) -> dict[str, str | None]:
    """:func:`origin_of` for many keys with one ``git cat-file --batch``.

    Reads the git-annex branch, git-annex's journal, and other clones' git-annex branches that
    are not merged yet (the origin's record may have just arrived).
    """
    git = git_of(repo)
    keys = list(dict.fromkeys(k for k in keys if k and "\n" not in k))
    paths = {k: location_log_path(k) for k in keys}
    files = annex_branch_files(git, list(paths.values()), unmerged=True) if keys else {}
    return {k: parse_location_log(files.get(p, b"")) for k, p in paths.items()}


def origin_of(repo: Repo, key: str) -> str | None:
    """The repository where ``key`` entered the network (the first to have it), or None."""
    return origins(repo, [key]).get(key)


# ---------------------------------------------------------------------------- the scanner hook


_network_lock = threading.Lock()
_network_cache: dict[str, tuple[tuple, tuple[str | None, NetMap, dict[str, str]]]] = {}


def _network(git: Git) -> tuple[str | None, NetMap, dict[str, str]]:
    """(my UUID, the map, remote name -> UUID), read again only when the map's refs, the
    repositories or trust logs, or git's config changed: every scan after a commit routes, and reading the map takes
    several git processes, on the path from a change to its content elsewhere."""
    def mtime(path: str) -> int | None:
        try:
            return os.stat(git.git_dir / path).st_mtime_ns
        except OSError:
            return None

    # Not the git-annex branch itself: every commit moves it (location tracking). Only the logs
    # the map reads (repositories, trust) and the map's own refs.
    stamp = (git.run("for-each-ref", "--format=%(objectname) %(refname)", REF, *INCOMING_PATTERNS).stdout,
             annex_log_stamp(git, "uuid.log", "trust.log"), mtime("config"))
    key = str(git.path)
    with _network_lock:
        hit = _network_cache.get(key)
    if hit and hit[0] == stamp:
        return hit[1]
    value = (my_uuid(git), load_map(git),
             {name: r.uuid or "" for name, r in remotes_of(git).items()})
    with _network_lock:
        _network_cache[key] = (stamp, value)
    return value


def route_transfers(
    repo: Repo,
    transfers: Sequence[Transfer],
    *,
    down_remotes: Collection[str] | None = None,
    netmap: NetMap | None = None,
    download_grace: float = 0.0,
    fresh: bool = False,
) -> list[Transfer]:
    """Apply routing to the scanner's proposals: uploads not on the tree are dropped.

    Uploads of a key go only to the remotes :func:`upload_targets` picks among that key's
    proposed uploads.  With ``download_grace`` > 0, a download from a remote that is not this
    clone's tree parent for the key gets ``not_before`` pushed back by that many seconds (see
    the module docstring).  ``down_remotes``: this clone's remotes failing or away right now
    (None: unknown, go by the reachability this clone last published).  ``fresh``: the
    content was just added here, so it enters the network here (no need to read where each
    key first appeared).  On any trouble
    reading the map the proposals are returned unchanged (flooding).
    """
    if not transfers:
        return []
    try:
        git = git_of(repo)
        me, known_map, uuid_of = _network(git)
        netmap = netmap if netmap is not None else known_map
        if not me or not netmap.has(me) or netmap.edge_count() == 0:
            return list(transfers)
        origin = {t.key: me for t in transfers} if fresh else origins(git, {t.key for t in transfers})
    except Exception as e:  # routing must never stop content from moving
        log.warning("routing: falling back to flooding: %s", e)
        return list(transfers)
    mine = _my_remotes(netmap, me)
    # parents I cannot reach myself may be switched off: never wait for them
    gone = {mine[r] for r in down_remotes or () if r in mine} | {
        e.dst for e in netmap.edges if e.src == me and not e.reachable}
    if down_remotes is not None:
        # the caller knows how our remotes are now: that, not what we last published, decides
        netmap = netmap.with_own_reachability(me, down_remotes)
    else:
        down_remotes = frozenset()
    down = frozenset((me, mine[r], r) for r in down_remotes if r in mine)
    uploads: dict[str, list[str]] = {}
    for t in transfers:
        if t.direction == "upload":
            uploads.setdefault(t.key, []).append(t.remote)
    decided: dict[tuple[str, tuple[str, ...]], set[str]] = {}  # many keys share an origin
    chosen: dict[str, set[str]] = {}
    for key, remotes in uploads.items():
        memo = (origin.get(key) or me, tuple(remotes))
        if memo not in decided:
            decided[memo] = set(upload_targets(netmap, me, memo[0], remotes, down_remotes))
        chosen[key] = decided[memo]
    parents: dict[str, str | None] = {}
    per_byte: dict[str, float] = {}  # origin -> its tree path's seconds per byte (many keys share one)
    out: list[Transfer] = []
    now = time.monotonic()
    for t in transfers:
        if t.direction == "upload":
            if t.remote in chosen[t.key]:
                out.append(t)
            continue
        root = origin.get(t.key)
        if download_grace > 0 and root and root != me:
            if root not in parents:
                parents[root] = tree_parent(netmap, me, root, down)
            parent = parents[root]
            if parent is not None and parent not in gone and uuid_of.get(t.remote) != parent:
                if root not in per_byte:
                    per_byte[root] = seconds_per_byte(netmap, root, me, down)
                t.not_before = max(t.not_before, now + grace(t.size or 0, per_byte[root], download_grace))
                t.deferred = True
        out.append(t)
    dropped = len(transfers) - len(out)
    if dropped:
        log.debug("%s: routing left %d upload(s) to the tree", git.path, dropped)
    return out


def down_remotes_from(states: Iterable[Mapping[str, object]]) -> set[str]:
    """Remote names that are failing or offline, from ``Pusher.snapshot()`` records."""
    return {str(s["name"]) for s in states if s.get("error") or s.get("offline")}
