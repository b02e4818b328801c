"""Conflicted merges resolved by us (engine/sync/conflicts.py), not by `git annex resolvemerge`.

git-annex 10.20261026's resolvemerge files one path's version under another path's name (issue 15,
finding 2); its variant-of-a-variant names nest and grow until nothing can add them, and an
untracked file left where a merge writes blocked every later merge (finding 3).
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest
from conftest import annex, git, in_tree, link, tree_files, wait_for

# A change to one path: text (an unlocked annexed file), None (delete it), or a (kind, text) pair:
# "locked" (an annexed symlink), "git" (a file kept in git) or "link" (a symlink not annexed).
Change = str | None | tuple[str, str]


def apply(repo: Path, changes: dict[str, Change]) -> None:
    for path, change in changes.items():
        full = repo / path
        if change is None:
            git(repo, "rm", "-q", "-r", "--", path)
            continue
        full.parent.mkdir(parents=True, exist_ok=True)
        if full.is_symlink():
            full.unlink()  # a locked file: never write through its link into the annex
        kind, text = change if isinstance(change, tuple) else ("unlocked", change)
        if kind == "link":
            full.symlink_to(text)
            git(repo, "add", "--", path)
            continue
        full.write_text(text)
        if kind == "git":
            git(repo, "-c", "annex.largefiles=nothing", "add", "--", path)
        else:
            addunlocked = "false" if kind == "locked" else "true"
            git(repo, "-c", f"annex.addunlocked={addunlocked}", "annex", "add", "-q", "--", path)
    git(repo, "commit", "-q", "-m", "change")


def conflicted(make_repo, name: str, base: dict[str, Change], ours: dict[str, Change],
               theirs: dict[str, Change]) -> Path:
    """A clone whose master (ours) and synced/master (theirs, as pushed by another clone) have
    changed `base` in different ways: its Merger's next merge conflicts."""
    repo = make_repo(name)
    apply(repo, {"base.txt": "base\n", **base})
    git(repo, "checkout", "-q", "-b", "theirs")
    apply(repo, theirs)
    git(repo, "checkout", "-q", "master")
    apply(repo, ours)
    git(repo, "update-ref", "refs/heads/synced/master", "theirs")
    git(repo, "branch", "-q", "-D", "theirs")
    return repo


def merger_of(repo: Path, flush=lambda: None):
    from syncassistant.engine.context import RepoContext
    from syncassistant.engine.sync.conflicts import ConflictStore
    from syncassistant.engine.sync.merger import Merger

    ctx = RepoContext(repo)
    return Merger(ctx, ConflictStore(ctx.state_dir), flush_pending=flush, on_merged=lambda r: None)


def tracked(repo: Path) -> list[str]:
    return sorted(p for p in git(repo, "ls-files", "-z").split("\0") if p)


def text(repo: Path, path: str) -> str:
    return (repo / path).read_text()


def key_tag(repo: Path, path: str) -> str:
    """git-annex's variant tag for the key of the annexed file at `path` (Annex/VariantFile.hs)."""
    key = annex(repo, "lookupkey", "--", path).strip()
    return hashlib.md5(key.encode()).hexdigest()[:4]


def settled(repo: Path) -> None:
    assert not (repo / ".git" / "MERGE_HEAD").exists()
    assert git(repo, "ls-files", "-u") == ""
    assert git(repo, "status", "--porcelain", "--untracked-files=all") == ""


# -- finding 2: every version under its own path's name ------------------------------------------

def test_the_issues_resolvemerge_recipe_keeps_each_version_under_its_own_name(make_repo):
    # doc1: deleted here, edited there (only stage 3); doc3: added on both sides (stages 2 and 3).
    # git annex resolvemerge paired doc1 with doc3's stage 2: doc1.variant-XXXX.txt held x3.
    repo = conflicted(make_repo, "A", {"doc1.txt": "one\n"},
                      ours={"doc1.txt": None, "doc3.txt": "x3\n"},
                      theirs={"doc1.txt": "y1\n", "doc3.txt": "y3\n"})
    result = merger_of(repo).merge_all()
    files = tracked(repo)
    doc1 = [p for p in files if p.startswith("doc1")]
    doc3 = [p for p in files if p.startswith("doc3")]
    assert [text(repo, p) for p in doc1] == ["y1\n"], doc1  # the edit, once, and nothing else
    assert doc1 == ["doc1.txt"]  # a modify/delete keeps the edit under its own name
    assert sorted(text(repo, p) for p in doc3) == ["x3\n", "y3\n"], doc3
    assert doc3 == sorted(f"doc3.variant-{key_tag(repo, p)}.txt" for p in doc3)  # git-annex's names
    assert {r["path"] for r in result.conflicts} == {"doc1.txt", "doc3.txt"}
    settled(repo)


