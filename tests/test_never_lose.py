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


def cmdline(pid: int) -> str:
    """The command line of a live process ("" once it has ended, a zombie's included)."""
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return f.read().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


def test_a_killed_daemons_children_end_with_it(make_repo, tmp_path):
    # kill -9 of a daemon left its children running: batch processes holding git-annex's
    # transfer locks, a copy our rate limiter had SIGSTOPped (issue 15, finding 4). The child
    # here is a hook that ignores SIGHUP and never reads stdin, so only the front end's guard
    # can end it (an orphaned stopped process group gets SIGHUP from the kernel; this does not).
    import signal
    import subprocess
    import sys

    from syncassistant.engine import reaper

    a = make_repo("A")
    script = tmp_path / "slow_hook.py"
    script.write_text("import signal, time\nsignal.signal(signal.SIGHUP, signal.SIG_IGN)\ntime.sleep(600)\n")
    git(a, "config", "syncassistant.hook", f"{sys.executable} {script}")
    log = open(tmp_path / "daemon.log", "wb")
    proc = subprocess.Popen(["syncassistant", "daemon", "--foreground", str(a)], stdout=log, stderr=log,
                            start_new_session=True)
    try:
        mark = reaper.owner_mark(proc.pid)
        wait_for(lambda: (a / ".git/syncassistant/daemon.lock").exists() or
                 any(m == mark for m in reaper.marked().values()), 30, what="the daemon up")
        (a / "new.txt").write_text("a change, so that the hook runs\n")
        hook = wait_for(lambda: [p for p, m in reaper.marked().items() if m == mark and "slow_hook" in cmdline(p)],
                        60, what="the hook")
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(10)
        wait_for(lambda: "slow_hook" not in cmdline(hook[0]), 30, what="the killed daemon's hook to end")
        wait_for(lambda: not [p for p, m in reaper.marked().items() if m == mark], 30,
                 what=lambda: f"every child of the killed daemon to end: {reaper.marked()}")
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        for p, m in reaper.marked().items():
            if m == reaper.owner_mark(proc.pid):
                os.kill(p, signal.SIGKILL)
        log.close()


def test_a_daemon_start_ends_what_a_killed_one_left(make_repo, daemons):
    # the guard itself may have been killed with the daemon (its process group killed): the
    # next start ends processes whose owner is gone, stopped ones too
    import signal
    import subprocess

    from syncassistant.engine import reaper

    a = make_repo("A")
    dead = subprocess.Popen(["true"])
    dead.wait()
    env = dict(os.environ, **{reaper.OWNER_VAR: reaper.owner_mark(dead.pid).replace("None", "1")})
    orphan = subprocess.Popen(["sleep", "600"], env=env, start_new_session=True)
    try:
        os.kill(orphan.pid, signal.SIGSTOP)
        daemons(a)
        assert orphan.wait(10) == -signal.SIGKILL
    finally:
        if orphan.poll() is None:
            orphan.kill()
            orphan.wait()


def test_a_file_with_a_255_byte_name_syncs_at_once(make_repo, daemons):
    # git-annex's add copies a file to a temporary name ~22 bytes longer than its own, which
    # fails with "File name too long" over ~233 bytes: such a file was retried every 30 s, for
    # ever (issue 15, finding 6). Both sides idle afterwards: nothing retries.
    from conftest import assert_idle_cpu

    a = make_repo("A")
    b = make_repo("B", clone_of=a)
    git(b, "remote", "remove", "origin")
    git(a, "remote", "add", "b", str(b))
    git(b, "remote", "add", "a", str(a))
    da, db = daemons(a), daemons(b)
    name = "n" * 251 + ".txt"  # 255 bytes
    assert len(name.encode()) == 255
    data = os.urandom(3000)
    (a / name).write_bytes(data)
    wait_for(lambda: (b / name).exists() and (b / name).read_bytes() == data, 60, what="the file readable in B")
    assert annex(a, "find", "--", name).strip() == name  # annexed, not put into git
    wait_for(lambda: da.is_idle() and db.is_idle(), 60, what=lambda: f"{da.busy_reasons()} {db.busy_reasons()}")
    assert da.committer.last_error is None
    assert_idle_cpu(3, 0.1, what="two daemons after a long name")


def test_a_failed_download_whose_content_came_another_way_is_no_longer_failed(make_repo, daemons, tmp_path):
    # After a full disk was freed the file arrived, yet its transfer stayed "failed" in the
    # status until its back-off passed (issue 15, finding 6): a scan that no longer asks for it
    # settles it, as it does a deferred one.
    a = make_repo("A")
    b = make_repo("B", clone_of=a)
    git(b, "remote", "remove", "origin")
    git(a, "remote", "add", "b", str(b))
    git(b, "remote", "add", "a", str(a))
    data = os.urandom(5000)
    (a / "f.bin").write_bytes(data)
    annex(a, "add", "f.bin")
    git(a, "commit", "-q", "-m", "f")
    (tmp_path / "saved.bin").write_bytes(data)
    annex(a, "drop", "--force", "f.bin")  # A's copy gone: B's download from A fails
    annex(a, "sync", "--no-content", "b", timeout=120)
    # ...while A's location log still says it has it, so B asks A
    annex(a, "setpresentkey", annex(a, "lookupkey", "f.bin").strip(), git(a, "config", "annex.uuid").strip(), "1")
    annex(a, "sync", "--no-content", "b", timeout=120)
    db = daemons(b)
    db.sync_now()
    wait_for(lambda: db.transfers.counts()["failed"] == 1, 60,
             what=lambda: f"B's download to fail: {db.transfers.snapshot()}")
    annex(a, "reinject", str(tmp_path / "saved.bin"), "f.bin")
    annex(a, "copy", "--to", "b", "f.bin", timeout=120)  # it comes another way
    db.transfers.request_scan(["f.bin"])
    wait_for(lambda: not db.transfers.scanning() and db.transfers.counts()["failed"] == 0, 30,
             what=lambda: f"the failed download settled: {db.transfers.snapshot()}")
    assert (b / "f.bin").read_bytes() == data


def test_an_interrupted_merge_with_new_files_beside_it_keeps_both_sides_and_the_files(make_repo, daemons):
    # A daemon killed mid-merge; new files appear before it runs again. The committer took every
    # dirty path, the conflicted one too, and `git annex add` staged git's conflict-marked
    # pointer file as content, or the commit failed on the unmerged index and the merge was
    # abandoned with the new files staged. Paths of an unresolved merge are the merger's.
    a, b = diverged_pair(make_repo)
    git(a, "fetch", "-q", "b")
    assert "CONFLICT" in git(a, "merge", "b/master", check=False)
    for i in range(5):
        (a / f"new{i}.txt").write_text(f"new file {i}\n")
    daemons(a)
    want = ["A\n", "B\n"] + [f"new file {i}\n" for i in range(5)]
    wait_for(lambda: sorted(committed_texts(a).values()) == want and not (a / ".git" / "MERGE_HEAD").exists()
             and git(a, "status", "--porcelain") == "", 60,
             what=lambda: f"both sides and the new files committed: {committed_texts(a)}")
    assert all((a / f"new{i}.txt").read_text() == f"new file {i}\n" for i in range(5))
