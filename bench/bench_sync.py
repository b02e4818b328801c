#!/usr/bin/env python3
"""Benchmark: the syncassistant daemon next to `git annex assistant`, same machine, same run.

Every scenario builds fresh clones in a temp dir (isolated git config and HOME), starts the
daemons as subprocesses in their own sessions, measures, and stops them (ours by SIGTERM, the
assistant by `git annex assistant --stop`), also on Ctrl-C. Scenarios:

  latency  a new 64-byte file in A until it is in B's tree (2 clones), median of >= 10 trials
  chain    the same through A -> B -> C (3 clones, B forwards), until it is in C's tree
  burst    10,000 small files moved into A at once until all are in B's tree; plus the floor:
           `git annex add . && git commit && git push && git merge` by hand
  idle     two daemons on 5,000-file clones, doing nothing: CPU seconds per minute and resident
           memory (VmRSS), each summed over the daemon's whole process tree

Run:  .venv/bin/python bench/bench_sync.py [--quick] [--only latency,chain,burst,idle] [--keep]
Progress goes to stderr; the markdown table goes to stdout at the end. See bench/README.md.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

VENV_BIN = Path(sys.executable).parent
SYNCASSISTANT = str(VENV_BIN / "syncassistant")
GIT_ANNEX = str(VENV_BIN / "git-annex") if (VENV_BIN / "git-annex").exists() else shutil.which("git-annex")
CLK_TCK = os.sysconf("SC_CLK_TCK")

W: Path  # the work dir of this run
ENV: dict[str, str]
ANOMALIES: list[str] = []  # what went wrong in a daemon (bug reports, not bench errors)
LIVE: list[Daemon] = []  # every daemon started and not yet stopped


def note(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def anomaly(msg: str) -> None:
    ANOMALIES.append(msg)
    note("ANOMALY: " + msg)


# -- environment and commands --------------------------------------------------------------------
def make_env(work: Path) -> dict[str, str]:
    home = work / "home"
    home.mkdir()
    cfg = work / "gitconfig"
    cfg.write_text("[user]\n\tname = bench\n\temail = bench@example.invalid\n"
                   "[init]\n\tdefaultBranch = master\n[advice]\n\tdetachedHead = false\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
    env.update(GIT_CONFIG_GLOBAL=str(cfg), GIT_CONFIG_NOSYSTEM="1", HOME=str(home),
               XDG_CONFIG_HOME=str(home / ".config"), XDG_DATA_HOME=str(home / ".local/share"),
               XDG_CACHE_HOME=str(home / ".cache"), LC_ALL="C.UTF-8",
               PATH=f"{VENV_BIN}{os.pathsep}{os.environ.get('PATH', '/usr/bin:/bin')}")
    return env


def run(*cmd: str | Path, cwd: Path | None = None, timeout: float = 600) -> str:
    r = subprocess.run([str(c) for c in cmd], cwd=cwd, env=ENV, capture_output=True, text=True,
                       timeout=timeout, stdin=subprocess.DEVNULL)
    if r.returncode:
        raise RuntimeError(f"{' '.join(map(str, cmd))} (in {cwd}) -> {r.returncode}\n{r.stdout}\n{r.stderr}")
    return r.stdout


def git(repo: Path, *args: str, timeout: float = 600) -> str:
    return run("git", *args, cwd=repo, timeout=timeout)


# -- /proc: process trees, CPU, memory -----------------------------------------------------------
def _all_stats() -> dict[int, list[str]]:
    """pid -> the fields of /proc/PID/stat after the command name (index 0 is the state)."""
    out = {}
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat") as f:
                raw = f.read()
        except OSError:
            continue
        out[int(name)] = raw[raw.rindex(")") + 2:].split()
    return out


def tree(root: int, stats: dict[int, list[str]] | None = None) -> dict[int, list[str]]:
    """The process `root` and all its live descendants."""
    stats = stats if stats is not None else _all_stats()
    children: dict[int, list[int]] = {}
    for pid, f in stats.items():
        children.setdefault(int(f[1]), []).append(pid)
    out, todo = {}, [root]
    while todo:
        pid = todo.pop()
        if pid in stats and pid not in out:
            out[pid] = stats[pid]
            todo += children.get(pid, [])
    return out


def tree_cpu(root: int) -> float:
    """CPU seconds used by the tree so far: utime+stime of the live processes plus cutime+cstime
    (the reaped children, counted by whoever waited for them)."""
    return sum(sum(int(x) for x in f[11:15]) for f in tree(root).values()) / CLK_TCK


def tree_rss(root: int) -> tuple[int, int]:
    """(summed VmRSS in bytes, number of processes) of the tree."""
    total, n = 0, 0
    for pid in tree(root):
        try:
            with open(f"/proc/{pid}/status") as f:
                for line in f:
                    if line.startswith("VmRSS:"):
                        total += int(line.split()[1]) * 1024
                        break
            n += 1
        except OSError:
            pass
    return total, n


def session_members(sid: int) -> list[int]:
    return [pid for pid, f in _all_stats().items() if int(f[3]) == sid and pid != sid and f[0] != "Z"]


def proc_cmdline(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return f.read().replace(b"\0", b" ").decode(errors="replace").strip()
    except OSError:
        return "?"


# -- daemons ------------------------------------------------------------------------------------
class Daemon:
    """One daemon process on one repository, started in its own session, log in the work dir."""

    kind = "?"

    def __init__(self, repo: Path):
        self.repo = repo
        self.logpath = repo.parent / f"{self.kind}-{repo.name}.log"
        self.proc: subprocess.Popen | None = None
        self.t_start = 0.0

    def argv(self) -> list[str]:
        raise NotImplementedError

    def start(self) -> None:
        with open(self.logpath, "ab") as log:
            self.proc = subprocess.Popen(self.argv(), cwd=self.repo, env=ENV, stdin=subprocess.DEVNULL,
                                         stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        self.t_start = time.monotonic()
        LIVE.append(self)

    @property
    def pid(self) -> int:
        assert self.proc
        return self.proc.pid

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def log_tail(self, n: int = 15) -> str:
        try:
            lines = self.logpath.read_text(errors="replace").splitlines()
        except OSError:
            return "(no log)"
        return "\n".join("    | " + line for line in lines[-n:])

    def is_up(self) -> bool:
        raise NotImplementedError

    def wait_up(self, deadline: float = 60) -> None:
        end = time.monotonic() + deadline
        while time.monotonic() < end:
            if not self.alive():
                raise RuntimeError(f"{self.kind} daemon on {self.repo} exited with status "
                                   f"{self.proc.returncode} at start-up:\n{self.log_tail()}")
            if self.is_up():
                return
            time.sleep(0.05)
        raise RuntimeError(f"{self.kind} daemon on {self.repo} not up after {deadline} s:\n{self.log_tail()}")

    def cpu(self) -> float:
        return tree_cpu(self.pid) if self.alive() else 0.0

    def _ask_to_stop(self) -> None:
        raise NotImplementedError

    def stop(self) -> None:
        if self.proc is None or self not in LIVE:
            return
        try:
            self._stop()
        finally:
            LIVE.remove(self)

    def _stop(self) -> None:
        if self.proc.poll() is not None:
            anomaly(f"{self.kind} daemon on {self.repo.name} had already exited (status "
                    f"{self.proc.returncode}) before it was stopped:\n{self.log_tail()}")
        else:
            try:
                self._ask_to_stop()
                self.proc.wait(30)
                if self.proc.returncode != 0 and self.kind == "ours":
                    anomaly(f"ours on {self.repo.name}: exit status {self.proc.returncode} after SIGTERM "
                            f"(expected 0):\n{self.log_tail()}")
            except subprocess.TimeoutExpired:
                anomaly(f"{self.kind} daemon on {self.repo.name} still running 30 s after being asked to "
                        f"stop; killed:\n{self.log_tail()}")
            except Exception as e:  # the stop command failed: fall through to the kill below
                note(f"stopping {self.kind} on {self.repo.name}: {e}")
        # Whatever is left in its session (it was started with start_new_session) goes now.
        left = session_members(self.pid)
        if self.proc.poll() is None:
            left.append(self.pid)
        if left:
            if self.kind == "ours":
                anomaly(f"ours on {self.repo.name}: processes left behind after stop: "
                        + "; ".join(f"{p} {proc_cmdline(p)}" for p in left))
            for sig in (signal.SIGTERM, signal.SIGKILL):
                try:
                    os.killpg(self.pid, sig)
                except ProcessLookupError:
                    break
                time.sleep(1)
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            note(f"{self.kind} on {self.repo.name}: pid {self.pid} survives SIGKILL?")


class Ours(Daemon):
    kind = "ours"

    def argv(self) -> list[str]:
        return [SYNCASSISTANT, "daemon", "--foreground", str(self.repo)]

    def is_up(self) -> bool:
        try:
            return "daemon started" in self.logpath.read_text(errors="replace")
        except OSError:
            return False

    def _ask_to_stop(self) -> None:
        self.proc.send_signal(signal.SIGTERM)


class GitAnnexAssistant(Daemon):
    kind = "assistant"

    def argv(self) -> list[str]:
        return [GIT_ANNEX, "assistant", "--foreground"]

    def is_up(self) -> bool:
        return (self.repo / ".git/annex/daemon.pid").exists()

    def _ask_to_stop(self) -> None:
        r = subprocess.run(["git", "annex", "assistant", "--stop"], cwd=self.repo, env=ENV,
                           capture_output=True, text=True, timeout=60)
        if r.returncode:
            note(f"git annex assistant --stop in {self.repo.name}: {r.returncode} {r.stderr.strip()}")


DAEMON = {"ours": Ours, "assistant": GitAnnexAssistant}


def start_all(daemons: list[Daemon], settle_deadline: float) -> float:
    """Start the daemons, wait until each is up and then until their CPU use has settled.
    Returns seconds from start until settled."""
    t0 = time.monotonic()
    for d in daemons:
        d.start()
    for d in daemons:
        d.wait_up()
    ok, _ = settle(daemons, window=2.0, threshold=0.04 * len(daemons), deadline=settle_deadline)
    took = time.monotonic() - t0
    if not ok:
        msg = f"{daemons[0].kind}: CPU had not settled {settle_deadline:.0f} s after start; going on"
        if daemons[0].kind == "ours":
            anomaly(msg + "; log tails:\n" + "\n".join(f"  {d.repo.name}:\n{d.log_tail(8)}" for d in daemons))
        else:
            note(msg)
    return took


def settle(daemons: list[Daemon], window: float, threshold: float, deadline: float) -> tuple[bool, float]:
    """Wait until all daemons together use < `threshold` CPU seconds in a `window`; with a deadline."""
    t0 = time.monotonic()
    prev = sum(d.cpu() for d in daemons)
    while True:
        time.sleep(window)
        cur = sum(d.cpu() for d in daemons)
        if cur - prev < threshold:
            return True, time.monotonic() - t0
        if time.monotonic() - t0 > deadline:
            return False, time.monotonic() - t0
        prev = cur


def stop_all(daemons: list[Daemon]) -> None:
    for d in daemons:
        try:
            d.stop()
        except Exception as e:
            note(f"stopping {d.kind} on {d.repo}: {e}")


# -- building clones -----------------------------------------------------------------------------
def write_files(folder: Path, n: int, prefix: str = "f") -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(n):
        (folder / f"{prefix}{i:05d}.txt").write_bytes(os.urandom(32).hex().encode())  # 64 bytes


def build(kind: str, label: str, names: list[str]) -> list[Path]:
    """Fresh clones names[0] -> names[1] -> ... (each cloned from the previous one; each pair are
    each other's remotes, named after the other clone in lower case). `kind` is "ours" (made with
    `syncassistant init`), "assistant" (set up as in recipes/assistant_timing.py) or "plain".
    """
    base = W / f"{label}-{kind}"
    base.mkdir()
    repos = [base / n for n in names]
    for i, repo in enumerate(repos):
        if i == 0:
            if kind == "ours":
                run(SYNCASSISTANT, "init", repo, "--name", repo.name)
            else:
                run("git", "init", "-q", repo)
                git(repo, "annex", "init", "-q", repo.name)
                git(repo, "config", "annex.addunlocked", "true")
        else:
            prev = repos[i - 1]
            run("git", "clone", "-q", "-o", prev.name.lower(), prev, repo)
            if kind == "ours":
                run(SYNCASSISTANT, "init", repo, "--name", repo.name)
            else:
                git(repo, "annex", "init", "-q", repo.name)
                git(repo, "config", "annex.addunlocked", "true")
            git(prev, "remote", "add", repo.name.lower(), str(repo))
        if kind == "assistant":
            git(repo, "annex", "wanted", ".", "standard")
            git(repo, "annex", "group", ".", "client")
        if i == 0 and kind != "ours":
            git(repo, "commit", "-q", "--allow-empty", "-m", "init")
    if kind == "assistant":  # the recipe: exchange git-annex branches once (uuids, groups)
        for repo in repos:
            git(repo, "annex", "sync", "-q", timeout=600)
    return repos


_TEMPLATE: dict[int, Path] = {}


def populated_template(nfiles: int) -> Path:
    """Once per run: a plain pair A, B holding `nfiles` committed 64-byte files, the content in
    both and the git-annex branches synced, so both know it. B is a copy of A given its own
    identity (new uuid, `git annex fsck --fast` records its copies): transferring thousands of
    keys one by one, or adding them again, takes minutes on a small machine."""
    if nfiles in _TEMPLATE:
        return _TEMPLATE[nfiles]
    t = time.monotonic()
    (a,) = build("plain", f"template{nfiles}", ["A"])
    git(a, "config", "gc.autoDetach", "false")  # no background gc while the template is copied
    write_files(a / "data", nfiles)
    git(a, "annex", "add", "-q", ".", timeout=3600)
    git(a, "commit", "-q", "-m", f"{nfiles} files")
    b = a.parent / "B"
    shutil.copytree(a, b, symlinks=True)
    git(b, "config", "--unset", "annex.uuid")
    git(b, "annex", "init", "-q", "B")
    git(b, "annex", "fsck", "--fast", "-q", timeout=3600)
    git(a, "remote", "add", "b", str(b))
    git(b, "remote", "add", "a", str(a))
    for repo in (a, b, a):
        git(repo, "annex", "sync", "-q", timeout=600)
    for repo in (a, b):
        if git(repo, "status", "--porcelain").strip():
            raise RuntimeError(f"template: {repo} not clean")
    note(f"template of two {nfiles}-file clones with content built in {time.monotonic() - t:.0f} s")
    _TEMPLATE[nfiles] = a.parent
    return a.parent


def build_populated(kind: str, label: str, nfiles: int) -> list[Path]:
    """A copy of the populated template, made into `kind`'s clones (remote URLs re-pointed)."""
    base = W / f"{label}-{kind}"
    shutil.copytree(populated_template(nfiles), base, symlinks=True)
    a, b = base / "A", base / "B"
    git(a, "remote", "set-url", "b", str(b))
    git(b, "remote", "set-url", "a", str(a))
    for repo in (a, b):
        git(repo, "update-index", "-q", "--refresh")  # new inodes: refresh now, not in a daemon
        if kind == "ours":
            run(SYNCASSISTANT, "init", repo)  # adopt: idempotent
        elif kind == "assistant":
            git(repo, "annex", "wanted", ".", "standard")
            git(repo, "annex", "group", ".", "client")
    if kind == "assistant":
        for repo in (a, b, a):
            git(repo, "annex", "sync", "-q", timeout=600)
    for repo in (a, b):
        if git(repo, "status", "--porcelain").strip():
            raise RuntimeError(f"{repo}: not clean after set-up")
    return [a, b]


