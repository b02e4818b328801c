#!/usr/bin/env python3
"""Start-up benchmark (issue 17): a daemon started on a big folder that is already in sync.

Two clones A and B of an N-file repository (64-byte unlocked files, 1,000 per folder), each the
other's remote by path, made by `syncassistant init`, content and location tracking in both and
branches exchanged: the state every log-in finds. `syncassistant daemon --foreground A` is started
as a subprocess (B runs nothing: it stands for a drive or a switched-off laptop) and timed:

  nothing   nothing changed while it was off: time until `status` says idle (and the start-up
            content scan is logged), until its CPU use has settled (the last 0.25 s sample using
            more than 0.01 CPU s before 4 s without one), and the CPU seconds of its process tree
            (counted to the end of those 4 s)
  changed   one file edited, one added and one deleted in A while the daemon was off: time until
            B has all three (B's `synced/master` holds the edit and the new file and not the deleted
            one, and B's annex holds the content of both), then until idle and settled as above

CPU: utime+stime+cutime+cstime from /proc of the daemon and its live descendants (reaped children
are in cutime/cstime). Medians over --runs runs. With several `--code LABEL=PATH` the runs
alternate between them (each PATH a source tree, run with PYTHONPATH=PATH), so old and new code
meet the same machine load; make the old one with `git archive HEAD | tar -x -C /tmp/old`.

The pair is built once per N and kept in --cache (default /tmp/syncassistant-bench-startup/nN);
runs use it in place: a copy gets new inodes, and git and git-annex would then clean every file
again (that is the cost of a copy, not of a start-up). After each run B is brought level with A
(`git annex sync` in B, then in A) so that every run starts from a pair in sync.

Run:  .venv/bin/python bench/bench_startup.py --files 20000 --runs 3 \
          --code old=/tmp/old --code new=.
      .venv/bin/python bench/bench_startup.py --files 20000 --assistant   # also git annex assistant
Progress goes to stderr, the markdown table to stdout.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import signal
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import bench_bulk as bb  # noqa: E402  (the fast fixture: files, objects and commit written directly)
import bench_sync as bs  # noqa: E402  (/proc CPU of process trees, machine description)

note = bs.note
PYTHON = sys.executable
QUIET, SETTLE_STEP = 4.0, 0.01
# The assistant sits still for its first minute (measured: 0.05 CPU s in 60 s), then scans: it is
# settled after 10 s with under 0.1 CPU s, counted only after that first minute and a bit.
ASSISTANT_DELAY, ASSISTANT_QUIET = 65.0, 10.0  # ours: settled after 4 s in which no 0.25 s sample used > 0.01 CPU s
POLL = 0.2


# -- the pair, built once -------------------------------------------------------------------------
def make_env(cache: Path) -> dict[str, str]:
    """An isolated git config and HOME inside the cache dir (the same for every run)."""
    home = cache / "home"
    home.mkdir(parents=True, exist_ok=True)
    cfg = cache / "gitconfig"
    if not cfg.exists():
        cfg.write_text("[user]\n\tname = bench\n\temail = bench@example.invalid\n"
                       "[init]\n\tdefaultBranch = master\n[advice]\n\tdetachedHead = false\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GIT_", "PYTHONPATH"))}
    env.update(GIT_CONFIG_GLOBAL=str(cfg), GIT_CONFIG_NOSYSTEM="1", HOME=str(home),
               XDG_CONFIG_HOME=str(home / ".config"), XDG_DATA_HOME=str(home / ".local/share"),
               XDG_CACHE_HOME=str(home / ".cache"), LC_ALL="C.UTF-8",
               PATH=f"{bs.VENV_BIN}{os.pathsep}{os.environ.get('PATH', '/usr/bin:/bin')}")
    return env


def ensure_pair(cache: Path, n: int) -> tuple[Path, Path]:
    """The pair for n files: built now if the cache has none (bench_bulk's fast fixture: files,
    annex objects, one fast-import commit and the location logs written directly, the index
    refreshed through git-annex's clean filter, which records its inode caches), then adopted by
    `syncassistant init` as a user would."""
    a, b = cache / "A", cache / "B"
    ready = cache / "ready.json"
    if ready.exists():
        return a, b
    if cache.exists() and any(cache.glob("[AB]")):
        note(f"{cache}: an unfinished build; removing it")
        for d in (a, b):
            bs.remove_tree(d)
    t = time.monotonic()
    bb.build_synced_pair(cache, n)
    for repo in (a, b):
        bs.run(bs.SYNCASSISTANT, "init", repo)  # adopt the clone: idempotent
    for repo in (b, a):
        bs.git(repo, "annex", "sync", "-q", "--no-content", timeout=3600)
    bb.check_synced(a, b, n)
    ready.write_text(json.dumps({"files": n, "built_s": round(time.monotonic() - t)}))
    note(f"pair of {n}-file clones built in {time.monotonic() - t:.0f} s")
    return a, b


def level(a: Path, b: Path) -> None:
    """Bring B level with what A's daemon pushed (B runs no daemon) and A with B, as after a sync."""
    for repo in (b, a):
        bs.git(repo, "annex", "sync", "-q", "--no-content", timeout=3600)
    for repo in (a, b):
        if bs.git(repo, "status", "--porcelain", "--untracked-files=all", timeout=3600).strip():
            raise RuntimeError(f"{repo}: not clean after a run")


# -- one daemon run ---------------------------------------------------------------------------------
def status(repo: Path) -> dict | None:
    """The daemon's `status` over its control socket (what `syncassistant status --json` prints),
    asked from this process: a CLI process per poll would cost the machine more than it measures."""
    from syncassistant.engine.control import ControlError, request
    try:
        return request(repo / ".git/syncassistant", {"cmd": "status"}, timeout=10)["status"]
    except (ControlError, OSError, KeyError, ValueError):
        return None


class Run:
    """`syncassistant daemon --foreground -v A` from one source tree, in its own session."""

    def __init__(self, code: Path, repo: Path, env: dict[str, str], logpath: Path):
        self.repo, self.logpath = repo, logpath
        env = dict(env, PYTHONPATH=str(code))
        with open(logpath, "wb") as log:
            self.proc = subprocess.Popen([PYTHON, "-m", "syncassistant.cli", "-v", "daemon", "--foreground",
                                          str(repo)], cwd=repo, env=env, stdin=subprocess.DEVNULL,
                                         stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        self.t0 = time.monotonic()

    def cpu(self) -> float:
        return bs.tree_cpu(self.proc.pid) if self.proc.poll() is None else 0.0

    def alive(self) -> bool:
        return self.proc.poll() is None

    def log(self) -> str:
        try:
            return self.logpath.read_text(errors="replace")
        except OSError:
            return ""

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(60)
            except subprocess.TimeoutExpired:
                note(f"daemon on {self.repo} still running 60 s after SIGTERM: killed")
        for sig in (signal.SIGTERM, signal.SIGKILL):  # anything left in its session
            try:
                os.killpg(self.proc.pid, sig)
            except ProcessLookupError:
                break
            time.sleep(0.5)
        self.proc.wait(10)


def wait_idle(run: Run, deadline: float, delivered=None) -> dict:
    """Poll until the daemon says idle, has logged a content scan, and (if given) `delivered()`
    is true; then until its CPU settles. Seconds after the start; CPU s of its tree by then."""
    out: dict = {"idle_s": None, "delivered_s": None, "settled_s": None, "cpu_s": None}
    while time.monotonic() - run.t0 < deadline:
        if not run.alive():
            raise RuntimeError(f"daemon exited ({run.proc.returncode}):\n{run.log()[-3000:]}")
        now = time.monotonic() - run.t0
        if delivered is not None and out["delivered_s"] is None and delivered():
            out["delivered_s"] = now
        if out["idle_s"] is None:
            st = status(run.repo)
            if st is not None and st.get("idle") and "scan found" in run.log():
                out["idle_s"] = time.monotonic() - run.t0
        if out["idle_s"] is not None and (delivered is None or out["delivered_s"] is not None):
            break
        time.sleep(POLL)
    # Settled: the last moment its tree used CPU (more than SETTLE_STEP in a 0.25 s sample)
    # before QUIET seconds without any, so work that comes after `idle` (the network map is
    # published 2 s after start, a push follows) counts. No status polls from here on: each
    # costs the daemon a git process.
    last_busy, prev = time.monotonic(), run.cpu()
    while time.monotonic() - run.t0 < deadline and time.monotonic() - last_busy < QUIET:
        time.sleep(0.25)
        cpu = run.cpu()
        if cpu - prev > SETTLE_STEP:
            last_busy = time.monotonic()
        prev = cpu
    out["settled_s"] = max(last_busy - run.t0, out["idle_s"] or 0.0)
    out["cpu_s"] = run.cpu()
    return out


def annex_key(data: bytes, ext: str = ".txt") -> str:
    return f"SHA256E-s{len(data)}--{hashlib.sha256(data).hexdigest()}{ext}"


def pointer_blob(b: Path, key: str) -> str:
    """The blob id of the pointer file git stores for an unlocked file of `key`."""
    return subprocess.run(["git", "hash-object", "--stdin", "--no-filters"], cwd=b, env=bs.ENV,
                          input=bb.pointer(key), capture_output=True, check=True).stdout.decode().strip()


def make_changes(a: Path, b: Path, tag: str) -> dict:
    """Edit one file, add one and delete one in A (no daemon running); return what B must get."""
    files = sorted((a / "data").glob("d0*/f*.txt"))
    edited, deleted = files[len(files) // 3], files[2 * len(files) // 3]
    new = a / "data" / f"new-{tag}.txt"
    edit_data = os.urandom(32).hex().encode()
    new_data = os.urandom(32).hex().encode()
    os.chmod(edited, 0o644)
    edited.write_bytes(edit_data)
    new.write_bytes(new_data)
    deleted.unlink()
    keys = {"edited": annex_key(edit_data), "added": annex_key(new_data)}
    objs = bb.object_paths(b, list(keys.values()))
    rel = {k: str(p.relative_to(a)) for k, p in (("edited", edited), ("added", new), ("deleted", deleted))}
    return {"paths": rel, "blobs": {k: pointer_blob(b, key) for k, key in keys.items()},
            "objects": [b / o for o in objs]}


def b_has(b: Path, want: dict) -> bool:
    """B's synced/master holds the edit and the new file, not the deleted one, and B's annex holds
    both contents (cheap checks first: the object files)."""
    if not all(o.exists() for o in want["objects"]):
        return False
    r = subprocess.run(["git", "ls-tree", "-z", "refs/heads/synced/master", "--",
                        *want["paths"].values()], cwd=b, env=bs.ENV, capture_output=True, timeout=60)
    got = {}
    for entry in r.stdout.decode(errors="replace").split("\0"):
        meta, _, path = entry.partition("\t")
        if path:
            got[path] = meta.split()[2]
    p = want["paths"]
    return (got.get(p["edited"]) == want["blobs"]["edited"] and got.get(p["added"]) == want["blobs"]["added"]
            and p["deleted"] not in got)


def one_run(label: str, code: Path, a: Path, b: Path, scenario: str, tag: str, logdir: Path,
            deadline: float) -> dict:
    want = make_changes(a, b, tag) if scenario == "changed" else None
    run = Run(code, a, bs.ENV, logdir / f"{tag}-{label}-{scenario}.log")
    try:
        res = wait_idle(run, deadline, (lambda: b_has(b, want)) if want else None)
    finally:
        run.stop()
    # what the start-up scan was (the code before issue 17 logged neither: it always scanned all)
    res["full_scans"] = run.log().count("full content scan")
    res["catch_ups"] = run.log().count("catch-up scan")
    level(a, b)
    note(f"{label} {scenario}: {json.dumps(res)}")
    return res


# -- git annex assistant on the same clone ------------------------------------------------------------
def assistant_run(a: Path, deadline: float) -> dict:
    """`git annex assistant --foreground` in A until its CPU settles (it has no idle question to
    ask: its daemon.status says scanComplete:False on such clones), and the files it re-added.
    It sits still for its first minute, so it is not taken as settled before ASSISTANT_DELAY."""
    proc = subprocess.Popen([bs.GIT_ANNEX, "assistant", "--foreground"], cwd=a, env=bs.ENV,
                            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)
    t0 = time.monotonic()
    out: dict = {"settled_s": None, "cpu_s": None}
    samples: list[tuple[float, float]] = []
    try:
        while time.monotonic() - t0 < deadline:
            now, cpu = time.monotonic(), bs.tree_cpu(proc.pid)
            samples.append((now, cpu))
            window = [c for t, c in samples if now - t <= ASSISTANT_QUIET + 1e-6]
            if now - t0 > ASSISTANT_DELAY and now - samples[0][0] >= ASSISTANT_QUIET and cpu - window[0] < 0.1:
                out["settled_s"], out["cpu_s"] = now - ASSISTANT_QUIET - t0, cpu
                break
            time.sleep(0.5)
        if out["cpu_s"] is None:
            out["cpu_s"] = bs.tree_cpu(proc.pid)
    finally:
        subprocess.run([bs.GIT_ANNEX, "assistant", "--stop"], cwd=a, env=bs.ENV, capture_output=True, timeout=120)
        try:
            proc.wait(60)
        except subprocess.TimeoutExpired:
            pass
        for sig in (signal.SIGTERM, signal.SIGKILL):
            try:
                os.killpg(proc.pid, sig)
            except ProcessLookupError:
                break
            time.sleep(0.5)
    out["readded"] = bb.readded(a)
    note(f"assistant: {json.dumps(out)}")
    return out


# -- report ----------------------------------------------------------------------------------------------
def med(xs: list[float | None]) -> str:
    got = [x for x in xs if x is not None]
    if not got:
        return "—"
    s = f"{statistics.median(got):.1f}"
    s += f" ({min(got):.1f}–{max(got):.1f}, n={len(got)})" if len(got) > 1 else " (n=1)"
    if len(got) < len(xs):
        s += f", {len(xs) - len(got)} of {len(xs)} not within the deadline"
    return s


def table(results: dict, args: argparse.Namespace, m: dict) -> str:
    labels = list(results)
    out = [f"Start-up benchmark {m['date']}, {args.files:,} files, medians (min–max, n runs); {m['nproc']} CPUs, "
           f"load average {m['load_start']} at the start, {bs.load_average()} at the end; git-annex {m['git_annex']}, git {m['git']}.", "",
           "| measurement | " + " | ".join(labels) + " |", "|---|" + "---|" * len(labels)]
    rows = [("nothing", "idle_s", "nothing changed: s until `status` idle"),
            ("nothing", "settled_s", "nothing changed: s until CPU settled"),
            ("nothing", "cpu_s", "nothing changed: CPU s of the daemon's tree until settled"),
            ("changed", "delivered_s", "1 edit + 1 add + 1 delete while off: s until B has all three"),
            ("changed", "idle_s", "… s until `status` idle"),
            ("changed", "settled_s", "… s until CPU settled"),
            ("changed", "cpu_s", "… CPU s of the daemon's tree until settled")]
    for scen, key, text in rows:
        cells = [med([r.get(key) for r in results[lab].get(scen, [])]) for lab in labels]
        if any(c != "—" for c in cells):
            out.append(f"| {text} | " + " | ".join(cells) + " |")
    scans = [", ".join(f"{r['full_scans']}/{r['catch_ups']}" if "full_scans" in r else "—"
                       for s in ("nothing", "changed") for r in results[lab].get(s, [])) for lab in labels]
    if any("readded" in r for lab in labels for r in results[lab].get("nothing", [])):
        out.append("| files the assistant ingested again at start (`add … ok` in its daemon.log) | "
                   + " | ".join(", ".join(str(r["readded"]) for r in results[lab].get("nothing", []) if "readded" in r)
                                or "—" for lab in labels) + " |")
    out.append("| content scans logged per run: full / catch-up (code before issue 17: logs neither, "
               "scans the whole tree at every start) | " + " | ".join(scans) + " |")
    return "\n".join(out)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--files", type=int, default=100_000)
    p.add_argument("--runs", type=int, default=3)
    p.add_argument("--code", action="append", default=[],
                   help="LABEL=PATH of a source tree to run (repeat to compare; default new=this tree)")
    p.add_argument("--scenarios", default="nothing,changed")
    p.add_argument("--warmup", action="append", default=[], metavar="LABEL",
                   help="one start of this code before the runs, reported apart (a first start after "
                        "an upgrade has no recorded scan: it scans everything)")
    p.add_argument("--limit-runs", action="append", default=[], metavar="LABEL=N",
                   help="at most N runs of this code (the old code on 100,000 files takes minutes a run)")
    p.add_argument("--assistant", action="store_true", help="also time `git annex assistant` on A, once")
    p.add_argument("--cache", help="where the pair is kept (default /tmp/syncassistant-bench-startup/nN)")
    p.add_argument("--deadline", type=float, default=900.0, help="per run, seconds")
    p.add_argument("--json", help="also write every run's numbers here")
    args = p.parse_args()
    codes = dict(c.split("=", 1) for c in args.code) or {"new": str(HERE.parent)}
    codes = {k: Path(v).resolve() for k, v in codes.items()}
    scenarios = [s for s in args.scenarios.split(",") if s]
    cache = Path(args.cache or f"/tmp/syncassistant-bench-startup/n{args.files}")
    cache.mkdir(parents=True, exist_ok=True)
    bs.ENV = make_env(cache)
    os.environ.update({k: v for k, v in bs.ENV.items() if k.startswith(("GIT_CONFIG", "PATH"))})
    m = bs.machine()
    a, b = ensure_pair(cache, args.files)
    level(a, b)
    logdir = cache / "logs"
    logdir.mkdir(exist_ok=True)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    results: dict = {lab: {} for lab in codes}
    limits = {k: int(v) for k, v in (x.split("=", 1) for x in args.limit_runs)}
    for lab in args.warmup:
        note(f"warm-up start of {lab} (load {bs.load_average()})")
        results.setdefault(f"{lab}, first start", {})["nothing"] = [
            one_run(lab, codes[lab], a, b, "nothing", f"{stamp}-warmup", logdir, args.deadline)]
    for i in range(args.runs):
        for lab, code in codes.items():
            if i >= limits.get(lab, args.runs):
                continue
            for scen in scenarios:
                note(f"run {i + 1}/{args.runs}: {lab} {scen} (load {bs.load_average()})")
                results[lab].setdefault(scen, []).append(
                    one_run(lab, code, a, b, scen, f"{stamp}-{i}", logdir, args.deadline))
    if args.assistant:
        note(f"git annex assistant on A (load {bs.load_average()})")
        results["git annex assistant"] = {"nothing": [assistant_run(a, args.deadline)]}
        level(a, b)
    if args.json:
        Path(args.json).write_text(json.dumps({"machine": m, "args": vars(args), "results": results},
                                              indent=2, default=str))
    print(table(results, args, m))
    return 0


if __name__ == "__main__":
    sys.exit(main())
