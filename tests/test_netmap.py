"""Tests of the repository-network graph: log format, arborescences, forwarding, drawing."""

from __future__ import annotations

import itertools
import json
import math
import random

import networkx as nx
import pytest

from syncassistant.engine.network import netmap, remotes
from syncassistant.engine.network.netmap import Edge, NetMap, format_edges, parse_edges


def E(src: str, dst: str, cost: float, remote: str | None = None, **kw) -> Edge:
    return Edge(src, dst, remote or dst, cost, **kw)


def both_ways(a: str, b: str, cost: float) -> list[Edge]:
    return [E(a, b, cost), E(b, a, cost)]


def tree_edges(tree: nx.DiGraph) -> set[tuple[str, str]]:
    return set(tree.edges)


# ---------------------------------------------------------------- brute force reference


def brute_force(netm: NetMap, root: str, down=frozenset()) -> tuple[float, set[tuple[str, str]]] | None:
    """Minimum arborescence by enumerating every parent choice, with the canonical tie-break.

    Among minimum-weight trees the one whose edge ranks, sorted descending, are smallest
    lexicographically (rank by (quantised weight, src, dst) over the usable edges among the
    reachable nodes, without in-edges of root).
    """
    usable = {}
    for u, v in netm.graph.edges:
        e = netm._best_usable(u, v, down)
        if e is not None:
            usable[(u, v)] = netm.effective_weight(e)
    reach = {root}
    frontier = [root]
    while frontier:
        x = frontier.pop()
        for u, v in usable:
            if u == x and v not in reach:
                reach.add(v)
                frontier.append(v)
    cand = {k: w for k, w in usable.items() if k[0] in reach and k[1] in reach and k[1] != root}
    ranked = sorted(cand, key=lambda k: (round(cand[k] * 1000), k[0], k[1]))
    rank = {k: i for i, k in enumerate(ranked)}
    others = sorted(reach - {root})
    choices = [[u for (u, v) in cand if v == node] for node in others]
    best = None
    for parents in itertools.product(*choices):
        par = dict(zip(others, parents, strict=True))
        ok = True
        for node in others:
            seen, x = set(), node
            while x != root:
                if x in seen:
                    ok = False
                    break
                seen.add(x)
                x = par[x]
            if not ok:
                break
        if not ok:
            continue
        edges = {(par[n], n) for n in others}
        qweight = sum(round(cand[k] * 1000) for k in edges)
        key = (qweight, sorted((rank[k] for k in edges), reverse=True))
        if best is None or key < best[0]:
            best = (key, edges)
    if best is None:
        return None
    return sum(cand[k] for k in best[1]), best[1]


# ---------------------------------------------------------------- costs


def test_git_annex_default_costs():
    assert netmap.CHEAP_REMOTE_COST == 100
    assert netmap.NEARLY_CHEAP_REMOTE_COST == 110
    assert netmap.SEMI_EXPENSIVE_REMOTE_COST == 175
    assert netmap.EXPENSIVE_REMOTE_COST == 200
    assert netmap.VERY_EXPENSIVE_REMOTE_COST == 1000
    assert remotes.default_cost("/media/usb/repo") == 100
    assert remotes.default_cost("../sibling") == 100
    assert remotes.default_cost("file:///srv/repo") == 100
    assert remotes.default_cost("ssh://host/srv/repo") == 200
    assert remotes.default_cost("user@host:repo") == 200
    assert remotes.default_cost("https://example.org/repo.git") == 200
    assert remotes.default_cost("./dir:with/colon") == 100


