"""The repositories people already have: plain git-annex clones with locked files, clones a
`git annex assistant` runs, and ours; each synced both ways, and idle (no CPU) once synced."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from conftest import annex, assert_idle_cpu, git, in_tree, wait_for


def readable(repo: Path, rel: str, data: bytes) -> bool:
    try:
        return (repo / rel).read_bytes() == data
    except OSError:
        return False


def settle(*ds) -> None:
    wait_for(lambda: all(d.is_idle() for d in ds), 60,
             what=lambda: "idle: " + "; ".join(f"{d.ctx.root.name}: {d.busy_reasons()}" for d in ds))


def save_by_rename(repo: Path, rel: str, data: bytes) -> None:
    """As editors save: write a temporary file beside it, then rename it over the file."""
    tmp = repo / (os.path.dirname(rel) or ".") / f".{os.path.basename(rel)}.tmp"
    tmp.write_bytes(data)
    os.rename(tmp, repo / rel)


@pytest.fixture
def clone_pair(request, plain_clones, make_repo):
    """Two clones, each the remote of the other: plain git-annex ones (locked files) or ours."""
    if request.param == "git-annex":
        return plain_clones(2)
    a = make_repo("A")
    b = make_repo("B", clone_of=a)
    git(b, "remote", "remove", "origin")
    git(a, "remote", "add", "b", str(b))
    git(b, "remote", "add", "a", str(a))
    return [a, b]


@pytest.mark.parametrize("clone_pair", ["git-annex", "syncassistant"], indirect=True)
def test_two_daemons_are_idle_after_writes_in_place_and_by_rename(clone_pair, daemons):
    # Found by a new user: on plain git-annex clones (locked files) a daemon used ~95 % of a
    # core for ever after one new file. `git annex add --batch` writes a locked file's symlink
    # anew even when nothing changed, the watcher took that for an edit, and round it went.
    a, b = clone_pair
    da, db = daemons(a), daemons(b)
    settle(da, db)
    (a / "e.txt").write_bytes(b"written in place\n")
    save_by_rename(a, "w.txt", b"saved by rename\n")
    save_by_rename(b, "from-b.txt", b"saved in B\n")
    wait_for(lambda: readable(b, "e.txt", b"written in place\n") and readable(b, "w.txt", b"saved by rename\n"),
             60, what="A's files and their content in B")
    wait_for(lambda: readable(a, "from-b.txt", b"saved in B\n"), 60, what="B's file and its content in A")
    save_by_rename(a, "w.txt", b"saved again\n")  # an edit of a file both have
    wait_for(lambda: readable(b, "w.txt", b"saved again\n"), 60, what="the edit in B")
    settle(da, db)
    # the bar: two daemons, children included, under 0.5 CPU-s in 20 s
    assert_idle_cpu(20, 0.5, what=f"two daemons on {a.name}/{b.name} clones")
    assert git(a, "status", "--porcelain") == "" and git(b, "status", "--porcelain") == ""


def test_a_locked_file_moved_to_another_folder_is_fixed_once_and_synced(plain_clones, daemons):
    # A locked file's symlink is relative: moved one folder down it points nowhere. git-annex
    # rewrites it (once); a symlink already right is staged by git alone, so nothing loops.
    a, b = plain_clones(2)
    da, db = daemons(a), daemons(b)
    settle(da, db)
    (a / "deep" / "er").mkdir(parents=True)
    os.rename(a / "locked.txt", a / "deep" / "er" / "locked.txt")
    wait_for(lambda: in_tree(b, "deep/er/locked.txt") and not in_tree(b, "locked.txt"), 60, what="the move in B")
    for repo in (a, b):
        wait_for(lambda repo=repo: readable(repo, "deep/er/locked.txt", b"a locked file from git annex add\n"),
                 60, what=f"the moved file readable in {repo.name}")
        assert os.readlink(repo / "deep/er/locked.txt").startswith("../../.git/annex/objects/")
    settle(da, db)
    assert_idle_cpu(5, 0.15, what="two daemons after a move of a locked file")
    assert "deep/er/locked.txt" in git(a, "ls-files")


def test_our_daemon_beside_a_git_annex_assistant_goes_idle(plain_clones, daemons, annex_assistant):
    a, b = plain_clones(2)
    da = daemons(a)
    annex_assistant(b)
    (a / "ours.txt").write_bytes(b"from our daemon\n")
    wait_for(lambda: readable(b, "ours.txt", b"from our daemon\n"), 120, what="our file and content in B")
    save_by_rename(b, "theirs.txt", b"from the assistant\n")
    wait_for(lambda: readable(a, "theirs.txt", b"from the assistant\n"), 120,
             what="the assistant's file and content in A")
    settle(da)
    # the assistant's own process tree is left out of the count; ours must be still
    assert_idle_cpu(5, 0.15, what="our daemon beside the assistant")
    assert annex(a, "find", "--in=here", "theirs.txt").strip() == "theirs.txt"