# -- scenarios -----------------------------------------------------------------------------------
def scenario_latency(kind: str, names: list[str], trials: int, deadline: float) -> dict:
    """A new 64-byte file in the first clone until it is in the last clone's tree."""
    repos = build(kind, f"lat{len(names)}", names)
    daemons = [DAEMON[kind](r) for r in repos]
    stage = repos[0].parent / "stage"
    stage.mkdir()
    res: dict = {"per_clone": {r.name: [] for r in repos[1:]}, "failed": 0}
    try:
        res["startup_s"] = start_all(daemons, settle_deadline=120)
        failures_in_row = 0
        for i in range(trials):
            name = f"lat{i:03d}.txt"
            (stage / name).write_bytes(os.urandom(64))
            pending = {r.name: r / name for r in repos[1:]}
            got: dict[str, float] = {}
            res.setdefault("t0_wall", []).append(time.time())
            t0 = time.monotonic()
            os.rename(stage / name, repos[0] / name)  # appears in A atomically
            end = t0 + deadline
            while pending and time.monotonic() < end:
                for rn, p in list(pending.items()):
                    if os.path.lexists(p):
                        got[rn] = time.monotonic() - t0
                        del pending[rn]
                if pending:
                    time.sleep(0.005)
            for rn, v in got.items():
                res["per_clone"][rn].append(v)
            line = ", ".join(f"{rn} {got[rn]:.3f} s" if rn in got else f"{rn} NOT within {deadline:.0f} s"
                             for rn in res["per_clone"])
            note(f"{kind} {'->'.join(names)} trial {i}: {line}")
            if pending:
                res["failed"] += 1
                failures_in_row += 1
                for d in daemons:
                    if d.kind == "ours":
                        anomaly(f"ours {'->'.join(names)} trial {i}: {name} not in "
                                f"{', '.join(pending)} within {deadline:.0f} s; log of {d.repo.name}:\n"
                                + d.log_tail())
                if failures_in_row >= 2:
                    note(f"{kind}: two trials in a row not delivered; giving up on this scenario")
                    break
            else:
                failures_in_row = 0
            # let the push-backs and git-annex branch updates of this trial finish
            ok, _ = settle(daemons, window=0.5, threshold=0.02 * len(daemons), deadline=8)
            if not ok:
                res["unsettled_trials"] = res.get("unsettled_trials", 0) + 1
                if kind == "ours" and res["unsettled_trials"] == 1:
                    anomaly(f"ours {'->'.join(names)}: still busy 8 s after trial {i} was delivered "
                            f"(CPU not settling); log tails:\n"
                            + "\n".join(f"  {d.repo.name}:\n{d.log_tail(8)}" for d in daemons))
    finally:
        stop_all(daemons)
    if kind == "ours":
        res["breakdown"] = ours_breakdown(daemons, res.get("t0_wall", []))
    return res


