"""Remotes as the settings dialog sees them, without Qt: list, check, test, add, change, remove.

A remote is a plain git remote; its cost is git-annex's `remote.<name>.annex-cost` and its mode
`remote.<name>.syncassistant-mode`. What a remote is, its checks and adding one live in the
engine (`engine/network/remotes.py`, which the CLI uses too); this module turns the form's fields into
them. Every URL goes through the engine's `parse_remote_url` before git sees it, and git only
runs through the engine's `Git`.
"""

from __future__ import annotations

import os
import socket
from dataclasses import dataclass
from pathlib import Path

from ..engine.network import remotes
from ..engine.network.urls import BadURL, RemoteURL, parse_remote_url
from ..engine.proc.git import Git

MODES = remotes.MODES  # (the form's mode choices)
# git-annex's own defaults for these kinds (the form's cost field shows whole numbers)
DEFAULT_COST = {"local": int(remotes.LOCAL_COST), "ssh": int(remotes.NETWORK_COST)}
TEST_TIMEOUT = 20.0


@dataclass
class RemoteRow:
    name: str
    url: str
    cost: int | None
    mode: str


#: Input refused; `field` names the form field the message belongs next to (the engine's own)
FieldProblem = remotes.BadRemote


def default_cost(url: str) -> int:
    """git-annex's cost for a remote with no annex-cost set: local paths 100, others 200."""
    return int(remotes.default_cost(url))


def check_name(name: str, existing: list[str]) -> str:
    return remotes.check_name(name, existing)


def local_url(folder: str) -> RemoteURL:
    """A folder or drive path; it must exist."""
    text = folder.strip()
    if not text:
        raise FieldProblem("folder", "choose a folder")
    path = Path(text).expanduser()
    if not path.is_absolute():
        raise FieldProblem("folder", "use the folder's full path (starting with /)")
    if not path.exists():
        raise FieldProblem("folder", f"{path} does not exist")
    if not path.is_dir():
        raise FieldProblem("folder", f"{path} is not a folder")
    try:
        return parse_remote_url(str(path))
    except BadURL as e:
        raise FieldProblem("folder", str(e)) from None


def ssh_url(user: str, host: str, port: int, path: str) -> RemoteURL:
    """ssh://user@host:port/path from the form's fields, checked by the engine's URL rules."""
    user, host, path = user.strip(), host.strip(), path.strip()
    if not host:
        raise FieldProblem("host", "type the server's name or address")
    if not path:
        raise FieldProblem("path", "type the repository's folder on the server")
    if not 0 < port < 65536:
        raise FieldProblem("port", "the port is a number from 1 to 65535")
    if any(c.isspace() for c in host):
        raise FieldProblem("host", "a server name has no spaces")
    if path.startswith("~"):
        path = "/" + path
    elif not path.startswith("/"):
        path = "/~/" + path
    netloc = host if ":" not in host or host.startswith("[") else f"[{host}]"
    if port != 22:
        netloc += f":{port}"
    if user:
        netloc = f"{user}@{netloc}"
    text = f"ssh://{netloc}{path}"
    try:
        return parse_remote_url(text)
    except BadURL as e:
        msg = str(e)
        field = ("user" if "user" in msg else "host" if "host" in msg else "port" if "port" in msg
                 else "path")
        raise FieldProblem(field, msg) from None


def list_remotes(root: Path) -> list[RemoteRow]:
    git = Git(root)
    found = remotes.remotes_of(git)
    rows = []
    for name in git.remotes():
        r = found.get(name)
        if r is None:
            continue
        cost = None if r.configured_cost is None else int(r.configured_cost)
        rows.append(RemoteRow(name, r.url, cost, r.mode))
    return rows


def test_remote(root: Path, url: str, timeout: float = TEST_TIMEOUT) -> str | None:
    """None if `git ls-remote` reaches a repository at url, else the reason in one line."""
    r = Git(root).run("ls-remote", "--heads", "--", url, check=False, timeout=timeout)
    if r.returncode == 0:
        return None
    lines = [ln for ln in r.stderr.strip().splitlines() if ln.strip()]
    return lines[-1].removeprefix("fatal: ") if lines else f"git ls-remote failed ({r.returncode})"


def folder_is_empty(folder: str) -> bool:
    try:
        return not any(Path(folder).expanduser().iterdir())
    except OSError:
        return False


def create_copy(root: Path, folder: str) -> None:
    """Start a new copy (a bare clone with git-annex, the way drives hold one) in an empty folder."""
    dest = Path(folder).expanduser()
    if not folder_is_empty(str(dest)):
        raise FieldProblem("folder", f"{dest} is not empty: choose an empty folder for a new copy")
    Git(root).run("clone", "--bare", "-q", "--", str(root), str(dest), timeout=600)
    desc = f"{os.environ.get('USER') or 'user'}@{socket.gethostname() or 'localhost'}:{dest}"
    Git(dest).run("annex", "init", "--", desc, timeout=120)


def add_remote(root: Path, name: str, url: str, cost: int | None, mode: str) -> None:
    remotes.add_remote(root, name, url, cost=cost, mode=mode)


def set_remote(root: Path, name: str, cost: int | None, mode: str) -> None:
    remotes.set_remote(root, name, cost, mode)


def remove_remote(root: Path, name: str) -> None:
    Git(root).run("remote", "remove", "--", name)

