#!/usr/bin/env python3
"""Benchmark (issue 6): routing content along the minimum-cost arborescence versus flooding.

A simulation on this machine with real clones and real transfers.  For each topology and
N in (5, 10, 20) it builds N git-annex clones on local paths, gives each the remotes and costs
of the topology (``remote.<n>.annex-cost``), has every clone publish its edges with
``netmap_store`` and spreads the maps (plain git fetch + ``merge_incoming``).  Each run then
drops a fresh set of files into one clone (its git-annex branch, with the location log naming
the origin, is fetched by every clone as the daemon's push would carry it) and moves content
with ``git annex copy --to`` in synchronous rounds until every clone has every file:

* every round, each clone holding a key proposes uploads to its remotes that lack it (what the
  content scanner does); **flood** sends all of them, **tree** only those
  ``routing.upload_targets`` keeps (children in the arborescence rooted at the key's origin,
  read with ``routing.origins`` from the clone's own location log);
* proposals are decided on the state at the start of the round (as concurrent daemons would);
  when two clones pick the same destination in one round only the first moves data (git-annex
  checks the remote / takes a transfer lock) and the other counts as a *collision*;
* the clones know the truth of "lacks" (a daemon knows it only through its location log, which
  is later), so flooding is measured at its best.

Measured per run: rounds, transfers that moved data, bytes moved, bytes over costly edges
(cost >= 200, git-annex's "expensive" class), total cost (sum of bytes x edge cost), the
optimum (arborescence weight x bytes) and wall time.  The "cut" runs break one tree edge (the
remote's URL points nowhere) after the first round, or before it when the edge leaves the
origin: the sender's copy fails, it publishes the edge as down, the map spreads, and the next
rounds route around it; "optimum without the cut edge" is the best possible had the edge been
gone from the start.  At the end, every clone's content is checked with ``git annex findkeys``.

Topologies (costs: LAN 100, server 200, internet 1000):
  chain   LANs of 5 clones (full mesh, 100) in a chain; every clone can also reach every clone
          of the neighbouring LANs over the one metered internet link (1000).
  star    a server (200 to and from every client); clients in homes of 3 (full mesh, 100).
  random  3 random remotes per clone, cost 100/200/500/1000, plus a ring of 1000 (seed 6).

Run:  .venv/bin/python bench/bench_netmap.py [--sizes 5,10,20] [--files 8] [--kib 128]
          [--only chain,star,random] [--no-cut] [--keep]
Progress goes to stderr, the markdown table to stdout.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
VENV_BIN = Path(sys.executable).parent

import networkx as nx  # noqa: E402

from syncassistant.engine.network import netmap_store as store  # noqa: E402
from syncassistant.engine.network import routing  # noqa: E402
from syncassistant.engine.proc import git as gitmod  # noqa: E402
from syncassistant.engine.repo import init_repo  # noqa: E402

LAN, SERVER, NET = 100.0, 200.0, 1000.0
COSTLY = 200.0
MAX_ROUNDS = 40


def note(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def setup_env(work: Path) -> None:
    """Isolated git config and HOME for everything this process starts."""
    home = work / "home"
    home.mkdir()
    cfg = work / "gitconfig"
    cfg.write_text("[user]\n\tname = bench\n\temail = bench@example.invalid\n"
                   "[init]\n\tdefaultBranch = master\n[protocol \"file\"]\n\tallow = always\n")
    os.environ.update(GIT_CONFIG_GLOBAL=str(cfg), GIT_CONFIG_NOSYSTEM="1", HOME=str(home),
                      PATH=str(VENV_BIN) + os.pathsep + os.environ.get("PATH", "/usr/bin:/bin"))
    gitmod.reset_env_cache()


def run(repo: Path, *args: str, stdin: str | None = None, check: bool = True) -> str:
    r = subprocess.run(list(args), cwd=repo, input=stdin, capture_output=True, text=True, timeout=600)
    if check and r.returncode:
        raise RuntimeError(f"{' '.join(args[:4])} in {repo}: {r.stderr.strip()[-500:]}")
    return r.stdout


def git(repo: Path, *args: str, check: bool = True) -> str:
    return run(repo, "git", *args, check=check)


def annex(repo: Path, *args: str, stdin: str | None = None, check: bool = True) -> str:
    return run(repo, "git", "annex", *args, stdin=stdin, check=check)


# ---------------------------------------------------------------------------- topologies

Link = tuple[int, int, float]  # src, dst, cost


def chain(n: int) -> tuple[list[Link], int]:
    sizes = [3, 2] if n == 5 else [5] * (n // 5) + ([n % 5] if n % 5 else [])
    lans, i = [], 0
    for s in sizes:
        lans.append(list(range(i, i + s)))
        i += s
    links = [(a, b, LAN) for lan in lans for a in lan for b in lan if a != b]
    for left, right in zip(lans, lans[1:], strict=False):
        links += [(a, b, NET) for a in left for b in right] + [(b, a, NET) for a in left for b in right]
    return links, 0


def star(n: int) -> tuple[list[Link], int]:
    clients = list(range(1, n))
    links = [(0, c, SERVER) for c in clients] + [(c, 0, SERVER) for c in clients]
    homes = [clients[i:i + 3] for i in range(0, len(clients), 3)]
    links += [(a, b, LAN) for home in homes for a in home for b in home if a != b]
    return links, 1


def random_graph(n: int) -> tuple[list[Link], int]:
    rnd = random.Random(6 + n)
    links = {(i, (i + 1) % n): NET for i in range(n)}
    for i in range(n):
        for j in rnd.sample([j for j in range(n) if j != i], 3):
            links[(i, j)] = min(links.get((i, j), 1e9), rnd.choice([LAN, SERVER, 500.0, NET]))
    return [(a, b, c) for (a, b), c in sorted(links.items())], 0


TOPOLOGIES: dict[str, Callable[[int], tuple[list[Link], int]]] = {
    "chain": chain, "star": star, "random": random_graph}


# ---------------------------------------------------------------------------- the network


@dataclass
class Net:
    work: Path
    clones: list[Path]
    uuids: list[str]
    links: list[Link]
    origin: int
    keys: dict[str, int]  # key -> size, of the current run
    remote: dict[tuple[int, int], str] = field(default_factory=dict)  # (src, dst) -> remote name
    cost: dict[tuple[int, str], float] = field(default_factory=dict)  # (src, remote) -> cost
    dst: dict[tuple[int, str], int] = field(default_factory=dict)  # (src, remote) -> dst

    def remotes_of(self, i: int) -> list[str]:
        mine = [(c, r) for (s, r), c in self.cost.items() if s == i]
        return [r for _, r in sorted(mine)]


def build(work: Path, links: list[Link], n: int, origin: int) -> Net:
    """Clones, remotes with their costs, and every clone's published map spread to all."""
    clones = [work / f"c{i:02d}" for i in range(n)]
    seed = clones[origin]
    init_repo(seed, f"clone {origin}")
    for i, path in enumerate(clones):
        if i != origin:
            git(work, "clone", "-q", str(seed), str(path))
            init_repo(path, f"clone {i}")
            git(path, "remote", "remove", "origin")
    uuids = [git(p, "config", "annex.uuid").strip() for p in clones]
    net = Net(work, clones, uuids, links, origin, {})
    for a, b, cost in links:
        name = f"c{b:02d}"
        git(clones[a], "remote", "add", name, str(clones[b]))
        git(clones[a], "config", f"remote.{name}.annex-uuid", uuids[b])
        git(clones[a], "config", f"remote.{name}.annex-cost", f"{cost:g}")
        net.remote[(a, b)] = name
        net.cost[(a, name)] = cost
        net.dst[(a, name)] = b
    for p in clones:
        store.publish_local(p)
    spread_maps(net)
    return net