def _log_times(log: Path, needle: str) -> list[float]:
    """Wall-clock times of our daemon's log lines containing `needle`."""
    out = []
    try:
        lines = log.read_text(errors="replace").splitlines()
    except OSError:
        return out
    for line in lines:
        if needle in line and line[:4].isdigit():
            try:
                t = datetime.datetime.strptime(line[:23], "%Y-%m-%d %H:%M:%S,%f")
            except ValueError:
                continue
            out.append(t.timestamp())
    return out


def ours_breakdown(daemons: list[Daemon], starts: list[float]) -> dict[str, float]:
    """Medians, from our daemons' logs, of when each trial's file was committed in the first clone
    and merged (work tree updated) in each later one, in seconds after the file appeared."""
    marks = {"commit done in " + daemons[0].repo.name: _log_times(daemons[0].logpath, ": committed ")}
    for d in daemons[1:]:
        marks["merge done in " + d.repo.name] = [t for t, line_ok in zip(
            _log_times(d.logpath, ": merged ("), _merged_changed(d.logpath), strict=False) if line_ok]
    out = {}
    for label, times in marks.items():
        deltas = []
        for i, t0 in enumerate(starts):
            t1 = starts[i + 1] if i + 1 < len(starts) else float("inf")
            after = [t - t0 for t in times if t0 - 0.01 <= t < t1]
            if after:
                deltas.append(min(after))
        if deltas:
            out[label] = statistics.median(deltas)
    return out


