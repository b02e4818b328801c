"""Interoperability with real git-annex: a `git annex sync` clone and a `git annex assistant` clone."""

from __future__ import annotations

import os
import subprocess

from conftest import annex, git, in_tree, link, wait_for


def test_plain_git_annex_sync_both_ways(make_repo, daemons, tmp_path):
    a = make_repo("A")
    plain = tmp_path / "plain"
    git(tmp_path, "clone", "-q", str(a), str(plain))
    annex(plain, "init", "plain")
    git(a, "remote", "add", "plain", str(plain))
    da = daemons(a)
    (a / "ours.txt").write_text("from our daemon")
    wait_for(lambda: "ours.txt" in git(a, "ls-files"), what="commit in A")
    wait_for(da.is_idle, 60)
    annex(plain, "sync", "--content", timeout=300)
    assert (plain / "ours.txt").read_text() == "from our daemon"
    (plain / "theirs.txt").write_text("from git annex sync")
    annex(plain, "add", "theirs.txt")
    annex(plain, "sync", "--content", timeout=300)  # pushes to A's synced/master
    wait_for(lambda: in_tree(a, "theirs.txt"), what="plain sync's file in A")
    wait_for(lambda: (a / "theirs.txt").read_text() == "from git annex sync", 60, what="content in A")


def test_git_annex_assistant_both_ways(make_repo, daemons, tmp_path):
    a = make_repo("A")
    b = tmp_path / "B"
    git(tmp_path, "clone", "-q", str(a), str(b))
    annex(b, "init", "B-assistant")
    git(b, "remote", "remove", "origin")
    link(a, b, "b", "a")
    annex(b, "sync", timeout=300)
    da = daemons(a)
    env = dict(os.environ)
    proc = subprocess.Popen(["git", "annex", "assistant", "--foreground"], cwd=b, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        wait_for(lambda: (b / ".git/annex/daemon.pid").exists(), 60, what="assistant to start")
        data_a = os.urandom(64)
        (a / "from-ours.bin").write_bytes(data_a)
        wait_for(lambda: in_tree(b, "from-ours.bin"), 60, what="our file in the assistant's clone")
        data_b = os.urandom(64)
        (b / "from-assistant.bin").write_bytes(data_b)
        wait_for(lambda: in_tree(a, "from-assistant.bin"), 90, what="the assistant's file in ours")
        wait_for(lambda: (a / "from-assistant.bin").read_bytes() == data_b, 90, what="its content in ours")
        wait_for(lambda: (b / "from-ours.bin").read_bytes() == data_a, 90, what="our content there")
        assert da.conflicts.open_conflicts() == []
    finally:
        subprocess.run(["git", "annex", "assistant", "--stop"], cwd=b, timeout=60, capture_output=True)
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, 9)
            proc.wait()
