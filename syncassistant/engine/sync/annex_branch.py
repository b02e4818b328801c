"""Comparing two states of the git-annex branch by what they say, not by their bytes.

git-annex merges its branch file by file as a union of lines, and where one side's file already
holds every line of the union it reuses that side's blob as it is, preferring the branch being
merged in (Git/UnionMerge.hs, calcMerge). So two clones whose copies of a log hold the same lines
in a different order (both wrote to it at the same moment and each merged the other's) swap
versions on every merge: A's merge of B yields B's bytes, B's merge of A yields A's. Two clones
that push after every merge then keep each other busy for good, each push a "new" tree that says
nothing new. The Pusher asks :func:`same_lines` before sending a merged git-annex branch.
"""

from __future__ import annotations

from ..network.netmap_store import cat_blobs
from ..proc.git import Git

# Past this many changed files, reading them all costs more than a push that may be redundant.
MAX_COMPARED_FILES = 500


def same_lines(git: Git, old_tree: str, new_tree: str, limit: int = MAX_COMPARED_FILES) -> bool:
    """True if the two trees have the same files and each file the same set of lines.

    False as soon as a file was added or removed, more than ``limit`` files differ, or a blob
    cannot be read: the answer must never hide information from a remote.
    """
    if old_tree == new_tree:
        return True
    res = git.run("diff-tree", "-r", "-z", "--raw", "--no-renames", old_tree, new_tree, check=False)
    if res.returncode != 0:
        return False
    fields = res.stdout.split("\0")
    pairs: list[tuple[str, str]] = []
    for info in fields[0::2]:  # ":<mode> <mode> <sha> <sha> <status>", then the path
        if not info:
            continue
        parts = info.split()
        if len(parts) != 5 or parts[4] != "M" or len(pairs) >= limit:
            return False
        pairs.append((parts[2], parts[3]))
    contents = cat_blobs(git, [sha for pair in pairs for sha in pair])

    def lines(sha: str) -> set[bytes] | None:
        data = contents.get(sha)
        return None if data is None else set(data.splitlines()) - {b""}

    for old, new in pairs:
        before = lines(old)
        if before is None or before != lines(new):
            return False
    return True
