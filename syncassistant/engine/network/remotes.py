"""A remote, in one place: what git's config says about it, whether and how we sync with it, the
checks a new one must pass, and adding one.

Everyone who asks about remotes asks here: the daemon (which remotes it pushes to), the
transfers' scanner (which move content, at what cost), the network map (its edges), the device
monitor and the remote path watcher (where a remote on this computer lives), the ssh change
watcher, and `remote add` in the CLI and the settings. Before, each read the config its own way,
and the scanner cut a remote's name at its first dot: a remote named like a host (`nas.home`)
was asked for as `nas` and moved no content, in either direction.

A git config key is `remote.<name>.<variable>`: the variable never holds a dot, the name may, so
the name is what lies between `remote.` and the last dot. Variables are case-insensitive (git
lowercases them), values of booleans too ("TRUE").
"""

from __future__ import annotations

import math
import os
import re
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlsplit

from ..proc.git import Git
from .urls import BadURL, RemoteURL, parse_remote_url

#: `remote.<name>.syncassistant-mode`: what we do with a remote (full: everything)
MODES = ("full", "git-only", "upload-only", "download-only", "off")
#: git-annex's default costs (netmap.CHEAP_REMOTE_COST, EXPENSIVE_REMOTE_COST): a git remote on a
#: local path, and any other (ssh, and special remotes without a cost of their own here)
LOCAL_COST, NETWORK_COST = 100.0, 200.0
# git's own rules for a remote's name (check-ref-format, as a path component), kept short
NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9._-]{0,62}$")


class BadRemote(ValueError):
    """A remote's name, URL or setting is refused; ``field`` says which ("name", "url", "cost",
    "mode"), for a form to show the message next to it."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


def default_cost(url: str) -> float:
    """git-annex's default cost for a git remote at ``url``: 100 for a local path, else 200.

    Follows git's rules: ``scheme://`` is a URL except ``file://``; ``host:path`` with the colon
    before any slash is scp-like ssh; anything else is a local path.
    """
    if "://" in url:
        return LOCAL_COST if url.startswith("file://") else NETWORK_COST
    colon, slash = url.find(":"), url.find("/")
    if colon > 0 and (slash < 0 or colon < slash):
        return NETWORK_COST
    return LOCAL_COST


def _flag(value: str | None, default: bool) -> bool:
    if value is None:
        return default
    return value.strip().lower() in ("true", "yes", "on", "1")


@dataclass(frozen=True)
class Remote:
    """One remote as git's config describes it."""

    name: str
    url: str  # "" for a special remote
    uuid: str | None  # remote.<name>.annex-uuid (git-annex records it once it has talked to it)
    mode: str  # remote.<name>.syncassistant-mode ("full" unless set)
    configured_cost: float | None  # remote.<name>.annex-cost, when set to a number >= 0
    ignore: bool  # annex-ignore: no git-annex there, content never moves
    sync: bool  # annex-sync (false: `git annex sync` and we leave it alone)
    pull: bool  # annex-pull (false: never fetched from)
    directory: str | None  # annex-directory: a directory special remote's folder

    @property
    def cost(self) -> float:
        """annex-cost, else git-annex's default for its kind."""
        if self.configured_cost is not None:
            return self.configured_cost
        return default_cost(self.url) if self.url else NETWORK_COST

    @property
    def pushed(self) -> bool:
        """A git remote we push to and fetch from."""
        return bool(self.url) and not self.ignore and self.sync and self.mode != "off"

    @property
    def moves_content(self) -> bool:
        """Content moves to or from it (a git remote, or a special remote git-annex knows)."""
        return (not self.ignore and self.sync and self.mode not in ("off", "git-only")
                and self.mode in MODES and bool(self.url or self.uuid))

    @property
    def uploads(self) -> bool:
        return self.moves_content and self.mode in ("full", "upload-only")

    @property
    def downloads(self) -> bool:
        return self.moves_content and self.mode in ("full", "download-only")

    def url_path(self, root: str | os.PathLike[str]) -> Path | None:
        """Where its URL points on this computer's file system (relative to the repository
        ``root``), or None (ssh, a special remote). Normalised, not resolved."""
        if not self.url:
            return None
        if self.url.startswith("file://"):
            path = unquote(urlsplit(self.url).path)
        else:
            try:
                parsed = parse_remote_url(self.url, base=root)
            except BadURL:
                return None
            if parsed.kind != "local":
                return None
            path = parsed.path
        return _normal(root, path)

    def local_path(self, root: str | os.PathLike[str]) -> Path | None:
        """Where the remote lives on this computer: its URL's path, or a directory special
        remote's folder; None for ssh and other special remotes."""
        if self.url:
            return self.url_path(root)
        return _normal(root, self.directory) if self.directory else None


