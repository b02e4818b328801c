"""Remotes on a local path: nothing of ours runs against one unless its repository is there.

A git remote on a local path (a drive, a mounted share, another folder) can go away while we
run: a drive is unplugged (its mount point stays behind, an empty folder on this computer's own
disk), a share is unmounted, a folder is moved. git-annex does not notice. A process started
while the repository was there keeps the layout it found, and writes at the path as if the
repository still were there (git-annex 10.20261026, long-lived `--batch-keys` processes, the
path renamed away, measured in tests/test_remote_paths.py and by hand):

* a bare repository replaced by an empty folder: `copy --to` created `annex/objects/...`,
  `annex/journal.lck` and `annex/transfer/...` there and reported success for each key, so the
  clone believed content was on the drive that was on its own disk; `get --from` created
  `annex/keysdb`, `annex/keysdb.lck`;
* a work tree whose path vanished while a transfer ran: git-annex created the missing path
  again with `.git/annex/{journal.lck, keysdb, keysdb.lck, ...}` (the issue's report), or with
  `.git/annex/transfer/failed/...` (recording the failed transfer "in the remote").

The next time the drive is plugged in it is mounted elsewhere (the old mount point is no longer
empty) and a stray half-repository is left behind. `git push`/`git fetch` to a missing path or
an empty folder create nothing (they refuse: "does not appear to be a git repository"), but to
a folder holding another repository (another drive mounted where ours was) a push writes.

So, for every git remote whose URL is a local path:

* :meth:`RemotePaths.problem` -- before a process bound to the remote starts (a transfer
  process, a push) the path must hold a git repository (a work tree with a `.git` folder or
  gitfile, or a bare one) whose `annex.uuid` is the remote's `remote.NAME.annex-uuid` (any
  repository while that is not known yet). It reads the config files and spawns nothing, so it
  can run before every transfer and push.
* a watcher thread notices at once when a path stops or starts holding its repository and
  reports it to the subscribers: the transfers then end the processes bound to that remote and
  hold its transfers (no failures), and resume them when it is back. It watches by inotify (the
  path itself and its git folder for being moved, deleted or unmounted, the folder above for
  the name; while it is away, the nearest folder that exists on the way to it) and
  `/proc/self/mountinfo` (a drive mounted or unmounted anywhere), and sleeps in poll() with no
  timeout: an idle daemon spends nothing here.

Processes bound to a remote that went are killed (SIGKILL: they have nothing left to finish
there), gone 4-8 ms after a rename here (26 ms once, at load 4). An upload reported done just
as the remote went is done again when it is back (git-annex then checks the remote itself).

Not covered: a process moving a key at that very moment can write first (within 1-6 ms of the
rename, before the watcher's report at 1-4 ms; 4 of 22 runs that moved the folder away in the
middle of a burst of uploads, none when idle). Holding the folder open would stop that, but
also keep a drive from being unmounted. Directory special remotes are not checked either: their
folder carries no UUID.
"""

from __future__ import annotations

import ctypes
import errno
import logging
import os
import select
import struct
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from ..devices.mounts import read_git_config
from ..proc.git import git_dir_of
from .remotes import read_remotes

log = logging.getLogger(__name__)

#: ``(remote, problem)``: problem None when the repository is (back) at the remote's path.
OnChange = Callable[[str, str | None], None]

# inotify(7)
IN_MOVED_FROM, IN_MOVED_TO, IN_CREATE, IN_DELETE = 0x40, 0x80, 0x100, 0x200
IN_DELETE_SELF, IN_MOVE_SELF, IN_IGNORED = 0x400, 0x800, 0x8000
IN_ONLYDIR = 0x1000000
SELF = IN_DELETE_SELF | IN_MOVE_SELF  # (IN_UNMOUNT and IN_IGNORED come without asking)
NAMES = IN_CREATE | IN_DELETE | IN_MOVED_FROM | IN_MOVED_TO
_EVENT = struct.Struct("iIII")  # wd, mask, cookie, len (then len bytes of name)


