"""The Daemon of one repository: owns its loops, queues and status; the Assistant holds several.

Loops (each its own thread): Watcher -> Committer -> Pusher; RefWatcher -> Merger -> Pusher;
the control socket. The headless `syncassistant daemon` and the tray app run this same class.
"""

from __future__ import annotations

import collections
import logging
import os
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from . import netmap_store, reaper, routing, sshmux
from .committer import Committer
from .conflicts import ConflictStore
from .context import RepoContext
from .control import ControlServer
from .devices import DeviceMonitor
from .events import EventHub
from .hooks import HookRunner
from .hooks_install import adjust_post_receive
from .lock import DaemonLock
from .merger import Merger, MergeResult
from .notifychanges import RemoteChangeWatcher
from .pusher import Pusher
from .recovery import remove_stale_locks
from .refwatcher import RefWatcher
from .repo import open_repo
from .transfers.manager import TransferManager
from .watcher import Watcher

log = logging.getLogger(__name__)

RECENT_PATHS = 5000  # paths of recent merges, rescanned when only location tracking changes


def syncable_remote(ctx: RepoContext, name: str) -> bool:
    """A git remote we push to: has a URL, not ignored, not set to annex-sync=false."""
    cfg = ctx.git.config_get_regexp(rf"^remote\.{_re_escape(name)}\.")
    prefix = f"remote.{name}."
    if not cfg.get(prefix + "url"):
        return False
    if cfg.get(prefix + "annex-ignore", "false").lower() == "true":
        return False
    if cfg.get(prefix + "annex-sync", "true").lower() == "false":
        return False
    return cfg.get(prefix + "syncassistant-mode", "full") != "off"


def _re_escape(name: str) -> str:
    return "".join("\\" + c if not c.isalnum() else c for c in name)


