"""Adding changed paths to the annex and committing them.

A single change commits at once (after a few milliseconds of quiet, so an editor's
write-rename-chmod counts as one change). While a commit runs, new changes pile up and go into
the next one, so a burst of thousands of files lands in a few large commits; a burst of large
files goes in a small first round, so its first files sync while the rest is hashed. A file
still open for writing waits until it is closed or has been quiet for WRITE_SETTLE seconds.
"""

from __future__ import annotations

import logging
import os
import stat
import threading
import time
from collections.abc import Callable
from pathlib import Path

from ..context import RepoContext
from ..proc.annex import chunk_paths, parse_json_lines
from ..proc.annex_batch import AnnexBatch, WarmPool, close_in_background
from ..proc.git import INDEX_LOCK_WAIT, STALE_LOCK_AGE, GitError
from ..proc.lockfiles import remove_if_stale
from ..provenance import with_trailers
from .annexlinks import LinkState, link_state
from .watcher import is_ignored_name

log = logging.getLogger(__name__)

QUIET = 0.015  # seconds without a new event before a round starts
MAX_WAIT = 0.25  # ... but never delay a round longer than this while events keep coming
WRITE_SETTLE = 2.0  # a modified-but-not-closed file is taken after this much quiet
# A file whose add failed is tried again after RETRY_FIRST, then twice as long each time up to
# RETRY_AFTER. Most failures pass at once (index.lock taken by another git-annex process for a
# moment: "not staged"); a full disk or an unreadable file lasts, and costs a try now and then.
RETRY_FIRST = 1.0
RETRY_AFTER = 30.0

LITERAL = {"GIT_LITERAL_PATHSPECS": "1"}
MAINTENANCE_EVERY = 100  # commits between `git maintenance run --auto`
# A round of up to this many files goes through the warm `git annex add --batch` process (10-20
# ms a file instead of 150-250 ms to start git-annex); a bigger round goes to one
# `git annex add`, which stages its files in one go.
WARM_ADD_MAX = 20
ADD_TIMEOUT = 3600.0  # hashing a very large file takes a while
ROUND_BYTES_FIRST, ROUND_BYTES_NEXT = 16 * 2**20, 2**30  # see Committer._cut_round
MERGE_WAIT = 1.0  # changes wait this long for an unfinished merge to be resolved
LONG_NAME = 200  # bytes in a file name above which git-annex's add cannot work (see _add_long_names)


def add_batch(root: str | os.PathLike) -> AnnexBatch:
    """A `git annex add --batch` that stages each file before it answers: its queue of git
    commands holds one (annex.queuesize=1), so the commit that follows finds the file staged."""
    return AnnexBatch(root, ["add"], config={"annex.queuesize": "1"})


def _plain(path: str | os.PathLike) -> bool:
    """A file or symlink (git-annex's batch add skips folders)."""
    try:
        mode = os.lstat(path).st_mode
    except OSError:
        return False
    return stat.S_ISREG(mode) or stat.S_ISLNK(mode)


def commit_index(ctx: RepoContext, message: str) -> str:
    """Commit the index as it is, with plumbing; return the new commit.

    `git commit` first refreshes the index, and a file written within the same second as the
    index is "racily clean" to git: it cleans it again, which starts `git-annex filter-process`
    and costs 100-250 ms on every single-file commit. git-annex add has just staged exactly what
    is in the work tree, so the refresh has nothing to find. (We ran `git commit --no-verify`
    before, so no commit hook is lost; commit-tree honours commit.gpgSign like commit does.)
    """
    git = ctx.git
    tree = git.out("write-tree")
    parent = git.rev("HEAD")
    sha = git.run("commit-tree", tree, *(["-p", parent] if parent else []), "-F", "-",
                  input=with_trailers(message, ctx.devices.me())).stdout.strip()
    # Only if HEAD is still where we read it (the ctx.lock keeps our own merges out).
    git.run("update-ref", "-m", "commit: " + (message.splitlines() or [""])[0], "HEAD", sha,
            parent or "0" * len(sha))
    return sha


