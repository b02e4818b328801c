"""The transfer queue and its worker slots.

Queue: one entry per (direction, remote, key), cheapest remote first, uploads and downloads
taking turns. Slots: SLOTS threads, each keeping long-lived `git annex copy --to R --batch-keys` /
`git annex get --from R --batch-keys` processes with `--json-progress`, fed one key at a time; a
process is closed when its queue runs dry, which commits git-annex's journal, and then the
Pusher carries the location-tracking update to the other clones (batched, not per file). A
process for the same remote and direction is started again at once, ready for the next file
(annex_batch.WarmPool).
Speed limits: each process runs under git-annex's `annex.bwlimit` at the limit that applies
to it, restarted (resuming) when that limit changes; progress reports feed the shared budgets
of ratelimit (SIGSTOP/SIGCONT pacing) and stall detection.
"""

from __future__ import annotations

import collections
import itertools
import json
import logging
import os
import signal
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ..context import RepoContext
from ..network.urls import BadURL, parse_remote_url
from ..proc.annex_batch import AnnexBatch, WarmPool, group_state
from ..proc.git import git_dir_of
from . import autolimit, locks, pointers, scanstate
from .dropper import drop_from_transfer_remotes, drop_unwanted
from .model import Transfer
from .ratelimit import Limits
from .scanner import fresh_uploads, remote_infos_checked, scan_paths

log = logging.getLogger(__name__)

SLOTS = 3
STALL_SECONDS = 60.0
# A first retry comes soon (most failures are passing: a lock, a dropped connection); repeated
# failures back off to RETRY_MAX.
RETRY_START, RETRY_MAX = 5.0, 900.0
HISTORY = 200
LOCKED_RETRY = 2.0
# A transfer that meets git-annex's transfer lock waits quietly this many times in a row
# (~5 min), then counts as failed: a lock held that long is a stuck process a person should see.
LOCKED_WAITS_MAX = 150
# A clone that commits a file uploads it at once, so the receiving clone, which learns of the file
# by merging, usually finds the upload already under way. Waiting this long before downloading
# from such a peer avoids racing it for git-annex's transfer lock (and moving the bytes twice); a
# download that is no longer needed then finishes at once (git-annex skips content that is
# present). A bare repository or an ssh server uploads nothing by itself: no wait for those.
DOWNLOAD_GRACE = 1.0
# A transfer left to the clone at the other end (see _left_to_peer) is left to it for at most
# this long after it was queued, then goes on its own.
PEER_SENDING_MAX = 1800.0
PEER_LOOKUP_EVERY = 30.0
# After work, a catch-up scan runs once the transfers have been quiet this long, so the recorded
# scan (scanstate) follows a running daemon: the next start looks at what changed while it was
# off, not at a day of syncing again. One timer per burst of work; nothing runs while idle.
CHECKPOINT_AFTER = 60.0
# Processes kept started for the next transfer (see annex_batch); each idle one holds ~45 MB.
WARM_TRANSFERS = 2
# A limited process runs under annex.bwlimit this much above its limit (see transfer_batch).
BWLIMIT_HEADROOM = 1.5


DEFAULT_DISKRESERVE = 100 * 1000 * 1000  # git-annex's annex.diskreserve default


def disk_reserve(ctx: RepoContext) -> int:
    """The free space git-annex keeps on this device (annex.diskreserve, default 100 MB)."""
    raw = ctx.git.config_get("annex.diskreserve")
    if raw:
        from .ratelimit import BadRate, parse_rate

        try:
            return parse_rate(raw.replace(" ", ""))
        except BadRate:
            pass
    return DEFAULT_DISKRESERVE


def disk_space_problem(ctx: RepoContext, t: Transfer) -> str | None:
    """Why a transfer failed, when the cause is the receiving disk (git-annex does not say so in
    batch JSON mode): "not enough free space on ..."; None when space is not the problem."""
    if t.direction == "upload":
        url = ctx.git.remote_url(t.remote) or ""
        if not url.startswith(("/", "file://")):
            return None  # we cannot look at an ssh server's disk from here
        where, label = url.removeprefix("file://"), f"remote {t.remote}"
    else:
        where, label = str(ctx.root), "this device"
    try:
        st = os.statvfs(where)
    except OSError:
        return None
    reserve = disk_reserve(ctx)
    free = st.f_bavail * st.f_frsize
    need = (t.size or 0) + reserve
    if free >= need:
        return None
    import humanize

    return (f"not enough free space on {label}: {humanize.naturalsize(free)} free, "
            f"{humanize.naturalsize(t.size or 0)} needed plus the {humanize.naturalsize(reserve)} "
            "git-annex keeps in reserve (annex.diskreserve)")


