"""Bringing back a deleted file or an earlier version, as a new change that syncs like any other.

The old version's content comes from the annex here, else `git annex get --key` fetches it from
whichever remote has it (git-annex picks by cost, as for any transfer, and its location
tracking stays true). It is then written beside its target under a name the watcher ignores
(`*.syncassistant-tmp`) and renamed into place atomically:

- a new name (a deleted file, or `--as`): rename without replace, so a file the user created
  there a moment ago is never overwritten (then: a clear error, nothing lost);
- over the file itself: only while the file is exactly what the last commit has (so the
  current version stays in the history, and can itself be restored); the names are swapped
  with RENAME_EXCHANGE and what was swapped out is checked to be still the file we looked at:
  if the user wrote it meanwhile, it is swapped back and the restore refused.

With a daemon running on the folder its committer commits the file, as it would any change
(we wait for that, with a deadline, to say so). With none, we take the daemon lock (so none
starts meanwhile), add and commit it ourselves with the device trailers.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import shutil
import stat
import time
from dataclasses import dataclass
from pathlib import Path

from .atomicfs import exchange, identity, rename_noreplace, same_file
from .history import Change, Version, versions, whereabouts
from .lock import AlreadyRunning, DaemonLock
from .proc.annex import Annex
from .proc.git import Git, GitError
from .provenance import DeviceCache, with_trailers

LITERAL = {"GIT_LITERAL_PATHSPECS": "1"}
TMP_SUFFIX = ".syncassistant-tmp"  # the watcher ignores these (sync/watcher.py TEMP_SUFFIXES)
GET_TIMEOUT = 6 * 3600.0
COMMIT_WAIT = 30.0  # seconds a running daemon gets to commit the restored file before we stop waiting


class RestoreError(RuntimeError):
    """A restore that cannot be done; the message says why and what to do. Nothing was changed."""


@dataclass
class Restored:
    path: str  # where the version was written, relative to the top
    version: Version
    committed: str | None  # the commit holding it, None if a running daemon has not yet committed it
    replaced: bool  # the file was there and now holds the restored version


def check_rel(top: Path, name: str, what: str = "file") -> str:
    """`name` (relative to the folder, or an absolute path inside it) as a clean relative path;
    RestoreError for a path outside the folder, into .git, through a symlink, or odd."""
    if not name or "\0" in name:
        raise RestoreError(f"no {what} name given")
    p = Path(name)
    if p.is_absolute():
        try:
            p = Path(os.path.abspath(p)).relative_to(os.path.abspath(top))
        except ValueError:
            try:
                p = Path(os.path.realpath(name)).relative_to(os.path.realpath(top))
            except ValueError:
                raise RestoreError(f"{name}: not inside the folder {top}") from None
    parts = [x for x in p.parts if x not in ("", ".")]
    if not parts or ".." in parts:
        raise RestoreError(f"{name}: not inside the folder {top}")
    if parts[0] == ".git":
        raise RestoreError(f"{name}: inside .git, which is no file of the folder")
    rel = "/".join(parts)
    # a folder on the way that is a symlink would put the file somewhere else entirely
    real_top = os.path.realpath(top)
    parent = os.path.realpath(os.path.join(top, os.path.dirname(rel)))
    if parent != real_top and not parent.startswith(real_top + os.sep):
        raise RestoreError(f"{name}: its folder leads outside {top}")
    return rel


_AGO = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(s|sec|secs|seconds?|m|min|mins|minutes?|h|hours?|d|days?|w|weeks?)"
                  r"\s*(ago)?\s*$", re.I)
_UNIT = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}


def parse_time(text: str, now: float | None = None) -> float:
    """A moment as people write it: `2026-12-05 14:30`, `2026-12-05T14:30:00+01:00`,
    `2026-12-05` (its end), `@1733400000`, `3 hours ago`, `2d`; RestoreError for anything else."""
    s = text.strip()
    now = time.time() if now is None else now
    if s.startswith("@") and s[1:].replace(".", "", 1).isdigit():
        return float(s[1:])
    m = _AGO.match(s)
    if m:
        unit = m.group(2).lower()
        return now - float(m.group(1)) * _UNIT["m" if unit.startswith("mi") or unit == "m" else unit[0]]
    try:
        when = dt.datetime.fromisoformat(s)
    except ValueError:
        raise RestoreError(f"{text!r}: not a time (try 2026-12-05 14:30, @SECONDS or '3 hours ago')") from None
    if len(s) <= 10:  # a day alone: the version as it was at its end
        when += dt.timedelta(days=1, microseconds=-1)
    if when.tzinfo is None:
        when = when.astimezone()  # the local time zone, as the user reads times
    return when.timestamp()


def pick(found: list[Version], rel: str, at: float | None = None, number: int | None = None,
         commit: str | None = None) -> Version:
    """The version asked for: the one `commit` made, `number` (1 = newest), the one the file had
    at time `at`, else the newest."""
    if not found:
        raise RestoreError(f"{rel}: no version of it is in the history of this folder")
    if commit is not None:
        for v in found:
            if v.change.commit == commit:
                return v
        raise RestoreError(f"{rel}: no version of it was made by commit {commit[:12]}")
    if number is not None:
        if number < 1 or number > len(found):
            raise RestoreError(f"{rel}: there is no version {number} (versions 1 to {len(found)}; "
                               f"see: syncassistant log FOLDER {rel})")
        return found[number - 1]
    if at is not None:
        for v in found:  # newest first: the newest made at or before `at`
            if v.change.time <= at:
                return v
        first = dt.datetime.fromtimestamp(found[-1].change.time).isoformat(" ", "seconds")
        raise RestoreError(f"{rel}: it did not exist yet then (its first version is of {first})")
    return found[0]


def restore(root: str | Path, name: str, *, at: str | None = None, version: int | None = None,
            commit: str | None = None, as_name: str | None = None,
            commit_wait: float = COMMIT_WAIT) -> Restored:
    """Bring back version `version` (or the one at time `at`, or the newest) of the file `name`
    of the folder `root`, at its own name or at `as_name`. See the module's docstring."""
    top = Path(root).absolute()
    git, annex = Git(top), Annex(top)
    rel = check_rel(top, name)
    when = parse_time(at) if at is not None else None
    found = versions(top, rel)
    chosen = pick(found, rel, when, version, commit)
    target = check_rel(top, as_name, "new") if as_name else rel
    full = top / target
    replace = False
    # looked at before git status: a write after this is caught by the check after the swap, one
    # before git status by git status
    seen = identity(full) if os.path.lexists(full) else None
    if seen is not None:
        if as_name:
            raise RestoreError(f"{target}: a file of that name exists; choose another name")
        if os.path.isdir(full) and not os.path.islink(full):
            raise RestoreError(f"{target}: is a folder now; restore the file with --as NEW_NAME")
        if not _unchanged_since_commit(git, rel):
            raise RestoreError(f"{rel}: has changes not yet synced; try again in a moment, "
                               f"or restore it beside it with --as NEW_NAME")
        if _is_version(git, rel, chosen.change):
            raise RestoreError(f"{rel}: is already this version ({_describe(chosen)})")
        replace = True
    # the content first: if it can be had nowhere, nothing at all is created (no folder either)
    src = _content(top, annex, chosen.change.key, chosen) if chosen.change.key else None
    try:
        tmp = _temp_beside(full)
    except OSError as e:
        raise RestoreError(f"{target}: cannot write there: {e.strerror or e}") from None
    try:
        _write_version(git, chosen, src, tmp)
        if replace:
            exchange(tmp, full)
            if not same_file(identity(tmp), seen):  # written meanwhile: give it back untouched
                exchange(tmp, full)
                raise RestoreError(f"{rel}: was changed while restoring; nothing was replaced")
        else:
            try:
                rename_noreplace(tmp, full)
            except FileExistsError:
                raise RestoreError(f"{target}: a file of that name appeared meanwhile; "
                                   f"nothing was replaced") from None
    except OSError as e:  # a full disk, a folder made read-only: nothing was replaced
        raise RestoreError(f"{target}: cannot write there: {e.strerror or e}") from None
    finally:
        try:
            os.unlink(tmp)  # the written copy, or after an exchange the version it replaced
        except FileNotFoundError:
            pass
    committed = _commit(top, git, annex, target, chosen, commit_wait)
    return Restored(target, chosen, committed, replace)


