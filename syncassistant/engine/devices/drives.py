"""Drives and networks: sync clones on removable drives when they are plugged in; react to the network.

This module owns (no Qt):

* :class:`DeviceMonitor` -- runs a :class:`~.mounts.MountWatcher` and a
  :class:`~.netwatch.NetworkWatcher` for a set of daemons, and a worker thread
  ("syncassistant-devices") that does the slower work (git config reads, fetches, checks):

  - *a drive is mounted*: each daemon's remotes on it are found -- a remote whose local path
    (``remote.<n>.url`` as a path or ``file://`` URL, or a directory special remote's
    ``remote.<n>.annex-directory``) lies under the mount point, or a git-annex clone on the drive
    (:func:`~.mounts.find_annex_clones`) whose ``annex.uuid`` is some remote's
    ``remote.<n>.annex-uuid`` (a stale URL of such a remote is pointed at the clone). A clone of
    the repository's network that is no remote is logged and announced as a ``drive-clone-found``
    event. For every match: the remote is marked online, fetched, pushed to at once, failed
    transfers are retried and the content is rescanned. Then "Drive LABEL connected: syncing N
    files" is announced once the scan has run, and "LABEL is up to date: safe to remove" once the
    drive's remotes are current, judged on the daemon's own events (a short settle time after the
    last one, then a check) -- see :meth:`DeviceMonitor._evaluate`. A full clone's work tree on
    the drive is brought up to date (``git annex merge`` there) before that second notice.
  - *a drive is unmounted*: its remotes are marked offline in the pusher, quietly.
  - *at start*: drives already mounted are attached without notices; remotes whose path is on a
    user-drive location (the mount filter) that does not exist are marked offline.
  - *the network comes back*: every daemon retries its failed remotes and transfers at once, and
    ``on_online()`` is called (the Assistant's ssh change watchers reconnect without waiting).
  - *run conditions* (:mod:`.conditions`): the connection becomes metered or is not one of the
    folder's named networks, or the machine goes
    on battery (a :class:`~.power.PowerWatcher` follows UPower) or below a charge: each
    repository holds its content transfers or pauses as its git config asks, until the
    condition ends or :meth:`DeviceMonitor.override_conditions` lifts them for a while (the
    worker wakes when that time is up).

* :func:`create_drive_clone` -- put a new clone of a repository on a mounted drive: a full clone
  (git clone + git annex init, added as a remote named after the drive's label) or a git-annex
  "directory" special remote.

Notices (:class:`~.notify.Notice`) go to ``notify(notice)`` (the headless daemon:
:meth:`.notify.Notifier.send`; the tray words them itself) and to the log. The monitor uses each
daemon through its verbs (``remote_present``, ``sync_remotes``, ``remote_work``...), never its parts.
"""

from __future__ import annotations

import logging
import os
import re
import shutil
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from ..events import Event, EventHub
from ..network.remotes import Remote, remote_names
from ..proc.annex import Annex
from ..proc.git import Git, GitError
from ..proc.git import run as run_command
from .conditions import OVERRIDE_SECONDS, ConditionsKeeper
from .mounts import MountFilter, MountWatcher, default_mount_filter, find_annex_clones
from .netwatch import NetworkWatcher
from .notify import Notice
from .power import PowerWatcher

if TYPE_CHECKING:
    from ..daemon import Daemon

log = logging.getLogger(__name__)

Notify = Callable[[Notice], object]
LinkKind = Literal["git", "directory"]
Phase = Literal["scanning", "syncing", "incomplete", "synced"]

FETCH_TIMEOUT = 120.0
MERGE_TIMEOUT = 600.0


# ---------------------------------------------------------------------------------------------
# remotes and paths


def is_under(path: str | os.PathLike[str], mount_point: str | os.PathLike[str]) -> bool:
    """True if ``path`` is ``mount_point`` or below it (also comparing resolved symlinks)."""
    for p, mp in ((os.path.normpath(path), os.path.normpath(mount_point)),
                  (os.path.realpath(path), os.path.realpath(mount_point))):
        if p == mp or p.startswith(mp.rstrip("/") + "/"):
            return True
    return False


# ---------------------------------------------------------------------------------------------
# the monitor