def test_effective_weight_penalises_only_slow_links():
    w = NetMap.effective_weight
    assert w(E("a", "b", 100)) == 100
    assert w(E("a", "b", 100, measured_bps=1e9)) == 100  # fast is not cheaper than its cost
    assert w(E("a", "b", 100, measured_bps=netmap.REFERENCE_BPS)) == 100
    assert w(E("a", "b", 100, measured_bps=netmap.REFERENCE_BPS / 4)) == pytest.approx(200)
    assert w(E("a", "b", 100, measured_bps=1.0)) == 100 * netmap.MAX_SLOWNESS_FACTOR
    assert w(E("a", "b", 100, measured_bps=0.0)) == 100 * netmap.MAX_SLOWNESS_FACTOR
    assert w(E("a", "b", 100, measured_bps=math.nan)) == 100  # unknown


def test_measured_slowness_reroutes():
    # c's parent is r (a direct link of cost 50) or b (a LAN link of cost 100).  The direct
    # link wins until it is measured to be slow.
    edges = [E("r", "b", 100), E("b", "c", 100), E("r", "c", 50)]
    assert tree_edges(NetMap({}, edges).arborescence("r")) == {("r", "b"), ("r", "c")}
    edges[2] = E("r", "c", 50, measured_bps=1_000_000)  # x3.16 -> 158
    assert tree_edges(NetMap({}, edges).arborescence("r")) == {("r", "b"), ("b", "c")}


# ---------------------------------------------------------------- log format


def test_round_trip():
    edges = [
        Edge("u1", "u2", "nas box", 100.0, measured_bps=5e7, last_seen=1718000000.25, reachable=True),
        Edge("u1", "u3", 'cloud "s3"\n\\x', 200.0, measured_bps=None, last_seen=None, reachable=False),
        Edge("u1", "u2", "nas-ssh ünïcode ☃", 200.0),
    ]
    text = format_edges("u1", edges, now=1718000001.0)
    assert text.endswith("\n")
    assert all(json.loads(line)["src"] == "u1" for line in text.splitlines())
    assert parse_edges(text) == sorted(edges, key=lambda e: (e.src, e.dst, e.remote))
    assert parse_edges(text.encode()) == parse_edges(text)
    assert parse_edges(text, src="u1") == parse_edges(text)
    assert parse_edges(text, src="other") == []


def test_format_is_deterministic_and_last_duplicate_wins():
    a = [E("u", "x", 100, "r1"), E("u", "w", 100, "r2"), E("u", "x", 150, "r1")]
    text = format_edges("u", a, now=5.0)
    assert text == format_edges("u", list(reversed(a[:2])) + [a[2]], now=5.0)
    assert parse_edges(text) == [E("u", "w", 100, "r2"), E("u", "x", 150, "r1")]


def test_format_rejects_programming_errors():
    with pytest.raises(ValueError):
        format_edges("u", [E("v", "w", 100)])
    with pytest.raises(ValueError):
        format_edges("u", [E("u", "u", 100)])
    with pytest.raises(ValueError):
        format_edges("u", [E("u", "w", math.inf)])
    with pytest.raises(ValueError):
        format_edges("u", [E("u", "w", -1)])


def test_newest_snapshot_wins_after_union_merge():
    old = format_edges("u", [E("u", "a", 100), E("u", "gone", 100)], now=100.0)
    new = format_edges("u", [E("u", "a", 300)], now=200.0)
    other = format_edges("v", [E("v", "a", 100)], now=50.0)
    # a union merge keeps the lines of both sides, in any order
    merged_lines = (old + new + other).splitlines()
    random.Random(3).shuffle(merged_lines)
    merged = "\n".join(merged_lines)
    assert parse_edges(merged) == [E("u", "a", 300), E("v", "a", 100)]
    # removing every remote is a snapshot too: the old edges must not come back
    empty = format_edges("u", [], now=300.0)
    assert parse_edges(old + empty + new) == []
    # a clock that stepped back is overridden when the previous log is given
    later = format_edges("u", [E("u", "b", 100)], now=10.0, previous=old + new)
    assert parse_edges(old + new + later) == [E("u", "b", 100)]


