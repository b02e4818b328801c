"""The repository network as a graph, and where to forward new content.

This module owns the *pure* part of routing (no git, no processes, no threads):

* :class:`Edge` -- "repository ``src`` can push to repository ``dst`` through its remote
  ``remote``", with the remote's git-annex cost, an optional measured throughput and when it was
  last seen reachable.
* :func:`format_edges` / :func:`parse_edges` -- the per-repository edge log.  Each clone
  publishes only its own outgoing edges, one small file per UUID (:func:`log_path`), so every
  clone learns the whole graph by syncing and no two clones ever write the same file.
* :class:`NetMap` -- the graph (of UUIDs; a :class:`networkx.DiGraph` on demand), the minimum-cost
  arborescence rooted at the repository where content entered the network, and the decision
  which remotes a given clone forwards that content to (:meth:`NetMap.forward_targets`),
  with flooding (:meth:`NetMap.flood_targets`) as the baseline and the fallback.

The edge log format
-------------------
One JSON object per line (names may contain anything; JSON escapes it).  Every
:func:`format_edges` call writes a *snapshot*: a marker line and one line per edge, all stamped
with the same snapshot time ``ts``::

    {"v": 1, "ts": 1718000000.0, "src": "<uuid>"}
    {"v": 1, "ts": 1718000000.0, "src": "<uuid>", "dst": "<uuid>", "remote": "nas", "cost": 100.0,
     "bps": 52000000.0, "seen": 1717999990.0, "up": true}

(one line each in the file).  The reader keeps, for each ``src``, only the lines of its newest
snapshot.  That makes the file safe under a *union merge* -- which is how git-annex merges its
branch: lines of both sides are kept -- because stale lines from older snapshots simply lose,
and a removed remote does not come back.  ``ts`` is only ever compared with other ``ts`` values
written by the same clone, so clock skew between machines does not matter; pass ``previous`` to
:func:`format_edges` to stay monotonic even if the local clock steps back.  Lines that do not
parse, have another format version, or lack required fields are ignored; parsing never raises.

Weights and tie-breaking
------------------------
An edge's weight is the remote's cost (``remote.<name>.annex-cost``, or git-annex's default for
the remote type, see the ``*_REMOTE_COST`` constants).  When a throughput has been measured the
cost is scaled *up* for slow links, never down (:meth:`NetMap.effective_weight`): the configured
cost states what the owner is willing to pay (it may be money: a metered cloud link is not
cheaper because it is fast), and slowness only adds to it.

Every clone computes the same tree independently, so results must not depend on dict order or
on the networkx version.  Weights are quantised to 1/1000 and ties are broken canonically:
edges are ranked by ``(weight, src, dst)``; among all minimum-weight arborescences the one whose
highest-ranked edge is lowest wins (then the second highest, and so on).  This is done exactly,
with Python integers (``weight * 2**m + 2**rank``), not with a floating-point epsilon.

Down edges and flooding
-----------------------
An edge is *usable* when its owner last saw it reachable (``Edge.reachable``) and it is not in
the caller's ``down_edges``.  :meth:`NetMap.forward_targets` recomputes the tree over usable
edges only, so a down tree edge re-routes its subtree through the next best edges.  Repositories
that no usable path from the root reaches are not in the tree; a clone that holds the content
but is itself outside the tree (it got the content by pulling, or the map is stale) floods it to
its usable remotes that are also outside the tree: "whoever can reach them" sends.  A clone that
knows of a down edge should also publish it (``reachable=False`` in its log), so that the other
clones, which compute their own part of the tree, re-route the same way once they sync.
"""

from __future__ import annotations

import json
import logging
import math
import time
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import networkx as nx  # imported only where a networkx graph is asked for (see NetMap)

log = logging.getLogger(__name__)

# --- git-annex's default remote costs (Config/Cost.hs; "users ... pick values relative to
# them. So don't change.").  Git remotes: a local path is cheap, a URL (ssh, http) expensive
# (Remote/Git.hs: ``if repoCheap r then cheapRemoteCost else expensiveRemoteCost``).  rsync,
# gcrypt, bup, borg, ddar use nearlyCheap when local, expensive otherwise.
CHEAP_REMOTE_COST = 100.0
NEARLY_CHEAP_REMOTE_COST = 110.0  # called semiCheapRemoteCost in git-annex before 2013
SEMI_EXPENSIVE_REMOTE_COST = 175.0
EXPENSIVE_REMOTE_COST = 200.0
VERY_EXPENSIVE_REMOTE_COST = 1000.0
ENCRYPTED_REMOTE_COST_ADJ = 50.0  # added to the cost of an encrypted special remote
# (a git remote's default cost by its URL: remotes.default_cost)

