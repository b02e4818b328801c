"""Never lose an edit: what a killed daemon leaves behind, and edits made around merges."""

from __future__ import annotations

import os

from conftest import annex, git, wait_for


def diverged_pair(make_repo):
    """A and B, each with its own commit of doc.txt on a common base; B is A's remote."""
    a = make_repo("A")
    (a / "doc.txt").write_text("base\n")
    annex(a, "add", "doc.txt")
    git(a, "commit", "-q", "-m", "base")
    b = make_repo("B", clone_of=a)
    git(b, "remote", "rename", "origin", "a")
    (b / "doc.txt").write_text("B\n")
    annex(b, "add", "doc.txt")
    git(b, "commit", "-q", "-m", "B")
    git(a, "remote", "add", "b", str(b))
    (a / "doc.txt").write_text("A\n")
    annex(a, "add", "doc.txt")
    git(a, "commit", "-q", "-m", "A")
    return a, b


def committed_texts(repo) -> dict[str, str]:
    """name -> text of every file in HEAD whose content is here."""
    out = {}
    for name in git(repo, "ls-files", "-z").split("\0"):
        if name and os.path.isfile(repo / name):
            out[name] = (repo / name).read_text()
    return out


def test_an_edit_made_during_an_interrupted_merge_is_kept(make_repo, daemons):
    # A daemon killed mid-merge leaves MERGE_HEAD and a conflicted file; the user then saves
    # that file. Resolving the conflict kept both sides as variants and deleted the file at its
    # name, and the edit with it: it was in no commit and no annex object (issue 15, finding 1).
    a, b = diverged_pair(make_repo)
    git(a, "fetch", "-q", "b")
    assert "CONFLICT" in git(a, "merge", "b/master", check=False)
    (a / "doc.txt").write_text("user edit\n")
    daemons(a)
    wait_for(lambda: sorted(committed_texts(a).values()) == ["A\n", "B\n", "user edit\n"]
             and not (a / ".git" / "MERGE_HEAD").exists(), 60,
             what=lambda: f"the edit and both sides committed: {committed_texts(a)}")
    assert (a / "doc.txt").read_text() == "user edit\n"  # the newest edit keeps the name
    assert git(a, "status", "--porcelain") == ""
    assert not os.listdir(a / ".git" / "syncassistant" / "rescued")


def test_an_edit_set_aside_by_a_killed_daemon_comes_back_at_start(make_repo, daemons):
    a = make_repo("A")
    folder = a / ".git" / "syncassistant" / "rescued"
    folder.mkdir(parents=True)
    (folder / "0123456789ab").write_text("saved while a conflict was resolved\n")
    (folder / "0123456789ab.path").write_text("notes/plan.txt")
    daemons(a)
    wait_for(lambda: "notes/plan.txt" in git(a, "ls-files"), 60, what="the edit committed at its name")
    assert (a / "notes" / "plan.txt").read_text() == "saved while a conflict was resolved\n"
    assert os.listdir(folder) == []