class Committer:
    def __init__(self, ctx: RepoContext, on_commit: Callable[[str, list[str], dict[str, str]], None],
                 on_journal: Callable[[], None] = lambda: None):
        self.ctx = ctx
        self.on_commit = on_commit
        # a used add process commits git-annex's journal (location tracking) as it closes, after
        # the commit: on_journal then carries the git-annex branch on
        self.on_journal = on_journal
        self._warm = WarmPool(ctx.root, lambda _key: add_batch(ctx.root), limit=1)
        # add processes a round has used, by the thread running that round: the commit loop and
        # the Merger (which commits before it merges) run rounds one after another under
        # ctx.lock, but each retires its own after letting go of the lock, and must not close
        # the process the other is writing to (chaos storm: "write to closed file" killed the
        # merge thread, and the clone never merged again)
        self._used: list[tuple[int, AnnexBatch]] = []
        self._closing = 0  # used add processes still closing: their journal is not committed yet
        self._closers: list[threading.Thread] = []
        self._rounds = 0  # a round taken from _pending and not yet committed
        self._cond = threading.Condition()
        self._pending: dict[str, tuple[float, bool]] = {}  # path -> (last event, still writing)
        self._first_event = 0.0
        self._budget = ROUND_BYTES_FIRST  # bytes of files the next round takes (see _cut_round)
        self._backlog = False  # the last round left ready paths behind: the next one starts at once
        # path -> when a failed add of it is tried again. Per path: one unreadable file must not
        # hold up every other change for RETRY_AFTER.
        self._retry_at: dict[str, float] = {}
        self._failures: dict[str, int] = {}  # path -> failed adds in a row (its back-off)
        self._thread = threading.Thread(target=self._loop, name=f"syncassistant-commit-{ctx.root.name}",
                                        daemon=True)
        self.commits = 0
        self.last_error: str | None = None

    # -- input --------------------------------------------------------------------------------
    def notify(self, path: str, writing: bool = False) -> None:
        now = time.monotonic()
        with self._cond:
            if not self._pending:
                self._first_event = now
            self._pending[path] = (now, writing)
            self._retry_at.pop(path, None)  # changed since it failed: that may be what failed
            self._cond.notify()

    def notify_many(self, paths: list[str]) -> None:
        now = time.monotonic()
        with self._cond:
            if not self._pending:
                self._first_event = now
            for p in paths:
                self._pending[p] = (now, False)
            self._cond.notify()

    def pending_count(self) -> int:
        with self._cond:
            return len(self._pending)

    def take_pending(self) -> list[str]:
        """Hand over every change waiting for its quiet time (the caller commits them now: the
        Merger needs a clean tree); they are no longer this loop's to commit."""
        with self._cond:
            paths = list(self._pending)
            self._pending.clear()
        return paths

    def start(self) -> None:
        # no add process yet: the first round starts one for the next (a daemon that never sees
        # a change, as many do, costs no git-annex process)
        self._thread.start()

    def stop(self) -> None:
        with self._cond:
            self._cond.notify_all()
        self._thread.join(30)
        self._warm.close()
        self._retire(everyone=True)
        with self._cond:
            closers = list(self._closers)
        for th in closers:
            th.join(60)

    def wake(self) -> None:
        with self._cond:
            self._retry_at.clear()
            self._cond.notify_all()

    # -- loop -----------------------------------------------------------------------------------
    def _take_ready(self) -> tuple[list[str], float | None]:
        """Ready paths and, if some must wait, how long until the next may be ready."""
        now = time.monotonic()
        last = max((t for t, _ in self._pending.values()), default=0.0)
        if self._pending and not self._backlog and now - last < QUIET and now - self._first_event < MAX_WAIT:
            return [], QUIET - (now - last)
        ready, wait = [], None
        for path, (t, writing) in list(self._pending.items()):
            retry = self._retry_at.get(path, 0.0)
            if writing and now - t < WRITE_SETTLE or now < retry:
                left = max(WRITE_SETTLE - (now - t) if writing else 0.0, retry - now)
                wait = left if wait is None else min(wait, left)
                continue
            self._retry_at.pop(path, None)
            ready.append(path)
            del self._pending[path]
        self._backlog = False
        if self._pending:
            self._first_event = now
        return ready, wait

    def _cut_round(self, ready: list[str], taken: float) -> list[str]:
        """The first `_budget` bytes of `ready` (at least one path); the rest goes back in the
        queue and the next round starts at once, with a budget of ROUND_BYTES_NEXT.

        A burst of large files thus goes in a small first round (its first files reach the
        other devices within a second or two, not after the whole burst is hashed), then in
        rounds of up to 1 GiB. Rounds that grew by doubling were tried and cost more than they
        gave: on two cores hashing and the transfers' checksums compete for the CPU, and each
        commit adds a merge and a scan on the other side (1,000 x 1 MiB: 116-125 s and 172-185
        CPU s, against 85-98 s and 110-125 CPU s for one commit). A folder moved in counts by
        what it holds, and is taken file by file only when it holds more than the round's budget
        (one path is cheaper to add)."""
        budget, nbytes = self._budget, 0
        out: list[str] = []
        rest: list[str] = []
        for path in ready:
            if rest or out and nbytes >= budget:  # this round is full (the rest is looked at next round)
                rest.append(path)
                continue
            files = _files_under(self.ctx.root, path)
            size = sum(n for _, n in files)
            if nbytes + size <= budget or len(files) < 2:
                out.append(path)
                nbytes += size
                continue
            for rel, n in files:  # a folder holding more than the budget: file by file
                if out and nbytes >= budget:
                    rest.append(rel)
                else:
                    out.append(rel)
                    nbytes += n
        with self._cond:
            for p in rest:
                self._pending.setdefault(p, (taken, False))  # (a newer event for it stands)
            self._backlog = bool(rest)
            self._budget = ROUND_BYTES_NEXT if rest else ROUND_BYTES_FIRST
        return out

    def _loop(self) -> None:
        while not self.ctx.stopping.is_set():
            with self._cond:
                while not self.ctx.stopping.is_set():
                    if self.ctx.paused.is_set():
                        self._cond.wait(1.0)
                        continue
                    if not self._pending:
                        self._cond.wait()
                        continue
                    taken = time.monotonic()
                    ready, wait = self._take_ready()
                    if ready:
                        self._rounds += 1  # (in the same hold of the lock: never seen as idle)
                        break
                    self._cond.wait(wait)
                else:
                    return
            try:
                ready = self._cut_round(ready, taken)
                self.commit_paths(ready, taken)
            except Exception as e:  # (commit_paths has put the round's paths back in the queue)
                self.last_error = str(e)
                log.error("%s: commit failed, will retry in %.0f s: %s", self.ctx.root, RETRY_AFTER, e)
                self.ctx.emit("error", where="commit", message=str(e))
            finally:
                with self._cond:
                    self._rounds -= 1

    def _changed_since(self, path: str, since: float) -> bool:
        """A new event for `path` came after `since` (caller holds the lock)."""
        seen = self._pending.get(path)
        return seen is not None and seen[0] > since

    def _defer(self, paths: list[str], since: float) -> None:
        """Put paths that failed back in the queue, to be tried again after a back-off (RETRY_FIRST
        doubling to RETRY_AFTER); those changed since the attempt began (`since`) are tried as
        soon as they settle instead."""
        with self._cond:
            now = time.monotonic()
            for p in paths:
                if not self._changed_since(p, since):
                    n = self._failures.get(p, 0)
                    self._failures[p] = n + 1
                    self._pending[p] = (now, False)
                    self._retry_at[p] = now + min(RETRY_AFTER, RETRY_FIRST * 2 ** n)

    def _wait_for_merge(self, paths: list[str], unmerged: set[str]) -> None:
        """A merge is unresolved (a daemon was killed mid-merge): nothing is committed until
        the Merger has resolved it. Its conflicted paths are the Merger's (a user's edit of one
        is kept by engine/sync/rescue.py; the resolution's own writes bring them back here): adding
        one staged git's conflict-marked file, or the user's edit over both sides, and a commit
        on the unmerged index fails. The rest waits a moment and is taken after."""
        log.info("%s: %d change(s) wait for an unfinished merge to be resolved", self.ctx.root, len(paths))
        with self._cond:
            later = time.monotonic() + MERGE_WAIT
            for p in paths:
                if p not in unmerged and p not in self._pending:
                    self._pending[p] = (later - QUIET, False)
                    self._retry_at[p] = later
            self._cond.notify()

    def _recovered(self) -> None:
        """Clear a reported failure, and say so: status readers must not show it for ever."""
        if self.last_error is not None:
            self.last_error = None
            self.ctx.emit("recovered", where="commit")

    # -- the work -------------------------------------------------------------------------------
    def commit_paths(self, paths: list[str], since: float | None = None) -> str | None:
        """Stage `paths` (added, changed or gone) and commit; return the new commit or None.
        `since`: when the paths were taken (a file with a newer event changed while being added).

        A round that fails keeps its paths: they go back in the queue, tried again after
        RETRY_AFTER. Only the committer's own loop did that; a round the Merger asks for (every
        merge and every fetch after a rejected push commits first) lost every path git-annex had
        not named as failed: on a full disk a file saved then was never committed once the space
        was back (bench/README.md, finding 11)."""
        since = time.monotonic() if since is None else since
        try:
            return self._commit(paths, since)
        except Exception:
            self._defer(paths, since)
            raise
        finally:
            self._retire()

    def _commit(self, paths: list[str], since: float) -> str | None:
        ctx = self.ctx
        with ctx.lock:
            if (ctx.git.git_dir / "MERGE_HEAD").exists() and (unmerged := set(ctx.git.unmerged_paths())):
                self._wait_for_merge(paths, unmerged)
                return None
            # git-annex add stages through `git update-index` and only warns when index.lock is
            # taken; a lock a killed process left would stop every round here for good
            lock = ctx.git.git_dir / "index.lock"
            deadline = time.monotonic() + INDEX_LOCK_WAIT
            while lock.exists() and not remove_if_stale(lock, STALE_LOCK_AGE) and time.monotonic() < deadline:
                time.sleep(0.05)  # taken for a moment (a transfer updating the index): wait, as Git.run does
            existing = [p for p in paths if os.path.lexists(ctx.root / p)]
            gone = [p for p in paths if p not in set(existing)]
            # A folder made again (or moved in) where one was: what the old one held and the new
            # one does not is a deletion, which its events may not tell (a watch replaced before
            # they were read), and git annex add of the folder does not stage.
            folders = [p for p in existing if os.path.isdir(ctx.root / p) and not os.path.islink(ctx.root / p)]
            for chunk in chunk_paths(folders):
                res = ctx.git.run("ls-files", "-z", "--deleted", "--", *chunk, env=LITERAL, check=False)
                gone += [p for p in res.stdout.split("\0") if p and p not in gone]
            failed: list[str] = []
            why: dict[str, str] = {}  # failed path -> git-annex's reason
            added: dict[str, str] = {}  # path -> key of content git-annex just took in
            if gone:
                ctx.git.run("rm", "-r", "-q", "--cached", "--ignore-unmatch",
                            "--pathspec-from-file=-", "--pathspec-file-nul",
                            input="\0".join(gone) + "\0", env=LITERAL)
            answered: set[str] = set()  # files git-annex said something about, and their folders
            unkeyed: list[str] = []  # added with no key: kept in git, or a pointer file staged as it is
            if existing:
                records = self._add(existing)
                if log.isEnabledFor(logging.DEBUG):
                    log.debug("%s: add %s: %s", ctx.root, existing[:10], records[:10])
                for rec in records:
                    parts = str(rec.get("file", "")).split("/")
                    answered.update("/".join(parts[:i]) for i in range(1, len(parts) + 1))
                    if rec.get("success") and rec.get("key") and rec.get("file"):
                        added[rec["file"]] = rec["key"]
                    elif rec.get("success") and rec.get("file"):
                        unkeyed.append(rec["file"])
                    if not rec.get("success", False):
                        failed.append(rec.get("file", "?"))
                        why[failed[-1]] = "; ".join(rec.get("error-messages", []))
            staged = ctx.git.run("diff", "--cached", "--name-only", "-z", "--no-renames")
            names = [p for p in staged.stdout.split("\0") if p]
            vanished = [p for p in failed if not os.path.lexists(ctx.root / p)]
            if vanished:  # deleted between our look and git-annex's: that is a deletion
                failed = [p for p in failed if p not in vanished]
                ctx.git.run("rm", "-r", "-q", "--cached", "--ignore-unmatch",
                            "--pathspec-from-file=-", "--pathspec-file-nul",
                            input="\0".join(vanished) + "\0", env=LITERAL)
                staged = ctx.git.run("diff", "--cached", "--name-only", "-z", "--no-renames")
                names = [p for p in staged.stdout.split("\0") if p]
            # A path git-annex said nothing about (it ended without answering for it, or
            # skipped it) and that git still sees as changed is not done either; nor is one it
            # added whose staging failed (its `git update-index` found index.lock taken: it still
            # says success), with a key or, for a new file, without one (a pointer file: the
            # merged version of a file the user wrote during a merge, whose content had not
            # arrived, was left uncommitted for good that way). (Only those: a `git status` in every round that
            # re-adds an unchanged file costs time.)
            done = set(names) | set(failed) | answered
            unanswered = [p for p in existing if p.rstrip("/") not in done]
            named = set(names)
            unanswered += [p for p in added if p not in named]
            # (a keyless add of a tracked file is often no change at all: only a new file counts)
            unanswered += _untracked(ctx, [p for p in unkeyed if p not in named])
            if unanswered:
                left = set(_dirty_under(ctx, unanswered))
                for p in unanswered:
                    if p in left:
                        failed.append(p)
                        why.setdefault(p, "not staged by git annex add")
            with self._cond:  # the back-off of a path that went in starts again from the first step
                for p in set(paths) - set(failed):
                    self._failures.pop(p, None)
            if failed:
                with self._cond:
                    # changed while git-annex read it (still being written): not an error, it
                    # is added once it settles (git-annex says "failed to link to annex")
                    changed = {p for p in failed if self._changed_since(p, since)}
                self._defer(failed, since)
                failed = [p for p in failed if p not in changed]
                for p in failed:
                    log.warning("%s: could not add %s: %s", ctx.root, p, why.get(p))
            if not names:
                if failed:
                    raise GitError(["git-annex", "add"], 1, "",
                                   f"could not add {len(failed)} file(s), e.g. {failed[0]!r}")
                self._recovered()  # a retry with nothing left to commit has succeeded too
                return None
            sha = commit_index(ctx, commit_message(names, gone))
        self.commits += 1
        if self.commits % MAINTENANCE_EVERY == 0:
            # `git commit` would have run this after each commit; it is cheap when there is nothing to do
            ctx.git.run("maintenance", "run", "--auto", "--quiet", check=False, timeout=600)
        self._recovered()
        log.info("%s: committed %d change(s) as %s", ctx.root, len(names), sha and sha[:8])
        ctx.emit("committed", commit=sha, paths=names[:100], count=len(names))
        committed = set(names)
        self.on_commit(sha or "", names, {p: k for p, k in added.items() if p in committed})
        return sha

    def _add(self, paths: list[str]) -> list[dict]:
        """git-annex add these existing paths: per-file records, as `Annex.add` gives them.

        A locked file whose symlink is right where it stands is staged by git alone: git-annex
        would write it anew, and the watcher would see that as a change (see annexlinks)."""
        git_dir = self.ctx.git.git_dir
        settled = [p for p in paths if link_state(self.ctx.root, git_dir, p) is LinkState.RIGHT]
        if settled:
            self.ctx.git.run("update-index", "--add", "-z", "--stdin", input=("\0".join(settled) + "\0").encode(errors="surrogateescape"))
            done = set(settled)
            paths = [p for p in paths if p not in done]
        long = [p for p in paths if len(os.fsencode(os.path.basename(p))) > LONG_NAME]
        if long:
            done = set(long)
            paths = [p for p in paths if p not in done]
        return [{"command": "add", "file": p, "success": True} for p in settled] + (
            self._add_long_names(long) if long else []) + (self._annex_add(paths) if paths else [])

    def _add_long_names(self, paths: list[str]) -> list[dict]:
        """Add files whose names are near the 255-byte limit through git's clean filter.

        `git annex add` copies a file to `.git/annex/othertmp/ingest-<name>-<suffix>` first, a
        name ~22 bytes longer than the file's: for a name over ~233 bytes it fails with "File
        name too long", every time (we retried every 30 s, for ever). `git add` hands the bytes
        to git-annex's clean filter on stdin, which annexes them just the same; as `git annex
        add` does, everything goes to the annex unless the user's annex.largefiles says
        otherwise. (Such a file is added unlocked, also in a repository of locked files.)"""
        git = self.ctx.git
        cfg = [] if git.config_get("annex.largefiles") is not None else ["-c", "annex.largefiles=anything"]
        out = []
        for p in paths:
            attr = git.run("check-attr", "annex.largefiles", "--", p, check=False, env=LITERAL).stdout
            extra = cfg if attr.rstrip().endswith(": unspecified") else []
            res = git.run(*extra, "add", "--", p, check=False, timeout=ADD_TIMEOUT, env=LITERAL)
            rec = {"command": "add", "file": p, "success": res.returncode == 0}
            if res.returncode != 0:
                rec["error-messages"] = [res.stderr.strip()[-500:]]
            out.append(rec)
        return out

    def _annex_add(self, paths: list[str]) -> list[dict]:
        batch = None
        if len(paths) <= WARM_ADD_MAX and all("\n" not in p and _plain(self.ctx.root / p) for p in paths):
            batch = self._warm.take("add")
        if batch is None:
            return self.ctx.annex.add(paths)
        with self._cond:
            self._used.append((threading.get_ident(), batch))
            self._closing += 1  # busy from now until its journal is committed (see _retire)
        records: list[dict] = []
        rest = list(paths)
        try:
            while rest:
                batch.send(rest[0])
                line = batch.read_line(ADD_TIMEOUT)
                if not line:  # exited, or still hashing after an hour: the rest the slow way
                    batch.kill()
                    break
                rest.pop(0)
                # a blank line: skipped (ignored, or gone meanwhile), as `git annex add` skips it
                records += parse_json_lines(line.decode(errors="surrogateescape"))
        except (OSError, ValueError) as e:  # its pipe broken or closed: the rest the slow way
            log.warning("%s: the warm git-annex add process failed: %s", self.ctx.root, e)
        return records + (self.ctx.annex.add(rest) if rest else [])

    def _journal_committed(self) -> None:
        try:
            self.on_journal()
        finally:
            with self._cond:
                self._closing -= 1

    def busy(self) -> str | None:
        """What the committer is doing, if anything: changes waiting, a round being added and
        committed, or an add process still committing git-annex's journal (location tracking)."""
        with self._cond:
            if self._pending:
                return f"{len(self._pending)} change(s) to commit"
            if self._rounds:
                return "committing"
            if self._closing:
                return "committing location tracking"
            return None

    def _retire(self, everyone: bool = False) -> None:
        """Close the add processes this thread's round used (`everyone`: all, when stopping) in
        the background (closing commits the journal), and start a fresh one for the next round."""
        me = threading.get_ident()
        with self._cond:
            used = [b for t, b in self._used if everyone or t == me]
            self._used = [(t, b) for t, b in self._used if not (everyone or t == me)]
            self._closers = [th for th in self._closers if th.is_alive()]
        closers = [close_in_background(batch, self._journal_committed) for batch in used]
        with self._cond:
            self._closers += closers
        if not self.ctx.stopping.is_set():
            self._warm.fill(["add"])  # a no-op when one is ready


