#!/usr/bin/env python3
"""Fault injection: "never lose an edit" (issue 15), on our daemon or on `git annex assistant`.

Each run builds fresh clones in a temp dir (isolated git config and HOME; each clone a remote of
every other one by path), starts one daemon per clone as a subprocess in its own session (ours:
`syncassistant -v daemon --foreground PATH`; or `git annex assistant --foreground`), does the
scenario's damage while keeping a ledger of every write, then waits for convergence and checks:

  nothing lost  every last write of a path that was not deleted (or overwritten, or renamed) on
                purpose by a clone that had seen it is in the converged tree under its name or a
                conflict variant of it (`name.variant-XXXX.ext`), with the same bytes, readable in
                every clone; `git fsck` and `git annex fsck --fast` clean in every clone; no
                process left behind (none with its cwd in the run's dir after the daemons stop).

Scenarios:
  kill      random operations (small and 1-3 MiB files: new, modify in place or by rename-over,
            rename, delete; folders: new, rename, delete) in random clones; 0-300 ms later a
            SIGKILL of a random daemon (its main process or its whole process group); restart it
  storm     the same five paths written or deleted on two or three clones within 50 ms, round
            after round
  badinput  odd names (spaces, newline, tab, unicode, 255-byte names, leading dashes, ...),
            edits and renames of them on another clone, special files (FIFO, dangling symlink,
            mode 000), and a full disk: the last clone on a small tmpfs filled up while content
            arrives, then freed; errors must be reported and nothing lost

The ledger: every write is a *placement* (path, sha256 of the bytes; every write's bytes are
unique). An operation of a clone on a path supersedes the placement whose bytes that clone had
there at that moment (read just before the operation: a pointer file or an annex symlink counts
by its key): an overwrite, a delete or a rename is "on purpose" only for what the clone had seen.
A rename makes a new placement at the new name. At the end, every placement not superseded must
be in the converged tree; a superseded version back at its name is a revert (or a resurrection,
for a delete). Timing is not deterministic: a seed fixes the operations, not where a kill lands.

Run:  .venv/bin/python bench/chaos.py --scenario kill --seed 1 [--rounds 50] [--system ours]
See bench/README.md ("Fault injection").
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import datetime
import hashlib
import json
import os
import random
import re
import shutil
import signal
import socket
import stat
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_sync import _all_stats, make_env, proc_cmdline, tree_cpu

VENV_BIN = Path(sys.executable).parent
SYNCASSISTANT = str(VENV_BIN / "syncassistant")
GIT_ANNEX = str(VENV_BIN / "git-annex") if (VENV_BIN / "git-annex").exists() else (shutil.which("git-annex") or "git-annex")
MiB = 1 << 20

SCENARIOS = ("kill", "storm", "badinput")
DEFAULT_ROUNDS = {"kill": 50, "storm": 100, "badinput": 1}


@dataclasses.dataclass
class Options:
    scenario: str = "kill"
    system: str = "ours"  # or "assistant"
    seed: int = 1
    rounds: int | None = None  # default per scenario
    clones: int = 3
    kills: int | None = None  # kill scenario: how many of the rounds end with a kill (default all)
    big: bool = True  # kill scenario: 1-3 MiB files among the operations
    deadline: float = 240.0  # seconds to converge after the last round
    workdir: Path | None = None  # parent of the run's temp dir
    keep: bool = True  # keep the run dir (clones, logs, ledger)
    verbose: bool = True  # our daemons with -v
    tmpfs: bool = True  # badinput: the last clone on a small tmpfs (root only), for a full disk
    code: str | None = None  # a commit: the daemons run a snapshot of it (default: the installed package)
    quiet: bool = False


def note(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


# -- paths and the ledger --------------------------------------------------------------------------
_VARIANT = re.compile(r"\.variant-[^./]*")
_GIT_SUFFIX = re.compile(r"~[^/]*$")


def base_name(path: str) -> str:
    """The name a conflict variant stands for: every `.variant-XXXX` cut out of each path
    component (`a/b.variant-1a2b.txt` -> `a/b.txt`; also a folder renamed for a file-vs-folder
    conflict); a `~HEAD`/`~ref` suffix that git adds for such conflicts too."""
    return "/".join(_GIT_SUFFIX.sub("", _VARIANT.sub("", part)) or part for part in path.split("/"))


@dataclasses.dataclass
class Placement:
    """One version at one name: written there, or renamed there, by one clone."""

    seq: int
    path: str
    digest: str  # sha256 hex of the bytes (a symlink: "symlink:" + target)
    size: int
    clone: str
    round: int
    how: str  # "write", "rename from X"
    t: float
    superseded: str | None = None  # by what operation ("overwrite in B r3 ...")
    superseded_kind: str | None = None  # "overwrite", "delete", "rename"

    @property
    def base(self) -> str:
        return base_name(self.path)


class Ledger:
    """Every placement made by the scenario and every operation, in the order they were made."""

    def __init__(self, path: Path | None = None):
        self.placements: list[Placement] = []
        self.ops: list[dict[str, Any]] = []
        self.notes: list[str] = []
        self._log = open(path, "a") if path else None

    def close(self) -> None:
        if self._log:
            self._log.close()
            self._log = None

    def _record(self, entry: dict[str, Any]) -> None:
        self.ops.append(entry)
        if self._log:
            self._log.write(json.dumps(entry, default=str) + "\n")
            self._log.flush()

    def live(self) -> list[Placement]:
        return [p for p in self.placements if p.superseded is None]

    def by_digest(self, digest: str) -> list[Placement]:
        return [p for p in self.placements if p.digest == digest]

    def supersede(self, clone: str, rnd: int, path: str, seen: str | None, kind: str, what: str) -> None:
        """Clone `clone` overwrote/deleted/renamed `path`, where it had the bytes `seen`."""
        if seen is None:
            self.notes.append(f"r{rnd} {clone}: {kind} of {path!r} without knowing what was there")
            return
        same = [p for p in self.live() if p.digest == seen and p.base == base_name(path)]
        if not same:
            same = [p for p in self.live() if p.digest == seen]
            if same:
                self.notes.append(f"r{rnd} {clone}: {kind} of {path!r}: its bytes were placed as "
                                  + ", ".join(repr(p.path) for p in same))
        for p in same:
            p.superseded, p.superseded_kind = f"{what} in {clone} r{rnd}", kind

    def place(self, clone: str, rnd: int, path: str, digest: str, size: int, how: str) -> Placement:
        p = Placement(len(self.placements), path, digest, size, clone, rnd, how, time.time())
        self.placements.append(p)
        return p

    def op(self, clone: str, rnd: int, kind: str, path: str, seen: str | None = None, **extra: Any) -> None:
        self._record({"t": round(time.time(), 4), "round": rnd, "clone": clone, "op": kind, "path": path,
                      "seen": seen[:16] if seen else None, **extra})


# -- what a clone has at a path ---------------------------------------------------------------------
_KEY = re.compile(r"^([A-Z0-9]+)-s(\d+)(?:-[a-zA-Z]\d+)*--(.+)$")


def key_info(key: str) -> tuple[str | None, int | None]:
    """(sha256 hex, size) from a git-annex key (SHA256E-s12--HEX.ext); (None, size) for others."""
    m = _KEY.match(key.strip())
    if not m:
        return None, None
    size = int(m.group(2))
    if m.group(1).startswith("SHA256") and re.match(r"[0-9a-f]{64}", m.group(3)):
        return m.group(3)[:64], size
    return None, size


def pointer_key(data: bytes) -> str | None:
    """The key of an unlocked file's pointer (`/annex/objects/KEY`), else None."""
    if len(data) < 512 and data.startswith(b"/annex/objects/"):
        return data.split(b"\n", 1)[0][len(b"/annex/objects/"):].decode(errors="replace")
    return None


