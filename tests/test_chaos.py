"""Fault injection, short forms of `bench/chaos.py`'s scenarios (issue 15, "never lose an edit").

Each test runs real daemons (`syncassistant -v daemon --foreground`) on real clones in tmp_path,
does its damage, waits for convergence and checks "nothing lost" against the ledger: every last
write not deleted or overwritten on purpose is in the converged tree under its name or a conflict
variant of it, readable in every clone, `git fsck` / `git annex fsck --fast` clean, no process
left. On a failure the run dir (daemon logs, ledger.jsonl, report.json) is named in the message.
"""

from __future__ import annotations

import hashlib
import os
import random
import sys
import tempfile
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "bench"))
import chaos

pytestmark = pytest.mark.slow


def run(tmp_path: Path, **kw: object) -> dict:
    # not in tmp_path: pytest keeps only its last 3 base dirs, and a failed run's logs are the
    # evidence; a run that broke nothing is removed
    workdir = Path(tempfile.gettempdir()) / "syncassistant-chaos"
    workdir.mkdir(exist_ok=True)
    opts = chaos.Options(workdir=workdir, keep=False, **kw)  # type: ignore[arg-type]
    report = chaos.run_scenario(opts)
    assert "error" not in report, report.get("traceback")
    return report


def explain(report: dict) -> str:
    return f"run dir {report['dir']} (logs/, ledger.jsonl, report.json):\n  " + "\n  ".join(
        v[:800] for v in report["violations"])


def test_kill_short(tmp_path: Path) -> None:
    # 6 rounds of random operations on three clones, 3 of them followed by a SIGKILL of a
    # daemon (main process or its process group) 0-300 ms later, and a restart
    report = run(tmp_path, scenario="kill", seed=3, rounds=6, kills=3, deadline=75)
    assert report["kills"] == 3
    assert not report["violations"], explain(report)


def test_storm_short(tmp_path: Path) -> None:
    # 8 rounds of the same five paths written or deleted on two clones within 50 ms
    report = run(tmp_path, scenario="storm", seed=2, rounds=8, clones=2, deadline=75)
    assert not report["violations"], explain(report)


def test_badinput_short(tmp_path: Path) -> None:
    # odd names (newline, tab, unicode, 255 bytes, leading dashes...), edits and a rename of them
    # in another clone, a FIFO, a dangling symlink, mode-000 files; a full disk (tmpfs) as root
    report = run(tmp_path, scenario="badinput", seed=1, clones=3, deadline=90)
    assert not report["violations"], explain(report)
    if report["extra"].get("tmpfs"):  # the full clone said so while it was full
        full = report["extra"]["status_while_full"]["C"]
        assert full["errors"] or full["remote_errors"] or full["failed_transfers"], full


# -- the checker itself, without daemons ------------------------------------------------------------
def test_the_checker_sees_a_lost_a_reverted_and_a_variant_write(tmp_path: Path) -> None:
    opts = chaos.Options(workdir=tmp_path, system="assistant", quiet=True)  # plain clones, no daemon
    r = chaos.Run(opts)
    r.build(2)
    a, b = r.clones
    ops = chaos.Ops(r, random.Random(1))

    def commit_sync() -> None:
        for c in (a, b, a):
            r.git(c.path, "annex", "add", "-q", ".")
            r.git(c.path, "commit", "-q", "-m", "x", check=False)
            r.git(c.path, "annex", "sync", "-q", "--content")

    for name in ("keep.txt", "lose.txt", "revert.txt", "conflict.txt", "d/deleted.txt"):
        ops.write(a, name, ops.content("A", name, 100))
    commit_sync()
    ops.write(a, "revert.txt", ops.content("A", "revert.txt", 100))  # newer, then put back by hand
    ops.delete(b, "d/deleted.txt")
    ops.rename(b, "keep.txt", "kept.txt")
    commit_sync()
    ops.write(a, "conflict.txt", ops.content("A", "conflict.txt", 100))
    ops.write(b, "conflict.txt", ops.content("B", "conflict.txt", 100))
    commit_sync()
    # the damage the ledger does not know of: a write lost, an old version put back
    old = [p for p in r.ledger.placements if p.path == "revert.txt"][0]
    r.git(a.path, "rm", "-q", "lose.txt")
    for c in (a,):
        first_commit = r.git(c.path, "log", "--format=%H", "--", "revert.txt").split()[-1]
        r.git(c.path, "checkout", first_commit, "--", "revert.txt")
        r.git(c.path, "commit", "-q", "-m", "damage")
    commit_sync()
    res = chaos.check(r, converged=True)
    assert sorted(x["path"] for x in res["lost"]) == ["lose.txt", "revert.txt"]  # the newer one, gone
    assert [x["path"] for x in res["reverted"]] == ["revert.txt"]
    assert old.superseded and "overwrite" in old.superseded
    assert sorted(x["path"] for x in res["as_variant"]) == ["conflict.txt", "conflict.txt"]
    assert not res["elsewhere"] and not res["resurrected"], res
    assert not res["unreadable"], res["unreadable"]
    assert hashlib.sha256((b.path / "kept.txt").read_bytes()).hexdigest() in {p.digest for p in r.ledger.live()}
    assert not os.path.exists(b.path / "d")
    r.ledger.close()
