"""Pushing to every remote in parallel, the way `git annex sync` does.

`<branch>` goes to the remote's `synced/<branch>` and `git-annex` to `synced/git-annex`, so any
git-annex clone (plain `git annex sync`, the assistant, or ours) merges them. A push that fails
is retried with back-off (BACKOFF_START doubling to BACKOFF_MAX), and at once when there is a
sign the remote is back. A push rejected as not up to date fetches, merges and pushes again.
"""

from __future__ import annotations

import logging
import os
import random
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from ..context import RepoContext
from ..network import netmap_store, sshmux
from ..proc.git import GitError, GitTimeout
from . import annex_branch

log = logging.getLogger(__name__)

PUSH_TIMEOUT = 120.0
BACKOFF_START = 3.0
BACKOFF_MAX = 60.0
MAX_REJECT_ROUNDS = 5


@dataclass
class RemoteState:
    name: str
    last_sync: float | None = None
    last_error: str | None = None
    failures: int = 0
    next_retry: float | None = None  # wall-clock time
    pushed: tuple[str | None, ...] = (None, None, None)  # trees of (branch, git-annex, netmap) last pushed
    pushed_head: str | None = None  # the branch commit last pushed (see Pusher._behind)
    offline: bool = False  # known to be away (unmounted drive); not an error

    def as_dict(self) -> dict:
        return {"name": self.name, "last_sync": self.last_sync, "error": self.last_error,
                "failures": self.failures, "next_retry": self.next_retry, "offline": self.offline}


@dataclass
class PushOutcome:
    ok: bool
    rejected: bool = False
    error: str | None = None
    refs: list[str] = field(default_factory=list)