def symlink_key(target: str) -> str | None:
    return os.path.basename(target) if "/annex/objects/" in target else None


def seen_digest(root: Path, rel: str) -> str | None:
    """What the user finds at `rel`: the sha256 of its bytes; for a pointer file or an annex
    symlink whose content is not here, the sha256 its key names; None if unreadable/absent."""
    p = root / rel
    try:
        st = os.lstat(p)
        if stat.S_ISLNK(st.st_mode):
            target = os.readlink(p)
            key = symlink_key(target)
            return key_info(key)[0] if key else "symlink:" + target
        if not stat.S_ISREG(st.st_mode):
            return None
        with open(p, "rb") as f:
            data = f.read()
    except OSError:
        return None
    key = pointer_key(data)
    if key:
        return key_info(key)[0]
    return hashlib.sha256(data).hexdigest()


def walk_files(root: Path) -> dict[str, int]:
    """rel path -> size (regular files) or -1 (symlinks) of the work tree, `.git` left out;
    other special files (FIFOs, sockets) are left out too."""
    out: dict[str, int] = {}
    for dirpath, dirnames, filenames in os.walk(root):
        if dirpath == str(root):
            dirnames[:] = [d for d in dirnames if d != ".git"]
        rel_dir = os.path.relpath(dirpath, root)
        for d in list(dirnames):  # symlinks to folders are files for git
            if os.path.islink(os.path.join(dirpath, d)):
                dirnames.remove(d)
                filenames.append(d)
        for name in filenames:
            full = os.path.join(dirpath, name)
            rel = name if rel_dir == "." else f"{rel_dir}/{name}"
            try:
                st = os.lstat(full)
            except OSError:
                continue
            if stat.S_ISLNK(st.st_mode):
                out[rel] = -1
            elif stat.S_ISREG(st.st_mode):
                out[rel] = st.st_size
    return out


# -- processes -----------------------------------------------------------------------------------
def procs_under(folder: Path) -> list[int]:
    """Live processes (not zombies) whose cwd is inside `folder`, or that are the guard of a
    daemon of ours started there (found by cwd too)."""
    prefix = str(folder.resolve())
    out = []
    for name in os.listdir("/proc"):
        if not name.isdigit() or int(name) == os.getpid():
            continue
        try:
            cwd = os.readlink(f"/proc/{name}/cwd")
            with open(f"/proc/{name}/stat") as f:
                state = f.read().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if state != "Z" and (cwd == prefix or cwd.startswith(prefix + "/")):
            out.append(int(name))
    return out


def owner_marked(pid: int) -> list[int]:
    """Live processes carrying our daemon `pid`'s mark (SYNCASSISTANT_OWNER=pid.start)."""
    needle = f"\0SYNCASSISTANT_OWNER={pid}.".encode()
    out = []
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/environ", "rb") as f:
                env = b"\0" + f.read()
            with open(f"/proc/{name}/stat") as f:
                state = f.read().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if needle in env and state != "Z":
            out.append(int(name))
    return out


def session_members(sid: int) -> list[int]:
    return [pid for pid, f in _all_stats().items() if int(f[3]) == sid and f[0] != "Z"]


def guard_of(pid: int) -> list[int]:
    out = []
    for p in _all_stats():
        cmd = proc_cmdline(p)
        if "syncassistant.engine.proc.reaper" in cmd and f" {pid}." in cmd:
            out.append(p)
    return out


def kill_pids(pids: list[int]) -> None:
    for p in pids:
        with contextlib.suppress(OSError):
            os.kill(p, signal.SIGKILL)


