#!/usr/bin/env python3
"""Bridging over an ssh server: time for a new file made in A to appear in B's work tree.

    .venv/bin/python bench/bench_ssh.py [--trials N]

A <-> server <-> B, with no direct A-B link: the server is a git-annex repository reached over
ssh on 127.0.0.1 (a throwaway sshd with key auth, git-annex-shell on its PATH, as the tests
use); A and B run our engine in-process (the Assistant: daemons plus the notifychanges
watchers that hear the server's ref changes). Each trial writes a new 64-byte file in A and
waits until it exists in B's work tree (git level: the commit crossed A -> server -> B; the
content follows). Prints a markdown table with median, min and max (target: median < 1 s) and
the ssh connections the sshd accepted during the trials.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
# tests/ on the path too, for tests/sshd_server.py: the same throwaway sshd the tests use
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
sys.path.insert(0, str(Path(__file__).resolve().parent))
import sshd_server
from timeline import Timeline


def on_server(server: Path, name: str) -> bool:
    """The file is in the server's synced/master (A's push landed)."""
    return subprocess.run(["git", "cat-file", "-e", f"refs/heads/synced/master:{name}"], cwd=server,
                          capture_output=True).returncode == 0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--trials", type=int, default=20)
    ap.add_argument("--timeout", type=float, default=60.0, help="give up on one trial after this many seconds")
    ap.add_argument("--shell-rc", choices=("empty", "user"), default="empty",
                    help="the server's sessions see an empty ~/.bashrc (default; root only) or the "
                         "user's own, whose start-up every ssh session pays")
    args = ap.parse_args()
    if not sshd_server.available():
        print("openssh-server is not installed (run ./setup.sh)", file=sys.stderr)
        return 1

    work = Path(tempfile.mkdtemp(prefix="bench-ssh-"))
    cfg = work / "gitconfig"
    cfg.write_text("[user]\n\tname = bench\n\temail = bench@example.invalid\n[init]\n\tdefaultBranch = master\n")
    venv_bin = os.path.dirname(sys.executable)
    os.environ.update(GIT_CONFIG_GLOBAL=str(cfg), GIT_CONFIG_NOSYSTEM="1", HOME=str(work))
    os.environ["PATH"] = venv_bin + os.pathsep + os.environ["PATH"]
    port = sshd_server.free_port("127.0.0.1")
    sshd = sshd_server.SshServer(work / "ssh", port, listen=("127.0.0.1",), bin_dir=venv_bin,
                                 plain_shell=args.shell_rc == "empty")
    sshd.write_files()
    try:
        sshd.start()
    except sshd_server.SshdError as e:
        raise SystemExit(str(e)) from None
    # GIT_SSH_COMMAND with our ssh_config, and GIT_ANNEX_USE_GIT_SSH=1: git-annex honours
    # GIT_SSH_COMMAND only with it (the engine sets it too)
    os.environ.update(sshd.git_env())
    from syncassistant.engine.daemon import Assistant
    from syncassistant.engine.network import sshmux
    from syncassistant.engine.repo import init_repo

    server, a, b = work / "server", work / "A", work / "B"
    init_repo(server, "server")
    url = f"ssh://127.0.0.1:{port}{server}"
    for name, path in (("A", a), ("B", b)):
        subprocess.run(["git", "clone", "-q", str(server), str(path)], check=True)
        init_repo(path, name)  # learns the server's annex uuid from the local clone
        subprocess.run(["git", "-C", str(path), "remote", "rename", "origin", "server"], check=True)
        subprocess.run(["git", "-C", str(path), "remote", "set-url", "server", url], check=True)
    assistant = Assistant([a, b], devices=False)
    assistant.start()
    da, db = assistant.daemons
    lat: list[float] = []
    hop1: list[float] = []  # A -> the server's synced/master (the rest is server -> B)
    failed = 0
    try:
        def settle(timeout: float = 120) -> None:
            end = time.monotonic() + timeout
            while not (da.is_idle() and db.is_idle()) and time.monotonic() < end:
                time.sleep(0.05)

        # both notifychanges connections up before timing anything
        end = time.monotonic() + 60
        while not all(c.get("connected") for w in assistant.remote_watchers for c in w.status().values()):
            if time.monotonic() > end:
                raise SystemExit("notifychanges did not connect")
            time.sleep(0.05)
        settle()
        accepted0 = sshd.log_text().count("Accepted publickey")
        timeline = Timeline({"A": da, "B": db})
        for i in range(args.trials):
            name = f"bridged-{i}.bin"
            timeline.begin(name)
            t0 = time.monotonic()
            (a / name).write_bytes(os.urandom(64))
            at_server = None
            while not os.path.lexists(b / name):
                if time.monotonic() - t0 > args.timeout:
                    failed += 1
                    break
                if at_server is None and on_server(server, name):
                    at_server = time.monotonic() - t0
                time.sleep(0.005)
            else:
                lat.append(time.monotonic() - t0)
                if at_server is not None:
                    hop1.append(at_server)
            settle()  # content and location tracking done: trials do not overlap
            timeline.end()
        accepted = sshd.log_text().count("Accepted publickey") - accepted0
    finally:
        assistant.stop()
        sshmux.close_all()
        sshd.stop()
        shutil.rmtree(work, ignore_errors=True)

    print(f"\nssh bridge benchmark, {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, "
          f"{os.cpu_count()} CPUs, {args.trials} trials")
    print("| measurement | syncassistant |\n|---|---|")
    if lat:
        print(f"| new 64-byte file in A -> in B's work tree via ssh server, median | {statistics.median(lat):.2f} s |")
        print(f"| min / max | {min(lat):.2f} s / {max(lat):.2f} s |")
    if hop1:
        print(f"| of which A -> server's synced/master, median ({len(hop1)} seen) | {statistics.median(hop1):.2f} s |")
    for label, value in timeline.rows():
        print(f"| {label} | {value} |")
    print(f"| trials that timed out (> {args.timeout:.0f} s) | {failed} |")
    print(f"| ssh connections accepted during the trials (A and B) | {accepted} |")
    print(f"| server's shell start-up (~/.bashrc) | {'empty' if sshd.wrapper else 'the user own'} |")
    return 0 if lat and not failed else 1


if __name__ == "__main__":
    sys.exit(main())
