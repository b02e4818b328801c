"""Noticing changes in the cloud: a cloud remote sends no change notices, so it is asked.

This module owns :class:`CloudPoller`, one thread per daemon ("syncassistant-cloudpoll-<repo>")
that runs only while the repository has a remote whose URL is `annex::` (git-remote-annex,
engine/network/cloud.py). It fetches from each such remote (one download of the remote's
manifest when nothing changed) and hands a change to the Merger. When to ask:

- every ``FAST`` seconds while something changed recently (a commit here, a merge, a fetch that
  brought something);
- each quiet poll doubles the wait, up to ``SLOW`` (5 minutes): idle costs one small fetch
  every 5 minutes, nothing in between (the thread sleeps on a condition);
- at once on :meth:`poll_now` (sync now, the network back).

A failing fetch (server down, wrong password) is logged once per error and waits like a quiet
poll; the pusher reports the remote's errors to the user. A poll that finds the cloud without
this clone's last commit asks for a push (``on_missing``): git-remote-annex has no lock, and of
two clones pushing at once the second can overwrite the first's manifest.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from ..context import RepoContext

log = logging.getLogger(__name__)

FAST = 3.0
SLOW = 300.0
FETCH_TIMEOUT = 120.0


class CloudPoller:
    def __init__(self, ctx: RepoContext, on_change: Callable[[], None],
                 on_missing: Callable[[str], None] = lambda name: None,
                 fast: float = FAST, slow: float = SLOW) -> None:
        self.ctx = ctx
        self.on_change = on_change
        self.on_missing = on_missing
        self.fast, self.slow = fast, slow
        self.interval = fast
        self.polls = 0
        self._cond = threading.Condition()
        self._due = time.monotonic() + fast
        self._remotes: list[str] = []
        self._thread: threading.Thread | None = None
        self._last_error: dict[str, str] = {}

    # -- verbs -----------------------------------------------------------------------------------
    def cloud_remotes(self) -> list[str]:
        """The remotes fetched through git-remote-annex that we pull from."""
        from .remotes import remotes_of

        return [r.name for r in remotes_of(self.ctx.git).values()
                if r.url.startswith("annex::") and r.pushed and r.pull]

    def refresh(self) -> None:
        """Read the remotes again; start the thread when the first cloud remote appears."""
        names = self.cloud_remotes()
        with self._cond:
            self._remotes = names
            start = bool(names) and self._thread is None and not self.ctx.stopping.is_set()
            if start:
                self._thread = threading.Thread(target=self._loop, daemon=True,
                                                name=f"syncassistant-cloudpoll-{self.ctx.root.name}")
            self._cond.notify_all()
        if start:
            assert self._thread is not None
            self._thread.start()

    def activity(self) -> None:
        """Something changed here or arrived: ask the cloud often again."""
        with self._cond:
            if self.interval > self.fast:
                self.interval = self.fast
                self._due = min(self._due, time.monotonic() + self.fast)
                self._cond.notify_all()

    def poll_now(self) -> None:
        with self._cond:
            self.interval = self.fast
            self._due = time.monotonic()
            self._cond.notify_all()

    def start(self) -> None:
        self.refresh()

    def stop(self) -> None:
        with self._cond:
            self._cond.notify_all()
            thread = self._thread
        if thread is not None:
            thread.join(FETCH_TIMEOUT + 10)

    # -- loop ------------------------------------------------------------------------------------
    def _loop(self) -> None:
        ctx = self.ctx
        while True:
            with self._cond:
                while True:
                    if ctx.stopping.is_set():
                        return
                    wait = self._due - time.monotonic()
                    if wait <= 0 and not ctx.paused.is_set() and self._remotes:
                        break
                    self._cond.wait(None if ctx.paused.is_set() or not self._remotes else max(wait, 0.05))
                remotes = list(self._remotes)
            changed = False
            for name in remotes:
                if ctx.stopping.is_set():
                    return
                changed |= self._poll(name)
            with self._cond:
                self.polls += 1
                self.interval = self.fast if changed else min(self.slow, self.interval * 2)
                self._due = time.monotonic() + self.interval
            if changed:
                self.on_change()

    def _poll(self, name: str) -> bool:
        """Fetch one remote; True if its refs moved."""
        git = self.ctx.git
        before = git.refs(f"refs/remotes/{name}/")
        t0 = time.monotonic()
        error = ""
        for attempt in range(2):
            try:
                res = self.ctx.fetch(name, timeout=FETCH_TIMEOUT)
            except Exception as e:  # a timeout: logged, the next poll tries again
                error = str(e)
                break
            error = (res.stderr.strip().splitlines() or ["fetch failed"])[-1] if res.returncode else ""
            # Another clone's push replaced the remote's manifest and deleted the bundle it
            # named between our reading the one and downloading the other (git-remote-annex
            # 10.20261026): the new manifest names bundles that are there. Once more at once.
            if not (error and "Failed to download GITBUNDLE" in res.stderr and attempt == 0):
                break
            log.debug("%s: %s changed while we fetched: fetching again", self.ctx.root, name)
        if error:
            if self._last_error.get(name) != error:
                log.warning("%s: cannot fetch from cloud remote %s: %s", self.ctx.root, name, error)
            self._last_error[name] = error
            return False
        if self._last_error.pop(name, None):
            log.info("%s: cloud remote %s is reachable again", self.ctx.root, name)
        after = git.refs(f"refs/remotes/{name}/")
        theirs = after.get(f"refs/remotes/{name}/synced/{self.ctx.branch}")
        head = git.rev("HEAD")
        if head and theirs and head != theirs and not git.is_ancestor(head, theirs):
            # Two clones pushing at once both write the remote's manifest and the last one wins
            # (git-remote-annex keeps no lock): a push that "succeeded" can be gone. Whatever of
            # ours the cloud lacks is pushed again (after the merge of theirs, if any).
            self.on_missing(name)
        log.debug("%s: polled %s in %.0f ms (%s)", self.ctx.root, name, (time.monotonic() - t0) * 1000,
                  "changed" if after != before else "no change")
        return after != before
