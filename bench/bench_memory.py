#!/usr/bin/env python3
"""Benchmark (issue 17, memory): an idle daemon's resident memory, and the first file after idle.

Two clones A <-> B (local paths), a daemon on each, `syncassistant daemon --foreground` as a user
starts it. One file is synced to start the warm git-annex processes, then each trial:

  1. waits `--idle` seconds (default 75: past the 60 s after which warm processes close),
  2. measures each daemon's tree (the daemon and every process under it): VmRSS summed, the
     number of processes, and CPU ticks over 10 s,
  3. writes a new 64-byte file in A and times it until it is in B's tree and until its content
     is readable there (the first file after the quiet, the one a closed warm process slows).

`--code NAME=DIR` (repeatable) runs the same trials on other trees of the code, side by side in
one run, rounds interleaved so that the machine's load falls on all alike; e.g. the code before
a change: `mkdir /tmp/old && git archive HEAD~1 syncassistant | tar -x -C /tmp/old`. Each tree
is put first on PYTHONPATH; without --code, this checkout runs alone, as "this".
`NAME=DIR@SECONDS` also sets `syncassistant.warmIdle` in that pair's clones: `--idle 10 --code
cold=.@5 --code warm=.@600` times the first file with the warm processes closed against the
same code with them kept. Progress goes to stderr, a markdown table to stdout.

Run:  .venv/bin/python bench/bench_memory.py [--trials 3] [--idle 75] [--code before=/tmp/old]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VENV_BIN = Path(sys.executable).parent
TICK = os.sysconf("SC_CLK_TCK")


def note(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


# (the process-tree readings of bench_devices.py: its ticks count reaped children too, which
# matters here, where warm git-annex processes close while the daemon is idle)
from bench_devices import rss_mib, ticks  # noqa: E402
from bench_devices import tree_pids as tree  # noqa: E402


class Pair:
    """Clones A <-> B with a daemon each, run from one tree of the code."""

    def __init__(self, name: str, code: Path, work: Path, env: dict[str, str], warm_idle: str = "") -> None:
        self.name = name
        self.env = {**env, "PYTHONPATH": str(code)}
        base = work / name
        base.mkdir()
        self.a, self.b = base / "A", base / "B"
        self.run("init", str(self.a), "--name", "A")
        subprocess.run(["git", "clone", "-q", str(self.a), str(self.b)], env=self.env, check=True)
        self.git(self.b, "remote", "remove", "origin")
        self.run("init", str(self.b), "--name", "B")
        self.git(self.a, "remote", "add", "b", str(self.b))
        self.git(self.b, "remote", "add", "a", str(self.a))
        if warm_idle:
            for repo in (self.a, self.b):
                self.git(repo, "config", "syncassistant.warmIdle", warm_idle)
        self.procs: list[subprocess.Popen] = []
        self.n = 0

    def run(self, *args: str) -> None:
        # cwd away from the checkout: "" first on sys.path would import this tree's code instead
        subprocess.run([sys.executable, "-m", "syncassistant.cli", *args], env=self.env, check=True,
                       capture_output=True, cwd="/")

    def git(self, repo: Path, *args: str) -> None:
        subprocess.run(["git", *args], cwd=repo, env=self.env, check=True, capture_output=True)

    def start(self) -> None:
        for repo in (self.a, self.b):
            with open(repo.parent / f"{repo.name}.log", "ab") as log:
                self.procs.append(subprocess.Popen(
                    [sys.executable, "-m", "syncassistant.cli", "daemon", "--foreground", str(repo)], cwd="/",
                    env=self.env, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                    start_new_session=True))
        for repo in (self.a, self.b):
            end = time.monotonic() + 120
            while not (repo / ".git/syncassistant/control.sock").exists():
                if time.monotonic() > end:
                    raise RuntimeError(f"{self.name}: the daemon on {repo.name} not up in 120 s")
                time.sleep(0.05)

    def new_file(self, deadline: float = 120) -> tuple[float, float]:
        """A new 64-byte file in A: seconds until it is in B's tree, and until its content is."""
        self.n += 1
        name = f"f{self.n:03d}.txt"
        data = os.urandom(32).hex().encode()
        stage = self.a.parent / name
        stage.write_bytes(data)
        t0 = time.monotonic()
        os.rename(stage, self.a / name)  # appears in A at once
        target = self.b / name
        in_tree = None
        while time.monotonic() - t0 < deadline:
            if in_tree is None and os.path.lexists(target):
                in_tree = time.monotonic() - t0
            if in_tree is not None:
                try:
                    if target.read_bytes() == data:
                        return in_tree, time.monotonic() - t0
                except OSError:
                    pass
            time.sleep(0.005)
        raise RuntimeError(f"{self.name}: {name} not readable in B within {deadline:.0f} s")

    def idle_sample(self, seconds: float = 10.0) -> list[dict]:
        """Per daemon: its tree's VmRSS (MiB), processes, and CPU ticks over `seconds`."""
        before = [ticks(tree(p.pid)) for p in self.procs]
        time.sleep(seconds)  # measuring, not waiting for something
        out = []
        for p, t0 in zip(self.procs, before, strict=True):
            pids = tree(p.pid)
            out.append({"rss": rss_mib(pids), "procs": len(pids), "ticks": ticks(pids) - t0})
        return out

    def stop(self) -> None:
        for p in self.procs:
            p.terminate()
        for p in self.procs:
            try:
                p.wait(60)
            except subprocess.TimeoutExpired:
                p.kill()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--trials", type=int, default=3)
    ap.add_argument("--idle", type=float, default=75.0, help="seconds of quiet before each trial")
    ap.add_argument("--code", action="append", default=[], metavar="NAME=DIR",
                    help="another tree of the code to run side by side (repeatable)")
    ap.add_argument("--keep", action="store_true")
    opts = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="bench-memory-"))
    home = work / "home"
    home.mkdir()
    cfg = work / "gitconfig"
    cfg.write_text("[user]\n\tname = bench\n\temail = bench@example.invalid\n"
                   "[init]\n\tdefaultBranch = master\n[protocol \"file\"]\n\tallow = always\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
    env.update(GIT_CONFIG_GLOBAL=str(cfg), GIT_CONFIG_NOSYSTEM="1", HOME=str(home),
               PATH=str(VENV_BIN) + os.pathsep + os.environ.get("PATH", "/usr/bin:/bin"))
    env.pop("DBUS_SESSION_BUS_ADDRESS", None)
    codes = []
    for c in opts.code:
        name, _, spec = c.partition("=")
        where, _, warm_idle = spec.partition("@")
        codes.append((name, Path(where).resolve(), warm_idle))
    if not codes:
        codes.append(("this", ROOT, ""))
    load0 = os.getloadavg()
    note(f"work dir {work}; load {load0[0]:.1f}")
    pairs = [Pair(n, d, work, env, w) for n, d, w in codes]
    results: dict[str, dict[str, list[float]]] = {
        p.name: {"rss": [], "procs": [], "ticks": [], "tree": [], "content": [], "warm_tree": [], "warm_content": []}
        for p in pairs}
    try:
        for p in pairs:
            p.start()
        for p in pairs:  # a first file starts the warm processes; a second one finds them warm
            p.new_file()
            time.sleep(2)
            t, c = p.new_file()
            results[p.name]["warm_tree"].append(t)
            results[p.name]["warm_content"].append(c)
        for trial in range(opts.trials):
            time.sleep(opts.idle)  # all pairs idle together
            for p in pairs:
                for d in p.idle_sample():
                    for k in ("rss", "procs", "ticks"):
                        results[p.name][k].append(d[k])
                t, c = p.new_file()
                results[p.name]["tree"].append(t)
                results[p.name]["content"].append(c)
                note(f"trial {trial} {p.name}: idle trees {results[p.name]['rss'][-2]:.1f} / "
                     f"{results[p.name]['rss'][-1]:.1f} MiB; first file after {opts.idle:.0f} s idle: "
                     f"in B's tree {t:.2f} s, readable {c:.2f} s")
                time.sleep(2)  # let this pair's burst end before the next pair's sample
    finally:
        for p in pairs:
            p.stop()
    load1 = os.getloadavg()
    print(f"\n{time.strftime('%Y-%m-%d %H:%M %Z')}, two clones A <-> B, {opts.trials} trials after "
          f"{opts.idle:.0f} s idle each, load average (1 min) {load0[0]:.1f} at start, {load1[0]:.1f} at end\n")
    print("| code | idle daemon tree: median (max) | processes | idle CPU ticks / 10 s, median "
          "| first file after idle: in B's tree, readable (median) | a file while warm: in tree, readable |")
    print("|---|---|---|---|---|---|")
    med = statistics.median
    for name, r in results.items():
        print(f"| {name} | {med(r['rss']):.1f} MiB ({max(r['rss']):.1f} MiB) | {med(r['procs']):.0f} "
              f"| {med(r['ticks']):.0f} | {med(r['tree']):.2f} s, {med(r['content']):.2f} s "
              f"| {med(r['warm_tree']):.2f} s, {med(r['warm_content']):.2f} s |")
    if not opts.keep:
        subprocess.run(["chmod", "-R", "u+w", str(work)], capture_output=True)
        subprocess.run(["rm", "-rf", str(work)])
    return 0


if __name__ == "__main__":
    sys.exit(main())
