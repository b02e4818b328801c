"""Hosting the engine in the Qt app: one QThread per repository, and engine events as Qt signals.

- `EventBridge` subscribes to the engine's EventHub. Engine callbacks run on engine threads; the
  bridge only emits Qt signals there, and since their receivers live in the GUI thread Qt queues
  each call into the GUI thread. No widget is ever touched from an engine thread.
- `RepoWorker` lives in its repository's QThread and holds its `Daemon`: it adds the repository
  to the app's one engine (`Assistant.add_repo`, which also follows its drives, network and ssh
  remotes, as the headless daemon does) and removes it again, and runs every blocking engine call
  (status, pause, resolve, set_limit...) one after the other, so operations on one repository
  never overlap and the GUI thread never waits on git. The Daemon's own loops (watcher,
  committer, pusher, merger, transfers) are threads it starts itself.
- Status is refreshed when an event says something happened, never on a timer: a burst of
  events is folded into one refresh, and while the engine reports work in flight the worker
  re-checks its in-memory idle flag (no disk, no git) with a back-off until it is idle again.
- `run_in_background` runs a one-off blocking call (e.g. `git ls-remote` for a new remote) on
  the shared thread pool and delivers its result in the GUI thread.
"""

from __future__ import annotations

import itertools
import logging
import threading
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, QRunnable, QThread, QThreadPool, QTimer, Signal, Slot

from ..engine.daemon import Assistant, Daemon
from ..engine.events import Event, EventHub
from .conflict_ops import ConflictError, resolved_elsewhere
from .state import repo_key

log = logging.getLogger(__name__)

REFRESH_DELAY_MS = 50  # fold a burst of events into one status refresh
BUSY_RECHECK_MS = (200, 400, 800, 1600, 3000)  # while not idle: re-check the in-memory flag
QUIET_KINDS = {"transfer", "limits", "hook"}  # events that do not change Daemon.status()


class EventBridge(QObject):
    """Engine events -> typed Qt signals (emitted on engine threads, delivered queued)."""

    committed = Signal(str, str, int)  # repo, commit sha, number of paths
    pushed = Signal(str, str)  # repo, remote
    pushFailed = Signal(str, str, str)  # repo, remote, error
    merged = Signal(str, str, object)  # repo, new head, list of changed paths
    conflict = Signal(str, object)  # repo, conflict record (dict, as in ConflictStore)
    stateChanged = Signal(str, str)  # repo, "running" | "paused" | "stopped"
    error = Signal(str, str, str)  # repo, where ("commit", "merge", ...), message
    transfer = Signal(str, object)  # repo, transfer dict (TransferManager.snapshot() item)
    limits = Signal(str, object)  # repo, limits dict
    event = Signal(object)  # every Event, for listeners that want them all

    def __init__(self, hub: EventHub, parent: QObject | None = None):
        super().__init__(parent)
        self._unsubscribe: Callable[[], None] | None = hub.subscribe(self._on_event)

    def close(self) -> None:
        """Stop listening (call before the bridge goes away, so no late emit hits a dead object)."""
        if self._unsubscribe:
            self._unsubscribe()
            self._unsubscribe = None

    def _on_event(self, ev: Event) -> None:  # engine thread: only emit
        d = ev.data
        repo = ev.repo
        kind = ev.kind
        if kind == "committed":
            self.committed.emit(repo, str(d.get("commit", "")), int(d.get("count", 0)))
        elif kind == "pushed":
            self.pushed.emit(repo, str(d.get("remote", "")))
        elif kind == "push-failed":
            self.pushFailed.emit(repo, str(d.get("remote", "")), str(d.get("error", "")))
        elif kind == "merged":
            self.merged.emit(repo, str(d.get("head", "")), list(d.get("paths") or []))
        elif kind == "conflict":
            self.conflict.emit(repo, dict(d))
        elif kind == "state":
            self.stateChanged.emit(repo, str(d.get("state", "")))
        elif kind == "error":
            self.error.emit(repo, str(d.get("where", "")), str(d.get("message", "")))
        elif kind == "transfer":
            self.transfer.emit(repo, dict(d))
        elif kind == "limits":
            self.limits.emit(repo, dict(d))
        self.event.emit(ev)