def _merged_changed(log: Path) -> list[bool]:
    """For each `merged (` line of the log: did the merge change the work tree?"""
    out = []
    try:
        lines = log.read_text(errors="replace").splitlines()
    except OSError:
        return out
    for line in lines:
        if ": merged (" in line and line[:4].isdigit():
            try:
                datetime.datetime.strptime(line[:23], "%Y-%m-%d %H:%M:%S,%f")
            except ValueError:
                continue
            out.append(": merged (0 paths" not in line)
    return out


def drop_burst(repo: Path, stage: Path) -> None:
    """Move every staged file into repo/burst/ (a new folder), one rename each."""
    dest = repo / "burst"
    dest.mkdir()
    for name in sorted(os.listdir(stage)):
        os.rename(stage / name, dest / name)


def count_in(folder: Path) -> int:
    try:
        with os.scandir(folder) as it:
            return sum(1 for _ in it)
    except FileNotFoundError:
        return 0


def wait_count(folder: Path, n: int, t0: float, deadline: float) -> tuple[float | None, float | None, int]:
    """Poll until `folder` holds n entries; (first seen, all seen) in seconds after t0, and the count."""
    first = None
    c = 0
    while time.monotonic() - t0 < deadline:
        c = count_in(folder)
        if c and first is None:
            first = time.monotonic() - t0
        if c >= n:
            return first, time.monotonic() - t0, c
        time.sleep(0.1)
    return first, None, c