CASES: dict[str, tuple[dict[str, Change], dict[str, Change], dict[str, Change]]] = {
    "modify-modify": ({"f.txt": "base\n"}, {"f.txt": "ours\n"}, {"f.txt": "theirs\n"}),
    "add-add": ({}, {"f.txt": "ours\n"}, {"f.txt": "theirs\n"}),
    "modify-delete": ({"f.txt": "base\n"}, {"f.txt": "ours\n"}, {"f.txt": None}),
    "delete-modify": ({"f.txt": "base\n"}, {"f.txt": None}, {"f.txt": "theirs\n"}),
    "locked": ({"f.txt": ("locked", "base\n")}, {"f.txt": ("locked", "ours\n")},
               {"f.txt": ("locked", "theirs\n")}),
    "locked-unlocked": ({}, {"f.txt": ("locked", "ours\n")}, {"f.txt": "theirs\n"}),
    "file-folder": ({}, {"f.txt": "ours\n"}, {"f.txt/inside.txt": "theirs\n"}),
    "folder-file": ({}, {"f.txt/inside.txt": "ours\n"}, {"f.txt": "theirs\n"}),
    "git-files": ({"f.txt": ("git", "base\n")}, {"f.txt": ("git", "ours\n")}, {"f.txt": ("git", "theirs\n")}),
    "symlinks": ({}, {"f.txt": ("link", "ours")}, {"f.txt": ("link", "theirs")}),
    "symlink-annexed": ({}, {"f.txt": ("link", "ours")}, {"f.txt": "theirs\n"}),
    "dotfile": ({}, {".f": ("git", "ours\n")}, {".f": ("git", "theirs\n")}),
    "in-a-folder": ({}, {"sub/dir/f.txt": "ours\n"}, {"sub/dir/f.txt": "theirs\n"}),
}


def content(repo: Path, path: str) -> str:
    full = repo / path
    if full.is_symlink() and "annex/objects" not in os.readlink(full):
        return "->" + os.readlink(full)
    return full.read_text()


@pytest.mark.parametrize("case", sorted(CASES))
def test_every_kind_of_conflict_keeps_every_version_and_both_clones_agree(make_repo, case):
    base, ours, theirs = CASES[case]
    a = conflicted(make_repo, "A", base, ours, theirs)
    b = conflicted(make_repo, "B", base, theirs, ours)  # the other clone: sides swapped
    merger_of(a).merge_all()
    merger_of(b).merge_all()
    settled(a)
    settled(b)
    # both clones resolve the same merge into the same tree, so they converge
    assert git(a, "rev-parse", "HEAD^{tree}") == git(b, "rev-parse", "HEAD^{tree}")
    versions = {content(a, p) for p in tracked(a) if p != "base.txt"}
    want = {(c if not isinstance(c, tuple) else ("->" + c[1] if c[0] == "link" else c[1]))
            for c in (*ours.values(), *theirs.values()) if c is not None}
    assert versions == want, tracked(a)
    names = [p for p in tracked(a) if p != "base.txt"]
    assert not [p for p in names if "~" in p]  # no side name (`~HEAD`) from a file/folder conflict
    assert all(p.count(".variant-") <= 1 for p in names)
    if case in ("modify-delete", "delete-modify"):
        assert names == ["f.txt"]


