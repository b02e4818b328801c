"""Content sync on real clones: uploads, downloads, limits, cancel, rules, faults."""

from __future__ import annotations

import collections
import contextlib
import os
import time

import pytest
from conftest import annex, git, in_tree, link, wait_for

from syncassistant.engine.transfers.ratelimit import BadRate, parse_rate


def pair(make_repo, daemons):
    a = make_repo("A")
    b = make_repo("B", clone_of=a)
    git(b, "remote", "remove", "origin")
    link(a, b, "b", "a")
    return a, b, daemons(a), daemons(b)


def readable(repo, rel, data: bytes) -> bool:
    p = repo / rel
    try:
        return p.read_bytes() == data
    except OSError:
        return False


def test_new_file_content_is_readable_on_the_other_clone(make_repo, daemons):
    a, b, da, db = pair(make_repo, daemons)
    data = os.urandom(64)
    (a / "small.bin").write_bytes(data)
    wait_for(lambda: readable(b, "small.bin", data), what="content in B")
    big = os.urandom(3 * 1024 * 1024)
    (b / "sub").mkdir()
    (b / "sub" / "big.bin").write_bytes(big)
    wait_for(lambda: readable(a, "sub/big.bin", big), what="content B -> A")
    # location tracking reached the other clone
    uuid_b = git(b, "config", "annex.uuid").strip()
    wait_for(lambda: uuid_b in annex(a, "whereis", "--json", "small.bin"), what="A to know B has small.bin")


def test_many_small_files_and_a_large_one(make_repo, daemons):
    a, b, da, db = pair(make_repo, daemons)
    files = {f"many/f{i:03d}.txt": os.urandom(100) for i in range(200)}
    (a / "many").mkdir()
    for rel, data in files.items():
        (a / rel).write_bytes(data)
    large = a / "large.bin"
    with open(large, "wb") as f:
        for _ in range(100):
            f.write(os.urandom(1024 * 1024))
    wait_for(lambda: all(readable(b, r, d) for r, d in files.items()), timeout=120, what="200 files in B")
    def large_state() -> str:  # what a time-out reports: which half was missing, and why
        size = (b / "large.bin").stat().st_size if (b / "large.bin").exists() else None
        return (f"100 MiB file in B: work-tree size {size}, in B's annex: "
                f"{annex(b, 'find', '--in=here', 'large.bin').strip() == 'large.bin'}, "
                f"A's transfers {[t for t in da.transfers.snapshot() if t['path'] == 'large.bin']}, "
                f"B's transfers {[t for t in db.transfers.snapshot() if t['path'] == 'large.bin']}, "
                f"busy A {da.busy_reasons()} B {db.busy_reasons()}")

    wait_for(lambda: (b / "large.bin").exists() and (b / "large.bin").stat().st_size == 100 * 1024 * 1024
             and annex(b, "find", "--in=here", "large.bin").strip() == "large.bin", timeout=180,
             what=large_state)
    wait_for(lambda: da.is_idle() and db.is_idle(), timeout=60,
             what=lambda: f"idle: {da.status()} {db.status()}")


def test_a_duplicate_of_a_queued_transfer_is_not_announced(make_repo):
    # The event stream tells the UI each transfer's state. A duplicate announced as "queued" after
    # the original reported "done" left the tray saying "Syncing 1 file" for ever.
    from syncassistant.engine.context import RepoContext
    from syncassistant.engine.transfers.manager import TransferManager
    from syncassistant.engine.transfers.model import Transfer

    ctx = RepoContext(make_repo("a"))
    seen, stamps = [], []
    ctx.events.subscribe(lambda ev: (seen.append(ev.data["id"]), stamps.append(ev.data["seq"]))
                         if ev.kind == "transfer" else None)
    queue = TransferManager(ctx, on_location_change=lambda: None)  # not started: nothing runs
    first = Transfer("SHA256E-s1--00", "f", "upload", "b")
    assert queue.enqueue([first]) == 1 and seen == [first.id]
    assert queue.enqueue([Transfer("SHA256E-s1--00", "f", "upload", "b")]) == 0
    assert seen == [first.id]
    # every report and snapshot is stamped in the order it was taken, so that a listener that gets
    # them out of order (reports come from several threads) can keep the newest
    queue.cancel(first.id)
    (snap,) = queue.snapshot()
    assert stamps[0] < stamps[1] < snap["seq"] and snap["state"] == "cancelled"


