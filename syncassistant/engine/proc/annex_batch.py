"""Long-lived `git annex <command> --batch` processes, and a pool of them started ahead of need.

A git-annex process spends 150-250 ms starting (reading its branch, the remotes, the keys
database) before it touches the first file; a running `--batch` process answers in 10-20 ms.
So the committer and the transfer slots keep one ready: `WarmPool` starts a process before
the change it will serve arrives, and the first file of a burst skips the start-up.

A used process is closed when its burst ends: closing is what makes git-annex commit its
journal (location tracking) and its keys database, so other processes and clones see them.

A warm process holds ~45 MB resident (plus its git children, ~4 MB each), so an idle daemon
with its three (one add, two transfer) held ~150 MB more than the daemon itself. Warm ones are
closed after WARM_IDLE seconds unused (`git config syncassistant.warmIdle SECONDS`): the
changes of a burst, or of someone saving a file every few seconds, come well within it and find
a process ready; the first change after a longer quiet pays git-annex's start once (0.1-0.5 s
measured on a loaded 2-core machine, against a 2 s target for the file to reach the other
clone), and an idle daemon's tree stays near the daemon's own size.
"""

from __future__ import annotations

import collections
import contextlib
import logging
import os
import select
import signal
import subprocess
import threading
import time
from collections.abc import Callable, Hashable
from pathlib import Path

from .annex import annex_binary
from .git import Git, kill_group, repo_env

log = logging.getLogger(__name__)

# Seconds a warm process may wait unused before it is closed (see the module docstring).
WARM_IDLE = 60.0
WARM_IDLE_KEY = "syncassistant.warmIdle"


def remote_of(args: list[str]) -> str | None:
    """The remote a git-annex command line moves content to or from (`--to R`, `--from R`), whose
    annex-ssh-options its ssh command carries; None for commands that name none."""
    for i, a in enumerate(args):
        if a in ("--to", "--from") and i + 1 < len(args):
            return args[i + 1]
        if a.startswith(("--to=", "--from=")):
            return a.split("=", 1)[1]
    return None


