#!/usr/bin/env python3
"""Bulk content benchmarks (issue 3): syncassistant next to `git annex assistant`, same run.

  bulk     1 GiB in 1,000 files (1 MiB of random data each) moved into A, until all their content
           is in B (readable, right size, in B's tree); plus the floor: the same files already
           added and committed in A, `git annex copy --to b` by hand (that command alone)
  small    a new 64-byte file (random bytes) renamed into A, until it is readable with the right
           bytes in B's tree (not only listed there, as bench_sync.py's latency measures): median,
           min and max of N trials, each with a 60 s deadline; when it was listed in B, too
  startup  the start-up scan on an N-file repository that is already in sync (content in both
           clones, location tracking and branches synced): time from starting the two daemons
           until they are idle, and the CPU seconds they used

Each system gets its own fresh pair A <-> B (local paths, each the other's remote). The daemons,
their start/stop and the CPU accounting are bench_sync.py's (the same harness, so numbers are
comparable with its table).

Run:  .venv/bin/python bench/bench_bulk.py [--only bulk,small,startup] [--files 1000 --file-kib 1024]
                                           [--small-trials 10] [--startup-files 100000] [--keep]
Progress goes to stderr; the markdown table to stdout at the end. See bench/README.md.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import bench_sync as bs  # the shared harness: daemons, /proc CPU, clone set-up)

note, git, run = bs.note, bs.git, bs.run
KEEP = False  # --keep: leave every scenario's clones and daemon logs in the work dir


def done_with(base: Path) -> None:
    """Remove a scenario's clones now (1 GiB pairs, 100,000-file pairs), unless --keep."""
    if not KEEP:
        bs.remove_tree(base)


# -- bulk: 1,000 x 1 MiB from A to B -------------------------------------------------------------
def stage_random(folder: Path, n: int, kib: int) -> None:
    """n files of `kib` KiB of random data, written outside the repository (not timed), so that
    they appear in A by a rename each: writing 1 GiB of random data costs CPU we do not want to
    charge to the daemons."""
    folder.mkdir(parents=True)
    for i in range(n):
        (folder / f"r{i:05d}.bin").write_bytes(os.urandom(kib * 1024))


def count_content(folder: Path, size: int) -> int:
    """Regular files of the expected size in `folder`: content is there (an unlocked file that
    only has its pointer is a small file; a locked one would be a symlink)."""
    try:
        with os.scandir(folder) as it:
            return sum(1 for e in it if e.is_file(follow_symlinks=False) and e.stat().st_size == size)
    except FileNotFoundError:
        return 0


def annex_count(repo: Path, *args: str) -> int:
    """How many files `git annex find ARGS` lists (one line each)."""
    return len(git(repo, "annex", "find", "--format=${file}\\n", *args, timeout=600).splitlines())


def wait_content(b: Path, n: int, size: int, t0: float, deadline: float, grace: float = 120.0) -> dict:
    """Poll B until all n files' content is there by both measures: git-annex says B has it
    (`git annex find --in=here`, every 2 s) and the files in B's tree are readable at full size
    (every 0.25 s). They differ: the assistant fetches content long before it replaces the pointer
    files in the tree. Readability is given up `grace` s after git-annex has everything.
    Returns seconds after t0 (None: not reached) and the counts reached."""
    r: dict = {"first_s": None, "readable_s": None, "annex_s": None, "readable": 0, "annex": 0}
    last_annex = 0.0
    while time.monotonic() - t0 < deadline:
        now = time.monotonic()
        r["readable"] = count_content(b / "burst", size)
        if r["readable"] and r["first_s"] is None:
            r["first_s"] = now - t0
        if r["readable"] >= n and r["readable_s"] is None:
            r["readable_s"] = now - t0
        if r["annex_s"] is None and now - last_annex >= 2.0:
            last_annex = now
            try:  # fails while git does not know any file in burst/ yet
                r["annex"] = annex_count(b, "--in=here", "burst")
            except RuntimeError:
                r["annex"] = 0
            if r["annex"] >= n:
                r["annex_s"] = time.monotonic() - t0
        if r["annex_s"] is not None and (r["readable_s"] is not None or now - t0 - r["annex_s"] > grace):
            break
        time.sleep(0.25)
    return r


