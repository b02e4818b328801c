"""Finding content to move: what we have that remotes want and lack, what we want that they have.

One batched `git annex find --json` per remote and direction over the whole tree when it must
be (no recorded scan: see scanstate, which makes a start look only at what changed), never a
process per file. Preferred content decides "wants": a repository with no
preferred-content setting wants everything. Scans of a few paths (after a commit or a merge)
are on the path from a change to its content arriving elsewhere, so they are cut to one
`git annex whereis --json` when no preferred-content expression is set, and what we know of
the remotes is cached until git's config or the git-annex branch changes.
"""

from __future__ import annotations

import json
import logging
import os
import re
import subprocess
import threading
from collections.abc import Iterator
from dataclasses import dataclass

from ..context import RepoContext
from ..network import routing
from ..network.netmap_store import annex_log_stamp
from ..network.remotes import remotes_of
from ..proc.annex import annex_binary, chunk_paths
from ..proc.git import base_env, kill_group
from . import pointers
from .model import Transfer

log = logging.getLogger(__name__)


@dataclass
class RemoteInfo:
    name: str
    uuid: str
    cost: float
    mode: str
    wanted: str  # preferred content expression ("" = wants everything)

    @property
    def uploads(self) -> bool:
        return self.mode in ("full", "upload-only")

    @property
    def downloads(self) -> bool:
        return self.mode in ("full", "download-only")


_cache_lock = threading.Lock()
_cache: dict[str, tuple[tuple, list[RemoteInfo], str]] = {}


def _stamp(ctx: RepoContext) -> tuple:
    """Changes whenever what remote_infos reads may have: git's config (remotes, costs, modes,
    UUIDs) or the git-annex branch (preferred-content expressions)."""
    try:
        mtime = os.stat(ctx.git.git_dir / "config").st_mtime_ns
    except OSError:
        mtime = None
    # the logs preferred content is made of, not the whole branch (every commit moves that)
    return (mtime, annex_log_stamp(ctx.git, "preferred-content.log", "group.log", "groupwanted.log",
                                   "required-content.log"))


def remote_infos_and_wanted(ctx: RepoContext) -> tuple[list[RemoteInfo], str]:
    """remote_infos() and this clone's own preferred content, from the cache when still true."""
    infos, here_wants, _ = remote_infos_checked(ctx)
    return infos, here_wants


def remote_infos_checked(ctx: RepoContext) -> tuple[list[RemoteInfo], str, bool]:
    """remote_infos_and_wanted(), and whether every remote could be probed (else one is
    missing from the list)."""
    stamp = _stamp(ctx)
    with _cache_lock:
        hit = _cache.get(str(ctx.root))
    if hit and hit[0] == stamp:
        return hit[1], hit[2], True
    infos, complete = _remote_infos(ctx)
    here_wants = _expression(ctx.annex.run("wanted", "here", check=False).stdout)
    if complete:  # a remote we could not probe is probed again next time
        with _cache_lock:
            _cache[str(ctx.root)] = (stamp, infos, here_wants)
    return infos, here_wants, complete


def _expression(text: str) -> str:
    """A preferred-content expression, "" for one that wants everything."""
    text = text.strip()
    return "" if text == "anything" else text


def fresh_uploads(ctx: RepoContext, added: dict[str, str]) -> list[Transfer] | None:
    """Uploads of content just added here (path -> key), decided without asking git-annex
    where it is: it is here, and everyone wants everything. None when preferred content is in
    play (then scan). Saves the scan's git-annex process on the way from a new file to the
    other clones."""
    remotes, here_wants = remote_infos_and_wanted(ctx)
    if here_wants or any(r.wanted for r in remotes):
        return None
    out = [Transfer(key, path, "upload", r.name, _key_size(key), r.cost)
           for path, key in added.items() for r in remotes if r.uploads]
    return routing.route_transfers(ctx, out, down_remotes=_down(ctx), fresh=True)


def remote_infos(ctx: RepoContext) -> list[RemoteInfo]:
    """Annex remotes that take part in content sync, cheapest first."""
    return remote_infos_and_wanted(ctx)[0]


def _remote_infos(ctx: RepoContext) -> tuple[list[RemoteInfo], bool]:
    complete = True
    out = []
    # (engine/network/remotes.py reads names with dots whole: `nas.home` was asked for as `nas` here)
    for n, remote in remotes_of(ctx.git).items():
        if not remote.moves_content:
            continue
        # Naming the remote makes git-annex probe it and record its UUID when not yet known.
        res = ctx.annex.run("wanted", n, check=False, timeout=60)
        uuid = remote.uuid or ctx.git.config_get(f"remote.{n}.annex-uuid")
        if not uuid or res.returncode != 0:
            complete = False
            continue
        out.append(RemoteInfo(n, uuid, remote.cost, remote.mode, _expression(res.stdout)))
    return sorted(out, key=lambda r: (r.cost, r.name)), complete