@pytest.mark.parametrize(
    "garbage",
    [
        "",
        "\n\n   \n",
        "# just a comment",
        "not json at all",
        "{",
        "[" * 100_000,
        'null\n42\n"str"\n[1,2]',
        '{"v": 1}',
        '{"v": 2, "ts": 1, "src": "u", "dst": "w", "remote": "r", "cost": 1}',
        '{"v": 1, "ts": "x", "src": "u", "dst": "w", "remote": "r", "cost": 1}',
        '{"v": 1, "ts": NaN, "src": "u", "dst": "w", "remote": "r", "cost": 1}',
        '{"v": 1, "ts": 1, "src": "u", "dst": "w", "remote": "r", "cost": Infinity}',
        '{"v": 1, "ts": 1, "src": "u", "dst": "w", "remote": "r", "cost": -5}',
        '{"v": 1, "ts": 1, "src": "u", "dst": "w", "remote": "r", "cost": true}',
        '{"v": 1, "ts": 1, "src": "u", "dst": "w", "remote": "", "cost": 1}',
        '{"v": 1, "ts": 1, "src": "u", "dst": "u", "remote": "r", "cost": 1}',
        '{"v": 1, "ts": 1, "src": 5, "dst": "w", "remote": "r", "cost": 1}',
        '{"v": 1, "ts": 1, "src": "u", "dst": ["w"], "remote": "r", "cost": 1}',
        "\x00\xff\ufffe binary \x1b[31m",
        b"\xff\xfe\x00garbage bytes",
    ],
)
def test_garbage_is_ignored(garbage):
    assert parse_edges(garbage) == []


def test_good_lines_survive_among_garbage():
    good = format_edges("u", [E("u", "w", 100)], now=1.0)
    text = "garbage\n{broken\n" + good + '{"v": 1, "ts": 1.0, "src": "u", "dst": "x", "remote": "r"}\n'
    assert parse_edges(text) == [E("u", "w", 100)]
    # soft fields that are wrong fall back to defaults instead of dropping the edge
    soft = '{"v":1,"ts":1,"src":"u","dst":"w","remote":"r","cost":7,"bps":"fast","seen":[],"up":"yes","x":1}'
    assert parse_edges(soft) == [Edge("u", "w", "r", 7.0, None, None, True)]


# ---------------------------------------------------------------- arborescences


def lan_chain() -> NetMap:
    """Two LANs (a1-a2-a3 and b1-b2-b3, cheap both ways) joined by one expensive cloud link
    a3 <-> b1 (cost 1000) and a cheaper-but-still-expensive detour a1 -> b3 (1200)."""
    edges = []
    for x, y in [("a1", "a2"), ("a2", "a3"), ("b1", "b2"), ("b2", "b3")]:
        edges += both_ways(x, y, 100)
    edges += both_ways("a3", "b1", 1000)
    edges.append(E("a1", "b3", 1200))
    return NetMap({n: f"laptop {n}" for n in ["a1", "a2", "a3", "b1", "b2", "b3"]}, edges)


def test_chain_of_lans_crosses_the_cloud_once():
    m = lan_chain()
    tree = m.arborescence("a1")
    assert tree_edges(tree) == {("a1", "a2"), ("a2", "a3"), ("a3", "b1"), ("b1", "b2"), ("b2", "b3")}
    assert NetMap.total_weight(tree) == 1400 == tree.graph["weight"]
    assert tree.graph["root"] == "a1"
    assert tree.nodes["b2"]["description"] == "laptop b2"
    assert tree["a3"]["b1"]["remote"] == "b1" and tree["a3"]["b1"]["cost"] == 1000
    # each clone forwards to its children only
    assert m.forward_targets("a1", "a1") == ["a2"]
    assert m.forward_targets("a1", "a3") == ["b1"]
    assert m.forward_targets("a1", "b3") == []
    assert m.flood_targets("a1") == ["a2", "b3"]
    # from the other side, the tree mirrors
    assert tree_edges(m.arborescence("b2")) == {
        ("b2", "b1"),
        ("b2", "b3"),
        ("b1", "a3"),
        ("a3", "a2"),
        ("a2", "a1"),
    }
    assert m.unreachable("a1") == []


