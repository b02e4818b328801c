#!/usr/bin/env python3
"""Content-sync benchmarks: a small file readable in clone B, and speed-limit accuracy.

    .venv/bin/python bench/bench_content.py [--trials N] [--limit-mib 64] [--rate-mib 4]

Two fresh clones (A, B) linked both ways, our daemons in-process. Prints a markdown table:
- time until a new 64-byte file made in A is readable (right bytes) in B: median, min, max;
- a file of --limit-mib MiB uploaded under a --rate-mib MiB/s limit: achieved rate and its error.
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

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))
from timeline import Timeline


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--trials", type=int, default=10)
    ap.add_argument("--limit-mib", type=int, default=64)
    ap.add_argument("--rate-mib", type=float, default=4.0)
    args = ap.parse_args()

    work = Path(tempfile.mkdtemp(prefix="bench-content-"))
    cfg = work / "gitconfig"
    cfg.write_text("[user]\n\tname = bench\n\temail = bench@example.invalid\n[init]\n\tdefaultBranch = master\n")
    os.environ.update(GIT_CONFIG_GLOBAL=str(cfg), GIT_CONFIG_NOSYSTEM="1")
    os.environ["PATH"] = os.path.dirname(sys.executable) + os.pathsep + os.environ["PATH"]
    from syncassistant.engine.daemon import Daemon
    from syncassistant.engine.repo import init_repo

    a, b = work / "A", work / "B"
    init_repo(a, "A")
    subprocess.run(["git", "clone", "-q", str(a), str(b)], check=True)
    init_repo(b, "B")
    subprocess.run(["git", "-C", str(b), "remote", "rename", "origin", "a"], check=True)
    subprocess.run(["git", "-C", str(a), "remote", "add", "b", str(b)], check=True)
    da, db = Daemon(a), Daemon(b)
    da.start()
    db.start()
    rows = []
    try:
        def settle(timeout: float = 120) -> None:
            end = time.monotonic() + timeout
            while not (da.is_idle() and db.is_idle()) and time.monotonic() < end:
                time.sleep(0.05)

        settle()
        lat = []
        timeline = Timeline({"A": da, "B": db})
        for i in range(args.trials):
            data = os.urandom(64)
            name = f"small-{i}.bin"
            tmp = work / name
            tmp.write_bytes(data)
            timeline.begin(name)
            t0 = time.monotonic()
            os.rename(tmp, a / name)
            end = t0 + 60
            while time.monotonic() < end:
                try:
                    if (b / name).read_bytes() == data:
                        break
                except OSError:
                    pass
                time.sleep(0.002)
            lat.append(time.monotonic() - t0)
            settle()
            timeline.end()
        rows.append(("64-byte file made in A readable in B", f"median {statistics.median(lat):.3f} s "
                     f"(min {min(lat):.3f}, max {max(lat):.3f}, n={len(lat)})"))
        rows += timeline.rows()

        rate = int(args.rate_mib * 1024 * 1024)
        da.transfers.set_limit(upload=rate)
        db.transfers.set_limit(download=rate)
        size = args.limit_mib * 1024 * 1024
        # evenness: when each progress report of the upload came, and how far it had got
        reports: list[tuple[float, int]] = []
        da.ctx.events.subscribe(lambda ev: reports.append((time.monotonic(), ev.data["bytes_done"]))
                                if ev.kind == "transfer" and ev.data.get("path") == "big.bin"
                                and ev.data.get("direction") == "upload" and ev.data.get("state") == "running"
                                else None)
        big = work / "big.bin"
        with open(big, "wb") as f:
            for _ in range(args.limit_mib):
                f.write(os.urandom(1024 * 1024))
        os.rename(big, a / "big.bin")
        # The engine's own record of the transfer gives start and end (wall clock): polling from
        # here would see the start late by a poll interval and shorten the measured time.
        end = time.monotonic() + 600
        record = None
        while time.monotonic() < end and record is None:
            record = next((t for t in da.transfers.snapshot() if t["path"] == "big.bin"
                           and t["direction"] == "upload" and t["state"] == "done"), None)
            time.sleep(0.1)
        if record is None:
            raise SystemExit("the big transfer did not finish within 600 s")
        took = record["finished"] - record["started"]
        achieved = size / took if took else 0
        rows.append((f"{args.limit_mib} MiB under a {args.rate_mib:g} MiB/s limit",
                     f"{achieved / 1024 / 1024:.2f} MiB/s achieved in {took:.1f} s "
                     f"({100 * (achieved - rate) / rate:+.1f} % from the limit)"))
        gaps = [t1 - t0 for (t0, _), (t1, _) in zip(reports, reports[1:], strict=False)]
        steps = [b1 - b0 for (_, b0), (_, b1) in zip(reports, reports[1:], strict=False) if b1 >= b0]
        if len(reports) > 1:
            (t0, b0), (t1, b1) = reports[0], reports[-1]
            rows.append(("... between its first and last progress report",
                         f"{(b1 - b0) / (t1 - t0) / 1024 / 1024:.2f} MiB/s over {t1 - t0:.1f} s; "
                         f"{took - (t1 - t0):.2f} s outside them (start, finish)"))
        if gaps and steps:
            rows.append(("... how evenly (progress reports)",
                         f"{len(reports)} reports; gap median {statistics.median(gaps):.2f} s, longest "
                         f"{max(gaps):.2f} s; most bytes in one report {max(steps) / 1024:.0f} KiB "
                         f"({max(steps) / rate:.2f} s at the limit)"))
    finally:
        da.stop()
        db.stop()
    print(f"\nContent benchmark, {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, "
          f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs\n")
    print("| measurement | syncassistant |\n|---|---|")
    for k, v in rows:
        print(f"| {k} | {v} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