class Daemon:
    def __init__(self, path: str | Path, events: EventHub | None = None, control: bool = True):
        self.root = open_repo(path)
        self.ctx = RepoContext(self.root, events=events or EventHub())
        self.lock = DaemonLock(self.ctx.state_dir)
        self.conflicts = ConflictStore(self.ctx.state_dir)
        self.hooks = HookRunner(self.ctx)
        self._hook_pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="syncassistant-hook")
        self.committer = Committer(self.ctx, self._on_commit, on_journal=self._on_location_change)
        self.merger = Merger(self.ctx, self.conflicts, self._flush_pending, self._on_merged)
        self.pusher = Pusher(self.ctx, self.merger.fetch_and_merge,
                             remote_filter=lambda n: syncable_remote(self.ctx, n))
        self.netmap = netmap_store.Publisher(self.ctx, self.pusher.snapshot, on_change=self.pusher.request)
        self.transfers = TransferManager(self.ctx, on_location_change=self._on_location_change)
        self.pusher.on_remote_back = self._on_remote_back
        # (after the transfers: they hold a remote that went away before anything else reacts)
        self.ctx.remote_paths.subscribe(self._on_remote_path)
        self.ctx.down_remotes = lambda: (routing.down_remotes_from(self.pusher.snapshot())
                                         | set(self.transfers.held()["offline"]))
        self.watcher = Watcher(self.root, self.committer.notify)
        self.refwatcher = RefWatcher(self.ctx.git.git_dir, self._on_ref_changed)
        self.control = ControlServer(self.ctx.state_dir, self.handle_request) if control else None
        self.started_at: float | None = None
        self._recent_paths: collections.deque[str] = collections.deque(maxlen=RECENT_PATHS)
        self._started = False

    # -- lifecycle ------------------------------------------------------------------------------
    def start(self) -> None:
        self.lock.acquire()
        try:
            reaper.kill_orphans()  # what a killed daemon left running holds locks we need
            remove_stale_locks(self.ctx.git.git_dir)
            adjust_post_receive(self.ctx.git.git_dir)
            # Watch first, then look for what changed while we were off, so nothing falls between.
            self.watcher.start()
            self.refwatcher.start()
            self.committer.start()
            # What changed while we were off is pending before the first merge looks (a merge a
            # killed daemon left unfinished must see those edits: engine/rescue.py).
            dirty = self.ctx.git.status_paths()
            if dirty:
                log.info("%s: %d uncommitted change(s) from before start", self.root, len(dirty))
                self.committer.notify_many(dirty)
            self.merger.start()
            # remotes on a local path whose repository is not there are held from the start
            self.ctx.remote_paths.start()
            self.pusher.start()
            self.netmap.start()
            self.transfers.start()
            if self.control:
                self.control.start()
            self._started = True
            self.started_at = time.time()
            self.pusher.request()
        except BaseException:
            self.stop()
            raise
        log.info("%s: daemon started (branch %s, remotes: %s)", self.root, self.ctx.branch,
                 ", ".join(self.pusher.remotes) or "none")
        self.ctx.emit("state", state="running")

    def stop(self) -> None:
        self.ctx.stopping.set()
        for part in (self.watcher, self.refwatcher):
            try:
                part.stop()
            except Exception:
                log.debug("stopping %s", part, exc_info=True)
        self.committer.stop()
        self.merger.stop()
        self.netmap.stop()
        self.pusher.stop()
        self.transfers.stop()
        self.ctx.remote_paths.stop()
        self._hook_pool.shutdown(wait=True)
        if self.control and self._started:
            self.control.stop()
        self.lock.release()
        self._started = False
        self.ctx.emit("state", state="stopped")
        log.info("%s: daemon stopped", self.root)

    # -- wiring ---------------------------------------------------------------------------------
    def _on_commit(self, sha: str, paths: list[str], added: dict[str, str]) -> None:
        self.pusher.request()
        if added and self.transfers.upload_fresh(added):
            paths = [p for p in paths if p not in added]  # (deletions, files kept in git)
        if paths:
            self.transfers.request_scan(paths)
        self._hook_pool.submit(self.hooks.run, "commit", sha, paths)

    def _on_merged(self, result: MergeResult) -> None:
        self.pusher.request()
        if result.annex_changed and self._recent_paths:
            # Location tracking arrived after the files (a clone finished its upload after its git
            # push): look again at what merges brought in lately, whose content may now be there,
            # also when this merge brings new files too.
            self.transfers.request_scan(sorted(set(self._recent_paths) | set(result.changed_paths)))
        elif result.changed_paths:
            self.transfers.request_scan(result.changed_paths)
        self._recent_paths.extend(result.changed_paths)
        if result.branch_changed:
            self._hook_pool.submit(self.hooks.run, "merge", result.new_head, result.changed_paths)

    def _on_location_change(self) -> None:
        """A git-annex batch process (transfers, add) closed and committed location tracking:
        carry it on."""
        self.pusher.request()

    def _on_remote_back(self, remote: str) -> None:
        self.transfers.retry_all()
        self.transfers.request_scan(None)

    def _on_remote_path(self, remote: str, problem: str | None) -> None:
        """A local-path remote's repository left its path (the transfers hold it and end its
        processes themselves) or came back: push and look for content to move now, as when a
        drive is plugged in (uploads were routed around it while it was away)."""
        if problem is None and not self.ctx.stopping.is_set():
            self.pusher.retry_if_failing(remote)
            self.transfers.request_scan(None)

    def _on_ref_changed(self, ref: str) -> None:
        self.merger.ref_changed(ref)
        if ref.startswith("refs/heads/synced/"):
            # Someone reached us: the network is up, so retry failed remotes now.
            self.pusher.retry_failing()

    def _flush_pending(self) -> None:
        """Commit every pending change now (the Merger needs a clean tree)."""
        with self.committer._cond:
            paths = list(self.committer._pending)
            self.committer._pending.clear()
        if paths:
            self.committer.commit_paths(paths)

    # -- control --------------------------------------------------------------------------------
    def pause(self) -> None:
        self.ctx.paused.set()
        self.ctx.emit("state", state="paused")

    def resume(self) -> None:
        self.ctx.paused.clear()
        self.committer.wake()
        self.transfers.wake()
        self.merger.request()
        self.pusher.request(force=True)
        self.ctx.emit("state", state="running")

    def sync_now(self) -> None:
        self.ctx.emit("sync-requested")  # the Assistant's remote watchers look at the remotes again
        self.committer.wake()
        self.merger.request()
        self.pusher.retry_now()
        self.transfers.retry_all()
        self.transfers.request_scan(None)

    def is_idle(self) -> bool:
        return not self.busy_reasons()

    def busy_reasons(self) -> list[str]:
        """What keeps this daemon from being idle (empty when idle): for status and diagnosis."""
        reasons = []
        if committing := self.committer.busy():
            reasons.append(committing)
        if self.pusher.busy():
            reasons.append("pushing")
        if merging := self.merger.busy():
            reasons.append(merging)
        if not self.transfers.idle():
            reasons.append(f"transfers {self.transfers.counts()}, scanning {self.transfers.scanning()}")
        return reasons

    def status(self) -> dict[str, Any]:
        conflicts = self.conflicts.open_conflicts()
        return {
            "repo": str(self.root),
            "state": "paused" if self.ctx.paused.is_set() else "running",
            "pid": os.getpid(),
            "started": self.started_at,
            "branch": self.ctx.branch,
            "head": self.ctx.git.rev("HEAD"),
            "remotes": self.pusher.snapshot(),
            "conflicts": conflicts,
            "queues": {"commit": self.committer.pending_count(),
                       "push": sum(1 for r in self.pusher.snapshot() if r["error"]),
                       **{f"transfers_{k}": v for k, v in self.transfers.counts().items()}},
            "transfers": [t for t in self.transfers.snapshot(history=10) if t["state"] != "done"][:100],
            "limits": self.transfers.limits_dict(),
            "held": self.transfers.held(),  # remotes away, transfers paused on a metered network
            "counters": {"commits": self.committer.commits, "pushes": self.pusher.pushes,
                         "merges": self.merger.merges},
            "errors": {k: v for k, v in (("commit", self.committer.last_error),
                                         ("merge", self.merger.last_error)) if v},
            "idle": self.is_idle(),
        }

    def handle_request(self, req: dict[str, Any]) -> dict[str, Any]:
        cmd = req.get("cmd")
        if cmd == "status":
            return {"ok": True, "status": self.status()}
        if cmd == "pause":
            self.pause()
        elif cmd == "resume":
            self.resume()
        elif cmd == "sync":
            self.sync_now()
        elif cmd == "transfers":
            return {"ok": True, "transfers": self.transfers.snapshot(), "limits": self.transfers.limits_dict()}
        elif cmd == "limit":
            self.transfers.set_limit(upload=req.get("upload"), download=req.get("download"),
                                     remote=req.get("remote"))
            return {"ok": True, "limits": self.transfers.limits_dict()}
        elif cmd == "cancel":
            return {"ok": self.transfers.cancel(str(req.get("id")))}
        elif cmd == "retry":
            return {"ok": self.transfers.retry(str(req.get("id")))}
        elif cmd == "resolve":
            self.conflicts.mark_resolved(str(req.get("id")))
        else:
            return {"ok": False, "error": f"unknown command {cmd!r}"}
        return {"ok": True}