def test_star_around_server():
    # clients push to the server over ssh (200), the server pushes back (200); clients
    # also see each other directly but only expensively (500).
    clients = ["c1", "c2", "c3", "c4"]
    edges = []
    for c in clients:
        edges += both_ways(c, "srv", 200)
    for x, y in itertools.permutations(clients, 2):
        edges.append(E(x, y, 500))
    m = NetMap({}, edges)
    tree = m.arborescence("c2")
    assert tree_edges(tree) == {("c2", "srv")} | {("srv", c) for c in clients if c != "c2"}
    assert NetMap.total_weight(tree) == 800
    assert m.forward_targets("c2", "c2") == ["srv"]
    assert m.forward_targets("c2", "srv") == ["c1", "c3", "c4"]
    assert m.forward_targets("c2", "c1") == []
    assert m.flood_targets("c2") == ["srv", "c1", "c3", "c4"]  # cheapest first, then by name


def test_unreachable_nodes():
    # x is only pushed *from*; y has no edges at all; z is behind an edge marked unreachable;
    # s is a special remote without a log of its own (unknown to nodes).
    edges = [
        E("r", "a", 100),
        E("a", "b", 100),
        E("x", "a", 100),
        E("a", "z", 100, reachable=False),
        E("b", "s", 200),
    ]
    m = NetMap({"r": "", "a": "", "b": "", "x": "", "y": "", "z": ""}, edges)
    tree = m.arborescence("r")
    assert set(tree.nodes) == {"r", "a", "b", "s"}
    assert tree_edges(tree) == {("r", "a"), ("a", "b"), ("b", "s")}
    assert m.unreachable("r") == ["x", "y", "z"]
    assert m.nodes["s"] == ""
    # unknown root: a tree of itself, everything else unreachable
    assert set(m.arborescence("nope").nodes) == {"nope"}
    assert m.unreachable("nope") == sorted(m.nodes)
    # root with no outgoing edges
    assert set(m.arborescence("y").nodes) == {"y"}


def test_root_in_edges_are_ignored():
    # the cheapest edges point *into* the root; the root must still be the root
    edges = [E("r", "a", 500), E("a", "r", 1), E("a", "b", 1), E("b", "r", 1), E("b", "a", 1)]
    tree = NetMap({}, edges).arborescence("r")
    assert tree_edges(tree) == {("r", "a"), ("a", "b")}
    assert tree.in_degree("r") == 0


def test_parallel_remotes_use_the_cheapest_usable_one():
    edges = [E("r", "a", 200, "a-ssh"), E("r", "a", 100, "a-usb"), E("a", "b", 100)]
    m = NetMap({}, edges)
    assert m.arborescence("r")["r"]["a"]["remote"] == "a-usb"
    assert m.forward_targets("r", "r") == ["a-usb"]
    # that one remote down: the other remote to the same repository takes over
    assert m.forward_targets("r", "r", down_edges={("r", "a", "a-usb")}) == ["a-ssh"]
    # the whole link down: a is unreachable
    assert m.forward_targets("r", "r", down_edges={("r", "a")}) == []
    assert m.unreachable("r", down_edges={("r", "a")}) == ["a", "b"]


def test_ties_are_deterministic():
    # a square where every edge costs the same: many optimal trees, exactly one is chosen,
    # whatever order nodes and edges are given in.
    nodes = ["n0", "n1", "n2", "n3"]
    edges = [E(x, y, 100) for x, y in itertools.permutations(nodes, 2)]
    results = set()
    rng = random.Random(7)
    for _ in range(20):
        shuffled = edges[:]
        rng.shuffle(shuffled)
        names = nodes[:]
        rng.shuffle(names)
        m = NetMap({n: n for n in names}, shuffled)
        results.add(frozenset(m.arborescence("n2").edges))
    # the canonical tree avoids the highest-ranked edges (ranked by weight, src, dst)
    assert results == {frozenset({("n2", "n0"), ("n0", "n1"), ("n0", "n3")})}
    # and it is the canonical one the brute force picks
    m = NetMap({}, edges)
    assert brute_force(m, "n2")[1] == set(m.arborescence("n2").edges)