def scenario_bulk(kind: str, n: int, kib: int, deadline: float) -> dict:
    a, b = bs.build(kind, "bulk", ["A", "B"])
    stage = a.parent / "stage"
    stage_random(stage, n, kib)
    daemons = [bs.DAEMON[kind](r) for r in (a, b)]
    res: dict = {"n": n, "kib": kib}
    try:
        res["startup_s"] = bs.start_all(daemons, settle_deadline=120)
        cpu0 = sum(d.cpu() for d in daemons)
        t0 = time.monotonic()
        bs.drop_burst(a, stage)  # one rename per file into the new folder A/burst/
        res["drop_s"] = time.monotonic() - t0
        note(f"{kind} bulk: {n} files moved into A in {res['drop_s']:.2f} s; waiting for their content in B")
        res.update(wait_content(b, n, kib * 1024, t0, deadline))
        res["cpu_s"] = sum(d.cpu() for d in daemons) - cpu0
        res["all_s"] = res["annex_s"]
        note(f"{kind} bulk: first readable in B after {res['first_s']}, all in B's annex after "
             f"{res['annex_s']} ({res['annex']}/{n}), all readable after {res['readable_s']} "
             f"({res['readable']}/{n}); daemons used {res['cpu_s']:.1f} CPU s")
        if res["annex_s"] is None or res["readable_s"] is None:
            msg = (f"{kind} bulk: in B's annex {res['annex']}/{n}, readable in B's tree "
                   f"{res['readable']}/{n} at the end")
            if kind == "ours":
                bs.anomaly(msg + "\n" + "\n".join(f"  {d.repo.name}:\n{d.log_tail()}" for d in daemons))
            else:
                note(msg)
        # Whether A has learnt where the content is (location tracking that reached A over the
        # git-annex branch; not waited for).
        res["A_knows_B_has"] = annex_count(a, "--in=b", "burst")
    finally:
        bs.stop_all(daemons)
    done_with(a.parent)  # 4 GiB per pair at full size
    return res


def scenario_bulk_floor(n: int, kib: int) -> dict:
    """By hand, no daemon: add and commit in A (timed, not counted), then `git annex copy --to b`."""
    a, b = bs.build("plain", "bulkfloor", ["A", "B"])
    stage = a.parent / "stage"
    stage_random(stage, n, kib)
    bs.drop_burst(a, stage)
    t = time.monotonic()
    git(a, "annex", "add", "-q", "burst", timeout=3600)
    git(a, "commit", "-q", "-m", "bulk")
    add_s = time.monotonic() - t
    t = time.monotonic()
    git(a, "annex", "copy", "-q", "--to", "b", "burst", timeout=3600)
    copy_s = time.monotonic() - t
    have = annex_count(a, "--in=b", "burst")
    if have != n:
        raise RuntimeError(f"floor: B has {have}/{n} files after the copy")
    note(f"floor bulk: add+commit {add_s:.2f} s (not counted), copy --to b {copy_s:.2f} s")
    done_with(a.parent)
    return {"n": n, "all_s": copy_s, "add_commit_s": add_s}


# -- small: one 64-byte file from A, readable in B ------------------------------------------------
SMALL_DEADLINE = 60.0  # per trial, seconds


def read_or_none(p: Path) -> bytes | None:
    try:
        return p.read_bytes()
    except OSError:  # not there yet, a symlink without content, being replaced
        return None


def tree_state(p: Path, data: bytes) -> str:
    """What B's tree holds at `p`, in words (for a trial that missed its deadline)."""
    got = read_or_none(p)
    if got == data:
        return "readable"
    if got is None:
        return "a symlink without content" if os.path.lexists(p) else "absent"
    if got.startswith(b"/annex/objects/"):
        return "a pointer file"
    return f"{len(got)} other bytes"