def _normal(root: str | os.PathLike[str], path: str) -> Path:
    p = Path(os.path.expanduser(path))
    if not p.is_absolute():
        p = Path(root) / p
    return Path(os.path.normpath(p))


def read_remotes(cfg: dict[str, str]) -> dict[str, Remote]:
    """Every remote in a ``git config --get-regexp ^remote\\.`` dict, by name."""
    by_name: dict[str, dict[str, str]] = {}
    for key, value in cfg.items():
        if not key.startswith("remote."):
            continue
        name, _, variable = key[len("remote."):].rpartition(".")
        if name:
            by_name.setdefault(name, {})[variable.lower()] = value
    out = {}
    for name, v in sorted(by_name.items()):
        try:
            cost: float | None = float(v["annex-cost"])
            if not (math.isfinite(cost) and cost >= 0):
                cost = None
        except (KeyError, ValueError):
            cost = None
        out[name] = Remote(name=name, url=v.get("url", ""), uuid=v.get("annex-uuid") or None,
                           mode=v.get("syncassistant-mode", "full"), configured_cost=cost,
                           ignore=_flag(v.get("annex-ignore"), False), sync=_flag(v.get("annex-sync"), True),
                           pull=_flag(v.get("annex-pull"), True), directory=v.get("annex-directory") or None)
    return out


def remotes_of(git: Git) -> dict[str, Remote]:
    """Every remote of a repository (one git call)."""
    return read_remotes(git.config_get_regexp(r"^remote\."))


def remote_names(cfg: dict[str, str]) -> list[str]:
    """The names of the remotes in a ``git config --get-regexp ^remote\\.`` dict."""
    return list(read_remotes(cfg))


def remote_local_path(root: str | os.PathLike[str], cfg: dict[str, str], name: str) -> Path | None:
    """Where remote ``name`` lives on this computer (see :meth:`Remote.local_path`), or None."""
    remote = read_remotes(cfg).get(name)
    return remote.local_path(root) if remote else None


# ---------------------------------------------------------------------------------------------
# a new remote


def check_name(name: str, existing: list[str] | set[str]) -> str:
    """The name, stripped, if git takes it and no remote has it; else BadRemote("name")."""
    name = name.strip()
    if not name:
        raise BadRemote("name", "give the remote a short name, like laptop or usb-drive")
    if not NAME.match(name) or name.endswith((".lock", ".")) or ".." in name:
        raise BadRemote("name", "use letters, digits, '.', '_' and '-' only (no spaces)")
    if name in existing:
        raise BadRemote("name", f"there is a remote named {name} already")
    return name


def check_url(url: str, base: str | os.PathLike[str] | None = None) -> RemoteURL:
    """The URL in the form git gets (never a command-running transport); else BadRemote("url")."""
    try:
        return parse_remote_url(url, base=base)
    except BadURL as e:
        raise BadRemote("url", f"{url!r}: {e}") from None


def check_settings(cost: float | None, mode: str) -> None:
    if mode not in MODES:
        raise BadRemote("mode", f"unknown mode {mode} (one of {', '.join(MODES)})")
    if cost is not None and not (math.isfinite(cost) and cost >= 0):
        raise BadRemote("cost", "the cost is zero or more")


def add_remote(root: str | os.PathLike[str], name: str, url: str, *, cost: float | None = None,
               mode: str = "full") -> RemoteURL:
    """Check everything, then add the remote (`git remote add`, its cost and mode). Nothing is
    written when a check fails."""
    git = Git(Path(root))
    name = check_name(name, set(git.remotes()) | set(remote_names(git.config_get_regexp(r"^remote\."))))
    parsed = check_url(url, base=root)
    check_settings(cost, mode)
    git.run("remote", "add", "--", name, parsed.url)
    set_remote(root, name, cost, mode)
    return parsed


def set_remote(root: str | os.PathLike[str], name: str, cost: float | None, mode: str) -> None:
    """Change a remote's cost (None: git-annex's default) and mode."""
    check_settings(cost, mode)
    git = Git(Path(root))
    if cost is None:
        git.config_unset(f"remote.{name}.annex-cost")
    else:
        git.config_set(f"remote.{name}.annex-cost", f"{cost:g}")
    git.config_set(f"remote.{name}.syncassistant-mode", mode)
