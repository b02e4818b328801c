"""Finding content to move: what we have that remotes want and lack, what we want that they have.

One batched `git annex find --json` per remote and direction (over the whole tree at start-up,
or over the paths a merge changed), never a process per file. Preferred content decides
"wants": a repository with no preferred-content setting wants everything.
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass

from .. import routing
from ..annex import annex_binary, chunk_paths
from ..context import RepoContext
from ..git import base_env, kill_group
from .model import Transfer

log = logging.getLogger(__name__)

MODES = ("full", "git-only", "upload-only", "download-only", "off")
LOCAL_COST, SSH_COST = 100.0, 200.0


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


def remote_infos(ctx: RepoContext) -> list[RemoteInfo]:
    """Annex remotes that take part in content sync, cheapest first."""
    cfg = ctx.git.config_get_regexp(r"^remote\.")
    names = sorted({k.split(".")[1] for k in cfg if k.count(".") >= 2})
    out = []
    for n in names:
        p = f"remote.{n}."
        if cfg.get(p + "annex-ignore", "false") == "true" or cfg.get(p + "annex-sync", "true") == "false":
            continue
        mode = cfg.get(p + "syncassistant-mode", "full")
        if mode not in MODES or mode in ("off", "git-only"):
            continue
        url = cfg.get(p + "url", "")
        if not url and not cfg.get(p + "annex-uuid"):
            continue
        # Naming the remote makes git-annex probe it and record its UUID when not yet known.
        res = ctx.annex.run("wanted", n, check=False, timeout=60)
        uuid = cfg.get(p + "annex-uuid") or ctx.git.config_get(p + "annex-uuid")
        if not uuid or res.returncode != 0:
            continue
        default = LOCAL_COST if url.startswith(("/", "file://", ".")) else SSH_COST
        try:
            cost = float(cfg.get(p + "annex-cost", default))
        except ValueError:
            cost = default
        out.append(RemoteInfo(n, uuid, cost, mode, res.stdout.strip()))
    return sorted(out, key=lambda r: (r.cost, r.name))


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


def scan(ctx: RepoContext, paths: list[str] | None = None) -> list[Transfer]:
    """Transfers needed now, over the whole tree or the given paths."""
    if paths is not None:
        paths = [p for p in paths if os.path.lexists(ctx.root / p)]
        if not paths:
            return []
    remotes = remote_infos(ctx)
    out: list[Transfer] = []
    for r in remotes:
        if not r.uploads:
            continue
        args = ["--in=here", "--not", f"--in={r.name}"]
        if r.wanted:
            args.append(f"--want-get-by={r.name}")
        for rec in _find(ctx, args, paths):
            out.append(Transfer(rec["key"], rec.get("file", ""), "upload", r.name, _size(rec), r.cost))
    here_wants = ctx.annex.run("wanted", "here", check=False).stdout.strip()
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
    # uploads go along the minimum-cost arborescence of the network map (flooding where unknown)
    return routing.route_transfers(ctx, out)


def _size(rec: dict) -> int | None:
    try:
        return int(rec.get("bytesize"))
    except (TypeError, ValueError):
        return None