def test_a_variant_name_another_file_has_gets_a_longer_tag(make_repo, tmp_path):
    probe = tmp_path / "probe.txt"
    probe.write_text("ours\n")
    key = annex(make_repo("K"), "calckey", str(probe)).strip()
    taken = f"f.variant-{hashlib.md5(key.encode()).hexdigest()[:4]}.txt"
    repo = conflicted(make_repo, "A", {"f.txt": "base\n", taken: "another file\n"},
                      {"f.txt": "ours\n"}, {"f.txt": "theirs\n"})
    merger_of(repo).merge_all()
    assert text(repo, taken) == "another file\n"
    versions = {p: text(repo, p) for p in tracked(repo) if p.startswith("f.") and p != taken}
    assert sorted(versions.values()) == ["ours\n", "theirs\n"], versions
    assert all(len(p) == len("f.variant-12345678.txt") for p in versions)
    settled(repo)


def test_renamed_on_both_sides_or_renamed_and_deleted_keeps_every_name(make_repo):
    # Merged without rename detection, a rename is a delete and an add: every new name is kept
    # with its content and nothing is in conflict (git's rename/rename and rename/delete
    # conflicts were ours to untangle, and its renames carried edits to the wrong name)
    repo = make_repo("A")
    apply(repo, {"f.txt": "F\n", "k.txt": "K\n"})
    git(repo, "checkout", "-q", "-b", "theirs")
    git(repo, "mv", "f.txt", "h.txt")
    git(repo, "rm", "-q", "k.txt")
    git(repo, "commit", "-q", "-m", "theirs")
    git(repo, "checkout", "-q", "master")
    git(repo, "mv", "f.txt", "g.txt")
    git(repo, "mv", "k.txt", "l.txt")
    git(repo, "commit", "-q", "-m", "ours")
    git(repo, "update-ref", "refs/heads/synced/master", "theirs")
    result = merger_of(repo).merge_all()
    assert {p: text(repo, p) for p in tracked(repo)} == {"g.txt": "F\n", "h.txt": "F\n", "l.txt": "K\n"}
    assert result.conflicts == []
    settled(repo)


@pytest.mark.parametrize("locked", [False, True], ids=["unlocked", "locked"])
def test_the_same_names_and_tree_as_git_annex_where_it_is_right(make_repo, locked):
    # An assistant clone and ours resolving the same conflict must make the same tree.
    kind = "locked" if locked else "unlocked"
    changes = ({"f.txt": (kind, "base\n"), "g": (kind, "base\n")},
               {"f.txt": (kind, "ours\n"), "g": (kind, "ours\n")},
               {"f.txt": (kind, "theirs\n"), "g": (kind, "theirs\n")})
    ours_repo = conflicted(make_repo, "A", *changes)
    annex_repo = conflicted(make_repo, "B", *changes)
    merger_of(ours_repo).merge_all()
    git(annex_repo, "merge", "-q", "synced/master", check=False)
    annex(annex_repo, "resolvemerge")
    assert git(ours_repo, "ls-files", "-s") == git(annex_repo, "ls-files", "-s")


# -- finding 3: names stay short and never nest ------------------------------------------------------

def test_names_never_nest_and_stay_short():
    from syncassistant.engine.sync.conflicts import MAX_NAME_BYTES, variant_base, variant_path

    assert variant_path("a/doc.txt", "1f2e") == "a/doc.variant-1f2e.txt"  # as git-annex names it
    assert variant_path("noext", "1f2e") == "noext.variant-1f2e"
    assert variant_path("a.tar.gz", "1f2e") == "a.tar.variant-1f2e.gz"
    assert variant_path("x.variant-abcd.txt", "1f2e") == "x.variant-1f2e.txt"
    assert variant_path("doc0.variant-a015.variant-SHA256E-s40--5e04aa.txt.txt", "1f2e") == \
        "doc0.variant-1f2e.txt"
    assert variant_path("x.variant-abcd", "1f2e") == "x.variant-1f2e"
    assert variant_path("r.a-very-long-extension-for-sure", "1f2e") == "r.variant-1f2e.a-very-long-extension-for-sure"
    # git-annex names a variant of sub/.hidden "sub.variant-XXXX.hidden", out of its folder
    assert variant_path("sub/.hidden", "1f2e") == "sub/.hidden.variant-1f2e"
    assert variant_base("doc0.variant-a015.variant-SHA256E-s40--5e04aa.txt.txt") == "doc0.txt"
    assert variant_base("sub/.hidden.variant-1f2e") == "sub/.hidden"
    assert variant_base("doc.txt") is None
    for stem in ("a" * 250, "é" * 125, "日本" * 50 + "x" * 100, "a" * 240 + "." + "b" * 40):
        for ext in (".txt", ""):
            name = variant_path("dir/" + stem + ext, "1f2e")
            leaf = name.split("/")[-1]
            assert len(leaf.encode()) <= MAX_NAME_BYTES, leaf
            assert leaf.encode().decode("utf-8")  # cut between characters, never inside one
            assert leaf.endswith(".variant-1f2e" + ext)  # the tag and the extension stay
            assert variant_path(name, "9a9a").split("/")[-1].count(".variant-") == 1