class RepoWorker(QObject):
    """Holds one repository's Daemon (of the app's Assistant) inside that repository's QThread."""

    started = Signal(str)  # repo key
    startFailed = Signal(str, str)  # repo key, message for a person
    stopped = Signal(str)  # repo key
    statusReady = Signal(str, object)  # repo key, Daemon.status() dict
    transfersReady = Signal(str, object, object, bool)  # key, list of transfer dicts, limits|None, available
    jobDone = Signal(int, object, object)  # token, result, error message (None on success)
    _poke = Signal()  # emitted on engine threads: refresh the status soon

    def __init__(self, path: str, assistant: Assistant):
        super().__init__()
        self.path = path
        self.key = repo_key(path)
        self.assistant = assistant
        self.hub = assistant.events
        self.daemon: Daemon | None = None
        self._unsubscribe: Callable[[], None] | None = None
        self._refresh_pending = False
        self._busy_step: int | None = None
        self._poke.connect(self._schedule_refresh)

    # -- lifecycle (worker thread) ---------------------------------------------------------------
    @Slot()
    def start(self) -> None:
        if self.daemon is not None:
            return
        try:
            daemon = self.assistant.add_repo(self.path)
        except Exception as e:  # RepoError, AlreadyRunning, GitError...: shown in the tray menu
            log.warning("%s: cannot start: %s", self.path, e)
            self.startFailed.emit(self.key, str(e) or type(e).__name__)
            return
        self.daemon = daemon
        self.key = repo_key(daemon.root)
        self._unsubscribe = self.hub.subscribe(self._on_event)
        self.started.emit(self.key)
        self._send_transfers()
        self._refresh()

    @Slot()
    def stop(self) -> None:
        """Take the repository out of the engine (waits for its daemon's loops) and end this
        worker's thread."""
        if self._unsubscribe:
            self._unsubscribe()
            self._unsubscribe = None
        daemon, self.daemon = self.daemon, None
        if daemon is not None:
            try:
                self.assistant.remove_repo(daemon)
            except Exception:
                log.exception("%s: stopping the daemon failed", self.path)
        self.stopped.emit(self.key)
        thread = QThread.currentThread()
        if thread is not None:
            thread.quit()

    # -- jobs from the GUI -------------------------------------------------------------------------
    @Slot(int, object)
    def run_job(self, token: int, fn: Callable[[Daemon], Any]) -> None:
        if self.daemon is None:
            self.jobDone.emit(token, None, "the repository is not running")
            return
        try:
            result = fn(self.daemon)
        except Exception as e:
            log.warning("%s: %s", self.path, e, exc_info=log.isEnabledFor(logging.DEBUG))
            self.jobDone.emit(token, None, str(e) or type(e).__name__)
        else:
            self.jobDone.emit(token, result, None)
        self._schedule_refresh()

    # -- status ------------------------------------------------------------------------------------
    def _on_event(self, ev: Event) -> None:  # engine thread
        if ev.repo == self.key and ev.kind not in QUIET_KINDS:
            self._poke.emit()

    @Slot()
    def _schedule_refresh(self) -> None:
        if self._refresh_pending or self.daemon is None:
            return
        self._refresh_pending = True
        QTimer.singleShot(REFRESH_DELAY_MS, self._refresh)

    @Slot()
    def _refresh(self) -> None:
        self._refresh_pending = False
        if self.daemon is None:
            return
        try:
            status = self.daemon.status()
            if self._close_stale_conflicts(status):
                status = self.daemon.status()
        except Exception as e:
            log.warning("%s: status failed: %s", self.path, e)
            return
        self.statusReady.emit(self.key, status)
        if not status.get("idle", True) and self._busy_step is None:
            self._busy_step = 0
            QTimer.singleShot(BUSY_RECHECK_MS[0], self._recheck_busy)

    def _close_stale_conflicts(self, status: dict[str, Any]) -> bool:
        """Mark conflicts resolved whose variants are all gone (resolved on another device, or by
        hand in a file manager): only the original name is left."""
        assert self.daemon is not None
        closed = False
        for rec in status.get("conflicts") or []:
            try:
                stale = resolved_elsewhere(self.daemon.root, rec)
            except ConflictError:
                continue
            if stale:
                log.info("%s: conflict on %s was resolved elsewhere", self.path, rec.get("path"))
                closed = self.daemon.mark_resolved(str(rec.get("id"))) or closed
        return closed

    @Slot()
    def _recheck_busy(self) -> None:
        if self.daemon is None:
            self._busy_step = None
            return
        if self.daemon.is_idle():
            self._busy_step = None
            self._refresh()
            return
        self._busy_step = min((self._busy_step or 0) + 1, len(BUSY_RECHECK_MS) - 1)
        QTimer.singleShot(BUSY_RECHECK_MS[self._busy_step], self._recheck_busy)

    def _send_transfers(self) -> None:
        if self.daemon is None:
            return
        try:
            self.transfersReady.emit(self.key, self.daemon.transfers_snapshot(), self.daemon.limits(), True)
        except Exception as e:
            log.warning("%s: reading transfers failed: %s", self.path, e)


