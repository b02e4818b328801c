#!/usr/bin/env python3
"""Benchmark (issue 17, many devices): N clones on local paths, one daemon each.

Topologies (every link is a git remote both ways):
  chain  c00 - c01 - ... - c19: a change crosses 19 hops
  star   c00 is every other clone's only remote (a server)
  mesh   every clone is a remote of every other one

Each trial writes a new 64-byte file in one clone (chain: an end, star: a client, mesh: c00) and
measures when it appears in each other clone's work tree (polled every 10 ms), then waits until
every daemon says it is idle. Per topology: median and worst time for the file to be in all
clones, pushes per change (the daemons' push counters, summed over all clones, per trial), how
long until every daemon is idle again after the file was written, and at
the end CPU ticks of all daemons and their children over 10 s of idle, and their memory (the sum
of RSS over each daemon's process tree; median and max per daemon).

Run:  .venv/bin/python bench/bench_devices.py [--clones 20] [--trials 5] [--only chain,star,mesh]
Progress goes to stderr, the markdown table to stdout.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VENV_BIN = Path(sys.executable).parent
SYNCASSISTANT = str(VENV_BIN / "syncassistant")
TICK = os.sysconf("SC_CLK_TCK")


def note(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def git(repo: Path, *args: str, env: dict[str, str]) -> str:
    r = subprocess.run(["git", *args], cwd=repo, env=env, capture_output=True, text=True, timeout=300)
    if r.returncode:
        raise RuntimeError(f"git {' '.join(args[:3])} in {repo}: {r.stderr.strip()[-300:]}")
    return r.stdout


def links(topology: str, n: int) -> list[tuple[int, int]]:
    if topology == "chain":
        return [(i, i + 1) for i in range(n - 1)]
    if topology == "star":
        return [(0, i) for i in range(1, n)]
    return [(i, j) for i in range(n) for j in range(i + 1, n)]


def status(clone: Path) -> dict:
    """The daemon's status, asked on its control socket (a CLI call costs a Python start)."""
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.settimeout(20)
    try:  # (a daemon still starting has no state folder yet)
        fd = os.open(clone / ".git" / "syncassistant", os.O_RDONLY | os.O_DIRECTORY)
    except OSError:
        sock.close()
        return {}
    try:
        sock.connect(f"/proc/self/fd/{fd}/control.sock")
        sock.sendall(b'{"cmd": "status"}\n')
        data = b""
        while not data.endswith(b"\n"):
            chunk = sock.recv(65536)
            if not chunk:
                break
            data += chunk
        return json.loads(data)["status"]
    except (OSError, ValueError, KeyError):
        return {}
    finally:
        os.close(fd)
        sock.close()


