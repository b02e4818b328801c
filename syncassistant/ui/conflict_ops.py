"""What the conflicts window needs from the disk, without Qt: facts about each variant of a
conflict, a text diff, and the two resolutions.

Resolving is an ordinary change to the work tree (delete, rename) that the running daemon
commits and syncs like any other; the caller then marks the record resolved.
"""

from __future__ import annotations

import difflib
import os
import re
import shutil
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

from ..engine.proc.git import Git

TEXT_LIMIT = 1024 * 1024  # larger files get no diff
IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".gif", ".bmp", ".webp", ".svg", ".tif", ".tiff", ".ico"}
_POINTER = re.compile(rb"^/annex/objects/(?P<key>[A-Za-z0-9]+(?:-[a-z][0-9]+)*--[^\s/]+)\s*$")
_KEY_SIZE = re.compile(r"-s(\d+)(?:-|$)")


class ConflictError(RuntimeError):
    """A resolution cannot be done as asked; the message says why."""


@dataclass
class VariantInfo:
    path: str  # relative to the repository
    exists: bool
    is_dir: bool
    size: int | None  # content size in bytes (from the annex key when the content is elsewhere)
    present: bool  # the content is on this device
    side: str | None  # "ours" (this device's version) | "theirs" (came from the remote) | None
    device: str | None
    time: float | None
    kind: str  # "text" | "image" | "binary" | "folder" | "missing" | "elsewhere"


def safe_path(root: Path, rel: str) -> Path:
    """root/rel, refusing anything that would leave the repository."""
    p = PurePosixPath(rel)
    if p.is_absolute() or ".." in p.parts or not rel or rel.startswith(".git/") or rel == ".git":
        raise ConflictError(f"{rel!r} is not a path inside the repository")
    return root / rel


def pointer_key(path: Path) -> str | None:
    """The annex key if `path` is an unlocked file whose content is not here (a pointer file)."""
    try:
        if path.is_symlink():  # a locked annexed file: its target names the key
            target = os.readlink(path)
            if "/annex/objects/" in target and not path.exists():
                return os.path.basename(target)
            return None
        if path.stat().st_size > 512:
            return None
        m = _POINTER.match(path.read_bytes().strip())
    except OSError:
        return None
    return m.group("key").decode() if m else None


def key_size(key: str) -> int | None:
    m = _KEY_SIZE.search(key.split("--", 1)[0])
    return int(m.group(1)) if m else None


def _blobs(root: Path, record: dict[str, Any]) -> tuple[dict[str, str], dict[str, str]]:
    """(variant -> blob in HEAD's index, side -> blob of the conflicted path on that side)."""
    git = Git(root)
    lit = {"GIT_LITERAL_PATHSPECS": "1"}
    variants = [v for v in record.get("variants") or []]
    index: dict[str, str] = {}
    if variants:
        out = git.run("ls-files", "-s", "-z", "--", *variants, check=False, env=lit, timeout=30).stdout
        for entry in out.split("\0"):
            meta, _, name = entry.partition("\t")
            if name and len(meta.split()) >= 2:
                index[name] = meta.split()[1]
        out = git.run("ls-tree", "-z", "HEAD", "--", *variants, check=False, env=lit, timeout=30).stdout
        for entry in out.split("\0"):
            meta, _, name = entry.partition("\t")
            if name and name not in index and len(meta.split()) >= 3:
                index[name] = meta.split()[2]
    sides: dict[str, str] = {}
    for side in ("ours", "theirs"):
        commit = (record.get(side) or {}).get("commit")
        if commit:
            spec = f"{commit}:{record.get('path', '')}"
            r = git.run("rev-parse", "--verify", "-q", spec, check=False, timeout=30)
            if r.returncode == 0 and r.stdout.strip():
                sides[side] = r.stdout.strip()
    return index, sides


def variant_infos(root: Path, record: dict[str, Any]) -> list[VariantInfo]:
    """Facts about every variant of a recorded conflict (runs git: call it off the GUI thread)."""
    root = Path(root)
    index, sides = _blobs(root, record)
    infos = []
    for rel in record.get("variants") or []:
        p = safe_path(root, rel)
        exists = os.path.lexists(p)
        is_dir = p.is_dir() and not p.is_symlink()
        side = next((s for s, blob in sides.items() if index.get(rel) == blob), None)
        key = pointer_key(p) if exists and not is_dir else None
        if not exists:
            size, kind = None, "missing"
        elif is_dir:
            size, kind = _dir_size(p), "folder"
        elif key:
            size, kind = key_size(key), "elsewhere"
        else:
            size = p.stat().st_size
            kind = _kind(p)
        info = (record.get(side) or {}) if side else {}
        infos.append(VariantInfo(rel, exists, is_dir, size, exists and not key, side,
                                 # a device name, recorded since provenance; older records
                                 # named the git author, who is the same on every device
                                 info.get("device") if "device_uuid" in info else None,
                                 info.get("time"), kind))
    return infos


def _dir_size(p: Path) -> int:
    total = 0
    for dirpath, _dirs, files in os.walk(p):
        for f in files:
            try:
                total += os.lstat(os.path.join(dirpath, f)).st_size
            except OSError:
                pass
    return total


def _kind(p: Path) -> str:
    if p.suffix.lower() in IMAGE_SUFFIXES:
        return "image"
    return "text" if read_text(p) is not None else "binary"


def read_text(p: Path, limit: int = TEXT_LIMIT) -> str | None:
    """The file as text, or None if it is binary, too large or unreadable."""
    try:
        if p.stat().st_size > limit:
            return None
        data = p.read_bytes()
    except OSError:
        return None
    if b"\0" in data:
        return None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return None


def text_diff(root: Path, a: str, b: str, context: int = 3) -> list[str] | None:
    """Unified diff lines from variant a to variant b, or None if either is not text here."""
    ta, tb = read_text(safe_path(root, a)), read_text(safe_path(root, b))
    if ta is None or tb is None:
        return None
    return list(difflib.unified_diff(ta.splitlines(), tb.splitlines(), a, b, lineterm="", n=context))


def resolved_elsewhere(root: Path, record: dict[str, Any]) -> bool:
    """True when only the original name is left (someone resolved it on another device)."""
    variants = [v for v in record.get("variants") or [] if v != record.get("path")]
    return bool(variants) and not any(os.path.lexists(safe_path(root, v)) for v in variants)


def keep_one(root: Path, record: dict[str, Any], keep: str) -> str:
    """Delete every other variant and give the kept one the original name; return that name."""
    root = Path(root)
    variants = list(record.get("variants") or [])
    target = str(record.get("path") or "")
    if keep not in variants:
        raise ConflictError(f"{keep!r} is not a version of {target!r}")
    kept = safe_path(root, keep)
    dest = safe_path(root, target)
    others = [safe_path(root, v) for v in variants if v != keep]  # all checked before any change
    if not os.path.lexists(kept):
        raise ConflictError(f"{keep} is gone: it was changed since; look again")
    for p in others:
        if p.is_dir() and not p.is_symlink():
            shutil.rmtree(p)
        elif os.path.lexists(p):
            p.unlink()
    if keep != target:
        if os.path.lexists(dest):
            raise ConflictError(f"{target} exists already; move it away first")
        dest.parent.mkdir(parents=True, exist_ok=True)
        os.rename(kept, dest)
    return target