class Pusher:
    """Push loop. `fetch_and_merge(remote)` is called (from a push thread) on a rejected push."""

    def __init__(self, ctx: RepoContext, fetch_and_merge: Callable[[str], None],
                 remote_filter: Callable[[str], bool] = lambda name: True):
        self.ctx = ctx
        self.fetch_and_merge = fetch_and_merge
        self.remote_filter = remote_filter
        self.remotes: dict[str, RemoteState] = {}
        self._cond = threading.Condition()
        self._wanted: set[str] = set()  # remotes with a push requested
        self._force: set[str] = set()
        self._running: set[str] = set()
        self._pool = ThreadPoolExecutor(max_workers=8, thread_name_prefix=f"syncassistant-push-{ctx.root.name}")
        self._thread = threading.Thread(target=self._loop, name=f"syncassistant-pusher-{ctx.root.name}",
                                        daemon=True)
        self.pushes = 0
        self.on_remote_back: Callable[[str], None] = lambda name: None

    # -- requests ------------------------------------------------------------------------------
    def refresh_remotes(self) -> list[str]:
        names = [n for n in self.ctx.git.remotes() if self.remote_filter(n)]
        with self._cond:
            for n in names:
                self.remotes.setdefault(n, RemoteState(n))
            for n in list(self.remotes):
                if n not in names:
                    del self.remotes[n]
        return names

    def request(self, remotes: list[str] | None = None, force: bool = False) -> None:
        """Ask for a push to these remotes (all by default); failing remotes wait for their retry
        time unless `force` (a sign the remote is back)."""
        names = self.refresh_remotes() if remotes is None else remotes
        with self._cond:
            for n in names:
                if n not in self.remotes:
                    continue
                st = self.remotes[n]
                if st.offline and (remotes is None or not force):
                    continue  # an unplugged drive: only set_offline(n, False) or retry_now(n) brings it back
                if force:
                    # a failing remote is retried now; its status keeps saying when (now), not None
                    st.next_retry = time.time() if st.failures else None
                    st.offline = False
                    self._force.add(n)
                self._wanted.add(n)
            self._cond.notify_all()

    def retry_now(self, remote: str | None = None) -> None:
        self.request(None if remote is None else [remote], force=True)

    def retry_failing(self) -> None:
        """Retry now the remotes whose last push failed (not the healthy ones: a forced push
        skips the "nothing new" check, and two clones forcing each other on every incoming push
        sent twin merge commits back and forth for minutes)."""
        with self._cond:
            names = [n for n, st in self.remotes.items() if st.failures and not st.offline]
        if names:
            self.request(names, force=True)

    def retry_if_failing(self, remote: str) -> None:
        """The remote is back (its repository at its path again): push now if its pushes were
        failing, rather than at the end of its back-off."""
        with self._cond:
            st = self.remotes.get(remote)
            failing = st is not None and st.failures and not st.offline
        if failing:
            self.request([remote], force=True)

    def set_offline(self, remote: str, offline: bool) -> None:
        with self._cond:
            st = self.remotes.get(remote)
            if st:
                st.offline = offline
                if offline:
                    st.next_retry = None
                    self._wanted.discard(remote)

    def snapshot(self) -> list[dict]:
        with self._cond:
            return [st.as_dict() for st in self.remotes.values()]

    def in_sync(self, remote: str) -> bool | None:
        """Has `remote` got this clone's branch and git-annex branch as they are now (the trees
        last pushed there without error, the remote not away)? None: not one we push to."""
        with self._cond:
            st = self.remotes.get(remote)
            if st is None:
                return None
            if st.last_error or st.offline:
                return False
            pushed = st.pushed[:2]
        heads = self._heads(f"refs/heads/{self.ctx.branch}", "refs/heads/git-annex")
        return pushed == tuple(heads.get(ref, (None, None, 0))[1]
                               for ref in (f"refs/heads/{self.ctx.branch}", "refs/heads/git-annex"))

    def busy(self) -> bool:
        with self._cond:
            due = [n for n in self._wanted if self._due(self.remotes.get(n)) and not self.remotes[n].offline]
            return bool(due or self._running)

    def start(self) -> None:
        self.refresh_remotes()
        self._thread.start()

    def stop(self) -> None:
        with self._cond:
            self._cond.notify_all()
        self._thread.join(30)
        self._pool.shutdown(wait=True, cancel_futures=True)

    # -- loop -----------------------------------------------------------------------------------
    def _due(self, st: RemoteState | None) -> bool:
        return st is not None and (st.next_retry is None or st.next_retry <= time.time())

    def _loop(self) -> None:
        ctx = self.ctx
        while True:
            with self._cond:
                while True:
                    if ctx.stopping.is_set():
                        return
                    ready = [] if ctx.paused.is_set() else [
                        n for n in self._wanted if n not in self._running and self._due(self.remotes.get(n))
                        and not self.remotes[n].offline]
                    if ready:
                        break
                    waits = [st.next_retry - time.time() for n, st in self.remotes.items()
                             if n in self._wanted and st.next_retry and n not in self._running]
                    self._cond.wait(max(0.05, min(waits)) if waits and not ctx.paused.is_set() else None)
                for n in ready:
                    self._wanted.discard(n)
                    self._running.add(n)
            for n in ready:
                self._pool.submit(self._push_one, n)

    def _push_one(self, name: str) -> None:
        try:
            outcome = self.push_remote(name)
        except Exception as e:  # never let a push thread die silently
            log.exception("push to %s crashed", name)
            outcome = PushOutcome(False, error=str(e))
        cloud = not outcome.ok and (self.ctx.git.config_get(f"remote.{name}.url") or "").startswith("annex::")
        with self._cond:
            self._running.discard(name)
            self._force.discard(name)
            st = self.remotes.get(name)
            came_back = bool(st and outcome.ok and st.failures)
            went_away = bool(st and st.offline and not outcome.ok)  # unplugged while pushing
            if went_away:
                st.next_retry = None
            elif st is not None:
                if outcome.ok:
                    st.last_sync, st.last_error, st.failures, st.next_retry = time.time(), None, 0, None
                else:
                    st.failures += 1
                    delay = min(BACKOFF_MAX, BACKOFF_START * 2 ** (st.failures - 1))
                    if cloud:
                        # Jitter: two clones whose pushes to one cloud remote collided (git-remote-annex
                        # has no lock; both fail) would otherwise retry in step and collide again.
                        delay *= random.uniform(0.5, 1.5)
                    st.last_error = outcome.error
                    st.next_retry = time.time() + delay
                    self._wanted.add(name)
            self._cond.notify_all()
        if came_back:
            self.on_remote_back(name)
        if outcome.ok:
            if outcome.refs:
                self.ctx.emit("pushed", remote=name, refs=outcome.refs)
        elif went_away:
            log.info("%s: push to %s stopped: it went offline", self.ctx.root, name)
        else:
            log.warning("%s: push to %s failed (retry in %.0f s): %s", self.ctx.root, name,
                        (st.next_retry - time.time()) if st and st.next_retry else 0, outcome.error)
            self.ctx.emit("push-failed", remote=name, error=outcome.error)

    # -- one push ------------------------------------------------------------------------------
    def push_remote(self, name: str) -> PushOutcome:
        """Push to one remote; on 'not up to date' fetch, merge and push again.

        Pushed to by many at once (a clone that is the hub of a star of devices), a remote's
        synced/ branches change under every pusher: each is rejected, fetches, merges, is
        rejected again. With 20 clones that went on for minutes after one new file (601
        pushes, most of them rejected, bench_devices.py). A clone that another daemon runs
        merges whatever reaches it, so after one rejected retry it is given our branches under
        refs of our own, refs/synced/<our annex.uuid>/<branch>, which no one else writes (the
        git-annex assistant's "tagged push"; git-annex merges every ref ending in /git-annex,
        and our Merger and the assistant merge refs/synced/*). A bare remote, or one nobody
        runs a daemon on, merges nothing: there the retries go on as before."""
        for round_ in range(MAX_REJECT_ROUNDS):
            if round_ >= 2:
                if round_ == 2 and self._live_clone(name):
                    return self._push_once(name, tagged=True)
                # Two clones pushing to one server at once keep rejecting each other (each merge
                # and push makes the other's push stale): step aside for a random moment.
                time.sleep(random.uniform(0.05, 0.4 * round_))
            outcome = self._push_once(name)
            if not outcome.rejected:
                return outcome
            log.info("%s: push to %s rejected as not up to date: fetch, merge, push again",
                     self.ctx.root, name)
            try:
                self.fetch_and_merge(name)
            except GitError as e:
                return PushOutcome(False, error=f"fetch after rejected push failed: {e}")
        return PushOutcome(False, error="push still rejected after fetching and merging")

    def _push_once(self, name: str, tagged: bool = False) -> PushOutcome:
        ctx = self.ctx
        branch = ctx.branch
        # One git call for the refs and their trees, one for the remote's settings: this runs
        # before every push, on the path from a commit to the other device.
        heads = self._heads(f"refs/heads/{branch}", "refs/heads/git-annex", netmap_store.REF)
        b_sha, b_tree, _ = heads.get(f"refs/heads/{branch}", (None, None, 0))
        a_sha, a_tree, a_parents = heads.get("refs/heads/git-annex", (None, None, 0))
        n_sha, n_tree, _ = heads.get(netmap_store.REF, (None, None, 0))
        # Compare trees, not commits: two clones that merge each other's pushes at the same
        # moment make different merge commits of the same tree, and pushing those back and forth
        # would repeat forever. Same trees = nothing new for the remote, unless the remote is
        # known to have moved on to another tree without our HEAD (see _behind).
        trees = (b_tree, a_tree, n_tree)
        with self._cond:
            st = self.remotes.get(name)
            settled = st is not None and st.last_error is None and name not in self._force
            maybe_same = settled and st.pushed[::2] == trees[::2]
            last_head = st.pushed_head if st is not None else None
        behind = bool(maybe_same and b_sha and b_tree and self._behind(name, b_sha, b_tree, last_head))
        if settled and st.pushed == trees and not behind and not tagged:
            return PushOutcome(True)
        with self._cond:
            # A merge's git-annex tree can differ from the last one pushed in the order of lines
            # only, and would then flip on every merge (annex_branch says why): nothing new either.
            last_annex = st.pushed[1] if maybe_same and not behind else None
        if last_annex and a_tree and a_parents > 1 and annex_branch.same_lines(ctx.git, last_annex, a_tree):
            with self._cond:
                st.pushed = trees
            log.debug("%s: git-annex branch for %s only reordered by a merge: not pushed", ctx.root, name)
            return PushOutcome(True)
        conf = ctx.git.config_get_regexp(r"^remote\.")  # (exact keys below: names need no escaping)
        url = conf.get(f"remote.{name}.url", "")
        cloud = url.startswith("annex::")
        # git-remote-annex (10.20261026) bundles what it pushes with `git bundle create`, which
        # takes ref names only: a commit id as the source made "Refusing to create empty bundle"
        # and a push that exits 0 having changed nothing. So a cloud remote gets our refs by
        # name (what they point to by then, maybe newer than the trees compared above).
        b_src, a_src, n_src = ((f"refs/heads/{branch}", "refs/heads/git-annex", netmap_store.REF) if cloud
                               else (b_sha, a_sha, n_sha))
        refspecs = []
        if b_sha:
            refspecs.append(f"{b_src}:refs/heads/synced/{branch}")
        if a_sha:
            refspecs.append(f"{a_src}:refs/heads/synced/git-annex")
        if n_sha:
            refspecs.append(f"{n_src}:{netmap_store.SYNCED_REF}")
        if b_sha and (cloud or self._is_local_bare(url)):
            # (a cloud remote holds the branch itself too: a clone made from it checks it out)
            refspecs.append(f"{b_src}:refs/heads/{branch}")
        if tagged:
            uuid = ctx.annex.uuid()
            if not uuid:
                return PushOutcome(False, rejected=True, error="not up to date (no annex.uuid for a tagged push)")
            # ours alone: forced, never rejected (a ref of ours the remote has merged is in its history)
            refspecs = ["+" + spec.replace(":refs/heads/synced/", f":refs/synced/{uuid}/")
                        for spec in refspecs if ":refs/heads/synced/" in spec]
        if not refspecs:
            return PushOutcome(True)
        # A remote on a local path: only into its own repository. Another one mounted where it
        # was would take our refs; nothing there is refused by git itself, with a vaguer reason.
        problem = ctx.remote_paths.problem(name)
        if problem is not None:
            return PushOutcome(False, error=problem)
        t0 = time.monotonic()
        # ssh remotes: open the host's shared connection first (or find it open), one caller at
        # a time, so pushes, fetches and transfers starting together do not each open one
        # (the repository's ssh command, core.sshCommand included, with this remote's
        # annex-ssh-options: the same command git-annex uses for its transfers to it)
        ssh = ctx.git.ssh(name)
        error = sshmux.connect(conf.get(f"remote.{name}.pushurl") or url, ssh)
        if error:
            return PushOutcome(False, error=error)
        try:
            res = ctx.git.run("push", "--porcelain", "--no-verify", name, *refspecs,
                              timeout=PUSH_TIMEOUT, check=False, env=ssh.env)
        except GitTimeout as e:
            return PushOutcome(False, error=str(e))
        rejected, failed, done = parse_porcelain(res.stdout)
        if cloud and "Push failed" in res.stderr:  # (git-remote-annex: git push may still exit 0)
            return PushOutcome(False, error=first_error(res.stderr) or "git-remote-annex: push failed")
        if res.returncode != 0 and not rejected and not done:
            log.debug("push to %s: %s %s", name, res.stdout, res.stderr)
            return PushOutcome(False, error=first_error(res.stderr) or f"git push exit {res.returncode}")
        if failed:
            return PushOutcome(False, error=f"refused: {', '.join(failed)}")
        if rejected:
            return PushOutcome(False, rejected=True, error="not up to date")
        self.pushes += 1
        with self._cond:
            if st:
                st.pushed = trees
                st.pushed_head = b_sha
        log.debug("%s: pushed to %s in %.0f ms: %s", ctx.root, name, (time.monotonic() - t0) * 1000, done)
        return PushOutcome(True, refs=done)

    def _behind(self, name: str, head: str, tree: str, last_pushed: str | None) -> bool:
        """The remote may sit on another tree than ours without our HEAD: a commit of its that
        we merged (its push to our synced/ branch, or what we fetched from it) has another tree
        than our HEAD, and is not in what we last pushed there.

        "Same trees as last pushed, nothing new" is not enough: a merge of theirs can give
        exactly the tree we pushed before (a conflict resolved our way, a twin), while they
        moved on. We then pushed nothing, they had nothing new to merge, and both stayed idle
        on different trees (bench/README.md, finding 10). Twin merge commits of one tree do not
        count (that ping-pong is what the tree comparison is for)."""
        branch = self.ctx.branch
        theirs = self._heads(f"refs/heads/synced/{branch}", f"refs/remotes/{name}/synced/{branch}",
                             f"refs/remotes/{name}/{branch}")
        git = self.ctx.git
        for sha, their_tree, _ in {v[0]: v for v in theirs.values()}.values():
            if sha == head or their_tree == tree or (last_pushed and git.is_ancestor(sha, last_pushed)):
                continue
            if git.is_ancestor(sha, head):  # (not merged yet: the merge asks for a push after)
                return True
        return False

    def _heads(self, *refs: str) -> dict[str, tuple[str, str, int]]:
        """ref -> (commit, its tree, how many parents it has) for those of `refs` that exist."""
        r = self.ctx.git.run("for-each-ref", "--format=%(objectname) %(tree) %(refname) %(parent)", *refs)
        out = {}
        for line in r.stdout.splitlines():
            sha, tree, ref, *parents = line.split()  # (a ref name has no spaces)
            if ref in refs:  # (for-each-ref patterns match prefixes too)
                out[ref] = (sha, tree, len(parents))
        return out

    def _live_clone(self, name: str) -> bool:
        """`name` is a non-bare clone on a local path with a daemon of ours running on it (its
        lock is held), or the git-annex assistant (its pid file names a live process): someone
        there merges what we push under refs/synced/."""
        url = self.ctx.git.remote_url(name) or ""
        if url.startswith("file://"):
            url = url[7:]
        if not url or ":" in url.split("/", 1)[0]:
            return False
        path = Path(url) if Path(url).is_absolute() else self.ctx.root / url
        git_dir = path / ".git"
        if not git_dir.is_dir():
            return False
        return _daemon_answers(git_dir / "syncassistant") or _pid_alive(git_dir / "annex" / "daemon.pid")

    def _is_local_bare(self, url: str) -> bool:
        path = Path(url[7:] if url.startswith("file://") else url)
        if not path.is_absolute():
            path = self.ctx.root / path
        return ":" not in url.split("/", 1)[0] and (path / "HEAD").is_file() and not (path / ".git").exists()


