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
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def start_sshd(d: Path, venv_bin: str) -> tuple[subprocess.Popen[bytes], int]:
    d.mkdir(mode=0o700)
    for key in ("host_ed25519", "id_ed25519"):
        subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(d / key)], check=True)
    shutil.copy(d / "id_ed25519.pub", d / "authorized_keys")
    os.chmod(d / "authorized_keys", 0o600)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    (d / "sshd_config").write_text(f"""Port {port}
ListenAddress 127.0.0.1
HostKey {d}/host_ed25519
PidFile {d}/sshd.pid
AuthorizedKeysFile {d}/authorized_keys
StrictModes no
PubkeyAuthentication yes
PasswordAuthentication no
KbdInteractiveAuthentication no
PermitRootLogin prohibit-password
UsePAM no
SetEnv PATH={venv_bin}:/usr/local/bin:/usr/bin:/bin
LogLevel VERBOSE
""")
    (d / "ssh_config").write_text(f"""Host *
  User {os.environ.get('USER') or 'root'}
  IdentityFile {d}/id_ed25519
  IdentitiesOnly yes
  UserKnownHostsFile {d}/known_hosts
  StrictHostKeyChecking accept-new
  BatchMode yes
  ConnectTimeout 5
""")
    os.makedirs("/run/sshd", exist_ok=True)
    log = open(d / "sshd.log", "w")
    proc = subprocess.Popen(["/usr/sbin/sshd", "-D", "-e", "-f", str(d / "sshd_config")],
                            stdout=log, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 10
    while "Server listening" not in (d / "sshd.log").read_text():
        if time.monotonic() > deadline or proc.poll() is not None:
            raise SystemExit(f"sshd did not start: {(d / 'sshd.log').read_text()}")
        time.sleep(0.05)
    return proc, port


def on_server(server: Path, name: str) -> bool:
    """The file is in the server's synced/master (A's push landed)."""
    return subprocess.run(["git", "cat-file", "-e", f"refs/heads/synced/master:{name}"], cwd=server,
                          capture_output=True).returncode == 0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--trials", type=int, default=20)
    ap.add_argument("--timeout", type=float, default=60.0, help="give up on one trial after this many seconds")
    args = ap.parse_args()
    if not shutil.which("sshd", path="/usr/sbin:/usr/bin"):
        print("openssh-server is not installed (run ./setup.sh)", file=sys.stderr)
        return 1

    work = Path(tempfile.mkdtemp(prefix="bench-ssh-"))
    cfg = work / "gitconfig"
    cfg.write_text("[user]\n\tname = bench\n\temail = bench@example.invalid\n[init]\n\tdefaultBranch = master\n")
    venv_bin = os.path.dirname(sys.executable)
    os.environ.update(GIT_CONFIG_GLOBAL=str(cfg), GIT_CONFIG_NOSYSTEM="1", HOME=str(work))
    os.environ["PATH"] = venv_bin + os.pathsep + os.environ["PATH"]
    sshd, port = start_sshd(work / "ssh", venv_bin)
    # git-annex honours GIT_SSH_COMMAND only with GIT_ANNEX_USE_GIT_SSH (the engine sets it too)
    os.environ.update(GIT_SSH_COMMAND=f"ssh -F {work}/ssh/ssh_config", GIT_ANNEX_USE_GIT_SSH="1")
    from syncassistant.engine import sshmux
    from syncassistant.engine.daemon import Assistant
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
        accepted0 = (work / "ssh" / "sshd.log").read_text().count("Accepted publickey")
        for i in range(args.trials):
            name = f"bridged-{i}.bin"
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
        accepted = (work / "ssh" / "sshd.log").read_text().count("Accepted publickey") - accepted0
    finally:
        assistant.stop()
        sshmux.close_all()
        sshd.terminate()
        sshd.wait(10)
        shutil.rmtree(work, ignore_errors=True)

    print(f"\nssh bridge benchmark, {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, "
          f"{os.cpu_count()} CPUs, {args.trials} trials")
    print("| measurement | syncassistant |\n|---|---|")
    if lat:
        print(f"| new 64-byte file in A -> in B's work tree via ssh server, median | {statistics.median(lat):.2f} s |")
        print(f"| min / max | {min(lat):.2f} s / {max(lat):.2f} s |")
    if hop1:
        print(f"| of which A -> server's synced/master, median ({len(hop1)} seen) | {statistics.median(hop1):.2f} s |")
    print(f"| trials that timed out (> {args.timeout:.0f} s) | {failed} |")
    print(f"| ssh connections accepted during the trials (A and B) | {accepted} |")
    return 0 if lat and not failed else 1


if __name__ == "__main__":
    sys.exit(main())
