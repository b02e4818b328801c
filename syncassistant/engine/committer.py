"""Adding changed paths to the annex and committing them.

A single change commits at once (after a few milliseconds of quiet, so an editor's
write-rename-chmod counts as one change). While a commit runs, new changes pile up and go into
the next one, so a burst of thousands of files lands in a few large commits. A file still open
for writing waits until it is closed or has been quiet for WRITE_SETTLE seconds.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable

from .context import RepoContext
from .git import GitError

log = logging.getLogger(__name__)

QUIET = 0.015  # seconds without a new event before a round starts
MAX_WAIT = 0.25  # ... but never delay a round longer than this while events keep coming
WRITE_SETTLE = 2.0  # a modified-but-not-closed file is taken after this much quiet
RETRY_AFTER = 30.0  # a failed add (full disk, unreadable file) is retried after this long

LITERAL = {"GIT_LITERAL_PATHSPECS": "1"}
MAINTENANCE_EVERY = 100  # commits between `git maintenance run --auto`


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
                  input=message).stdout.strip()
    # Only if HEAD is still where we read it (the ctx.lock keeps our own merges out).
    git.run("update-ref", "-m", "commit: " + (message.splitlines() or [""])[0], "HEAD", sha,
            parent or "0" * len(sha))
    return sha


class Committer:
    def __init__(self, ctx: RepoContext, on_commit: Callable[[str, list[str], dict[str, str]], None]):
        self.ctx = ctx
        self.on_commit = on_commit
        self._cond = threading.Condition()
        self._pending: dict[str, tuple[float, bool]] = {}  # path -> (last event, still writing)
        self._first_event = 0.0
        self._retry_at = 0.0
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

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        with self._cond:
            self._cond.notify_all()
        self._thread.join(30)

    def wake(self) -> None:
        with self._cond:
            self._retry_at = 0.0
            self._cond.notify_all()

    # -- loop -----------------------------------------------------------------------------------
    def _take_ready(self) -> tuple[list[str], float | None]:
        """Ready paths and, if some must wait, how long until the next may be ready."""
        now = time.monotonic()
        last = max((t for t, _ in self._pending.values()), default=0.0)
        if self._pending and now - last < QUIET and now - self._first_event < MAX_WAIT:
            return [], QUIET - (now - last)
        if now < self._retry_at:
            return [], self._retry_at - now
        ready, wait = [], None
        for path, (t, writing) in list(self._pending.items()):
            if writing and now - t < WRITE_SETTLE:
                left = WRITE_SETTLE - (now - t)
                wait = left if wait is None else min(wait, left)
                continue
            ready.append(path)
            del self._pending[path]
        if self._pending:
            self._first_event = now
        return ready, wait

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
                    ready, wait = self._take_ready()
                    if ready:
                        break
                    self._cond.wait(wait)
                else:
                    return
            try:
                self.commit_paths(ready)
            except Exception as e:
                self.last_error = str(e)
                log.error("%s: commit failed, will retry in %.0f s: %s", self.ctx.root, RETRY_AFTER, e)
                self.ctx.emit("error", where="commit", message=str(e))
                self._defer(ready)

    def _defer(self, paths: list[str]) -> None:
        """Put paths that failed back in the queue, to be retried after RETRY_AFTER."""
        with self._cond:
            self._retry_at = time.monotonic() + RETRY_AFTER
            for p in paths:
                self._pending.setdefault(p, (time.monotonic(), False))

    # -- the work -------------------------------------------------------------------------------
    def commit_paths(self, paths: list[str]) -> str | None:
        """Stage `paths` (added, changed or gone) and commit; return the new commit or None."""
        ctx = self.ctx
        with ctx.lock:
            existing = [p for p in paths if os.path.lexists(ctx.root / p)]
            gone = [p for p in paths if p not in set(existing)]
            failed: list[str] = []
            added: dict[str, str] = {}  # path -> key of content git-annex just took in
            if gone:
                ctx.git.run("rm", "-r", "-q", "--cached", "--ignore-unmatch",
                            "--pathspec-from-file=-", "--pathspec-file-nul",
                            input="\0".join(gone) + "\0", env=LITERAL)
            if existing:
                for rec in ctx.annex.add(existing):
                    if rec.get("success") and rec.get("key") and rec.get("file"):
                        added[rec["file"]] = rec["key"]
                    if not rec.get("success", False):
                        failed.append(rec.get("file", "?"))
                        log.warning("%s: could not add %s: %s", ctx.root, rec.get("file"),
                                    "; ".join(rec.get("error-messages", [])))
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
            if failed:
                self._defer(failed)
            if not names:
                if failed:
                    raise GitError(["git-annex", "add"], 1, "",
                                   f"could not add {len(failed)} file(s), e.g. {failed[0]!r}")
                return None
            sha = commit_index(ctx, commit_message(names, gone))
        self.commits += 1
        if self.commits % MAINTENANCE_EVERY == 0:
            # `git commit` would have run this after each commit; it is cheap when there is nothing to do
            ctx.git.run("maintenance", "run", "--auto", "--quiet", check=False, timeout=600)
        self.last_error = None
        log.info("%s: committed %d change(s) as %s", ctx.root, len(names), sha and sha[:8])
        ctx.emit("committed", commit=sha, paths=names[:100], count=len(names))
        committed = set(names)
        self.on_commit(sha or "", names, {p: k for p, k in added.items() if p in committed})
        return sha


def commit_message(names: list[str], gone: list[str]) -> str:
    if len(names) == 1:
        verb = "Remove" if names[0] in gone else "Update"
        return f"{verb} {names[0]}"
    return f"Update {len(names)} files"