def test_tie_break_prefers_low_ranked_edges_over_lower_names():
    # two optimal trees of weight 200: {r->a, a->b} and {r->b, b->a}; canonical choice
    # avoids the highest-ranked edge (b, a) and takes (a, b) instead.
    edges = [E("r", "a", 100), E("r", "b", 100), E("a", "b", 100), E("b", "a", 100)]
    m = NetMap({}, edges)
    tree = m.arborescence("r")
    assert NetMap.total_weight(tree) == 200
    assert brute_force(m, "r")[1] == set(tree.edges)


def test_down_tree_edge_reroutes():
    m = lan_chain()
    # the cloud link a3 -> b1 is down: the detour a1 -> b3 (1200) carries the content
    down = {("a3", "b1")}
    tree = m.arborescence("a1", down)
    assert tree_edges(tree) == {("a1", "a2"), ("a2", "a3"), ("a1", "b3"), ("b3", "b2"), ("b2", "b1")}
    assert NetMap.total_weight(tree) == 1600
    assert m.forward_targets("a1", "a1", down) == ["a2", "b3"]
    assert m.forward_targets("a1", "a3", down) == []
    assert m.forward_targets("a1", "b3", down) == ["b2"]
    # the same when a3 published the edge as unreachable instead
    published = [
        e if (e.src, e.dst) != ("a3", "b1") else Edge("a3", "b1", "b1", 1000, reachable=False)
        for e in m.edges
    ]
    assert NetMap(m.nodes, published).forward_targets("a1", "a1") == ["a2", "b3"]


def test_down_edge_with_no_detour_floods_outside_the_tree():
    # r -> a -> b, b <-> c, c -> a.  With a -> b down, b and c are unreachable from r.  A
    # clone outside the tree that has the content anyway (it pulled it) floods it to its
    # neighbours outside the tree, never into the tree (a gets it from r).  Routing does not
    # know who has what: b and c may offer each other content already there, which
    # git-annex skips.
    edges = [E("r", "a", 100), E("a", "b", 100), *both_ways("b", "c", 100), E("c", "a", 100)]
    m = NetMap({}, edges)
    down = {("a", "b")}
    assert m.unreachable("r", down) == ["b", "c"]
    assert m.forward_targets("r", "a", down) == []
    assert m.forward_targets("r", "c", down) == ["b"]  # not a: a is in the tree
    assert m.forward_targets("r", "b", down) == ["c"]
    assert m.flood_targets("c", down) == ["a", "b"]
    # content from an unknown origin is flooded
    assert m.forward_targets("somewhere", "c") == ["a", "b"]
    # a repository the map does not know has no targets
    assert m.forward_targets("r", "unknown") == []


def test_networkx_min_spanning_arborescence_regression():
    # networkx 3.6's minimum_spanning_arborescence raises "No minimum spanning arborescence"
    # for this graph although one exists (found by a randomized comparison); ours must not.
    raw = [
        (0, 4, 100000),
        (1, 2, 100000),
        (1, 4, 1),
        (1, 5, 1),
        (1, 6, 100000),
        (2, 1, 1),
        (2, 3, 1),
        (2, 5, 1000),
        (2, 6, 1),
        (3, 1, 1),
        (3, 6, 1),
        (4, 3, 100000),
        (4, 5, 1),
        (5, 3, 1000),
        (6, 1, 1),
        (6, 3, 1),
        (6, 4, 1),
        (6, 5, 1),
    ]
    m = NetMap({}, [E(str(u), str(v), w) for u, v, w in raw])
    tree = m.arborescence("0")
    assert len(tree) == 7 and nx.is_arborescence(tree)
    assert NetMap.total_weight(tree) == brute_force(m, "0")[0] == 201003


