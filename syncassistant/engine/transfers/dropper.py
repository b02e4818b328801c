"""Freeing space: content this clone does not want (a folder excluded here) is dropped here,
and content a transfer remote (a cloud bridge) no longer wants is dropped there.

As the git-annex assistant does: when this clone's preferred content (its per-directory rules)
says it does not want a file it holds, `git annex drop --auto` removes the local copy, and
git-annex itself first verifies that enough other copies exist (numcopies, required content).
We only choose when and which paths; git-annex makes the decision that can lose data. A file
whose only copy is here is never dropped: it is uploaded first and dropped on a later scan.
"""

from __future__ import annotations

import logging

from ..context import RepoContext
from ..proc.annex import chunk_paths, parse_json_lines
from .scanner import remote_infos_and_wanted

log = logging.getLogger(__name__)

DROP_TIMEOUT = 3600.0


def drop_unwanted(ctx: RepoContext, paths: list[str] | None = None) -> list[str]:
    """Drop here the content of ``paths`` (None: the whole tree) that this clone does not want,
    where git-annex verifies enough copies elsewhere. Returns the files dropped."""
    if not remote_infos_and_wanted(ctx)[1]:
        return []  # the common case costs nothing: no rule, nothing is unwanted
    # a local, cheap question first: most scans find nothing to drop and contact no remote
    chunks: list[list[str] | None] = [None] if paths is None else list(chunk_paths(paths))
    candidates: list[str] = []
    for chunk in chunks:
        res = ctx.annex.run("find", "--json", "--in=here", "--want-drop", *(["--", *chunk] if chunk else []),
                            check=False, timeout=DROP_TIMEOUT)
        candidates += [r["file"] for r in parse_json_lines(res.stdout) if r.get("file")]
    # git-annex verifies the other copies by asking the remotes: not one whose repository is
    # away from its path (it would write there as if it were: engine/remotepaths)
    away = [a for r in ctx.remote_paths.absent() for a in ("-c", f"remote.{r}.annex-ignore=true")]
    dropped: list[str] = []
    for chunk in chunk_paths(candidates):
        if ctx.stopping.is_set():
            break
        with ctx.lock:  # it rewrites work-tree files and the index, as commits and merges do
            res = ctx.annex.run("drop", *away, "--auto", "--json", "--json-error-messages", "--", *chunk,
                                check=False, timeout=DROP_TIMEOUT)
        for rec in parse_json_lines(res.stdout):
            if rec.get("success") and rec.get("file"):
                dropped.append(rec["file"])
            elif rec.get("file"):
                log.info("%s: kept %s here: %s", ctx.root, rec["file"],
                         "; ".join(rec.get("error-messages") or []) or "git-annex would not drop it")
    if dropped:
        log.info("%s: dropped %d unwanted file(s) here (copies verified elsewhere)", ctx.root, len(dropped))
        ctx.emit("dropped", paths=dropped[:100], count=len(dropped))
    return dropped


TRANSFER_GROUP = "transfer"


def drop_from_transfer_remotes(ctx: RepoContext, paths: list[str] | None) -> list[str]:
    """Drop from each remote in git-annex's standard group "transfer" (a cloud bridge: it holds
    content only until every client has it) what it no longer wants among ``paths`` (None: the
    whole tree), as the git-annex assistant does. git-annex decides: `drop --auto --from`
    checks the remote's preferred content (`standard` for transfer: wanted while not every
    client has it) and verifies numcopies copies elsewhere first. Returns "remote:path" of
    each copy dropped."""
    infos = [r for r in remote_infos_and_wanted(ctx)[0] if r.wanted]  # (wants everything: keeps everything)
    away = set(ctx.remote_paths.absent())
    names = [r.name for r in infos if r.name not in away
             and TRANSFER_GROUP in ctx.annex.run("group", r.name, check=False).stdout.split()]
    dropped: list[str] = []
    for name in names:
        chunks: list[list[str] | None] = [None] if paths is None else list(chunk_paths(paths))
        there: list[str] = []
        for chunk in chunks:  # (the location log, local: no question to the remote yet)
            res = ctx.annex.run("find", "--json", f"--in={name}", *(["--", *chunk] if chunk else []),
                                check=False, timeout=DROP_TIMEOUT)
            there += [r["file"] for r in parse_json_lines(res.stdout) if r.get("file")]
        for chunk in chunk_paths(there):
            if ctx.stopping.is_set():
                return dropped
            res = ctx.annex.run("drop", "--from", name, "--auto", "--json", "--json-error-messages", "--", *chunk,
                                check=False, timeout=DROP_TIMEOUT)
            dropped += [f"{name}:{r['file']}" for r in parse_json_lines(res.stdout)
                        if r.get("success") and r.get("file")]
    if dropped:
        log.info("%s: dropped %d copies no transfer remote wants any more (every client has them)",
                 ctx.root, len(dropped))
        ctx.emit("dropped", paths=dropped[:100], count=len(dropped))
    return dropped