def drop_files(net: Net, tag: str, files: int, kib: int) -> dict[str, int]:
    """New files into the origin clone; its git-annex branch (the location log saying it has
    them) reaches every clone, as the daemon's push of the git-annex branch would carry it."""
    seed = net.clones[net.origin]
    rnd = random.Random(tag)
    folder = seed / tag
    folder.mkdir()
    for f in range(files):
        (folder / f"f{f:02d}.bin").write_bytes(rnd.randbytes(kib * 1024 + f))
    annex(seed, "add", tag)
    git(seed, "commit", "-qm", f"{tag}: files dropped into one clone")
    keys = {}
    for line in annex(seed, "find", tag, "--format=${key} ${bytesize}\n").splitlines():
        key, size = line.split()
        keys[key] = int(size)
    for p in net.clones:
        if p != seed:
            git(p, "fetch", "-q", str(seed), "+refs/heads/git-annex:refs/remotes/seed/git-annex")
    time.sleep(1.1)  # whole-second location-log timestamps: the origin's must be the oldest
    return keys


def spread_maps(net: Net, source: int | None = None) -> None:
    """Make every clone's map complete: gather into one clone, then fan out (what the pushes and
    merges of the daemons do, hop by hop).  With ``source``, spread only that clone's map."""
    hub = net.clones[net.origin if source is None else source]
    if source is None:
        for p in net.clones:
            if p != hub:
                git(hub, "fetch", "-q", str(p), f"+{store.REF}:refs/remotes/gather/{store.BRANCH}")
                store.merge_incoming(hub)
    for p in net.clones:
        if p != hub:
            git(p, "fetch", "-q", str(hub), f"+{store.REF}:refs/remotes/spread/{store.BRANCH}")
            store.merge_incoming(p)