def _files_under(root: Path, path: str) -> list[tuple[str, int]]:
    """(path, size) of `path` if it is a file (size 0 if gone or not a regular file), or of the
    regular files in the folder it names, in walk order (ignored names and nested repositories,
    which git-annex add skips too, left out)."""
    try:
        st = os.lstat(root / path)
    except OSError:
        return [(path, 0)]
    if not stat.S_ISDIR(st.st_mode):
        return [(path, st.st_size if stat.S_ISREG(st.st_mode) else 0)]
    if (root / path / ".git").exists():
        return [(path, 0)]
    out = []
    for top, dirs, files in os.walk(root / path):
        dirs[:] = sorted(d for d in dirs if not (Path(top) / d / ".git").exists())
        for name in sorted(files):
            if is_ignored_name(name):
                continue
            full = os.path.join(top, name)
            try:
                fst = os.lstat(full)
            except OSError:
                continue
            out.append((os.path.relpath(full, root), fst.st_size if stat.S_ISREG(fst.st_mode) else 0))
    return out or [(path, 0)]


def _untracked(ctx: RepoContext, paths: list[str]) -> list[str]:
    """Those of `paths` git does not track (nor ignore)."""
    out: set[str] = set()
    for chunk in chunk_paths(paths):
        res = ctx.git.run("ls-files", "-z", "--others", "--exclude-standard", "--", *chunk, env=LITERAL, check=False)
        out |= {p for p in res.stdout.split("\0") if p}
    return [p for p in paths if p in out]


def _dirty_under(ctx: RepoContext, paths: list[str]) -> list[str]:
    """Those of `paths` whose file git still sees as changed or untracked in the work tree (a
    folder: any file in it), as an add would stage it. Deletions are not an add's to stage, and
    nested repositories (git shows them as a folder, git-annex skips them) do not count."""
    dirty: set[str] = set()
    for chunk in chunk_paths(paths):
        res = ctx.git.run("status", "--porcelain=v1", "-z", "--untracked-files=all", "--no-renames",
                          "--", *chunk, env=LITERAL, check=False)
        for entry in res.stdout.split("\0") if res.returncode == 0 else []:
            if len(entry) > 3 and (entry[:2] == "??" or entry[1] in "MT") and not entry.endswith("/"):
                # the path and every folder above it
                parts = entry[3:].split("/")
                dirty.update("/".join(parts[:i]) for i in range(1, len(parts) + 1))
    return [p for p in paths if p.rstrip("/") in dirty]


def commit_message(names: list[str], gone: list[str]) -> str:
    if len(names) == 1:
        verb = "Remove" if names[0] in gone else "Update"
        return f"{verb} {names[0]}"
    return f"Update {len(names)} files"
