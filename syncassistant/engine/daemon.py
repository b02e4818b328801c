"""The Daemon of one repository: owns its loops, queues and status; the Assistant holds several.

Loops (each its own thread): Watcher -> Committer -> Pusher; RefWatcher -> Merger -> Pusher;
the control socket. Others (the device monitor, the remote change watchers, the front ends) use
a Daemon through its verbs (`remote_present`, `sync_remotes`, `remote_work`, `set_limit`...),
never through its parts.

The `Assistant` is the engine of a front end: daemons added and removed while it runs
(`add_repo` / `remove_repo`), the drives and the network they share (DeviceMonitor), their ssh
remotes' change notices (RemoteChangeWatcher), and the notices for a person. The headless
`syncassistant daemon` and the tray app build this same object.
"""

from __future__ import annotations

import collections
import logging
import os
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .context import RepoContext
from .control import ControlServer
from .devices.conditions import PAUSE_REASON
from .devices.drives import DeviceMonitor, Notify
from .events import EventHub, EventKind
from .lock import DaemonLock
from .network import netmap_store, routing, sshmux
from .network.cloudpoll import CloudPoller
from .network.notifychanges import RemoteChangeWatcher
from .network.remotes import Remote, remotes_of
from .proc import reaper
from .proc.git import Git, Result
from .repo import open_repo
from .sync.committer import Committer
from .sync.conflicts import ConflictStore
from .sync.hooks import HookRunner
from .sync.hooks_install import adjust_post_receive
from .sync.merger import Merger, MergeResult
from .sync.pusher import Pusher
from .sync.recovery import remove_stale_locks, repair_partial_objects
from .sync.refwatcher import RefWatcher
from .sync.watcher import POLL_UNWATCHED, Watcher
from .transfers.manager import TransferManager, disk_full

log = logging.getLogger(__name__)

RECENT_PATHS = 5000  # paths of recent merges, rescanned when only location tracking changes
#: answers a control request {"cmd": "conditions", "override": seconds?} with fields of the reply
ConditionsHandler = Callable[[dict[str, Any]], dict[str, Any]]


@dataclass(frozen=True)
class RemoteWork:
    """What is left to do for one remote, as far as its daemon knows: `pending` things (changes
    to commit, a content scan, transfers queued or running, git-annex's journal not committed,
    branches not pushed there), `failed` transfers and the first one's error."""

    pending: int
    failed: int
    failure: str | None