# -- the run -------------------------------------------------------------------------------------
class Run:
    """One scenario on one system: the work dir, the environment, the clones and their daemons."""

    def __init__(self, opts: Options):
        self.opts = opts
        self.dir = Path(tempfile.mkdtemp(prefix=f"chaos-{opts.scenario}-{opts.system}-s{opts.seed}-",
                                         dir=opts.workdir)).resolve()
        self.env = make_env(self.dir)
        self.env["GIT_CONFIG_GLOBAL"] = str(self.dir / "gitconfig")
        with open(self.dir / "gitconfig", "a") as f:
            f.write("[safe]\n\tdirectory = *\n")
        self.logs = self.dir / "logs"
        self.logs.mkdir()
        self.clones: list[Clone] = []
        self.ledger = Ledger(self.logs / "ledger.jsonl")
        self.anomalies: list[str] = []
        self.orphans_after_kill: list[dict[str, Any]] = []
        self.self_exits: list[str] = []
        self.kills = 0
        self.mounts: list[Path] = []
        self.extra: dict[str, Any] = {}
        self.code = self._pin_code(opts.code) if opts.code else None

    def _pin_code(self, rev: str) -> str:
        """Run the daemons on the package as of commit `rev` (a snapshot in the run dir), not on
        the editable install's work tree, which may change during a run."""
        repo = Path(__file__).resolve().parent.parent
        commit = subprocess.run(["git", "-C", str(repo), "rev-parse", "--short", rev], capture_output=True,
                                text=True, check=True).stdout.strip()
        snap = self.dir / "code"
        snap.mkdir()
        tar = subprocess.run(["git", "-C", str(repo), "archive", "--format=tar", commit, "syncassistant"],
                             capture_output=True, check=True).stdout
        subprocess.run(["tar", "-x", "-C", str(snap)], input=tar, capture_output=True, check=True)
        self.env["PYTHONPATH"] = str(snap)
        return commit

    def say(self, msg: str) -> None:
        if not self.opts.quiet:
            note(msg)

    def anomaly(self, msg: str) -> None:
        self.anomalies.append(msg)
        self.say("ANOMALY: " + msg.splitlines()[0])

    def run(self, *cmd: str | Path, cwd: Path | None = None, timeout: float = 300, check: bool = True,
            input: bytes | None = None) -> subprocess.CompletedProcess[bytes]:
        """A command (argv, never a shell), output as bytes."""
        r = subprocess.run([str(c) for c in cmd], cwd=cwd, env=self.env, capture_output=True, timeout=timeout,
                           input=input, stdin=None if input is not None else subprocess.DEVNULL)
        if check and r.returncode:
            raise RuntimeError(f"{' '.join(map(str, cmd))} (in {cwd}) -> {r.returncode}\n"
                               f"{r.stdout.decode(errors='replace')}\n{r.stderr.decode(errors='replace')}")
        return r

    def git(self, repo: Path, *args: str, timeout: float = 300, check: bool = True) -> str:
        return self.run("git", *args, cwd=repo, timeout=timeout, check=check).stdout.decode(errors="replace")

    # -- building -------------------------------------------------------------------------------
    def build(self, n: int, tmpfs_last_mib: int = 0) -> None:
        """n clones A, B, C...; each a remote of every other by path. The last one on a tmpfs
        of `tmpfs_last_mib` MiB if asked (and possible)."""
        names = [chr(ord("A") + i) for i in range(n)]
        paths = []
        for i, name in enumerate(names):
            parent = self.dir
            if tmpfs_last_mib and i == n - 1:
                parent = self.dir / f"tmpfs-{name}"
                parent.mkdir()
                r = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={tmpfs_last_mib}m", "tmpfs", str(parent)],
                                   capture_output=True, text=True, timeout=30)
                if r.returncode:
                    self.say(f"no tmpfs ({r.stderr.strip()}): the full-disk step is skipped")
                    self.extra["tmpfs"] = None
                else:
                    self.mounts.append(parent)
                    self.extra["tmpfs"] = str(parent)
                    self.extra["tmpfs_mib"] = tmpfs_last_mib
            paths.append(parent / name)
        system = self.opts.system
        for i, (name, path) in enumerate(zip(names, paths, strict=True)):
            if i == 0:
                if system == "ours":
                    self.run(SYNCASSISTANT, "init", path, "--name", name)
                else:
                    self.run("git", "init", "-q", path)
                    self.git(path, "annex", "init", "-q", name)
                    self.git(path, "config", "annex.addunlocked", "true")
                    self.git(path, "commit", "-q", "--allow-empty", "-m", "init")
            else:
                self.run("git", "clone", "-q", "-o", names[0].lower(), paths[0], path)
                if system == "ours":
                    self.run(SYNCASSISTANT, "init", path, "--name", name)
                else:
                    self.git(path, "annex", "init", "-q", name)
                    self.git(path, "config", "annex.addunlocked", "true")
            if system == "assistant":
                self.git(path, "annex", "wanted", ".", "standard")
                self.git(path, "annex", "group", ".", "client")
        for i, path in enumerate(paths):
            have = set(self.git(path, "remote").split())
            for j, other in enumerate(paths):
                if i != j and names[j].lower() not in have:
                    self.git(path, "remote", "add", names[j].lower(), str(other))
        if system == "assistant":  # exchange git-annex branches once (uuids, groups), as bench_sync does
            for path in paths + paths[:1]:
                self.git(path, "annex", "sync", "-q", timeout=600)
        if self.extra.get("tmpfs"):
            # git-annex keeps 100 MB free by default (annex.diskreserve) and refuses to add or get
            # anything below that: on a small disk, only that refusal would be tested
            self.git(paths[-1], "config", "annex.diskreserve", "1MB")
        for name, path in zip(names, paths, strict=True):
            self.clones.append(Clone(self, name, path))

    # -- daemons ----------------------------------------------------------------------------------
    def start_all(self) -> None:
        for c in self.clones:
            c.daemon.start()
        for c in self.clones:
            if not c.daemon.wait_up(90):
                self.anomaly(f"{c.name}: daemon not up 90 s after start:\n{c.daemon.log_tail()}")

    def check_alive(self) -> None:
        """A daemon that ended on its own is restarted (and counted)."""
        for c in self.clones:
            d = c.daemon
            if d.proc is not None and d.proc.poll() is not None and not d.killed_by_us:
                msg = f"{c.name}: {d.kind} daemon exited by itself (status {d.proc.returncode})"
                self.self_exits.append(msg)
                self.anomaly(msg + ":\n" + d.log_tail())
                d.start()
                d.wait_up(60)

    def stop_all(self) -> None:
        for c in self.clones:
            with contextlib.suppress(Exception):
                c.daemon.stop()

    def leftovers(self, wait: float = 10.0) -> list[str]:
        """Processes still running with their cwd in the run dir, `wait` s after the daemons
        stopped; they are then killed (they are our run's)."""
        end = time.monotonic() + wait
        pids = procs_under(self.dir)
        while pids and time.monotonic() < end:
            time.sleep(0.5)
            pids = procs_under(self.dir)
        out = [f"{p} {proc_cmdline(p)[:200]}" for p in pids]
        kill_pids(pids)
        return out

    def unmount(self) -> None:
        for m in self.mounts:
            subprocess.run(["umount", "-l", str(m)], capture_output=True, timeout=60)
        self.mounts.clear()

    # -- convergence ------------------------------------------------------------------------------
    def snapshot(self) -> dict[str, Any]:
        """What each clone has now: HEAD tree, work tree vs tree, idle (ours)."""
        snap: dict[str, Any] = {"clones": {}}
        for c in self.clones:
            s: dict[str, Any] = {}
            r = self.run("git", "rev-parse", "HEAD^{tree}", cwd=c.path, check=False, timeout=60)
            s["tree"] = r.stdout.decode().strip() if r.returncode == 0 else None
            s["status"] = c.daemon.status()
            snap["clones"][c.name] = s
        trees = {s["tree"] for s in snap["clones"].values()}
        snap["same_tree"] = len(trees) == 1 and None not in trees
        if snap["same_tree"]:
            entries = tree_entries(self, self.clones[0].path)
            snap["entries"] = len(entries)
            problems = {}
            for c in self.clones:
                p = worktree_problems(c.path, entries, quick=True)
                if p:
                    problems[c.name] = p
            snap["worktree_problems"] = problems
        idle = [s["status"].get("idle") for s in snap["clones"].values()]
        snap["idle"] = all(i is True for i in idle) if self.opts.system == "ours" else None
        return snap

    def wait_converged(self, deadline: float) -> tuple[bool, float, dict[str, Any]]:
        """Until every clone has the same HEAD tree, its work tree matches it (every file there,
        full size, no pointer file), ours all say idle (the assistant: CPU settled), twice in a
        row 1 s apart; or the deadline."""
        t0 = time.monotonic()
        stable_since: float | None = None
        last: dict[str, Any] = {}
        prev_tree = None
        cpu_prev = self.cpu()
        idle_not_converged = 0
        while True:
            self.check_alive()
            snap = self.snapshot()
            cpu_now = self.cpu()
            settled = cpu_now - cpu_prev < 0.05 * len(self.clones)
            cpu_prev = cpu_now
            tree = next(iter(snap["clones"].values()))["tree"]
            ok = snap["same_tree"] and not snap.get("worktree_problems") and \
                (snap["idle"] if self.opts.system == "ours" else settled)
            if self.opts.system == "ours" and snap["idle"] and not ok:
                idle_not_converged += 1
            if ok and tree == prev_tree:
                if stable_since is not None:
                    last = snap
                    last["idle_but_not_converged_polls"] = idle_not_converged
                    return True, stable_since - t0, last
                stable_since = time.monotonic()
            elif ok:
                stable_since = time.monotonic()
            else:
                stable_since = None
            prev_tree = tree if ok else None
            last = snap
            if time.monotonic() - t0 > deadline:
                last["idle_but_not_converged_polls"] = idle_not_converged
                return False, time.monotonic() - t0, last
            time.sleep(1.0)

    def cpu(self) -> float:
        return sum(c.daemon.cpu() for c in self.clones)


class Clone:
    def __init__(self, run: Run, name: str, path: Path):
        self.run = run
        self.name = name
        self.path = path
        self.daemon: Daemon = (Ours if run.opts.system == "ours" else Assistant)(run, self)


class Daemon:
    kind = "?"

    def __init__(self, run: Run, clone: Clone):
        self.run = run
        self.clone = clone
        self.logpath = run.logs / f"{self.kind}-{clone.name}.log"
        self.proc: subprocess.Popen[bytes] | None = None
        self.killed_by_us = False
        self.starts = 0

    def argv(self) -> list[str]:
        raise NotImplementedError

    def mark(self, msg: str) -> None:
        with open(self.logpath, "a") as f:
            f.write(f"{datetime.datetime.now().strftime('%Y-%m-%d %H:%M:%S,%f')[:23]} CHAOS {msg}\n")

    def start(self) -> None:
        self.killed_by_us = False
        with open(self.logpath, "ab") as log:
            self.proc = subprocess.Popen(self.argv(), cwd=self.clone.path, env=self.run.env,
                                         stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                                         start_new_session=True)
        self.starts += 1
        self.mark(f"started pid {self.proc.pid}")

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def is_up(self) -> bool:
        raise NotImplementedError

    def wait_up(self, timeout: float) -> bool:
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if not self.alive():
                return False
            if self.is_up():
                return True
            time.sleep(0.05)
        return False

    def status(self) -> dict[str, Any]:
        return {}

    def cpu(self) -> float:
        return tree_cpu(self.proc.pid) if self.alive() and self.proc else 0.0

    def log_tail(self, n: int = 20) -> str:
        try:
            lines = self.logpath.read_text(errors="replace").splitlines()
        except OSError:
            return "(no log)"
        return "\n".join("    | " + line for line in lines[-n:])

    def kill(self, group: bool, rnd: int) -> list[str]:
        """SIGKILL the daemon (or its whole process group); wait for it; what of it is still
        running 3 s later (its session's members, processes with its mark, its guard)."""
        assert self.proc is not None
        pid = self.proc.pid
        self.killed_by_us = True
        self.mark(f"SIGKILL {'process group' if group else 'main process'} {pid} (round {rnd})")
        try:
            if group:
                os.killpg(pid, signal.SIGKILL)
            else:
                os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.proc.wait(30)
        self.run.kills += 1
        end = time.monotonic() + 3.0
        left: list[int] = []
        while time.monotonic() < end:
            left = sorted(set(session_members(pid)) | set(owner_marked(pid)) | set(guard_of(pid)))
            if not left:
                break
            time.sleep(0.1)
        out = [f"{p} {proc_cmdline(p)[:160]}" for p in left]
        if out:
            self.mark("left after the kill: " + "; ".join(out))
        return out

    def stop(self) -> None:
        if self.proc is None:
            return
        pid = self.proc.pid
        if self.proc.poll() is None:
            self.killed_by_us = True
            self.mark("stop")
            try:
                self._ask_to_stop()
                self.proc.wait(60)
            except Exception as e:
                self.run.anomaly(f"{self.clone.name}: {self.kind} daemon did not stop when asked ({e}); killed")
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pid, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.proc.wait(10)

    def _ask_to_stop(self) -> None:
        raise NotImplementedError


