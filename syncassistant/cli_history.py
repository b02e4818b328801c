"""`syncassistant log | restore`: what changed where and when, and any earlier version back.

    syncassistant log PATH [FILE] [--json] [-n N]
    syncassistant restore PATH FILE [--at TIME | --version N] [--as NEW_NAME]
    syncassistant versions PATH [--keep-days N | --keep-all] [--keep-weekly N] [--apply] [--json]

The engine is engine/history.py (reading), engine/restore.py (writing) and
engine/keep_versions.py (old versions' cost and the policy); this module only
turns options into their arguments and their results into lines.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys

from .engine import history, keep_versions
from .engine.repo import open_repo
from .engine.restore import RestoreError, check_rel, restore


def _when(t: int) -> str:
    return dt.datetime.fromtimestamp(t).isoformat(" ", "seconds")


def _size(n: int | None) -> str:
    if n is None:
        return ""
    for unit in ("B", "KiB", "MiB", "GiB"):
        if n < 1024 or unit == "GiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024  # type: ignore[assignment]
    return ""


def cmd_log(args: argparse.Namespace) -> int:
    top = open_repo(args.path)
    if args.file:
        try:
            rel = check_rel(top, args.file)
        except RestoreError as e:
            print(f"syncassistant: {e}", file=sys.stderr)
            return 1
        found = history.with_whereabouts(top, history.versions(top, rel, limit=args.n))
        deletions = [c for c in history.changes(top, rel, args.n) if c.path == rel and c.kind == "deleted"]
        if args.json:
            print(json.dumps({"path": rel, "versions": [v.to_json() for v in found],
                              "deletions": [c.to_json() for c in deletions]}, indent=2))
            return 0
        if not found:
            print(f"{rel}: no version in the history of {top}")
            return 0
        for v in found:
            c = v.change
            where = ", ".join((["here"] if v.here else []) +
                              [w + (" (not reachable now)" if w in v.away else "") for w in v.where])
            print(f"{v.number:>3}  {_when(c.time)}  {c.device_label:<20} {c.kind:<8} {_size(c.size):>10}  "
                  f"content: {where or 'nowhere known'}" + ("  (deleted after)" if v.deleted_after else ""))
        return 0
    found = history.changes(top, None, args.n)
    if args.json:
        print(json.dumps([c.to_json() for c in found], indent=2))
        return 0
    if not found:
        print(f"{top}: no changes in its history yet")
    for c in found:
        name = f"{c.old_path} -> {c.path}" if c.old_path else c.path
        kind = f"{c.kind} (merge)" if c.merged else c.kind
        print(f"{_when(c.time)}  {c.device_label:<20} {kind:<8} {_size(c.size):>10}  {name}")
    return 0


def cmd_restore(args: argparse.Namespace) -> int:
    top = open_repo(args.path)
    try:
        done = restore(top, args.file, at=args.at, version=args.version, as_name=args.as_name)
    except RestoreError as e:
        print(f"syncassistant: {e}", file=sys.stderr)
        return 1
    c = done.version.change
    what = f"version {done.version.number} ({_when(c.time)}, from {c.device_label})"
    verb = "replaced by" if done.replaced else "restored as"
    how = (f"committed as {done.committed[:12]}" if done.committed else
           "the running daemon will commit it")
    if done.replaced:
        print(f"{done.path}: {verb} {what}; the version it replaced stays in the history; {how}")
    else:
        print(f"{done.path}: {verb.split()[0]} {what}; {how}")
    return 0


def cmd_versions(args: argparse.Namespace) -> int:
    top = open_repo(args.path)
    try:
        if args.keep_all or args.keep_days is not None:
            keep_versions.set_policy(top, None if args.keep_all else args.keep_days)
        if args.keep_weekly is not None:
            keep_versions.set_policy(top, args.keep_weekly or None, keep_versions.WEEKLY)
        days = keep_versions.policy_days(top)
        weekly = keep_versions.policy_days(top, keep_versions.WEEKLY)
        report = keep_versions.apply(top, days, weekly=weekly) if args.apply and days else None
        found = keep_versions.old_versions(top)
    except keep_versions.PolicyError as e:
        print(f"syncassistant: {e}", file=sys.stderr)
        return 1
    count, size = keep_versions.cost(found)
    if args.json:
        print(json.dumps({"keep_days": days, "keep_weekly_days": weekly, "old_versions": count, "bytes": size,
                          "versions": [v.to_json() for v in found],
                          "applied": report.to_json() if report else None}, indent=2))
        return 0
    print(f"{top}: {count} old version(s) on this device, {_size(size) or '0 B'}")
    print("policy: keep every version" if not days else f"policy: keep old versions for {days} days"
          + (f", then the last of each week until {weekly} days" if weekly else "")
          + " (then drop them here where other copies exist)")
    if args.apply and not days:
        print("nothing dropped: the policy keeps every version (set one with --keep-days N)")
    if report:
        freed = sum(v.size or 0 for v in report.dropped)
        print(f"dropped {len(report.dropped)} ({_size(freed) or '0 B'}); kept {len(report.kept_young)} younger, "
              f"{len(report.kept_weekly)} as the last of their week, "
              f"{len(report.kept_only_copy)} without enough other copies, "
              f"{len(report.kept_unknown_age)} of unknown age")
        for v, why in report.kept_only_copy:
            print(f"  kept {v.path or v.key}: {why}")
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``log`` and ``restore`` to the CLI's subparsers."""
    s = subparsers.add_parser("log", help="recent changes (time, device, kind, size); a file's versions")
    s.add_argument("path", metavar="PATH")
    s.add_argument("file", metavar="FILE", nargs="?", help="list this file's versions (numbered for restore)")
    s.add_argument("-n", type=int, default=history.DEFAULT_LIMIT, metavar="N", help="read at most N commits")
    s.add_argument("--json", action="store_true")
    s.set_defaults(func=cmd_log)

    s = subparsers.add_parser("restore", help="bring back a deleted file or an earlier version")
    s.add_argument("path", metavar="PATH")
    s.add_argument("file", metavar="FILE")
    g = s.add_mutually_exclusive_group()
    g.add_argument("--at", metavar="TIME", help="the version the file had then (2026-12-05 14:30, '3 hours ago')")
    g.add_argument("--version", type=int, metavar="N", help="version N as `log PATH FILE` numbers them (1 = newest)")
    s.add_argument("--as", dest="as_name", metavar="NEW_NAME", help="write it under this name (must not exist)")
    s.set_defaults(func=cmd_restore)

    s = subparsers.add_parser("versions", help="what old versions cost here; keep them N days, then drop "
                                               "them where other copies exist")
    s.add_argument("path", metavar="PATH")
    g = s.add_mutually_exclusive_group()
    g.add_argument("--keep-days", type=int, metavar="N", help="set the policy: keep old versions N days")
    g.add_argument("--keep-all", action="store_true", help="set the policy: keep every version (the default)")
    s.add_argument("--keep-weekly", type=int, metavar="N",
                   help="and after that, the last version of each week until N days (0: no weekly versions)")
    s.add_argument("--apply", action="store_true",
                   help="drop old versions past the policy from this device (never one without numcopies "
                        "other copies)")
    s.add_argument("--json", action="store_true")
    s.set_defaults(func=cmd_versions)