def scenario_burst(kind: str, n: int, deadline: float) -> dict:
    repos = build(kind, "burst", ["A", "B"])
    a, b = repos
    stage = a.parent / "stage"
    write_files(stage, n, "b")
    daemons = [DAEMON[kind](r) for r in repos]
    res: dict = {"n": n}
    try:
        res["startup_s"] = start_all(daemons, settle_deadline=120)
        base = git(a, "rev-parse", "HEAD").strip()
        t0 = time.monotonic()
        drop_burst(a, stage)
        res["drop_s"] = time.monotonic() - t0
        note(f"{kind} burst: {n} files moved into A in {res['drop_s']:.2f} s; waiting for B")
        res["first_s"], res["all_s"], res["count"] = wait_count(b / "burst", n, t0, deadline)
        note(f"{kind} burst: first in B after {res['first_s']}, all after {res['all_s']} "
             f"({res['count']}/{n})")
        if res["all_s"] is None:
            msg = f"{kind} burst: only {res['count']}/{n} files in B's tree after {deadline:.0f} s"
            if kind == "ours":
                anomaly(msg + "\n" + "\n".join(f"  {d.repo.name}:\n{d.log_tail()}" for d in daemons))
            else:
                note(msg)
        res["commits_in_A"] = int(git(a, "rev-list", "--count", "--no-merges", f"{base}..HEAD").strip())
        with os.scandir(b / "burst") as it:  # locked files are symlinks, unlocked ones pointer files
            res["symlinks_in_B"] = sum(1 for e in it if e.is_symlink())
    finally:
        stop_all(daemons)
    return res


