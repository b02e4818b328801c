"""Watching the work tree with inotify (watchdog) and handing changed paths to the Committer.

`.git/` is never watched: the root gets a non-recursive watch and every other top-level folder
a recursive one, so git's and git-annex's own churn (objects, refs, index) costs no inotify
watches and no events. New top-level folders get their watch as they appear.

When the kernel's inotify queue overflows (more changes at once than
`fs.inotify.max_queued_events`, 16384 by default) the events in it are gone: watchdog rebuilds
its watches and says so, and we look at the whole work tree again (`git status`) instead of
missing those changes.

A folder with more subfolders than the kernel lets one user watch (`fs.inotify.max_user_watches`,
or `/proc/sys/user/max_inotify_watches` in a user namespace) is still synced: a top-level folder
that cannot be watched, or whose watch could not cover every subfolder, is looked at with `git
status` every `poll_every` seconds instead (its watch is tried again each time), and `problem()`
says so for the status. The rest of the tree keeps its watches: only what cannot be watched costs
the polling.
"""

from __future__ import annotations

import errno
import logging
import os
import stat
import threading
from collections.abc import Callable
from pathlib import Path

from watchdog.events import (
    DirCreatedEvent,
    DirMovedEvent,
    EventsLostEvent,
    FileClosedEvent,
    FileClosedNoWriteEvent,
    FileCreatedEvent,
    FileModifiedEvent,
    FileOpenedEvent,
    FileSystemEvent,
    FileSystemEventHandler,
)

from .fswatch import CHANGES, observer

log = logging.getLogger(__name__)

POLL_UNWATCHED = 30.0  # seconds between looks at folders inotify cannot watch (out of watches)
# watchdog logs, and otherwise ignores, a subfolder it could not watch inside a watched tree
_WATCHDOG_LOG = "watchdog.observers.inotify"

# Our own temp files and editors' swap/temporary files never get committed.
TEMP_SUFFIXES = (".syncassistant-tmp", ".swp", ".swx", "~", ".part", ".crdownload")
TEMP_PREFIXES = (".#", ".~lock.")


def is_ignored_name(name: str) -> bool:
    return name.startswith(TEMP_PREFIXES) or name.endswith(TEMP_SUFFIXES)


def _being_written(path: str) -> bool:
    """A just-created regular file whose writer has most likely not finished.

    `open(name, "w")` makes IN_CREATE before the first byte is written, and a big write can
    take longer than the committer's quiet time, so a file taken on its create event alone was
    committed empty (or half written) and then again in full. Such a file is written now and
    closed soon, and the close settles it. A file that arrives whole gets no close: a hard
    link, a symlink, or (inotify reports these as creates too) a file moved in from outside
    the tree or inside a folder moved in; those are taken at once unless empty.
    """
    try:
        st = os.lstat(path)
    except OSError:
        return False
    return stat.S_ISREG(st.st_mode) and st.st_size == 0


class _Handler(FileSystemEventHandler):
    def __init__(self, watcher: Watcher):
        self.w = watcher

    def on_any_event(self, event: FileSystemEvent) -> None:
        self.w._on_event(event)


class _UnwatchedFilter(logging.Filter):
    """Hears watchdog say it could not watch a subfolder (out of inotify watches), which it
    otherwise only logs: that folder's top-level folder is then polled."""

    def __init__(self, watcher: Watcher):
        super().__init__()
        self.w = watcher

    def filter(self, record: logging.LogRecord) -> bool:
        if str(record.msg).startswith("Unable to watch") and record.args:
            args = record.args if isinstance(record.args, tuple) else (record.args,)
            self.w._partly_watched(args[0])
        return True