class AnnexBatch:
    """One git-annex process, fed paths (or keys) on stdin one per line, answering JSON lines.

    Input is newline-separated: with -z git-annex reads ahead and waits for more input before
    answering. A path holding a newline cannot be sent (the caller takes another way)."""

    def __init__(self, root: str | Path, args: list[str], keys: bool = False,
                 config: dict[str, str] | None = None) -> None:
        self.root = Path(root)
        self.args = args
        opts = [a for k, v in (config or {}).items() for a in ("-c", f"{k}={v}")]
        self.started = time.time()
        self.bwlimit = 0  # the annex.bwlimit it was started with (bytes/s), for transfer processes
        self.proc = subprocess.Popen(
            [annex_binary(), *args, *opts, "--json", "--json-error-messages",
             "--batch-keys" if keys else "--batch"],
            cwd=self.root, env=repo_env(self.root, remote_of(args)), stdin=subprocess.PIPE,
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True)
        self._buf = b""
        self.cancelled = threading.Event()  # set to end a pacing pause early
        # git-annex puts the reason of many failures (disk full, remote unreachable) on stderr
        self.stderr_lines: collections.deque[str] = collections.deque(maxlen=50)
        self.stderr_count = 0
        threading.Thread(target=self._drain_stderr, name="syncassistant-annex-stderr", daemon=True).start()

    def _drain_stderr(self) -> None:
        assert self.proc.stderr is not None
        for raw in self.proc.stderr:
            line = raw.decode(errors="replace").strip()
            if line:
                self.stderr_lines.append(line)
                self.stderr_count += 1

    def stderr_since(self, mark: int) -> str:
        new = list(self.stderr_lines)[-max(0, min(len(self.stderr_lines), self.stderr_count - mark)):]
        return " ".join(new[-3:]) if self.stderr_count > mark else ""

    def alive(self) -> bool:
        return self.proc.poll() is None

    def send(self, path: str) -> None:
        if "\n" in path:
            raise ValueError(f"a batch input line cannot hold a newline: {path!r}")
        assert self.proc.stdin is not None
        self.proc.stdin.write(path.encode(errors="surrogateescape") + b"\n")
        self.proc.stdin.flush()

    def read_line(self, timeout: float) -> bytes | None:
        """One output line; b"" at EOF; None if nothing came within timeout."""
        assert self.proc.stdout is not None
        fd = self.proc.stdout.fileno()
        deadline = time.monotonic() + timeout
        while b"\n" not in self._buf:
            left = max(0.0, deadline - time.monotonic())  # timeout 0: only what is already there
            r, _, _ = select.select([fd], [], [], left)
            if not r:
                return None
            chunk = os.read(fd, 65536)
            if not chunk:
                out, self._buf = self._buf, b""
                return out
            self._buf += chunk
        line, _, self._buf = self._buf.partition(b"\n")
        return line + b"\n"

    def signal(self, sig: int) -> None:
        with contextlib.suppress(ProcessLookupError):  # it has ended already
            os.killpg(self.proc.pid, sig)

    def close(self, timeout: float = 60) -> None:
        """Close stdin so git-annex finishes and commits its journal; kill if it lingers."""
        with contextlib.suppress(OSError):  # a pipe already broken: the process is gone anyway
            if self.proc.stdin:
                self.proc.stdin.close()
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            log.warning("%s: git annex %s still running %.0f s after its input ended; killed. "
                        "Its processes: %s; it last said: %s", self.root, " ".join(self.args), timeout,
                        group_state(self.proc.pid), " | ".join(list(self.stderr_lines)[-3:]) or "nothing")
            kill_group(self.proc)
            self.proc.wait()
        if self.proc.stdout:
            self.proc.stdout.close()

    def terminate(self, now: bool = False) -> None:
        """Ask the process group to end (from any thread); the reading thread sees EOF.
        `now`: SIGKILL, so that it does nothing more at all, not even its clean-up (its remote's
        repository left its path, and git-annex would write there: see engine/remotepaths)."""
        self.cancelled.set()
        if now:
            self.signal(signal.SIGKILL)
            return
        self.signal(signal.SIGCONT)
        self.signal(signal.SIGTERM)

    def kill(self) -> None:
        self.signal(signal.SIGCONT)
        kill_group(self.proc, grace=1.0)
        self.proc.wait()
        if self.proc.stdout:
            self.proc.stdout.close()