@dataclass
class DriveLink:
    """One remote of one repository that lives on a mounted drive."""

    daemon: Daemon
    remote: str
    kind: LinkKind  # "git": a clone (pushed to); "directory": a directory special remote
    path: Path
    mount_point: str


@dataclass
class _Drive:
    label: str
    mount_point: str
    links: list[DriveLink]
    announce: bool  # plugged in while we run: send the notices
    phase: Phase = "scanning"
    started: float = field(default_factory=time.monotonic)
    next_check: float = 0.0
    recheck: float = 0.25  # grows while a check finds work left and no event comes
    dirty: bool = True
    failure_noticed: bool = False
    transfers_seen: set[str] = field(default_factory=set)  # transfer ids for its remotes since plugged in

    @property
    def roots(self) -> set[str]:
        return {str(link.daemon.root) for link in self.links}


class DeviceMonitor:
    """Drives and network for a set of daemons; see the module docstring.

    ``notify(notice)`` shows a notice (None: log it only). ``on_online()`` is called when the
    network comes back (after the daemons were told). ``mount_filter``/``use_udisks``/``system_bus`` go to the
    MountWatcher (``system_bus`` to the NetworkWatcher and PowerWatcher too; ``watch_network=False``
    / ``watch_power=False`` run none). ``override_duration``: how long "sync anyway" lasts.
    ``settle`` is how long a daemon must have been quiet before its drives are checked;
    ``scan_wait`` how long the "connected" notice waits for the scan to count files.
    """

    thread_name = "syncassistant-devices"

    def __init__(self, daemons: Sequence[Daemon], notify: Notify | None = None, *,
                 on_online: Callable[[], None] | None = None,
                 mount_filter: MountFilter = default_mount_filter, use_udisks: bool = True,
                 system_bus: str = "SYSTEM", watch_network: bool = True, watch_power: bool = True,
                 settle: float = 1.0, scan_wait: float = 10.0,
                 update_drive_worktrees: bool = True,
                 override_duration: float = OVERRIDE_SECONDS) -> None:
        self.daemons = list(daemons)
        self._notify = notify
        self._on_online_hook = on_online
        self._mount_filter = mount_filter
        self.settle = settle
        self.scan_wait = scan_wait
        self.update_drive_worktrees = update_drive_worktrees
        self.mounts = MountWatcher(self._on_mount, self._on_unmount, mount_filter=mount_filter,
                                   use_udisks=use_udisks, bus=system_bus)
        self.network: NetworkWatcher | None = (
            NetworkWatcher(self._on_online, self._on_offline, on_metered_changed=self._on_metered,
                           on_connection_changed=self._on_connection, report_initial=False,
                           bus=system_bus) if watch_network else None)
        self.power: PowerWatcher | None = PowerWatcher(self._on_power, bus=system_bus) if watch_power else None
        self.conditions = ConditionsKeeper(override_duration)
        self._cond = threading.Condition()
        self._jobs: deque[tuple[Callable[..., None], tuple[Any, ...]]] = deque()
        self._drives: dict[str, _Drive] = {}  # mount point -> drive (guarded by _cond)
        self._last_event: dict[str, float] = {}  # repo root -> monotonic time of its last event
        self._stopping = False
        self._thread: threading.Thread | None = None
        self._running = False
        self._unsubscribe: dict[int, Callable[[], None]] = {}  # id(EventHub) -> unsubscribe
        self.notices: list[Notice] = []  # every notice sent, for status and tests

    # ---- lifecycle ----------------------------------------------------------------------------

    def start(self) -> None:
        """Subscribe to the daemons' events, start the mount watcher, attach the drives mounted
        now and mark remotes on absent drives offline (before returning: start it before the
        daemons and their first push skips those), then start the worker and the network watcher."""
        if self._thread is not None:
            raise RuntimeError("DeviceMonitor is already running")
        self._stopping = False
        for d in self._daemons():
            self._subscribe(d.events)
            d.set_conditions_handler(self._conditions_request)
        self.mounts.start()  # mounts reported from now on wait in the job queue
        self._prepare(self._daemons())
        self._running = True
        self._thread = threading.Thread(target=self._run, name=self.thread_name, daemon=True)
        self._thread.start()
        if self.network is not None:
            self.network.start()
            self.conditions.set_metered(self.network.metered)  # (only changes are reported)
            self.conditions.set_network(self.network.connection)
        if self.power is not None:
            self.power.start()  # (its first state is reported: the callback records it)
        self._submit(self._apply_conditions, None)
        log.info("device monitor started (drives via %s, network via %s, power via %s)", self.mounts.mode,
                 self.network.mode if self.network else "nothing", self.power.mode if self.power else "nothing")

    def stop(self, timeout: float = 10.0) -> None:
        """Stop the watchers and the worker (a running git command is let finish)."""
        self.mounts.stop()
        if self.network is not None:
            self.network.stop()
        if self.power is not None:
            self.power.stop()
        with self._cond:
            unsubscribes, self._unsubscribe = list(self._unsubscribe.values()), {}
        for unsubscribe in unsubscribes:
            unsubscribe()
        self._running = False
        with self._cond:
            self._stopping = True
            self._cond.notify_all()
        if self._thread is not None:
            self._thread.join(timeout)
            if self._thread.is_alive():
                log.warning("device monitor thread did not stop within %.0f s", timeout)
            self._thread = None

    def rescan(self) -> None:
        """Match the mounted drives again (e.g. after adding a remote on one), without notices."""
        self._submit(self._attach_mounted, None)

    def add_daemon(self, daemon: Daemon) -> None:
        """Watch drives and the network for one more repository; works before and after start.

        Running, call it before the daemon starts: its remotes on drives that are not plugged in
        are offline before this returns (so its first push skips them, and no error is counted
        for a drive that is away); drives plugged in are attached by the worker, whose requests
        wait for the daemon's loops to start."""
        with self._cond:
            if daemon in self.daemons:
                return
            self.daemons.append(daemon)
        if self._running:
            self._subscribe(daemon.events)
            daemon.refresh_remotes()
            self._mark_absent([daemon], attached=set())
            self._submit(self._attach_mounted, [daemon])
            self._submit(self._apply_conditions, [daemon])
        daemon.set_conditions_handler(self._conditions_request)

    def remove_daemon(self, daemon: Daemon) -> None:
        """Stop watching drives for a repository (its remotes' offline flags stay as they are)."""
        with self._cond:
            if daemon not in self.daemons:
                return
            self.daemons.remove(daemon)
            for mount_point, drive in list(self._drives.items()):
                drive.links = [link for link in drive.links if link.daemon is not daemon]
                if not drive.links:
                    del self._drives[mount_point]
            others = {id(d.events) for d in self.daemons}
            hub_id = id(daemon.events)
            unsubscribe = self._unsubscribe.pop(hub_id, None) if hub_id not in others else None
        if unsubscribe is not None:
            unsubscribe()
        self.conditions.forget(daemon)
        daemon.set_conditions_handler(None)

    def _daemons(self) -> list[Daemon]:
        with self._cond:
            return list(self.daemons)

    def _subscribe(self, hub: EventHub) -> None:
        with self._cond:  # (daemons are added from several threads: subscribe once per hub)
            if id(hub) not in self._unsubscribe:
                self._unsubscribe[id(hub)] = hub.subscribe(self._on_event)

    def drives(self) -> list[dict[str, Any]]:
        """The attached drives and their state, for status displays."""
        with self._cond:
            return [{"label": d.label, "mount_point": d.mount_point, "phase": d.phase,
                     "remotes": [{"repo": str(link.daemon.root), "remote": link.remote, "kind": link.kind,
                                  "path": str(link.path)} for link in d.links]}
                    for d in self._drives.values()]

    # ---- callbacks from the watchers and the event hubs ---------------------------------------

    def _submit(self, fn: Callable[..., None], *args: Any) -> None:
        with self._cond:
            self._jobs.append((fn, args))
            self._cond.notify_all()

    def _on_mount(self, mount_point: str, label: str | None, device: str | None) -> None:
        self._submit(self._handle_mount, mount_point, label, True)

    def _on_unmount(self, mount_point: str) -> None:
        self._submit(self._handle_unmount, mount_point)

    def _on_event(self, event: Event) -> None:
        """Runs on the emitting thread: note the time; wake the worker if a drive waits on it."""
        if event.kind.startswith("drive"):
            return
        if event.kind == "sync-requested":  # e.g. after `syncassistant remote add`: look again
            self._submit(self._attach_mounted, None)
            return
        now = time.monotonic()
        with self._cond:
            self._last_event[event.repo] = now
            woke = False
            for drive in self._drives.values():
                if event.repo in drive.roots:
                    if event.kind == "transfer" and event.data.get("state") != "cancelled" and any(
                            link.remote == event.data.get("remote") and str(link.daemon.root) == event.repo
                            for link in drive.links):
                        drive.transfers_seen.add(str(event.data.get("id")))
                    if drive.phase == "scanning":
                        # "connected" goes out once the scan has counted the files, not a settle
                        # time after the last of the transfers it starts (2.5 s late in the tray
                        # test: every transfer's event pushed it back)
                        soon = now + min(0.25, self.settle)
                        drive.next_check = min(drive.next_check, soon) if drive.dirty else soon
                    else:
                        drive.next_check = now + self.settle
                    drive.dirty = True
                    drive.recheck = 0.25
                    woke = True
            if woke:
                self._cond.notify_all()

    def _on_online(self) -> None:
        """The network is back: retry failed remotes and transfers now (not offline drives)."""
        log.info("network is online: retrying failed remotes now")
        for d in self._daemons():
            d.network_back()
        if self._on_online_hook is not None:
            self._on_online_hook()

    def _on_offline(self) -> None:
        log.info("network is offline")

    def _on_metered(self, metered: bool) -> None:
        if self.conditions.set_metered(metered):
            self._submit(self._apply_conditions, None)

    def _on_connection(self, name: str | None) -> None:
        if self.conditions.set_network(name):
            self._submit(self._apply_conditions, None)

    def _on_power(self, on_battery: bool, percentage: int | None) -> None:
        if self.conditions.set_power(on_battery, percentage):
            self._submit(self._apply_conditions, None)

    def _apply_conditions(self, daemons: list[Daemon] | None) -> None:
        """Run conditions to ``daemons`` (None: all) as the situation is now (worker thread)."""
        current = self._daemons()
        self.conditions.apply(current if daemons is None else [d for d in daemons if d in current])

    # ---- run conditions: verbs ----------------------------------------------------------------

    def override_conditions(self, seconds: float | None = None, wait: float | None = None) -> float:
        """Let every repository sync whatever its run conditions say, for ``seconds`` (default
        ``conditions.override_duration``, an hour; 0 ends it); then they apply again. Returns
        the wall time it ends. ``wait``: seconds to wait until the daemons were told."""
        until = self.conditions.override(seconds)
        self._submit_and_wait(self._apply_conditions, None, wait=wait)
        return until

    def reapply_conditions(self, wait: float | None = None) -> None:
        """Read every repository's run conditions again (their git config changed)."""
        self._submit_and_wait(self._apply_conditions, None, wait=wait)

    def _conditions_request(self, req: dict[str, Any]) -> dict[str, Any]:
        """A daemon's control socket got {"cmd": "conditions"}: override (``override`` seconds)
        or apply again; answers once the daemons were told (CLI: the status it prints is current)."""
        override = req.get("override")
        if override is not None:  # True: the default length (an hour); a number: seconds
            until = self.override_conditions(None if override is True else float(override), wait=10.0)
        else:
            self.reapply_conditions(wait=10.0)
            until = self.conditions.override_until
        where = self.conditions.situation
        return {"override_until": until, "metered": where.metered, "on_battery": where.on_battery,
                "percentage": where.percentage, "network": where.network,
                "watching": {"network": self.network.mode if self.network else None,
                             "power": self.power.mode if self.power else None}}

    def _submit_and_wait(self, fn: Callable[..., None], *args: Any, wait: float | None = None) -> None:
        done = threading.Event()

        def job(*a: Any) -> None:
            try:
                fn(*a)
            finally:
                done.set()

        job.__name__ = fn.__name__
        self._submit(job, *args)
        if wait and self._thread is not None and self._thread is not threading.current_thread():
            done.wait(wait)

    # ---- the worker ---------------------------------------------------------------------------

    def _run(self) -> None:
        while True:
            job = None
            due: list[_Drive] = []
            override_over = False
            with self._cond:
                while not self._stopping:
                    if self._jobs:
                        job = self._jobs.popleft()
                        break
                    now = time.monotonic()
                    waiting = [d for d in self._drives.values() if d.dirty]
                    due = [d for d in waiting if d.next_check <= now]
                    if due:
                        break
                    # the end of "sync anyway" is the one other time the worker wakes by itself
                    times = [d.next_check for d in waiting]
                    override_end = self.conditions.deadline()
                    if override_end is not None:
                        if override_end <= now:
                            override_over = True
                            break
                        times.append(override_end)
                    self._cond.wait(min(times) - now if times else None)
                if self._stopping:
                    return
            try:
                if override_over and self.conditions.expire():
                    self._apply_conditions(None)
                if job is not None:
                    job[0](*job[1])
                for drive in due:
                    self._evaluate(drive)
            except Exception:
                log.exception("device monitor: %s failed", job[0].__name__ if job else "drive check")

    def _prepare(self, daemons: list[Daemon]) -> None:
        """Attach the drives mounted now (for ``daemons``); mark their remotes on absent drives offline."""
        for d in daemons:
            d.refresh_remotes()
        self._attach_mounted(daemons)
        self._mark_absent(daemons, {(str(link.daemon.root), link.remote)
                                    for dr in self._snapshot() for link in dr.links})

    def _mark_absent(self, daemons: list[Daemon], attached: set[tuple[str, str]]) -> None:
        """Remotes on a user-drive location (the mount filter) whose path does not exist are
        on a drive that is not plugged in: offline, quietly (``attached``: (root, remote) on
        drives attached, which are not)."""
        for d in daemons:
            for name, remote in d.remotes().items():
                path = remote.local_path(d.root)
                if (path is None or (str(d.root), name) in attached or path.exists()
                        or not self._mount_filter(str(path), None)):
                    continue
                log.info("%s: remote %s is on a drive that is not connected (%s): offline",
                         d.root, name, path)
                d.remote_present(name, False)

    def _attach_mounted(self, daemons: list[Daemon] | None) -> None:
        """Quietly attach mounted drives to ``daemons`` (None: all) where not attached yet."""
        for mount_point, info in sorted(self.mounts.current_mounts().items()):
            self._handle_mount(mount_point, info.label, False, daemons)

    def _snapshot(self) -> list[_Drive]:
        with self._cond:
            return list(self._drives.values())

    # ---- mounting -----------------------------------------------------------------------------

    def _handle_mount(self, mount_point: str, label: str | None, announce: bool,
                      daemons: list[Daemon] | None = None) -> None:
        label = label or os.path.basename(mount_point.rstrip("/")) or mount_point
        current = self._daemons()
        # (a daemon removed since the job was queued, e.g. one that failed to start, is left alone)
        links = self._match(mount_point, label, current if daemons is None else
                            [d for d in daemons if d in current])
        with self._cond:
            existing = self._drives.get(mount_point)
            attached = {(id(link.daemon), link.remote) for link in existing.links} if existing else set()
        links = [link for link in links if (id(link.daemon), link.remote) not in attached]
        if not links:  # nothing of ours, or attached already (at start, and reported again just after)
            log.debug("drive %s at %s: no clone of these repositories to attach", label, mount_point)
            return
        with self._cond:
            drive = self._drives.get(mount_point)
            if drive is None:
                drive = self._drives[mount_point] = _Drive(label, mount_point, links, announce)
            else:
                drive.links = drive.links + links
        for d in {id(link.daemon): link.daemon for link in links}.values():
            mine = [link for link in links if link.daemon is d]
            d.refresh_remotes()
            for link in mine:
                d.remote_present(link.remote, True)
            for link in mine:
                if link.kind == "git" and announce:
                    self._fetch(d, link.remote)
            d.sync_remotes([link.remote for link in mine])
            d.emit("drive", state="connected", label=label, mount_point=mount_point,
                   remotes=[link.remote for link in mine])
            log.info("%s: drive %s at %s: syncing with %s", d.root, label, mount_point,
                     ", ".join(link.remote for link in mine))
        with self._cond:
            drive.dirty = True
            drive.next_check = time.monotonic() + min(0.25, self.settle)
            self._cond.notify_all()

    def _match(self, mount_point: str, label: str, daemons: list[Daemon]) -> list[DriveLink]:
        links: list[DriveLink] = []
        clones: list[tuple[Path, str]] | None = None
        for d in daemons:
            if is_under(d.root, mount_point):
                continue  # the repository itself lives on this drive
            remotes = d.remotes()
            matched: set[str] = set()
            for name, remote in remotes.items():
                if remote.mode == "off":
                    continue
                path = remote.local_path(d.root)
                # Under the mount point and there: a remote on a drive mounted below this one
                # (/media/BACKUP under a /media that is a file system of its own) is not on it,
                # and plugged in or not, that drive reports itself.
                if path is not None and is_under(path, mount_point) and path.exists():
                    kind: LinkKind = "git" if remote.url else "directory"
                    links.append(DriveLink(d, name, kind, path, mount_point))
                    matched.add(name)
            if clones is None:
                clones = find_annex_clones(mount_point)
            by_uuid = {r.uuid: n for n, r in remotes.items() if r.uuid}
            own_uuid = d.uuid
            for clone_path, uuid in clones:
                name = by_uuid.get(uuid)
                if name in matched:
                    continue
                if name is not None:
                    link = self._adopt_clone(d, remotes[name], clone_path, uuid, mount_point)
                    if link is not None:
                        links.append(link)
                        matched.add(name)
                    continue
                if uuid == own_uuid:
                    continue
                if d.knows_uuid(uuid):
                    log.info("%s: drive %s holds %s, a clone of this repository (uuid %s) that is "
                             "not a remote; add it to sync with it", d.root, label, clone_path, uuid)
                    d.emit("drive-clone-found", label=label, mount_point=mount_point,
                           path=str(clone_path), uuid=uuid)
        return links

    def _adopt_clone(self, d: Daemon, remote: Remote, clone_path: Path, uuid: str,
                     mount_point: str) -> DriveLink | None:
        """A clone on the drive is ``remote`` by its UUID; point a stale URL at it."""
        name, url = remote.name, remote.url
        if not url:
            return None  # a special remote sharing a clone's uuid: not ours to guess about
        old = remote.url_path(d.root)
        if old is None:
            log.info("%s: remote %s (%s) has the uuid of %s on the drive; it is reached another "
                     "way, so it is left alone", d.root, name, url, clone_path)
            return None
        if old.exists() and os.path.realpath(old) != os.path.realpath(clone_path):
            log.warning("%s: remote %s points at %s, which exists, but its uuid %s is on the drive "
                        "at %s; not changing it", d.root, name, old, uuid, clone_path)
            return None
        if os.path.realpath(old) != os.path.realpath(clone_path):
            log.info("%s: remote %s moved to %s (was %s)", d.root, name, clone_path, old)
            d.set_remote_url(name, str(clone_path))
        return DriveLink(d, name, "git", clone_path, mount_point)

    def _fetch(self, d: Daemon, remote: str) -> None:
        res = d.fetch(remote, timeout=FETCH_TIMEOUT)
        if res.returncode != 0:
            log.warning("%s: fetching from drive remote %s failed: %s", d.root, remote,
                        res.stderr.strip().splitlines()[-1:] or res.returncode)

    # ---- unmounting ---------------------------------------------------------------------------

    def _handle_unmount(self, mount_point: str) -> None:
        with self._cond:
            drive = self._drives.pop(mount_point, None)
        links = list(drive.links) if drive else []
        seen = {(id(link.daemon), link.remote) for link in links}
        for d in self._daemons():  # remotes under the mount point that were not attached
            for name, remote in d.remotes().items():
                path = remote.local_path(d.root)
                if path is not None and (id(d), name) not in seen and is_under(path, mount_point):
                    kind: LinkKind = "git" if remote.url else "directory"
                    links.append(DriveLink(d, name, kind, path, mount_point))
        for link in links:
            link.daemon.remote_present(link.remote, False)
        for d in {id(link.daemon): link.daemon for link in links}.values():
            names = [link.remote for link in links if link.daemon is d]
            log.info("%s: drive at %s removed: %s offline", d.root, mount_point, ", ".join(names))
            d.emit("drive", state="removed", label=drive.label if drive else None,
                   mount_point=mount_point, remotes=names)
        if drive is not None and drive.announce and drive.phase != "synced":
            self._send(Notice("drive-removed", drive.label))

    # ---- is the drive up to date? -------------------------------------------------------------

    def _evaluate(self, drive: _Drive) -> None:
        """Check a drive whose daemons have been quiet for ``settle`` seconds (or a re-check is due).

        Scanning: once no content scan is pending, count the transfers for the drive's remotes
        and announce "connected". Then the drive is up to date when, for each of its remotes,
        its daemon has nothing left to do (:meth:`.daemon.Daemon.remote_work`: no change waits
        to be committed, no scan is pending, no transfer to or from it is queued or running,
        git-annex's journal is committed, and a clone has the current branch and git-annex trees
        pushed without error) -- and then, checked on the drive itself
        (:meth:`.daemon.Daemon.remote_complete`), it has this branch's tree and all content it
        wants. Failed transfers make it "incomplete".
        """
        with self._cond:
            if self._drives.get(drive.mount_point) is not drive:
                return  # unmounted meanwhile
            drive.dirty = False
        now = time.monotonic()
        if drive.phase == "scanning":
            scanning = any(link.daemon.scan_pending() for link in drive.links)
            if scanning and now - drive.started < self.scan_wait:
                self._recheck(drive)
                return
            files = None if scanning else self._files_to_sync(drive)
            drive.phase = "syncing"
            if drive.announce:
                self._send(Notice("drive-connected", drive.label, files=files))
        last = max((self._last_event.get(r, 0.0) for r in drive.roots), default=0.0)
        if now - last < self.settle:
            with self._cond:
                drive.dirty = True
                drive.next_check = last + self.settle
            return
        pending, failed, error = self._outstanding(drive)
        log.debug("drive %s: %d thing(s) to do, %d failed transfer(s)", drive.label, pending, failed)
        if pending:
            self._recheck(drive)
            return
        if not failed:
            unverified = [link.remote for link in drive.links if not link.daemon.remote_complete(
                link.remote, link.path if link.kind == "git" else None)]
            if unverified:
                log.debug("drive %s: %s not verified up to date yet", drive.label, ", ".join(unverified))
                self._recheck(drive)
                return
        if failed:
            if drive.announce and not drive.failure_noticed:
                drive.failure_noticed = True
                self._send(Notice("drive-incomplete", drive.label, failed=failed, error=error))
            drive.phase = "incomplete"
            return  # a retry makes events, which bring us back here
        if self.update_drive_worktrees:
            for link in drive.links:
                if link.kind == "git":
                    self._update_worktree(link)
        if drive.phase != "synced":
            drive.phase = "synced"
            if drive.announce:
                self._send(Notice("drive-synced", drive.label))
            for d in {id(link.daemon): link.daemon for link in drive.links}.values():
                d.emit("drive", state="synced", label=drive.label, mount_point=drive.mount_point,
                           remotes=[link.remote for link in drive.links if link.daemon is d])

    def _files_to_sync(self, drive: _Drive) -> int:
        """Transfers for the drive since it was plugged in: done already, running or queued."""
        ids: set[str] = set()
        for link in drive.links:
            ids |= {t["id"] for t in link.daemon.transfers_snapshot(history=1)
                    if t.get("remote") == link.remote and t.get("state") in ("queued", "running")}
        with self._cond:
            ids |= drive.transfers_seen
        return len(ids)

    def _recheck(self, drive: _Drive) -> None:
        """Look again a little later when work remains and no event may come to say it is done."""
        with self._cond:
            drive.dirty = True
            drive.next_check = time.monotonic() + drive.recheck
            drive.recheck = min(drive.recheck * 2, 5.0)

    def _outstanding(self, drive: _Drive) -> tuple[int, int, str | None]:
        """(things still to do, failed transfers, first failure) for the drive's remotes."""
        pending = failed = 0
        error = None
        for link in drive.links:
            work = link.daemon.remote_work(link.remote)
            pending += work.pending
            failed += work.failed
            error = error or work.failure
        return pending, failed, error

    def _update_worktree(self, link: DriveLink) -> None:
        """Bring a full clone's checked-out branch on the drive up to its synced/ branch."""
        clone = link.path
        if not (clone / ".git").exists():
            return  # bare: nothing checked out
        if link.daemon.remote_path_problem(link.remote) is not None:
            return  # not the remote's repository (any more): nothing of ours runs there
        branch = link.daemon.branch
        synced = Git(clone).ref_sha(f"refs/heads/synced/{branch}")
        head = Git(clone).ref_sha("HEAD")
        if synced is None or synced == head or (head and Git(clone).is_ancestor(synced, head)):
            return
        try:
            Annex(clone).run("merge", timeout=MERGE_TIMEOUT)
            log.info("%s: updated the work tree of %s on the drive", link.daemon.root, clone)
        except GitError as e:
            log.warning("%s: could not update the work tree of %s: %s", link.daemon.root, clone, e)

    def _send(self, notice: Notice) -> None:
        self.notices.append(notice)
        log.info("%s: %s", notice.summary, notice.body)
        if self._notify is not None:
            try:
                self._notify(notice)
            except Exception:
                log.exception("notification %r failed", notice.summary)


