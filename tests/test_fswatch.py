"""The watchdog observers behind the work-tree watcher and the ref watcher (real inotify)."""

from __future__ import annotations

import os
from pathlib import Path

from conftest import wait_for
from watchdog.events import FileSystemEventHandler

from syncassistant.engine.sync import fswatch


class Recorder(FileSystemEventHandler):
    def __init__(self) -> None:
        self.events: list[tuple[str, str, str]] = []

    def on_any_event(self, event) -> None:
        self.events.append((event.event_type, os.fsdecode(event.src_path),
                            os.fsdecode(getattr(event, "dest_path", "") or "")))


def watch(folder: Path, kinds) -> tuple[object, Recorder]:
    rec = Recorder()
    obs = fswatch.observer("test-fswatch")
    obs.schedule(rec, str(folder), recursive=True, event_filter=kinds)
    obs.start()
    return obs, rec


def test_reading_files_makes_no_events_and_a_rename_is_one_move(tmp_path):
    # git reads refs and config in every command, git-annex reads every file it hashes: none of
    # that may reach us. git's ref update (a rename of <ref>.lock onto <ref>) arrives as one move.
    (tmp_path / "refs").mkdir()
    ref = tmp_path / "refs" / "master"
    ref.write_text("0" * 40 + "\n")
    obs, rec = watch(tmp_path, fswatch.REF_UPDATES)
    try:
        for _ in range(50):
            ref.read_text()
        lock = ref.with_name("master.lock")
        lock.write_text("1" * 40 + "\n")
        os.rename(lock, ref)
        wait_for(lambda: any(kind == "moved" for kind, _, _ in rec.events), timeout=10, what=lambda: rec.events)
    finally:
        obs.stop()
        obs.join(10)
    kinds = [kind for kind, _, _ in rec.events]
    assert "opened" not in kinds and "closed_no_write" not in kinds, rec.events
    assert ("moved", str(lock), str(ref)) in rec.events
    assert kinds.count("moved") == 1  # paired: not a deletion plus a creation


def test_the_work_tree_filter_keeps_every_change(tmp_path):
    obs, rec = watch(tmp_path, fswatch.CHANGES)
    try:
        f = tmp_path / "a.txt"
        f.write_text("one")  # created, modified, closed
        f.read_text()  # nothing
        f.rename(tmp_path / "b.txt")  # moved
        (tmp_path / "b.txt").unlink()  # deleted
        (tmp_path / "d").mkdir()
        wait_for(lambda: ("created", str(tmp_path / "d"), "") in rec.events, timeout=10, what=lambda: rec.events)
    finally:
        obs.stop()
        obs.join(10)
    kinds = {kind for kind, _, _ in rec.events}
    assert {"created", "modified", "closed", "moved", "deleted"} <= kinds, rec.events
    assert "opened" not in kinds and "closed_no_write" not in kinds


def test_moves_are_paired_without_watchdogs_half_second_stall():
    # watchdog holds each IN_MOVED_FROM for its delay, and the event thread sleeps all of it even
    # when the pair is there (every ref update waited up to 0.5 s): ours is a few milliseconds
    fswatch.observer("test-fswatch")
    from watchdog.observers.inotify_move_event_grouper import InotifyMoveEventGrouper
    assert InotifyMoveEventGrouper.delay == fswatch.MOVE_PAIRING_DELAY <= 0.05
