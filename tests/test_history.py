"""History and undo (issue 20) on real clones: which device made each commit, `log`, `restore`.

Content is put where a test needs it with git-annex itself (`copy --to`, `drop --force` in the
set-up only: the product never drops without a verified copy).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
from pathlib import Path

import pytest
from conftest import annex, git, link, wait_for

from syncassistant import cli
from syncassistant.engine import history, keep_versions, provenance
from syncassistant.engine.restore import RestoreError, parse_time, restore


def uuid_of(repo: Path) -> str:
    return git(repo, "config", "annex.uuid").strip()


def key_at(repo: Path, rev: str, path: str) -> str:
    return history.key_of("100644", git(repo, "cat-file", "blob", f"{rev}:{path}").encode())  # type: ignore[return-value]


def has_content(repo: Path, key: str) -> bool:
    r = annex(repo, "contentlocation", key, check=False)
    return bool(r.strip()) and "failed" not in r


def commit_file(repo: Path, rel: str, text: str, message: str) -> str:
    """A version committed by hand (no daemon): `git annex add` and `git commit`."""
    (repo / rel).parent.mkdir(parents=True, exist_ok=True)
    (repo / rel).write_text(text)
    git(repo, "annex", "add", "-q", "--", rel)
    git(repo, "commit", "-q", "-m", message)
    return git(repo, "rev-parse", "HEAD").strip()


def run_cli(capsys, *args: str) -> tuple[int, str, str]:
    rc = cli.main(list(args))
    out, err = capsys.readouterr()
    return rc, out, err


# -- provenance ---------------------------------------------------------------------------------

def test_trailers_are_one_clean_line_each_and_read_back():
    me = provenance.Device("1234-abcd", "lap\ntop\x1b[31m")
    msg = provenance.with_trailers("Update x", me, provenance.Device("9-9", "USB drive BACKUP"))
    t = provenance.parse_trailers(msg)
    assert t["Device"] == "lap top [31m" and t["Device-UUID"] == "1234-abcd"
    assert t["Merged-Device"] == "USB drive BACKUP" and t["Merged-Device-UUID"] == "9-9"
    assert provenance.device_of(msg, {"1234-abcd": "laptop"}) == (provenance.Device("1234-abcd", "laptop"), True)
    # what others write: git annex sync's message names its device; anything else names none
    assert provenance.device_of("git-annex in desk", {"u1": "desk"}) == (provenance.Device("u1", "desk"), True)
    assert provenance.device_of("fix typo\n\nSigned-off-by: me", {}) == (provenance.NOBODY, False)
    assert provenance.device_of("", {}) == (provenance.NOBODY, False)


def test_daemon_commits_name_their_device_and_log_shows_both(make_repo, daemons, capsys):
    a = make_repo("A")
    b = make_repo("B", clone_of=a)
    git(b, "remote", "remove", "origin")
    git(a, "annex", "describe", "here", "laptop")
    git(b, "annex", "describe", "here", "USB drive BACKUP")
    link(a, b, "b", "a")
    # a file on each before the daemons start: each daemon commits its own at start, and the two
    # histories meet in a merge
    (a / "from-a.txt").write_text("written on the laptop\n")
    (b / "from-b.txt").write_text("written on the drive\n")
    daemons(a)
    daemons(b)
    wait_for(lambda: git(b, "ls-tree", "HEAD", "--", "from-a.txt").strip()
             and git(a, "ls-tree", "HEAD", "--", "from-b.txt").strip(), 60, "both files in both")
    (b / "sub").mkdir()
    (b / "sub" / "later.txt").write_text("an edit on B\n")
    # (a merge puts the files in place before it moves HEAD)
    wait_for(lambda: git(a, "ls-tree", "-r", "HEAD", "--", "sub/later.txt").strip(), 60, "B's edit in A's HEAD")

    found = {c.path: c for c in history.changes(a)}
    assert found["from-a.txt"].device == "laptop" and found["from-a.txt"].device_uuid == uuid_of(a)
    assert found["from-b.txt"].device == "USB drive BACKUP" and found["from-b.txt"].device_uuid == uuid_of(b)
    assert found["sub/later.txt"].device == "USB drive BACKUP" and found["sub/later.txt"].kind == "added"
    assert found["from-a.txt"].size == len("written on the laptop\n")

    # a merge names the device it was made on and the device whose branch it joined
    merges = git(a, "log", "--merges", "--format=%B%x00", "HEAD").split("\0")
    joined = [provenance.parse_trailers(m) for m in merges if m.strip()]
    assert joined, "the two histories met in a merge"
    pairs = {(t.get("Device-UUID"), t.get("Merged-Device-UUID")) for t in joined}
    assert pairs & {(uuid_of(a), uuid_of(b)), (uuid_of(b), uuid_of(a))}
    t = next(t for t in joined if t.get("Merged-Device-UUID"))
    assert {t["Device"], t["Merged-Device"]} == {"laptop", "USB drive BACKUP"}

    rc, out, _ = run_cli(capsys, "log", str(a))
    assert rc == 0 and "laptop" in out and "USB drive BACKUP" in out and "sub/later.txt" in out
    rc, out, _ = run_cli(capsys, "log", str(a), "--json", "-n", "50")
    rows = json.loads(out)
    assert {r["device_label"] for r in rows if r["path"].startswith("from-")} == {"laptop", "USB drive BACKUP"}


def test_commits_by_git_annex_sync_and_by_hand_show_without_crashing(plain_clones, capsys):
    a, b = plain_clones(2)
    (a / "synced.txt").write_text("via git annex sync\n")
    annex(a, "add", "-q", "synced.txt")
    annex(a, "sync", "-q", "--no-content", timeout=300)
    annex(b, "sync", "-q", "--no-content", timeout=300)
    git(b, "commit", "-q", "--allow-empty", "-m", "a message with\x1f odd\x01 bytes\n\nNot-A: trailer block\nplain line")
    found = history.changes(b)
    by_path = {c.path: c for c in found}
    assert by_path["synced.txt"].device == "A" and by_path["synced.txt"].device_uuid == uuid_of(a)
    assert by_path["locked.txt"].device == "" and by_path["locked.txt"].device_label == "unknown device"
    assert by_path["locked.txt"].size == len("a locked file from git annex add\n")  # from the key of a symlink
    rc, out, _ = run_cli(capsys, "log", str(b))
    assert rc == 0 and "unknown device" in out and "synced.txt" in out


def test_log_of_a_moved_file_and_odd_names(make_repo, capsys):
    a = make_repo("A")
    odd = "odd 'name' $(touch pwned) €\ttab.txt"
    commit_file(a, odd, "x\n", "odd")
    git(a, "mv", "--", odd, "moved.txt")
    git(a, "commit", "-q", "-m", "move")
    found = history.changes(a)
    assert found[0].kind == "moved" and found[0].old_path == odd and found[0].path == "moved.txt"
    assert found[1].kind == "added" and found[1].path == odd
    assert not (a / "pwned").exists()
    rc, out, _ = run_cli(capsys, "log", str(a), odd)
    assert rc == 0 and "  1  " in out


# -- restore --------------------------------------------------------------------------------------

def test_a_file_deleted_on_a_is_restored_from_bs_content(make_repo, daemons, capsys):
    a = make_repo("A")
    b = make_repo("B", clone_of=a)
    git(b, "remote", "remove", "origin")
    link(a, b, "b", "a")
    daemons(a)
    daemons(b)
    (a / "report.txt").write_text("the only copy of the report\n")
    wait_for(lambda: (b / "report.txt").exists() and (b / "report.txt").read_text().startswith("the only"),
             60, "the report with its content in B")
    key = wait_for(lambda: git(a, "annex", "lookupkey", "report.txt", check=False).strip(), 30, "its key")
    os.unlink(a / "report.txt")
    wait_for(lambda: not (b / "report.txt").exists(), 60, "the deletion in B")
    annex(a, "drop", "--force", "--key", key)  # (set-up) A has no copy left: it must come from B
    assert not has_content(a, key)

    rc, out, err = run_cli(capsys, "restore", str(a), "report.txt")
    assert rc == 0, err
    assert "restored version 1" in out
    assert (a / "report.txt").read_text() == "the only copy of the report\n"
    # a new change like any other: A's daemon commits it, and it syncs back to B
    wait_for(lambda: git(a, "ls-tree", "HEAD", "--", "report.txt").strip(), 30, "the restore committed in A")
    wait_for(lambda: (b / "report.txt").exists() and (b / "report.txt").read_text() == "the only copy of the report\n",
             60, "the restored file in B")
    last = history.changes(a, "report.txt")[0]
    assert last.kind == "added" and last.device == "A"

    # an edit, then the first version back over it while the daemon runs: restore swaps it in,
    # the daemon commits it, and restore waits for that commit to say so
    (a / "report.txt").write_text("an edit of the report\n")
    wait_for(lambda: git(a, "status", "--porcelain").strip() == ""
             and history.changes(a, "report.txt")[0].kind == "changed", 30, "the edit committed")
    rc, out, err = run_cli(capsys, "restore", str(a), "report.txt", "--version", "2")
    assert rc == 0, err
    assert "replaced by version 2" in out and "committed as" in out
    assert (a / "report.txt").read_text() == "the only copy of the report\n"
    assert history.versions(a, "report.txt")[1].change.size == len("an edit of the report\n")
    wait_for(lambda: (b / "report.txt").read_text() == "the only copy of the report\n", 60,
             "the restored version in B")


def test_a_version_from_two_edits_ago_whose_content_is_only_on_a_third_clone(make_repo):
    a = make_repo("A")
    b = make_repo("B", clone_of=a)
    c = make_repo("C", clone_of=a)
    git(a, "remote", "add", "b", str(b))
    git(a, "remote", "add", "c", str(c))
    commit_file(a, "docs/plan.txt", "plan, first draft\n", "v1")
    key1 = key_at(a, "HEAD", "docs/plan.txt")
    annex(a, "copy", "--key", key1, "--to", "c")
    commit_file(a, "docs/plan.txt", "plan, second draft\n", "v2")
    commit_file(a, "docs/plan.txt", "plan, final\n", "v3")
    annex(a, "drop", "--force", "--key", key1)  # (set-up) only C has the first draft now
    assert not has_content(a, key1) and not has_content(b, key1) and has_content(c, key1)

    found = history.with_whereabouts(a, history.versions(a, "docs/plan.txt"))
    assert [v.number for v in found] == [1, 2, 3]
    # (named as git-annex named C when A first met it: after its remote)
    assert found[2].change.key == key1 and not found[2].here and found[2].where == ["c"]
    assert found[0].here

    done = restore(a, "docs/plan.txt", version=3)  # no daemon: restore commits it itself
    assert done.replaced and done.committed == git(a, "rev-parse", "HEAD").strip()
    assert (a / "docs/plan.txt").read_text() == "plan, first draft\n"
    assert git(a, "status", "--porcelain").strip() == ""
    trailers = provenance.parse_trailers(git(a, "log", "-1", "--format=%B"))
    assert trailers["Device"] == "A" and trailers["Device-UUID"] == uuid_of(a)
    # the version it replaced stays in the history, and can come back the same way
    found = history.versions(a, "docs/plan.txt")
    assert len(found) == 4 and found[1].change.key == key_at(a, "HEAD~1", "docs/plan.txt")
    restore(a, "docs/plan.txt", version=2, as_name="docs/plan (final).txt")
    assert (a / "docs/plan (final).txt").read_text() == "plan, final\n"
    assert (a / "docs/plan.txt").read_text() == "plan, first draft\n"


def test_restore_of_content_nowhere_reachable_says_where_it_was(make_repo, tmp_path, capsys):
    a = make_repo("A")
    b = make_repo("B", clone_of=a)
    git(a, "remote", "add", "b", str(b))
    commit_file(a, "photo.jpg", "pixels, version 1\n", "v1")
    key1 = key_at(a, "HEAD", "photo.jpg")
    annex(a, "copy", "--key", key1, "--to", "b")
    commit_file(a, "photo.jpg", "pixels, version 2\n", "v2")
    commit_file(a, "lost.txt", "never copied anywhere\n", "lost")
    lost = key_at(a, "HEAD", "lost.txt")
    git(a, "rm", "-q", "lost.txt")
    git(a, "commit", "-q", "-m", "gone")
    annex(a, "drop", "--force", "--key", key1)
    annex(a, "drop", "--force", "--key", lost)
    found = history.with_whereabouts(a, history.versions(a, "photo.jpg"))
    assert found[1].where == ["b"] and found[1].away == [] and not found[1].here
    shutil.move(b, tmp_path / "B-unplugged")  # B's drive is away
    head = git(a, "rev-parse", "HEAD")
    found = history.with_whereabouts(a, history.versions(a, "photo.jpg"))
    assert found[1].where == ["b"] and found[1].away == ["b"]
    rc, out, _ = run_cli(capsys, "log", str(a), "photo.jpg")
    assert rc == 0 and "content: b (not reachable now)" in out

    with pytest.raises(RestoreError) as e:
        restore(a, "photo.jpg", version=2)
    assert "not reachable" in str(e.value) and "last known to be on: b, which" in str(e.value)
    with pytest.raises(RestoreError) as e:
        restore(a, "lost.txt")
    assert "not reachable" in str(e.value) and "no device or drive is recorded here as holding it" in str(e.value)
    # nothing changed, nothing left behind
    assert git(a, "rev-parse", "HEAD") == head and git(a, "status", "--porcelain", "--ignored").strip() == ""
    assert (a / "photo.jpg").read_text() == "pixels, version 2\n" and not (a / "lost.txt").exists()


def test_bad_input_gets_a_clear_error_and_loses_nothing(make_repo, tmp_path, capsys):
    a = make_repo("A")
    commit_file(a, "a.txt", "one\n", "v1")
    commit_file(a, "a.txt", "two\n", "v2")
    commit_file(a, "b.txt", "b\n", "b")
    (tmp_path / "outside").mkdir()
    os.symlink(tmp_path / "outside", a / "link")
    head = git(a, "rev-parse", "HEAD")
    cases = [
        (["../escape.txt"], "not inside the folder"),
        ([str(tmp_path / "outside" / "x")], "not inside the folder"),
        ([".git/config"], "inside .git"),
        (["a.txt", "--as", "../out.txt"], "not inside the folder"),
        (["a.txt", "--as", "link/x.txt"], "leads outside"),
        (["a.txt", "--as", "b.txt"], "a file of that name exists"),
        (["a.txt", "--as", "b.txt/inside.txt"], "cannot write there"),
        (["a.txt", "--at", "next tuesday-ish"], "not a time"),
        (["a.txt", "--at", "1999-01-01"], "did not exist yet"),
        (["a.txt", "--version", "9"], "there is no version 9"),
        (["a.txt", "--version", "1"], "already this version"),
        (["never.txt"], "no version of it"),
    ]
    for extra, expected in cases:
        rc, out, err = run_cli(capsys, "restore", str(a), *extra)
        assert rc == 1 and expected in err, (extra, err)
    # a file changed and not yet committed is not restored over
    (a / "a.txt").write_text("an edit not committed yet\n")
    rc, _, err = run_cli(capsys, "restore", str(a), "a.txt", "--version", "2")
    assert rc == 1 and "changes not yet synced" in err
    assert (a / "a.txt").read_text() == "an edit not committed yet\n"
    assert git(a, "rev-parse", "HEAD") == head
    assert sorted(os.listdir(a)) == [".git", "a.txt", "b.txt", "link"]
    assert not os.listdir(tmp_path / "outside")
    # and --at finds the version a file had then
    rc, out, err = run_cli(capsys, "restore", str(a), "a.txt", "--at", "@" + str(int(time.time()) + 60),
                           "--as", "a (then).txt")
    assert rc == 0, err
    assert (a / "a (then).txt").read_text() == "two\n"


def test_parse_time():
    now = 1_800_000_000.0
    assert parse_time("3 hours ago", now) == now - 3 * 3600
    assert parse_time("2d", now) == now - 2 * 86400
    assert parse_time("10 min ago", now) == now - 600
    assert parse_time("@1700000000") == 1_700_000_000
    assert parse_time("2026-12-05T14:30:00+00:00") == 1796481000
    for bad in ("", "soon", "2026-13-45", "@", "3 parsecs ago"):
        with pytest.raises(RestoreError):
            parse_time(bad, now)


# -- keeping versions ----------------------------------------------------------------------------

def commit_at(repo: Path, when: float, message: str, *changes: tuple[str, str | None]) -> None:
    """One commit dated `when`: each (path, text) written and added, or (path, None) deleted."""
    for rel, text in changes:
        if text is None:
            git(repo, "rm", "-q", "--", rel)
        else:
            (repo / rel).write_text(text)
            git(repo, "annex", "add", "-q", "--", rel)
    stamp = f"@{int(when)} +0000"
    subprocess.run(["git", "commit", "-q", "-m", message], cwd=repo, check=True,
                   env={**os.environ, "GIT_AUTHOR_DATE": stamp, "GIT_COMMITTER_DATE": stamp})


def test_the_policy_drops_exactly_the_old_versions_past_it_that_have_numcopies_other_copies(make_repo, capsys):
    a = make_repo("A")
    b = make_repo("B", clone_of=a)
    c = make_repo("C", clone_of=a)
    git(a, "remote", "add", "b", str(b))
    git(a, "remote", "add", "c", str(c))
    day, now = 86400, time.time()
    commit_at(a, now - 100 * day, "first", ("f.txt", "f one\n"), ("solo.txt", "solo one\n"),
              ("pair.txt", "pair\n"), ("young.txt", "young\n"))
    k_f1, k_solo1, k_pair, k_young = (key_at(a, "HEAD", p) for p in ("f.txt", "solo.txt", "pair.txt", "young.txt"))
    commit_at(a, now - 40 * day, "40 days ago", ("f.txt", "f two\n"), ("solo.txt", "solo two\n"), ("pair.txt", None))
    k_f2, k_solo2 = key_at(a, "HEAD", "f.txt"), key_at(a, "HEAD", "solo.txt")
    commit_at(a, now - 5 * day, "5 days ago", ("f.txt", "f three\n"), ("young.txt", None))
    k_f3 = key_at(a, "HEAD", "f.txt")
    for key, to in ((k_f1, "b"), (k_f1, "c"), (k_pair, "b"), (k_f2, "b"), (k_f2, "c")):
        annex(a, "copy", "-q", "--key", key, "--to", to)
    annex(a, "numcopies", "2")

    found = {v.key: v for v in keep_versions.old_versions(a)}
    assert set(found) == {k_f1, k_solo1, k_pair, k_f2, k_young}
    assert found[k_f1].path == "f.txt" and abs(found[k_f1].replaced - (now - 40 * day)) < 2
    assert abs(found[k_f2].replaced - (now - 5 * day)) < 2 and found[k_young].path == "young.txt"
    assert keep_versions.cost(list(found.values())) == (5, sum(len(t) for t in (
        "f one\n", "solo one\n", "pair\n", "young\n", "f two\n")))

    rc, out, err = run_cli(capsys, "versions", str(a), "--keep-days", "30", "--apply")
    assert rc == 0, err
    assert git(a, "config", "syncassistant.keepVersions").strip() == "30"
    assert "dropped 1" in out and "2 without enough other copies" in out
    # exactly the version past 30 days with two other copies went; the only copy, the one with
    # one other copy (numcopies 2), the young ones and the current versions stayed
    assert not has_content(a, k_f1) and has_content(b, k_f1) and has_content(c, k_f1)
    for key in (k_solo1, k_pair, k_f2, k_young, k_f3, k_solo2):
        assert has_content(a, key), key
    assert (a / "f.txt").read_text() == "f three\n" and (a / "solo.txt").read_text() == "solo two\n"
    # the dropped version is still restorable, from B or C
    restore(a, "f.txt", version=3, as_name="f (first).txt")
    assert (a / "f (first).txt").read_text() == "f one\n"

    rc, out, _ = run_cli(capsys, "versions", str(a), "--json")
    data = json.loads(out)
    assert data["keep_days"] == 30 and data["old_versions"] == 4  # (k_f1 is in use again: restored)
    rc, _, err = run_cli(capsys, "versions", str(a), "--keep-days", "-3")
    assert rc == 1 and "0 or more" in err
    git(a, "config", "syncassistant.keepVersions", "soon")
    rc, _, err = run_cli(capsys, "versions", str(a))
    assert rc == 1 and "not a number of days" in err


def test_restore_in_a_plain_git_annex_clone_of_locked_files(plain_clones, capsys):
    a, b = plain_clones(2)
    key = os.readlink(a / "locked.txt").rsplit("/", 1)[-1]
    annex(a, "copy", "-q", "--to", "b", "locked.txt")
    git(a, "rm", "-q", "locked.txt")
    git(a, "commit", "-q", "-m", "remove the locked file")
    annex(a, "drop", "--force", "--key", key)  # (set-up) B has the only copy
    rc, out, err = run_cli(capsys, "restore", str(a), "locked.txt")
    assert rc == 0, err
    # added back the way this clone adds files: locked, a symlink into the annex
    assert (a / "locked.txt").is_symlink() and (a / "locked.txt").read_text() == "a locked file from git annex add\n"
    assert git(a, "status", "--porcelain").strip() == ""
    assert history.changes(a, "locked.txt")[0].kind == "added"
    annex(b, "sync", "-q", "--no-content", timeout=300)
    annex(a, "sync", "-q", "--no-content", timeout=300)
    annex(b, "sync", "-q", "--no-content", timeout=300)
    assert (b / "locked.txt").is_symlink() and (b / "locked.txt").read_text() == "a locked file from git annex add\n"


def test_restore_of_files_with_odd_names(make_repo):
    a = make_repo("A")
    names = ["new\nline ü.txt", "ä" * 90 + ".txt", "-rf --no-preserve-root", "dir with space/$(x) `y` ;z"]
    for n in names:
        commit_file(a, n, f"content of {n!r}\n", "add")
    for n in names:
        git(a, "rm", "-q", "--", n)
    git(a, "commit", "-q", "-m", "remove them all")
    for n in names:
        done = restore(a, n)
        assert done.path == n and (a / n).read_text() == f"content of {n!r}\n"
    assert git(a, "status", "--porcelain").strip() == ""
    assert {c.path for c in history.changes(a, limit=len(names))} == set(names)


def test_weekly_thinning_keeps_the_last_version_of_each_week(make_repo, capsys):
    a = make_repo("A")
    b = make_repo("B", clone_of=a)
    git(a, "remote", "add", "b", str(b))
    day, week, now = 86400, 7 * 86400, time.time()
    ws = (int(now - 60 * day) // week + 1) * week  # a week that began 53-60 days ago
    commit_at(a, now - 500 * day, "ancient", ("h.txt", "h one\n"))
    h1 = key_at(a, "HEAD", "h.txt")
    commit_at(a, now - 400 * day, "a year and more ago", ("h.txt", "h two\n"))
    keys = []
    for i, when in enumerate((ws - 3600, ws + 3600, ws + 7200, ws + 10800, now - day)):
        commit_at(a, when, f"g {i}", ("g.txt", f"g version {i}\n"))
        keys.append(key_at(a, "HEAD", "g.txt"))
    annex(a, "copy", "-q", "--to", "b", "--all")
    rc, out, err = run_cli(capsys, "versions", str(a), "--keep-days", "30", "--keep-weekly", "365", "--apply")
    assert rc == 0, err
    assert "then the last of each week until 365 days" in out
    # g's versions 0, 1 and 2 were replaced in that one week: only 2 (what g was at the week's end)
    # stays; 3 was replaced a day ago; h's first version was replaced over a year ago
    assert [has_content(a, k) for k in keys] == [False, False, True, True, True]
    assert not has_content(a, h1) and has_content(b, h1)
    assert "dropped 3" in out and "1 as the last of their week" in out and "kept 1 younger" in out