# --- throughput blending, see NetMap.effective_weight
REFERENCE_BPS = 10_000_000.0  # 10 MB/s (about 100 Mbit/s): at or above this, no penalty
MAX_SLOWNESS_FACTOR = 10.0  # a slow link costs at most this many times its configured cost

LOG_DIR = "syncassistant/netmap"
LOG_VERSION = 1
_QUANTUM = 1000  # weights are compared in 1/1000 cost units

#: A reference to an edge in ``down_edges``: ``(src, dst)`` means every remote from src to
#: dst, ``(src, dst, remote)`` that one remote.
EdgeRef = tuple[str, str] | tuple[str, str, str]


@dataclass(frozen=True)
class Edge:
    """Repository ``src`` can push to repository ``dst`` through its git remote ``remote``."""

    src: str
    dst: str
    remote: str
    cost: float = EXPENSIVE_REMOTE_COST
    measured_bps: float | None = None
    last_seen: float | None = None  # epoch seconds when last seen reachable
    reachable: bool = True


def log_path(uuid: str) -> str:
    """Path of ``uuid``'s edge log inside the branch the logs are kept on."""
    return f"{LOG_DIR}/{uuid}.log"


# ---------------------------------------------------------------------------- the edge log


def _finite(value: Any) -> float | None:
    """``value`` as a float if it is a finite JSON number (not a bool), else None."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    value = float(value)
    return value if math.isfinite(value) else None


def _reject_constant(name: str) -> float:
    raise ValueError(f"non-finite number {name}")


def _loads(line: str) -> dict[str, Any] | None:
    try:
        obj = json.loads(line, parse_constant=_reject_constant)
    except (ValueError, RecursionError):
        return None
    return obj if isinstance(obj, dict) else None


def _snapshot_ts(text: str | bytes, src: str) -> float | None:
    latest = None
    for obj in _objects(text):
        if obj.get("src") == src:
            ts = _finite(obj.get("ts"))
            if ts is not None and (latest is None or ts > latest):
                latest = ts
    return latest


def _objects(text: str | bytes) -> Iterable[dict[str, Any]]:
    if isinstance(text, bytes):
        text = text.decode("utf-8", errors="replace")
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        obj = _loads(line)
        if obj is not None and obj.get("v") == LOG_VERSION:
            yield obj


def format_edges(
    uuid: str, edges: Iterable[Edge], *, now: float | None = None, previous: str | bytes | None = None
) -> str:
    """Serialise ``uuid``'s outgoing edges as one snapshot of its edge log.

    ``now`` stamps the snapshot (default: the current time); when ``previous`` (the log as it
    is now) is given, the stamp is made later than its newest snapshot of ``uuid``.  Edges are
    written sorted by (dst, remote); a repeated (dst, remote) keeps the last one.  Raises
    ValueError for an edge from another repository, a self-loop or a cost that is not a finite
    number >= 0 (those are programming errors, unlike garbage read back, which is ignored).
    """
    ts = time.time() if now is None else float(now)
    if previous is not None:
        before = _snapshot_ts(previous, uuid)
        if before is not None and ts <= before:
            ts = before + 0.001
    latest: dict[tuple[str, str], Edge] = {}
    for edge in edges:
        if edge.src != uuid:
            raise ValueError(f"edge {edge} does not start at {uuid}")
        if edge.dst == uuid:
            raise ValueError(f"edge {edge} is a self-loop")
        cost = _finite(edge.cost)
        if cost is None or cost < 0:
            raise ValueError(f"edge {edge} has an invalid cost")
        latest[(edge.dst, edge.remote)] = edge
    lines = [json.dumps({"v": LOG_VERSION, "ts": ts, "src": uuid}, ensure_ascii=False)]
    for (dst, remote), edge in sorted(latest.items()):
        bps = _finite(edge.measured_bps)
        seen = _finite(edge.last_seen)
        record = {
            "v": LOG_VERSION,
            "ts": ts,
            "src": uuid,
            "dst": dst,
            "remote": remote,
            "cost": float(edge.cost),
            "bps": bps if bps is not None and bps >= 0 else None,
            "seen": seen,
            "up": bool(edge.reachable),
        }
        lines.append(json.dumps(record, ensure_ascii=False, allow_nan=False))
    return "\n".join(lines) + "\n"


def _edge_from(obj: Mapping[str, Any]) -> Edge | None:
    src, dst, remote = obj.get("src"), obj.get("dst"), obj.get("remote")
    if not all(isinstance(x, str) and x for x in (src, dst, remote)) or src == dst:
        return None
    cost = _finite(obj.get("cost"))
    if cost is None or cost < 0:
        return None
    bps = _finite(obj.get("bps"))
    up = obj.get("up", True)
    return Edge(
        src=src,
        dst=dst,
        remote=remote,
        cost=cost,
        measured_bps=bps if bps is not None and bps >= 0 else None,
        last_seen=_finite(obj.get("seen")),
        reachable=up if isinstance(up, bool) else True,
    )


def parse_edges(text: str | bytes, *, src: str | None = None) -> list[Edge]:
    """Read an edge log: the edges of each source's newest snapshot, sorted.

    With ``src`` only that repository's edges are returned (a file named after one UUID
    should contain nothing else).  Malformed lines, lines of another format version and lines
    with missing or invalid fields are skipped; this never raises on bad input.
    """
    snapshots: dict[str, tuple[float, dict[tuple[str, str], Edge]]] = {}
    for obj in _objects(text):
        ts = _finite(obj.get("ts"))
        owner = obj.get("src")
        if ts is None or not isinstance(owner, str) or not owner:
            continue
        if src is not None and owner != src:
            continue
        best = snapshots.get(owner)
        if best is None or ts > best[0]:
            best = snapshots[owner] = (ts, {})
        elif ts < best[0]:
            continue
        if "dst" not in obj:
            continue  # snapshot marker
        edge = _edge_from(obj)
        if edge is not None:
            best[1][(edge.dst, edge.remote)] = edge
    return sorted(
        (edge for _, found in snapshots.values() for edge in found.values()),
        key=lambda e: (e.src, e.dst, e.remote),
    )


# ---------------------------------------------------------------------------- the map


def _dot_quote(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n").replace("\r", "")
    return f'"{escaped}"'


@dataclass
class _Tree:
    """An arborescence as routing reads it: each node but the root with its parent, the edge
    in from it and that edge's weight."""

    root: str
    nodes: dict[str, str]  # uuid -> description, the root first, then sorted
    parent: dict[str, tuple[str, Edge, float]]
    weight: float = 0.0