def _find(ctx: RepoContext, args: list[str], paths: list[str] | None) -> Iterator[dict]:
    """Stream `git annex find --json` records (chunked over paths if given)."""
    chunks: list[list[str] | None] = [None] if paths is None else list(chunk_paths(paths))
    for chunk in chunks:
        argv = [annex_binary(), "find", "--json", "--json-error-messages", *args]
        if chunk is not None:
            argv += ["--", *chunk]
        proc = subprocess.Popen(argv, cwd=ctx.root, env=base_env(), stdout=subprocess.PIPE,
                                stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL, start_new_session=True)
        try:
            assert proc.stdout is not None
            for line in proc.stdout:
                if ctx.stopping.is_set():
                    break
                try:
                    rec = json.loads(line)
                except ValueError:
                    continue
                if rec.get("key"):
                    yield rec
        finally:
            kill_group(proc)
            proc.wait()


@dataclass
class ScanResult:
    transfers: list[Transfer]  # what to do now (after routing)
    # Paths for which a transfer was proposed before routing: work outstanding, whether queued
    # now or left to another clone by the tree (kept for the next start, see scanstate).
    proposed: set[str]


def scan(ctx: RepoContext, paths: list[str] | None = None) -> list[Transfer]:
    """Transfers needed now, over the whole tree or the given paths."""
    return scan_paths(ctx, paths).transfers


def scan_paths(ctx: RepoContext, paths: list[str] | None = None,
               infos: tuple[list[RemoteInfo], str] | None = None) -> ScanResult:
    """:func:`scan`, also saying which paths had transfers proposed before routing. `infos`:
    remote_infos_and_wanted() as the caller already read it."""
    if paths is not None:
        paths = [p for p in paths if os.path.lexists(ctx.root / p)]
        if not paths:
            return ScanResult([], set())
    remotes, here_wants = infos or remote_infos_and_wanted(ctx)
    if paths is not None and not here_wants and not any(r.wanted for r in remotes):
        proposed = _scan_locations(ctx, remotes, paths)
    else:
        proposed = _scan_find(ctx, remotes, here_wants, paths)
    # uploads go along the minimum-cost arborescence of the network map (flooding where unknown)
    routed = routing.route_transfers(ctx, proposed, down_remotes=_down(ctx), download_grace=routing.DOWNLOAD_GRACE)
    return ScanResult(routed, {t.path for t in proposed})


def _scan_find(ctx: RepoContext, remotes: list[RemoteInfo], here_wants: str,
               paths: list[str] | None) -> list[Transfer]:
    """Two `git annex find` per remote (what it lacks and wants, what it has that we want)."""
    out: list[Transfer] = []
    for r in remotes:
        if not r.uploads:
            continue
        args = ["--in=here", "--not", f"--in={r.name}"]
        if r.wanted:
            args.append(f"--want-get-by={r.name}")
        for rec in _find(ctx, args, paths):
            out.append(Transfer(rec["key"], rec.get("file", ""), "upload", r.name, _size(rec), r.cost))
    seen: set[str] = set()
    for r in remotes:
        if not r.downloads:
            continue
        args = ["--not", "--in=here", f"--in={r.name}"]
        if here_wants:
            args.append("--want-get")
        for rec in _find(ctx, args, paths):
            if rec["key"] in seen:
                continue
            seen.add(rec["key"])
            out.append(Transfer(rec["key"], rec.get("file", ""), "download", r.name, _size(rec), r.cost))
    return out


def _down(ctx: RepoContext) -> set[str] | None:
    return ctx.down_remotes() if ctx.down_remotes else None


def _scan_locations(ctx: RepoContext, remotes: list[RemoteInfo], paths: list[str]) -> list[Transfer]:
    """Everyone wants everything: one `git annex whereis` tells, for every remote at once, what
    to send and what to fetch (instead of two `find`s per remote). Not routed yet."""
    out: list[Transfer] = []
    seen: set[str] = set()
    here_paths: list[str] = []
    for chunk in chunk_paths(paths):
        argv = [annex_binary(), "whereis", "--json", "--json-error-messages", "--", *chunk]
        proc = subprocess.run(argv, cwd=ctx.root, env=base_env(), capture_output=True,
                              stdin=subprocess.DEVNULL, timeout=600)
        for line in proc.stdout.splitlines():
            try:
                rec = json.loads(line)
            except ValueError:
                continue
            key = rec.get("key")
            if not key or key in seen:
                continue
            seen.add(key)
            at = {w.get("uuid") for w in rec.get("whereis") or []}
            here = any(w.get("here") for w in rec.get("whereis") or [])
            size, path = _key_size(key), rec.get("file", "")
            if here:
                here_paths.append(path)
                out += [Transfer(key, path, "upload", r.name, size, r.cost)
                        for r in remotes if r.uploads and r.uuid not in at]
            else:
                source = next((r for r in remotes if r.downloads and r.uuid in at), None)
                if source is not None:
                    out.append(Transfer(key, path, "download", source.name, size, source.cost))
    pointers.fill_in(ctx, pointers.left_as_pointers(ctx, here_paths))
    return out


def _key_size(key: str) -> int | None:
    m = re.match(r"^[A-Z0-9]+-s(\d+)-", key)
    return int(m.group(1)) if m else None


def _size(rec: dict) -> int | None:
    try:
        return int(rec.get("bytesize"))
    except (TypeError, ValueError):
        return None