def _describe(v: Version) -> str:
    when = dt.datetime.fromtimestamp(v.change.time).isoformat(" ", "seconds")
    return f"version {v.number}, {when}, {v.change.device_label}"


def _unchanged_since_commit(git: Git, rel: str) -> bool:
    res = git.run("status", "--porcelain=v1", "-z", "--untracked-files=all", "--", rel, env=LITERAL,
                  check=False, timeout=600)
    return res.returncode == 0 and not res.stdout.strip("\0")


def _is_version(git: Git, rel: str, c: Change) -> bool:
    return git.run("rev-parse", "-q", "--verify", f"HEAD:{rel}", check=False).stdout.strip() == c.blob


def _temp_beside(full: Path) -> Path:
    full.parent.mkdir(parents=True, exist_ok=True)
    base = os.fsdecode(os.fsencode(full.name)[:120])  # (bytes: a name may have at most 255)
    for i in range(100):
        tmp = full.parent / f".{base}.restore-{os.getpid()}-{i}{TMP_SUFFIX}"
        if not os.path.lexists(tmp):
            return tmp
    raise RestoreError(f"{full.parent}: no free temporary name")


def _write_version(git: Git, v: Version, src: Path | None, tmp: Path) -> None:
    """The version's bytes into `tmp` (a new file): from the annex object `src` for an annexed
    version, else from git."""
    c = v.change
    if src is not None:
        with open(src, "rb") as f, open(tmp, "xb") as out:
            shutil.copyfileobj(f, out, 1 << 20)
            out.flush()
            os.fsync(out.fileno())
    elif c.mode == "120000":  # a plain symlink kept in git
        target = git.run("cat-file", "blob", c.blob).stdout
        os.symlink(os.fsencode(target), tmp)
        return
    else:
        res = git.run("cat-file", "blob", c.blob, check=False, timeout=600)
        if res.returncode != 0:
            raise RestoreError(f"{c.path}: the version's content is missing from git ({c.blob[:12]})")
        with open(tmp, "xb") as out:
            out.write(res.stdout.encode("utf-8", "surrogateescape"))
            out.flush()
            os.fsync(out.fileno())
    if c.mode == "100755":
        os.chmod(tmp, os.stat(tmp).st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)