def _min_arborescence(root: Any, keys: Mapping[tuple[Any, Any], int]) -> set[tuple[Any, Any]]:
    """Chu-Liu/Edmonds: the edges of the minimum-key arborescence rooted at ``root`` spanning
    every node the edges reach (the caller passes only nodes reachable from the root).

    Keys are distinct sums of powers of two (see _compute_tree), so the optimum is unique: any
    correct implementation (this one, networkx's, another clone's) picks the same edges.
    """
    best: dict[Any, tuple[Any, Any]] = {}
    for (u, v), k in keys.items():
        if v != root and u != v and (v not in best or k < keys[best[v]]):
            best[v] = (u, v)
    cycle: list[Any] = []
    state: dict[Any, int] = {}  # 1: on the walk being followed, 2: done
    for start in best:
        walk, node = [], start
        while node in best and node not in state:
            state[node] = 1
            walk.append(node)
            node = best[node][0]
        if state.get(node) == 1:  # the walk came back to itself
            cycle = walk[walk.index(node):]
        for n in walk:
            state[n] = 2
        if cycle:
            break
    if not cycle:
        return set(best.values())
    ring = set(cycle)
    merged = ("cycle", len(keys), id(cycle))  # a node name no caller's node can be
    contracted: dict[tuple[Any, Any], int] = {}
    came_from: dict[tuple[Any, Any], tuple[Any, Any]] = {}
    for (u, v), k in keys.items():
        if u in ring and v in ring:
            continue
        if v in ring:  # entering the cycle: replaces the cycle's edge into v
            pair, k = (u, merged), k - keys[best[v]]
        elif u in ring:
            pair = (merged, v)
        else:
            pair = (u, v)
        if pair not in contracted or k < contracted[pair]:
            contracted[pair], came_from[pair] = k, (u, v)
    chosen = set()
    entry = None
    for pair in _min_arborescence(root, contracted):
        chosen.add(came_from[pair])
        if pair[1] == merged:
            entry = came_from[pair]
    return chosen | {best[v] for v in ring if entry is None or v != entry[1]}