def scenario_floor(n: int) -> dict:
    """By hand, no daemon: add, commit, push to B's synced branches, merge in B."""
    a, b = build("plain", "floor", ["A", "B"])
    stage = a.parent / "stage"
    write_files(stage, n, "b")
    steps: dict[str, float] = {}

    def step(label: str, *cmd: str, cwd: Path) -> None:
        t = time.monotonic()
        run(*cmd, cwd=cwd, timeout=1800)
        steps[label] = time.monotonic() - t

    t0 = time.monotonic()
    drop_burst(a, stage)
    steps["drop"] = time.monotonic() - t0
    step("annex add", "git", "annex", "add", "-q", ".", cwd=a)
    step("commit", "git", "commit", "-q", "-m", "burst", cwd=a)
    step("push", "git", "push", "-q", "b", "master:synced/master", "git-annex:synced/git-annex", cwd=a)
    step("merge", "git", "merge", "-q", "synced/master", cwd=b)
    total = time.monotonic() - t0
    c = count_in(b / "burst")
    if c != n:
        raise RuntimeError(f"floor: {c}/{n} files in B after the merge")
    note("floor burst: " + ", ".join(f"{k} {v:.2f} s" for k, v in steps.items()) + f"; total {total:.2f} s")
    return {"n": n, "all_s": total, "steps": steps}


def scenario_idle(kind: str, nfiles: int, seconds: float) -> dict:
    repos = build_populated(kind, "idle", nfiles)
    daemons = [DAEMON[kind](r) for r in repos]
    res: dict = {"nfiles": nfiles}
    try:
        res["startup_s"] = start_all(daemons, settle_deadline=600)
        note(f"{kind} idle: settled {res['startup_s']:.1f} s after start; measuring {seconds:.0f} s")
        c0 = {d.repo.name: d.cpu() for d in daemons}
        t0 = time.monotonic()
        rss: dict[str, list[int]] = {d.repo.name: [] for d in daemons}
        nproc: dict[str, int] = {}
        while time.monotonic() - t0 < seconds:
            for d in daemons:
                if not d.alive():
                    raise RuntimeError(f"{kind} daemon on {d.repo.name} died while idle:\n{d.log_tail()}")
                r, k = tree_rss(d.pid)
                rss[d.repo.name].append(r)
                nproc[d.repo.name] = k
            time.sleep(min(5.0, max(0.0, seconds - (time.monotonic() - t0))))
        elapsed = time.monotonic() - t0
        res["per_daemon"] = {}
        for d in daemons:
            name = d.repo.name
            cpu_min = (d.cpu() - c0[name]) / elapsed * 60
            r, k = tree_rss(d.pid)
            rss[name].append(r)
            res["per_daemon"][name] = {"cpu_s_per_min": cpu_min, "rss_mb": max(rss[name]) / 2**20,
                                       "processes": max(k, nproc.get(name, 0))}
            note(f"{kind} idle {name}: {cpu_min:.3f} CPU s/min, {max(rss[name]) / 2**20:.0f} MB "
                 f"in {k} processes")
            if kind == "ours" and cpu_min > 0.1:
                anomaly(f"ours idle on {name}: {cpu_min:.3f} CPU s per minute while nothing changes "
                        f"(target ~0):\n{d.log_tail()}")
        res["seconds"] = elapsed
    finally:
        stop_all(daemons)
    return res


def remove_tree(path: Path) -> None:
    """Remove the work dir, including git-annex's read-only object folders."""
    subprocess.run(["chmod", "-R", "u+w", str(path)], capture_output=True, timeout=600)
    subprocess.run(["rm", "-rf", "--one-file-system", str(path)], capture_output=True, timeout=600)
    if path.exists():
        note(f"could not remove all of {path}")


# -- report --------------------------------------------------------------------------------------
def machine() -> dict:
    mem = 0
    with open("/proc/meminfo") as f:
        for line in f:
            if line.startswith("MemTotal:"):
                mem = int(line.split()[1]) * 1024
    model = ""
    try:
        with open("/proc/cpuinfo") as f:
            model = next((ln.split(":", 1)[1].strip() for ln in f if ln.startswith("model name")), "")
    except OSError:
        pass
    return {
        "date": datetime.datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z"),
        "nproc": os.cpu_count(), "ram_gib": round(mem / 2**30, 1), "kernel": platform.release(),
        "cpu": model,
        "git_annex": run(GIT_ANNEX, "version", "--raw").strip(),
        "git": run("git", "--version").strip().removeprefix("git version "),
        "python": platform.python_version(),
        "load_start": load_average(),
    }


def load_average() -> str:
    """1-minute load average (other users of a shared machine show up here)."""
    with open("/proc/loadavg") as f:
        return f.read().split()[0]


def fmt_s(v: float | None) -> str:
    return "—" if v is None else (f"{v:.3f} s" if v < 1 else f"{v:.2f} s" if v < 100 else f"{v:.0f} s")


