"""Start-up in proportion to what changed (issue 17): a restart catches up from the content scan
it recorded (transfers/scanstate.py) instead of asking git-annex about every file again."""

from __future__ import annotations

import os
from pathlib import Path

from conftest import annex, git, link, wait_for

from syncassistant.engine.daemon import Daemon
from syncassistant.engine.transfers import scanstate


def readable(repo: Path, rel: str, data: bytes) -> bool:
    try:
        return (repo / rel).read_bytes() == data
    except OSError:
        return False


def synced_pair(make_repo, daemons, files: dict[str, bytes]) -> tuple[Path, Path, Daemon, Daemon]:
    """A and B, each the other's remote, daemons running, `files` made in A and readable in B."""
    a = make_repo("A")
    b = make_repo("B", clone_of=a)
    git(b, "remote", "remove", "origin")
    link(a, b, "b", "a")
    da, db = daemons(a), daemons(b)
    for rel, data in files.items():
        (a / rel).parent.mkdir(parents=True, exist_ok=True)
        (a / rel).write_bytes(data)
    wait_for(lambda: all(readable(b, r, d) for r, d in files.items()), timeout=90, what="the files in B")
    wait_for(lambda: da.is_idle() and db.is_idle(), timeout=60,
             what=lambda: f"idle: A {da.busy_reasons()} B {db.busy_reasons()}")
    return a, b, da, db


def restart(daemons, d: Daemon) -> Daemon:
    d.stop()
    return daemons(d.root)


def test_a_restart_with_nothing_changed_scans_nothing(make_repo, daemons, monkeypatch):
    from syncassistant.engine.transfers import manager

    monkeypatch.setattr(manager, "CHECKPOINT_AFTER", 0.5)  # (60 s in use)
    files = {f"docs/f{i}.txt": os.urandom(40) for i in range(5)}
    a, b, da, db = synced_pair(make_repo, daemons, files)
    assert da.transfers.full_scans == 1  # the first start has no record: it looks at everything
    assert (a / ".git/syncassistant" / scanstate.STATE_FILE).exists()
    # once quiet, a catch-up records what the uploads since the start did
    wait_for(lambda: da.transfers.catch_ups >= 1 and da.is_idle(), timeout=30,
             what=lambda: f"A's checkpoint: {da.busy_reasons()}")
    assert da.transfers.last_catch_up.paths == [f"docs/f{i}.txt" for i in range(5)]
    da = restart(daemons, da)
    wait_for(lambda: da.transfers.last_catch_up is not None and da.is_idle(), timeout=60,
             what=lambda: f"A's catch-up: {da.busy_reasons()}")
    assert da.transfers.full_scans == 0
    assert da.transfers.catch_ups == 1
    assert da.transfers.last_catch_up.paths == []


def test_changes_made_while_the_daemon_was_off_sync_after_a_restart(make_repo, daemons):
    files = {"keep.txt": b"keep", "edit.txt": b"before", "gone.txt": b"gone"}
    a, b, da, db = synced_pair(make_repo, daemons, files)
    da.stop()
    (a / "edit.txt").write_bytes(b"after the edit")
    (a / "new.txt").write_bytes(b"added while off")
    (a / "gone.txt").unlink()
    da = daemons(a)
    wait_for(lambda: readable(b, "edit.txt", b"after the edit") and readable(b, "new.txt", b"added while off")
             and not os.path.lexists(b / "gone.txt"), timeout=60,
             what=lambda: f"B to have the three changes: {sorted(p.name for p in b.iterdir())}")
    assert da.transfers.full_scans == 0
    assert readable(b, "keep.txt", b"keep")


def test_content_lost_by_a_remote_while_off_is_sent_again(make_repo, daemons, monkeypatch):
    # Nothing in the tree changed, only a location log: B lost a file's content (dropped by
    # hand, with --force) and told A through the git-annex branch while A's daemon was off.
    # The old start-up found this by asking about every file; the catch-up finds the key in
    # the git-annex branch's changes.
    from syncassistant.engine.transfers import manager

    monkeypatch.setattr(manager, "CHECKPOINT_AFTER", 0.5)
    files = {f"f{i}.txt": os.urandom(30) for i in range(4)}
    a, b, da, db = synced_pair(make_repo, daemons, files)
    wait_for(lambda: da.transfers.catch_ups >= 1 and da.is_idle(), timeout=30, what="A's checkpoint")
    da.stop()
    db.stop()
    annex(b, "drop", "--force", "f2.txt")
    assert "f2.txt" not in annex(b, "find", "--in=here")
    git(b, "push", "-q", "a", "git-annex:synced/git-annex")
    da = daemons(a)
    wait_for(lambda: "f2.txt" in annex(b, "find", "--in=here"), timeout=60,
             what=lambda: f"B to have f2.txt again; A's catch-up {da.transfers.last_catch_up}")
    caught = da.transfers.last_catch_up
    assert da.transfers.full_scans == 0
    assert caught.changed_files == 0 and caught.looked_up >= 1 and caught.paths == ["f2.txt"], caught


def test_a_record_from_other_remotes_means_a_full_scan(make_repo, daemons):
    files = {"one.txt": b"one"}
    a, b, da, db = synced_pair(make_repo, daemons, files)
    da.stop()
    c = make_repo("C", clone_of=a)
    git(c, "remote", "remove", "origin")
    link(a, c, "c")
    da = daemons(a)
    # C is new to A's record: what C lacks was never asked, so everything is looked at
    wait_for(lambda: "one.txt" in annex(c, "find", "--in=here"), timeout=60, what="C to get one.txt")
    assert da.transfers.full_scans == 1, da.transfers.last_catch_up