class NetMap:
    """The repository network: nodes are UUIDs, an edge ``a -> b`` means "a can push to b".

    Kept in plain dicts: routing runs in every daemon, and networkx, 22 MB resident once
    imported, was half of an idle daemon's memory. ``graph`` builds the :class:`networkx.DiGraph`
    on demand (for drawing, tests, benchmarks; do not mutate it): node attribute
    ``description``; edge attribute ``edges``: every :class:`Edge` (remote) from a to b,
    cheapest first.  Edges may mention repositories missing from ``nodes`` (special remotes
    never publish a log); they get an empty description.  Invalid edges (self-loops, costs
    that are not finite numbers >= 0) are dropped with a warning.
    """

    def __init__(self, nodes: Mapping[str, str], edges: Iterable[Edge]) -> None:
        self._desc: dict[str, str] = {}  # uuid -> description, in the order networkx had them
        self._out: dict[str, dict[str, list[Edge]]] = {}  # src -> dst -> its remotes, cheapest first
        self._graph: nx.DiGraph | None = None
        self._trees: dict[tuple[str, frozenset[EdgeRef]], _Tree] = {}
        for uuid in sorted(nodes):
            self._desc[uuid] = nodes[uuid]
        for edge in edges:
            cost = _finite(edge.cost)
            if edge.src == edge.dst or cost is None or cost < 0:
                log.warning("netmap: ignoring invalid edge %r", edge)
                continue
            for uuid in (edge.src, edge.dst):
                self._desc.setdefault(uuid, "")
            self._out.setdefault(edge.src, {}).setdefault(edge.dst, []).append(edge)
        for by_dst in self._out.values():
            for found in by_dst.values():
                found.sort(key=lambda e: (self.effective_weight(e), e.remote))

    @classmethod
    def from_logs(cls, nodes: Mapping[str, str], logs: Mapping[str, str | bytes]) -> NetMap:
        """Build the map from edge logs keyed by the UUID each log file is named after."""
        edges = [edge for uuid, text in logs.items() for edge in parse_edges(text, src=uuid)]
        return cls(nodes, edges)

    def with_own_reachability(self, me: str, down_remotes: Collection[str]) -> NetMap:
        """This map with ``me``'s own edges reachable unless their remote is in ``down_remotes``.

        A clone's published edges say how its remotes were when it last published, seconds or
        minutes ago; its pushes know how they are now. Routing by the stale flag dropped an
        upload to a remote that had just come back (the scan ran before the re-publish).
        """
        if all(e.reachable == (e.remote not in down_remotes) for e in self.edges if e.src == me):
            return self  # keeps the cached trees
        edges = [replace(e, reachable=e.remote not in down_remotes) if e.src == me else e for e in self.edges]
        return NetMap(self.nodes, edges)

    # -- basic views

    @property
    def graph(self) -> nx.DiGraph:
        """The map as a networkx.DiGraph (see the class docstring), built when first asked for."""
        if self._graph is None:
            import networkx as nx

            graph = nx.DiGraph()
            for uuid, desc in self._desc.items():
                graph.add_node(uuid, description=desc)
            for src, by_dst in self._out.items():
                for dst, found in by_dst.items():
                    graph.add_edge(src, dst, edges=found)
            self._graph = graph
        return self._graph

    def has(self, uuid: str) -> bool:
        """Whether the map knows repository ``uuid``."""
        return uuid in self._desc

    def edge_count(self) -> int:
        """Pairs (src, dst) with at least one remote from src to dst."""
        return sum(len(by_dst) for by_dst in self._out.values())

    @property
    def nodes(self) -> dict[str, str]:
        """UUID -> description of every known repository."""
        return dict(self._desc)

    @property
    def edges(self) -> list[Edge]:
        """Every edge (one per remote), sorted by (src, dst, remote)."""
        found = [e for by_dst in self._out.values() for es in by_dst.values() for e in es]
        return sorted(found, key=lambda e: (e.src, e.dst, e.remote))

    @staticmethod
    def effective_weight(edge: Edge) -> float:
        """The routing weight of ``edge``: its cost, scaled up when it is measured to be slow.

        ``weight = cost * clamp(sqrt(REFERENCE_BPS / measured_bps), 1, MAX_SLOWNESS_FACTOR)``.
        Unmeasured edges and edges at least as fast as REFERENCE_BPS (10 MB/s) weigh their
        cost; a 1 MB/s link weighs ~3.2x its cost, 100 kB/s or slower (or 0) 10x.  The square
        root keeps a measured speed from overriding the cost classes the user configured, and
        a fast link is never cheaper than its cost says (the cost may stand for money).
        """
        cost = _finite(edge.cost)
        cost = max(cost, 0.0) if cost is not None else EXPENSIVE_REMOTE_COST
        bps = _finite(edge.measured_bps)
        if bps is None or bps < 0:
            return cost
        if bps == 0:
            return cost * MAX_SLOWNESS_FACTOR
        factor = math.sqrt(REFERENCE_BPS / bps)
        return cost * min(max(factor, 1.0), MAX_SLOWNESS_FACTOR)

    # -- usable edges

    def _best_usable(self, src: str, dst: str, down: Collection[EdgeRef]) -> Edge | None:
        """The cheapest usable remote from src to dst, or None."""
        if (src, dst) in down:
            return None
        for edge in self._out.get(src, {}).get(dst, ()):
            if edge.reachable and (src, dst, edge.remote) not in down:
                return edge
        return None

    def _usable(self, down: Collection[EdgeRef]) -> dict[str, dict[str, tuple[Edge, float]]]:
        """src -> dst -> (the cheapest usable edge, its weight), for every pair that has one."""
        usable: dict[str, dict[str, tuple[Edge, float]]] = {}
        for src in sorted(self._out):
            for dst in sorted(self._out[src]):
                edge = self._best_usable(src, dst, down)
                if edge is not None:
                    usable.setdefault(src, {})[dst] = (edge, self.effective_weight(edge))
        return usable

    def _reachable(self, usable: Mapping[str, Mapping[str, object]], root: str) -> set[str]:
        reach, todo = {root}, [root]
        while todo:
            for dst in usable.get(todo.pop(), {}):
                if dst not in reach:
                    reach.add(dst)
                    todo.append(dst)
        return reach

    # -- routing

    def arborescence(self, root: str, down_edges: Collection[EdgeRef] = frozenset()) -> nx.DiGraph:
        """The minimum-cost arborescence rooted at ``root`` over the repositories it reaches.

        Uses usable edges only (see the module docstring).  The result has ``root`` plus every
        repository reachable from it (attribute ``description``), and one edge into each of
        those but the root, with attributes ``weight`` (:meth:`effective_weight`), ``cost``,
        ``remote``, ``measured_bps`` and ``edge`` (the :class:`Edge`); graph attributes
        ``root`` and ``weight`` (the total).  Ties are broken canonically (module docstring).
        An unknown ``root`` gives a tree of the root alone.  Returns a fresh networkx.DiGraph
        each call (routing in the daemon asks :meth:`tree_parent` and :meth:`tree_path`).
        """
        import networkx as nx

        tree = self._tree(root, down_edges)
        out = nx.DiGraph(root=root, weight=tree.weight)
        for node, desc in tree.nodes.items():
            out.add_node(node, description=desc)
        for v, (u, edge, weight) in sorted(tree.parent.items(), key=lambda item: (item[1][0], item[0])):
            out.add_edge(u, v, weight=weight, cost=edge.cost, remote=edge.remote,
                         measured_bps=edge.measured_bps, edge=edge)
        return out

    def tree_parent(self, root: str, me: str, down_edges: Collection[EdgeRef] = frozenset()) -> str | None:
        """The repository that forwards ``root``'s content to ``me`` in the tree (None: none)."""
        found = self._tree(root, down_edges).parent.get(me)
        return found[0] if found else None

    def tree_path(self, root: str, me: str, down_edges: Collection[EdgeRef] = frozenset()) -> list[Edge] | None:
        """The edges from ``root`` down to ``me`` in the tree, in order; None if ``me`` is not in it."""
        tree = self._tree(root, down_edges)
        if me not in tree.nodes:
            return None
        path = []
        while me != tree.root:
            parent, edge, _ = tree.parent[me]
            path.append(edge)
            me = parent
        return path[::-1]

    def _tree(self, root: str, down_edges: Collection[EdgeRef]) -> _Tree:
        """The arborescence, cached per (root, down edges): the map never changes."""
        cache_key = (root, frozenset(down_edges))
        if cache_key not in self._trees:
            self._trees[cache_key] = self._compute_tree(root, down_edges)
        return self._trees[cache_key]

    def _compute_tree(self, root: str, down_edges: Collection[EdgeRef]) -> _Tree:
        usable = self._usable(down_edges)
        reach = self._reachable(usable, root)
        tree = _Tree(root, {root: self._desc.get(root, "")}, {})
        if len(reach) == 1:
            return tree
        # root has no parent: its in-edges are left out, which forces it as the root
        sub = [(u, v, w) for u in sorted(reach) for v, (_e, w) in usable.get(u, {}).items()
               if v in reach and v != root]
        # Exact canonical weights: key = quantised weight * 2**m + 2**rank, rank by
        # (weight, src, dst).  The tie-break sum is < 2**m, i.e. less than one quantum; the
        # sum of a tree's keys names its edges, so the minimum is one tree, whoever computes it.
        ordered = sorted(sub, key=lambda e: (round(e[2] * _QUANTUM), e[0], e[1]))
        m = len(ordered)
        keys = {(u, v): round(w * _QUANTUM) * (1 << m) + (1 << rank) for rank, (u, v, w) in enumerate(ordered)}
        chosen = _min_arborescence(root, keys)
        if len(chosen) != len(reach) - 1 or {v for _u, v in chosen} != reach - {root}:
            raise RuntimeError("netmap: Edmonds' algorithm returned no spanning arborescence")
        for node in sorted(reach):
            tree.nodes.setdefault(node, self._desc[node])
        for u, v in sorted(chosen):
            edge, weight = usable[u][v]
            tree.parent[v] = (u, edge, weight)
            tree.weight += weight
        return tree

    def forward_targets(self, root: str, me: str, down_edges: Collection[EdgeRef] = frozenset()) -> list[str]:
        """Remote names ``me`` should send content that entered the network at ``root`` to.

        If ``me`` is in the tree over usable edges: its children in that tree (a down tree
        edge is therefore routed around).  If ``me`` is outside it (it got the content some
        other way): flood to its usable remotes whose repositories are outside the tree too;
        repositories in the tree get the content along the tree.  Cheapest first.
        """
        tree = self._tree(root, down_edges)
        if me in tree.nodes:
            chosen = [edge for parent, edge, _w in tree.parent.values() if parent == me]
        else:
            chosen = [e for e in self._flood_edges(me, down_edges) if e.dst not in tree.nodes]
        return [e.remote for e in sorted(chosen, key=lambda e: (self.effective_weight(e), e.remote))]

    def _flood_edges(self, me: str, down: Collection[EdgeRef]) -> list[Edge]:
        found = [self._best_usable(me, dst, down) for dst in self._out.get(me, {})]
        return sorted((e for e in found if e is not None), key=lambda e: (self.effective_weight(e), e.remote))

    def flood_targets(self, me: str, down_edges: Collection[EdgeRef] = frozenset()) -> list[str]:
        """Flooding, the baseline: one usable remote per neighbour of ``me``, cheapest first."""
        return [e.remote for e in self._flood_edges(me, down_edges)]

    def unreachable(self, root: str, down_edges: Collection[EdgeRef] = frozenset()) -> list[str]:
        """Known repositories that no usable path from ``root`` reaches, sorted."""
        reach = self._reachable(self._usable(down_edges), root)
        return sorted(n for n in self._desc if n not in reach)

    @staticmethod
    def total_weight(tree: nx.DiGraph) -> float:
        """Sum of the ``weight`` attributes of ``tree``'s edges (the cost of sending one byte)."""
        return float(sum(w for _, _, w in tree.edges(data="weight", default=0.0)))

    # -- showing it

    def to_json(self, root: str | None = None, down_edges: Collection[EdgeRef] = frozenset()) -> str:
        """The map as JSON: nodes, edges with weights, and with ``root`` the tree.

        ``{"version", "root", "tree_weight", "nodes": [{"uuid", "description",
        "unreachable"}], "edges": [{"src", "dst", "remote", "cost", "measured_bps",
        "last_seen", "reachable", "down", "weight", "in_tree"}]}``; without a root,
        ``tree_weight`` is null, no edge is in a tree and a node is "unreachable" when it has
        no usable edge at all.
        """
        tree_edges, grey, tree_weight = self._view(root, down_edges)
        nodes = [
            {"uuid": uuid, "description": desc, "unreachable": uuid in grey}
            for uuid, desc in sorted(self.nodes.items())
        ]
        edges = []
        for e in self.edges:
            edges.append(
                {
                    "src": e.src,
                    "dst": e.dst,
                    "remote": e.remote,
                    "cost": e.cost,
                    "measured_bps": _finite(e.measured_bps),
                    "last_seen": _finite(e.last_seen),
                    "reachable": e.reachable,
                    "down": self._is_down(e, down_edges),
                    "weight": self.effective_weight(e),
                    "in_tree": (e.src, e.dst, e.remote) in tree_edges,
                }
            )
        doc = {"version": 1, "root": root, "tree_weight": tree_weight, "nodes": nodes, "edges": edges}
        return json.dumps(doc, indent=2, ensure_ascii=False)

    def to_dot(self, root: str | None = None, down_edges: Collection[EdgeRef] = frozenset()) -> str:
        """The map in Graphviz DOT: tree edges bold blue, unusable edges dashed, unreachable
        repositories grey, edges labelled ``remote\\ncost`` (and the weight when it differs)."""
        tree_edges, grey, tree_weight = self._view(root, down_edges)
        lines = [
            "digraph netmap {",
            "  rankdir=LR;",
            '  node [shape=box, style="rounded,filled", fillcolor=white];',
        ]
        if root is not None:
            lines.append(f"  label={_dot_quote(f'arborescence from {root[:8]}: weight {tree_weight:g}')};")
        for uuid, desc in sorted(self.nodes.items()):
            label = f"{desc}\n{uuid[:8]}" if desc else uuid[:8]
            attrs = [f"label={_dot_quote(label)}"]
            if uuid == root:
                attrs.append("penwidth=2")
            if uuid in grey:
                attrs += ["fillcolor=lightgrey", "fontcolor=grey40", "color=grey60"]
            lines.append(f"  {_dot_quote(uuid)} [{', '.join(attrs)}];")
        for e in self.edges:
            weight = self.effective_weight(e)
            label = f"{e.remote}\n{e.cost:g}" + (f" ({weight:g})" if weight != e.cost else "")
            attrs = [f"label={_dot_quote(label)}"]
            if (e.src, e.dst, e.remote) in tree_edges:
                attrs += ["color=blue", "penwidth=2.5", "fontcolor=blue"]
            elif not e.reachable or self._is_down(e, down_edges):
                attrs += ["style=dashed", "color=grey60", "fontcolor=grey40"]
            else:
                attrs.append("color=grey30")
            lines.append(f"  {_dot_quote(e.src)} -> {_dot_quote(e.dst)} [{', '.join(attrs)}];")
        lines.append("}")
        return "\n".join(lines) + "\n"

    @staticmethod
    def _is_down(edge: Edge, down: Collection[EdgeRef]) -> bool:
        return (edge.src, edge.dst) in down or (edge.src, edge.dst, edge.remote) in down

    def _view(
        self, root: str | None, down: Collection[EdgeRef]
    ) -> tuple[set[tuple[str, str, str]], set[str], float | None]:
        """(tree edges as (src, dst, remote), grey nodes, tree weight) for drawing."""
        if root is None:
            usable = self._usable(down)
            touched = {n for src, by_dst in usable.items() for n in (src, *by_dst)}
            return set(), {n for n in self._desc if n not in touched}, None
        tree = self.arborescence(root, down)  # (drawing only: networkx may come in here)
        tree_edges = {(u, v, d["remote"]) for u, v, d in tree.edges(data=True)}
        return tree_edges, set(self.unreachable(root, down)), self.total_weight(tree)