def disk_full(ctx: RepoContext) -> str | None:
    """"This device's disk is (nearly) full", while it is: less free than git-annex's reserve, or
    on a small disk (a 64 MiB stick would always be under 100 MB) less than 5 % of it. Commits and
    merges fail now and then on such a disk and succeed in between, so their own errors come and
    go; this one stays until there is room again. One statvfs: asked only when status is."""
    try:
        st = os.statvfs(ctx.root)
    except OSError:
        return None
    free = st.f_bavail * st.f_frsize
    floor = min(disk_reserve(ctx), st.f_blocks * st.f_frsize // 20)
    if free >= floor:
        return None
    import humanize

    return (f"the disk of this folder is full: {humanize.naturalsize(free)} free; changes "
            "may not be committed and content is not downloaded until there is room")


def transfer_batch(root: str | Path, direction: str, remote: str, bwlimit: int = 0) -> AnnexBatch:
    """A `git annex copy --to` or `get --from` process for one remote, fed keys, reporting progress,
    moving at most `bwlimit` bytes/s (0: no limit of its own).

    Keys, not file names: a long-lived process given names looks them up in a view of the
    index that it does not always refresh, and answers "skipped" (a blank line) for files
    added after it started; with --batch that happened from the third new file on.
    Keys also never hold a newline."""
    cmd = ["copy", "--to", remote] if direction == "upload" else ["get", "--from", remote]
    # git-annex's own limit undershoots, more so the higher it is (measured: 0.98 of it at
    # 1 MiB/s, 0.89 at 4 MiB/s, 0.76 at 16 MiB/s), so the process gets headroom and the shared
    # token bucket trims it to the limit with short stops.
    config = {"annex.bwlimit": f"{int(bwlimit * BWLIMIT_HEADROOM)}B"} if bwlimit > 0 else {}
    batch = AnnexBatch(root, [*cmd, "--json-progress"], keys=True, config=config)
    batch.bwlimit = bwlimit
    return batch


class TransferManager:
    def __init__(self, ctx: RepoContext, on_location_change: Callable[[], None], slots: int = SLOTS):
        self.ctx = ctx
        self.on_location_change = on_location_change
        self.limits = Limits()
        self.slots = slots
        self._cond = threading.Condition()  # an RLock inside: _emit may run with it held
        self._seq = itertools.count(1)  # orders transfer reports (see _emit)
        self._queued: dict[str, Transfer] = {}
        self._running: dict[str, Transfer] = {}
        self._failed: dict[str, Transfer] = {}
        self._peer_dirs: dict[str, tuple[float, Path | None]] = {}  # remote -> (looked up, git dir)
        self.lock_waits = 0  # transfers that met git-annex's transfer lock (the other side moving it)
        self.left_to_peers = 0  # transfers put back because the other clone was moving the content
        self._history: collections.deque[Transfer] = collections.deque(maxlen=HISTORY)
        self._cancel: set[str] = set()
        self._last_dir = "download"
        self._batches: dict[str, AnnexBatch] = {}  # transfer id -> its batch process while running
        self._offline: set[str] = set()  # remotes known to be away (an unplugged drive)
        # local-path remotes whose repository is not at their path (engine/remotepaths): why
        self._absent: dict[str, str] = {}
        self._holds: dict[str, set[str] | None] = {}  # pause reason -> remotes it holds (None: all)
        self._uuid: str | None = None  # this repository's annex.uuid, read when first needed
        # running transfers interrupted by a hold or a new limit: back to the queue
        self._requeue: set[str] = set()
        self._scan_requests: list[list[str]] = []
        self._catch_up = False  # a catch-up scan asked for (see request_scan)
        self._scanning = False
        self.full_scans = 0  # scans of the whole tree (each asks git-annex about every file)
        self.catch_ups = 0  # catch-up scans that did not need one
        self.last_catch_up: scanstate.CatchUp | None = None
        self._checkpoint_at: float | None = None  # when a catch-up records the work done since
        self._closing = 0  # workers closing their batch processes (committing the journal)
        self._threads = [threading.Thread(target=self._worker, name=f"syncassistant-transfer-{i}", daemon=True)
                         for i in range(slots)]
        self._scanner = threading.Thread(target=self._scan_loop, name="syncassistant-scanner", daemon=True)
        self.completed = 0
        self.bytes_moved = 0
        self.stall_seconds = STALL_SECONDS
        self._warm = WarmPool(ctx.root, self._new_batch, limit=WARM_TRANSFERS,
                              usable=lambda key: key[1] not in self._absent)
        self._auto_on = autolimit.enabled(ctx.git)
        self.auto_restarts = 0
        self.autolimit = autolimit.AutoLimiter(str(ctx.root), ctx.git, self.limits, self._uploading_to,
                                               self._auto_rate_changed, state_file=ctx.state_dir / "autolimit.json")
        ctx.remote_paths.subscribe(self._remote_path_changed)

    def _new_batch(self, key: tuple[str, str]) -> AnnexBatch:
        # Never start a process bound to a local-path remote whose repository is not at its
        # path: git-annex would write there as if it were (see engine/remotepaths).
        problem = self.ctx.remote_paths.problem(key[1])
        if problem is not None:
            raise OSError(problem)
        return transfer_batch(self.ctx.root, *key, bwlimit=self.limits.process_limit(*key))

    def _retire(self, key: tuple[str, str], batch: AnnexBatch) -> None:
        """End a used process: closed (git-annex commits its journal on the way out), or killed
        when its remote is away, so that it does nothing more there."""
        if key[1] in self._absent:
            batch.kill()
        else:
            batch.close()

    # -- lifecycle -----------------------------------------------------------------------------
    def start(self) -> None:
        for t in self._threads:
            t.start()
        self._scanner.start()
        self.request_scan(None)  # a catch-up: what changed while we were not running

    def stop(self) -> None:
        with self._cond:
            batches = list(self._batches.values())
            self._cond.notify_all()
        for b in batches:
            b.terminate()
        self.autolimit.stop()
        for t in [*self._threads, self._scanner]:
            t.join(30)
        self._warm.close()

    # -- scanning ------------------------------------------------------------------------------
    def request_scan(self, paths: list[str] | None = None) -> None:
        """Scan these paths for content to move; None: everything that may need a transfer, which
        is a catch-up (see scanstate): what changed since the last recorded scan, and what was
        outstanding then (at start, when a remote or the network comes back, on "sync now").
        The whole tree is scanned only when that cannot be told."""
        with self._cond:
            if paths is None:
                self._catch_up = True
            else:
                self._scan_requests.append(paths)
            self._cond.notify_all()

    def _scan_loop(self) -> None:
        while True:
            with self._cond:
                while not (self._scan_requests or self._catch_up) and not self.ctx.stopping.is_set():
                    if self._checkpoint_at is None:
                        self._cond.wait()
                    elif (left := self._checkpoint_at - time.monotonic()) > 0:
                        self._cond.wait(left)
                    else:
                        self._checkpoint_at = None
                        # (with transfers queued, their end arms it again; a remote held away
                        # gets a catch-up when it is back)
                        self._catch_up = not (self._queued or self._running or self._closing)
                if self.ctx.stopping.is_set():
                    return
                reqs, self._scan_requests = self._scan_requests, []
                catch_up, self._catch_up = self._catch_up, False
                self._scanning = True
            paths: list[str] | None = [p for r in reqs for p in r]
            try:
                paths, found = self._scan(paths, catch_up)
            except Exception as e:
                log.error("%s: content scan failed: %s", self.ctx.root, e)
                found = []
            self.enqueue(found)
            self._settle_delivered(paths, found)
            log.info("%s: scan found %d transfer(s)", self.ctx.root, len(found))
            try:
                if drop_unwanted(self.ctx, paths):
                    self.on_location_change()  # tell the others this copy is gone
                if drop_from_transfer_remotes(self.ctx, paths):
                    self.on_location_change()
            except Exception as e:
                log.error("%s: dropping unwanted content failed: %s", self.ctx.root, e)
            with self._cond:
                self._scanning = False
                # a catch-up recorded its state: it is itself the checkpoint
                self._checkpoint_at = None if catch_up else time.monotonic() + CHECKPOINT_AFTER

    def _scan(self, paths: list[str], catch_up: bool) -> tuple[list[str] | None, list[Transfer]]:
        """Run one scan: of `paths`, plus a catch-up if asked, which records what it covered for
        the next (scanstate). Returns the paths scanned (None: the whole tree) and what to do."""
        ctx = self.ctx
        remotes, here_wants, complete = remote_infos_checked(ctx)
        snap = scanstate.take(ctx, remotes, here_wants) if catch_up else None
        scanned: list[str] | None = paths
        if snap is not None:
            t0 = time.monotonic()
            cu = self.last_catch_up = scanstate.catch_up(ctx, scanstate.load(ctx.state_dir), snap, remotes)
            if cu.full is not None:
                log.info("%s: full content scan: %s", ctx.root, cu.full)
                self.full_scans += 1
                scanned = None
            else:
                self.catch_ups += 1
                log.info("%s: catch-up scan of %d path(s): %d file(s) changed, %d location log(s), %d "
                         "looked up, the rest pending (%.2f s to tell)", ctx.root, len(cu.paths),
                         cu.changed_files, cu.changed_logs, cu.looked_up, time.monotonic() - t0)
                scanned = sorted(set(paths) | set(cu.paths))
        result = scan_paths(ctx, scanned, (remotes, here_wants))
        if snap is not None and complete and not ctx.stopping.is_set():
            # (a remote that could not be probed was not scanned for: the older state stays)
            scanstate.save(ctx.state_dir, snap, result.proposed)
        return scanned, result.transfers

    def _settle_delivered(self, paths: list[str] | None, found: list[Transfer]) -> None:
        """A deferred or failed download whose content has come another way meanwhile (the tree
        parent brought it; another clone uploaded it) is done: the scan of its path no longer
        asks for it, and its file is filled in. Without this a deferred one waited out its grace
        (a minute or more), then ran for nothing, and a failed one stayed in the status as
        failed until its back-off passed (after a full disk was freed, say)."""
        scanned = None if paths is None else set(paths)
        asked = {t.id for t in found}
        with self._cond:
            waiting = [t for t in (*self._queued.values(), *self._failed.values())
                       if (t.deferred or t.state == "failed") and t.direction == "download"
                       and t.id not in asked and (scanned is None or t.path in scanned)]
        delivered = [t for t in waiting if pointers.populated(self.ctx, t.path)]
        settled = []
        with self._cond:
            for t in delivered:
                if self._queued.get(t.id) is t or self._failed.get(t.id) is t:
                    self._queued.pop(t.id, None)
                    self._failed.pop(t.id, None)
                    t.state, t.skipped, t.finished, t.error = "done", True, time.time(), None
                    self._history.append(t)
                    settled.append(t)
            self._cond.notify_all()
        for t in settled:
            self._emit(t)

    def upload_fresh(self, added: dict[str, str]) -> bool:
        """Queue uploads of content just added here (path -> key) without a scan, where that is
        sound (see scanner.fresh_uploads); False when a scan must decide."""
        try:
            found = fresh_uploads(self.ctx, added)
        except Exception as e:
            log.warning("%s: no fast upload, scanning instead: %s", self.ctx.root, e)
            return False
        if found is None:
            return False
        self.enqueue(found)
        return True

    # -- queue ---------------------------------------------------------------------------------
    def enqueue(self, transfers: list[Transfer]) -> int:
        added: list[Transfer] = []
        peers = {r: self._peer_may_upload(r) for r in {t.remote for t in transfers if t.direction == "download"}}
        with self._cond:
            for t in transfers:
                # A failed one stays failed (shown so, retried after its back-off or when asked):
                # a scan that asks for it again has learnt nothing new about why it failed. When
                # a scan moved it to the queue, "Retry" found nothing failed to retry.
                if t.id in self._queued or t.id in self._running or t.id in self._failed:
                    continue
                if t.direction == "download" and not t.attempts and peers[t.remote]:
                    t.not_before = max(t.not_before, time.monotonic() + DOWNLOAD_GRACE)
                self._queued[t.id] = t
                added.append(t)
            self._cond.notify_all()
        # Only what was queued here: a duplicate of a running transfer, announced as "queued"
        # after the running one reported "done", would show as waiting forever.
        for t in added[:50]:
            self._emit(t)
        return len(added)

    def _remote_fetching(self, t: Transfer, error: str) -> bool:
        """An upload to a clone on a local path failed the way it does when that clone is
        fetching the same key at the moment (see transfers/locks)."""
        if t.direction != "upload" or "failed to send content" not in error:
            return False
        path = self._local_path(t.remote)
        git_dir = git_dir_of(path) if path is not None else None
        if git_dir is None:
            return False
        if self._uuid is None:
            self._uuid = self.ctx.annex.uuid() or ""
        return locks.download_lock_held(git_dir, self._uuid, t.key)

    def _local_path(self, remote: str) -> Path | None:
        url = self.ctx.git.config_get(f"remote.{remote}.url") or ""
        try:
            parsed = parse_remote_url(url, base=self.ctx.root)
        except BadURL:
            return None
        if parsed.kind != "local":
            return None
        path = Path(parsed.path)
        return path if path.is_absolute() else self.ctx.root / path

    def _peer_may_upload(self, remote: str) -> bool:
        """The remote may be a clone with its own daemon or assistant sending us content now:
        a non-bare repository on a local path. Not a bare one, nor an ssh server (whose clone
        would reach us over ssh only if we were its remote: rare, and a clash costs a retry)."""
        path = self._local_path(remote)
        return path is not None and (path / ".git").exists()

    def _left_to_peer(self, t: Transfer) -> bool:
        """Leave `t` to the clone at the other end when that clone is moving the content itself,
        and put it back in the queue for later (no attempt counted, no git-annex process).

        Both clones act on a new file: A uploads it to B while B's scan queues its download.
        When they met on one key, one failed on git-annex's transfer lock and waited (92 such
        waits in one run of 1,000 files). So: a download of a key the other clone is uploading
        to us now waits; and while a clone on a local path fetches from us, our uploads to it
        wait, all of them (for PEER_SENDING_MAX at most): a clone pulling is the fast way
        round, `git annex get --from` 100 x 64 KiB took 0.86 s where `copy --to` into the same
        non-bare clone took 6.2 s (git-annex updates the receiving clone's work tree and keys
        database per file from outside)."""
        if time.time() - t.queued_at > PEER_SENDING_MAX:
            return False
        peer = self._peer_git_dir(t.remote)
        if peer is None:
            return False
        if self._uuid is None:
            self._uuid = self.ctx.annex.uuid() or ""
        if t.direction == "download":
            leave = locks.lock_held(peer, "upload", self._uuid, t.key)
        else:
            with self._cond:  # our own uploads into it hold its download locks too
                ours = {r.key for r in self._running.values() if r.remote == t.remote and r is not t}
            leave = locks.moving(peer, "download", self._uuid, exclude=ours)
        if not leave:
            return False
        later = time.monotonic() + LOCKED_RETRY
        with self._cond:
            self._running.pop(t.id, None)
            moved = [t] if t.direction == "download" else [t, *(
                q for q in self._queued.values() if q.direction == "upload" and q.remote == t.remote)]
            for q in moved:
                q.not_before = max(q.not_before, later)
            t.state, t.started, t.attempts = "queued", None, t.attempts - 1
            self._queued[t.id] = t
            self.left_to_peers += 1
        log.debug("%s: %s of %s via %s left to that clone, which is moving content itself",
                  self.ctx.root, t.direction, t.path, t.remote)
        return True

    def _peer_git_dir(self, remote: str) -> Path | None:
        """The git directory of `remote` when it is a clone on a local path (whose own daemon
        or assistant may move content too); looked up at most every PEER_LOOKUP_EVERY s."""
        now = time.monotonic()
        hit = self._peer_dirs.get(remote)
        if hit is None or now - hit[0] > PEER_LOOKUP_EVERY:
            path = self._local_path(remote)
            hit = (now, git_dir_of(path) if path is not None and (path / ".git").exists() else None)
            self._peer_dirs[remote] = hit
        return hit[1]

    def _next(self) -> Transfer | None:
        now = time.monotonic()
        # failed transfers come back on their own once their back-off has passed
        for t in [t for t in self._failed.values() if t.not_before <= now]:
            del self._failed[t.id]
            t.state = "queued"
            self._queued[t.id] = t
        ready = [t for t in self._queued.values() if t.not_before <= now and not self._held(t.remote)]
        if not ready:
            return None
        # Uploads and downloads take turns when both wait; cheapest remote first within each.
        want = "upload" if self._last_dir == "download" else "download"
        pool = [t for t in ready if t.direction == want] or ready
        t = min(pool, key=lambda t: (t.cost, t.queued_at, t.path))
        self._last_dir = t.direction
        return t

    def _worker(self) -> None:
        batches: dict[tuple[str, str], AnnexBatch] = {}
        while True:
            with self._cond:
                t = None
                while not self.ctx.stopping.is_set():
                    if not self.ctx.paused.is_set():
                        t = self._next()
                        if t is not None:
                            break
                    if batches:
                        # nothing to do now (what is queued is held or not due: a deferred or a
                        # graced download): close the batch processes below, which commits
                        # git-annex's journal, so location tracking goes out now, not later
                        self._closing += 1
                        break
                    waits = [q.not_before - time.monotonic()
                             for q in (*self._queued.values(), *self._failed.values()) if not self._held(q.remote)]
                    self._cond.wait(max(0.05, min(waits)) if waits and not self.ctx.paused.is_set() else None)
                if self.ctx.stopping.is_set():
                    break
                if t is not None:
                    del self._queued[t.id]
                    self._running[t.id] = t
                    t.state, t.started, t.attempts = "running", time.time(), t.attempts + 1
            if t is None:
                self._close_all(batches)
                continue
            if self._left_to_peer(t):
                continue
            self._run(t, batches)
        for b in batches.values():
            b.kill()

    def _close_all(self, batches: dict[tuple[str, str], AnnexBatch]) -> None:
        used = list(batches)
        try:
            for k, b in batches.items():
                self._retire(k, b)
            batches.clear()
            self.on_location_change()
        finally:
            with self._cond:
                self._closing -= 1  # idle only now: the location push has been asked for
                self._cond.notify_all()
        # the next file most likely goes the same way: have a process ready for it
        if not self.ctx.stopping.is_set():
            self._warm.fill(sorted((k for k in used if k[1] not in self._absent), key=lambda k: k[0] != "upload"))

    def _run(self, t: Transfer, batches: dict[tuple[str, str], AnnexBatch]) -> None:
        key = (t.direction, t.remote)
        if t.direction == "upload" and self._auto_on and self._is_ssh(t.remote):
            self.autolimit.touch(t.remote)
        cap = self.limits.process_limit(*key, batches[key].bwlimit if key in batches else None)
        # Is the remote's repository at its path (a local one)? Asked before each transfer: a
        # folder moved away is not always seen by the watcher before the next file comes.
        problem = self.ctx.remote_paths.problem(t.remote)
        # Keep one process per slot: switching remote or direction, or a limit that changed,
        # closes the old one.
        for k in [k for k in batches if k != key or batches[k].bwlimit != cap or problem]:
            self._retire(k, batches.pop(k))
            self.on_location_change()
        if problem is None and key not in batches:
            batch = self._warm.take(key)
            if batch is not None and batch.bwlimit != self.limits.process_limit(*key, batch.bwlimit):
                # started under another limit
                batch.kill()
                batch = None
            try:
                batches[key] = batch or self._new_batch(key)
            except OSError as e:
                if self.ctx.remote_paths.problem(t.remote) is None:
                    raise  # git-annex cannot start at all (as before)
                problem = str(e)  # the remote went away just now
        if problem is not None:
            self._hold_back(t, problem)
            return
        batch = batches[key]
        with self._cond:
            self._batches[t.id] = batch
            if t.id in self._cancel:  # cancelled while the process was starting
                batch.terminate()
            elif batch.bwlimit != self.limits.process_limit(*key, batch.bwlimit):  # the limit changed meanwhile
                self._requeue.add(t.id)
                batch.terminate()
        self._emit(t)
        ok, error = False, None
        mark = batch.stderr_count
        try:
            batch.send(t.key)
            ok, error = self._follow(t, batch)
        except (OSError, ValueError) as e:
            error = f"git-annex batch process failed: {e}"
        if not ok:
            time.sleep(0.05)  # let the stderr reader catch the reason printed just before
            detail = batch.stderr_since(mark) or disk_space_problem(self.ctx, t)
            if detail and detail not in (error or ""):
                error = f"{error}: {detail}" if error else detail
        if ok and t.direction == "upload" and self.ctx.remote_paths.problem(t.remote):
            # Reported done while the remote's repository left its path: the bytes may have
            # gone into whatever is there now (git-annex reports success into an empty folder
            # where a bare repository was). Done again once it is back: git-annex then checks
            # the remote itself, and sends the content if it is not there.
            ok, error = False, "the remote went away during the transfer"
        if not ok:
            batch.kill()
            batches.pop(key, None)
            if self.ctx.remote_paths.problem(t.remote):
                # it failed because the remote's repository went away: no failure, it waits for
                # the remote (the report of its going holds the remote's transfers)
                with self._cond:
                    self._requeue.add(t.id)
        elif t.direction == "download" and not t.skipped:
            pointers.fill_in(self.ctx, pointers.left_as_pointers(self.ctx, [t.path]))
        # (asked before taking the lock: for an upload into a local clone it reads config and
        # probes that clone's lock)
        met_lock = not ok and bool(error) and (locks.LOCKED_MESSAGE in error or self._remote_fetching(t, error))
        with self._cond:
            self._batches.pop(t.id, None)
            self._running.pop(t.id, None)
            cancelled = t.id in self._cancel
            self._cancel.discard(t.id)
            requeue = t.id in self._requeue and not ok and not cancelled
            self._requeue.discard(t.id)
            t.finished = time.time()
            self._checkpoint_at = time.monotonic() + CHECKPOINT_AFTER
            locked = met_lock and not cancelled and t.lock_waits < LOCKED_WAITS_MAX
            t.lock_waits = t.lock_waits + 1 if locked else 0
            self.lock_waits += locked
            if requeue or locked:
                # held (remote away, metered network), or the other clone is moving this very key
                # (both act on a new file): not a failure; it resumes later, or finds it done
                t.state, t.error, t.finished, t.speed = "queued", None, None, 0.0
                t.attempts = max(0, t.attempts - 1)
                if locked:
                    t.not_before = time.monotonic() + LOCKED_RETRY
                    log.info("%s: %s of %s via %s waits: the other side is moving it", self.ctx.root,
                             t.direction, t.path, t.remote)
                self._queued[t.id] = t
            elif ok:
                t.state, t.error = "done", None
                if not t.skipped:  # e.g. a deferred download the tree parent delivered meanwhile
                    self.completed += 1
                    self.bytes_moved += t.size or t.bytes_done
                self._history.append(t)
            elif cancelled:
                t.state, t.error = "cancelled", "cancelled"
                self._history.append(t)
            else:
                t.state, t.error = "failed", error
                made_progress = t.bytes_done > t.best_progress
                t.best_progress = max(t.best_progress, t.bytes_done)
                delay = min(RETRY_MAX, RETRY_START * 2 ** (t.attempts - 1) * (1 if made_progress else 2))
                if error and error.startswith("stalled"):
                    delay = LOCKED_RETRY  # restart a stalled transfer at once (it resumes)
                t.not_before = time.monotonic() + delay
                self._failed[t.id] = t
                log.warning("%s: %s of %s via %s failed (retry in %.0f s): %s", self.ctx.root, t.direction,
                            t.path, t.remote, delay, error)
            self._cond.notify_all()
        self._emit(t)
        if ok and t.direction == "download" and not t.skipped:
            # one more client has it: a transfer remote (a cloud bridge) may not want it any
            # more; the scan of its path drops it there (drop_from_transfer_remotes)
            self.request_scan([t.path])

    def _hold_back(self, t: Transfer, problem: str) -> None:
        """A transfer taken for a remote found away: back to the queue, not as a failure."""
        log.info("%s: %s of %s via %s waits: %s", self.ctx.root, t.direction, t.path, t.remote, problem)
        with self._cond:
            # (the report of its going has held it; if none came, hold it here rather than
            # take the transfer again at once, over and over)
            self._absent.setdefault(t.remote, problem)
            self._running.pop(t.id, None)
            self._requeue.discard(t.id)
            if t.id in self._cancel:
                self._cancel.discard(t.id)
                t.state, t.error, t.finished = "cancelled", "cancelled", time.time()
                self._history.append(t)
            else:
                t.state, t.started, t.attempts = "queued", None, max(0, t.attempts - 1)
                self._queued[t.id] = t
            self._cond.notify_all()
        self._emit(t)

    def _follow(self, t: Transfer, batch: AnnexBatch) -> tuple[bool, str | None]:
        """Read progress until git-annex reports the result for this file."""
        # A transfer started again (a new limit, a hold released) resumes: git-annex's first
        # report is where it resumed. Those bytes were counted and paid for the first time;
        # charged again, a restart under a limit stopped the process for as long again.
        last_bytes, last_time = t.bytes_done, time.monotonic()
        while True:
            line = batch.read_line(self.stall_seconds)
            if line is None:
                log.warning("%s: %s of %s via %s stalled; its processes: %s", self.ctx.root, t.direction,
                            t.path, t.remote, group_state(batch.proc.pid))
                return False, f"stalled: no progress for {self.stall_seconds:.0f} s"
            # git-annex runs ahead of what we have read: the pipe holds older reports. Take all
            # that are already there, so pacing works on where the transfer really is.
            lines = [line]
            while lines[-1] not in (b"",) and (more := batch.read_line(0)) is not None:
                lines.append(more)
            done = None
            for line in lines:
                if line == b"":
                    return False, "git-annex exited" if t.id not in self._cancel else "cancelled"
                line = line.strip()
                if not line:  # git-annex skipped the file (nothing to do): fine
                    t.skipped = True
                    return True, None
                try:
                    rec = json.loads(line)
                except ValueError:
                    continue
                if "byte-progress" in rec:
                    done = int(rec.get("byte-progress") or 0)
                    if rec.get("total-size"):
                        t.size = int(rec["total-size"])
                elif "success" in rec:
                    if rec["success"]:
                        t.bytes_done = t.size or t.bytes_done
                        return True, None
                    msgs = rec.get("error-messages") or []
                    return False, "; ".join(msgs) or "git-annex reported failure"
            if done is None:
                continue
            now = time.monotonic()
            if now > last_time and done >= last_bytes:
                inst = (done - last_bytes) / (now - last_time)
                t.speed = inst if t.speed == 0 else 0.7 * t.speed + 0.3 * inst
            pause = self.limits.spend(t.direction, t.remote, max(0, done - last_bytes))
            # To or from an encrypted remote git-annex counts gpg's bytes, more than the file's
            # (10.20261026: a 64-byte file reported 137 of 64, "214%"; `transfers` showed 1500 %
            # for a hand-made encrypted directory remote). A person is shown the file's share:
            # at most all of it. (The speed and the limits keep the bytes that really moved.)
            t.bytes_done = min(done, t.size) if t.size else done
            last_bytes, last_time = done, now
            self._emit(t)
            if pause > 0:
                # Speed is measured over wall time, pauses included, so it shows the paced rate.
                batch.signal(signal.SIGSTOP)
                try:
                    batch.cancelled.wait(pause)
                finally:
                    batch.signal(signal.SIGCONT)

    # -- control -------------------------------------------------------------------------------
    def cancel(self, transfer_id: str) -> bool:
        with self._cond:
            t = self._queued.pop(transfer_id, None) or self._failed.pop(transfer_id, None)
            if t is not None:
                t.state, t.finished = "cancelled", time.time()
                self._history.append(t)
                self._emit(t)
                return True
            if transfer_id not in self._running:
                return False
            self._cancel.add(transfer_id)
            batch = self._batches.get(transfer_id)
        if batch is not None:
            batch.terminate()
        return True

    def retry(self, transfer_id: str) -> bool:
        """Try a failed or cancelled transfer now (one queued behind a back-off goes now too)."""
        with self._cond:
            t = self._failed.pop(transfer_id, None)
            waiting = self._queued.get(transfer_id)
            if t is None and waiting is not None and waiting.not_before > time.monotonic():
                t = waiting
            if t is None:
                for h in self._history:
                    if h.id == transfer_id and h.state in ("failed", "cancelled"):
                        t = h
                if t is None:
                    return False
            t.state, t.not_before, t.error = "queued", 0.0, None
            self._queued[t.id] = t
            self._cond.notify_all()
        self._emit(t)
        return True

    def retry_all(self) -> None:
        """A remote came back (or the network): failed transfers may go at once."""
        with self._cond:
            for t in self._failed.values():
                t.not_before = 0.0
                t.state = "queued"
                self._queued[t.id] = t
            self._failed.clear()
            self._cond.notify_all()

    def wake(self) -> None:
        with self._cond:
            self._cond.notify_all()

    def set_limit(self, upload: int | None = None, download: int | None = None,
                  remote: str | None = None) -> None:
        if upload is not None:
            self.limits.set("upload", upload, remote)
        if download is not None:
            self.limits.set("download", download, remote)
        with self._cond:
            # A process runs at the limit it was started with: one whose limit changed is
            # restarted (a lower limit alone would also hold through pacing, a higher one could
            # not be reached at all).
            # (a process still starting is checked by _run once it is registered)
            self._requeue_running(lambda t, batch: batch is not None
                                  and batch.bwlimit != self.limits.process_limit(t.direction, t.remote,
                                                                                  batch.bwlimit))
            self._cond.notify_all()
        self.ctx.emit("limits", **self.limits_dict())

    def limits_dict(self) -> dict:
        return {**self.limits.as_dict(), "auto_upload": self._auto_on, "auto_status": self.autolimit.status()}

    # -- the automatic upload limit (autolimit.py) ---------------------------------------------
    def set_auto_limit(self, on: bool) -> None:
        """Turn the automatic upload limit on or off, live (kept in git config by the caller)."""
        self._auto_on = on
        if not on:
            self.autolimit.stop()
            self.autolimit = autolimit.AutoLimiter(str(self.ctx.root), self.ctx.git, self.limits,
                                                   self._uploading_to, self._auto_rate_changed,
                                                   state_file=self.ctx.state_dir / "autolimit.json")
            for remote in list(self.limits.auto):
                self.limits.set_auto(remote, None)
                self._auto_rate_changed(remote)
        else:
            with self._cond:
                remotes = {t.remote for t in self._running.values() if t.direction == "upload"}
            for remote in remotes:
                if self._is_ssh(remote):
                    self.autolimit.touch(remote)
        self.ctx.emit("limits", **self.limits_dict())

    def _is_ssh(self, remote: str) -> bool:
        try:
            return parse_remote_url(self.ctx.git.config_get(f"remote.{remote}.url") or "",
                                    base=self.ctx.root).kind == "ssh"
        except BadURL:
            return False

    def _uploading_to(self, remote: str) -> bool:
        with self._cond:
            return any(t.remote == remote and t.direction == "upload"
                       for t in [*self._running.values(), *self._queued.values()])

    def _auto_rate_changed(self, remote: str) -> None:
        with self._cond:
            # (counted: each restart costs a git-annex start; benchmarks show how many a ramp takes)
            self.auto_restarts += self._requeue_running(
                lambda t, batch: batch is not None and t.remote == remote and t.direction == "upload"
                and batch.bwlimit != self.limits.process_limit("upload", remote, batch.bwlimit))
            self._cond.notify_all()

    # -- status --------------------------------------------------------------------------------
    def snapshot(self, history: int = 50) -> list[dict]:
        with self._cond:
            items = [*self._running.values(), *sorted(self._queued.values(), key=lambda t: (t.cost, t.queued_at))[:500],
                     *self._failed.values(), *list(self._history)[-history:]]
            seq = next(self._seq)  # newer than every report sent before, older than any after
            return [{**t.as_dict(), "seq": seq} for t in items]

    def counts(self, remote: str | None = None) -> dict[str, int]:
        """Queued, running, failed transfers (to or from `remote` only, if given) and all done."""
        with self._cond:
            if remote is None:
                return {"queued": len(self._queued), "running": len(self._running),
                        "failed": len(self._failed), "done": self.completed}
            return {state: sum(1 for t in group.values() if t.remote == remote)
                    for state, group in (("queued", self._queued), ("running", self._running),
                                         ("failed", self._failed))} | {"done": self.completed}

    def scanning(self) -> bool:
        with self._cond:
            return bool(self._scan_requests or self._catch_up or self._scanning)

    def idle(self) -> bool:
        with self._cond:
            now = time.monotonic()
            # a download routing defers (the tree parent should bring the content) is not work
            # to do now; it runs later only if the parent never delivers
            waiting = any(not self._held(t.remote) and not (t.deferred and t.not_before > now)
                          for t in self._queued.values())
            return not (waiting or self._running or self._scan_requests or self._catch_up or self._scanning
                        or self._closing)

    # -- holds: remotes away, metered networks ----------------------------------------------------
    def _held(self, remote: str) -> bool:
        return (remote in self._offline or remote in self._absent
                or any(r is None or remote in r for r in self._holds.values()))

    def _interrupt_held(self) -> None:
        """Stop running transfers that a hold now covers; they go back to the queue (and resume
        from their partial content when the hold ends). Caller holds the lock."""
        self._requeue_running(lambda t, _batch: self._held(t.remote))

    def _requeue_running(self, which: Callable[[Transfer, AnnexBatch | None], bool],
                         now: bool = False) -> int:
        """Stop the running transfers `which` picks (given each one's process, None while it
        starts) and queue them again, not as failures; git-annex resumes each from its partial
        content. `now`: killed, not asked to end (a remote gone from its path, where git-annex
        would go on writing while it ends). Caller holds the lock. Returns how many."""
        n = 0
        for tid, t in self._running.items():
            batch = self._batches.get(tid)
            # (one already asked to end is not asked again, nor counted twice, unless it must die now)
            if tid not in self._cancel and (now or tid not in self._requeue) and which(t, batch):
                self._requeue.add(tid)
                n += 1
                if batch is not None:
                    batch.terminate(now=now)
        return n

    def set_offline(self, remote: str, offline: bool) -> None:
        """A remote went away (drive unplugged) or came back: its transfers wait quietly, with no
        failures or back-off, and go at once when it is back."""
        with self._cond:
            if offline:
                self._offline.add(remote)
                self._interrupt_held()
            elif remote in self._offline:
                self._offline.discard(remote)
                for t in [*self._queued.values(), *self._failed.values()]:
                    if t.remote == remote:
                        t.not_before = 0.0
            self._cond.notify_all()

    def pause(self, reason: str, remotes: set[str] | None = None) -> None:
        """Hold transfers (to `remotes`, or all) until resume(reason); running ones stop and are
        queued again. Several reasons may hold at once (e.g. "metered" and the user)."""
        with self._cond:
            self._holds[reason] = None if remotes is None else set(remotes)
            self._interrupt_held()
            self._cond.notify_all()

    def resume(self, reason: str) -> None:
        with self._cond:
            self._holds.pop(reason, None)
            self._cond.notify_all()

    def held(self) -> dict[str, Any]:
        with self._cond:
            return {"offline": sorted(self._offline | set(self._absent)),
                    "absent": dict(self._absent),  # local-path remotes not at their path: why
                    "holds": {k: (None if v is None else sorted(v)) for k, v in self._holds.items()}}

    def _remote_path_changed(self, remote: str, problem: str | None) -> None:
        """engine/remotepaths reports a local-path remote's repository gone from its path, or
        back. Gone: its running transfers are stopped and wait (not failures), and every
        process bound to it ends now, also the ones kept ready; back: they go at once."""
        with self._cond:
            if problem is not None:
                self._absent[remote] = problem
                self._requeue_running(lambda t, _batch: t.remote == remote, now=True)
            elif self._absent.pop(remote, None) is not None:
                for t in [*self._queued.values(), *self._failed.values()]:
                    if t.remote == remote:
                        t.not_before = 0.0
            self._cond.notify_all()
        if problem is not None:
            self._warm.discard(lambda key: key[1] == remote)

    def _emit(self, t: Transfer) -> None:
        # Taken under the lock with a sequence number, sent outside it: threads' reports of one
        # transfer can reach a listener out of order (enqueue's "queued" after the worker's
        # "done"), and the number lets the listener keep the newest.
        with self._cond:
            d = t.as_dict()
            d["seq"] = next(self._seq)
        self.ctx.emit("transfer", **d)