class WarmPool:
    """Batch processes started before they are needed, one per key, handed out once each.

    A warm process read the repository's configuration when it started; one older than the
    last change to `.git/config` (a remote added, its URL changed) is closed, not handed out.
    An unused process has nothing in its journal, so closing it is instant and loses nothing.
    One left unused for `max_idle` seconds is closed too: an idle daemon gives its memory back
    (~45 MB a process), and only the first change after a quiet pays git-annex's start-up.
    `max_idle` None: `syncassistant.warmIdle` (WARM_IDLE by default), read again whenever
    `.git/config` changes; 0 keeps no process warm.
    `usable(key)` false: no process is kept for that key (its remote went away while one was
    starting); `discard` ends the ones kept for keys that no longer may have one.
    """

    def __init__(self, root: str | Path, factory: Callable[[Hashable], AnnexBatch], limit: int = 3,
                 max_idle: float | None = None, usable: Callable[[Hashable], bool] = lambda key: True) -> None:
        self.root = Path(root)
        # (git_dir, not root / ".git": in a worktree or a --separate-git-dir clone that is a file)
        self.config = Git(self.root).git_dir / "config"
        self.factory = factory
        self.limit = limit
        self.max_idle = max_idle
        self.usable = usable
        self._ready: dict[Hashable, AnnexBatch] = {}
        self._timers: dict[Hashable, threading.Timer] = {}
        self._starting: set[Hashable] = set()
        self._lock = threading.Lock()
        self._closed = False
        self._idle_read: tuple[float, float] | None = None  # (.git/config's mtime, warmIdle read then)

    def idle_limit(self) -> float:
        """Seconds an unused process is kept (see the class docstring)."""
        if self.max_idle is not None:
            return self.max_idle
        try:
            mtime = self.config.stat().st_mtime
        except OSError:
            mtime = -1.0
        read = self._idle_read
        if read is None or read[0] != mtime:
            # (a git call per change of the config file, not per fill: fill runs after every burst)
            read = self._idle_read = (mtime, warm_idle(Git(self.root)))
        return read[1]

    def _config_changed_since(self, when: float) -> bool:
        try:
            # file times come from the kernel's coarse clock, a few ms behind time.time()
            return self.config.stat().st_mtime >= when - 0.05
        except OSError:
            return True

    def take(self, key: Hashable) -> AnnexBatch | None:
        with self._lock:
            batch = self._ready.pop(key, None)
            timer = self._timers.pop(key, None)
        if timer is not None:
            timer.cancel()
        if batch is None:
            return None
        if not batch.alive() or self._config_changed_since(batch.started):
            batch.kill()
            return None
        return batch

    def fill(self, keys: list[Hashable]) -> None:
        """Start a process for each key that has none (up to `limit` in all)."""
        idle = self.idle_limit()
        if idle <= 0:
            return
        for key in keys:
            with self._lock:
                if (self._closed or key in self._ready or key in self._starting
                        or len(self._ready) + len(self._starting) >= self.limit):
                    continue
                self._starting.add(key)
            try:
                batch: AnnexBatch | None = self.factory(key)
            except OSError:
                batch = None
            with self._lock:
                self._starting.discard(key)
                if batch is not None and not self._closed and key not in self._ready and self.usable(key):
                    self._ready[key] = batch
                    timer = self._timers[key] = threading.Timer(idle, self._expire, (key, batch))
                    timer.daemon = True
                    timer.start()
                    batch = None
            if batch is not None:  # the pool closed while it started
                batch.kill()

    def _expire(self, key: Hashable, batch: AnnexBatch) -> None:
        with self._lock:
            if self._ready.get(key) is not batch:
                return
            del self._ready[key]
            self._timers.pop(key, None)
        batch.close(timeout=10)

    def discard(self, which: Callable[[Hashable], bool]) -> None:
        """End at once the kept processes whose key `which` picks (their remote went away). An
        unused process has nothing to commit: it is killed, and reaped off the caller's path."""
        with self._lock:
            gone = [(k, self._ready.pop(k), self._timers.pop(k, None)) for k in list(self._ready) if which(k)]
        for _key, batch, timer in gone:
            if timer is not None:
                timer.cancel()
            batch.terminate(now=True)
        if gone:
            threading.Thread(target=lambda: [b.kill() for _k, b, _t in gone],
                             name="syncassistant-annex-reap", daemon=True).start()

    def keys(self) -> list[Hashable]:
        with self._lock:
            return list(self._ready)

    def close(self) -> None:
        with self._lock:
            self._closed = True
            batches, self._ready = list(self._ready.values()), {}
            timers, self._timers = list(self._timers.values()), {}
        for t in timers:
            t.cancel()
        for b in batches:
            b.kill()


def warm_idle(git: Git) -> float:
    """`git config syncassistant.warmIdle` (seconds a warm process is kept unused), else WARM_IDLE."""
    raw = git.config_get(WARM_IDLE_KEY)
    try:
        return max(0.0, float(raw)) if raw else WARM_IDLE
    except ValueError:
        log.warning("%s: %s = %r is not a number of seconds", git.path, WARM_IDLE_KEY, raw)
        return WARM_IDLE


def group_state(pgid: int) -> str:
    """The processes of a process group, each with what it waits in (for a hang's diagnosis)."""
    found = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            if int(fields[2]) != pgid:
                continue
            cmd = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            wchan = Path(f"/proc/{pid}/wchan").read_text()
        except (OSError, ValueError, IndexError):
            continue
        found.append(f"[{pid} {cmd.strip()[:200]}: state {fields[0]}, waits in {wchan.strip() or '-'}]")
    return " ".join(found) or "none"


def close_in_background(batch: AnnexBatch, then: Callable[[], None] = lambda: None) -> threading.Thread:
    """Close a used process off the caller's path (git-annex commits its journal on the way
    out), then run `then` (e.g. ask for a push of the git-annex branch)."""
    def run() -> None:
        batch.close()
        then()
    th = threading.Thread(target=run, name="syncassistant-annex-close", daemon=True)
    th.start()
    return th