def test_random_graphs_match_brute_force():
    rng = random.Random(20240611)
    costs = [100, 100, 110, 175, 200, 200, 1000]
    checked = 0
    for _ in range(250):
        n = rng.randint(2, 7)
        names = [f"u{i}" for i in range(n)]
        edges = []
        for x, y in itertools.permutations(names, 2):
            if rng.random() < 0.45:
                bps = rng.choice([None, None, 1e5, 1e6, 5e6, 1e8])
                edges.append(
                    Edge(
                        x,
                        y,
                        f"{y} via {x}",
                        rng.choice(costs),
                        measured_bps=bps,
                        reachable=rng.random() > 0.1,
                    )
                )
                if rng.random() < 0.2:  # a parallel remote
                    edges.append(Edge(x, y, f"{y} alt", rng.choice(costs)))
        m = NetMap({n_: n_ for n_ in names}, edges)
        root = rng.choice(names)
        down = {(e.src, e.dst) for e in edges if rng.random() < 0.1}
        tree = m.arborescence(root, down)
        expected = brute_force(m, root, down)
        if expected is None:  # root reaches nothing
            assert set(tree.nodes) == {root}
            continue
        weight, chosen = expected
        assert nx.is_arborescence(tree)
        assert set(tree.nodes) == set(names) - set(m.unreachable(root, down))
        assert NetMap.total_weight(tree) == pytest.approx(weight)
        assert set(tree.edges) == chosen  # same tree, canonical tie-break
        # every reachable node is somebody's forward target exactly once
        targets = [t for node in tree.nodes for t in m.forward_targets(root, node, down)]
        assert len(targets) == len(tree) - 1
        checked += 1
    assert checked > 150


# ---------------------------------------------------------------- showing it


def test_to_json():
    m = lan_chain()
    doc = json.loads(m.to_json(root="a1", down_edges={("a3", "b1")}))
    assert doc["root"] == "a1" and doc["tree_weight"] == 1600
    assert [n["uuid"] for n in doc["nodes"]] == ["a1", "a2", "a3", "b1", "b2", "b3"]
    by = {(e["src"], e["dst"]): e for e in doc["edges"]}
    assert by[("a1", "b3")]["in_tree"] and not by[("a3", "b1")]["in_tree"]
    assert by[("a3", "b1")]["down"] and by[("a3", "b1")]["weight"] == 1000
    plain = json.loads(NetMap({"lonely": "x"}, [E("p", "q", 100)]).to_json())
    assert plain["tree_weight"] is None
    assert {n["uuid"]: n["unreachable"] for n in plain["nodes"]} == {"lonely": True, "p": False, "q": False}


def test_to_dot():
    edges = [
        E("r", "a", 100, 'lan "quoted"'),
        E("a", "b", 200, measured_bps=1e6),
        E("r", "b", 1000),
        E("r", "z", 100, reachable=False),
    ]
    m = NetMap({"r": "my laptop", "a": "nas\nbox", "b": "", "z": "old", "y": ""}, edges)
    dot = m.to_dot(root="r")
    assert dot.startswith("digraph netmap {") and dot.rstrip().endswith("}")
    assert '"r" -> "a" [label="lan \\"quoted\\"\\n100", color=blue' in dot
    assert '"a" -> "b" [label="b\\n200 (632.456)", color=blue' in dot
    assert '"r" -> "b" [label="b\\n1000", color=grey30]' in dot
    assert '"r" -> "z" [label="z\\n100", style=dashed' in dot
    assert '"z" [label="old\\nz", fillcolor=lightgrey' in dot
    assert '"y" [label="y", fillcolor=lightgrey' in dot
    assert '"a" [label="nas\\nbox\\na"]' in dot
    assert "weight 732.456" in dot
    assert "color=blue" not in m.to_dot()