def repository_git_dir(path: Path) -> Path | None:
    """The git folder of the repository at `path` (work tree, gitfile or bare), or None."""
    found = git_dir_of(path)
    if found is not None:
        return found
    try:  # a bare repository without git-annex (yet): git_dir_of wants an annex/ folder
        if (path / "HEAD").is_file() and (path / "config").is_file() and (path / "objects").is_dir():
            return path
    except OSError:
        pass
    return None


def remote_path_problem(path: Path, uuid: str | None) -> str | None:
    """Why `path` is not the remote whose annex UUID is `uuid` (None: it is; any repository
    while the UUID is not known). Reads files only."""
    git_dir = repository_git_dir(path)
    if git_dir is None:
        return f"no repository at {path} (a drive not plugged in, or a folder moved?)"
    if not uuid:
        return None
    found = read_git_config(git_dir / "config").get("annex.uuid")
    if found != uuid:
        return f"another repository is at {path} (annex.uuid {found or 'none'}, not {uuid})"
    return None


def local_remotes(root: Path, cfg: dict[str, str]) -> dict[str, tuple[Path, str | None]]:
    """Git remotes on a local path, from a parsed config: name -> (path, annex-uuid or None)."""
    out: dict[str, tuple[Path, str | None]] = {}
    for name, remote in read_remotes(cfg).items():
        path = remote.url_path(root)
        if path is not None:
            out[name] = (path, remote.uuid)
    return out


@dataclass
class _Remote:
    path: Path
    uuid: str | None
    problem: str | None = None  # the last check's answer
    checked: bool = False


class _Inotify:
    """The few inotify calls we need, through libc (no dependency for three syscalls)."""

    def __init__(self) -> None:
        self._libc = ctypes.CDLL(None, use_errno=True)
        self._libc.inotify_init1.argtypes = [ctypes.c_int]
        self._libc.inotify_add_watch.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_uint32]
        self._libc.inotify_rm_watch.argtypes = [ctypes.c_int, ctypes.c_int]
        fd = self._libc.inotify_init1(os.O_NONBLOCK | os.O_CLOEXEC)
        if fd < 0:
            e = ctypes.get_errno()
            raise OSError(e, f"inotify_init1: {os.strerror(e)}")
        self.fd = fd

    def add(self, path: str, mask: int) -> int:
        """The watch descriptor, or -1 (the folder is gone meanwhile: the next check sees it)."""
        return self._libc.inotify_add_watch(self.fd, os.fsencode(path), mask | IN_ONLYDIR)

    def remove(self, wd: int) -> None:
        self._libc.inotify_rm_watch(self.fd, wd)  # (EINVAL when already gone: fine)

    def drain(self) -> set[int]:
        """Read every queued event; return the watches the kernel dropped (IN_IGNORED)."""
        dropped: set[int] = set()
        while True:
            try:
                buf = os.read(self.fd, 65536)
            except BlockingIOError:
                return dropped
            off = 0
            while off + _EVENT.size <= len(buf):
                wd, mask, _cookie, length = _EVENT.unpack_from(buf, off)
                off += _EVENT.size + length
                if mask & IN_IGNORED:
                    dropped.add(wd)

    def close(self) -> None:
        os.close(self.fd)