def present(p: Path) -> set[str]:
    return set(annex(p, "findkeys", "--in=here", "--format=${key}\n").split())


# ---------------------------------------------------------------------------- one run


@dataclass
class Result:
    topology: str
    n: int
    mode: str
    complete: bool = False
    rounds: int = 0
    transfers: int = 0
    collisions: int = 0
    failed: int = 0
    bytes: int = 0
    costly_bytes: int = 0
    cost: float = 0.0
    optimum: float = 0.0
    optimum_cut: float | None = None  # the optimum with the cut edge gone from the start
    seconds: float = 0.0
    cut: str = ""


def tree_weight(net: Net, down: frozenset = frozenset()) -> float:
    m = store.load_map(net.clones[net.origin], include_incoming=False)
    tree = m.arborescence(net.uuids[net.origin], down)
    return m.total_weight(tree) if len(tree) == len(net.clones) else float("nan")


def pick_cut(net: Net) -> tuple[int, int]:
    """A tree edge not leaving the origin, whose destination has another way in, with the
    biggest subtree."""
    m = store.load_map(net.clones[net.origin], include_incoming=False)
    tree = m.arborescence(net.uuids[net.origin])
    index = {u: i for i, u in enumerate(net.uuids)}
    indeg = {}
    for _a, b, _ in net.links:
        indeg[b] = indeg.get(b, 0) + 1
    best = None
    for u, v in tree.edges:
        a, b = index[u], index[v]
        if indeg[b] < 2:
            continue
        size = 1 + len(nx.descendants(tree, v))
        rank = (a != net.origin, size, -a, -b)
        if best is None or rank > best[0]:
            best = (rank, (a, b))
    if best is None:
        raise RuntimeError("no tree edge can be cut without cutting a clone off")
    return best[1]


def run_mode(net: Net, topology: str, mode: str, files: int, kib: int,
             cut: tuple[int, int] | None = None) -> Result:
    """One run: fresh files into the origin, rounds of copies until everyone has them."""
    res = Result(topology, len(net.clones), mode + ("+cut" if cut else ""))
    net.keys = drop_files(net, f"{mode}{'-cut' if cut else ''}", files, kib)
    total = sum(net.keys.values())
    res.optimum = tree_weight(net) * total
    maps = {i: store.load_map(p, include_incoming=False) for i, p in enumerate(net.clones)}
    down: dict[int, set[str]] = {i: set() for i in range(len(net.clones))}
    cut_url = None
    if cut:
        res.cut = f"c{cut[0]:02d}->c{cut[1]:02d}"
        res.optimum_cut = tree_weight(net, frozenset({(net.uuids[cut[0]], net.uuids[cut[1]])})) * total
    # who has what: the origin, then every transfer git-annex reports (checked at the end)
    have: dict[int, set[str]] = {i: set() for i in range(len(net.clones))}
    have[net.origin] = set(net.keys)
    t0 = time.monotonic()
    for rnd in range(MAX_ROUNDS):
        if cut and rnd == (1 if cut[0] != net.origin else 0) and cut_url is None:
            name = net.remote[cut]
            cut_url = git(net.clones[cut[0]], "config", f"remote.{name}.url").strip()
            git(net.clones[cut[0]], "config", f"remote.{name}.url", str(net.work / "nowhere"))
        if all(len(h) == len(net.keys) for h in have.values()):
            res.complete = True
            break
        res.rounds += 1
        start = {i: set(h) for i, h in have.items()}  # decisions use the state at round start
        arrived: set[tuple[int, str]] = set()  # (dst, key) delivered this round
        republish: list[int] = []
        for i, p in enumerate(net.clones):
            if not start[i]:
                continue
            origin = routing.origins(p, start[i]) if mode == "tree" else {}
            plan: dict[str, list[str]] = {}
            for key in sorted(start[i]):
                cands = [r for r in net.remotes_of(i) if key not in start[net.dst[(i, r)]]]
                if mode == "tree":
                    cands = routing.upload_targets(maps[i], net.uuids[i], origin.get(key), cands, down[i])
                for r in cands:
                    plan.setdefault(r, []).append(key)
            for r, keys in plan.items():
                d = net.dst[(i, r)]
                send = [k for k in keys if (d, k) not in arrived]
                res.collisions += len(keys) - len(send)
                if not send:
                    continue
                out = annex(p, "copy", "--to", r, "--batch-keys", "--json",
                            stdin="".join(k + "\n" for k in send), check=False)
                for line in out.splitlines():
                    rec = json.loads(line)
                    if not rec.get("success"):
                        res.failed += 1
                        if r not in down[i]:
                            down[i].add(r)
                            republish.append(i)
                        continue
                    if not rec.get("note", "").startswith("to "):
                        res.collisions += 1
                        continue
                    size = net.keys[rec["key"]]
                    cost = net.cost[(i, r)]
                    arrived.add((d, rec["key"]))
                    have[d].add(rec["key"])
                    res.transfers += 1
                    res.bytes += size
                    res.cost += size * cost
                    if cost >= COSTLY:
                        res.costly_bytes += size
        for i in dict.fromkeys(republish):  # the sender saw its remote fail: tell everyone
            store.publish_local(net.clones[i], {r: False for r in down[i]})
            spread_maps(net, source=i)
            maps = {j: store.load_map(p, include_incoming=False) for j, p in enumerate(net.clones)}
    res.seconds = time.monotonic() - t0
    if cut_url is not None:
        name = net.remote[cut]
        git(net.clones[cut[0]], "config", f"remote.{name}.url", cut_url)
        store.publish_local(net.clones[cut[0]])
        spread_maps(net, source=cut[0])
    return res