def test_a_transfer_with_nothing_to_move_is_done_but_not_counted(make_repo, daemons):
    # A deferred download that comes due after the tree parent delivered finds the content here:
    # git-annex skips it. It is done, shown as such, and not counted as a file or bytes moved.
    from syncassistant.engine.transfers.model import Transfer

    a, b, da, db = pair(make_repo, daemons)
    (a / "here.txt").write_text("already on both")
    wait_for(lambda: readable(b, "here.txt", b"already on both"), timeout=60, what="here.txt in B")
    # B's location log says so too (until then a scan in B may queue a download git-annex skips).
    # A merge puts files in the work tree before it updates the index: for that moment git-annex
    # does not know the file ("not a git-annex file"), which is no failure here.
    wait_for(lambda: '"here":true' in annex(b, "whereis", "--json", "here.txt", check=False).replace(" ", ""),
             timeout=60,
             what="B's location log to list here.txt")
    wait_for(lambda: da.is_idle() and db.is_idle(), timeout=60,
             what=lambda: f"both idle: A {da.busy_reasons()}, B {db.busy_reasons()}")
    key = annex(b, "lookupkey", "here.txt").strip()
    counted = (db.transfers.completed, db.transfers.bytes_moved)
    again = Transfer(key, "here.txt", "download", "a", size=15)
    assert db.transfers.enqueue([again]) == 1
    done = wait_for(lambda: [t for t in db.transfers.snapshot() if t["id"] == again.id and t["state"] == "done"],
                    timeout=60, what="the download done")
    assert done[0]["skipped"] and (db.transfers.completed, db.transfers.bytes_moved) == counted


def test_a_deferred_download_the_parent_delivered_is_settled_by_the_next_scan(make_repo, daemons):
    # Routing holds a download back while the tree parent brings the content. Once it has, the
    # scan that the location update triggers settles it (done, nothing moved), rather than it
    # waiting out its grace (a minute or more) in the queue.
    from syncassistant.engine.transfers.model import Transfer

    a, b, da, db = pair(make_repo, daemons)
    (a / "here.txt").write_text("already on both")
    wait_for(lambda: readable(b, "here.txt", b"already on both"), timeout=60, what="here.txt in B")
    # B's location log says so too (until then a scan in B may queue a download git-annex skips).
    # A merge puts files in the work tree before it updates the index: for that moment git-annex
    # does not know the file ("not a git-annex file"), which is no failure here.
    wait_for(lambda: '"here":true' in annex(b, "whereis", "--json", "here.txt", check=False).replace(" ", ""),
             timeout=60,
             what="B's location log to list here.txt")
    wait_for(lambda: da.is_idle() and db.is_idle(), timeout=60,
             what=lambda: f"both idle: A {da.busy_reasons()}, B {db.busy_reasons()}")
    key = annex(b, "lookupkey", "here.txt").strip()
    counted = (db.transfers.completed, db.transfers.bytes_moved)
    held = Transfer(key, "here.txt", "download", "a", size=15, deferred=True,
                    not_before=time.monotonic() + 3600)
    assert db.transfers.enqueue([held]) == 1
    assert db.is_idle()  # held back: no work for now
    db.transfers.request_scan(["here.txt"])
    done = wait_for(lambda: [t for t in db.transfers.snapshot() if t["id"] == held.id and t["state"] == "done"],
                    timeout=60, what=lambda: f"settled: {db.transfers.snapshot()}")
    assert done[0]["skipped"] and (db.transfers.completed, db.transfers.bytes_moved) == counted


def test_a_file_left_as_a_pointer_with_its_content_here_is_filled_in(make_repo):
    # Content arriving while the merge that brings its file runs can leave the file a pointer
    # file (git-annex queues its key-database writes, so each side may miss the other); nothing
    # else would look again. A scan of the path fills it in.
    from syncassistant.engine.context import RepoContext
    from syncassistant.engine.transfers import pointers
    from syncassistant.engine.transfers.scanner import scan

    a = make_repo("A")
    (a / "photo.jpg").write_bytes(b"jpeg bytes")
    git(a, "annex", "add", "photo.jpg")
    git(a, "commit", "-qm", "photo")
    pointer = git(a, "cat-file", "-p", ":photo.jpg").encode()
    assert pointer.startswith(pointers.POINTER_PREFIX)
    (a / "photo.jpg").write_bytes(pointer)  # what such a race leaves: the pointer, content here
    ctx = RepoContext(a)
    assert pointers.left_as_pointers(ctx, ["photo.jpg"]) == ["photo.jpg"]
    scan(ctx, ["photo.jpg"])
    assert (a / "photo.jpg").read_bytes() == b"jpeg bytes"
    assert pointers.left_as_pointers(ctx, ["photo.jpg"]) == []


def test_parse_rate():
    assert parse_rate("500KiB/s") == 500 * 1024
    assert parse_rate("4MB/s") == 4_000_000
    assert parse_rate("0") == 0
    for bad in ("-3", "fast", "", "1.2.3MB"):
        with pytest.raises(BadRate):
            parse_rate(bad)