def missed_state(b: Path, name: str, data: bytes) -> dict:
    """Where a file that did not become readable in time got to in B: its tree, B's branch, B's annex."""
    out = {"tree": tree_state(b / name, data)}
    try:
        out["committed_in_B"] = bool(git(b, "ls-files", "--", name).strip())
        if out["committed_in_B"]:
            out["content_in_B_annex"] = annex_count(b, "--in=here", name) == 1
    except RuntimeError as e:
        out["error"] = str(e).splitlines()[0][:200]
    return out


def scenario_small(kind: str, trials: int) -> dict:
    """bench_sync.py's latency trial (rename into A, settle between trials), timed until B's file
    has the right bytes; when it was first listed in B is kept too."""
    a, b = bs.build(kind, "small", ["A", "B"])
    stage = a.parent / "stage"
    stage.mkdir()
    daemons = [bs.DAEMON[kind](r) for r in (a, b)]
    res: dict = {"trials": 0, "listed": [], "readable": [], "missed": [], "unsettled_trials": 0}
    files: dict[str, bytes] = {}
    try:
        res["startup_s"] = bs.start_all(daemons, settle_deadline=120)
        for i in range(trials):
            name = f"small{i:03d}.bin"
            data = files[name] = os.urandom(64)
            (stage / name).write_bytes(data)
            target = b / name
            listed = readable = None
            t0 = time.monotonic()
            os.rename(stage / name, a / name)  # appears in A atomically
            end = t0 + SMALL_DEADLINE
            while time.monotonic() < end:
                if listed is None and os.path.lexists(target):
                    listed = time.monotonic() - t0
                if listed is not None and read_or_none(target) == data:
                    readable = time.monotonic() - t0
                    break
                time.sleep(0.002)
            res["trials"] += 1
            if listed is not None:
                res["listed"].append(listed)
            if readable is not None:
                res["readable"].append(readable)
                note(f"{kind} small trial {i}: listed in B after {listed:.3f} s, readable after {readable:.3f} s")
            else:
                miss = {"trial": i, "file": name, "listed_s": listed, **missed_state(b, name, data)}
                res["missed"].append(miss)
                note(f"{kind} small trial {i}: NOT readable in B within {SMALL_DEADLINE:.0f} s: {miss}")
                if kind == "ours":
                    bs.anomaly(f"ours small trial {i}: {name} not readable in B within {SMALL_DEADLINE:.0f} s "
                               f"({miss}); log of B:\n{daemons[1].log_tail()}")
            # let the push-backs and git-annex branch updates of this trial finish (as bench_sync.py)
            ok, _ = bs.settle(daemons, window=0.5, threshold=0.02 * len(daemons), deadline=8)
            if not ok:
                res["unsettled_trials"] += 1
                note(f"{kind} small trial {i}: daemons still busy 8 s after it; going on")
        # Did the missed files arrive later (during the following trials)?
        for miss in res["missed"]:
            miss["at_end"] = tree_state(b / miss["file"], files[miss["file"]])
    finally:
        bs.stop_all(daemons)
    done_with(a.parent)
    return res


# -- start-up: an N-file repository already in sync ----------------------------------------------
# Making 100,000 annexed files with `git annex add` takes ~25 min on this machine (15 ms a file).
# So the fixture's files, annex objects, commit (pointer files, one git fast-import) and location
# logs (`git annex setpresentkey --batch`) are written directly. The index is then refreshed
# through git-annex's clean filter (`git update-index --refresh`, 3-6 ms a file): that is how
# git-annex records the inode caches of unlocked files. Without them (we tried writing the index
# and the keys database by hand) `git annex assistant` re-adds every file at start-up, which it
# does not do on clones made by `git annex add`. A copy (`cp -a`) gets new inodes and needs that
# refresh again, so every clone is written in place, not copied: both clones of a pair are built
# side by side (the same commit, made with a fixed time), one refresh each, in parallel.

FIXTURE_TIME = 1_700_000_000  # the fixture commit's time: both clones make the very same commit


def pointer(key: str) -> bytes:
    return f"/annex/objects/{key}\n".encode()