class Ours(Daemon):
    kind = "ours"

    def argv(self) -> list[str]:
        return [SYNCASSISTANT, *(["-v"] if self.run.opts.verbose else []), "daemon", "--foreground",
                str(self.clone.path)]

    def status(self) -> dict[str, Any]:
        """`syncassistant status --json`'s answer, asked on the control socket directly (the CLI
        costs a Python start per poll); {"state": "not running"} when it does not answer."""
        state_dir = self.clone.path / ".git" / "syncassistant"
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(20)
        try:
            fd = os.open(state_dir, os.O_RDONLY | os.O_DIRECTORY)
            try:
                sock.connect(f"/proc/self/fd/{fd}/control.sock")
            finally:
                os.close(fd)
            sock.sendall(b'{"cmd": "status"}\n')
            data = b""
            while not data.endswith(b"\n"):
                chunk = sock.recv(65536)
                if not chunk:
                    break
                data += chunk
            return json.loads(data)["status"]
        except (OSError, ValueError, KeyError):
            return {"state": "not running"}
        finally:
            sock.close()

    def is_up(self) -> bool:
        return self.proc is not None and self.status().get("pid") == self.proc.pid

    def _ask_to_stop(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGTERM)


class Assistant(Daemon):
    kind = "assistant"

    def argv(self) -> list[str]:
        return [GIT_ANNEX, "assistant", "--foreground"]

    def is_up(self) -> bool:
        try:
            pid = (self.clone.path / ".git/annex/daemon.pid").read_text().split()[0]
        except (OSError, IndexError):
            return False
        return self.proc is not None and pid == str(self.proc.pid)

    def _ask_to_stop(self) -> None:
        subprocess.run([GIT_ANNEX, "assistant", "--stop"], cwd=self.clone.path, env=self.run.env,
                       capture_output=True, timeout=60)


# -- the converged tree ------------------------------------------------------------------------------
@dataclasses.dataclass
class Entry:
    path: str
    mode: str
    digest: str | None  # sha256 hex of the content; "symlink:" + target for a plain symlink
    size: int | None
    key: str | None


def tree_entries(run: Run, repo: Path, rev: str = "HEAD") -> dict[str, Entry]:
    """Every file of `rev`'s tree with the sha256 of its content (from its annex key, or from the
    blob for a file kept in git)."""
    raw = run.run("git", "ls-tree", "-r", "-z", "--full-tree", rev, cwd=repo, timeout=120).stdout
    items = []
    for rec in raw.split(b"\0"):
        if not rec:
            continue
        meta, _, path = rec.partition(b"\t")
        mode, typ, oid = meta.decode().split()
        if typ == "blob":
            items.append((os.fsdecode(path), mode, oid))
    blobs = read_blobs(run, repo, [oid for _, _, oid in items])
    out = {}
    for path, mode, oid in items:
        data = blobs.get(oid, b"")
        if mode == "120000":
            target = os.fsdecode(data)
            key = symlink_key(target)
            if key:
                digest, size = key_info(key)
                out[path] = Entry(path, mode, digest, size, key)
            else:
                out[path] = Entry(path, mode, "symlink:" + target, None, None)
            continue
        key = pointer_key(data)
        if key:
            digest, size = key_info(key)
            out[path] = Entry(path, mode, digest, size, key)
        else:
            out[path] = Entry(path, mode, hashlib.sha256(data).hexdigest(), len(data), None)
    return out


def read_blobs(run: Run, repo: Path, oids: list[str]) -> dict[str, bytes]:
    if not oids:
        return {}
    uniq = list(dict.fromkeys(oids))
    out_raw = run.run("git", "cat-file", "--batch", cwd=repo, input="\n".join(uniq).encode() + b"\n",
                      timeout=120).stdout
    out, pos = {}, 0
    for oid in uniq:
        nl = out_raw.index(b"\n", pos)
        header = out_raw[pos:nl].split()
        size = int(header[2])
        out[oid] = out_raw[nl + 1:nl + 1 + size]
        pos = nl + 1 + size + 1
    return out


def worktree_problems(root: Path, entries: dict[str, Entry], quick: bool) -> list[str]:
    """How the work tree differs from the tree: files missing, not yet filled in (pointer
    files), other sizes or (quick=False) other bytes; files not in the tree."""
    have = walk_files(root)
    problems = []
    for path, e in entries.items():
        full = root / path
        if path not in have:
            problems.append(f"missing {path!r}")
            continue
        if e.mode == "120000":
            if e.key:
                try:
                    with open(full, "rb") as f:
                        data = f.read()
                except OSError:
                    problems.append(f"no content {path!r}")
                    continue
                if not quick and hashlib.sha256(data).hexdigest() != e.digest:
                    problems.append(f"other bytes {path!r}")
            elif have[path] != -1 or "symlink:" + os.readlink(full) != e.digest:
                problems.append(f"other symlink {path!r}")
            continue
        if have[path] == -1:
            problems.append(f"symlink instead of a file {path!r}")
            continue
        if e.size is not None and have[path] != e.size:
            problems.append(f"size {have[path]} not {e.size} {path!r}" + (" (pointer)" if have[path] < 512 else ""))
            continue
        if not quick:
            try:
                with open(full, "rb") as f:
                    got = hashlib.sha256(f.read()).hexdigest()
            except OSError as err:
                problems.append(f"unreadable {path!r}: {err}")
                continue
            if got != e.digest:
                problems.append(f"other bytes {path!r}")
    for path in have:
        if path not in entries:
            problems.append(f"not in the tree {path!r}")
    return problems


