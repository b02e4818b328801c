"""Many clones (issue 17, bench/bench_devices.py): a change reaches every clone of a chain or a
mesh of real daemons without a push storm, and the network is idle afterwards."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import assert_idle_cpu, git, in_tree, link, wait_for


def _commit_file(repo: Path, name: str, text: str) -> str:
    (repo / name).write_text(text)
    git(repo, "annex", "add", name)
    git(repo, "commit", "-qm", f"add {name}")
    return git(repo, "rev-parse", "HEAD").strip()


def _ref(repo: Path, ref: str) -> str | None:
    out = git(repo, "for-each-ref", "--format=%(objectname)", ref).strip()
    return out or None


def test_a_remote_that_holds_our_commits_gets_no_push(make_repo):
    # A merge sent back to the clone it came from (or a commit a third clone already brought) made
    # a push and a merge there for nothing; in a 20-clone mesh every change echoed that way.
    from syncassistant.engine.context import RepoContext
    from syncassistant.engine.sync.pusher import Pusher

    a = make_repo("A")
    b = make_repo("B", clone_of=a)
    git(b, "remote", "rename", "origin", "a")
    link(a, b, "b")
    head = _commit_file(a, "new.txt", "from A\n")
    first = Pusher(RepoContext(a), fetch_and_merge=lambda remote: None)
    first.refresh_remotes()
    assert first.push_remote("b").ok and first.pushes == 1
    assert _ref(b, "refs/heads/synced/master") == head
    # B merges what A pushed, as its daemon or `git annex sync` would
    git(b, "merge", "-q", "--ff-only", "synced/master")
    git(b, "annex", "merge")
    # A, not knowing what it pushed before (a restarted daemon): B holds it all, nothing to push
    again = Pusher(RepoContext(a), fetch_and_merge=lambda remote: None)
    again.refresh_remotes()
    assert again.push_remote("b").ok and again.pushes == 0
    # B's way back: A has B's branch (its own commit), not B's git-annex merge: only that goes
    back = Pusher(RepoContext(b), fetch_and_merge=lambda remote: None)
    back.refresh_remotes()
    out = back.push_remote("a")
    assert out.ok and back.pushes == 1, out
    assert "refs/heads/synced/git-annex" in out.refs and "refs/heads/synced/master" not in out.refs, out.refs
    assert _ref(a, "refs/heads/synced/master") is None
    # a new commit in B is not in A: pushed
    newer = _commit_file(b, "from-b.txt", "from B\n")
    assert back.push_remote("a").ok and _ref(a, "refs/heads/synced/master") == newer


def test_git_annex_only_pushes_wait_for_the_coalescing_window(make_repo):
    # Location-log updates (one per upload at each end) each made a push to every remote; the
    # push loop now holds a push with nothing new but the git-annex branch until ANNEX_COALESCE
    # after the last push there. A new commit on the branch is never held.
    from syncassistant.engine.context import RepoContext
    from syncassistant.engine.sync.pusher import Pusher

    a = make_repo("A")
    b = make_repo("B", clone_of=a)
    git(b, "remote", "remove", "origin")
    link(a, b, "b")
    pusher = Pusher(RepoContext(a), fetch_and_merge=lambda remote: None)
    pusher.refresh_remotes()
    _commit_file(a, "one.txt", "1\n")
    assert pusher.push_remote("b", coalesce=True).ok and pusher.pushes == 1
    annex_before = _ref(b, "refs/heads/synced/git-annex")
    git(a, "annex", "describe", "here", "A, described again")  # a commit on the git-annex branch alone
    assert _ref(a, "refs/heads/git-annex") != annex_before
    held = pusher.push_remote("b", coalesce=True)
    assert held.ok and held.hold_until is not None and pusher.pushes == 1, held
    assert _ref(b, "refs/heads/synced/git-annex") == annex_before
    # called directly (not the loop: tests, a sync asked for by the user) nothing waits
    assert pusher.push_remote("b").ok and pusher.pushes == 2
    assert _ref(b, "refs/heads/synced/git-annex") == _ref(a, "refs/heads/git-annex")
    git(a, "annex", "describe", "here", "A, and again")
    head = _commit_file(a, "two.txt", "2\n")
    out = pusher.push_remote("b", coalesce=True)
    assert out.ok and out.hold_until is None and _ref(b, "refs/heads/synced/master") == head, out


def _network(make_repo, daemons, n: int, edges: list[tuple[int, int]]) -> tuple[list[Path], list]:
    repos = [make_repo("c0")]
    for i in range(1, n):
        repos.append(make_repo(f"c{i}", clone_of=repos[0]))
        git(repos[i], "remote", "remove", "origin")
    for i, j in edges:
        link(repos[i], repos[j], f"c{j}", f"c{i}")
    ds = [daemons(r) for r in repos]
    wait_for(lambda: all(d.is_idle() for d in ds), 240,
             lambda: f"all idle after start: {[d.busy_reasons() for d in ds]}")
    return repos, ds


@pytest.mark.parametrize("topology, bound", [
    # Measured on the loaded 2-core machine (2026-12-06, the same in-process set-up): a 5-clone
    # chain made 22-36 pushes for one new file before coalescing and the "already there" check,
    # 15-20 after; a mesh 33-39 before, 28-29 after. The bounds leave room for a slow machine's
    # timing; a storm is hundreds.
    ("chain", 25),
    ("mesh", 36),
])
def test_a_new_file_reaches_every_clone_without_a_push_storm(make_repo, daemons, topology, bound):
    n = 5
    edges = [(i, i + 1) for i in range(n - 1)] if topology == "chain" else \
        [(i, j) for i in range(n) for j in range(i + 1, n)]
    repos, ds = _network(make_repo, daemons, n, edges)
    before = sum(d.pusher.pushes for d in ds)
    (repos[0] / "new.txt").write_text("one new file\n")
    wait_for(lambda: all(in_tree(r, "new.txt") for r in repos), 120,
             lambda: f"new.txt in every clone: {[in_tree(r, 'new.txt') for r in repos]}")
    # and its content (routed along the network), and every clone idle again
    wait_for(lambda: all((r / "new.txt").read_text() == "one new file\n" for r in repos[1:])
             and all(d.is_idle() for d in ds), 180,
             lambda: f"content everywhere, all idle: {[d.busy_reasons() for d in ds]}")
    pushes = sum(d.pusher.pushes for d in ds) - before
    assert pushes <= bound, f"{pushes} pushes for one new file in a {n}-clone {topology}"
    # every clone knows where the content is: the last clone's git-annex branch reached the first
    uuids = [git(r, "config", "annex.uuid").strip() for r in repos]
    wait_for(lambda: all(u in git(repos[0], "annex", "whereis", "--json", "new.txt") for u in uuids), 60,
             "every clone's copy known in c0")
    assert_idle_cpu(what=f"a {n}-clone {topology} after one change")
