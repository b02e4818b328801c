"""`syncassistant map PATH`: draw the repository network and the current arborescence.

Formats: ``dot`` (Graphviz source, the default), ``json`` (:meth:`NetMap.to_json`) and ``png``
(rendered by Graphviz's ``dot`` when it is installed, else drawn with Qt offscreen by
:mod:`syncassistant.ui.map_render`; the engine itself never imports Qt's GUI modules).

The map is read without changing anything: the published logs plus other clones' copies not
merged yet, with this clone's own edges taken live from its git config (so it also works while
no daemon runs).  Tree edges are bold blue, unusable edges dashed, unreachable clones grey.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
from pathlib import Path

from .engine.network.netmap import NetMap
from .engine.network.netmap_store import load_map, my_uuid, resolve_repository
from .engine.proc.git import Git
from .engine.repo import open_repo

FORMATS = ("dot", "png", "json")
DOT_TIMEOUT = 60.0


class MapError(RuntimeError):
    """A one-line reason the map could not be made."""


def register(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Add the ``map`` command to the CLI's subparsers; returns its parser."""
    s = subparsers.add_parser(
        "map",
        help="draw the network of clones: costs, the routing tree, unreachable clones",
        description="Draw the repository network as this clone knows it. Tree edges (bold) are "
                    "the minimum-cost arborescence content from --root travels along.",
    )
    s.add_argument("path", metavar="PATH", help="the repository")
    s.add_argument("--format", choices=FORMATS, default="dot", help="output format (default: dot)")
    s.add_argument("--root", metavar="REPO", default="here",
                   help="where content enters the network: a UUID, a remote name, a description, "
                        "'here' (default) or 'none' for no tree")
    s.add_argument("-o", "--output", metavar="FILE", help="write to FILE instead of standard output")
    s.add_argument("--qt", action="store_true", help="png: draw with Qt even if Graphviz is installed")
    s.set_defaults(func=cmd_map)
    return s


def build_map(path: str | Path, root: str | None = "here") -> tuple[NetMap, str | None]:
    """(the map of the repository at ``path``, the resolved root UUID or None)."""
    top = open_repo(path)
    git = Git(top)
    if not my_uuid(git):
        raise MapError(f"{top}: not a git-annex repository (run: syncassistant init {top})")
    netmap = load_map(git, include_incoming=True, local=True)
    if root is None or root == "none":
        return netmap, None
    uuid = resolve_repository(git, root)
    if uuid is None:
        raise MapError(f"--root {root!r}: no such repository (give a UUID, a remote name or a description)")
    return netmap, uuid


def render(netmap: NetMap, root: str | None, fmt: str, *, prefer_qt: bool = False) -> bytes:
    """The map in ``fmt`` ("dot", "json" or "png") as bytes."""
    if fmt == "json":
        return netmap.to_json(root).encode()
    dot = netmap.to_dot(root)
    if fmt == "dot":
        return dot.encode()
    if fmt != "png":
        raise MapError(f"unknown format {fmt!r}")
    graphviz = shutil.which("dot")
    if graphviz and not prefer_qt:
        res = subprocess.run([graphviz, "-Tpng"], input=dot.encode(), capture_output=True,
                             timeout=DOT_TIMEOUT, check=False)
        if res.returncode == 0 and res.stdout:
            return res.stdout
        reason = res.stderr.decode(errors="replace").strip().splitlines()
        raise MapError(f"graphviz failed: {reason[-1] if reason else res.returncode}")
    try:
        from .ui.map_render import render_png
    except ImportError as e:  # PySide6 missing
        raise MapError(f"png needs Graphviz (dot) or PySide6: {e}") from None
    return render_png(netmap, root)


def cmd_map(args: argparse.Namespace) -> int:
    """Run ``syncassistant map``."""
    try:
        netmap, root = build_map(args.path, args.root)
        data = render(netmap, root, args.format, prefer_qt=args.qt)
    except MapError as e:
        print(f"syncassistant: {e}", file=sys.stderr)
        return 1
    if args.output and args.output != "-":
        Path(args.output).write_bytes(data)
    elif args.format == "png" and sys.stdout.isatty():
        print("syncassistant: not writing a PNG to a terminal; use -o FILE", file=sys.stderr)
        return 1
    else:
        sys.stdout.buffer.write(data)
        sys.stdout.flush()
    return 0
