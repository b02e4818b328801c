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
    return _compare(git, old_tree, new_tree, limit, subset=False)


def holds_lines(git: Git, their_tree: str, our_tree: str, limit: int = MAX_COMPARED_FILES) -> bool:
    """True if `their_tree` has every file of `our_tree` and each with every line ours has:
    a remote whose git-annex branch is `their_tree` learns nothing from ours.

    Two neighbours that each merge the other's push make merge commits of their own, which
    in a chain of 20 clones went back and forth as "new" while saying nothing new. False as
    soon as a file is ours alone, more than ``limit`` files differ, or a blob or tree cannot
    be read here (their tree is known only when they pushed it to us or we fetched it)."""
    return _compare(git, their_tree, our_tree, limit, subset=True)


def _compare(git: Git, old_tree: str, new_tree: str, limit: int, subset: bool) -> bool:
    """same_lines, or with `subset` holds_lines(old_tree, new_tree)."""
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
        if subset and len(parts) == 5 and parts[4] == "D":
            continue  # a file they have and we do not
        if len(parts) != 5 or parts[4] != "M" or len(pairs) >= limit:
            return False
        pairs.append((parts[2], parts[3]))
    contents = cat_blobs(git, [sha for pair in pairs for sha in pair])

    def lines(sha: str) -> set[bytes] | None:
        data = contents.get(sha)
        return None if data is None else set(data.splitlines()) - {b""}

    for old, new in pairs:
        before, after = lines(old), lines(new)
        if before is None or after is None or (after - before if subset else before != after):
            return False
    return True