# -- operations ------------------------------------------------------------------------------------
class Ops:
    """A user's operations on the clones, each recorded in the ledger."""

    FILE_NAMES = [f"f{i:02d}{ext}" for i, ext in zip(range(40), [".txt", ".bin", ".md", "", ".dat"] * 8, strict=True)]
    DIR_NAMES = [f"d{i}" for i in range(8)]

    def __init__(self, run: Run, rng: random.Random):
        self.run = run
        self.rng = rng
        self.ledger = run.ledger
        self.n = 0
        self.rnd = 0

    def content(self, clone: str, path: str, size: int) -> bytes:
        """Unique bytes: a header naming the write, then random bytes up to `size`."""
        self.n += 1
        head = f"chaos seed={self.run.opts.seed} round={self.rnd} clone={clone} write={self.n} path={path!r}\n"
        data = head.encode(errors="surrogateescape")
        return data + self.rng.randbytes(max(0, size - len(data)))

    def files(self, clone: Clone) -> list[str]:
        return sorted(p for p, s in walk_files(clone.path).items() if s >= 0)

    def dirs(self, clone: Clone) -> list[str]:
        out = []
        for p in self.files(clone):
            if "/" in p:
                out.append(p.split("/", 1)[0])
        return sorted(set(out))

    def size(self, big: bool) -> int:
        return self.rng.randint(1 * MiB, 3 * MiB) if big else self.rng.randint(16, 4096)

    def write(self, clone: Clone, rel: str, data: bytes, how: str = "auto") -> bool:
        """Write `data` at `rel` (folders made as needed), in place or by rename-over; supersede
        what the clone had there (read just before the bytes land). False if the write failed."""
        full = clone.path / rel
        if how == "auto":
            how = self.rng.choice(["inplace", "rename"])
        try:
            full.parent.mkdir(parents=True, exist_ok=True)
            if how == "rename":
                tmp = full.parent / f".{full.name[:200]}.chaos-tmp{self.n}"
                with open(tmp, "wb") as f:
                    f.write(data)
                seen = seen_digest(clone.path, rel)
                if os.path.isdir(full) and not os.path.islink(full):
                    os.unlink(tmp)
                    return False
                os.rename(tmp, full)
            else:
                seen = seen_digest(clone.path, rel)
                if os.path.islink(full):  # a locked file: the user replaces the link
                    os.unlink(full)
                with open(full, "wb") as f:
                    f.write(data)
        except OSError as e:
            self.ledger.op(clone.name, self.rnd, "write-failed", rel, None, error=str(e))
            return False
        digest = hashlib.sha256(data).hexdigest()
        if seen is not None:
            self.ledger.supersede(clone.name, self.rnd, rel, seen, "overwrite", f"overwrite ({how})")
        self.ledger.place(clone.name, self.rnd, rel, digest, len(data), "write")
        self.ledger.op(clone.name, self.rnd, "write", rel, seen, how=how, size=len(data), digest=digest[:16])
        return True

    def delete(self, clone: Clone, rel: str) -> bool:
        seen = seen_digest(clone.path, rel)
        try:
            os.unlink(clone.path / rel)
        except OSError:
            return False
        self.ledger.supersede(clone.name, self.rnd, rel, seen, "delete", "delete")
        self.ledger.op(clone.name, self.rnd, "delete", rel, seen)
        self._prune(clone, rel)
        return True

    def rename(self, clone: Clone, rel: str, new: str) -> bool:
        src, dst = clone.path / rel, clone.path / new
        if os.path.lexists(dst):
            return False
        seen = seen_digest(clone.path, rel)
        try:
            dst.parent.mkdir(parents=True, exist_ok=True)
            os.rename(src, dst)
        except OSError:
            return False
        self.ledger.supersede(clone.name, self.rnd, rel, seen, "rename", f"rename to {new!r}")
        if seen is not None:
            size = os.lstat(dst).st_size
            self.ledger.place(clone.name, self.rnd, new, seen, size, f"rename from {rel!r}")
        self.ledger.op(clone.name, self.rnd, "rename", rel, seen, to=new)
        self._prune(clone, rel)
        return True

    def _prune(self, clone: Clone, rel: str) -> None:
        """Remove folders left empty (git does not keep them)."""
        parent = (clone.path / rel).parent
        while parent != clone.path:
            try:
                parent.rmdir()
            except OSError:
                return
            parent = parent.parent

    # -- the kill scenario's mix --
    def random_op(self, clone: Clone, big_ok: bool) -> str:
        r = self.rng.random()
        files = self.files(clone)
        files = [f for f in files if ".chaos-tmp" not in f]
        if r < 0.25 or not files:
            rel = self._new_name(clone)
            self.write(clone, rel, self.content(clone.name, rel, self.size(False)))
            return f"new {rel}"
        if r < 0.35 and big_ok:
            rel = self._new_name(clone)
            self.write(clone, rel, self.content(clone.name, rel, self.size(True)))
            return f"new big {rel}"
        if r < 0.60:
            rel = self.rng.choice(files)
            try:
                big = os.path.getsize(clone.path / rel) > 512 * 1024 and big_ok
            except OSError:
                big = False
            self.write(clone, rel, self.content(clone.name, rel, self.size(big)))
            return f"modify {rel}"
        if r < 0.70:
            rel = self.rng.choice(files)
            new = self._new_name(clone)
            return f"rename {rel} -> {new}" if self.rename(clone, rel, new) else "rename skipped"
        if r < 0.80:
            rel = self.rng.choice(files)
            return f"delete {rel}" if self.delete(clone, rel) else "delete skipped"
        if r < 0.90:
            d = self.rng.choice(self.DIR_NAMES)
            k = self.rng.randint(1, 4)
            for _ in range(k):
                rel = f"{d}/{self.rng.choice(self.FILE_NAMES)}"
                if os.path.isdir(clone.path / rel):
                    continue
                self.write(clone, rel, self.content(clone.name, rel, self.size(False)))
            return f"folder {d} ({k} files)"
        dirs = self.dirs(clone)
        if not dirs:
            return "no folder"
        d = self.rng.choice(dirs)
        inside = [f for f in files if f.startswith(d + "/")]
        if r < 0.96:
            new = self.rng.choice(self.DIR_NAMES)
            if os.path.lexists(clone.path / new):
                return "folder rename skipped"
            for f in inside:
                self.rename(clone, f, new + f[len(d):])
            return f"rename folder {d} -> {new}"
        for f in inside:
            self.delete(clone, f)
        return f"delete folder {d}"

    def _new_name(self, clone: Clone) -> str:
        for _ in range(20):
            name = self.rng.choice(self.FILE_NAMES)
            rel = name if self.rng.random() < 0.6 else f"{self.rng.choice(self.DIR_NAMES)}/{name}"
            if not os.path.lexists(clone.path / rel):
                return rel
        return f"{self.rng.choice(self.DIR_NAMES)}/n{self.n}.txt"


# -- scenarios -------------------------------------------------------------------------------------
def scenario_kill(run: Run, rng: random.Random) -> None:
    o = run.opts
    rounds = o.rounds or DEFAULT_ROUNDS["kill"]
    kill_rounds = set(range(rounds)) if o.kills is None else set(rng.sample(range(rounds), min(o.kills, rounds)))
    ops = Ops(run, rng)
    for r in range(rounds):
        ops.rnd = r
        run.check_alive()
        did = []
        for _ in range(rng.randint(1, 3)):
            clone = rng.choice(run.clones)
            did.append(f"{clone.name}: {ops.random_op(clone, o.big)}")
        delay = rng.uniform(0, 0.3)
        victim = rng.choice(run.clones)
        group = rng.random() < 0.5
        pause = rng.uniform(0, 1.0)
        if r in kill_rounds:
            time.sleep(delay)
            left = victim.daemon.kill(group, r)
            if left:
                run.orphans_after_kill.append({"round": r, "clone": victim.name, "group": group, "left": left})
            victim.daemon.start()
            up = victim.daemon.wait_up(60)
            run.say(f"round {r}: {'; '.join(did)}; killed {victim.name} ({'group' if group else 'main'}) "
                    f"after {delay * 1000:.0f} ms{'' if up else ', NOT up in 60 s'}"
                    + (f"; {len(left)} processes left 3 s after the kill" if left else ""))
        else:
            run.say(f"round {r}: {'; '.join(did)}")
        time.sleep(pause)


STORM_PATHS = ["s0.txt", "s1.md", "s2", "sub/s3.txt", "sub/deeper/s4.bin"]


