"""File-system steps for changing a file the user may be writing at the same moment.

Replacing a file by "check, then write" loses a write made between the check and the write.
Linux's renameat2 makes the replacement itself atomic: RENAME_EXCHANGE swaps two names (what
was swapped out is then checked, and swapped back if the user wrote it), RENAME_NOREPLACE
creates a name only if it is still free.
"""

from __future__ import annotations

import ctypes
import os
from pathlib import Path

_AT_FDCWD = -100
RENAME_NOREPLACE, RENAME_EXCHANGE = 1, 2
_libc = ctypes.CDLL(None, use_errno=True)

# what tells a file apart from the same file written since: inode, size, modification time, and
# (for a look before any rename of ours: a rename changes it) the inode change time
Identity = tuple[int, int, int, int]


def renameat2(src: str | Path, dst: str | Path, flags: int) -> None:
    """rename(2) with `flags` (Linux >= 3.15; tmpfs, ext4, btrfs, xfs)."""
    if _libc.renameat2(_AT_FDCWD, os.fsencode(src), _AT_FDCWD, os.fsencode(dst), flags) != 0:
        err = ctypes.get_errno()
        raise OSError(err, os.strerror(err), str(dst))


def exchange(a: str | Path, b: str | Path) -> None:
    """Swap two names atomically."""
    renameat2(a, b, RENAME_EXCHANGE)


def rename_noreplace(src: str | Path, dst: str | Path) -> None:
    """Rename, failing with FileExistsError if `dst` exists (also if it appeared a moment ago)."""
    renameat2(src, dst, RENAME_NOREPLACE)


def identity(path: str | Path) -> Identity | None:
    """(inode, size, mtime, ctime) of `path` itself (not a symlink's target); None if absent."""
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        return None
    return (st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns)


def same_file(now: Identity | None, then: Identity | None) -> bool:
    """Unwritten since `then`, for a file renamed meanwhile (a rename changes the ctime only)."""
    return now is not None and then is not None and now[:3] == then[:3]
