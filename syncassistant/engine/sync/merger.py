"""Merging what other clones pushed to us (or what we fetched) into our branch and git-annex branch.

Sources, as `git annex sync` uses them: `refs/heads/synced/<branch>` (pushed to us), and the
fetched `refs/remotes/*/synced/<branch>` and `refs/remotes/*/<branch>`; also
`refs/synced/<uuid>/<branch>`, pushed to us by a clone whose pushes to our synced/ branches were
rejected again and again (a tagged push, as the git-annex assistant makes); for the git-annex branch
every `*/git-annex` ref, merged by git-annex itself (a union merge). After a merge that changed
something the caller pushes on, so a change crosses a chain A -> B -> C.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from ..context import RepoContext
from ..network import netmap_store
from ..proc.annex import chunk_paths
from ..proc.git import Git, GitError
from ..proc.git import run as run_cmd
from ..provenance import Device, device_of, with_trailers
from ..transfers import pointers
from . import checkout, rescue
from .conflicts import ConflictStore, clear_the_way, commit_merge_in_progress, resolve_index, resolve_merge
from .hooks_install import user_post_merge_hook

log = logging.getLogger(__name__)

FETCH_TIMEOUT = 120.0
RETRY_FIRST, RETRY_MAX = 2.0, 60.0  # a failed merge is tried again after this, doubling up to the cap
EMPTY_TREE = checkout.EMPTY_TREE
ZERO = "0" * 40


@dataclass
class MergeResult:
    old_head: str | None = None
    new_head: str | None = None
    annex_changed: bool = False
    changed_paths: list[str] = field(default_factory=list)
    conflicts: list[dict] = field(default_factory=list)

    @property
    def branch_changed(self) -> bool:
        return self.old_head != self.new_head


class Merger:
    def __init__(self, ctx: RepoContext, conflicts: ConflictStore,
                 flush_pending: Callable[[], None],
                 on_merged: Callable[[MergeResult], None]):
        self.ctx = ctx
        self.conflicts = conflicts
        self.flush_pending = flush_pending
        self.on_merged = on_merged
        self._cond = threading.Condition()
        self._requested = False
        self._merging = False
        self._retry_at: float | None = None  # when a failed merge is tried again
        self._retry_delay = RETRY_FIRST
        self._thread = threading.Thread(target=self._loop, name=f"syncassistant-merge-{ctx.root.name}",
                                        daemon=True)
        self.merges = 0
        self.last_error: str | None = None
        self._smudge_needed = False  # a merge changed the work tree (see _update_work_tree)
        self._written: list[str] = []  # paths merges wrote since, to fill in
        self._kept: checkout.Outcome | None = None  # what the last move of the work tree kept

    # -- input ----------------------------------------------------------------------------------
    def ref_changed(self, ref: str) -> None:
        if ref == "packed-refs" or ref.startswith(("refs/heads/synced/", "refs/remotes/", "refs/synced/")):
            self.request()

    def request(self) -> None:
        with self._cond:
            self._requested = True
            self._cond.notify()

    def start(self) -> None:
        with self.ctx.lock:  # edits a killed daemon set aside during a conflict (the watcher runs)
            rescue.put_back_leftovers(self.ctx)
        self.request()  # merge whatever arrived while we were not running
        self._thread.start()

    def stop(self) -> None:
        with self._cond:
            self._cond.notify_all()
        self._thread.join(30)

    # -- loop -----------------------------------------------------------------------------------
    def _loop(self) -> None:
        while True:
            with self._cond:
                while not self.ctx.stopping.is_set():
                    if self._retry_at is not None and time.monotonic() >= self._retry_at:
                        self._requested = True
                    if self._requested and not self.ctx.paused.is_set():
                        break
                    wait = 1.0 if self.ctx.paused.is_set() else None
                    if self._retry_at is not None:
                        left = max(0.0, self._retry_at - time.monotonic())
                        wait = left if wait is None else min(wait, left)
                    self._cond.wait(wait)
                if self.ctx.stopping.is_set():
                    return
                self._requested = False
                self._retry_at = None
                self._merging = True
            try:
                self.merge_all()
                self._retry_delay = RETRY_FIRST
            except Exception as e:  # never let the merge thread die: a clone that stops merging stops syncing
                self.last_error = str(e)
                log.error("%s: merge failed, will retry in %.0f s: %s", self.ctx.root, self._retry_delay, e,
                          exc_info=not isinstance(e, GitError))
                self.ctx.emit("error", where="merge", message=str(e))
                with self._cond:
                    self._retry_at = time.monotonic() + self._retry_delay
                    self._retry_delay = min(RETRY_MAX, self._retry_delay * 2)
            finally:
                with self._cond:
                    self._merging = False

    def busy(self) -> str | None:
        """Why the merger is not idle: a merge asked for or under way (None when idle)."""
        with self._cond:
            if self._merging:
                return "merging"
            if self._requested:
                return "merge requested"
            if self._retry_at is not None:
                return f"merge failed, retry in {max(0.0, self._retry_at - time.monotonic()):.0f} s"
            return None

    # -- the work -------------------------------------------------------------------------------
    def fetch_and_merge(self, remote: str) -> MergeResult:
        """Fetch one remote (after a rejected push) and merge what it has."""
        res = self.ctx.fetch(remote, timeout=FETCH_TIMEOUT)
        if res.returncode != 0:
            raise GitError(["git", "fetch", remote], res.returncode, res.stdout, res.stderr)
        return self.merge_all()

    def merge_all(self) -> MergeResult:
        ctx, git = self.ctx, self.ctx.git
        with ctx.lock:
            result = MergeResult(old_head=git.rev("HEAD"))
            if (git.git_dir / "MERGE_HEAD").exists():  # left half-done by a crash
                self.flush_pending()
                result.conflicts += self._finish_stopped_merge("MERGE_HEAD", "interrupted merge",
                                                               "a merge left unfinished") or []
            branch = ctx.branch
            candidates = git.refs(f"refs/heads/synced/{branch}", f"refs/remotes/*/synced/{branch}",
                                  f"refs/remotes/*/{branch}", f"refs/synced/*/{branch}")  # (tagged pushes)
            seen: set[str] = set()
            for ref, sha in sorted(candidates.items()):
                if sha in seen or ref.endswith("/HEAD"):
                    continue
                seen.add(sha)
                if git.is_ancestor(sha, "HEAD"):
                    continue
                # A twin (same tree, another merge commit of the same conflict) is merged too:
                # joining the histories gives later merges a clean base, so a resolution made on
                # one clone is not undone by the other's twin. The Pusher sends nothing for it
                # (same tree), so twins cannot ping-pong.
                result.conflicts += self._merge_one(ref, sha)
            # The work tree first (what the user waits to see), then git-annex's branch, which
            # must be merged before the scanner looks for content to fetch; git-annex's update
            # of the work tree (its post-merge hook's work) runs meanwhile.
            smudge = self._update_work_tree()
            try:
                result.annex_changed = self._merge_annex_branch() | netmap_store.merge_incoming(ctx.git)
            finally:
                if smudge is not None:
                    smudge.join()
            result.new_head = git.rev("HEAD")
            if result.branch_changed and result.old_head and result.new_head:
                result.changed_paths = git.changed_paths(result.old_head, result.new_head)
        if self.last_error is not None:  # merged, or nothing to merge: no longer failing
            self.last_error = None
            ctx.emit("recovered", where="merge")
        if result.branch_changed or result.annex_changed:
            self.merges += 1
            log.info("%s: merged (%d paths changed, %d conflicts)", ctx.root,
                     len(result.changed_paths), len(result.conflicts))
            ctx.emit("merged", head=result.new_head, paths=result.changed_paths[:100],
                     count=len(result.changed_paths), annex_changed=result.annex_changed)
            self.on_merged(result)
        return result

    def _merge_annex_branch(self) -> bool:
        git = self.ctx.git
        local = git.ref_sha("refs/heads/git-annex")
        others = git.refs("refs/heads/synced/git-annex", "refs/remotes/*/git-annex", "refs/synced/*/git-annex")
        if not any(sha != local and (local is None or not git.is_ancestor(sha, local))
                   for sha in set(others.values())):
            return False
        self.ctx.annex.update_branch()
        return git.ref_sha("refs/heads/git-annex") != local

    def _update_work_tree(self) -> threading.Thread | None:
        """Start what git-annex's post-merge hook does (fill in files whose content is here, e.g.
        a renamed one) after a merge that changed the work tree; the caller joins the thread.
        Our merges run no hook (`git read-tree`); a post-merge hook of the user's own runs after.

        Run as a hook it took ~95 ms of every merge (sh, then git-annex starting), and the
        git-annex branch merge and the scan waited for it (bench/README.md)."""
        if not self._smudge_needed:
            return None
        self._smudge_needed = False
        written, self._written = self._written, []
        hook = user_post_merge_hook(self.ctx.git.git_dir, self.ctx.git.config_get("core.hooksPath"))

        def smudge() -> None:
            # a failure leaves pointer files where content could be: as a failed hook would,
            # it does not fail the merge (the next merge's update catches up)
            try:
                # the files the merge wrote first, never over a write made meanwhile (git-annex's
                # own filling in replaces such a write: transfers/pointers.py); then git-annex's
                # update for the rest (and its bookkeeping)
                filled = pointers.fill_in_safely(self.ctx, written)
                # git-annex learns the new files (their inode: no "modified" in git status) and
                # the index entries are refreshed; the same key, nothing new is staged
                for chunk in chunk_paths(filled):
                    res = self.ctx.annex.run("add", "--quiet", "-c", "annex.largefiles=anything", "--", *chunk,
                                             check=False, timeout=600)
                    if res.returncode != 0:
                        log.warning("%s: git annex add after filling in failed: %s", self.ctx.root,
                                    res.stderr.strip()[:300])
                res = self.ctx.annex.run("smudge", "--update", check=False, timeout=600)
                if res.returncode != 0:
                    log.warning("%s: git annex smudge --update failed: %s", self.ctx.root, res.stderr.strip()[:500])
                if hook is not None:  # as git runs it: in the top folder, "0" = not a squash merge
                    res = run_cmd([str(hook), "0"], cwd=self.ctx.root, check=False, timeout=600)
                    if res.returncode != 0:
                        log.warning("%s: post-merge hook %s exited %d: %s", self.ctx.root, hook,
                                    res.returncode, res.stderr.strip()[:300])
            except GitError as e:  # timed out
                log.warning("%s: after a merge: %s", self.ctx.root, e)

        thread = threading.Thread(target=smudge, name=f"syncassistant-smudge-{self.ctx.root.name}", daemon=True)
        thread.start()
        return thread

    def _merge_one(self, ref: str, sha: str) -> list[dict]:
        """Merge `sha` into HEAD without `git merge`.

        The merge is made in a separate index (three-way `git read-tree`, our conflict
        resolution, `git commit-tree`) and the work tree is then moved from HEAD to it (git's
        two-way check, which refuses, touching nothing, if a file it must replace differs from
        what HEAD has: an edit made since the pending changes were committed; then each file
        put in place atomically, never over a write made during the move: sync/checkout.py). `git merge` instead stashed such an edit, reset the file to HEAD and applied
        the stash again, ignoring its errors: edits written meanwhile were lost, the rest left only
        in a dangling stash (bench/README.md, "What loses edits", 1). No rename detection: git's
        carried a fresh edit onto a conflict variant of the same file and dropped it (3), and
        moved files added to a folder the other side emptied to another folder (4)."""
        git = self.ctx.git
        label = _label(ref)
        aside: list[dict] = []
        for attempt in range(3):
            self.flush_pending()
            head = git.rev("HEAD")
            if head is not None and git.is_ancestor(sha, head):
                return aside
            new, records = self._merged_commit(head, sha, ref, label)
            blocked = self._move_to(head, new)
            if blocked is None:
                return aside + self._record(records) + self._record(self._written_meanwhile(ref, label))
            log.info("%s: merging %s waits: %s", self.ctx.root, ref, blocked[:300])
            if attempt == 0:
                # an untracked file the flush could not commit and that stands where the merge
                # writes is set aside: it stopped every merge for good (issue 15, finding 3)
                aside += self._record(clear_the_way(self.ctx, new, ref, label))
        raise GitError(["git", "read-tree", "-m", "-u", "HEAD", new], 1, "", blocked)

    def _merged_commit(self, head: str | None, sha: str, ref: str, label: str) -> tuple[str, list[dict]]:
        """The commit merging `sha` into `head` (`sha` itself for a fast-forward) and the records
        of the conflicts it resolved; only objects are written."""
        git = self.ctx.git
        if head is None or git.is_ancestor(head, sha):
            return sha, []
        index = self.ctx.state_dir / "merge.index"
        index.unlink(missing_ok=True)
        env = {"GIT_INDEX_FILE": str(index)}
        try:
            git.run("read-tree", "-m", "--aggressive", self._base_tree(head, sha), head, sha, env=env, timeout=600)
            records = resolve_index(self.ctx, env, head, sha, ref, label)
            tree = git.run("write-tree", env=env, timeout=600).stdout.strip()
        finally:
            index.unlink(missing_ok=True)
        message = with_trailers(f"Merge {label}", self.ctx.devices.me(), self._merged_device(ref, sha))
        commit = git.run("commit-tree", tree, "-p", head, "-p", sha, "-F", "-", input=message,
                         timeout=600).stdout.strip()
        return commit, records

    def _merged_device(self, ref: str, sha: str) -> Device:
        """The device whose branch `ref` is: a tagged push names its clone's UUID, a fetched
        ref its remote (whose annex-uuid git-annex recorded); a ref pushed into our synced/
        branch says nothing of who pushed it, so the commit's own trailer tells, if it has one."""
        parts = ref.split("/")
        uuid = ""
        if ref.startswith("refs/synced/") and len(parts) > 3:
            uuid = parts[2]
        elif ref.startswith("refs/remotes/") and len(parts) > 3:
            uuid = self.ctx.git.config_get(f"remote.{parts[2]}.annex-uuid") or ""
        if not uuid:
            message = self.ctx.git.run("log", "-1", "--format=%B", sha, check=False).stdout
            device, _ = device_of(message, {})
            uuid = device.uuid
            if not uuid:
                return device if device.name else Device("", _label(ref) if ref.startswith("refs/remotes/") else "")
        return self.ctx.devices.device(uuid)

    def _base_tree(self, head: str, sha: str) -> str:
        """The merge base's tree; where there are several (criss-cross merges, which twin merges
        of one conflict on two clones make), their own merge, as git's recursive strategy does."""
        git = self.ctx.git
        bases = git.run("merge-base", "--all", head, sha, check=False).stdout.split()
        if not bases:
            return EMPTY_TREE
        tree = bases[0]
        for other in bases[1:]:
            res = git.run("merge-tree", "--write-tree", "--allow-unrelated-histories", tree, other,
                          check=False, timeout=600)
            merged = res.stdout.split()[0] if res.stdout.split() else None
            if res.returncode not in (0, 1) or merged is None:
                return git.ref_sha(f"{bases[0]}^{{tree}}") or EMPTY_TREE
            # conflict markers and all, as a virtual base: only its differences to each side count
            tree = git.run("commit-tree", merged, "-p", tree, "-p", other, "-m", "virtual merge base").stdout.strip()
        return git.ref_sha(f"{tree}^{{tree}}") or EMPTY_TREE

    def _move_to(self, head: str | None, new: str) -> str | None:
        """Move the work tree, index and branch from `head` to `new`; None when done, else what
        stopped it (nothing was changed then)."""
        git = self.ctx.git
        if head is not None and git.ref_sha(f"{head}^{{tree}}") == git.ref_sha(f"{new}^{{tree}}"):
            git.run("update-ref", "-m", "syncassistant: merge", "HEAD", new, head)
            return None
        # a file only touched (stat changed, same content) is no edit: refresh first, as git merge does
        git.run("update-index", "-q", "--refresh", check=False, timeout=600)
        moved = checkout.move_work_tree(self.ctx, head, new)
        if isinstance(moved, str):
            return moved
        self._kept = moved
        git.run("update-ref", "-m", "syncassistant: merge", "HEAD", new, head or ZERO)
        self._smudge_needed = True
        self._written += git.changed_paths(head or EMPTY_TREE, new)
        return None

    def _written_meanwhile(self, ref: str, label: str) -> list[dict]:
        """Conflict records for files the user wrote while the last merge moved the work tree:
        their write kept the name, the merged version is beside it as a variant."""
        kept, self._kept = self._kept, None
        if kept is None:
            return []
        return [{"path": path, "variants": sorted([path, variant]), "remote": label, "source_ref": ref,
                 "why": "written during the merge"} for path, variant in sorted(kept.variants.items())]

    def _finish_stopped_merge(self, ref: str, label: str, why: str) -> list[dict] | None:
        """Finish a merge that git left in progress (MERGE_HEAD): resolve its conflicts, or
        commit it if its index is the whole merge; else abandon it (None) to do it again.

        A merge can stop with nothing unmerged and their side missing from the index (seen in a
        stress loop, about once in 100 merges of two clones adding files at once): committing
        that index made a merge commit without their changes, and the next merge deleted their
        files on every clone."""
        git = self.ctx.git
        if git.unmerged_paths():
            log.info("%s: conflict merging %s: keeping both versions", self.ctx.root, ref)
            kept = rescue.set_aside_edits(self.ctx)  # a user's edit made during it is no side
            try:
                return self._record(resolve_merge(self.ctx, ref, label))
            finally:
                rescue.put_back(self.ctx, kept)
        if self._index_holds_merge():  # stopped just before its commit (e.g. by a hook)
            commit_merge_in_progress(self.ctx)
            return []
        self._abandon_merge(why)
        return None

    def _index_holds_merge(self) -> bool:
        """The index is exactly the clean merge of HEAD and MERGE_HEAD (as git merge-tree makes it)."""
        git = self.ctx.git
        merged = git.run("merge-tree", "--write-tree", "HEAD", "MERGE_HEAD", check=False, timeout=600)
        index = git.run("write-tree", check=False, timeout=600)
        return (merged.returncode == 0 and index.returncode == 0 and bool(merged.stdout.split())
                and merged.stdout.split()[0] == index.stdout.strip())

    def _abandon_merge(self, why: str) -> None:
        """Undo a merge in progress that has no conflict to resolve (it is done again later).

        `merge --abort` puts the index and the files the merge touched back; where it cannot
        (a file changed meanwhile), `merge --quit` keeps the work tree as it is and only forgets
        the merge, and the committer commits what differs. Files the merge added to the work
        tree but not to the index would stop the next merge ("untracked files would be
        overwritten"): those still exactly as their side has them go; nothing is lost."""
        git = self.ctx.git
        log.warning("%s: %s: abandoning the merge, to do it again", self.ctx.root, why)
        added = _blobs(git, "MERGE_HEAD", git.run("diff", "--name-only", "-z", "--no-renames",
                                                   "--diff-filter=A", "HEAD", "MERGE_HEAD", check=False).stdout)
        if git.run("merge", "--abort", check=False, timeout=600).returncode != 0:
            git.run("merge", "--quit", check=False, timeout=600)
        tracked = set(git.run("ls-files", "-z", check=False).stdout.split("\0"))
        left = [p for p in added if p not in tracked and "\n" not in p
                and (self.ctx.root / p).is_file() and not (self.ctx.root / p).is_symlink()]
        if not left:
            return
        hashes = git.run("hash-object", "--no-filters", "--stdin-paths", input="".join(f"{p}\n" for p in left),
                         check=False).stdout.split()
        for path, sha in zip(left, hashes, strict=False):
            if sha == added[path]:
                (self.ctx.root / path).unlink()

    def _record(self, records: list[dict]) -> list[dict]:
        stored = [self.conflicts.add(r) for r in records]
        for r in stored:
            self.ctx.emit("conflict", **r)
        return stored


def _blobs(git: Git, rev: str, paths_z: str) -> dict[str, str]:
    """path -> blob id in `rev` of the regular files among the NUL-separated `paths_z`."""
    paths = [p for p in paths_z.split("\0") if p]
    if not paths:
        return {}
    res = git.run("ls-tree", "-r", "-z", rev, "--", *paths, check=False, env={"GIT_LITERAL_PATHSPECS": "1"})
    out = {}
    for entry in res.stdout.split("\0"):
        meta, _, path = entry.partition("\t")
        parts = meta.split()
        if len(parts) == 3 and parts[1] == "blob" and parts[0] in ("100644", "100755"):
            out[path] = parts[2]
    return out


def _label(ref: str) -> str:
    """A human name for where a merged ref came from."""
    if ref.startswith("refs/remotes/"):
        return ref.split("/")[2]
    if ref.startswith(("refs/heads/synced/", "refs/synced/")):
        return "a clone that pushed to us"
    return ref
