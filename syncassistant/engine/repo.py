"""Making a folder a synced repository, and checking that a path is one.

`init_repo` is idempotent: it creates a new repository or adopts an existing git or git-annex
clone, and sets the defaults a sync app needs (files stay ordinary editable files: unlocked).
"""

from __future__ import annotations

import os
import socket
from pathlib import Path

from .proc.annex import Annex
from .proc.git import Git, GitError


class RepoError(RuntimeError):
    """The path is not usable as a synced repository; the message says what to do."""


def find_toplevel(path: str | Path) -> Path:
    p = Path(path).expanduser()
    if not p.exists():
        raise RepoError(f"{p}: no such folder")
    if not p.is_dir():
        raise RepoError(f"{p}: not a folder")
    r = Git(p).run("rev-parse", "--show-toplevel", check=False)
    if r.returncode != 0:
        raise RepoError(f"{p}: not a git repository (make it one with: syncassistant init {p})")
    top = Path(r.stdout.strip())
    if top.resolve() != p.resolve():
        raise RepoError(f"{p}: is inside the repository {top}; use its top folder")
    return top


def open_repo(path: str | Path) -> Path:
    """Return the repository's top folder, or raise RepoError saying how to fix it."""
    top = find_toplevel(path)
    if not Annex(top).uuid():
        raise RepoError(f"{top}: a git repository without git-annex "
                        f"(run: syncassistant init {top})")
    if Git(top).current_branch() is None:
        raise RepoError(f"{top}: HEAD is detached; check out a branch first")
    return top


def init_repo(path: str | Path, name: str | None = None) -> Path:
    """Create or adopt a repository at `path` (idempotent); return its top folder."""
    p = Path(path).expanduser().absolute()
    if p.exists() and not p.is_dir():
        raise RepoError(f"{p}: exists and is not a folder")
    p.mkdir(parents=True, exist_ok=True)
    git = Git(p)
    r = git.run("rev-parse", "--show-toplevel", check=False)
    if r.returncode != 0:
        git.run("init", "-q")
    elif Path(r.stdout.strip()).resolve() != p.resolve():
        raise RepoError(f"{p}: is inside the repository {r.stdout.strip()}; init its top folder")
    annex = Annex(p)
    try:
        if not annex.uuid():
            annex.init(name or default_description(p))
        elif name:
            annex.run("describe", "here", name)
    except GitError as e:
        raise RepoError(f"{p}: git annex init failed: {e}") from None
    # Ordinary, editable files in the work tree, as a sync app's users expect.
    if git.config_get("annex.addunlocked") is None:
        git.config_set("annex.addunlocked", "true")
    if git.config_get("user.name") is None and not _global_identity(git):
        git.config_set("user.name", "syncassistant")
        git.config_set("user.email", f"syncassistant@{socket.gethostname() or 'localhost'}")
    if git.current_branch() is not None and git.rev("HEAD") is None:
        git.run("commit", "-q", "--allow-empty", "--no-verify", "-m", "syncassistant: new repository")
    return p


def _global_identity(git: Git) -> bool:
    return bool(os.environ.get("GIT_AUTHOR_NAME")) or git.config_get("user.name") is not None


def default_description(path: Path) -> str:
    return f"{os.environ.get('USER') or 'user'}@{socket.gethostname() or 'localhost'}:{path}"