def test_speed_limit_is_honoured_and_changes_while_running(make_repo, daemons):
    a, b, da, db = pair(make_repo, daemons)
    da.transfers.set_limit(upload=1024 * 1024)
    db.transfers.set_limit(download=1024 * 1024)
    data = os.urandom(8 * 1024 * 1024)
    (a / "limited.bin").write_bytes(data)
    running = wait_for(lambda: [t for t in da.transfers.snapshot() + db.transfers.snapshot()
                                if t["state"] == "running" and t["bytes_done"] > 0], timeout=60,
                       what="a running transfer")
    t0, done0 = time.monotonic(), running[0]["bytes_done"]
    assert not readable(b, "limited.bin", data)
    # lift the limit while it runs: it must finish soon after
    da.transfers.set_limit(upload=0)
    db.transfers.set_limit(download=0)
    wait_for(lambda: readable(b, "limited.bin", data), timeout=60, what="transfer to finish after lifting limit")
    assert time.monotonic() - t0 < 30
    assert done0 < len(data)


@pytest.mark.parametrize("over", ["path", "ssh"])
def test_a_limited_transfer_moves_evenly(over, make_repo, daemons, request):
    """Under a limit the bytes move a little at a time, so progress and speed can be shown. The
    processes used to run unlimited between git-annex's progress reports (every ~0.1 s) and be
    stopped afterwards: a local copy moved ~17 MB in one report, then nothing for a minute."""
    rate = 1024 * 1024
    if over == "path":
        a, b, da, db = pair(make_repo, daemons)
        db.transfers.set_limit(download=rate)
        watched = [da, db]
    else:  # A uploads to B's clone through sshd on 127.0.0.1 (git-annex-shell's P2P protocol)
        port = request.getfixturevalue("ssh_env")["port"]
        a = make_repo("A")
        b = make_repo("B", clone_of=a)
        git(b, "remote", "remove", "origin")
        git(a, "remote", "add", "b", f"ssh://127.0.0.1:{port}{b}")
        da = daemons(a)
        watched = [da]
    da.transfers.set_limit(upload=rate)
    reports: list[tuple[int, str, int]] = []
    for d in watched:
        d.ctx.events.subscribe(lambda ev: reports.append((ev.data["seq"], ev.data["id"], ev.data["bytes_done"]))
                               if ev.kind == "transfer" and ev.data.get("path") == "even.bin"
                               and ev.data.get("state") == "running" else None)
    data = os.urandom(4 * 1024 * 1024)
    (a / "even.bin").write_bytes(data)
    if over == "path":
        wait_for(lambda: readable(b, "even.bin", data), timeout=60, what="the limited transfer")
    else:  # (no daemon in B to fill in its work tree)
        wait_for(lambda: annex(a, "find", "--in=b", "even.bin").strip() == "even.bin", timeout=60,
                 what=lambda: f"the limited upload: {da.transfers.snapshot()}")
    steps = collections.defaultdict(list)
    last: dict[str, int] = {}
    for _seq, tid, done in sorted(reports):
        if tid in last and done >= last[tid]:
            steps[tid].append(done - last[tid])
        last[tid] = done
    assert steps, reports
    biggest = max(max(s) for s in steps.values())
    assert biggest <= rate, f"{biggest} bytes in one progress step under a {rate} B/s limit"
    assert sum(len(s) for s in steps.values()) >= 10  # reported all along, not once or twice


def test_cancel_and_retry(make_repo, daemons):
    a = make_repo("A")
    b = make_repo("B", clone_of=a)
    git(b, "remote", "remove", "origin")
    link(a, b, "b", "a")
    git(b, "config", "remote.a.syncassistant-mode", "upload-only")  # only A moves content here
    da, db = daemons(a), daemons(b)
    da.transfers.set_limit(upload=256 * 1024)
    data = os.urandom(4 * 1024 * 1024)
    (a / "cancel-me.bin").write_bytes(data)

    def running():
        return [(m, t) for m in (da, db) for t in m.transfers.snapshot() if t["state"] == "running"
                and t["path"] == "cancel-me.bin"]

    mgr, t = wait_for(running, timeout=60, what="transfer to start")[0]
    assert mgr is da
    assert mgr.transfers.cancel(t["id"])
    wait_for(lambda: any(x["id"] == t["id"] and x["state"] == "cancelled" for x in mgr.transfers.snapshot()))
    assert not readable(b, "cancel-me.bin", data)
    da.transfers.set_limit(upload=0)
    assert mgr.transfers.retry(t["id"])
    wait_for(lambda: readable(b, "cancel-me.bin", data), timeout=60, what="retried transfer")