class Assistant:
    """Several repositories' daemons in one process."""

    def __init__(self, paths: list[str | Path], control: bool = True,
                 notify: Callable[[str, str], object] | None = None, devices: bool = True):
        self.events = EventHub()
        self.daemons = [Daemon(p, events=self.events, control=control) for p in paths]
        # ssh remotes tell us of their changes (git-annex-shell notifychanges); drives and the
        # network coming and going wake syncing at once. Headless, notices go to the log.
        self.remote_watchers = [RemoteChangeWatcher(d) for d in self.daemons]
        self.devices = DeviceMonitor(self.daemons, notify=notify,
                                     remote_watchers=self.remote_watchers) if devices else None
        self._stopped = threading.Event()

    def start(self) -> None:
        started = []
        try:
            if self.devices is not None:
                self.devices.start()  # before the daemons: absent drives are offline before the first push
            for d in self.daemons:
                d.start()
                started.append(d)
            for w in self.remote_watchers:
                w.start()
        except BaseException:
            for w in self.remote_watchers:
                w.stop()
            if self.devices is not None:
                self.devices.stop()
            for d in started:
                d.stop()
            raise

    def stop(self) -> None:
        for w in self.remote_watchers:
            w.stop()
        if self.devices is not None:
            self.devices.stop()
        for d in self.daemons:
            d.stop()
        sshmux.close_all()  # the shared ssh connections of this process: none outlives the engine
        self._stopped.set()
