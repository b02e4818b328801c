#!/usr/bin/env python3
"""Bufferbloat: what a big upload does to everyone else's delay, with and without the automatic
upload limit (engine/transfers/autolimit.py), next to a plain `git annex copy --to`.

A throwaway sshd on 127.0.0.1 is reached through tests/bottleneck.py: one FIFO for every
connection, drained at --rate (default 2 MiB/s), holding --buffer seconds (default 4) before it
pushes back: a home uplink with a router that buffers too much. A probe on another connection
through the same bottleneck sends one byte every 0.1 s to an echo server and times its return:
the delay a video call or a web page on the same network would see. Each variant uploads one
file of --size MiB (default 100) from A to the server:

- `git annex copy`: by hand, `git annex copy --to server` (the floor for time; no control);
- `daemon, fixed`: a syncassistant daemon without the automatic limit;
- `daemon, auto`: the same with `syncassistant.autoUploadLimit=true`.

Reported per variant: seconds, MiB/s and the share of the link's rate, the probe's extra delay
over its idle baseline (median, 90th percentile, max) during the upload (for `auto`, also after
its first 10 s, once it found the link), the bottleneck's deepest queue in seconds.

    .venv/bin/python bench/bench_bufferbloat.py [--size 100] [--rate 2] [--buffer 4] [--runs 1]
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
import sshd_server
from bottleneck import Bottleneck, DelayProbe, EchoServer, summary

MiB = 1024 * 1024


def git(cwd: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, text=True).stdout


def on_server(server: Path, a: Path, name: str) -> bool:
    """The content of A's `name` is in the server's annex (the server runs no daemon: its work
    tree never shows the file)."""
    r = subprocess.run(["git", "annex", "lookupkey", name], cwd=a, capture_output=True, text=True)
    key = r.stdout.strip()
    return bool(key) and subprocess.run(["git", "annex", "contentlocation", key], cwd=server,
                                        capture_output=True).returncode == 0


def daemon_upload(a: Path, server: Path, name: str, size: int, traces: dict, tag: str) -> tuple[float, dict]:
    """A fresh daemon on A uploads a new `size`-byte file `name`; seconds until it is on the
    server, and the automatic limit's status. The start time and the controller's samples go to
    `traces[tag]`."""
    from syncassistant.engine.daemon import Assistant

    assistant = Assistant([a], devices=False)
    assistant.start()
    try:
        d = assistant.daemons[0]
        end = time.monotonic() + 120
        while not d.is_idle() and time.monotonic() < end:
            time.sleep(0.1)
        time.sleep(2)  # the probe's idle baseline
        with open(a / (name + ".part"), "wb") as f:
            f.write(os.urandom(size))
        t0 = time.monotonic()
        os.rename(a / (name + ".part"), a / name)
        while not on_server(server, a, name):
            if time.monotonic() - t0 > 3600:
                raise SystemExit(f"{name}: not on the server after an hour")
            time.sleep(0.5)
        took = time.monotonic() - t0
        status = d.limits().get("auto_status", {})
        ctrl = d.transfers.autolimit._controllers.get("server")
        traces[tag] = {"t0": t0, "samples": list(ctrl.trace) if ctrl else [],
                       "restarts": d.transfers.auto_restarts}
        return took, status
    finally:
        assistant.stop()


def t0_of(traces: dict, tag: str) -> float:
    return traces[tag]["t0"]


def row_of(variant: str, probe: DelayProbe, t0: float, took: float, size: int, rate: int, neck: Bottleneck,
           status: dict) -> dict:
    base = probe.baseline()
    print(f"{variant}: {len(probe.samples)} probe samples", flush=True)
    return {"variant": variant, "took": took, "rate": size / took, "share": size / took / rate,
            "all": summary(probe.between(t0, t0 + took), base),
            "after10": summary(probe.between(t0 + 10, t0 + took), base),
            "queue": neck.max_queued / rate, "load": os.getloadavg()[0],
            "uplink": (status.get("server") or {}).get("uplink")}


def write_traces(path: str, traces: dict) -> None:
    import json

    out = {tag: {"restarts": t["restarts"],
                 "samples": [{"t": round(s[0] - t["t0"], 3), "rtt": s[1], "queue": round(s[2], 4),
                              "sending": round(s[3]), "rate": round(s[4])} for s in t["samples"]]}
           for tag, t in traces.items()}
    Path(path).write_text(json.dumps(out, indent=1))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--size", type=float, default=100, help="MiB uploaded")
    ap.add_argument("--rate", type=float, default=2, help="the bottleneck's rate, MiB/s")
    ap.add_argument("--buffer", type=float, default=4, help="the bottleneck's buffer, seconds")
    ap.add_argument("--runs", type=int, default=1)
    ap.add_argument("--variants", default="copy,fixed,auto")
    ap.add_argument("--again", action="store_true",
                    help="after the auto variant, restart the daemon and upload a second file (remembered link speed)")
    ap.add_argument("--trace", help="write each auto run's controller samples (JSON) to this file")
    args = ap.parse_args()
    if not sshd_server.available():
        print("openssh-server is not installed (run ./setup.sh)", file=sys.stderr)
        return 1
    rate, size = int(args.rate * MiB), int(args.size * MiB)
    work = Path(tempfile.mkdtemp(prefix="bench-bloat-"))
    cfg = work / "gitconfig"
    cfg.write_text("[user]\n\tname = bench\n\temail = bench@example.invalid\n[init]\n\tdefaultBranch = master\n")
    venv_bin = os.path.dirname(sys.executable)
    os.environ.update(GIT_CONFIG_GLOBAL=str(cfg), GIT_CONFIG_NOSYSTEM="1", HOME=str(work))
    os.environ["PATH"] = venv_bin + os.pathsep + os.environ["PATH"]
    port = sshd_server.free_port("127.0.0.1")
    sshd = sshd_server.SshServer(work / "ssh", port, listen=("127.0.0.1",), bin_dir=venv_bin)
    sshd.write_files()
    sshd.start()
    os.environ.update(sshd.git_env())
    from syncassistant.engine.network import sshmux
    from syncassistant.engine.repo import init_repo
    from syncassistant.engine.transfers import autolimit

    rows: list[dict] = []
    traces: dict = {}
    try:
        for run in range(args.runs):
            for variant in args.variants.split(","):
                tag = f"{variant}-{run}"
                server, a = work / f"server-{tag}", work / f"A-{tag}"
                init_repo(server, "server")
                subprocess.run(["git", "clone", "-q", str(server), str(a)], check=True)
                init_repo(a, "A")
                with Bottleneck(rate, args.buffer) as neck:
                    url = f"ssh://127.0.0.1:{neck.listen(port)}{server}"
                    git(a, "remote", "rename", "origin", "server")
                    git(a, "remote", "set-url", "server", url)
                    git(a, "config", autolimit.SETTING, "true" if variant == "auto" else "false")
                    echo = EchoServer()
                    probe = DelayProbe(neck.listen(echo.port))
                    try:
                        name = "big.bin"
                        if variant == "copy":
                            with open(a / name, "wb") as f:
                                f.write(os.urandom(size))
                            git(a, "annex", "add", name)
                            git(a, "commit", "-qm", "big")
                            time.sleep(2)  # the probe's idle baseline
                            t0 = time.monotonic()
                            git(a, "annex", "copy", "--to", "server", name)
                            took, status = time.monotonic() - t0, {}
                        else:
                            took, status = daemon_upload(a, server, name, size, traces, tag)
                            if variant == "auto" and args.again:
                                rows.append(row_of(variant, probe, t0_of(traces, tag), took, size, rate, neck, status))
                                rows[-1]["restarts"] = traces[tag]["restarts"]
                                # a daemon restart (a log-in): the next upload starts from the
                                # link speed the first one learned (.git/syncassistant/autolimit.json)
                                variant, name, tag = "auto-again", "big2.bin", tag + "-again"
                                neck.max_queued = 0
                                took, status = daemon_upload(a, server, name, size, traces, tag)
                            t0 = t0_of(traces, tag)
                    finally:
                        probe.close()
                        echo.close()
                    rows.append(row_of(variant, probe, t0, took, size, rate, neck, status))
                    rows[-1]["restarts"] = traces.get(tag, {}).get("restarts")
                    print(rows[-1], flush=True)
                sshmux.close_all()
    finally:
        sshd.stop()
        shutil.rmtree(work, ignore_errors=True)
        if args.trace:
            write_traces(args.trace, traces)

    print(f"\nbufferbloat benchmark, {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, {os.cpu_count()} CPUs; "
          f"{args.size:.0f} MiB through {args.rate:g} MiB/s with {args.buffer:g} s of buffer")
    print("| variant | time | MiB/s (share of link) | extra delay median / p90 / max, whole upload | "
          "after the first 10 s | deepest queue | uplink estimate | restarts for the limit | load |")
    print("|---|---|---|---|---|---|---|---|---|")
    names = {"copy": "`git annex copy --to`", "fixed": "daemon, no automatic limit", "auto": "daemon, automatic limit",
             "auto-again": "same daemon restarted, a second file (remembered link speed)"}
    for r in rows:
        def d(s: dict) -> str:
            return f"{s['median_ms']:.0f} / {s['p90_ms']:.0f} / {s['max_ms']:.0f} ms" if s.get("n") else "-"
        up = f"{r['uplink'] / MiB:.2f} MiB/s" if r["uplink"] else "-"
        print(f"| {names[r['variant']]} | {r['took']:.1f} s | {r['rate'] / MiB:.2f} ({r['share']:.0%}) | {d(r['all'])} | "
              f"{d(r['after10'])} | {r['queue']:.2f} s | {up} | {'-' if r.get('restarts') is None else r['restarts']} | "
              f"{r['load']:.1f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