def test_a_conflict_on_a_variant_gives_a_variant_not_a_variant_of_a_variant(make_repo):
    name = "x.variant-abcd.txt"
    repo = conflicted(make_repo, "A", {name: "base\n"}, {name: "ours\n"}, {name: "theirs\n"})
    merger_of(repo).merge_all()
    names = [p for p in tracked(repo) if p.startswith("x.")]
    assert len(names) == 2 and all(p.count(".variant-") == 1 and p.endswith(".txt") for p in names), names
    assert sorted(text(repo, p) for p in names) == ["ours\n", "theirs\n"]
    settled(repo)


def test_a_conflict_on_a_250_byte_name_syncs_between_two_daemons(make_repo, daemons):
    name = "conflict-" + "é" * 118 + "x.txt"
    assert len(name.encode()) == 250
    a = make_repo("A")
    b = make_repo("B", clone_of=a)
    git(b, "remote", "remove", "origin")
    link(a, b, "b", "a")
    (a / name).write_text("version from A\n")
    (b / name).write_text("version from B\n")
    for r in (a, b):
        annex(r, "add", "-q", "--", name)
        git(r, "commit", "-q", "-m", "long name")
    da, db = daemons(a), daemons(b)

    def versions(repo: Path) -> list[str]:
        return sorted(p for p in tree_files(repo) if p.startswith("conflict-"))

    wait_for(lambda: len(versions(a)) == 2 and versions(a) == versions(b)
             and git(a, "rev-parse", "HEAD^{tree}") == git(b, "rev-parse", "HEAD^{tree}"), 90,
             what=lambda: f"both versions on both: {versions(a)} {versions(b)}")
    for p in versions(a):
        assert ".variant-" in p and p.endswith(".txt") and len(p.encode()) <= 200, p
    wait_for(lambda: {(a / p).read_text() for p in versions(a)} == {"version from A\n", "version from B\n"}
             and {(b / p).read_text() for p in versions(b)} == {"version from A\n", "version from B\n"},
             90, what="both contents in both clones")
    (a / "after.txt").write_text("sync goes on")
    wait_for(lambda: in_tree(b, "after.txt"), 60, what="sync after the conflict")
    # (a merge may fail now and then, e.g. git's `stash create` meeting a file a transfer is filling
    # in: it must not stay failing, as it did for good when a file blocked it)
    wait_for(lambda: not da.merger.last_error and not db.merger.last_error, 90,
             what=lambda: f"no merge failing: {da.merger.last_error} {db.merger.last_error}")


# -- finding 3: no file blocks a merge for good ------------------------------------------------------

def _blocked(make_repo, ours_text: str) -> tuple[Path, Path, str]:
    """B with an untracked file where A's new commit (fetched by B) has a file."""
    a = make_repo("A")
    b = make_repo("B", clone_of=a)
    path = "doc.variant-1234.txt"  # say, a variant a failed resolution wrote and never staged
    (a / path).write_text("A's version\n")
    annex(a, "add", "-q", "--", path)
    git(a, "commit", "-q", "-m", "variant")
    (b / path).write_text(ours_text)
    git(b, "fetch", "-q", "origin")
    return a, b, path


def test_an_untracked_file_in_a_merges_way_is_set_aside_not_blocking_it(make_repo):
    # The committer could not commit it (git-annex add failed on its name, say): before, every
    # merge stopped ("untracked working tree files would be overwritten") and was retried for ever.
    a, b, path = _blocked(make_repo, "left behind in B\n")
    merger = merger_of(b)
    result = merger.merge_all()
    assert path in tracked(b)  # A's version (its content comes with the next transfer)
    assert annex(b, "lookupkey", "--", path) == annex(a, "lookupkey", "--", path)
    aside = [p for p in tree_files(b) if p.startswith("doc.") and p != path]
    assert len(aside) == 1 and text(b, aside[0]) == "left behind in B\n", aside
    assert aside[0].count(".variant-") == 1 and aside[0].endswith(".txt")
    assert [r["path"] for r in result.conflicts] == [path]
    assert merger.merge_all().old_head == merger.merge_all().new_head  # nothing left to merge