class RepoHandle(QObject):
    """The GUI thread's side of a RepoWorker: requests go out as queued signals."""

    jobFinished = Signal(int, object, object)  # token, result, error message (None on success)
    _startRequested = Signal()
    _stopRequested = Signal()
    _job = Signal(int, object)  # token, callable(daemon) -> result

    _tokens = itertools.count(1)

    def __init__(self, path: str, assistant: Assistant, parent: QObject | None = None):
        super().__init__(parent)
        self.path = path
        self.key = repo_key(path)
        self.thread = QThread()
        self.thread.setObjectName(f"syncassistant-repo-{self.key.rsplit('/', 1)[-1]}")
        self.worker = RepoWorker(path, assistant)
        self.worker.moveToThread(self.thread)
        self._startRequested.connect(self.worker.start)
        self._stopRequested.connect(self.worker.stop)
        self._job.connect(self.worker.run_job)
        self.worker.jobDone.connect(self._on_job_done)
        self._callbacks: dict[int, Callable[[Any, str | None], None]] = {}
        self._stopping = False

    def start(self) -> None:
        self.thread.start()
        self._startRequested.emit()

    def stop(self) -> None:
        """Ask the worker to stop its daemon and end its thread (returns at once)."""
        if not self._stopping and self.thread.isRunning():
            self._stopping = True
            self._stopRequested.emit()

    def wait(self, timeout_ms: int = 60000) -> bool:
        """Wait for the thread to end after `stop()`."""
        return self.thread.wait(timeout_ms)

    def submit(self, fn: Callable[[Daemon], Any],
               done: Callable[[Any, str | None], None] | None = None) -> int:
        """Run fn(daemon) on the worker thread; `done(result, error)` is called in the GUI thread."""
        token = next(self._tokens)
        if done is not None:
            self._callbacks[token] = done
        if self._stopping or not self.thread.isRunning():
            self._on_job_done(token, None, "the repository is not running")
            return token
        self._job.emit(token, fn)
        return token

    @Slot(int, object, object)
    def _on_job_done(self, token: int, result: Any, error: Any) -> None:
        cb = self._callbacks.pop(token, None)
        if cb is not None:
            cb(result, error)
        self.jobFinished.emit(token, result, error)

    # -- the common jobs ---------------------------------------------------------------------------
    def pause(self) -> None:
        self.submit(lambda d: d.pause())

    def resume(self) -> None:
        self.submit(lambda d: d.resume())

    def sync_now(self) -> None:
        self.submit(lambda d: d.sync_now())

    def refresh(self) -> None:
        self.submit(lambda d: None)  # every job ends with a status refresh


class _CallSignals(QObject):
    done = Signal(object, object)  # result, error message (None on success)


class _Call(QRunnable):
    def __init__(self, fn: Callable[[], Any], signals: _CallSignals):
        super().__init__()
        self.fn = fn
        self.signals = signals

    def run(self) -> None:
        try:
            result = self.fn()
        except Exception as e:
            self.signals.done.emit(None, str(e) or type(e).__name__)
        else:
            self.signals.done.emit(result, None)


_pending: set[_CallSignals] = set()
_pending_lock = threading.Lock()


def run_in_background(fn: Callable[[], Any], done: Callable[[Any, str | None], None],
                      context: QObject) -> None:
    """Run fn() on the global thread pool; done(result, error) runs in `context`'s thread."""
    signals = _CallSignals()
    signals.moveToThread(context.thread())
    with _pending_lock:
        _pending.add(signals)

    def finish(result: Any, error: Any) -> None:
        with _pending_lock:
            _pending.discard(signals)
        try:
            done(result, error)
        except RuntimeError:  # the widget went away while the call ran
            log.debug("background call finished after its receiver was deleted")

    signals.done.connect(finish)
    QThreadPool.globalInstance().start(_Call(fn, signals))


def wait_background(timeout_ms: int = 30000) -> bool:
    """Wait for every background call (tests, shutdown)."""
    return QThreadPool.globalInstance().waitForDone(timeout_ms)