# ---------------------------------------------------------------------------------------------
# adding a drive


class DriveError(RuntimeError):
    """A clone could not be put on the drive; the message says why."""


_NAME_BAD = re.compile(r"[^A-Za-z0-9_-]+")


def remote_name_for_label(label: str, existing: set[str] | Sequence[str] = ()) -> str:
    """A git remote name made from a drive label ("My Stick!" -> "My-Stick"), unique among ``existing``."""
    name = _NAME_BAD.sub("-", label.strip()).strip("-") or "drive"
    base, n = name, 2
    while name in existing:
        name = f"{base}-{n}"
        n += 1
    return name


def create_drive_clone(repo_root: str | os.PathLike[str], mount_point: str | os.PathLike[str],
                       label: str, kind: Literal["full", "directory"] = "full") -> str:
    """Put a new clone of the repository on a mounted drive; return the new remote's name.

    ``kind="full"``: ``git clone`` to ``MOUNT/<repo folder name>``, ``git annex init LABEL`` there
    (its ``origin`` removed: a path on this computer means nothing elsewhere), added here as a
    remote named after the label with its annex-uuid recorded, and fetched. ``kind="directory"``:
    a git-annex directory special remote in ``MOUNT/<repo folder name>.annex``
    (``git annex initremote NAME type=directory directory=... encryption=none``). Content goes
    there when the daemon next scans (it does on a mount, or run a sync).
    """
    root = Path(os.path.abspath(repo_root))
    mp = Path(os.path.abspath(mount_point))
    if kind not in ("full", "directory"):
        raise ValueError(f"kind must be 'full' or 'directory', not {kind!r}")
    if not mp.is_dir():
        raise DriveError(f"{mp}: not a mounted folder")
    if not os.access(mp, os.W_OK):
        raise DriveError(f"{mp}: not writable")
    git = Git(root)
    existing = set(remote_names(git.config_get_regexp(r"^remote\."))) | set(git.remotes())
    name = remote_name_for_label(label, existing)
    if kind == "full":
        target = mp / root.name
        if target.exists():
            raise DriveError(f"{target} already exists")
        try:
            run_command(["git", "clone", "-q", "--", str(root), str(target)], timeout=3600)
            clone = Git(target)
            Annex(target).init(label)
            clone.run("remote", "remove", "origin")
            uuid = clone.config_get("annex.uuid")
            git.run("remote", "add", "--", name, str(target))
            if uuid:
                git.config_set(f"remote.{name}.annex-uuid", uuid)
            git.run("fetch", "--quiet", name, timeout=FETCH_TIMEOUT)
        except (GitError, OSError) as e:
            git.run("remote", "remove", name, check=False)
            shutil.rmtree(target, ignore_errors=True)
            raise DriveError(f"could not make a clone at {target}: {e}") from e
    else:
        target = mp / f"{root.name}.annex"
        try:
            target.mkdir()
        except FileExistsError:
            raise DriveError(f"{target} already exists") from None
        try:
            Annex(root).run("initremote", name, "type=directory", f"directory={target}",
                            "encryption=none", timeout=300)
        except GitError as e:
            shutil.rmtree(target, ignore_errors=True)
            raise DriveError(f"could not make a directory remote at {target}: {e}") from e
    log.info("%s: new %s remote %s on drive %s at %s", root, kind, name, label, target)
    return name