def lat_cell(r: dict | None, clone: str, trials: int) -> tuple[str, float | None]:
    if r is None:
        return "not run", None
    if "error" in r:
        return f"error: {r['error'].splitlines()[0][:60]}", None
    xs = r["per_clone"].get(clone, [])
    if not xs:
        return f"not delivered ({r['failed']} of {trials} trials)", None
    med = statistics.median(xs)
    cell = f"**{fmt_s(med)}** ({fmt_s(min(xs))}–{fmt_s(max(xs))}, n={len(xs)})"
    if r["failed"]:
        cell += f", {r['failed']} not delivered"
    return cell, med


def ratio(a: float | None, b: float | None) -> str:
    return "—" if not a or not b else f"{a / b:.1f}×"


def table(results: dict, m: dict, args: argparse.Namespace) -> str:
    out = [f"Benchmark run {m['date']}; machine: {m['nproc']} CPUs ({m['cpu']}), {m['ram_gib']} GiB RAM, "
           f"Linux {m['kernel']}; git-annex {m['git_annex']}, git {m['git']}, Python {m['python']}"
           f"{'; --quick' if args.quick else ''}. Load average (1 min) at start {m['load_start']}, "
           f"at end {load_average()}.", "",
           "| measurement | syncassistant (ours) | git annex assistant | floor (by hand) "
           "| assistant ÷ ours | ours ÷ floor |",
           "|---|---|---|---|---|---|"]
    lat = results.get("latency", {})
    for clone, label in (("B", "new 64-byte file A → B, in B's tree: median (min–max)"),):
        o, om = lat_cell(lat.get("ours"), clone, args.trials)
        a, am = lat_cell(lat.get("assistant"), clone, args.trials)
        out.append(f"| {label} | {o} | {a} | — | {ratio(am, om)} | — |")
    ch = results.get("chain", {})
    for clone, label in (("B", "chain A → B → C: in B's tree"), ("C", "chain A → B → C: in C's tree")):
        o, om = lat_cell(ch.get("ours"), clone, args.trials)
        a, am = lat_cell(ch.get("assistant"), clone, args.trials)
        out.append(f"| {label} | {o} | {a} | — | {ratio(am, om)} | — |")
    bu = results.get("burst", {})

    def burst_cell(r: dict | None) -> tuple[str, float | None]:
        if r is None:
            return "not run", None
        if "error" in r:
            return f"error: {r['error'].splitlines()[0][:60]}", None
        if r.get("all_s") is None:
            return f"only {r['count']} of {r['n']} after {args.burst_deadline:.0f} s", None
        extra = f" (first after {fmt_s(r['first_s'])}, {r['commits_in_A']} commits)" if "first_s" in r else ""
        return f"**{fmt_s(r['all_s'])}**{extra}", r["all_s"]

    o, ov = burst_cell(bu.get("ours"))
    a, av = burst_cell(bu.get("assistant"))
    f, fv = burst_cell(bu.get("floor"))
    out.append(f"| burst of {args.burst:,} files into A, until all in B's tree | {o} | {a} | {f} "
               f"| {ratio(av, ov)} | {ratio(ov, fv)} |")
    idle = results.get("idle", {})

    def idle_cells(r: dict | None, key: str, fmt: str) -> tuple[str, float | None]:
        if r is None:
            return "not run", None
        if "error" in r:
            return f"error: {r['error'].splitlines()[0][:60]}", None
        vals = [v[key] for v in r["per_daemon"].values()]
        procs = "/".join(str(v["processes"]) for v in r["per_daemon"].values())
        extra = f"; {procs} processes" if key == "rss_mb" else ""
        return " / ".join(fmt.format(v) for v in vals) + f" (A / B{extra})", statistics.mean(vals)

    o, ov = idle_cells(idle.get("ours"), "cpu_s_per_min", "{:.3f}")
    a, av = idle_cells(idle.get("assistant"), "cpu_s_per_min", "{:.3f}")
    out.append(f"| idle, {args.idle_files:,}-file clones, {args.idle_seconds:.0f} s: CPU s per minute "
               f"per daemon | {o} | {a} | — | {ratio(av, ov) if ov and ov >= 0.005 else '—'} | — |")
    o, ov = idle_cells(idle.get("ours"), "rss_mb", "{:.0f} MB")
    a, av = idle_cells(idle.get("assistant"), "rss_mb", "{:.0f} MB")
    out.append(f"| idle: resident memory per daemon (process tree, VmRSS) | {o} | {a} | — "
               f"| {ratio(av, ov)} | — |")
    o = idle.get("ours", {}).get("startup_s")
    a = idle.get("assistant", {}).get("startup_s")
    out.append(f"| idle: start-up on {args.idle_files:,}-file clones until CPU settles | {fmt_s(o)} "
               f"| {fmt_s(a)} | — | {ratio(a, o)} | — |")
    for label, r in (("A → B", lat.get("ours")), ("A → B → C", ch.get("ours"))):
        if r and r.get("breakdown"):
            out += ["", f"Ours {label}, medians of when the daemons logged the step as done (seconds after the "
                    "file appeared; B's merge line comes after its tree was updated and the git-annex branch "
                    "merged): "
                    + ", ".join(f"{k} {v:.3f}" for k, v in r["breakdown"].items()) + "."]
    fl = bu.get("floor", {})
    if "steps" in fl:
        out += ["", "Floor steps: " + ", ".join(f"{k} {v:.2f} s" for k, v in fl["steps"].items()) + "."]
    if ANOMALIES:
        out += ["", f"Anomalies seen in this run: {len(ANOMALIES)} (details on stderr and in the JSON)."]
    return "\n".join(out)