def scenario_storm(run: Run, rng: random.Random) -> None:
    rounds = run.opts.rounds or DEFAULT_ROUNDS["storm"]
    ops = Ops(run, rng)
    for r in range(rounds):
        ops.rnd = r
        run.check_alive()
        k = rng.choice([2, 3]) if len(run.clones) >= 3 else 2
        chosen = rng.sample(run.clones, k)
        plan = []
        for c in chosen:
            for _ in range(rng.randint(1, 2)):
                plan.append((rng.uniform(0, 0.05), c, rng.choice(STORM_PATHS), rng.random()))
        plan.sort(key=lambda x: x[0])
        t0 = time.monotonic()
        did = []
        for at, c, rel, x in plan:
            time.sleep(max(0.0, t0 + at - time.monotonic()))
            if x < 0.2 and os.path.lexists(c.path / rel):
                if ops.delete(c, rel):
                    did.append(f"{c.name} del {rel}")
            else:
                if ops.write(c, rel, ops.content(c.name, rel, rng.randint(16, 2048))):
                    did.append(f"{c.name} write {rel}")
        run.say(f"round {r}: " + ", ".join(did))
        time.sleep(rng.uniform(0.05, 1.0))


def odd_names() -> list[str]:
    return [
        "with space.txt",
        " leading space.txt",
        "trailing space.txt ",
        "new\nline.txt",
        "tab\there.txt",
        "ünïcödé-日本語-ε.txt",
        "emoji-😀.txt",
        "-leading-dash.txt",
        "--",
        "-rf",
        "#hash.txt",
        "quote'\"both.txt",
        "back\\slash.txt",
        "glob*?[x].txt",
        "dollar$(echo hi).txt",
        "semi;colon|pipe&amp.txt",
        "a" * 251 + ".txt",  # 255 bytes
        "日" * 85,  # 255 bytes of UTF-8
        "x" * 240 + ".variant-ab.txt",  # a name that looks like a variant, near the limit
        "dir with space/-dash inside.txt",
        "ünï dir/new\nline inside.txt",
        "CON",
        ".hidden",
    ]


def scenario_badinput(run: Run, rng: random.Random) -> None:
    ops = Ops(run, rng)
    a, b = run.clones[0], run.clones[1]
    ops.rnd = 0
    for rel in odd_names():
        ops.write(a, rel, ops.content(a.name, rel, rng.randint(16, 600)), how="inplace")
    run.say(f"badinput: {len(odd_names())} odd names written in {a.name}")

    # B edits half of them once they are there, renames one odd name to another
    want = odd_names()[::2]
    written = {p.path: p.digest for p in run.ledger.placements}
    end = time.monotonic() + 60
    while time.monotonic() < end and not all(seen_digest(b.path, rel) == written[rel] for rel in want):
        time.sleep(0.5)
    ops.rnd = 1
    arrived = [rel for rel in want if seen_digest(b.path, rel) == written[rel]]
    run.extra["odd_names_in_B_before_edit"] = f"{len(arrived)}/{len(want)}"
    for rel in arrived:
        ops.write(b, rel, ops.content(b.name, rel, rng.randint(16, 600)))
    if os.path.lexists(b.path / odd_names()[1]):
        ops.rename(b, odd_names()[1], "renamed ünï\nname -.txt")
    run.say(f"badinput: {len(arrived)} of them edited in {b.name}, one renamed")

    # special files in A: a FIFO (opening it blocks), a dangling symlink, a file and a folder
    # of mode 000 (root reads them anyway: only what the daemon does with the modes is seen)
    ops.rnd = 2
    os.mkfifo(a.path / "a fifo")
    os.symlink("/nonexistent/chaos-target", a.path / "dangling link")
    ops.ledger.place(a.name, 2, "dangling link", "symlink:/nonexistent/chaos-target", 0, "write")
    ops.write(a, "mode000.txt", ops.content(a.name, "mode000.txt", 100), how="inplace")
    os.chmod(a.path / "mode000.txt", 0)
    ops.write(a, "closed dir/inside.txt", ops.content(a.name, "closed dir/inside.txt", 100), how="inplace")
    os.chmod(a.path / "closed dir", 0)
    ops.write(a, "after-specials.txt", ops.content(a.name, "after-specials.txt", 100))
    run.say("badinput: FIFO, dangling symlink, mode-000 file and folder in A")

    # a full disk: the last clone's tmpfs filled up while A adds 4 MiB and it edits a file itself
    full = run.clones[-1]
    tmpfs = run.extra.get("tmpfs")
    if tmpfs and len(run.clones) >= 3:
        ops.rnd = 3
        time.sleep(3)
        st = os.statvfs(tmpfs)
        free = st.f_bavail * st.f_frsize
        filler = Path(tmpfs) / "filler"
        with open(filler, "wb") as f:
            with contextlib.suppress(OSError):
                f.write(b"\0" * max(0, free - 512 * 1024))
        run.extra["full_disk_free_after_fill"] = os.statvfs(tmpfs).f_bavail * os.statvfs(tmpfs).f_frsize
        ops.write(a, "big-while-full.bin", ops.content(a.name, "big-while-full.bin", 4 * MiB))
        for i in range(3):
            ops.write(a, f"small-while-full-{i}.txt", ops.content(a.name, "small", 200))
        ok = ops.write(full, "edit-on-full-disk.txt", ops.content(full.name, "edit-on-full-disk.txt", 300 * 1024))
        run.extra["user_write_on_full_disk"] = "ok" if ok else "failed (ENOSPC)"
        if not ok:
            with contextlib.suppress(OSError):
                os.unlink(full.path / "edit-on-full-disk.txt")
        time.sleep(20)
        run.extra["status_while_full"] = {c.name: summarize_status(c.daemon.status()) for c in run.clones}
        run.extra["log_errors_while_full"] = log_errors(full.daemon.logpath)[-8:]
        run.say(f"badinput: {full.name}'s disk full 20 s: status {run.extra['status_while_full'][full.name]}")
        filler.unlink()
        run.say(f"badinput: {full.name}'s disk freed")
    else:
        run.extra["full_disk"] = "skipped (no tmpfs or fewer than 3 clones)"


def summarize_status(s: dict[str, Any]) -> dict[str, Any]:
    if not s:
        return {}
    return {"state": s.get("state"), "idle": s.get("idle"), "busy": s.get("busy"), "errors": s.get("errors"),
            "remote_errors": {r["name"]: r["error"] for r in s.get("remotes", []) if r.get("error")},
            "failed_transfers": [f"{t.get('direction')} {t.get('file')}: {str(t.get('error'))[:120]}"
                                 for t in s.get("transfers", []) if t.get("state") == "failed"][:5],
            "queues": s.get("queues")}


def log_errors(path: Path) -> list[str]:
    try:
        lines = path.read_text(errors="replace").splitlines()
    except OSError:
        return []
    return [ln[:300] for ln in lines if re.search(r"ERROR|WARNING|No space|failed|error:", ln)]


