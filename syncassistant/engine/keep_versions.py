"""Keeping old versions: what they cost on this device, and a policy that lets old ones go.

An old version is content git-annex holds here that no file of any branch uses any more
(`git annex unused`): what an edit replaced or a deletion left. Its age is how long ago it
stopped being used: the time of the commit on this branch that replaced or deleted the last
file holding it (one `git log --raw` of the branch, engine/history.py). The policy
(`git config syncassistant.keepVersions DAYS`) keeps every old version for DAYS days after
that; older ones are dropped from this device with `git annex drop --batch-keys`, which
checks that numcopies other copies exist (and mincopies) before it drops anything, so a
version whose only copy is here stays, whatever its age; no --force, ever. A version whose age
cannot be told (it was replaced on another branch, or history was rewritten) is kept.

Thinning: with `syncassistant.keepWeekly DAYS` as well, an old version past the first limit but
replaced less than DAYS days ago is kept if it is the last one of its file replaced in its week
(weeks counted from the epoch, UTC): "every version for 30 days, then one a week for a year" is
keepVersions 30, keepWeekly 365. Older than that, it goes too.

Unset or 0 means keep every version (the default: nothing is dropped unless asked for).
Nothing here runs by itself: `syncassistant versions PATH --apply` does.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from pathlib import Path

from .history import LITERAL, blob_facts, key_of, key_size
from .proc.annex import Annex
from .proc.git import Git

CONFIG = "syncassistant.keepVersions"
WEEKLY = "syncassistant.keepWeekly"
DAY = 86400
WEEK = 7 * DAY
DROP_TIMEOUT = 3600.0


class PolicyError(ValueError):
    pass


@dataclass
class OldVersion:
    key: str
    size: int | None
    replaced: int | None  # when it stopped being used (seconds since the epoch); None: not known
    path: str | None  # the file it was a version of, when known

    def to_json(self) -> dict:
        return {"key": self.key, "size": self.size, "replaced": self.replaced, "path": self.path}


@dataclass
class Report:
    dropped: list[OldVersion] = field(default_factory=list)
    kept_only_copy: list[tuple[OldVersion, str]] = field(default_factory=list)  # (version, git-annex's reason)
    kept_young: list[OldVersion] = field(default_factory=list)
    kept_weekly: list[OldVersion] = field(default_factory=list)  # the one of its week (keepWeekly)
    kept_unknown_age: list[OldVersion] = field(default_factory=list)

    def to_json(self) -> dict:
        return {"dropped": [v.to_json() for v in self.dropped],
                "kept_only_copy": [{**v.to_json(), "reason": r} for v, r in self.kept_only_copy],
                "kept_young": [v.to_json() for v in self.kept_young],
                "kept_weekly": [v.to_json() for v in self.kept_weekly],
                "kept_unknown_age": [v.to_json() for v in self.kept_unknown_age]}


def policy_days(root: str | Path, key: str = CONFIG) -> int | None:
    """The days old versions are kept (`key`: CONFIG, or WEEKLY for the weekly ones), or None:
    keep every version (no weekly thinning)."""
    raw = Git(root).config_get(key)
    if not raw:
        return None
    try:
        days = int(raw.strip())
    except ValueError:
        raise PolicyError(f"{key} = {raw!r}: not a number of days") from None
    return days if days > 0 else None


def set_policy(root: str | Path, days: int | None, key: str = CONFIG) -> None:
    if days is not None and days < 0:
        raise PolicyError(f"{days}: a number of days is 0 or more")
    git = Git(root)
    if days:
        git.config_set(key, str(int(days)))
    elif git.config_get(key) is not None:
        git.config_unset(key)


def unused_keys(root: str | Path) -> list[str]:
    """The keys git-annex holds here that no branch uses (`git annex unused`)."""
    recs = Annex(root).json("unused", timeout=3600)
    keys: list[str] = []
    for rec in recs:
        keys += [str(k) for k in (rec.get("unused-list") or {}).values()]
    return keys


def old_versions(root: str | Path) -> list[OldVersion]:
    """Every old version held here, with when it was replaced (oldest first)."""
    keys = unused_keys(root)
    if not keys:
        return []
    wanted = set(keys)
    replaced: dict[str, tuple[int, str]] = {}
    for key, when, path in _replacements(root):  # newest first: the first seen is the last replacement
        if key in wanted and key not in replaced:
            replaced[key] = (when, path)
    out = [OldVersion(k, key_size(k), replaced.get(k, (None, None))[0], replaced.get(k, (None, None))[1])
           for k in keys]
    out.sort(key=lambda v: (v.replaced is None, v.replaced or 0))
    return out


def _replacements(root: str | Path) -> list[tuple[str, int, str]]:
    """(key, when, path) of every annexed version a commit of the branch replaced or deleted,
    newest first; one `git log --raw` and two `git cat-file` batches."""
    git = Git(root)
    if git.rev("HEAD") is None:
        return []
    out = git.run("log", "--no-merges", "-z", "--raw", "--no-renames", "--no-abbrev", "--format=%x1e%at",
                  "HEAD", "--", env=LITERAL, timeout=3600).stdout
    found: list[tuple[str, int, str, str]] = []  # (old blob, when, path, old mode)
    when = 0
    tokens = out.split("\0")
    i = 0
    while i < len(tokens):
        tok = tokens[i].lstrip("\n")
        i += 1
        if tok.startswith("\x1e"):
            stamp = tok.split("\x1e")[-1].strip()
            when = int(stamp) if stamp.isdigit() else 0
            continue
        if not tok.startswith(":") or i >= len(tokens):
            continue
        meta = tok[1:].split()
        path = tokens[i]
        i += 1
        if len(meta) >= 5 and meta[4][:1] in ("M", "D", "T") and meta[2] != "0" * 40:
            found.append((meta[2], when, path, meta[0]))
    facts = blob_facts(git, {b for b, *_ in found})
    result = []
    for blob, at, path, mode in found:
        data = facts.get(blob, (0, None))[1]
        key = key_of(mode, data) if data is not None else None
        if key:
            result.append((key, at, path))
    return result


def cost(found: list[OldVersion]) -> tuple[int, int]:
    """(how many, bytes) of old versions (a key without a size counts 0 bytes)."""
    return len(found), sum(v.size or 0 for v in found)


def apply(root: str | Path, days: int, now: float | None = None, weekly: int | None = None) -> Report:
    """Drop from this device the old versions replaced more than `days` days ago (but with
    `weekly`, the last of each file's week until `weekly` days), each only where git-annex
    verifies numcopies other copies (see the module's docstring)."""
    if days <= 0:
        raise PolicyError("keeping every version: nothing to drop")
    now = time.time() if now is None else now
    report = Report()
    due: list[OldVersion] = []
    thin: dict[tuple[str | None, int], list[OldVersion]] = {}  # (file, week) -> its versions
    for v in old_versions(root):
        if v.replaced is None:
            report.kept_unknown_age.append(v)
        elif v.replaced > now - days * DAY:
            report.kept_young.append(v)
        elif weekly and v.replaced > now - weekly * DAY and v.path is not None:
            thin.setdefault((v.path, int(v.replaced // WEEK)), []).append(v)
        else:
            due.append(v)
    for group in thin.values():
        group.sort(key=lambda v: v.replaced or 0)
        report.kept_weekly.append(group[-1])  # what the file was at the end of that week
        due += group[:-1]
    if not due:
        return report
    by_key = {v.key: v for v in due}
    # no --force: git-annex drops a key only after checking numcopies (and mincopies) copies elsewhere
    res = Annex(root).run("drop", "--json", "--json-error-messages", "--batch-keys",
                          input="".join(k + "\n" for k in by_key), check=False, timeout=DROP_TIMEOUT)
    answered: set[str] = set()
    for line in res.stdout.splitlines():
        try:
            rec = json.loads(line)
        except ValueError:
            continue
        v = by_key.get(str(rec.get("key")))
        if v is None:
            continue
        answered.add(v.key)
        if rec.get("success"):
            report.dropped.append(v)
        else:
            why = " ".join(str(rec.get("note") or "").split()) or "; ".join(rec.get("error-messages") or [])
            report.kept_only_copy.append((v, why or "git-annex did not drop it"))
    for key, v in by_key.items():
        if key not in answered:
            report.kept_only_copy.append((v, (res.stderr.strip().splitlines() or ["no answer from git-annex"])[-1]))
    return report