def _content(top: Path, annex: Annex, key: str, v: Version) -> Path:
    """Where the key's content is in the annex here, fetched from a remote if it must be."""
    here = _object_path(top, annex, key)
    if here is not None:
        return here
    recs = annex.json("get", "--key", key, timeout=GET_TIMEOUT, check=False)
    here = _object_path(top, annex, key)
    if here is not None:
        return here
    why = "; ".join(m for r in recs for m in r.get("error-messages", []) if m).strip()
    _, others = whereabouts(top, [key]).get(key, (False, []))
    remotes = {v: k.split(".")[1] for k, v in
               Git(top).config_get_regexp(r"^remote\..*\.annex-uuid$").items() if k.count(".") >= 2}
    names = ", ".join((d or u[:8]) + (f" (remote {remotes[u]})" if remotes.get(u, d) != d else "")
                      for u, d in others)
    where = (f"it was last known to be on: {names}, which cannot be reached now" if names else
             "no device or drive is recorded here as holding it (if the device that made it "
             "has not synced with this one since, sync with it and try again)")
    raise RestoreError(f"{v.change.path}: the content of {_describe(v)} is not reachable: {where}"
                       + (f" ({why.splitlines()[0]})" if why else ""))


def _object_path(top: Path, annex: Annex, key: str) -> Path | None:
    res = annex.run("contentlocation", key, check=False)
    loc = res.stdout.strip()
    if res.returncode != 0 or not loc:
        return None
    p = Path(loc) if os.path.isabs(loc) else top / loc
    return p if p.is_file() else None


def _commit(top: Path, git: Git, annex: Annex, target: str, v: Version, wait: float) -> str | None:
    """The commit holding the restored file: the running daemon's, or ours if none runs."""
    state = git.git_dir / "syncassistant"
    state.mkdir(exist_ok=True)
    lock = DaemonLock(state)
    try:
        lock.acquire()  # held while we commit: a daemon starting now waits for it, none runs twice
    except AlreadyRunning:
        return _wait_for_daemon(git, target, wait)
    try:
        res = annex.json("add", "--", target, timeout=GET_TIMEOUT, check=False)
        if any(not r.get("success", True) for r in res):
            msgs = "; ".join(m for r in res for m in r.get("error-messages", []))
            raise RestoreError(f"{target}: written, but git annex add failed: {msgs}")
        when = dt.datetime.fromtimestamp(v.change.time).isoformat(" ", "minutes")
        msg = with_trailers(f"Restore {target} (the version of {when} from {v.change.device_label})",
                            DeviceCache(git).me())
        # --only: this file alone, not whatever else the user has staged by hand
        git.run("commit", "-q", "--no-verify", "--only", "-F", "-", "--", target, input=msg,
                env=LITERAL, timeout=GET_TIMEOUT)
        return git.rev("HEAD")
    except GitError as e:
        raise RestoreError(f"{target}: written, but not committed: {e}") from None
    finally:
        lock.release()


def _wait_for_daemon(git: Git, target: str, wait: float) -> str | None:
    """The running daemon's commit of `target` once HEAD holds it as the work tree has it."""
    deadline = time.monotonic() + wait
    while time.monotonic() < deadline:
        if _unchanged_since_commit(git, target) and \
                git.run("ls-tree", "HEAD", "--", target, env=LITERAL, check=False).stdout.strip():
            return git.rev("HEAD")
        time.sleep(0.05)
    return None


def copy_name(root: str | Path, rel: str, when: int) -> str:
    """A free name beside `rel` for a restored copy: `report (restored 2026-12-05 1430).txt`."""
    top = Path(root)
    folder, name = os.path.split(rel)
    stem, ext = os.path.splitext(name)
    if not stem:  # a dotfile: `.bashrc` has no extension
        stem, ext = name, ""
    stamp = dt.datetime.fromtimestamp(when).strftime("%Y-%m-%d %H%M")
    for i in range(1, 1000):
        extra = f" {i}" if i > 1 else ""
        candidate = os.path.join(folder, f"{stem[:150]} (restored {stamp}{extra}){ext[:20]}")
        if not os.path.lexists(top / candidate):
            return candidate
    raise RestoreError(f"{rel}: no free name for a restored copy")