# -- the checks ------------------------------------------------------------------------------------
def check(run: Run, converged: bool) -> dict[str, Any]:
    """The "nothing lost" checks against the ledger, on clone A's tree (all clones have it when
    converged; when not, each clone's differences are listed)."""
    first = run.clones[0]
    entries = tree_entries(run, first.path)
    by_digest: dict[str, list[str]] = {}
    for e in entries.values():
        if e.digest:
            by_digest.setdefault(e.digest, []).append(e.path)
    # not converged: a version in another clone's tree is not synced yet, not lost
    others: dict[str, list[str]] = {}
    if not converged:
        for c in run.clones[1:]:
            for e in tree_entries(run, c.path).values():
                if e.digest:
                    others.setdefault(e.digest, []).append(f"{c.name}:{e.path}")
    res: dict[str, Any] = {"lost": [], "elsewhere": [], "as_variant": [], "reverted": [], "resurrected": [],
                           "only_in_other_trees": [],
                           "stale_variants": [], "duplicate_variants": [], "unknown_files": [], "unreadable": {}}
    live = run.ledger.live()
    live_keys = {(p.base, p.digest) for p in live}
    for p in live:
        where = by_digest.get(p.digest, [])
        item = {"path": p.path, "digest": p.digest[:16], "clone": p.clone, "round": p.round, "how": p.how}
        if p.path in where:
            continue
        same_base = [w for w in where if base_name(w) == p.base]
        if same_base:
            res["as_variant"].append({**item, "at": same_base})
        elif where:
            res["elsewhere"].append({**item, "at": where})
        elif p.digest in others:
            res["only_in_other_trees"].append({**item, "at": others[p.digest]})
        else:
            item["in_history"] = in_history(run, p.digest)
            item["annex_objects"] = [c.name for c in run.clones if annex_object(c.path, p.digest)]
            # still on a clone's disk, not committed (a clone that never converged): not synced rather than gone
            item["in_worktree"] = [c.name for c in run.clones if seen_digest(c.path, p.path) == p.digest]
            item["overwrote"] = [q.path + " " + q.digest[:16] for q in run.ledger.placements
                                 if q.superseded and q.clone == p.clone and q.round == p.round and q.base == p.base]
            res["lost"].append(item)
    known = {p.digest for p in run.ledger.placements}
    for path, e in entries.items():
        if (base_name(path), e.digest) in live_keys:
            continue
        olds = [p for p in run.ledger.placements if p.digest == e.digest and p.base == base_name(path)]
        if olds and path != base_name(path):
            # a version overwritten or deleted on purpose, kept as a conflict variant: noise, not a loss
            res["stale_variants"].append({"path": path, "superseded": [p.superseded for p in olds]})
        elif olds:
            kinds = {p.superseded_kind for p in olds}
            item = {"path": path, "digest": (e.digest or "")[:16], "superseded": [p.superseded for p in olds]}
            if "overwrite" in kinds:
                # which newer version should be there, and where it is
                newer = [q for q in live if q.base == base_name(path) and q.seq > min(p.seq for p in olds)]
                item["newer"] = [f"{q.path} {q.digest[:16]} ({q.clone} r{q.round}) at "
                                 f"{by_digest.get(q.digest, ['nowhere'])}" for q in newer]
                res["reverted"].append(item)
            elif "delete" in kinds:
                res["resurrected"].append(item)
            else:
                res["resurrected"].append({**item, "note": "renamed away on purpose, back at the old name"})
        elif e.digest not in known:
            res["unknown_files"].append(path)
    for c in run.clones:
        probs = worktree_problems(c.path, entries, quick=False)
        if probs:
            res["unreadable"][c.name] = probs[:30] + ([f"... {len(probs) - 30} more"] if len(probs) > 30 else [])
    for digest, paths in by_digest.items():  # one version under two variant names of one path
        bases: dict[str, list[str]] = {}
        for path in paths:
            bases.setdefault(base_name(path), []).append(path)
        for b, ps in bases.items():
            if len(ps) > 1 and any(p != b for p in ps):
                res["duplicate_variants"].append({"base": b, "digest": digest[:16], "paths": sorted(ps)})
    res["variant_files"] = sum(1 for p in entries if base_name(p) != p)
    res["files"] = len(entries)
    res["live_writes"] = len(live)
    res["converged"] = converged
    return res


def in_history(run: Run, digest: str) -> dict[str, list[str]]:
    """Commits of any branch (the git-annex and netmap branches left out: their location logs
    name every key) that added or removed a pointer to this content, per clone."""
    out = {}
    for c in run.clones:
        refs = [ref for ref in run.git(c.path, "for-each-ref", "--format=%(refname)", "refs/heads", "refs/remotes",
                                       check=False).split()
                if "git-annex" not in ref and "netmap" not in ref and not ref.endswith("/HEAD")]
        if not refs:
            continue
        r = run.run("git", "log", "--format=%h %s", f"-S{digest}", *refs, "--", cwd=c.path, check=False, timeout=120)
        lines = r.stdout.decode(errors="replace").splitlines()
        if lines:
            out[c.name] = lines[:6]
    return out


def annex_object(repo: Path, digest: str) -> bool:
    objects = repo / ".git" / "annex" / "objects"
    if not objects.is_dir():
        return False
    for _dirpath, dirnames, _files in os.walk(objects):
        if any(digest in d for d in dirnames):
            return True
    return False


def fsck(run: Run) -> dict[str, str]:
    """`git fsck` and `git annex fsck --fast` in every clone (daemons stopped); "" when clean."""
    out = {}
    for c in run.clones:
        msgs = []
        r = run.run("git", "fsck", "--no-progress", cwd=c.path, check=False, timeout=600)
        text = (r.stdout + r.stderr).decode(errors="replace")
        bad = [ln for ln in text.splitlines() if ln.strip() and not ln.startswith(("dangling ", "Checking"))]
        if r.returncode or bad:
            msgs.append(f"git fsck -> {r.returncode}: " + " | ".join(bad[:10]))
        r = run.run("git", "annex", "fsck", "--fast", "--quiet", cwd=c.path, check=False, timeout=600)
        if r.returncode:
            text = (r.stdout + r.stderr).decode(errors="replace")
            msgs.append(f"git annex fsck --fast -> {r.returncode}: " + " | ".join(text.splitlines()[-10:]))
        out[c.name] = "; ".join(msgs)
    return out


def violations(report: dict[str, Any]) -> list[str]:
    """Every way the run broke "nothing lost" (empty: nothing lost). A revert or a resurrection
    is reported (report["check"]) but is no loss by itself: the newer version counts as lost or
    kept as a variant on its own."""
    out = []
    if not report.get("converged"):
        out.append(f"did not converge within {report.get('deadline')} s: {report.get('not_converged_detail')}")
    c = report.get("check", {})
    for key in ("lost", "elsewhere"):
        for item in c.get(key, []):
            out.append(f"{key}: {item}")
    for clone, probs in c.get("unreadable", {}).items():
        out.append(f"not readable in {clone}: {probs[:5]}")
    for clone, msg in report.get("fsck", {}).items():
        if msg:
            out.append(f"fsck in {clone}: {msg}")
    if report.get("processes_left"):
        out.append(f"processes left after stop: {report['processes_left']}")
    if report.get("error"):
        out.append(f"run error: {report['error']}")
    return out