def make_files(n: int, seed: int) -> list[tuple[str, bytes, str]]:
    """(path, content, key) for n 64-byte text files, 1,000 per folder (a deterministic set)."""
    rng = random.Random(seed)
    out = []
    for i in range(n):
        data = rng.randbytes(32).hex().encode()
        key = f"SHA256E-s64--{hashlib.sha256(data).hexdigest()}.txt"
        out.append((f"data/d{i // 1000:03d}/f{i:06d}.txt", data, key))
    return out


def object_paths(repo: Path, keys: list[str]) -> list[str]:
    """Where git-annex keeps each key's object (its hashdirmixed layout), asked in one batch."""
    out = subprocess.run(["git", "annex", "examinekey", "--batch", "--format=${objectpath}\\n"],
                         cwd=repo, env=bs.ENV, input="\n".join(keys) + "\n", capture_output=True,
                         text=True, check=True, timeout=600).stdout.splitlines()
    if len(out) != len(keys):
        raise RuntimeError(f"examinekey: {len(out)} paths for {len(keys)} keys")
    return out


def write_objects(repo: Path, files: list[tuple[str, bytes, str]], objpaths: list[str]) -> None:
    for (path, data, _), obj in zip(files, objpaths, strict=True):
        wt = repo / path
        wt.parent.mkdir(parents=True, exist_ok=True)
        wt.write_bytes(data)
        o = repo / obj
        o.parent.mkdir(parents=True, exist_ok=True)
        o.write_bytes(data)
        o.chmod(0o444)
        o.parent.chmod(0o555)  # as git-annex leaves them: the object can't be changed by accident


def commit_pointers(repo: Path, files: list[tuple[str, bytes, str]], message: str) -> None:
    """One commit on master with a pointer file (an unlocked annexed file) for each path."""
    def stream():
        msg = message.encode()
        yield b"commit refs/heads/master\ncommitter bench <bench@example.invalid> %d +0000\n" % FIXTURE_TIME
        yield b"data %d\n%s\n" % (len(msg), msg)
        for path, _, key in files:
            p = pointer(key)
            yield b"M 100644 inline %s\ndata %d\n%s\n" % (path.encode(), len(p), p)
        yield b"done\n"
    subprocess.run(["git", "fast-import", "--quiet", "--done"], cwd=repo, env=bs.ENV,
                   input=b"".join(stream()), check=True, timeout=1200)


def refresh(repo: Path) -> None:
    """Bring the index (git) and the inode caches (git-annex) up to date with the work tree:
    git runs git-annex's clean filter on every file whose inode or times changed."""
    git(repo, "reset", "-q", timeout=1800)  # the index from HEAD
    git(repo, "update-index", "-q", "--refresh", timeout=3600)


def build_clone(repo: Path, name: str, files: list[tuple[str, bytes, str]]) -> None:
    """One clone with every file committed and its content present, index refreshed."""
    run("git", "init", "-q", repo)
    git(repo, "config", "annex.addunlocked", "true")
    git(repo, "annex", "init", "-q", name)
    write_objects(repo, files, object_paths(repo, [k for _, _, k in files]))
    commit_pointers(repo, files, f"{len(files)} files")
    refresh(repo)


def in_parallel(*calls) -> None:
    """Run (function, args...) tuples in threads (their work is in subprocesses); re-raise the first error."""
    from concurrent.futures import ThreadPoolExecutor
    with ThreadPoolExecutor(len(calls)) as pool:
        for f in [pool.submit(fn, *a) for fn, *a in calls]:
            f.result()


def build_synced_pair(base: Path, n: int) -> list[Path]:
    """A and B, each the other's remote, holding the same n committed files with content in both,
    location tracking saying so, and branches exchanged (as after any sync)."""
    t = time.monotonic()
    a, b = base / "A", base / "B"
    files = make_files(n, seed=n)
    in_parallel((build_clone, a, "A", files), (build_clone, b, "B", files))
    if git(a, "rev-parse", "HEAD") != git(b, "rev-parse", "HEAD"):
        raise RuntimeError("fixture: A and B made different commits")
    note(f"startup fixture: A and B with {n} files each written in {time.monotonic() - t:.0f} s")
    uuids = [git(r, "config", "annex.uuid").strip() for r in (a, b)]
    lines = "".join(f"{k} {u} 1\n" for _, _, k in files for u in uuids)
    subprocess.run(["git", "annex", "setpresentkey", "--batch"], cwd=a, env=bs.ENV, input=lines,
                   text=True, capture_output=True, check=True, timeout=1800)
    git(a, "remote", "add", "b", str(b))
    git(b, "remote", "add", "a", str(a))
    for repo in (a, b, a):  # exchange branches, as after any sync: synced/*, git-annex merged
        git(repo, "annex", "sync", "-q", timeout=1800)
    check_synced(a, b, n)
    note(f"startup fixture: pair of {n}-file clones built in {time.monotonic() - t:.0f} s")
    return [a, b]