def test_an_untracked_copy_of_their_file_makes_way_without_a_duplicate(make_repo):
    _, b, path = _blocked(make_repo, "A's version\n")
    merger_of(b).merge_all()
    assert path in tracked(b)
    assert [p for p in tree_files(b) if p.startswith("doc.")] == [path]
    assert text(b, path) == "A's version\n"  # the bytes went into B's annex: nothing to fetch
    assert path in annex(b, "find", "--in", "here")


# -- merging without `git merge` (bench/README.md, "What loses edits", 1, 3 and 4) -------------------

def test_a_merge_that_meets_an_unsaved_edit_leaves_the_file_alone_until_it_is_committed(make_repo):
    # `git merge` stashed an edit in its way, reset the file to HEAD and applied the stash again:
    # for up to seconds the user's file held the old version, a write in that window was lost,
    # and a failed apply left the edit only in a dangling stash. The merge must not touch it.
    from syncassistant.engine.proc.git import GitError

    repo = conflicted(make_repo, "A", {"doc.txt": "base\n"}, {"doc.txt": "ours\n"}, {"doc.txt": "theirs\n"})
    (repo / "doc.txt").write_text("user edit\n")  # written after the flush, before the merge
    inode = (repo / "doc.txt").stat().st_ino
    with pytest.raises(GitError):
        merger_of(repo).merge_all()
    assert (repo / "doc.txt").stat().st_ino == inode, "the merge rewrote the edited file"
    assert text(repo, "doc.txt") == "user edit\n"
    assert "WIP on" not in git(repo, "fsck", "--unreachable", "--no-reflogs", "--no-progress", check=False)
    assert git(repo, "log", "-1", "--format=%s").strip() == "change"  # nothing merged yet

    def commit_the_edit() -> None:
        git(repo, "annex", "add", "-q", "doc.txt")
        if git(repo, "status", "--porcelain", "--", "doc.txt"):
            git(repo, "commit", "-q", "-m", "edit")

    result = merger_of(repo, flush=commit_the_edit).merge_all()
    assert sorted(text(repo, p) for p in tracked(repo) if p.startswith("doc")) == ["theirs\n", "user edit\n"]
    assert [r["path"] for r in result.conflicts] == ["doc.txt"]
    settled(repo)


def test_a_new_write_is_not_carried_onto_a_variant_by_rename_detection(make_repo):
    # Both clones resolved the same conflict; one then wrote s2 again. git saw the other side's
    # s2 -> s2.variant-4f39 as a rename, carried the write onto the variant, where both sides
    # had the same old bytes, and merged cleanly without it (storm seed 1, B's merge c741740).
    repo = conflicted(make_repo, "A", {"s2": ("git", "X\n")},
                      {"s2": ("git", "Y\n"), "s2.variant-4f39": ("git", "X\n")},
                      {"s2": None, "s2.variant-4f39": ("git", "X\n")})
    merger_of(repo).merge_all()
    assert text(repo, "s2") == "Y\n"
    assert text(repo, "s2.variant-4f39") == "X\n"
    settled(repo)


def test_a_file_added_to_a_folder_the_other_side_emptied_stays_in_its_folder(make_repo):
    # git's directory rename detection moved d7/f16.bin to the top level, where the other side
    # had moved d7's last file (kill seed 2 on cc7a4ee): kept only under another name.
    repo = conflicted(make_repo, "A", {"d7/f15.txt": "15\n"}, {"d7/f16.bin": "16\n"},
                      {"d7/f15.txt": None, "f00.txt": "15\n"})
    result = merger_of(repo).merge_all()
    assert tracked(repo) == ["base.txt", "d7/f16.bin", "f00.txt"]
    assert text(repo, "d7/f16.bin") == "16\n" and not result.conflicts
    settled(repo)