def _daemon_answers(state_dir: Path) -> bool:
    """A daemon of ours holds this state folder's lock (engine/lock.py): it is running."""
    from ..lock import DaemonLock

    try:
        return DaemonLock(state_dir).held_by_other()
    except OSError:
        return False


def _pid_alive(pid_file: Path) -> bool:
    try:
        pid = int(pid_file.read_text().split()[0])
        os.kill(pid, 0)
    except (OSError, ValueError, IndexError):
        return False
    return True


def parse_porcelain(stdout: str) -> tuple[bool, list[str], list[str]]:
    """(rejected as not up to date, refs refused otherwise, refs updated) from `push --porcelain`."""
    rejected, failed, done = False, [], []
    for line in stdout.splitlines():
        parts = line.split("\t")
        if len(parts) < 3 or len(parts[0]) != 1:
            continue
        flag, refs, summary = parts[0], parts[1], parts[2]
        dst = refs.split(":", 1)[-1]
        if flag == "!":
            if "non-fast-forward" in summary or "fetch first" in summary or "stale info" in summary \
                    or "failed to update ref" in summary or "failed to lock" in summary:
                # (the last two: another push was updating the same ref that very moment)
                rejected = True
            elif dst.startswith("refs/heads/synced/"):
                failed.append(f"{dst} {summary}")
            # refusing to update a checked-out branch of a non-bare remote is expected
        elif flag in (" ", "+", "*", "-"):
            done.append(dst)
    return rejected, failed, done


def first_error(stderr: str) -> str:
    for line in stderr.splitlines():
        line = line.strip()
        if line.startswith(("fatal:", "error:", "ssh:")) or "Could not" in line or "denied" in line:
            return line
    lines = [ln for ln in stderr.splitlines() if ln.strip()]
    return lines[-1].strip() if lines else ""