def tree_pids(root: int) -> list[int]:
    """`root` and its descendants (by /proc/*/stat parent ids)."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as f:
                    ppid = int(f.read().rsplit(")", 1)[1].split()[1])
            except (OSError, ValueError, IndexError):
                continue
            children.setdefault(ppid, []).append(int(entry))
    out, todo = [], [root]
    while todo:
        pid = todo.pop()
        out.append(pid)
        todo += children.get(pid, [])
    return out


def ticks(pids: list[int]) -> int:
    total = 0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            # utime + stime + the reaped children's: a warm git-annex process closed while idle
            # moves its time to the daemon's cutime rather than out of the sum (the 20-clone chain
            # read -10 and -7 ticks without them)
            total += sum(int(x) for x in fields[11:15])
        except (OSError, ValueError, IndexError):
            pass
    return total


def rss_mib(pids: list[int]) -> float:
    total = 0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/status") as f:
                for line in f:
                    if line.startswith("VmRSS:"):
                        total += int(line.split()[1])
        except (OSError, ValueError):
            pass
    return total / 1024


def run_topology(topology: str, n: int, trials: int, work: Path, env: dict[str, str],
                 settle: float = 300.0) -> dict:
    base = work / topology
    base.mkdir()
    clones = [base / f"c{i:02d}" for i in range(n)]
    subprocess.run([SYNCASSISTANT, "init", str(clones[0]), "--name", "c00"], env=env, check=True,
                   capture_output=True)
    for i in range(1, n):
        git(base, "clone", "-q", str(clones[0]), str(clones[i]), env=env)
        git(clones[i], "remote", "remove", "origin", env=env)
        subprocess.run([SYNCASSISTANT, "init", str(clones[i]), "--name", f"c{i:02d}"], env=env,
                       check=True, capture_output=True)
    for a, b in links(topology, n):
        git(clones[a], "remote", "add", f"c{b:02d}", str(clones[b]), env=env)
        git(clones[b], "remote", "add", f"c{a:02d}", str(clones[a]), env=env)
    procs = []
    for c in clones:
        with open(work / f"{topology}-{c.name}.log", "ab") as log:
            procs.append(subprocess.Popen([SYNCASSISTANT, "daemon", "--foreground", str(c)], cwd=c, env=env,
                                          stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                                          start_new_session=True))
    try:
        def all_idle() -> bool:
            return all(status(c).get("idle") is True for c in clones)

        def wait_idle(deadline: float) -> bool:
            streak = 0
            while time.monotonic() < deadline:
                streak = streak + 1 if all_idle() else 0
                if streak >= 2:
                    return True
                time.sleep(0.5)
            return False

        started = time.monotonic()
        if not wait_idle(started + settle):
            raise RuntimeError(f"{topology}: daemons not idle {settle:.0f} s after start")
        settled = time.monotonic() - started
        note(f"{topology}: all {n} daemons idle {settled:.1f} s after start")
        origin = {"chain": 0, "star": 1, "mesh": 0}[topology]
        all_in, per_clone, pushes, settles = [], [], [], []
        for t in range(trials):
            before = sum(status(c).get("counters", {}).get("pushes", 0) for c in clones)
            name = f"t{t:02d}.txt"
            start = time.monotonic()
            (clones[origin] / name).write_bytes(os.urandom(32).hex().encode())
            arrived: dict[int, float] = {}
            while len(arrived) < n - 1 and time.monotonic() - start < 120:
                for i, c in enumerate(clones):
                    if i != origin and i not in arrived and os.path.lexists(c / name):
                        arrived[i] = time.monotonic() - start
                time.sleep(0.01)
            if len(arrived) < n - 1:
                raise RuntimeError(f"{topology}: {name} reached {len(arrived)} of {n - 1} clones in 120 s")
            all_in.append(max(arrived.values()))
            per_clone += arrived.values()
            # (two idle looks 0.5 s apart; inf: still busy 120 s after the file arrived)
            idle = wait_idle(time.monotonic() + 120)
            settles.append(time.monotonic() - start - 0.5 if idle else float("inf"))
            pushes.append(sum(status(c).get("counters", {}).get("pushes", 0) for c in clones) - before)
            note(f"{topology} trial {t}: all {n - 1} in {all_in[-1]:.2f} s "
                 f"(median clone {statistics.median(arrived.values()):.2f} s), {pushes[-1]} pushes, "
                 f"all idle after {settles[-1]:.1f} s")
        trees = [tree_pids(p.pid) for p in procs]
        t0 = sum(ticks(ps) for ps in trees)
        time.sleep(10)
        idle_ticks = sum(ticks(ps) for ps in [tree_pids(p.pid) for p in procs]) - t0
        mems = [rss_mib(tree_pids(p.pid)) for p in procs]
        return {"topology": topology, "clones": n, "trials": trials, "startup_idle_s": settled,
                "all_median": statistics.median(all_in), "all_max": max(all_in),
                "clone_median": statistics.median(per_clone),
                "pushes_median": statistics.median(pushes), "links": len(links(topology, n)),
                "settle_median": statistics.median(settles),
                "idle_ticks_10s": idle_ticks, "rss_median": statistics.median(mems), "rss_max": max(mems)}
    finally:
        for p in procs:
            p.terminate()
        for p in procs:
            try:
                p.wait(60)
            except subprocess.TimeoutExpired:
                p.kill()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--clones", type=int, default=20)
    ap.add_argument("--trials", type=int, default=5)
    ap.add_argument("--only", default="chain,star,mesh")
    ap.add_argument("--keep", action="store_true")
    ap.add_argument("--settle", type=float, default=300.0, help="seconds the daemons may take to be idle after start")
    opts = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="bench-devices-"))
    home = work / "home"
    home.mkdir()
    cfg = work / "gitconfig"
    cfg.write_text("[user]\n\tname = bench\n\temail = bench@example.invalid\n"
                   "[init]\n\tdefaultBranch = master\n[protocol \"file\"]\n\tallow = always\n")
    env = {**os.environ, "GIT_CONFIG_GLOBAL": str(cfg), "GIT_CONFIG_NOSYSTEM": "1", "HOME": str(home),
           "PATH": str(VENV_BIN) + os.pathsep + os.environ.get("PATH", "/usr/bin:/bin")}
    env.pop("DBUS_SESSION_BUS_ADDRESS", None)
    note(f"work dir {work}; load {os.getloadavg()[0]:.1f}")
    rows = []
    for t in opts.only.split(","):
        try:
            rows.append(run_topology(t, opts.clones, opts.trials, work, env, opts.settle))
        except RuntimeError as e:  # one topology that fails does not take the others' rows with it
            note(str(e))
            rows.append({"topology": t, "error": str(e), "links": len(links(t, opts.clones))})
    print(f"\n{time.strftime('%Y-%m-%d')}, {opts.clones} clones, {opts.trials} trials, "
          f"load {os.getloadavg()[0]:.1f} at the end\n")
    print("| topology | links | all idle after start | new file in all clones: median (max) | per clone: median "
          "| pushes per change (median) | all idle after a change (median) | idle CPU ticks, all daemons, 10 s "
          "| memory per daemon tree: median (max) |")
    print("|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        if "error" in r:
            print(f"| {r['topology']} | {r['links']} | {r['error']} | — | — | — | — | — | — |")
            continue
        print(f"| {r['topology']} | {r['links']} | {r['startup_idle_s']:.0f} s "
              f"| {r['all_median']:.2f} s ({r['all_max']:.2f} s) | "
              f"{r['clone_median']:.2f} s | {r['pushes_median']:.0f} | {r['settle_median']:.1f} s | "
              f"{r['idle_ticks_10s']} | "
              f"{r['rss_median']:.0f} MiB ({r['rss_max']:.0f} MiB) |")
    if not opts.keep:
        subprocess.run(["rm", "-rf", str(work)])
    return 0


if __name__ == "__main__":
    sys.exit(main())