class Watcher:
    """Calls `on_change(relpath, writing)` for every change below `root` outside `.git/`.

    `writing` is True while a file has been modified but not yet closed (still being written).
    `on_poll(folders)`: look for changes under these top-level folders, which inotify cannot
    watch (called every `poll_every` seconds while there are any).
    """

    def __init__(self, root: Path, on_change: Callable[[str, bool], None],
                 on_lost: Callable[[], None] | None = None,
                 on_poll: Callable[[list[str]], None] | None = None, poll_every: float = POLL_UNWATCHED):
        self.root = Path(root)
        self.on_change = on_change
        self.on_lost = on_lost  # events were lost: find what changed another way
        self.on_poll = on_poll
        self.poll_every = poll_every
        self.overflows = 0
        self.polls = 0
        self._unwatched: set[str] = set()  # top-level folders with no watch (out of watches)
        self._partly: set[str] = set()  # ... with a watch that misses some subfolders
        self._reported: set[str] = set()  # folders the log has named as polled
        self._poller: threading.Thread | None = None
        self._stopping = threading.Event()
        self._filter = _UnwatchedFilter(self)
        self._observer = observer(f"syncassistant-watch-{self.root.name}")
        self._handler = _Handler(self)
        self._watched: dict[str, object] = {}
        self._lock = threading.RLock()  # (watchdog may log a folder it cannot watch while we schedule)
        self._rescan: threading.Thread | None = None
        self._rescan_again = False

    def start(self) -> None:
        self._observer.schedule(self._handler, str(self.root), recursive=False, event_filter=CHANGES)
        logging.getLogger(_WATCHDOG_LOG).addFilter(self._filter)
        # Started before the top-level folders are scheduled: a watch scheduled on a running
        # observer is set up (and can fail) on its own; scheduled before start, one folder out
        # of inotify watches made the whole start fail, and the daemon with it.
        self._observer.start()
        with os.scandir(self.root) as it:
            for entry in it:
                if entry.name != ".git" and entry.is_dir(follow_symlinks=False):
                    self._watch_top(entry.name)

    def stop(self) -> None:
        self._stopping.set()
        self._observer.stop()
        self._observer.join(10)
        logging.getLogger(_WATCHDOG_LOG).removeFilter(self._filter)
        with self._lock:
            rescan, poller = self._rescan, self._poller
        for th in (rescan, poller):
            if th is not None:
                th.join(60)

    # -- folders inotify cannot watch -----------------------------------------------------------
    def unwatched(self) -> list[str]:
        """Top-level folders looked at by polling (out of inotify watches), sorted."""
        with self._lock:
            return sorted(self._unwatched | self._partly)

    def problem(self) -> str | None:
        """What the status says while some folders are polled, with how to fix it."""
        folders = self.unwatched()
        if not folders:
            return None
        limit = _watch_limit()
        shown = ", ".join(folders[:5]) + (f" and {len(folders) - 5} more" if len(folders) > 5 else "")
        return (f"too many folders for inotify (fs.inotify.max_user_watches = {limit}): changes in "
                f"{shown} are found within {self.poll_every:.0f} s, not at once; raising that limit "
                "(sysctl) fixes it")

    def _out_of_watches(self, name: str, partly: bool) -> None:
        with self._lock:
            (self._partly if partly else self._unwatched).add(name)
            if self._poller is None and not self._stopping.is_set():
                self._poller = threading.Thread(target=self._poll_loop, daemon=True,
                                                name=f"syncassistant-poll-{self.root.name}")
                self._poller.start()
            first = name not in self._reported  # (not again at each retry of its watch)
            self._reported.add(name)
        if first:
            log.warning("%s: out of inotify watches: %s%s is polled every %.0f s", self.root, name,
                        " (partly watched)" if partly else "", self.poll_every)

    def _partly_watched(self, path: object) -> None:
        rel = self._rel(path) if isinstance(path, (str, bytes)) else None
        if rel is not None:
            self._out_of_watches(rel.split(os.sep, 1)[0], partly=True)

    def _poll_loop(self) -> None:
        while not self._stopping.wait(self.poll_every):
            with self._lock:
                retry = sorted(self._unwatched)
                self._unwatched.clear()
            for name in retry:  # watches may have been freed meanwhile (or the folder is gone)
                if os.path.isdir(self.root / name):
                    self._watch_top(name)
            folders = sorted(set(retry) | set(self.unwatched()))
            if folders and self.on_poll is not None:
                self.polls += 1
                try:
                    self.on_poll(folders)
                except Exception:
                    log.exception("%s: polling unwatched folders failed", self.root)
            with self._lock:
                if not (self._unwatched or self._partly):
                    self._poller = None
                    return

    def _events_lost(self) -> None:
        """One rescan at a time; an overflow during one asks for another after it (every watch
        of the observer reports the same overflow)."""
        with self._lock:
            self.overflows += 1
            if self._rescan is not None:
                self._rescan_again = True
                return
            self._rescan = threading.Thread(target=self._rescan_loop, daemon=True,
                                            name=f"syncassistant-rescan-{self.root.name}")
            self._rescan.start()

    def _rescan_loop(self) -> None:
        while True:
            log.warning("%s: inotify queue overflowed: looking at the whole folder again", self.root)
            try:
                # top-level folders made or removed meanwhile: their watches
                with os.scandir(self.root) as it:
                    tops = {e.name for e in it if e.name != ".git" and e.is_dir(follow_symlinks=False)}
                for name in tops:
                    self._watch_top(name)
                for name in set(self._watched) - tops:
                    self._unwatch_top(name)
                if self.on_lost is not None:
                    self.on_lost()
            except Exception:
                log.exception("%s: rescan after an inotify overflow failed", self.root)
            with self._lock:
                if not self._rescan_again:
                    self._rescan = None
                    return
                self._rescan_again = False

    def _watch_top(self, name: str, fresh: bool = False) -> None:
        """Watch the top-level folder `name`. `fresh`: it was just created or moved in, so a
        watch we hold under its name is of the folder that was there before (gone, or moved
        elsewhere): that one is replaced."""
        with self._lock:
            old = self._watched.get(name)
            if old is not None and not fresh:
                return
            if old is not None:
                del self._watched[name]
                try:
                    self._observer.unschedule(old)
                except (KeyError, OSError):
                    pass
            try:
                self._watched[name] = self._observer.schedule(
                    self._handler, str(self.root / name), recursive=True, event_filter=CHANGES)
                return
            except OSError as e:  # vanished already, or out of inotify watches
                if e.errno not in (errno.ENOSPC, errno.EMFILE):
                    log.warning("cannot watch %s: %s", name, e)
                    return
        self._out_of_watches(name, partly=False)

    def _unwatch_top(self, name: str) -> None:
        """Stop watching a top-level folder that went away, unless a folder stands at its name
        again: events come late (the old folder's own watch reports its deletion after the root
        watch has reported the new folder), and watchdog takes two watches of one path as the
        same watch, so a late "deleted" used to end the new folder's watch. Nothing written in
        that folder was seen again (bench/README.md, finding 7)."""
        with self._lock:
            if os.path.isdir(self.root / name) and not os.path.islink(self.root / name):
                return
            watch = self._watched.pop(name, None)
            self._unwatched.discard(name)
            self._partly.discard(name)
        if watch is not None:
            try:
                self._observer.unschedule(watch)
            except (KeyError, OSError):
                pass

    def _rel(self, path: str | bytes) -> str | None:
        p = os.fsdecode(path)
        try:
            rel = os.path.relpath(p, self.root)
        except ValueError:
            return None
        if rel == "." or rel.startswith(".."):
            return None
        first = rel.split(os.sep, 1)[0]
        if first == ".git":
            return None
        if is_ignored_name(os.path.basename(rel)):
            return None
        return rel

    def _on_event(self, event: FileSystemEvent) -> None:
        if isinstance(event, (FileOpenedEvent, FileClosedNoWriteEvent)):
            return
        if isinstance(event, EventsLostEvent):
            self._events_lost()
            return
        paths = [event.src_path]
        if getattr(event, "dest_path", ""):
            paths.append(event.dest_path)
        writing = isinstance(event, FileModifiedEvent) or (
            isinstance(event, FileCreatedEvent) and _being_written(os.fsdecode(event.src_path)))
        for raw in paths:
            rel = self._rel(raw)
            if rel is None:
                continue
            top_level = os.sep not in rel
            if top_level and isinstance(event, (DirCreatedEvent, DirMovedEvent)):
                if raw == event.src_path and isinstance(event, DirMovedEvent):
                    self._unwatch_top(rel)
                else:
                    self._watch_top(rel, fresh=True)
            if top_level and event.event_type == "deleted" and event.is_directory:
                self._unwatch_top(rel)
            if isinstance(event, FileClosedEvent):
                self.on_change(rel, False)
            else:
                self.on_change(rel, writing)


def _watch_limit() -> str:
    """The inotify watch limit that applies here: the smaller of the system's and, in a user
    namespace (a sandbox), its own."""
    values = []
    for path in ("/proc/sys/fs/inotify/max_user_watches", "/proc/sys/user/max_inotify_watches"):
        try:
            values.append(int(Path(path).read_text()))
        except (OSError, ValueError):
            continue
    return str(min(values)) if values else "?"