def check_synced(a: Path, b: Path, n: int) -> None:
    """Clean trees, same commit, and each clone knows both have every file."""
    for repo in (a, b):
        if git(repo, "status", "--porcelain", timeout=1800).strip():
            raise RuntimeError(f"{repo}: not clean")
        for where in ("here", "a" if repo == b else "b"):
            c = annex_count(repo, f"--in={where}")
            if c != n:
                raise RuntimeError(f"{repo}: git annex find --in={where} lists {c} of {n}")
    if git(a, "rev-parse", "HEAD") != git(b, "rev-parse", "HEAD"):
        raise RuntimeError("A and B are on different commits")


def synced_pair(kind: str, n: int) -> list[Path]:
    """A fresh pair for `kind`, set up as bench_sync.py sets up its clones."""
    base = bs.W / f"startup-{kind}"
    base.mkdir()
    a, b = build_synced_pair(base, n)
    for repo in (a, b):
        if kind == "ours":
            run(bs.SYNCASSISTANT, "init", repo)  # adopt: idempotent
        else:
            git(repo, "annex", "wanted", ".", "standard")
            git(repo, "annex", "group", ".", "client")
    if kind == "assistant":
        for repo in (a, b, a):
            git(repo, "annex", "sync", "-q", timeout=1800)
    check_synced(a, b, n)
    return [a, b]


def ours_idle(repo: Path) -> bool:
    """Our daemon says it is idle (nothing to commit, push, merge, scan or transfer) and has
    logged the end of its start-up content scan."""
    from syncassistant.engine.control import ControlError, request
    try:
        st = request(repo / ".git/syncassistant", {"cmd": "status"}, timeout=10)["status"]
    except (ControlError, OSError, KeyError):
        return False
    log = (repo.parent / f"ours-{repo.name}.log").read_text(errors="replace")
    return bool(st.get("idle")) and "scan found" in log


def readded(repo: Path) -> int:
    """Lines `add FILE ok` in the assistant's log: files it ingested again (none for ours)."""
    try:
        text = (repo / ".git/annex/daemon.log").read_text(errors="replace")
    except OSError:
        return 0
    return sum(1 for line in text.splitlines() if line.startswith("add ") and line.endswith(" ok"))


def watch_startup(daemons: list, repos: list[Path], kind: str, t0: float, deadline: float) -> dict:
    """Sample every 0.5 s until the daemons' CPU has settled (the same criterion as bench_sync.py:
    < 0.04 CPU s per daemon over 2 s) and, for ours, until it also says it is idle. Returns the
    seconds after t0 of each, and the CPU seconds used when settled. The assistant has no such
    question to ask (its daemon.status keeps `scanComplete:False` here), so CPU is its only sign."""
    threshold = 0.04 * len(daemons)
    samples: list[tuple[float, float]] = []  # (time, CPU s of all daemons)
    out: dict = {"marker_s": None, "settled_s": None, "cpu_s": None}
    while time.monotonic() - t0 < deadline:
        now, cpu = time.monotonic(), sum(d.cpu() for d in daemons)
        samples.append((now, cpu))
        if kind == "ours" and out["marker_s"] is None and all(ours_idle(r) for r in repos):
            out["marker_s"] = now - t0
        if out["settled_s"] is None:
            window = [c for t, c in samples if now - t <= 2.0 + 1e-6]
            if now - samples[0][0] >= 2.0 and cpu - window[0] < threshold:
                out["settled_s"] = now - 2.0 - t0  # quiet since the start of the window
                out["cpu_s"] = {d.repo.name: d.cpu() for d in daemons}
        if out["settled_s"] is not None and (kind != "ours" or out["marker_s"] is not None):
            break
        if not all(d.alive() for d in daemons):
            raise RuntimeError(f"{kind} daemon died during start-up")
        time.sleep(0.5)
    return out


