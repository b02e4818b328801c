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


def download_lock_held(git_dir: Path, from_uuid: str, key: str) -> bool:
    """A git-annex process in the repository at `git_dir` holds its lock for downloading `key`
    from `from_uuid`. Probing takes the lock for an instant (non-blocking) when it is free."""
    if not from_uuid or "/" in key or "/" in from_uuid:
        return False
    path = Path(git_dir) / "annex" / "transfer" / "download" / from_uuid / f"lck.{key}"
    try:
        fd = os.open(path, os.O_RDWR)
    except OSError:
        return False  # never taken (or gone): nobody is fetching it
    try:
        fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError as e:
        return e.errno in (errno.EACCES, errno.EAGAIN)
    finally:
        os.close(fd)  # (releases it, if we took it)
    return False

