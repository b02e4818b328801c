"""The network map on real repositories: publishing, merging, reading, routing, drawing.

Syncing is done here by plain `git fetch` / `git push` of the netmap branch (what the pusher and
merger do once hooked), calling publish / merge_incoming directly.  The five-clone test drives
content with `git annex copy --to` as routing decides, and counts what crosses each edge.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import subprocess
import time
from contextlib import redirect_stdout
from pathlib import Path

import pytest
from conftest import annex, git

from syncassistant import cli_map
from syncassistant.engine.network import netmap_store as store
from syncassistant.engine.network import routing
from syncassistant.engine.network.netmap import Edge, NetMap
from syncassistant.engine.proc.annex import Annex
from syncassistant.engine.transfers.model import Transfer


def uuid(repo: Path) -> str:
    return git(repo, "config", "annex.uuid").strip()


def add_remote(a: Path, name: str, b: Path, cost: float | None = None) -> None:
    """b becomes remote `name` of a, with its UUID recorded as git-annex would."""
    git(a, "remote", "add", name, str(b))
    git(a, "config", f"remote.{name}.annex-uuid", uuid(b))
    if cost is not None:
        git(a, "config", f"remote.{name}.annex-cost", str(cost))


def remotes(repo: Path) -> list[str]:
    return git(repo, "remote").split()


def sync_netmap(repo: Path) -> None:
    """What the merger + pusher do for the netmap: fetch, merge, push (again after a reject)."""
    for r in remotes(repo):
        git(repo, "fetch", "-q", r, check=False)
    store.merge_incoming(repo)
    Annex(repo).update_branch()  # descriptions travel on the git-annex branch
    for r in remotes(repo):
        for _ in range(3):
            specs = store.refspecs(repo)
            out = git(repo, "push", "--porcelain", r, *specs, check=False)
            if "[rejected]" not in out and "fetch first" not in out:
                break
            git(repo, "fetch", "-q", r)
            store.merge_incoming(repo)


def edge_set(edges: list[Edge]) -> set[tuple]:
    return {(e.src, e.dst, e.remote, e.cost, e.reachable) for e in edges}


def fresh_clones(make_repo, *names: str) -> dict[str, Path]:
    first = make_repo(names[0])
    out = {names[0]: first}
    for n in names[1:]:
        out[n] = make_repo(n, clone_of=first)
        git(out[n], "remote", "remove", "origin")
    return out


# ---------------------------------------------------------------- local edges, publish


def test_local_edges_follow_remote_config(make_repo):
    c = fresh_clones(make_repo, "A", "B", "C", "D")
    a = c["A"]
    add_remote(a, "lan", c["B"])
    add_remote(a, "cloud", c["C"], cost=1000)
    add_remote(a, "ignored", c["D"])
    git(a, "config", "remote.ignored.annex-ignore", "true")
    git(a, "remote", "add", "plain", str(c["D"]))  # git-annex never saw it: no UUID, no edge
    git(a, "remote", "add", "ssh", "ssh://host.invalid/srv/repo")
    git(a, "config", "remote.ssh.annex-uuid", "0000-ssh")
    git(a, "remote", "add", "pullonly", "/nonexistent")
    git(a, "config", "remote.pullonly.annex-uuid", "0000-pull")
    git(a, "config", "remote.pullonly.syncassistant-mode", "download-only")
    git(a, "config", "remote.nosync.annex-uuid", "0000-nosync")
    git(a, "config", "remote.nosync.annex-sync", "false")
    git(a, "config", "remote.s3.annex-uuid", "0000-special")  # a special remote: no URL
    edges = {e.remote: e for e in store.local_edges(a, {"cloud": False}, now=1000.0)}
    assert set(edges) == {"lan", "cloud", "ssh", "s3"}
    assert edges["lan"].dst == uuid(c["B"]) and edges["lan"].src == uuid(a)
    assert edges["lan"].cost == 100 and edges["lan"].reachable and edges["lan"].last_seen == 1000.0
    assert edges["cloud"].cost == 1000 and not edges["cloud"].reachable and edges["cloud"].last_seen is None
    assert edges["ssh"].cost == 200 and edges["s3"].cost == 200


def test_local_edges_learn_uuid_the_way_the_scanner_does(make_repo):
    c = fresh_clones(make_repo, "A", "B")
    git(c["A"], "remote", "add", "b", str(c["B"]))
    assert store.local_edges(c["A"]) == []
    annex(c["A"], "wanted", "b")  # naming the remote makes git-annex record its UUID
    assert [(e.dst, e.cost) for e in store.local_edges(c["A"])] == [(uuid(c["B"]), 100.0)]


def test_publish_commits_only_real_changes(make_repo):
    c = fresh_clones(make_repo, "A", "B")
    a = c["A"]
    add_remote(a, "b", c["B"])
    head0 = git(a, "rev-parse", "HEAD").strip()
    assert store.publish(a, store.local_edges(a)) is True
    first = git(a, "rev-parse", store.REF).strip()
    assert store.publish(a, store.local_edges(a)) is False  # same edges, fresh last_seen
    assert git(a, "rev-parse", store.REF).strip() == first
    git(a, "config", "remote.b.annex-cost", "300")
    assert store.publish_local(a) is True
    assert [e.cost for e in store.published_edges(a)] == [300.0]
    assert store.publish_local(a, {"b": False}) is True
    down = store.published_edges(a)[0]
    assert not down.reachable and down.last_seen is not None  # keeps when it was last seen
    git(a, "remote", "remove", "b")
    assert store.publish_local(a) is True
    assert store.published_edges(a) == []
    # plumbing only: no change to HEAD, the index or the work tree
    assert git(a, "rev-parse", "HEAD").strip() == head0
    assert git(a, "status", "--porcelain") == ""
    assert git(a, "ls-tree", "-r", "--name-only", store.REF).split() == [f"syncassistant/netmap/{uuid(a)}.log"]
    assert len(git(a, "rev-list", store.REF).split()) == 4


def test_publisher_follows_push_results(make_repo):
    from conftest import wait_for

    from syncassistant.engine.context import RepoContext
    c = fresh_clones(make_repo, "A", "B")
    add_remote(c["A"], "b", c["B"])
    ctx = RepoContext(c["A"])
    state = [{"name": "b", "error": None, "offline": False}]
    changes = []
    pub = store.Publisher(ctx, lambda: state, lambda: changes.append(1), delay=0.05)
    pub.start()
    try:
        wait_for(lambda: store.published_edges(c["A"]), 10, "the first publish")
        assert store.published_edges(c["A"])[0].reachable
        state[0]["error"] = "ssh: connect to host: Connection refused"
        ctx.emit("push-failed", remote="b", error=state[0]["error"])
        wait_for(lambda: not store.published_edges(c["A"])[0].reachable, 10, "b published as down")
        # the ref moves first; the counter and the callback follow on the publisher's thread
        wait_for(lambda: len(changes) == 2, 10, "the second on_change")
        assert pub.publishes == 2
    finally:
        pub.stop()
    assert not pub._thread.is_alive()


def test_refspecs_and_tree_id(make_repo):
    a = make_repo("A")
    assert store.refspecs(a) == [] and store.tree_id(a) is None
    assert store.refspecs() == ["refs/heads/syncassistant-netmap:refs/heads/synced/syncassistant-netmap"]
    store.publish(a, [])
    sha = git(a, "rev-parse", store.REF).strip()
    assert store.refspecs(a) == [f"{sha}:refs/heads/synced/syncassistant-netmap"]
    assert store.tree_id(a) == git(a, "rev-parse", store.REF + "^{tree}").strip()


# ---------------------------------------------------------------- everyone sees everything


def test_three_clones_see_the_whole_graph(make_repo):
    c = fresh_clones(make_repo, "A", "B", "C")
    a, b, cc = c["A"], c["B"], c["C"]
    # a chain: C hears of A's edges only through B
    add_remote(a, "b", b)
    add_remote(b, "a", a)
    add_remote(b, "c", cc, cost=1000)
    add_remote(cc, "b", b, cost=1000)
    for repo in c.values():
        assert store.publish_local(repo)
    for repo in (b, a, cc, b, a, cc):
        sync_netmap(repo)
    expected = set().union(*(edge_set(store.local_edges(r)) for r in c.values()))
    assert len(expected) == 4
    for name, repo in c.items():
        m = store.load_map(repo, include_incoming=False)
        assert edge_set(m.edges) == expected, name
        assert {uuid(r) for r in c.values()} <= set(m.nodes)
        assert m.nodes[uuid(a)] == "A" and m.nodes[uuid(cc)] == "C", name
    # everyone computes the same tree from A: A -> B -> C
    trees = {n: set(store.load_map(r).arborescence(uuid(a)).edges) for n, r in c.items()}
    assert trees["A"] == trees["B"] == trees["C"] == {(uuid(a), uuid(b)), (uuid(b), uuid(cc))}
    # nothing new: merging again commits nothing
    before = {n: git(r, "rev-parse", store.REF).strip() for n, r in c.items()}
    for repo in c.values():
        sync_netmap(repo)
    assert before == {n: git(r, "rev-parse", store.REF).strip() for n, r in c.items()}


def test_concurrent_pushes_to_one_hub_converge(make_repo, tmp_path):
    c = fresh_clones(make_repo, "A", "B")
    hub = tmp_path / "hub.git"
    git(tmp_path, "init", "-q", "--bare", str(hub))
    for n, repo in c.items():
        git(repo, "remote", "add", "hub", str(hub))
        git(repo, "config", "remote.hub.annex-uuid", f"hub-uuid-{n}")  # any edge will do
        store.publish_local(repo)
    sync_netmap(c["A"])
    sync_netmap(c["B"])  # rejected (A got there first): fetch, merge, push again
    hub_tree = git(hub, "ls-tree", "-r", "--name-only", store.SYNCED_REF).split()
    assert sorted(hub_tree) == sorted(f"syncassistant/netmap/{uuid(r)}.log" for r in c.values())
    sync_netmap(c["A"])
    for repo in c.values():
        assert {e.src for e in store.load_map(repo, include_incoming=False).edges} == {uuid(r) for r in c.values()}


def test_same_tree_from_elsewhere_still_lets_the_push_fast_forward(make_repo, tmp_path):
    c = fresh_clones(make_repo, "A", "B")
    a, b = c["A"], c["B"]
    hub = tmp_path / "hub.git"
    git(tmp_path, "init", "-q", "--bare", str(hub))
    store.publish_local(a)
    git(b, "fetch", "-q", str(a), f"{store.REF}:refs/remotes/a/{store.BRANCH}")
    store.merge_incoming(b)
    # B ends up with A's tree in a commit of its own (as after twin merges on two clones)
    tree = git(b, "rev-parse", f"{store.REF}^{{tree}}").strip()
    twin = git(b, "commit-tree", tree, "-m", "twin").strip()
    git(b, "update-ref", store.REF, twin)
    git(b, "update-ref", "-d", f"refs/remotes/a/{store.BRANCH}")
    for repo in (a, b):
        git(repo, "remote", "add", "hub", str(hub))
    git(a, "push", "-q", "hub", *store.refspecs(a))
    assert "[rejected]" in git(b, "push", "--porcelain", "hub", *store.refspecs(b), check=False)
    git(b, "fetch", "-q", "hub")
    assert store.merge_incoming(b) is True  # same tree, yet a commit containing the hub's
    assert git(b, "rev-parse", f"{store.REF}^{{tree}}").strip() == tree
    assert "[rejected]" not in git(b, "push", "--porcelain", "hub", *store.refspecs(b))
    assert store.merge_incoming(b) is False  # and only once


def test_newest_snapshot_wins_in_any_merge_order(make_repo):
    c = fresh_clones(make_repo, "A", "B", "D")
    a, b, d = c["A"], c["B"], c["D"]
    add_remote(a, "b", b)
    store.publish_local(a)  # v1: cost 100
    add_remote(d, "a", a)
    sync_netmap(d)  # D holds A's v1 (and its own log)
    store.publish_local(d)
    git(a, "config", "remote.b.annex-cost", "700")
    store.publish_local(a)  # v2
    add_remote(b, "a", a)
    add_remote(b, "d", d)
    git(b, "fetch", "-q", "a")
    store.merge_incoming(b)
    git(b, "fetch", "-q", "d")  # a copy with A's stale v1 and D's log
    assert store.merge_incoming(b) is True
    m = store.load_map(b, include_incoming=False)
    assert [e.cost for e in m.edges if e.src == uuid(a)] == [700.0]
    assert {e.src for e in m.edges} == {uuid(a), uuid(d)}
    # the merge has both heads as parents, so pushing it fast-forwards either remote
    head = git(b, "rev-parse", store.REF).strip()
    for r in ("a", "d"):
        remote_head = git(b, "rev-parse", f"refs/remotes/{r}/syncassistant-netmap").strip()
        assert git(b, "merge-base", "--is-ancestor", remote_head, head, check=False) == ""


def test_dead_repositories_leave_the_map(make_repo):
    c = fresh_clones(make_repo, "A", "B")
    add_remote(c["A"], "b", c["B"])
    store.publish_local(c["A"])
    assert uuid(c["B"]) in store.load_map(c["A"]).nodes
    annex(c["A"], "dead", uuid(c["B"]))
    m = store.load_map(c["A"])
    assert uuid(c["B"]) not in m.nodes and m.edges == []


# ---------------------------------------------------------------- origins and routing


def test_origin_of_reads_the_location_log(make_repo):
    c = fresh_clones(make_repo, "A", "B")
    a, b = c["A"], c["B"]
    add_remote(a, "b", b)
    (a / "f.bin").write_bytes(os.urandom(1000))
    (a / "g.bin").write_bytes(os.urandom(1000))
    annex(a, "add", "f.bin", "g.bin")
    git(a, "commit", "-qm", "files")
    keys = [annex(a, "lookupkey", f).strip() for f in ("f.bin", "g.bin")]
    assert routing.location_log_path(keys[0]) == annex(a, "examinekey", "--format=${hashdirlower}", keys[0]) \
        + keys[0] + ".log"
    assert routing.origin_of(a, keys[0]) == uuid(a)
    time.sleep(1.1)  # git-annex's log timestamps have whole seconds
    annex(a, "copy", "--to", "b", "f.bin")
    assert routing.origin_of(b, keys[0]) == uuid(b)  # B has not heard of A's copy yet
    add_remote(b, "a", a)
    git(b, "fetch", "-q", "a")
    assert routing.origin_of(b, keys[0]) == uuid(a)  # fetched, not merged yet: counts
    Annex(b).update_branch()
    assert routing.origins(b, keys + ["SHA256E-s1--nothing"]) == {
        keys[0]: uuid(a), keys[1]: uuid(a), "SHA256E-s1--nothing": None}
    # a record still in git-annex's journal counts too
    (a / "h.bin").write_bytes(os.urandom(10))
    git(a, "-c", "annex.alwayscommit=false", "annex", "add", "h.bin")
    key_h = annex(a, "lookupkey", "h.bin").strip()
    assert os.listdir(a / ".git/annex/journal")
    assert routing.origin_of(a, key_h) == uuid(a)


def test_parse_location_log():
    text = "10s 1 u1\n5s 1 u2\n3s 0 u3\n12s 0 u2\n8s 1 u4\ngarbage\n"
    assert routing.parse_location_log(text) == "u4"  # u2 dropped it; u3 never had it
    assert routing.parse_location_log("1.5 1 x\n") == "x"
    assert routing.parse_location_log("") is None


def lan_map() -> NetMap:
    # A, B, C on a LAN; D, E on another; one cloud link C -> D; A has a costlier direct line to E.
    edges = []
    for x, y in (("A", "B"), ("A", "C"), ("B", "C"), ("D", "E")):
        edges += [Edge(x, y, y.lower(), 100), Edge(y, x, x.lower(), 100)]
    edges += [Edge("C", "D", "d", 1000), Edge("D", "C", "c", 1000), Edge("A", "E", "e", 1500)]
    return NetMap({n: n for n in "ABCDE"}, edges)


def test_upload_targets_on_a_hand_made_map():
    m = lan_map()
    assert routing.upload_targets(m, "A", "A", ["b", "c", "e"]) == ["b", "c"]
    assert routing.upload_targets(m, "C", "A", ["a", "b", "d"]) == ["d"]
    assert routing.upload_targets(m, "D", "A", ["c", "e"]) == ["e"]
    assert routing.upload_targets(m, "E", "A", ["d"]) == []
    # unknown clone or origin, or a remote the map does not know: flood
    assert routing.upload_targets(m, "Z", "A", ["x", "y"]) == ["x", "y"]
    assert routing.upload_targets(m, "A", None, ["b", "e"]) == ["b", "e"]
    assert routing.upload_targets(m, "A", "A", ["b", "new"]) == ["b", "new"]
    # C's cloud link is down: the tree goes A -> E -> D instead
    assert routing.upload_targets(m, "A", "A", ["b", "c", "e"], {"x"}) == ["b", "c"]
    m2 = NetMap(m.nodes, [Edge(e.src, e.dst, e.remote, e.cost, reachable=not (e.src, e.dst) == ("C", "D"))
                          for e in m.edges])
    assert routing.upload_targets(m2, "A", "A", ["b", "c", "e"]) == ["b", "c", "e"]
    assert routing.upload_targets(m2, "E", "A", ["d"]) == ["d"]
    # C itself only knows its remote failed (not yet published): it routes around it too
    assert routing.upload_targets(m, "C", "A", ["d"], {"d"}) == []


def test_route_transfers_drops_uploads_and_defers_off_tree_downloads(make_repo, monkeypatch):
    c = fresh_clones(make_repo, "A", "B", "C", "E")
    a = c["A"]
    add_remote(a, "b", c["B"])
    add_remote(a, "e", c["E"], cost=1000)
    add_remote(a, "c", c["C"])
    u = {n: uuid(r) for n, r in c.items()}
    edges = [Edge(u["A"], u["B"], "b", 100), Edge(u["A"], u["C"], "c", 100), Edge(u["A"], u["E"], "e", 1000),
             Edge(u["B"], u["E"], "e", 100), Edge(u["E"], u["A"], "a", 1000)]
    m = NetMap({v: k for k, v in u.items()}, edges)
    monkeypatch.setattr(routing, "origins", lambda repo, keys: {k: (u["A"] if k == "K1" else u["E"]) for k in keys})
    ts = [Transfer("K1", "f", "upload", "b"), Transfer("K1", "f", "upload", "e"),
          Transfer("K1", "f", "upload", "c"), Transfer("K2", "g", "download", "e"),
          Transfer("K2", "g", "download", "b")]
    out = routing.route_transfers(a, ts, netmap=m)
    assert [(t.key, t.direction, t.remote) for t in out] == [
        ("K1", "upload", "b"), ("K1", "upload", "c"), ("K2", "download", "e"), ("K2", "download", "b")]
    assert out[2].not_before == 0.0 and out[3].not_before == 0.0  # downloads untouched by default
    out = routing.route_transfers(a, ts, netmap=m, download_grace=routing.DOWNLOAD_GRACE)
    # K2 entered at E: A's parent in that tree is E, so the download from B waits for E
    assert out[2].not_before == 0.0 and out[3].not_before > time.monotonic() + 50
    assert out[3].deferred and not out[2].deferred
    # a deferred download is not work to do now: the queue is idle with only it in it
    from syncassistant.engine.context import RepoContext
    from syncassistant.engine.transfers.manager import TransferManager
    queue = TransferManager(RepoContext(a), on_location_change=lambda: None)
    queue.enqueue([out[3]])
    assert queue.idle()
    queue.enqueue([Transfer("K3", "h", "download", "e")])
    assert not queue.idle()
    # ... unless A cannot reach E itself (E may be switched off)
    for t in ts:
        t.not_before = 0.0
    out = routing.route_transfers(a, ts, netmap=m, download_grace=300, down_remotes={"e"})
    assert [t.not_before for t in out if t.direction == "download"] == [0.0, 0.0]


def test_route_transfers_trusts_live_reachability_over_the_published_map(make_repo, monkeypatch):
    # A published "origin down" while its link was cut; the link is back and its push went
    # through, but the map is not re-published yet: the upload must still go (it was dropped,
    # and nothing scanned again, so the content never reached the server)
    c = fresh_clones(make_repo, "A", "S")
    a = c["A"]
    add_remote(a, "origin", c["S"])
    u = {n: uuid(r) for n, r in c.items()}
    stale = NetMap({v: k for k, v in u.items()}, [Edge(u["A"], u["S"], "origin", 100, reachable=False)])
    monkeypatch.setattr(routing, "origins", lambda repo, keys: {k: u["A"] for k in keys})
    ts = [Transfer("K1", "f", "upload", "origin")]
    assert routing.route_transfers(a, ts, netmap=stale) == []  # no live view: the map decides
    assert [t.remote for t in routing.route_transfers(a, ts, netmap=stale, down_remotes=set())] == ["origin"]
    assert routing.route_transfers(a, ts, netmap=stale, down_remotes={"origin"}) == []
    assert stale.with_own_reachability(u["A"], {"origin"}) is stale  # unchanged: the same map


# ---------------------------------------------------------------- the map command


def run_map(*argv: str) -> tuple[int, bytes]:
    parser = argparse.ArgumentParser()
    cli_map.register(parser.add_subparsers())
    args = parser.parse_args(["map", *argv])
    buf = io.BytesIO()
    out = io.TextIOWrapper(buf)
    with redirect_stdout(out):
        rc = args.func(args)
        out.flush()
    return rc, buf.getvalue()


def test_map_command(make_repo, tmp_path):
    c = fresh_clones(make_repo, "A", "B", "C")
    add_remote(c["A"], "b", c["B"])
    add_remote(c["B"], "c", c["C"], cost=1000)
    store.publish_local(c["B"])
    add_remote(c["A"], "bb", c["B"])  # not published yet: the map takes A's edges live
    sync_netmap(c["A"])
    rc, out = run_map(str(c["A"]), "--format", "json")
    assert rc == 0
    doc = json.loads(out)
    assert doc["root"] == uuid(c["A"]) and doc["tree_weight"] == 1100
    assert {(e["remote"], e["in_tree"]) for e in doc["edges"]} == {("b", True), ("bb", False), ("c", True)}
    rc, out = run_map(str(c["A"]), "--root", "b")
    assert rc == 0 and out.startswith(b"digraph netmap {") and uuid(c["B"])[:8].encode() in out
    png = tmp_path / "map.png"
    rc, _ = run_map(str(c["A"]), "--format", "png", "--qt", "-o", str(png), "--root", "none")
    assert rc == 0 and png.read_bytes().startswith(b"\x89PNG\r\n\x1a\n")
    rc, _ = run_map(str(c["A"]), "--root", "nosuchrepo")
    assert rc == 1


def test_qt_rendering_draws_the_tree(make_repo):
    from PySide6.QtGui import QColor

    from syncassistant.ui import map_render
    image = map_render.render_image(lan_map(), "A")
    assert image.width() > 300 and image.height() > 100
    blue = map_render.TREE_COLOR
    hits = sum(1 for x in range(0, image.width(), 2) for y in range(0, image.height(), 2)
               if QColor(image.pixel(x, y)) == blue)
    assert hits > 50  # tree edges are drawn in blue


# ---------------------------------------------------------------- five clones, real transfers


def present_keys(repo: Path) -> set[str]:
    return set(annex(repo, "findkeys", "--in=here", "--format=${key}\n").split())


def annex_stdin(repo: Path, text: str, *args: str) -> str:
    r = subprocess.run(["git", "annex", *args], cwd=repo, input=text, capture_output=True, text=True,
                       timeout=120)
    assert r.returncode == 0, r.stderr
    return r.stdout


def drive(clones: dict[str, Path], remote_dst: dict[tuple[str, str], str], keys: set[str],
          mode: str, max_rounds: int = 10) -> list[tuple[str, str, str]]:
    """Rounds of `git annex copy --to`: each clone holding a key sends it to the remotes that
    lack it (flood) or to those routing picks (tree).  Returns the transfers that moved data."""
    maps = {n: store.load_map(r, include_incoming=False) for n, r in clones.items()}
    me = {n: uuid(r) for n, r in clones.items()}
    moved: list[tuple[str, str, str]] = []
    for _ in range(max_rounds):
        have = {n: present_keys(r) & keys for n, r in clones.items()}
        if all(h == keys for h in have.values()):
            return moved
        for n in sorted(clones):
            if not have[n]:
                continue
            origin = routing.origins(clones[n], have[n])
            plan: dict[str, list[str]] = {}
            for key in sorted(have[n]):
                cands = [r for (src, r), dst in sorted(remote_dst.items()) if src == n and key not in have[dst]]
                if mode == "tree":
                    cands = routing.upload_targets(maps[n], me[n], origin[key], cands)
                for r in cands:
                    plan.setdefault(r, []).append(key)
            for r, ks in sorted(plan.items()):
                out = annex_stdin(clones[n], "\n".join(ks) + "\n", "copy", "--to", r, "--batch-keys", "--json")
                for line in out.splitlines():
                    rec = json.loads(line)
                    assert rec["success"], rec
                    if rec.get("note", "").startswith("to "):
                        moved.append((n, r, rec["key"]))
    raise AssertionError(f"not everyone has everything after {max_rounds} rounds")


@pytest.fixture
def five_clones(make_repo):
    """LAN 1: A, B, C (cost 100 both ways); LAN 2: D, E; the cloud link C <-> D (cost 1000);
    and a costlier direct line A -> E (1500).  Four files dropped into A."""
    c = fresh_clones(make_repo, "A", "B", "C", "D", "E")
    links = [("A", "B", 100), ("B", "A", 100), ("A", "C", 100), ("C", "A", 100), ("B", "C", 100),
             ("C", "B", 100), ("D", "E", 100), ("E", "D", 100), ("C", "D", 1000), ("D", "C", 1000),
             ("A", "E", 1500)]
    remote_dst = {}
    for x, y, cost in links:
        add_remote(c[x], y.lower(), c[y], cost=cost)
        remote_dst[(x, y.lower())] = y
    for repo in c.values():
        store.publish_local(repo)
    for _ in range(2):
        for repo in c.values():
            sync_netmap(repo)
    a = c["A"]
    for i in range(4):
        (a / f"file{i}.bin").write_bytes(os.urandom(50_000 + i))
    annex(a, "add", ".")
    git(a, "commit", "-qm", "four files")
    for n, repo in c.items():  # the location log travels with the git-annex branch
        if n != "A":
            git(repo, "fetch", "-q", str(a), "+refs/heads/git-annex:refs/remotes/seed/git-annex")
            Annex(repo).update_branch()
    keys = present_keys(a)
    assert len(keys) == 4
    time.sleep(1.1)  # whole-second log timestamps: let A's records be the oldest
    return c, remote_dst, keys


def test_five_clones_expensive_edge_carries_each_file_once(five_clones):
    c, remote_dst, keys = five_clones
    for n, repo in c.items():
        assert len(store.load_map(repo, include_incoming=False).edges) == 11, n
    moved = drive(c, remote_dst, keys, "tree")
    over = {}
    for src, r, key in moved:
        over.setdefault((src, r), []).append(key)
    assert sorted(over[("C", "d")]) == sorted(keys)  # the cloud link: every file, once
    assert ("A", "e") not in over  # the direct costly line is never used
    assert len(moved) == 4 * len(keys)  # each clone received each file exactly once
    for repo in c.values():
        assert present_keys(repo) >= keys


def test_five_clones_flooding_pays_more(five_clones):
    c, remote_dst, keys = five_clones
    moved = drive(c, remote_dst, keys, "flood")
    expensive = [m for m in moved if (m[0], m[1]) in (("C", "d"), ("A", "e"), ("D", "c"))]
    assert {(s, r) for s, r, _ in expensive} == {("A", "e"), ("C", "d")}
    assert len(expensive) == 2 * len(keys)  # twice the expensive traffic of the tree
    for repo in c.values():
        assert present_keys(repo) >= keys


def test_download_grace_follows_the_tree_paths_measured_speeds():
    # A -> B -> C is the tree (cheap, slow LAN hops); A -> C the expensive direct link. C waits
    # for B as long as the two hops should take, not a fixed second per MiB
    mib = routing.MIB
    edges = [Edge("A", "B", "b", 100, measured_bps=100 * 1024), Edge("B", "C", "c", 100, measured_bps=10 * mib),
             Edge("A", "C", "c", 1000, measured_bps=10 * mib)]
    m = NetMap({n: n for n in "ABC"}, edges)
    assert routing.tree_parent(m, "C", "A") == "B"
    size = 10 * mib
    assert routing.delivery_time(m, "A", "C", size) == pytest.approx(102.4 + 1)  # 100 KiB/s, then 10 MiB/s
    assert routing.grace_for(m, "A", "C", size, 60) == pytest.approx(60 + routing.DELIVERY_SLACK * 103.4)
    # unmeasured hops: 1 MiB/s each, two hops
    plain = NetMap(m.nodes, [Edge(e.src, e.dst, e.remote, e.cost) for e in edges])
    assert routing.delivery_time(plain, "A", "C", size) == pytest.approx(20)
    # never longer than MAX_GRACE, however slow the path
    assert routing.grace_for(m, "A", "C", 10**12, 60) == routing.MAX_GRACE
    # C off the tree (its in-edges down): the plain rate, no path to follow
    assert routing.delivery_time(m, "A", "C", size, {("B", "C", "c"), ("A", "C", "c")}) == pytest.approx(10)
