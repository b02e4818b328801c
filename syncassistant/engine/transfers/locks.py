"""Is another git-annex process moving this key? Asking git-annex's transfer locks.

Both clones act on a new file: A uploads it to B while B fetches it from A. Whichever starts
second fails, and git-annex says why in one of two ways. Meeting the lock on its own side it
says "transfer already in progress"; meeting B's download lock (B fetching the key itself)
while uploading into a clone on a local path it says only "failed to send content to remote",
as it would for a real failure. For that case we look at the lock ourselves: git-annex keeps
it at `<B's git dir>/annex/transfer/download/<our uuid>/lck.<key>`, a POSIX (fcntl) lock held
while B's transfer runs. If the lock cannot be probed the answer is "no", and the failure
stands: a wrong "no" costs a retry, never a transfer.
"""

from __future__ import annotations

import errno
import fcntl
import os
from pathlib import Path

LOCKED_MESSAGE = "transfer already in progress"


def lock_held(git_dir: Path, direction: str, uuid: str, key: str) -> bool:
    """A git-annex process in the repository at `git_dir` holds its lock for moving `key`:
    `direction` "download" from `uuid`, or "upload" to it."""
    if not uuid or "/" in key or "/" in uuid or direction not in ("upload", "download"):
        return False
    return _held(Path(git_dir) / "annex" / "transfer" / direction / uuid / f"lck.{key}")


def download_lock_held(git_dir: Path, from_uuid: str, key: str) -> bool:
    """A git-annex process in the repository at `git_dir` holds its lock for downloading `key`
    from `from_uuid`."""
    return lock_held(git_dir, "download", from_uuid, key)


def _held(path: Path) -> bool:
    """Another process holds the POSIX lock on `path`. Probing takes it for an instant
    (non-blocking) when it is free; a lock file never taken, or gone, is free."""
    try:
        fd = os.open(path, os.O_RDWR)
    except OSError:
        return False
    try:
        fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError as e:
        return e.errno in (errno.EACCES, errno.EAGAIN)
    finally:
        os.close(fd)  # (releases it, if we took it)
    return False


def moving(git_dir: Path, direction: str, uuid: str, exclude: set[str] | frozenset[str] = frozenset()) -> bool:
    """A git-annex process in the repository at `git_dir` is moving content now: `direction`
    "upload" to `uuid`, or "download" from it; keys in `exclude` do not count. git-annex keeps
    an info file per running transfer beside its lock (`annex/transfer/<direction>/<uuid>/<key>`
    and `lck.<key>`) and removes both when done; an info file left by a killed process has its
    lock free, and does not count."""
    if not uuid or "/" in uuid or direction not in ("upload", "download"):
        return False
    folder = Path(git_dir) / "annex" / "transfer" / direction / uuid
    try:
        with os.scandir(folder) as it:
            names = [e.name for e in it if not e.name.startswith("lck.") and e.name not in exclude]
    except OSError:
        return False
    return any(_held(folder / f"lck.{name}") for name in names)