class RemotePaths:
    """The local-path remotes of one repository: is each one's repository at its path?

    :meth:`problem` answers at any time (from the config files; no watcher needed). After
    :meth:`start`, a thread reports changes by itself; subscribers (:meth:`subscribe`) are
    called with ``(remote, problem)`` when a remote goes (problem set) or comes back (None),
    also when a call to :meth:`problem` is the first to see it. Reports are made one at a time
    and in order, from whichever thread saw the change; a subscriber must not wait for another
    thread that may be calling :meth:`problem`.
    """

    thread_name = "syncassistant-remotepaths"

    def __init__(self, root: str | Path, git_dir: str | Path,
                 mountinfo: str = "/proc/self/mountinfo") -> None:
        self.root = Path(root)
        self.config = Path(git_dir) / "config"
        self.mountinfo = mountinfo
        # Held while checking and reporting, so that reports of one remote never cross (a
        # stale "back" after a fresher "gone"). Checks are a few stat() calls and a small read.
        self._lock = threading.RLock()
        self._remotes: dict[str, _Remote] = {}
        self._stamp: tuple[int, int, int] | None = None
        self._subscribers: list[OnChange] = []
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        self._wake_fd: int | None = None

    # ---- asking -----------------------------------------------------------------------------

    def subscribe(self, fn: OnChange) -> None:
        with self._lock:
            self._subscribers.append(fn)

    def problem(self, remote: str) -> str | None:
        """Why nothing may run against `remote` now (None: go ahead, or not a local-path remote)."""
        with self._lock:
            self._load()
            problem, changed = self._check(remote)
        if changed:
            self._wake()  # the watcher arms other watches for the new state
        return problem

    def absent(self) -> dict[str, str]:
        """Remotes found away at their last check: name -> why."""
        with self._lock:
            return {n: r.problem for n, r in self._remotes.items() if r.problem}

    def check_all(self) -> bool:
        """Check every local-path remote now (reporting changes); True if any changed."""
        with self._lock:
            self._load()
            return any([self._check(name)[1] for name in list(self._remotes)])

    def _load(self) -> None:
        """(Re)read our remotes when git's config file changed. Caller holds the lock."""
        try:
            st = self.config.stat()
            stamp: tuple[int, int, int] | None = (st.st_mtime_ns, st.st_size, st.st_ino)
        except OSError:
            stamp = None
        if stamp == self._stamp:
            return
        self._stamp = stamp
        found = local_remotes(self.root, read_git_config(self.config))
        old = self._remotes
        self._remotes = {}
        for name, (path, uuid) in found.items():
            r = old.get(name)
            # a remote pointed elsewhere (a drive adopted at its new mount point) starts afresh,
            # keeping what was reported so that its return is reported too
            if r is None or (r.path, r.uuid) != (path, uuid):
                r = _Remote(path, uuid, problem=r.problem if r else None, checked=bool(r and r.checked))
            self._remotes[name] = r

    def _check(self, name: str) -> tuple[str | None, bool]:
        """(problem, whether that changed), reporting a change. Caller holds the lock."""
        r = self._remotes.get(name)
        if r is None:
            return None, False
        problem = remote_path_problem(r.path, r.uuid)
        first = not r.checked
        changed = (problem is None) != (r.problem is None)
        r.problem, r.checked = problem, True
        # the first look reports only a remote that is away (nothing to resume for the others)
        if (changed and not first) or (first and problem is not None):
            if problem is None:
                log.info("%s: remote %s is back at %s", self.root, name, r.path)
            else:
                log.warning("%s: remote %s: %s; nothing runs against it until it is back",
                            self.root, name, problem)
            for fn in list(self._subscribers):
                try:
                    fn(name, problem)
                except Exception:
                    log.exception("%s: reporting remote %s failed", self.root, name)
            return problem, True
        return problem, False

    # ---- watching ---------------------------------------------------------------------------

    def start(self) -> None:
        """Check every remote now (reporting those away), then watch them on a thread."""
        self.check_all()
        if self._thread is not None:
            return
        try:
            inotify: _Inotify | None = _Inotify()
        except OSError as e:  # (e.g. the inotify instance limit): mounts are still watched
            log.warning("%s: no inotify for remote paths (%s); a moved folder is noticed at the "
                        "next transfer or push", self.root, e)
            inotify = None
        try:
            mountinfo: BinaryIO | None = open(self.mountinfo, "rb", buffering=0)  # (the thread closes it)
        except OSError:
            mountinfo = None
        self._stop = threading.Event()
        self._wake_fd = os.eventfd(0, os.EFD_CLOEXEC | os.EFD_NONBLOCK)
        self._thread = threading.Thread(target=self._run, args=(inotify, mountinfo, self._wake_fd),
                                        name=f"{self.thread_name}-{self.root.name}", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        thread, wake_fd = self._thread, self._wake_fd
        if thread is None:
            return
        self._stop.set()
        self._wake()
        thread.join(timeout)
        if thread.is_alive():
            log.warning("%s: remote path watcher did not stop within %.0f s", self.root, timeout)
            return  # its fds stay open: it may still poll them
        if wake_fd is not None:
            os.close(wake_fd)
        self._thread, self._wake_fd = None, None

    def _wake(self) -> None:
        fd = self._wake_fd
        if fd is not None:
            try:
                os.eventfd_write(fd, 1)
            except OSError:
                pass  # closed by stop() meanwhile

    def _run(self, inotify: _Inotify | None, mountinfo: BinaryIO | None, wake_fd: int) -> None:
        poller = select.poll()
        poller.register(wake_fd, select.POLLIN)
        if inotify is not None:
            poller.register(inotify.fd, select.POLLIN)
        if mountinfo is not None:
            mountinfo.read()  # (poll reports a change against what was last read)
            poller.register(mountinfo.fileno(), select.POLLPRI | select.POLLERR)
        watches: dict[int, str] = {}
        try:
            while not self._stop.is_set():
                try:
                    self._arm_and_check(inotify, watches)
                except Exception:
                    log.exception("%s: checking remote paths failed", self.root)
                events = dict(poller.poll())  # no timeout: only a change or stop() wakes us
                if self._stop.is_set():
                    return
                if wake_fd in events:
                    try:
                        os.eventfd_read(wake_fd)
                    except BlockingIOError:
                        pass
                if inotify is not None and inotify.fd in events:
                    for wd in inotify.drain():
                        watches.pop(wd, None)
                if mountinfo is not None and mountinfo.fileno() in events:
                    mountinfo.seek(0)
                    mountinfo.read()  # without this, poll() would report the same change forever
        finally:
            if inotify is not None:
                inotify.close()
            if mountinfo is not None:
                mountinfo.close()

    def _arm_and_check(self, inotify: _Inotify | None, watches: dict[int, str]) -> None:
        """Watch what each remote's state calls for, then check them all: watching first, so a
        change between the check and the watch cannot go unseen. A changed state calls for
        other watches: again (a few rounds at most; a path flapping faster is seen next time)."""
        for _ in range(4):
            if inotify is not None:
                with self._lock:
                    self._load()
                    wanted: dict[str, int] = {}
                    for r in self._remotes.values():
                        for path, mask in _watch_list(r.path, r.problem is None).items():
                            wanted[path] = wanted.get(path, 0) | mask
                armed: dict[int, str] = {}
                for path, mask in wanted.items():
                    wd = inotify.add(path, mask)
                    if wd >= 0:
                        armed[wd] = path
                for wd in set(watches) - set(armed):
                    inotify.remove(wd)
                watches.clear()
                watches.update(armed)
            if not self.check_all():
                return


def _watch_list(path: Path, present: bool) -> dict[str, int]:
    """What to watch for a remote's path: {folder: inotify mask}."""
    out: dict[str, int] = {}

    def add(p: Path, mask: int) -> None:
        out[str(p)] = out.get(str(p), 0) | mask

    if present:
        # moved, deleted or unmounted (IN_UNMOUNT comes by itself); its name in the folder above
        add(path, SELF)
        add(path.parent, NAMES)
        git_dir = repository_git_dir(path)
        if git_dir is not None and git_dir != path:
            add(git_dir, SELF)
        return out
    # Away: the nearest folder that exists on the way to it, where the next step appears (a
    # drive being mounted is seen in mountinfo). At the path itself (an empty mount point,
    # another repository) what appears inside it, and its own replacement.
    p = path
    while not _is_dir(p) and p != p.parent:
        p = p.parent
    add(p, NAMES | SELF)
    if p == path:
        add(path.parent, NAMES)
        if _is_dir(path / ".git"):
            add(path / ".git", NAMES | SELF)
    return out


def _is_dir(p: Path) -> bool:
    try:
        return p.is_dir()
    except OSError as e:  # (e.g. EACCES on the way, a dead share: ESTALE, EIO)
        if e.errno not in (errno.EACCES, errno.ESTALE, errno.EIO, errno.ENOTCONN):
            log.debug("is_dir(%s): %s", p, e)
        return False
