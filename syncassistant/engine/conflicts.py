"""Conflicts never stop syncing: resolve a conflicted merge keeping both sides, and record it.

Annexed files are resolved by git-annex itself (`git annex resolvemerge`), so a mixed network of
our clones, `git annex sync` and the assistant names variants the same way
(`name.variant-XXXX.ext`). What git-annex leaves unresolved (a conflict between two files kept in
git, not the annex) is resolved here the same way: ours keeps the name, theirs becomes a variant.
Each conflict is recorded in `.git/syncassistant/conflicts.json` for the conflicts window.
"""

from __future__ import annotations

import filecmp
import json
import logging
import os
import re
import threading
import time
import uuid
from pathlib import Path, PurePosixPath

from .context import RepoContext

log = logging.getLogger(__name__)

VARIANT = re.compile(r"^(?P<stem>.*)\.variant-(?P<tag>[0-9A-Za-z]+)(?P<ext>(\.[^./]*)?)$")


def variant_base(path: str) -> str | None:
    """The original name of a `name.variant-XXXX.ext` path, or None if it is no variant."""
    p = PurePosixPath(path)
    m = VARIANT.match(p.name)
    if not m:
        return None
    return str(p.with_name(m.group("stem") + m.group("ext")))


def variant_name(path: str, tag: str) -> str:
    p = PurePosixPath(path)
    suffix = p.suffix if len(p.suffix) <= 10 else ""
    stem = p.name[: len(p.name) - len(suffix)] if suffix else p.name
    return str(p.with_name(f"{stem}.variant-{tag}{suffix}"))


class ConflictStore:
    """The recorded conflicts of one repository (a small JSON file, rewritten atomically)."""

    def __init__(self, state_dir: Path):
        self.file = Path(state_dir) / "conflicts.json"
        self._lock = threading.Lock()

    def load(self) -> list[dict]:
        with self._lock:
            return self._read()

    def _read(self) -> list[dict]:
        try:
            data = json.loads(self.file.read_text())
            return data if isinstance(data, list) else []
        except (OSError, ValueError):
            return []

    def _write(self, items: list[dict]) -> None:
        tmp = self.file.with_name(self.file.name + ".tmp")
        tmp.write_text(json.dumps(items, indent=1))
        os.replace(tmp, self.file)

    def add(self, record: dict) -> dict:
        record = {"id": uuid.uuid4().hex[:12], "time": time.time(), "resolved": False, **record}
        with self._lock:
            items = self._read()
            items.append(record)
            self._write(items[-500:])
        return record

    def mark_resolved(self, conflict_id: str) -> bool:
        with self._lock:
            items = self._read()
            found = False
            for it in items:
                if it.get("id") == conflict_id:
                    it["resolved"] = True
                    found = True
            self._write(items)
            return found

    def open_conflicts(self) -> list[dict]:
        return [c for c in self.load() if not c.get("resolved")]


def resolve_merge(ctx: RepoContext, source_ref: str, source_label: str) -> list[dict]:
    """Finish a conflicted merge in progress keeping every version; commit; return the records.

    Caller holds ctx.lock and has checked that a merge is in progress (MERGE_HEAD exists).
    """
    git = ctx.git
    unmerged = git.unmerged_paths()
    theirs_commit = git.rev("MERGE_HEAD")
    ours_commit = git.rev("HEAD")
    before = set(_tree_paths(ctx, "HEAD"))
    res = ctx.annex.resolvemerge()
    if res.returncode != 0:
        log.warning("%s: git annex resolvemerge: %s", ctx.root, res.stderr.strip())
    for path in git.unmerged_paths():
        _keep_both(ctx, path)
    if (git.git_dir / "MERGE_HEAD").exists():
        git.run("commit", "-q", "--no-verify", "--no-edit", timeout=600)
    _normalise_side_names(ctx, before)
    _restore_lone_variants(ctx, before)
    after = git.run("ls-files", "-z").stdout.split("\0")
    created = [p for p in after if p and p not in before and variant_base(p) is not None]
    records: list[dict] = []
    groups: dict[str, list[str]] = {}
    for p in created:
        groups.setdefault(variant_base(p) or p, []).append(p)
    for path in unmerged:
        groups.setdefault(path, [])
    for path, variants in sorted(groups.items()):
        keep = [path] if (ctx.root / path).exists() and path in after else []
        if not keep and not variants:
            # Nothing to choose between: the versions were there before this merge (merging a
            # twin of a resolution both clones made at once). A record would show an empty choice.
            log.info("%s: merge conflict on %s left no new version: nothing to record", ctx.root, path)
            continue
        records.append({
            "path": path,
            "variants": sorted(set(keep + variants)),
            "remote": source_label,
            "source_ref": source_ref,
            "ours": _side_info(ctx, ours_commit, path),
            "theirs": _side_info(ctx, theirs_commit, path),
        })
    return records


_SIDE = re.compile(r"^(?P<base>.+?)~[^/~]+(?P<rest>\.variant-.+)$")