# -- one run -------------------------------------------------------------------------------------
def run_scenario(opts: Options) -> dict[str, Any]:
    """Build, run the scenario, converge, check, stop, fsck; the report (see `violations`)."""
    if opts.scenario not in SCENARIOS:
        raise ValueError(f"scenario: one of {SCENARIOS}")
    rng = random.Random(opts.seed)
    run = Run(opts)
    report: dict[str, Any] = {"scenario": opts.scenario, "system": opts.system, "seed": opts.seed,
                              "rounds": opts.rounds or DEFAULT_ROUNDS[opts.scenario], "clones": opts.clones,
                              "dir": str(run.dir), "deadline": opts.deadline,
                              "started": datetime.datetime.now().astimezone().isoformat(timespec="seconds"),
                              "load_start": os.getloadavg()[0], "code": code_version(run)}
    run.say(f"{opts.scenario} on {opts.system}, seed {opts.seed}: {run.dir}")
    try:
        run.build(opts.clones, tmpfs_last_mib=64 if opts.scenario == "badinput" and opts.tmpfs and os.geteuid() == 0 else 0)
        run.start_all()
        t_ops = time.monotonic()
        {"kill": scenario_kill, "storm": scenario_storm, "badinput": scenario_badinput}[opts.scenario](run, rng)
        report["ops_s"] = round(time.monotonic() - t_ops, 1)
        run.say(f"operations done after {report['ops_s']} s; waiting for convergence (deadline {opts.deadline:.0f} s)")
        ok, took, snap = run.wait_converged(opts.deadline)
        report["converged"] = ok
        report["converge_s"] = round(took, 1)
        report["idle_but_not_converged_polls"] = snap.get("idle_but_not_converged_polls")
        if not ok:
            report["not_converged_detail"] = {
                "same_tree": snap.get("same_tree"),
                "trees": {k: v["tree"] for k, v in snap["clones"].items()},
                "worktree_problems": {k: v[:8] for k, v in (snap.get("worktree_problems") or {}).items()},
                "status": {k: summarize_status(v["status"]) for k, v in snap["clones"].items()}}
        if opts.system == "ours":
            report["final_status"] = {c.name: summarize_status(c.daemon.status()) for c in run.clones}
            report["status_cli"] = status_cli(run)
        run.say(f"converged: {ok} after {took:.1f} s; checking")
        report["check"] = check(run, ok)
    except Exception as e:
        import traceback
        report["error"] = f"{type(e).__name__}: {e}"
        report["traceback"] = traceback.format_exc()
        run.say(f"run error: {e}")
    finally:
        run.stop_all()
        report["processes_left"] = run.leftovers()
        try:
            report["fsck"] = fsck(run)
        except Exception as e:
            report["fsck"] = {"error": str(e)}
        run.unmount()
    report["kills"] = run.kills
    report["orphans_after_kill"] = run.orphans_after_kill
    report["daemon_self_exits"] = run.self_exits
    report["anomalies"] = run.anomalies
    report["ledger_notes"] = run.ledger.notes[:50]
    report["writes"] = len(run.ledger.placements)
    report["ops"] = len(run.ledger.ops)
    report["extra"] = run.extra
    report["log_errors"] = {c.name: len(log_errors(c.daemon.logpath)) for c in run.clones}
    report["load_end"] = os.getloadavg()[0]
    report["violations"] = violations(report)
    run.ledger.close()
    (run.logs / "report.json").write_text(json.dumps(report, indent=2, default=str))
    if not opts.keep and not report["violations"]:
        subprocess.run(["chmod", "-R", "u+w", str(run.dir)], capture_output=True, timeout=600)
        shutil.rmtree(run.dir, ignore_errors=True)
    return report


def code_version(run: Run) -> str:
    """Where the daemons' `syncassistant` package comes from (PYTHONPATH may point at a
    snapshot), and its git commit with "+dirty" when its tree has uncommitted changes."""
    r = run.run(sys.executable, "-c", "import syncassistant, os; print(os.path.dirname(os.path.dirname(syncassistant.__file__)))",
                cwd=run.dir, check=False, timeout=60)  # (not ours: `-c` puts the cwd first on sys.path)
    root = r.stdout.decode().strip()
    if run.code:
        return f"{run.code} (snapshot {root})"
    if not root:
        return "?"
    g = run.run("git", "-C", root, "rev-parse", "--short", "HEAD", check=False, timeout=30)
    if g.returncode:
        return root
    dirty = run.run("git", "-C", root, "status", "--porcelain", "--", "syncassistant", check=False, timeout=60)
    return f"{root} @ {g.stdout.decode().strip()}{'+dirty' if dirty.stdout.strip() else ''}"


def status_cli(run: Run) -> dict[str, Any]:
    """`syncassistant status --json` of each clone, once, to see the CLI says what we polled."""
    out = {}
    for c in run.clones:
        r = run.run(SYNCASSISTANT, "status", "--json", c.path, check=False, timeout=60)
        try:
            s = json.loads(r.stdout)
            out[c.name] = {"state": s.get("state"), "idle": s.get("idle"), "errors": s.get("errors"),
                           "counters": s.get("counters")}
        except ValueError:
            out[c.name] = {"raw": r.stdout.decode(errors="replace")[:200]}
    return out


def summary(report: dict[str, Any]) -> str:
    c = report.get("check", {})
    return (f"{report['scenario']} {report['system']} seed {report['seed']}: {report['rounds']} rounds, "
            f"{report.get('kills', 0)} kills, {report.get('writes', 0)} writes; lost {len(c.get('lost', []))}, "
            f"reverted {len(c.get('reverted', []))}, resurrected {len(c.get('resurrected', []))}, "
            f"elsewhere {len(c.get('elsewhere', []))}, kept as variant {len(c.get('as_variant', []))} "
            f"(stale variants {len(c.get('stale_variants', []))}, duplicates {len(c.get('duplicate_variants', []))}) "
            f"({c.get('variant_files', 0)} variant files), unreadable {sum(len(v) for v in c.get('unreadable', {}).values())}; "
            f"converged {'yes' if report.get('converged') else 'NO'} in {report.get('converge_s')} s; "
            f"fsck {'clean' if not any(report.get('fsck', {}).values()) else 'NOT clean'}; "
            f"orphans after kills {len(report.get('orphans_after_kill', []))}; "
            f"left after stop {len(report.get('processes_left', []))}")


def table_row(report: dict[str, Any]) -> str:
    c = report.get("check", {})
    conv = f"yes, {report.get('converge_s')} s" if report.get("converged") else f"no ({report.get('deadline'):.0f} s)"
    return (f"| {report['scenario']} | {report['system']} | {report['seed']} | {report['rounds']} | "
            f"{report.get('kills', 0)} | {len(c.get('lost', []))} | {len(c.get('reverted', []))} ({len(c.get('resurrected', []))}) | "
            f"{len(c.get('as_variant', []))} ({c.get('variant_files', 0)}) | {len(c.get('elsewhere', []))} | {conv} | "
            f"{'clean' if not any(report.get('fsck', {}).values()) else 'errors'} | "
            f"{len(report.get('orphans_after_kill', []))} / {len(report.get('processes_left', []))} |")


TABLE_HEADER = ("| scenario | system | seed | rounds | kills | lost | reverted (deletes undone) | kept as variant (variant files) "
                "| under another name | converged, time | fsck | orphans after kill / left at end |\n"
                "|---|---|---|---|---|---|---|---|---|---|---|---|")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--scenario", choices=SCENARIOS, default="kill")
    p.add_argument("--seed", type=int, action="append", help="repeatable; default 1")
    p.add_argument("--rounds", type=int, help="default: kill 50, storm 100")
    p.add_argument("--clones", type=int, default=3)
    p.add_argument("--kills", type=int, help="kill: rounds that end with a kill (default: every round)")
    p.add_argument("--no-big", action="store_true", help="kill: no 1-3 MiB files")
    p.add_argument("--system", choices=["ours", "assistant"], default="ours")
    p.add_argument("--deadline", type=float, default=240.0, help="seconds to converge (default 240)")
    p.add_argument("--workdir", type=Path)
    p.add_argument("--no-keep", action="store_true", help="remove the run dir when nothing was lost")
    p.add_argument("--no-tmpfs", action="store_true")
    p.add_argument("--json", type=Path, help="write the reports here")
    p.add_argument("--code", metavar="REV", help="run the daemons on a snapshot of this commit (e.g. HEAD)")
    a = p.parse_args(argv)

    def on_term(*_: object) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, on_term)
    reports = []
    for seed in a.seed or [1]:
        opts = Options(scenario=a.scenario, system=a.system, seed=seed, rounds=a.rounds, clones=a.clones,
                       kills=a.kills, big=not a.no_big, deadline=a.deadline, workdir=a.workdir,
                       keep=not a.no_keep, tmpfs=not a.no_tmpfs, code=a.code)
        t = time.monotonic()
        rep = run_scenario(opts)
        rep["wall_s"] = round(time.monotonic() - t, 1)
        reports.append(rep)
        note(summary(rep))
        for v in rep["violations"]:
            note("  VIOLATION " + v[:600])
    if a.json:
        a.json.write_text(json.dumps(reports, indent=2, default=str))
    print(TABLE_HEADER)
    for rep in reports:
        print(table_row(rep))
    return 1 if any(r["violations"] for r in reports) else 0


if __name__ == "__main__":
    sys.exit(main())