def scenario_startup(kind: str, n: int, deadline: float) -> dict:
    repos = synced_pair(kind, n)
    heads = [git(r, "rev-parse", "HEAD").strip() for r in repos]
    daemons = [bs.DAEMON[kind](r) for r in repos]
    res: dict = {"n": n}
    try:
        t0 = time.monotonic()
        for d in daemons:
            d.start()
        for d in daemons:
            d.wait_up(deadline=300)
        res["up_s"] = time.monotonic() - t0
        res.update(watch_startup(daemons, repos, kind, t0, deadline))
        if res["cpu_s"] is None:  # not settled: what it used until the deadline
            res["cpu_s"] = {d.repo.name: d.cpu() for d in daemons}
        note(f"{kind} startup on {n} files: up {res['up_s']:.1f} s, idle {res['marker_s']}, "
             f"settled {res['settled_s']}, CPU s {res['cpu_s']}")
        if kind == "ours" and (res["marker_s"] is None or res["settled_s"] is None):
            bs.anomaly(f"ours startup on {n} files: not idle/settled after {deadline:.0f} s\n"
                       + "\n".join(f"  {d.repo.name}:\n{d.log_tail(40)}" for d in daemons))
        # The assistant re-adds files at start-up; count them (its log in .git/annex/daemon.log).
        res["readded"] = {r.name: readded(r) for r in repos}
    finally:
        bs.stop_all(daemons)
    res["new_commits"] = [int(git(r, "rev-list", "--count", f"{h}..HEAD").strip()) for r, h in zip(repos, heads, strict=True)]
    done_with(repos[0].parent)
    return res


# -- report --------------------------------------------------------------------------------------
def fmt(v: float | None) -> str:
    return bs.fmt_s(v)


def small_cell(r: dict | None, key: str) -> tuple[str, float | None]:
    """Median (min–max, n) of the trials that got there; the others counted as missing."""
    if r is None:
        return "not run", None
    if "error" in r:
        return f"error: {r['error'].splitlines()[0][:60]}", None
    xs, missing = r[key], r["trials"] - len(r[key])
    miss = f"{missing} of {r['trials']} missing (not within {SMALL_DEADLINE:.0f} s)"
    if not xs:
        return miss, None
    med = statistics.median(xs)
    return (f"**{fmt(med)}** ({fmt(min(xs))}–{fmt(max(xs))}, n={len(xs)})" + (f", {miss}" if missing else ""),
            med)


