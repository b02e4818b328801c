"""Long-lived and pre-started git-annex processes (engine/proc/annex_batch.py) on real repositories."""

from __future__ import annotations

import json
import os

from conftest import annex, git, wait_for

from syncassistant.engine.proc.annex_batch import WarmPool
from syncassistant.engine.sync.committer import add_batch
from syncassistant.engine.transfers.manager import transfer_batch


def _result(batch) -> dict:
    """Read past progress lines to the result of one input."""
    while True:
        line = batch.read_line(60)
        assert line, "git-annex exited or said nothing for 60 s"
        if line.strip():
            rec = json.loads(line)
            if "success" in rec:
                return rec
        else:
            return {}  # skipped


def test_upload_process_serves_files_added_after_it_started(make_repo):
    # git-annex given *names* by a long-lived `copy --batch` answered "skipped" from the third
    # file added after it started; fed keys, every file goes
    a = make_repo("A")
    b = make_repo("B", clone_of=a)
    git(a, "remote", "add", "b", str(b))
    annex(a, "sync", "--no-content", "b")
    batch = transfer_batch(a, "upload", "b")
    try:
        keys = []
        for i in range(5):
            (a / f"f{i}.bin").write_bytes(os.urandom(100))
            key = json.loads(annex(a, "add", "--json", f"f{i}.bin"))["key"]
            git(a, "commit", "-q", "-m", f"f{i}")
            batch.send(key)
            rec = _result(batch)
            assert rec.get("success"), f"file {i} not sent: {rec or 'skipped'}"
            keys.append(key)
    finally:
        batch.close()
    for key in keys:
        assert annex(b, "contentlocation", key).strip(), f"{key} missing in B"


def test_warm_add_stages_each_file_before_answering(make_repo):
    a = make_repo("A")
    batch = add_batch(a)
    try:
        for name in ["plain.txt", "with space.txt", "ünïcode.txt", "-leading-dash.txt"]:
            (a / name).write_text(name)
            batch.send(name)
            rec = _result(batch)
            assert rec.get("success") and rec.get("key"), rec
            # staged by the time it answered: the commit that follows takes it
            staged = git(a, "diff", "--cached", "--name-only", "-z").split("\0")
            assert name in staged
        (a / "folder").mkdir()
        batch.send("folder")
        assert _result(batch) == {}  # a folder is skipped: the committer sends folders elsewhere
    finally:
        batch.close()


def test_warm_pool_hands_out_once_and_drops_stale_processes(make_repo):
    a = make_repo("A")
    config = a / ".git" / "config"
    past = config.stat().st_mtime - 60
    os.utime(config, (past, past))  # make_repo has just written it
    pool = WarmPool(a, lambda _key: add_batch(a), limit=1)
    try:
        pool.fill(["add"])
        first = pool.take("add")
        assert first is not None and pool.take("add") is None
        first.close()
        pool.fill(["add"])
        # a process that read the configuration before it changed is not handed out
        git(a, "config", "remote.x.url", "/nowhere")
        os.utime(a / ".git" / "config")
        assert pool.take("add") is None
    finally:
        pool.close()


def test_location_tracking_of_an_added_file_is_committed_once_idle(make_repo, daemons):
    a = make_repo("A")
    da = daemons(a)
    wait_for(da.is_idle, 60, what="A idle at start")
    (a / "new.txt").write_text("hello")
    wait_for(lambda: "new.txt" in git(a, "ls-files"), 30, what="new.txt committed")
    wait_for(da.is_idle, 60, what=lambda: f"A idle: {da.busy_reasons()}")
    journal = a / ".git" / "annex" / "journal"
    assert not journal.exists() or not os.listdir(journal)  # committed to the git-annex branch
    uuid_a = git(a, "config", "annex.uuid").strip()
    key = annex(a, "lookupkey", "new.txt").strip()
    assert uuid_a in annex(a, "whereis", "--json", "--key", key)


def test_download_grace_only_for_peers_that_may_be_uploading(make_repo, tmp_path):
    # a clone with a work tree may be sending us the content right now (its daemon uploads on
    # commit): wait a moment before downloading from it; a bare repository or an ssh server
    # sends nothing by itself: download at once
    from syncassistant.engine.context import RepoContext
    from syncassistant.engine.transfers.manager import TransferManager
    a = make_repo("A")
    b = make_repo("B", clone_of=a)
    bare = tmp_path / "bare.git"
    git(tmp_path, "init", "-q", "--bare", str(bare))
    git(a, "remote", "add", "peer", str(b))
    git(a, "remote", "add", "server", str(bare))
    git(a, "remote", "add", "far", "ssh://user@example.invalid/srv/annex")
    queue = TransferManager(RepoContext(a), on_location_change=lambda: None)
    assert queue._peer_may_upload("peer")
    assert not queue._peer_may_upload("server")
    assert not queue._peer_may_upload("far")
    assert not queue._peer_may_upload("missing")


def test_warm_pool_gives_back_a_process_left_unused(make_repo):
    a = make_repo("A")
    config = a / ".git" / "config"
    past = config.stat().st_mtime - 60
    os.utime(config, (past, past))
    pool = WarmPool(a, lambda _key: add_batch(a), limit=1, max_idle=0.5)
    try:
        pool.fill(["add"])
        [batch] = pool._ready.values()
        wait_for(lambda: not batch.alive() and not pool.keys(), 30, what="the unused process closed")
        assert pool.take("add") is None
        pool.fill(["add"])  # the next round starts one again
        assert pool.keys() == ["add"]
    finally:
        pool.close()