@pytest.mark.parametrize(("waits", "side"), [("quiet", "ours"), ("quiet", "theirs"), ("bounded", "ours")])
def test_a_key_the_other_side_is_moving_waits_without_failing(waits, side, make_repo, daemons, monkeypatch):
    """Both clones act on a new file: when our upload meets git-annex's transfer lock (B's
    `git annex get --from a` of that very key holds A's upload lock for it, "ours", or B's own
    download lock, "theirs", where git-annex's message is only "failed to send content"), it
    waits in the queue, not as a failure, and goes on once the lock is free. Only so often in a
    row, though ("bounded": none allowed here): a lock held for minutes is a stuck process.

    The lock is held by a small process of the test's, as another git-annex process would hold
    it (a real concurrent get takes each lock for part of its run only, so which one our upload
    meets depends on timing)."""
    import subprocess
    import sys

    from syncassistant.engine.transfers import manager

    if waits == "bounded":
        monkeypatch.setattr(manager, "LOCKED_WAITS_MAX", 0)
    a = make_repo("A")
    b = make_repo("B", clone_of=a)
    git(b, "remote", "remove", "origin")
    link(a, b, "b", "a")
    da = daemons(a)
    states: list[str] = []
    da.ctx.events.subscribe(lambda ev: states.append(ev.data["state"])
                            if ev.kind == "transfer" and ev.data.get("path") == "both.bin" else None)
    da.transfers.pause("test")
    data = os.urandom(256 * 1024)
    (a / "both.bin").write_bytes(data)
    wait_for(lambda: "both.bin" in git(a, "ls-files"), what="the commit")
    key = annex(a, "lookupkey", "both.bin").strip()
    # git-annex's lock for "upload of this key to B": A/.git/annex/transfer/upload/<B's uuid>/lck.<key>;
    # for "download of it from A": B/.git/annex/transfer/download/<A's uuid>/lck.<key>
    if side == "ours":
        lock_dir = a / ".git" / "annex" / "transfer" / "upload" / git(b, "config", "annex.uuid").strip()
    else:
        lock_dir = b / ".git" / "annex" / "transfer" / "download" / git(a, "config", "annex.uuid").strip()
    lock_dir.mkdir(parents=True, exist_ok=True)
    # held by another process, as git-annex holds it (POSIX locks are per process: this one's
    # own lock would not stop the daemon's probe, which runs in this process)
    holder = subprocess.Popen(
        [sys.executable, "-c", "import fcntl, os, sys; fd = os.open(sys.argv[1], os.O_RDWR | os.O_CREAT, 0o644); "
         "fcntl.lockf(fd, fcntl.LOCK_EX); print('held', flush=True); sys.stdin.read()", str(lock_dir / f"lck.{key}")],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        da.transfers.resume("test")
        after = "queued" if waits == "quiet" else "failed"
        wait_for(lambda: "running" in states and after in states[states.index("running"):], 30,
                 what=lambda: f"our upload to meet the lock and be {after}: {states}")
        assert not readable(b, "both.bin", data)
    finally:
        holder.stdin.close()  # (it exits, and the lock is free)
        holder.wait(10)
    if waits == "bounded":
        # A scan that asks for the failed upload again (its path scanned after a location
        # change, say) leaves it failed: that moved it to the queue before, so "Retry" found
        # nothing to retry (the README's test command failed so on a fresh clone, 1 run in a few)
        da.transfers.request_scan(["both.bin"])
        wait_for(lambda: not da.transfers.scanning(), 30, what="the scan")
        assert da.transfers.counts()["failed"] == 1
        assert da.transfers.retry(f"upload:b:{key}")
    wait_for(lambda: states and states[-1] == "done", 60, what=lambda: f"our upload to go on: {states}")
    assert ("failed" in states) == (waits == "bounded") and da.transfers.counts()["failed"] == 0
    assert annex(b, "contentlocation", key).strip()  # (fails unless the content is in B)


@pytest.mark.parametrize("side", ["download", "upload"])
def test_content_the_other_clone_is_moving_is_left_to_it(side, make_repo, daemons):
    """Both clones act on a new file. A download of a key the other clone is uploading to us now
    is left to it; uploads into a clone on a local path that is fetching from us wait while it
    does (a clone pulling is ~7x faster than pushing into it). No git-annex process is started
    for them, nothing fails, and each goes on once the other side is done. The other side's
    transfer is a lock and info file held by a process of the test's, as git-annex holds them."""
    import subprocess
    import sys

    a = make_repo("A")
    b = make_repo("B", clone_of=a)
    git(b, "remote", "remove", "origin")
    link(a, b, "b", "a")
    if side == "download":  # B downloads from A while A (no daemon) uploads it
        us, them, d = b, a, daemons(b)
    else:  # A uploads to B while B (no daemon) downloads something from A
        us, them, d = a, b, daemons(a)
    src = a
    d.transfers.pause("test")
    data = os.urandom(64 * 1024)
    (src / "moving.bin").write_bytes(data)
    if src is not us:
        annex(src, "add", "moving.bin")
        git(src, "commit", "-q", "-m", "moving")
    else:
        wait_for(lambda: "moving.bin" in git(us, "ls-files"), what="the commit")
    key = annex(src, "lookupkey", "moving.bin").strip()
    held_key = key if side == "download" else "SHA256E-s1--" + "0" * 64 + ".other"
    folder = them / ".git" / "annex" / "transfer" / ("upload" if side == "download" else "download") \
        / git(us, "config", "annex.uuid").strip()
    folder.mkdir(parents=True, exist_ok=True)
    (folder / held_key).write_text("")
    holder = subprocess.Popen(
        [sys.executable, "-c", "import fcntl, os, sys; fd = os.open(sys.argv[1], os.O_RDWR | os.O_CREAT, 0o644); "
         "fcntl.lockf(fd, fcntl.LOCK_EX); print('held', flush=True); sys.stdin.read()", str(folder / f"lck.{held_key}")],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        if side == "download":  # B learns of the file from A's `git annex sync`
            annex(a, "sync", "--no-content", "b", timeout=120)
        wait_for(lambda: any(t["path"] == "moving.bin" and t["direction"] == side for t in d.transfers.snapshot()),
                 30, what="the transfer queued")
        d.transfers.resume("test")
        wait_for(lambda: d.transfers.left_to_peers >= 2, 30, what="the transfer left to the other clone, twice")
        assert not any(t["path"] == "moving.bin" and t["state"] in ("running", "failed", "done")
                       for t in d.transfers.snapshot())
    finally:
        holder.stdin.close()
        holder.wait(10)
        (folder / held_key).unlink()
    wait_for(lambda: annex(b, "contentlocation", key, check=False).strip().startswith(".git/annex/objects"), 60,
             what=lambda: f"the content in B once the other side is done: {d.transfers.snapshot()}")
    assert d.transfers.counts()["failed"] == 0 and d.transfers.lock_waits == 0


def test_held_transfers_wait_quietly_and_resume(make_repo, daemons):
    """pause(reason)/set_offline(remote): a running transfer goes back to the queue (no failure,
    no back-off), nothing moves while held, the daemon counts as idle, and it all goes on resume."""
    a = make_repo("A")
    b = make_repo("B", clone_of=a)
    git(b, "remote", "remove", "origin")
    link(a, b, "b", "a")
    git(b, "config", "remote.a.syncassistant-mode", "upload-only")  # only A moves content here
    da, _ = daemons(a), daemons(b)
    da.transfers.set_limit(upload=256 * 1024)
    data = os.urandom(4 * 1024 * 1024)
    (a / "held.bin").write_bytes(data)

    def mine(state: str) -> list[dict]:
        return [t for t in da.transfers.snapshot() if t["path"] == "held.bin" and t["state"] == state]

    wait_for(lambda: [t for t in mine("running") if t["bytes_done"] > 0], timeout=60, what="a running upload")
    da.transfers.pause("metered", {"b"})
    wait_for(lambda: mine("queued") and not mine("running"), what="the upload to go back to the queue")
    assert not mine("failed") and da.transfers.held()["holds"] == {"metered": ["b"]}
    wait_for(da.transfers.idle, what="held transfers not to count as work")
    assert not readable(b, "held.bin", data)
    da.transfers.set_limit(upload=0)
    da.transfers.set_offline("b", True)  # two holds: ending one is not enough
    da.transfers.resume("metered")
    assert da.transfers.idle() and mine("queued")
    da.transfers.set_offline("b", False)
    wait_for(lambda: readable(b, "held.bin", data), timeout=60, what="the upload after the holds end")
    assert [t["attempts"] for t in da.transfers.snapshot() if t["path"] == "held.bin"][0] <= 2


def test_file_changed_while_being_uploaded(make_repo, daemons):
    """The upload reads git-annex's own copy of the old version, so the edit cannot corrupt it; the
    edit is committed as a new version and uploaded too; B ends with the new bytes and every
    object B holds passes git-annex's checksum."""
    a, b, da, db = pair(make_repo, daemons)
    da.transfers.set_limit(upload=512 * 1024)
    db.transfers.set_limit(download=512 * 1024)
    old, new = os.urandom(4 * 1024 * 1024), os.urandom(3 * 1024 * 1024)
    (a / "doc.bin").write_bytes(old)
    wait_for(lambda: [t for m in (da, db) for t in m.transfers.snapshot()
                      if t["path"] == "doc.bin" and t["state"] == "running" and t["bytes_done"] > 0],
             timeout=60, what="the upload of the first version")
    with open(a / "doc.bin", "r+b") as f:  # edited in place, as an editor saving over it would
        f.write(new)
        f.truncate()
    da.transfers.set_limit(upload=0)
    db.transfers.set_limit(download=0)
    wait_for(lambda: readable(b, "doc.bin", new), timeout=120, what="the edited version in B")
    assert (a / "doc.bin").read_bytes() == new
    annex(b, "fsck", "--fast")  # raises if git-annex finds a bad object
    annex(b, "fsck", "--all", "--quiet")


def test_exclude_rule_is_respected_by_us_and_by_git_annex_sync(make_repo, daemons, tmp_path):
    from syncassistant.engine.transfers import rules

    a = make_repo("A")
    b = make_repo("B", clone_of=a)
    git(b, "remote", "remove", "origin")
    link(a, b, "b", "a")
    rules.add_rule(b, "Videos", "exclude")
    assert rules.list_rules(b) == [{"dir": "Videos", "action": "exclude"}]
    da, db = daemons(a), daemons(b)
    # A learns B's rule when B's git-annex branch reaches it; a file A adds before that goes to B
    # like any other (as with git-annex itself): this test is about a rule A knows
    b_uuid = git(b, "config", "annex.uuid").strip()
    wait_for(lambda: b_uuid in git(a, "cat-file", "-p", "git-annex:preferred-content.log", check=False),
             what="B's rule in A's git-annex branch")
    (a / "Videos").mkdir()
    (a / "Docs").mkdir()
    (a / "Videos" / "v.bin").write_bytes(b"video")
    (a / "Docs" / "d.txt").write_bytes(b"doc")
    wait_for(lambda: readable(b, "Docs/d.txt", b"doc"), what="Docs content in B")
    wait_for(lambda: in_tree(b, "Videos/v.bin"), what="Videos listed in B")
    wait_for(lambda: da.is_idle() and db.is_idle(), timeout=60,
             what=lambda: f"both idle: A {da.busy_reasons()}, B {db.busy_reasons()}")
    assert not readable(b, "Videos/v.bin", b"video"), "excluded content was downloaded"
    # a plain git-annex clone syncing with --content honours B's rule too (it's on the git-annex branch)
    c = tmp_path / "C"
    git(tmp_path, "clone", "-q", str(a), str(c))
    annex(c, "init", "C")
    git(c, "remote", "add", "b", str(b))
    # B's own pushes may race this sync for a ref lock; a plain sync just runs again
    wait_for(lambda: "sync: 1 failed" not in annex(c, "sync", "--content", check=False, timeout=300),
             timeout=120, what="git annex sync --content to succeed")
    assert "v.bin" not in annex(b, "find", "--in=here", "Videos")


def test_excluding_a_folder_frees_its_space_once_a_copy_is_safe_elsewhere(make_repo, daemons):
    from syncassistant.engine.transfers import rules

    a, b, da, db = pair(make_repo, daemons)
    (a / "Videos").mkdir()
    (a / "Videos" / "v.bin").write_bytes(b"video")
    (a / "Docs.txt").write_bytes(b"doc")
    wait_for(lambda: readable(b, "Videos/v.bin", b"video") and readable(b, "Docs.txt", b"doc"),
             what="both files' content in B")
    rules.add_rule(b, "Videos", "exclude")
    db.sync_now()  # what `syncassistant rule add` and the settings dialog ask of the daemon
    # git-annex swaps the file for its pointer file (not atomically: it is absent for a moment,
    # inside the repository lock, so the committer never sees the gap): the file stays listed
    wait_for(lambda: in_tree(b, "Videos/v.bin") and not readable(b, "Videos/v.bin", b"video"),
             what="B to drop the excluded content, leaving the pointer file")
    assert "Videos/v.bin" in git(b, "ls-files", "Videos"), "the file stays in B's tree"
    assert readable(b, "Docs.txt", b"doc")
    assert annex(a, "find", "--in=here", "Videos").strip() == "Videos/v.bin", "A's copy is untouched"
    # A hears that B no longer has it (location tracking pushed)
    wait_for(lambda: annex(a, "find", "--in=b", "Videos").strip() == "", what="A to learn B dropped it")
    wait_for(lambda: da.is_idle() and db.is_idle(), 60,
             what=lambda: f"both idle: A {da.busy_reasons()}, B {db.busy_reasons()}")
    assert not readable(b, "Videos/v.bin", b"video"), "B fetched the excluded content again"
    assert "Videos/v.bin" in git(a, "ls-files", "Videos") and "Videos/v.bin" in git(b, "ls-files", "Videos")


def test_an_only_copy_is_never_dropped_for_a_rule(make_repo):
    from syncassistant.engine.context import RepoContext
    from syncassistant.engine.transfers import rules
    from syncassistant.engine.transfers.dropper import drop_unwanted

    c = make_repo("C")  # no remote holds a copy
    (c / "Videos").mkdir()
    (c / "Videos" / "only.bin").write_bytes(b"only copy")
    git(c, "annex", "add", "Videos")
    git(c, "commit", "-qm", "only copy")
    rules.add_rule(c, "Videos", "exclude")
    assert drop_unwanted(RepoContext(c)) == []
    assert readable(c, "Videos/only.bin", b"only copy")


def test_unreachable_remote_mid_transfer_then_queue_drains(make_repo, daemons, tmp_path):
    a, b, da, db = pair(make_repo, daemons)
    db.stop()
    da.transfers.set_limit(upload=512 * 1024)
    data = os.urandom(2 * 1024 * 1024)
    (a / "moving.bin").write_bytes(data)
    wait_for(lambda: any(t["state"] == "running" for t in da.transfers.snapshot()), timeout=60)
    moved = tmp_path / "B-away"
    os.rename(b, moved)
    # B's repository left its path: the transfer is stopped and waits for it (no failure, no
    # back-off), and nothing is written where B was (engine/network/remotepaths.py)
    wait_for(lambda: "b" in da.transfers.held()["absent"], 10, what="B to be known away")
    wait_for(lambda: [t["state"] for t in da.transfers.snapshot() if t["path"] == "moving.bin"] == ["queued"],
             10, what=lambda: f"the transfer back in the queue: {da.transfers.snapshot()}")
    assert not os.path.lexists(b)
    os.rename(moved, b)
    da.transfers.set_limit(upload=0)
    # no sync_now: its return is noticed, and the transfer resumes
    wait_for(lambda: annex(a, "find", "--in=b", "moving.bin").strip() == "moving.bin", timeout=90,
             what="queue to drain after B came back")
    assert (b / ".git/annex/objects").exists()
    assert da.transfers.counts()["failed"] == 0


def test_corrupted_source_object_is_rejected_by_checksum(make_repo, daemons):
    a = make_repo("A")
    good = os.urandom(100_000)
    (a / "victim.bin").write_bytes(good)
    git(a, "annex", "add", "victim.bin")
    git(a, "commit", "-qm", "v")
    b = make_repo("B", clone_of=a)
    git(b, "remote", "rename", "origin", "a")
    # the object in A rots on disk (same size, other bytes)
    obj = a / ".git/annex/objects" / annex(a, "examinekey", "--format=${hashdirmixed}${key}/${key}",
                                          annex(a, "lookupkey", "victim.bin").strip()).strip()
    os.chmod(obj.parent, 0o755)
    os.chmod(obj, 0o644)
    obj.write_bytes(os.urandom(len(good)))
    db = daemons(b)
    wait_for(lambda: any(t["state"] == "failed" and t["path"] == "victim.bin" for t in db.transfers.snapshot()),
             60, what="the download to fail verification")
    assert (b / "victim.bin").read_bytes() != good
    assert not annex(b, "find", "--in=here", "victim.bin").strip(), "corrupt content was accepted"


def test_file_url_remote(make_repo, daemons):
    a = make_repo("A")
    b = make_repo("B", clone_of=a)
    git(b, "remote", "remove", "origin")
    git(a, "remote", "add", "b", f"file://{b}")
    git(b, "remote", "add", "a", f"file://{a}")
    daemons(a), daemons(b)
    data = os.urandom(1000)
    (a / "via-file-url.bin").write_bytes(data)
    wait_for(lambda: readable(b, "via-file-url.bin", data), 60, what="content over file://")


@pytest.mark.timeout(900)
def test_thousands_of_queued_transfers_drain(make_repo, daemons):
    a = make_repo("A")
    (a / "many").mkdir()
    for i in range(2000):
        (a / "many" / f"{i}.txt").write_text(str(i))
    git(a, "annex", "add", "many")
    git(a, "commit", "-qm", "many")
    b = make_repo("B", clone_of=a)
    git(b, "remote", "rename", "origin", "a")
    db = daemons(b)
    wait_for(lambda: db.transfers.counts()["done"] >= 2000, 600, what=lambda: f"2000 downloads: {db.transfers.counts()}")
    snap = db.transfers.snapshot()
    assert len(snap) <= 600, "the snapshot (and the UI) must stay bounded"
    assert readable(b, "many/1999.txt", b"1999")


def test_interrupted_upload_over_ssh_resumes(make_repo, daemons, ssh_env):
    a = make_repo("A")
    b = make_repo("B", clone_of=a)
    git(b, "remote", "remove", "origin")
    git(a, "remote", "add", "b", f"ssh://127.0.0.1:{ssh_env['port']}{b}")
    da = daemons(a)
    da.transfers.set_limit(upload=2 * 1024 * 1024)
    data = os.urandom(16 * 1024 * 1024)
    (a / "resume.bin").write_bytes(data)

    def progressed(minimum):
        return [t for t in da.transfers.snapshot() if t["path"] == "resume.bin" and t["state"] == "running"
                and t["bytes_done"] >= minimum]

    t = wait_for(lambda: progressed(4 * 1024 * 1024), 90,
                 what=lambda: f"4 MiB uploaded: {da.transfers.snapshot()} {da.status()['remotes']}")[0]
    assert da.transfers.cancel(t["id"])
    wait_for(lambda: any(x["id"] == t["id"] and x["state"] == "cancelled" for x in da.transfers.snapshot()))
    da.transfers.set_limit(upload=0)
    resumed_at: list[int] = []
    unsubscribe = da.ctx.events.subscribe(
        lambda ev: ev.kind == "transfer" and ev.data.get("state") == "running" and ev.data["bytes_done"] > 0
        and not resumed_at and resumed_at.append(ev.data["bytes_done"]))
    try:
        assert da.transfers.retry(t["id"])
        wait_for(lambda: annex(a, "find", "--in=b", "resume.bin").strip() == "resume.bin", 120,
                 what="the upload to finish")
    finally:
        unsubscribe()
    assert resumed_at and resumed_at[0] >= 3 * 1024 * 1024, f"restarted from scratch: {resumed_at}"


def test_stalled_transfer_is_detected_and_restarted(make_repo, daemons):
    import signal

    from conftest import children

    a = make_repo("A")
    b = make_repo("B", clone_of=a)
    git(b, "remote", "remove", "origin")
    git(a, "remote", "add", "b", str(b))
    da = daemons(a)
    da.transfers.stall_seconds = 3
    da.transfers.set_limit(upload=512 * 1024)
    data = os.urandom(4 * 1024 * 1024)
    (a / "stall.bin").write_bytes(data)
    wait_for(lambda: any(t["state"] == "running" and t["bytes_done"] > 0 for t in da.transfers.snapshot()), 60)
    # hang the git-annex process (as a dead network would): no more progress reports
    pids = [int(c.split(":")[0]) for c in children() if "copy" in c and "--to" in c]
    assert pids
    for pid in pids:
        os.kill(pid, signal.SIGSTOP)
    wait_for(lambda: any("stalled" in (t["error"] or "") for t in da.transfers.snapshot()), 30,
             what="the stall to be noticed")
    da.transfers.set_limit(upload=0)
    wait_for(lambda: annex(a, "find", "--in=b", "stall.bin").strip() == "stall.bin", 60,
             what="the restarted transfer to finish")


def test_receiving_disk_full_fails_clearly_then_drains(make_repo, daemons, tmp_path):
    import subprocess

    if os.geteuid() != 0:
        pytest.skip("needs root to mount a small tmpfs")
    a = make_repo("A")
    mnt = tmp_path / "small"
    mnt.mkdir()
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=150m", "tmpfs", str(mnt)]).returncode:
        pytest.skip("cannot mount tmpfs here")
    try:
        b = mnt / "B"
        git(tmp_path, "clone", "-q", str(a), str(b))
        annex(b, "init", "B")
        git(a, "remote", "add", "b", str(b))
        da = daemons(a)
        data = os.urandom(60 * 1024 * 1024)  # 150 MB disk - 60 MB < git-annex's 100 MB reserve
        (a / "huge.bin").write_bytes(data)
        failed = wait_for(lambda: [t for t in da.transfers.snapshot() if t["state"] == "failed"], 120,
                          what="the upload to fail on the full disk")[0]
        assert "space" in failed["error"], failed["error"]
        assert (a / "huge.bin").read_bytes() == data
        subprocess.run(["mount", "-o", "remount,size=400m", str(mnt)], check=True)
        da.sync_now()
        wait_for(lambda: annex(a, "find", "--in=b", "huge.bin").strip() == "huge.bin", 120,
                 what="the upload after space came back")
    finally:
        subprocess.run(["umount", "-l", str(mnt)])


def test_a_full_disk_is_reported_while_it_lasts_and_syncing_resumes_after(make_repo, daemons, tmp_path):
    # On a full disk commits and merges fail now and then and succeed in between (a small commit
    # fits in what is left), so their own errors come and go; status must say "full" throughout.
    import subprocess

    if os.geteuid() != 0:
        pytest.skip("needs root to mount a small tmpfs")
    a = make_repo("A")
    mnt = tmp_path / "small"
    mnt.mkdir()
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=40m", "tmpfs", str(mnt)]).returncode:
        pytest.skip("cannot mount tmpfs here")
    try:
        b = mnt / "B"
        git(tmp_path, "clone", "-q", str(a), str(b))
        annex(b, "init", "B")
        git(b, "remote", "rename", "origin", "a")
        git(a, "remote", "add", "b", str(b))
        daemons(a)
        db = daemons(b)
        assert "disk" not in db.status()["errors"]
        filler = mnt / "filler"
        st = os.statvfs(mnt)
        with open(filler, "wb") as f:  # room left for the user's save, not for much else
            with contextlib.suppress(OSError):
                f.write(b"\0" * (st.f_bavail * st.f_frsize - 256 * 1024))
        (b / "on-full-disk.txt").write_text("written while the disk was full\n")
        err = wait_for(lambda: db.status()["errors"].get("disk"), 10, "the disk error")
        assert "full" in err, err
        deadline = time.monotonic() + 3  # every status while it is full says so, not only now and then
        while time.monotonic() < deadline:
            assert db.status()["errors"].get("disk")
        filler.unlink()
        wait_for(lambda: "disk" not in db.status()["errors"], 10, "the disk error to clear")
        wait_for(lambda: (a / "on-full-disk.txt").exists(), 60, "B's edit in A")
        wait_for(lambda: (a / "on-full-disk.txt").read_text() == "written while the disk was full\n", 60,
                 "its content in A")
    finally:
        subprocess.run(["umount", "-l", str(mnt)])