def table(results: dict, m: dict, args: argparse.Namespace) -> str:
    out = [f"Bulk benchmark {m['date']}; {m['nproc']} CPUs ({m['cpu']}), {m['ram_gib']} GiB RAM, "
           f"Linux {m['kernel']}; git-annex {m['git_annex']}, git {m['git']}, Python {m['python']}. "
           f"Load average (1 min) at start {m['load_start']}, at end {bs.load_average()}.", "",
           "| measurement | syncassistant (ours) | git annex assistant | floor (by hand) "
           "| ours ÷ floor | assistant ÷ ours |", "|---|---|---|---|---|---|"]

    def val(r: dict | None, key: str) -> tuple[str, float | None]:
        if r is None:
            return "not run", None
        if "error" in r:
            return f"error: {r['error'].splitlines()[0][:60]}", None
        if r.get(key) is None:
            return f"not within {args.deadline:.0f} s", None
        return f"**{fmt(r[key])}**", r[key]

    bu = results.get("bulk", {})
    if bu:
        o, ov = val(bu.get("ours"), "all_s")
        a, av = val(bu.get("assistant"), "all_s")
        f, fv = val(bu.get("floor"), "all_s")
        size = args.files * args.file_kib / 1024
        out.append(f"| {args.files:,} files × {args.file_kib:,} KiB ({size:,.0f} MiB) moved into A, until B "
                   f"has all content (`git annex find --in=here`) | {o} | {a} | {f} | {bs.ratio(ov, fv)} "
                   f"| {bs.ratio(av, ov)} |")
        cells = []
        for s in ("ours", "assistant"):
            r = bu.get(s) or {}
            cells.append("—" if "annex" not in r else f"**{fmt(r['readable_s'])}**" if r["readable_s"]
                         else f"{r['readable']} of {r['n']} readable 120 s after B had all content")
        out.append(f"| … until all are readable, full size, in B's tree | {cells[0]} | {cells[1]} | — | — | — |")
        thr = [f"{size / v:.1f} MiB/s" if v else "—" for v in (ov, av, fv)]
        out.append(f"| throughput | {thr[0]} | {thr[1]} | {thr[2]} | — | — |")
        cells = []
        for s in ("ours", "assistant"):
            r = bu.get(s) or {}
            cells.append(f"{fmt(r.get('first_s'))} / {r.get('cpu_s', 0):.0f} CPU s / {r.get('A_knows_B_has', '?')}"
                         if "all_s" in r else "—")
        fl = bu.get("floor") or {}
        out.append(f"| first file's content in B / daemons' CPU s / files A knew B had at the end | {cells[0]} "
                   f"| {cells[1]} | add+commit before it: {fmt(fl.get('add_commit_s'))} | — | — |")
    sm = results.get("small", {})
    if sm:
        for key, label in (("readable", "readable with the right bytes in B's tree: median (min–max)"),
                           ("listed", "… until listed in B's tree (`lexists`: a pointer file counts)")):
            o, ov = small_cell(sm.get("ours"), key)
            a, av = small_cell(sm.get("assistant"), key)
            if key == "readable":
                label = f"new 64-byte file (random bytes) renamed into A, until {label}"
            partial = any(len(r.get(key, ())) < r.get("trials", 0) for r in sm.values())
            out.append(f"| {label} | {o} | {a} | — | — | {bs.ratio(av, ov)}"
                       f"{' (medians of the trials that got there)' if partial and av and ov else ''} |")
    su = results.get("startup", {})
    if su:
        for key, label in (("settled_s", "until CPU settled (< 0.04 CPU s per daemon in 2 s)"),
                           ("marker_s", "until idle (ours: status `idle` and start-up scan logged)")):
            o, ov = val(su.get("ours"), key)
            a, av = val(su.get("assistant"), key) if key == "settled_s" else ("—", None)
            out.append(f"| start-up, {args.startup_files:,}-file clones in sync, two daemons: {label} "
                       f"| {o} | {a} | — | — | {bs.ratio(av, ov)} |")
        cells, tot = [], []
        for s in ("ours", "assistant"):
            c = (su.get(s) or {}).get("cpu_s")
            cells.append(" / ".join(f"{v:.1f}" for v in c.values()) + " (A / B)" if c else "—")
            tot.append(sum(c.values()) if c else None)
        out.append(f"| start-up: CPU seconds per daemon until settled | {cells[0]} | {cells[1]} | — | — "
                   f"| {bs.ratio(tot[1], tot[0])} |")
        cells = []
        for s in ("ours", "assistant"):
            r = (su.get(s) or {}).get("readded")
            cells.append(" / ".join(str(v) for v in r.values()) + " (A / B)" if r else "—")
        out.append(f"| start-up: files ingested again (`add … ok` in .git/annex/daemon.log) | {cells[0]} "
                   f"| {cells[1]} | — | — | — |")
    for s in ("ours", "assistant"):
        missed = (sm.get(s) or {}).get("missed") if sm else None
        if missed:
            out += ["", f"{s}, 64-byte files not readable in B within {SMALL_DEADLINE:.0f} s: " + "; ".join(
                f"trial {x['trial']}: listed in B "
                + (f"after {fmt(x['listed_s'])}" if x["listed_s"] is not None else "never")
                + f", at the deadline {x['tree']} in B's tree, "
                + (x["error"] if "error" in x else "not committed in B" if not x["committed_in_B"]
                   else f"committed in B, content in B's annex: {'yes' if x['content_in_B_annex'] else 'no'}")
                + f", at the end of the run {x.get('at_end', '?')}" for x in missed) + "."]
    if bs.ANOMALIES:
        out += ["", f"Anomalies seen in this run: {len(bs.ANOMALIES)} (details on stderr)."]
    return "\n".join(out)