# ---------------------------------------------------------------------------- main


def table(results: list[Result]) -> str:
    head = ("| topology | N | mode | complete | rounds | transfers | MB moved | MB over costly edges "
            "| cost (MB x cost) | optimum | cost / optimum | optimum without the cut edge "
            "| collisions | time (s) |")
    lines = [head, "|" + "---|" * 14]
    for r in results:
        mode = r.mode + (f" ({r.cut})" if r.cut else "")
        ratio = r.cost / r.optimum if r.optimum == r.optimum and r.optimum else float("nan")
        cut = f"{r.optimum_cut / 1e6:,.0f}" if r.optimum_cut is not None else ""
        lines.append(
            f"| {r.topology} | {r.n} | {mode} | {'yes' if r.complete else 'NO'} | {r.rounds} | {r.transfers} "
            f"| {r.bytes / 1e6:.2f} | {r.costly_bytes / 1e6:.2f} | {r.cost / 1e6:,.0f} | {r.optimum / 1e6:,.0f} "
            f"| {ratio:.2f} | {cut} | {r.collisions} | {r.seconds:.1f} |")
    return "\n".join(lines)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--sizes", default="5,10,20")
    ap.add_argument("--files", type=int, default=8)
    ap.add_argument("--kib", type=int, default=128, help="size of each file in KiB")
    ap.add_argument("--only", default=",".join(TOPOLOGIES))
    ap.add_argument("--no-cut", action="store_true", help="skip the runs with a cut tree edge")
    ap.add_argument("--keep", action="store_true", help="keep the work directory")
    args = ap.parse_args()
    work_root = Path(tempfile.mkdtemp(prefix="bench-netmap-"))
    setup_env(work_root)
    results: list[Result] = []
    t_all = time.monotonic()
    try:
        for topo in args.only.split(","):
            for n in (int(s) for s in args.sizes.split(",")):
                work = work_root / f"{topo}-{n}"
                work.mkdir()
                links, origin = TOPOLOGIES[topo](n)
                t0 = time.monotonic()
                net = build(work, links, n, origin)
                note(f"{topo} N={n}: {len(links)} remotes, built in {time.monotonic() - t0:.1f} s")
                runs: list[tuple[str, tuple[int, int] | None]] = [("flood", None), ("tree", None)]
                if not args.no_cut:
                    cut = pick_cut(net)
                    runs += [("flood", cut), ("tree", cut)]
                everything: set[str] = set()
                for mode, cut in runs:
                    res = run_mode(net, topo, mode, args.files, args.kib, cut)
                    results.append(res)
                    everything |= set(net.keys)
                    note(f"  {res.mode}: complete={res.complete} rounds={res.rounds} "
                         f"cost/opt={res.cost / res.optimum:.2f} in {res.seconds:.1f} s")
                missing = [p.name for p in net.clones if not everything <= present(p)]
                if missing:  # the bookkeeping above must match what git-annex really holds
                    raise RuntimeError(f"{topo} N={n}: content missing in {missing}")
                if not args.keep:
                    shutil.rmtree(work, ignore_errors=True)
    finally:
        if not args.keep:
            shutil.rmtree(work_root, ignore_errors=True)
        else:
            note(f"kept {work_root}")
    print(f"Files: {args.files} x {args.kib} KiB dropped into one clone; "
          f"total {time.monotonic() - t_all:.0f} s.\n")
    print(table(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
