"""Recovering at start-up from a daemon that was killed (SIGKILL, power loss).

Stale lock files (`index.lock`, a ref's lock; no process has them open) are removed; a half-done merge is finished by the
Merger (both versions kept); uncommitted changes are found with `git status` and committed.
"""

from __future__ import annotations

import logging
import os
import re
import shutil
import time
from pathlib import Path

from ..context import RepoContext
from ..proc.lockfiles import open_paths

log = logging.getLogger(__name__)


# Written only by this clone's daemon (which holds the daemon lock while we start): a lock here
# that no process holds was left by our killed predecessor, whatever its age.
OURS = ("index.lock", "HEAD.lock", "refs/heads/git-annex.lock")
# Others (another clone's push writes refs/heads/synced/*) close a ref lock before renaming it:
# one that nobody holds is stale only once it is this old.
OTHERS_AGE = 2.0


def remove_stale_locks(git_dir: Path) -> list[str]:
    """Remove the lock files of git_dir (top level and under refs/) that a killed process left.

    A ref lock left by a `git update-ref` killed with our daemon (refs/heads/master.lock) stopped
    every commit and merge of that clone for good, across restarts (chaos kill seed 3)."""
    ours = set(OURS)
    head = git_dir / "HEAD"
    try:
        target = head.read_text().strip()
        if target.startswith("ref: "):
            ours.add(target[5:] + ".lock")
    except OSError:
        pass
    candidates = [p for p in git_dir.glob("*.lock") if p.is_file()]
    candidates += [p for p in (git_dir / "refs").rglob("*.lock") if p.is_file()]
    if not candidates:
        return []
    open_now = open_paths()
    removed = []
    for lock in candidates:
        name = lock.relative_to(git_dir).as_posix()
        if os.path.realpath(lock) in open_now:
            continue
        try:
            if name not in ours and time.time() - lock.stat().st_mtime < OTHERS_AGE:
                continue
            lock.unlink()
        except FileNotFoundError:
            continue
        except OSError as e:
            log.error("cannot remove stale %s: %s", lock, e)
            continue
        removed.append(name)
        log.warning("removed stale %s left by a killed process", lock)
    return removed


_KEY_SIZE = re.compile(r"-s(\d+)-")


def repair_partial_objects(ctx: RepoContext, added: dict[str, str]) -> list[str]:
    """Annex objects a killed `git annex add` left half-written, put right from the work tree.

    git-annex copies a file into its object path in place (Annex/Content.hs linkAnnex, no
    temporary file) and takes an object that exists as the content ("Nothing is done if the
    destination file already exists"): a daemon killed during that copy left a short object,
    which the restarted daemon's add of the same file accepted; its uploads then failed for good
    and `git annex fsck` found "Bad file size ... No known copies exist" (chaos kill short form,
    f16.bin, 0.78 of 2.5 MB). For the files `added` (path -> key) whose object is not the size
    its key says: the object goes to .git/annex/bad (`fsck --fast`) and a copy of the work-tree
    file is reinjected, which git-annex checks against the key. The paths repaired."""
    sized = {p: k for p, k in added.items() if _KEY_SIZE.search(k)}
    if not sized:
        return []
    res = ctx.annex.run("examinekey", "--batch", "--format=${objectpath}\n",
                        input="".join(k + "\n" for k in sized.values()), check=False, timeout=600)
    repaired = []
    for (path, key), loc in zip(sized.items(), res.stdout.split("\n"), strict=False):
        m = _KEY_SIZE.search(key)
        try:
            size = os.stat(ctx.root / loc).st_size if loc else None
        except OSError:
            continue  # no object: nothing half-written
        if m is None or size is None or size == int(m.group(1)):
            continue
        log.warning("%s: the annex object of %s is %d bytes, its key says %s: a killed add left it; "
                    "putting it right from the file", ctx.root, path, size, m.group(1))
        ctx.annex.run("fsck", "--fast", "--quiet", "--key", key, check=False, timeout=600)
        tmp = ctx.state_dir / f"reinject-{os.getpid()}"
        try:
            shutil.copyfile(ctx.root / path, tmp)
            res2 = ctx.annex.run("reinject", str(tmp), "--", path, check=False, timeout=600)
        except OSError as e:
            log.error("%s: cannot put %s's object right: %s", ctx.root, path, e)
            continue
        finally:
            tmp.unlink(missing_ok=True)
        if res2.returncode == 0:
            repaired.append(path)
        else:
            log.error("%s: cannot put %s's object right: %s", ctx.root, path, res2.stderr.strip()[:300])
    return repaired