# -- main ----------------------------------------------------------------------------------------
SCENARIOS = ("bulk", "small", "startup")


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--only", default=",".join(SCENARIOS), help="comma-separated subset of " + ", ".join(SCENARIOS))
    p.add_argument("--systems", default="ours,assistant", help="ours, assistant, or both (default)")
    p.add_argument("--files", type=int, default=1000, help="bulk: number of files (default 1000)")
    p.add_argument("--file-kib", type=int, default=1024, help="bulk: KiB per file (default 1024)")
    p.add_argument("--no-floor", action="store_true", help="bulk: skip the by-hand floor")
    p.add_argument("--small-trials", type=int, default=10, help="small: trials per system (default 10)")
    p.add_argument("--startup-files", type=int, default=100_000, help="startup: files in the repository")
    p.add_argument("--deadline", type=float, default=2400.0, help="per system and scenario, seconds")
    p.add_argument("--workdir", help="parent of the temp dir (default: $TMPDIR)")
    p.add_argument("--keep", action="store_true", help="keep the work dir (daemon logs)")
    p.add_argument("--json", help="also write all results to this file")
    args = p.parse_args()
    global KEEP
    KEEP = args.keep
    only = [s.strip() for s in args.only.split(",") if s.strip()]
    systems = [s.strip() for s in args.systems.split(",") if s.strip()]

    def on_term(*_: object) -> None:
        raise KeyboardInterrupt

    for sig in (signal.SIGTERM, signal.SIGHUP, signal.SIGINT):
        signal.signal(sig, on_term)
    bs.W = Path(tempfile.mkdtemp(prefix="bulkbench-", dir=args.workdir))
    bs.ENV = bs.make_env(bs.W)
    os.environ.update({k: v for k, v in bs.ENV.items() if k.startswith(("GIT_CONFIG", "PATH"))})
    note(f"work dir {bs.W}")
    m = bs.machine()
    results: dict = {s: {} for s in only}

    def attempt(scenario: str, system: str, fn, *a) -> None:
        note(f"--- {scenario}: {system} (load average {bs.load_average()})")
        try:
            results[scenario][system] = fn(*a)
        except KeyboardInterrupt:
            raise
        except Exception as e:
            note(f"{scenario} {system} FAILED: {str(e)[:1500]}")
            results[scenario][system] = {"error": str(e)[:5000]}

    interrupted = False
    try:
        if "bulk" in only:
            for s in systems:
                attempt("bulk", s, scenario_bulk, s, args.files, args.file_kib, args.deadline)
            if not args.no_floor:
                attempt("bulk", "floor", scenario_bulk_floor, args.files, args.file_kib)
        if "small" in only:
            for s in systems:
                attempt("small", s, scenario_small, s, args.small_trials)
        if "startup" in only:
            for s in systems:
                attempt("startup", s, scenario_startup, s, args.startup_files, args.deadline)
    except KeyboardInterrupt:
        interrupted = True
        note("interrupted: stopping every daemon")
    finally:
        bs.stop_all(list(bs.LIVE))
        if args.keep:
            note(f"kept {bs.W}")
        else:
            bs.remove_tree(bs.W)
    m["load_end"] = bs.load_average()
    if args.json:
        Path(args.json).write_text(json.dumps({"machine": m, "args": vars(args), "results": results,
                                               "anomalies": bs.ANOMALIES}, indent=2, default=str))
    if bs.ANOMALIES:
        print("\nANOMALIES:", file=sys.stderr)
        for a in bs.ANOMALIES:
            print(" - " + a, file=sys.stderr)
    print(table(results, m, args))
    return 130 if interrupted else 0


if __name__ == "__main__":
    sys.exit(main())
