#!/usr/bin/env python3
"""A cloud bridge against an ssh server: time for a new small file made in A to be readable in B.

    .venv/bin/python bench/bench_cloud.py [--trials N]

Two setups in the same run, on this machine, A and B never linked directly:

- WebDAV: a WsgiDAV server on 127.0.0.1 (tests/cloud_servers.py, as the tests use); A adds it
  with `cloud add` (engine: encrypted, history and content there, role transfer), B is made from
  the share string alone (`cloud join`). B learns of A's change only by asking the cloud (the
  poller: every 3 s after a change, backing off when quiet; engine/network/cloudpoll.py).
- ssh: a git-annex repository behind a throwaway sshd on 127.0.0.1 (tests/sshd_server.py, as
  bench_ssh.py), which tells B of A's push at once (notifychanges).

Both run our engine in-process (the Assistant with the daemons of A and B). Each trial writes a
new 64-byte file in A and waits until B's file has that content (history and content both
crossed). Trials do not overlap (both daemons idle before the next). Prints a markdown table:
median, min, max per setup, their ratio, and the load average before and after.
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
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
import cloud_servers
import sshd_server


def memory_keyring() -> None:
    """A keyring in memory (a headless machine has none that keeps secrets)."""
    import keyring
    from keyring.backend import KeyringBackend

    class Memory(KeyringBackend):
        priority = 1  # type: ignore[assignment]

        def __init__(self) -> None:
            super().__init__()
            self.items: dict[tuple[str, str], str] = {}

        def set_password(self, service: str, username: str, password: str) -> None:
            self.items[(service, username)] = password

        def get_password(self, service: str, username: str) -> str | None:
            return self.items.get((service, username))

        def delete_password(self, service: str, username: str) -> None:
            self.items.pop((service, username), None)

    keyring.set_keyring(Memory())


def trials(a: Path, b: Path, daemons: list, n: int, timeout: float, prefix: str) -> tuple[list[float], int]:
    """Seconds from writing a new 64-byte file in A until B reads the same bytes; timeouts."""
    def settle(limit: float = 120) -> None:
        end = time.monotonic() + limit
        while not all(d.is_idle() for d in daemons) and time.monotonic() < end:
            time.sleep(0.05)

    lat: list[float] = []
    failed = 0
    settle()
    for i in range(n):
        name = f"{prefix}-{i}.bin"
        data = os.urandom(64)
        t0 = time.monotonic()
        (a / name).write_bytes(data)
        while True:
            try:
                if (b / name).read_bytes() == data:
                    lat.append(time.monotonic() - t0)
                    print(f"{prefix} trial {i}: {lat[-1]:.2f} s (load {os.getloadavg()[0]:.1f})", file=sys.stderr,
                          flush=True)
                    break
            except OSError:
                pass
            if time.monotonic() - t0 > timeout:
                failed += 1
                break
            time.sleep(0.005)
        settle()
    return lat, failed


def run_webdav(work: Path, n: int, timeout: float) -> tuple[list[float], int]:
    from syncassistant.engine.daemon import Assistant
    from syncassistant.engine.network import cloud
    from syncassistant.engine.repo import init_repo

    memory_keyring()
    dav = cloud_servers.DavServer(work / "dav").start()
    assistant = None
    try:
        a = work / "dav-A"
        a.mkdir()
        init_repo(a, "A")
        config = cloud.check_config("webdav", url=dav.url)
        cloud.add_cloud_remote(a, "dav", config, cloud.Credentials(cloud_servers.USER, cloud_servers.PASSWORD))
        b = cloud.join(cloud.share_string(a, "dav", with_credentials=True), work / "dav-B", description="B")
        assistant = Assistant([a, b], devices=False)
        assistant.start()
        return trials(a, b, list(assistant.daemons), n, timeout, "dav")
    finally:
        if assistant is not None:
            assistant.stop()
        dav.stop()
        gnupg = Path(os.environ["HOME"]) / ".gnupg"
        if gnupg.is_dir():
            subprocess.run(["gpgconf", "--homedir", str(gnupg), "--kill", "gpg-agent"], capture_output=True)


def run_ssh(work: Path, n: int, timeout: float) -> tuple[list[float], int]:
    from syncassistant.engine.daemon import Assistant
    from syncassistant.engine.network import sshmux
    from syncassistant.engine.repo import init_repo

    venv_bin = os.path.dirname(sys.executable)
    port = sshd_server.free_port("127.0.0.1")
    sshd = sshd_server.SshServer(work / "ssh", port, listen=("127.0.0.1",), bin_dir=venv_bin, plain_shell=True)
    sshd.write_files()
    sshd.start()
    saved = dict(os.environ)
    os.environ.update(sshd.git_env())
    fresh_env()
    assistant = None
    try:
        server, a, b = work / "server", work / "ssh-A", work / "ssh-B"
        init_repo(server, "server")
        url = f"ssh://127.0.0.1:{port}{server}"
        for name, path in (("A", a), ("B", b)):
            subprocess.run(["git", "clone", "-q", str(server), str(path)], check=True)
            init_repo(path, name)
            subprocess.run(["git", "-C", str(path), "remote", "rename", "origin", "server"], check=True)
            subprocess.run(["git", "-C", str(path), "remote", "set-url", "server", url], check=True)
        assistant = Assistant([a, b], devices=False)
        assistant.start()
        end = time.monotonic() + 60
        while not all(c.get("connected") for w in assistant.remote_watchers for c in w.status().values()):
            if time.monotonic() > end:
                raise SystemExit("notifychanges did not connect")
            time.sleep(0.05)
        return trials(a, b, list(assistant.daemons), n, timeout, "ssh")
    finally:
        if assistant is not None:
            assistant.stop()
        sshmux.close_all()
        sshd.stop()
        os.environ.clear()
        os.environ.update(saved)
        fresh_env()


def fresh_env() -> None:
    """The engine builds its processes' environment once (proc/git.py): again after a change
    (the ssh setup's GIT_SSH_COMMAND; as tests/conftest.py does between tests)."""
    from syncassistant.engine.proc import git as gitmod

    gitmod.reset_env_cache()


def row(label: str, lat: list[float], failed: int) -> str:
    if not lat:
        return f"| {label} | — | — | — | {failed} |"
    return (f"| {label} | {statistics.median(lat):.2f} s | {min(lat):.2f} s | {max(lat):.2f} s | "
            f"{failed} |")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--trials", type=int, default=10)
    ap.add_argument("--timeout", type=float, default=120.0, help="give up on one trial after this many seconds")
    args = ap.parse_args()
    if not sshd_server.available():
        print("openssh-server is not installed (run ./setup.sh)", file=sys.stderr)
        return 1
    work = Path(tempfile.mkdtemp(prefix="bench-cloud-"))
    cfg = work / "gitconfig"
    cfg.write_text("[user]\n\tname = bench\n\temail = bench@example.invalid\n[init]\n\tdefaultBranch = master\n")
    os.environ.update(GIT_CONFIG_GLOBAL=str(cfg), GIT_CONFIG_NOSYSTEM="1", HOME=str(work))
    os.environ["PATH"] = os.path.dirname(sys.executable) + os.pathsep + os.environ["PATH"]
    load0 = os.getloadavg()
    runs: list[tuple[str, Callable[[Path, int, float], tuple[list[float], int]]]] = [
        ("WebDAV (WsgiDAV on 127.0.0.1), encrypted", run_webdav),
        ("ssh server (sshd on 127.0.0.1)", run_ssh)]
    results: dict[str, tuple[list[float], int]] = {}
    try:
        for label, fn in runs:
            try:
                results[label] = fn(work, args.trials, args.timeout)
            except (SystemExit, Exception) as e:  # (the other setup's numbers are still worth printing)
                print(f"{label}: failed: {e}", file=sys.stderr)
                results[label] = ([], args.trials)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    load1 = os.getloadavg()
    print(f"\ncloud bridge benchmark, {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, "
          f"{os.cpu_count()} CPUs, {args.trials} trials each; load average before {load0[0]:.2f}, "
          f"after {load1[0]:.2f} (1 min)")
    print("| new 64-byte file in A, readable in B, through | median | min | max | timed out |")
    print("|---|---|---|---|---|")
    for label, (lat, failed) in results.items():
        print(row(label, lat, failed))
    (dav, _), (ssh, _) = results.values()
    if dav and ssh:
        print(f"\nratio of the medians, WebDAV / ssh: {statistics.median(dav) / statistics.median(ssh):.1f}")
    return 0 if all(lat and not failed for lat, failed in results.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