def _normalise_side_names(ctx: RepoContext, before: set[str]) -> None:
    """Drop the `~HEAD` / `~<ref>` that git adds in a file/folder conflict.

    git names the displaced file after the side it came from, which differs between the two
    clones resolving the same conflict; the variant tag (from the content's key) does not. Without
    the side name both clones pick the same name and converge instead of conflicting again.
    """
    git = ctx.git
    renames = []
    for p in git.run("ls-files", "-z").stdout.split("\0"):
        if not p or p in before:
            continue
        pp = PurePosixPath(p)
        m = _SIDE.match(pp.name)
        if m:
            new = str(pp.with_name(m.group("base") + m.group("rest")))
            if not os.path.lexists(ctx.root / new):
                renames.append((p, new))
    if not renames:
        return
    lit = {"GIT_LITERAL_PATHSPECS": "1"}
    for old, new in renames:
        git.run("mv", "-k", "--", old, new, env=lit)
    git.run("commit", "-q", "--no-verify", "-m", "Name conflict variants the same way on every clone")


def _restore_lone_variants(ctx: RepoContext, before: set[str]) -> None:
    """A conflict that left a single version (modify/delete) keeps the file's own name.

    git-annex names the surviving edit `name.variant-XXXX`; the edit won, so it goes back to
    `name` when that is free. Both clones do the same, so they converge.
    """
    git = ctx.git
    groups: dict[str, list[str]] = {}
    tracked = {p for p in git.run("ls-files", "-z").stdout.split("\0") if p}
    for p in tracked:
        base = variant_base(p) if p not in before else None
        if base:
            groups.setdefault(base, []).append(p)
    renames = [(v[0], base) for base, v in groups.items()
               if len(v) == 1 and (not os.path.lexists(ctx.root / base) or _leftover_copy(ctx, base, v[0], tracked))
               and not any(q.startswith(base + "/") for q in before)]
    if not renames:
        return
    lit = {"GIT_LITERAL_PATHSPECS": "1"}
    for old, new in renames:
        if os.path.lexists(ctx.root / new):
            os.unlink(ctx.root / new)  # the leftover copy: the same bytes stay in `old`
        git.run("mv", "-k", "--", old, new, env=lit)
    git.run("commit", "-q", "--no-verify", "-m", "Keep the edited file under its own name")


def _leftover_copy(ctx: RepoContext, base: str, variant: str, tracked: set[str]) -> bool:
    """`base` is an untracked regular file with exactly the variant's bytes: the edit git wrote
    there in the modify/delete conflict, left behind when git-annex renamed it. Replacing it with
    the variant loses nothing (seen once in CI: both clones then kept two copies)."""
    b, v = ctx.root / base, ctx.root / variant
    if base in tracked or b.is_symlink() or not b.is_file() or v.is_symlink() or not v.is_file():
        return False
    return filecmp.cmp(b, v, shallow=False)


def _tree_paths(ctx: RepoContext, rev: str) -> list[str]:
    r = ctx.git.run("ls-tree", "-r", "-z", "--name-only", rev, check=False)
    return [p for p in r.stdout.split("\0") if p]


def _side_info(ctx: RepoContext, commit: str | None, path: str) -> dict:
    if not commit:
        return {}
    r = ctx.git.run("log", "-1", "--format=%H%x00%cn%x00%ce%x00%ct", commit, "--", path, check=False)
    parts = r.stdout.strip().split("\0")
    if len(parts) != 4:
        return {"commit": commit}
    return {"commit": parts[0], "device": f"{parts[1]} <{parts[2]}>", "time": int(parts[3])}


def _keep_both(ctx: RepoContext, path: str) -> None:
    """Resolve one conflicted path that git-annex left alone (files kept in git)."""
    git = ctx.git
    stages: dict[str, tuple[str, str]] = {}
    for line in git.run("ls-files", "-u", "-z", "--", path, env={"GIT_LITERAL_PATHSPECS": "1"}).stdout.split("\0"):
        if not line:
            continue
        meta, _, _name = line.partition("\t")
        mode, sha, stage = meta.split()
        stages[stage] = (mode, sha)
    ours, theirs = stages.get("2"), stages.get("3")
    lit = {"GIT_LITERAL_PATHSPECS": "1"}
    if ours and theirs:
        variant = variant_name(path, theirs[1][:4])
        git.run("update-index", "--add", "--cacheinfo", f"{theirs[0]},{theirs[1]},{variant}")
        git.run("checkout", "-q", "--", variant, env=lit)
        git.run("checkout", "-q", "--ours", "--", path, env=lit)
        git.run("add", "--", path, env=lit)
    elif ours or theirs:  # modify/delete: the edit wins, nothing is lost
        side = "--ours" if ours else "--theirs"
        git.run("checkout", "-q", side, "--", path, env=lit)
        git.run("add", "--", path, env=lit)
    else:
        git.run("rm", "-q", "--cached", "--ignore-unmatch", "--", path, env=lit)
