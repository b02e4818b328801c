"""watchdog observers set up for low latency: the event kinds we use, and a short move delay.

Two watchdog defaults cost us time:

- On Linux watchdog holds every IN_MOVED_FROM for 0.5 s to pair it with its IN_MOVED_TO, and
  the thread that hands out events sleeps those 0.5 s even when the pair arrives at once; every
  event behind it waits too (watchdog issue #649). git updates each ref by renaming
  `<ref>.lock` onto it, so a push reaching us was often noticed half a second late. The kernel
  queues both halves of a rename together, so a few milliseconds are enough to pair them.
- Without a filter, inotify reports every open and every close of a file that was only read:
  each git command reading refs, and each file git-annex hashes, is an event we then ignore.
  An event filter takes them out of the inotify mask, so they are never read at all.
"""

from __future__ import annotations

from watchdog.events import (
    DirCreatedEvent,
    DirDeletedEvent,
    DirModifiedEvent,
    DirMovedEvent,
    EventsLostEvent,
    FileClosedEvent,
    FileCreatedEvent,
    FileDeletedEvent,
    FileModifiedEvent,
    FileMovedEvent,
    FileSystemEvent,
)
from watchdog.observers import Observer
from watchdog.observers.api import BaseObserver

MOVE_PAIRING_DELAY = 0.02  # seconds an unpaired IN_MOVED_FROM waits for its IN_MOVED_TO

# Changes to content or to the tree: no opens, no closes of files that were only read.
CHANGES: list[type[FileSystemEvent]] = [
    FileCreatedEvent, FileDeletedEvent, FileModifiedEvent, FileMovedEvent, FileClosedEvent,
    DirCreatedEvent, DirDeletedEvent, DirModifiedEvent, DirMovedEvent, EventsLostEvent,
]
# What a ref update can look like: a rename onto the ref (git), a new, deleted or rewritten file.
REF_UPDATES: list[type[FileSystemEvent]] = [
    FileCreatedEvent, FileDeletedEvent, FileMovedEvent, FileClosedEvent, EventsLostEvent,
]


def _shorten_move_delay() -> None:
    try:  # watchdog >= 5
        from watchdog.observers.inotify_move_event_grouper import InotifyMoveEventGrouper as holder
    except ImportError:
        try:  # watchdog 4
            from watchdog.observers.inotify_buffer import InotifyBuffer as holder  # type: ignore[no-redef]
        except ImportError:  # not Linux: no such delay
            return
    holder.delay = MOVE_PAIRING_DELAY


def observer(name: str) -> BaseObserver:
    """A started-later watchdog Observer named `name` (the thread name shows in diagnostics)."""
    _shorten_move_delay()
    obs = Observer()
    obs.name = name
    return obs