def syncable_remote(ctx: RepoContext, name: str) -> bool:
    """A git remote we push to: has a URL, not ignored, not set to annex-sync=false or off."""
    remote = remotes_of(ctx.git).get(name)
    return remote is not None and remote.pushed


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
        # cloud remotes send no change notices: asked often after a change, rarely when quiet
        self.cloudpoll = CloudPoller(self.ctx, on_change=self.merger.request,
                                     on_missing=lambda name: self.pusher.request([name], force=True))
        self.pusher.on_remote_back = self._on_remote_back
        # (after the transfers: they hold a remote that went away before anything else reacts)
        self.ctx.remote_paths.subscribe(self._on_remote_path)
        self.ctx.down_remotes = lambda: (routing.down_remotes_from(self.pusher.snapshot())
                                         | set(self.transfers.held()["offline"]))
        self.watcher = Watcher(self.root, self.committer.notify, on_lost=self._changed_unseen,
                               on_poll=self._changed_unseen, poll_every=unwatched_poll(self.ctx))
        self.refwatcher = RefWatcher(self.ctx.git.git_dir, self._on_ref_changed)
        self.control = ControlServer(self.ctx.state_dir, self.handle_request) if control else None
        self.started_at: float | None = None
        self._recent_paths: collections.deque[str] = collections.deque(maxlen=RECENT_PATHS)
        self._started = False
        self._from_before_start: set[str] = set()  # uncommitted at start (see _on_commit)
        # Who paused: "user" (the pause verb), "conditions" (a run condition, devices/conditions.py).
        # Syncing resumes when nobody holds it: the end of a battery condition must not undo
        # the user's own pause, nor the user's resume a condition's.
        self._pause_lock = threading.Lock()
        self._pause_reasons: set[str] = set()
        self._condition_holds: dict[str, frozenset[str] | None] = {}  # hold reason -> remotes
        self._conditions: dict[str, Any] | None = None  # the last report (None: no device monitor)
        self._conditions_handler: ConditionsHandler | None = None

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
            # killed daemon left unfinished must see those edits: engine/sync/rescue.py).
            dirty = self.ctx.git.status_paths()
            if dirty:
                log.info("%s: %d uncommitted change(s) from before start", self.root, len(dirty))
                self._from_before_start = set(dirty)
                self.committer.notify_many(dirty)
            self.merger.start()
            # remotes on a local path whose repository is not there are held from the start
            self.ctx.remote_paths.start()
            self.pusher.start()
            self.cloudpoll.start()
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
        self.cloudpoll.stop()
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
        if self._from_before_start and added:
            # what a killed predecessor was adding may have a half-written object (before uploads)
            mine = {p: k for p, k in added.items() if p in self._from_before_start}  # (files: git status -uall)
            self._from_before_start -= set(paths)
            if mine:
                repair_partial_objects(self.ctx, mine)
        self.pusher.request()
        self.cloudpoll.activity()
        if added and self.transfers.upload_fresh(added):
            paths = [p for p in paths if p not in added]  # (deletions, files kept in git)
        if paths:
            self.transfers.request_scan(paths)
        self._hook_pool.submit(self.hooks.run, "commit", sha, paths)

    def _on_merged(self, result: MergeResult) -> None:
        self.pusher.request()
        self.cloudpoll.activity()
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

    def _changed_unseen(self, folders: list[str] | None = None) -> None:
        """The watcher lost events (inotify queue overflow), or cannot watch `folders` (out of
        inotify watches): what git sees as changed there is pending."""
        dirty = self.ctx.git.status_paths(folders)
        if dirty or folders is None:
            log.info("%s: %d uncommitted change(s) found %s", self.root, len(dirty),
                     "after lost events" if folders is None else "in folders inotify cannot watch")
        self.committer.notify_many(dirty)

    def _on_ref_changed(self, ref: str) -> None:
        self.merger.ref_changed(ref)
        if ref.startswith("refs/heads/synced/"):
            # Someone reached us: the network is up, so retry failed remotes now.
            self.pusher.retry_failing()

    def _flush_pending(self) -> None:
        """Commit every pending change now (the Merger needs a clean tree)."""
        paths = self.committer.take_pending()
        if paths:
            self.committer.commit_paths(paths)

    # -- control --------------------------------------------------------------------------------
    def pause(self, reason: str = "user") -> None:
        with self._pause_lock:
            self._pause_reasons.add(reason)
        self.ctx.paused.set()
        self.ctx.emit("state", state="paused")

    def resume(self, reason: str = "user") -> None:
        with self._pause_lock:
            self._pause_reasons.discard(reason)
            still = sorted(self._pause_reasons)
        if still:  # paused for another reason too: stays paused (status says why)
            log.info("%s: still paused (%s)", self.root, ", ".join(still))
            self.ctx.emit("state", state="paused")
            return
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
        # (a cloud remote added while we run, by the CLI or the settings dialog, which then ask
        # for a sync: without this its poller never started and nothing from the cloud came in)
        self.cloudpoll.refresh()
        self.cloudpoll.poll_now()
        self.transfers.retry_all()
        self.transfers.request_scan(None)

    # -- verbs for the device monitor, the remote watchers and the front ends --------------------
    @property
    def events(self) -> EventHub:
        return self.ctx.events

    @property
    def branch(self) -> str:
        return self.ctx.branch

    @property
    def uuid(self) -> str | None:
        """This clone's annex.uuid."""
        return self.ctx.git.config_get("annex.uuid")

    def emit(self, kind: EventKind | str, **data: Any) -> None:
        self.ctx.emit(kind, **data)

    def config(self, key: str) -> str | None:
        """One git config value of this repository."""
        return self.ctx.git.config_get(key)

    def remotes(self) -> dict[str, Remote]:
        """Every remote of this repository, by name, as its git config says (engine/network/remotes.py)."""
        return remotes_of(self.ctx.git)

    def set_remote_url(self, remote: str, url: str) -> None:
        self.ctx.git.run("remote", "set-url", remote, url)

    def knows_uuid(self, uuid: str) -> bool:
        """A clone with this annex UUID belongs to this repository's network (git-annex knows it)."""
        res = self.ctx.git.run("cat-file", "-p", "refs/heads/git-annex:uuid.log", check=False)
        return res.returncode == 0 and uuid in res.stdout

    def syncable(self, remote: str) -> bool:
        """A remote we push to and fetch from (see syncable_remote)."""
        return syncable_remote(self.ctx, remote)

    def refresh_remotes(self) -> None:
        """Read the remotes again (one was added, or its URL changed)."""
        self.pusher.refresh_remotes()
        self.cloudpoll.refresh()

    def remote_present(self, remote: str, present: bool) -> None:
        """A remote is away (a drive unplugged: no pushes, its transfers wait, no errors) or
        back. Back, nothing runs yet: `sync_remotes` says go."""
        self.pusher.set_offline(remote, not present)
        self.transfers.set_offline(remote, not present)

    def fetch(self, remote: str, timeout: float) -> Result:
        """`git fetch` from a remote now (a drive just plugged in; a change announced)."""
        return self.ctx.fetch(remote, timeout=timeout)

    def request_merge(self) -> None:
        """Merge what was fetched (the Merger's loop does it)."""
        self.merger.request()

    def sync_remotes(self, remotes: list[str]) -> None:
        """These remotes are reachable again (a drive plugged in): merge what was fetched from
        them, push to them now, retry failed transfers and look for content to move."""
        self.merger.request()
        for name in remotes:
            self.pusher.retry_now(name)
        self.transfers.retry_all()
        self.transfers.request_scan(None)

    def network_back(self) -> None:
        """The network is back: retry failing remotes (not those away) and transfers now."""
        self.pusher.retry_failing()
        self.cloudpoll.poll_now()
        self.transfers.retry_all()

    def hold_transfers(self, reason: str, remotes: set[str] | None = None) -> None:
        """Hold content transfers (to and from `remotes`, or all) until `release_transfers`."""
        self.transfers.pause(reason, remotes)
        self.ctx.emit("held", **self.transfers.held())  # (status shows holds: the tray looks again)

    def release_transfers(self, reason: str) -> None:
        self.transfers.resume(reason)
        self.ctx.emit("held", **self.transfers.held())

    def apply_conditions(self, action: str, holds: dict[str, frozenset[str] | None],
                         report: dict[str, Any]) -> None:
        """What the run conditions ask for now (devices/conditions.py): ``holds`` (reason ->
        remotes, None: all) hold content transfers; ``action == "pause"`` pauses syncing with
        the reason "conditions"; ``report`` goes into the status. Only changes act."""
        for reason in set(self._condition_holds) - set(holds):
            self.release_transfers(reason)
        for reason, remotes in holds.items():
            if self._condition_holds.get(reason, ()) != remotes:
                self.hold_transfers(reason, None if remotes is None else set(remotes))
        self._condition_holds = dict(holds)
        with self._pause_lock:
            paused_by_us = PAUSE_REASON in self._pause_reasons
        if action == "pause" and not paused_by_us:
            self.pause(PAUSE_REASON)
        elif action != "pause" and paused_by_us:
            self.resume(PAUSE_REASON)
        changed = report != self._conditions
        self._conditions = dict(report)
        if changed:
            self.ctx.emit("conditions", **report)

    def set_conditions_handler(self, handler: ConditionsHandler | None) -> None:
        """Who answers the control socket's "conditions" request (the device monitor)."""
        self._conditions_handler = handler

    def scan_pending(self) -> bool:
        """A content scan is queued or running."""
        return self.transfers.scanning()

    def counts(self, remote: str | None = None) -> dict[str, int]:
        """Transfers queued, running, failed (to or from `remote` only, if given) and done."""
        return self.transfers.counts(remote=remote)

    def transfers_snapshot(self, history: int = 50) -> list[dict[str, Any]]:
        return self.transfers.snapshot(history=history)

    def limits(self) -> dict[str, Any]:
        return self.transfers.limits_dict()

    def set_limit(self, upload: int | None = None, download: int | None = None,
                  remote: str | None = None) -> None:
        """Speed limits in bytes/s (0: none), for every remote or one; live."""
        self.transfers.set_limit(upload=upload, download=download, remote=remote)

    def set_auto_limit(self, on: bool) -> None:
        """The automatic upload limit (transfers/autolimit.py) on or off, live and kept."""
        from .transfers import autolimit

        self.ctx.git.run("config", autolimit.SETTING, "true" if on else "false")
        self.transfers.set_auto_limit(on)

    def cancel_transfer(self, transfer_id: str) -> bool:
        return self.transfers.cancel(transfer_id)

    def retry_transfer(self, transfer_id: str) -> bool:
        return self.transfers.retry(transfer_id)

    def mark_resolved(self, conflict_id: str) -> bool:
        return self.conflicts.mark_resolved(conflict_id)

    def remote_path_problem(self, remote: str) -> str | None:
        """Why nothing may run against a local-path remote now (None: go ahead)."""
        return self.ctx.remote_paths.problem(remote)

    def remote_work(self, remote: str) -> RemoteWork:
        """What is left to do for `remote` (see RemoteWork)."""
        counts = self.transfers.counts(remote=remote)
        pending = (self.committer.pending_count() + int(self.transfers.scanning())
                   + counts["queued"] + counts["running"])
        try:
            with os.scandir(self.ctx.git.git_dir / "annex" / "journal") as it:
                pending += any(True for _ in it)  # location updates git-annex has not committed
        except OSError:
            pass
        if self.pusher.in_sync(remote) is False:  # (None: not pushed to, nothing to wait for)
            pending += 1
        failure = None
        if counts["failed"]:
            failure = next((f"{t.get('path')}: {t.get('error')}" for t in self.transfers.snapshot(history=1)
                            if t.get("remote") == remote and t.get("state") == "failed"), None)
        return RemoteWork(pending, counts["failed"], failure)

    def remote_complete(self, remote: str, clone: Path | None) -> bool:
        """Look at the remote itself: a clone at `clone` has this branch's tree in its synced/
        branch, and by git-annex's location log it holds every file's content here that it
        wants (one `git annex find`)."""
        if clone is not None:
            if self.ctx.remote_paths.problem(remote) is not None:
                return False  # (git would look in the folders above an empty mount point)
            branch = self.ctx.branch
            here = self.ctx.git.ref_sha(f"refs/heads/{branch}^{{tree}}")
            there = Git(clone)
            if here != there.ref_sha(f"refs/heads/synced/{branch}^{{tree}}"):
                # the Pusher sends nothing to a clone whose branch already holds our commit
                head = self.ctx.git.ref_sha(f"refs/heads/{branch}")
                if head is None or not any(
                        there.run("merge-base", "--is-ancestor", head, ref, check=False).returncode == 0
                        for ref in (f"refs/heads/synced/{branch}", f"refs/heads/{branch}")):
                    return False
        wanted = self.ctx.annex.run("wanted", remote, check=False, timeout=60)
        if wanted.returncode != 0:
            return False
        args = ["find", "--in=here", "--not", f"--in={remote}"]
        if wanted.stdout.strip():
            args.append(f"--want-get-by={remote}")
        res = self.ctx.annex.run(*args, check=False, timeout=300)
        return res.returncode == 0 and not res.stdout.strip()

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

    def paused_by(self) -> list[str]:
        """Why syncing is paused: "user", "conditions" (empty: it is not)."""
        with self._pause_lock:
            return sorted(self._pause_reasons)

    def status(self) -> dict[str, Any]:
        conflicts = self.conflicts.open_conflicts()
        return {
            "repo": str(self.root),
            "state": "paused" if self.ctx.paused.is_set() else "running",
            "paused_by": self.paused_by(),  # "user", "conditions"
            "conditions": self._conditions,  # run conditions now (None: no device monitor)
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
            "errors": {k: v for k, v in (("disk", disk_full(self.ctx)),
                                         ("commit", self.committer.last_error),
                                         ("merge", self.merger.last_error)) if v},
            # syncing goes on, less well than it could, and the user can fix it
            "warnings": {k: v for k, v in (("watch", self.watcher.problem()),
                                           ("conditions", "; ".join((self._conditions or {}).get("problems") or [])))
                         if v},
            "busy": (busy := self.busy_reasons()),  # why not idle (empty when idle)
            "idle": not busy,
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
            return {"ok": True, "transfers": self.transfers_snapshot(), "limits": self.limits()}
        elif cmd == "limit":
            self.set_limit(upload=req.get("upload"), download=req.get("download"), remote=req.get("remote"))
            if req.get("auto") is not None:
                self.set_auto_limit(bool(req["auto"]))
            return {"ok": True, "limits": self.limits()}
        elif cmd == "cancel":
            return {"ok": self.cancel_transfer(str(req.get("id")))}
        elif cmd == "retry":
            return {"ok": self.retry_transfer(str(req.get("id")))}
        elif cmd == "resolve":
            self.mark_resolved(str(req.get("id")))
        elif cmd == "conditions":  # apply again (config changed), or override for a while
            if self._conditions_handler is None:
                return {"ok": False, "error": "this daemon runs without a device monitor: no run conditions"}
            return {"ok": True, **self._conditions_handler(req)}
        else:
            return {"ok": False, "error": f"unknown command {cmd!r}"}
        return {"ok": True}


def unwatched_poll(ctx: RepoContext) -> float:
    """Seconds between looks at folders inotify cannot watch: `syncassistant.unwatchedPoll`."""
    raw = ctx.git.config_get("syncassistant.unwatchedPoll")
    try:
        return max(1.0, float(raw)) if raw else POLL_UNWATCHED
    except ValueError:
        log.warning("%s: syncassistant.unwatchedPoll = %r is not a number of seconds", ctx.root, raw)
        return POLL_UNWATCHED


class Assistant:
    """The engine of a front end: repositories' daemons in one process, added and removed while
    it runs, with the drives and the network they share and their ssh remotes' change notices.

    ``notify(notice)`` tells a person (the headless daemon: ``Notifier().send``; the tray: its
    Notifications); None logs only. ``devices=False`` runs no DeviceMonitor (benchmarks).
    ``events``: the hub every daemon reports to (the tray passes the one its bridge follows).
    """

    def __init__(self, paths: Sequence[str | Path] = (), control: bool = True,
                 notify: Notify | None = None, devices: bool = True, events: EventHub | None = None):
        self.events = events or EventHub()
        self.control = control
        self._lock = threading.Lock()
        self.daemons: list[Daemon] = [Daemon(p, events=self.events, control=control) for p in paths]
        self._unstarted = list(self.daemons)  # (start() starts these; add_repo starts its own)
        # ssh remotes tell us of their changes (git-annex-shell notifychanges): one watcher per daemon
        self._watchers: dict[int, RemoteChangeWatcher] = {}  # id(daemon) -> its watcher
        # drives and the network coming and going wake syncing at once
        self.devices = DeviceMonitor(self.daemons, notify=notify, on_online=self._reconnect_watchers) \
            if devices else None
        self._started = False
        self._stopped = threading.Event()

    @property
    def remote_watchers(self) -> list[RemoteChangeWatcher]:
        with self._lock:
            return list(self._watchers.values())

    def start(self) -> None:
        """Start the device monitor (before the daemons: remotes on drives not plugged in are
        offline before the first push), then the daemons given at construction."""
        with self._lock:
            daemons, self._unstarted = self._unstarted, []
        started: list[Daemon] = []
        try:
            if self.devices is not None:
                self.devices.start()
            for d in daemons:
                d.start()
                started.append(d)
                self._watch(d)
        except BaseException:
            for d in reversed(started):
                self._unwatch(d)
            if self.devices is not None:
                self.devices.stop()
            for d in started:
                d.stop()
            raise
        self._started = True

    def add_repo(self, path: str | Path) -> Daemon:
        """Start syncing one more repository (in the calling thread: this waits for the daemon
        to start); its drives, network and ssh remotes are followed like the others'."""
        d = Daemon(path, events=self.events, control=self.control)
        with self._lock:
            if any(other.root == d.root for other in self.daemons):
                raise ValueError(f"{d.root} is synced already")
            self.daemons.append(d)
        try:
            if self.devices is not None:
                self.devices.add_daemon(d)  # (before it starts: no first push to a drive that is away)
            d.start()
        except BaseException:
            with self._lock:
                self.daemons.remove(d)
            if self.devices is not None:
                self.devices.remove_daemon(d)
            raise
        self._watch(d)
        return d

    def remove_repo(self, daemon: Daemon) -> None:
        """Stop syncing a repository (waits for its daemon to stop)."""
        with self._lock:
            if daemon not in self.daemons:
                return
            self.daemons.remove(daemon)
        self._unwatch(daemon)
        if self.devices is not None:
            self.devices.remove_daemon(daemon)
        daemon.stop()

    def stop(self) -> None:
        for w in self.remote_watchers:
            w.stop()
        if self.devices is not None and self._started:
            self.devices.stop()
        with self._lock:
            # (daemons given at construction and never started have nothing to stop)
            daemons = [d for d in self.daemons if d not in self._unstarted]
            self.daemons = []
            self._watchers.clear()
        for d in daemons:
            d.stop()
        sshmux.close_all()  # the shared ssh connections of this process: none outlives the engine
        self._stopped.set()

    # -- run conditions (metered network, battery: devices/conditions.py) ----------------------
    def override_conditions(self, seconds: float | None = None) -> float | None:
        """Sync every folder whatever its run conditions say, for an hour (or ``seconds``; 0
        ends it early); then they apply again. Returns the wall time it ends (None: no device
        monitor, so no conditions). Does not wait for the daemons (safe on a GUI thread)."""
        if self.devices is None:
            return None
        return self.devices.override_conditions(seconds)

    def reapply_conditions(self) -> None:
        """A folder's run conditions changed in its git config: apply them now."""
        if self.devices is not None:
            self.devices.reapply_conditions()

    def _watch(self, d: Daemon) -> None:
        watcher = RemoteChangeWatcher(d)
        with self._lock:
            self._watchers[id(d)] = watcher
        watcher.start()

    def _unwatch(self, d: Daemon) -> None:
        with self._lock:
            watcher = self._watchers.pop(id(d), None)
        if watcher is not None:
            watcher.stop()

    def _reconnect_watchers(self) -> None:
        """The network is back: ssh remotes' change notices reconnect without waiting."""
        for w in self.remote_watchers:
            w.reconnect_now()
