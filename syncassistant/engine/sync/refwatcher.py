"""Noticing, by inotify on `.git/refs` and `.git/packed-refs`, that another clone pushed to us.

git updates a ref by renaming `<ref>.lock` onto `<ref>`; we report the final names only. No
polling: an idle repository costs no CPU here.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from pathlib import Path

from watchdog.events import EventsLostEvent, FileSystemEvent, FileSystemEventHandler

from .fswatch import REF_UPDATES, observer

log = logging.getLogger(__name__)


class _Handler(FileSystemEventHandler):
    def __init__(self, owner: RefWatcher):
        self.owner = owner

    def on_any_event(self, event: FileSystemEvent) -> None:
        if isinstance(event, EventsLostEvent):
            # which refs changed is lost (the queue overflowed): look at them all, as a
            # rewrite of packed-refs makes us do
            log.warning("%s: inotify queue overflowed: looking at every ref", self.owner.git_dir)
            self.owner.on_change("packed-refs")
            return
        if event.event_type in ("opened", "closed_no_write") or event.is_directory:
            return
        for raw in (event.src_path, getattr(event, "dest_path", "")):
            if not raw:
                continue
            path = os.fsdecode(raw)
            if path.endswith(".lock"):
                continue
            self.owner._changed(path)


class RefWatcher:
    """Calls `on_change(refname)` when a ref under refs/ changes ("packed-refs" when that does)."""

    def __init__(self, git_dir: Path, on_change: Callable[[str], None]):
        self.git_dir = Path(git_dir)
        self.on_change = on_change
        self._observer = observer(f"syncassistant-refs-{self.git_dir.parent.name}")

    def start(self) -> None:
        handler = _Handler(self)
        (self.git_dir / "refs").mkdir(exist_ok=True)
        self._observer.schedule(handler, str(self.git_dir / "refs"), recursive=True, event_filter=REF_UPDATES)
        self._observer.schedule(handler, str(self.git_dir), recursive=False, event_filter=REF_UPDATES)
        self._observer.start()

    def stop(self) -> None:
        self._observer.stop()
        self._observer.join(10)

    def _changed(self, path: str) -> None:
        rel = os.path.relpath(path, self.git_dir)
        if rel == "packed-refs":
            self.on_change("packed-refs")
        elif rel.startswith("refs" + os.sep):
            self.on_change(rel.replace(os.sep, "/"))