# -- main ----------------------------------------------------------------------------------------
SCENARIOS = ("latency", "chain", "burst", "idle")


def main() -> int:
    global W, ENV
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--quick", action="store_true", help="1,000-file burst, 15 s idle window")
    p.add_argument("--only", default=",".join(SCENARIOS),
                   help="comma-separated subset of " + ", ".join(SCENARIOS))
    p.add_argument("--systems", default="ours,assistant", help="ours, assistant, or both (default)")
    p.add_argument("--trials", type=int, default=None, help="latency trials (default 15; --quick 10)")
    p.add_argument("--burst", type=int, default=None, help="files in the burst (default 10000; --quick 1000)")
    p.add_argument("--idle-files", type=int, default=5000)
    p.add_argument("--idle-seconds", type=float, default=None, help="default 60; --quick 15")
    p.add_argument("--workdir", help="parent of the temp dir (default: $TMPDIR)")
    p.add_argument("--keep", action="store_true", help="keep the clones and daemon logs")
    p.add_argument("--json", help="also write all results (every trial) to this file")
    args = p.parse_args()
    args.trials = args.trials or (10 if args.quick else 15)
    args.burst = args.burst or (1000 if args.quick else 10000)
    args.idle_seconds = args.idle_seconds or (15.0 if args.quick else 60.0)
    args.burst_deadline = 300.0 if args.quick else 900.0
    only = [s.strip() for s in args.only.split(",") if s.strip()]
    systems = [s.strip() for s in args.systems.split(",") if s.strip()]
    if not os.path.exists(SYNCASSISTANT) or not GIT_ANNEX:
        print(f"need {SYNCASSISTANT} and git-annex (pip install -e '.[test]')", file=sys.stderr)
        return 2

    def on_term(*_: object) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, on_term)
    signal.signal(signal.SIGHUP, on_term)
    signal.signal(signal.SIGINT, on_term)  # also when started in the background (SIGINT ignored)
    W = Path(tempfile.mkdtemp(prefix="syncbench-", dir=args.workdir))
    ENV = make_env(W)
    note(f"work dir {W}")
    m = machine()
    results: dict = {s: {} for s in SCENARIOS}

    def attempt(scenario: str, system: str, fn, *a) -> None:
        note(f"--- {scenario}: {system}")
        try:
            results[scenario][system] = fn(*a)
        except KeyboardInterrupt:
            raise
        except Exception as e:
            note(f"{scenario} {system} FAILED: {str(e)[:1500]}")
            results[scenario][system] = {"error": str(e)[:5000]}

    interrupted = False
    try:
        if "latency" in only:
            for s in systems:
                attempt("latency", s, scenario_latency, s, ["A", "B"], args.trials, 30.0)
        if "chain" in only:
            for s in systems:
                attempt("chain", s, scenario_latency, s, ["A", "B", "C"], args.trials, 30.0)
        if "burst" in only:
            for s in systems:
                attempt("burst", s, scenario_burst, s, args.burst, args.burst_deadline)
            attempt("burst", "floor", scenario_floor, args.burst)
        if "idle" in only:
            for s in systems:
                attempt("idle", s, scenario_idle, s, args.idle_files, args.idle_seconds)
    except KeyboardInterrupt:
        interrupted = True
        note("interrupted: stopping every daemon")
    finally:
        stop_all(list(LIVE))
        if not args.keep:
            remove_tree(W)
        else:
            note(f"kept {W}")
    if args.json:
        Path(args.json).write_text(json.dumps({"machine": m, "args": vars(args), "results": results,
                                               "anomalies": ANOMALIES}, indent=2, default=str))
    if ANOMALIES:
        print("\nANOMALIES (our daemon misbehaving, or a daemon that would not stop):", file=sys.stderr)
        for a in ANOMALIES:
            print(" - " + a, file=sys.stderr)
    print(table(results, m, args))
    return 130 if interrupted else 0


if __name__ == "__main__":
    sys.exit(main())
