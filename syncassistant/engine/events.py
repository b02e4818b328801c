"""A small thread-safe publish/subscribe hub for engine events.

Engine loops `emit` events; the status snapshot, the control socket's subscribers and the Qt
adapter of the tray app `subscribe`. Callbacks run on the emitting thread and must be quick.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

log = logging.getLogger(__name__)


class EventKind(StrEnum):
    """Every kind of engine event (a str: listeners may compare with "merged"); a kind not listed
    here is refused where the event is made, so a typo cannot make an event nobody hears."""

    COMMITTED = "committed"  # commit, paths, count
    PUSHED = "pushed"  # remote, refs
    PUSH_FAILED = "push-failed"  # remote, error, retry_in
    MERGED = "merged"  # head, paths, count, annex_changed
    CONFLICT = "conflict"  # one conflict record (path, variants, remote, ...)
    STATE = "state"  # state: running / paused / stopped
    ERROR = "error"  # where, message
    RECOVERED = "recovered"  # where
    TRANSFER = "transfer"  # one transfer's snapshot
    LIMITS = "limits"  # the speed limits
    HELD = "held"  # remotes away, transfers held on a metered network
    CONDITIONS = "conditions"  # run conditions (metered, battery) now: action, reasons, text
    DROPPED = "dropped"  # content dropped here
    HOOK = "hook"  # the user's hook ran: what, exit status
    REMOTE_CHANGED = "remote-changed"  # a remote's changes were noticed (ssh notifychanges)
    SYNC_REQUESTED = "sync-requested"  # a sync now was asked for
    DRIVE = "drive"  # state (connected / removed / synced), label, mount_point, ...
    DRIVE_CLONE_FOUND = "drive-clone-found"  # a drive holds a clone of no repository of ours


@dataclass(frozen=True)
class Event:
    kind: EventKind
    repo: str
    data: dict[str, Any] = field(default_factory=dict)
    time: float = field(default_factory=time.time)

    def __post_init__(self) -> None:
        object.__setattr__(self, "kind", EventKind(self.kind))  # ValueError for an unknown kind


Listener = Callable[[Event], None]


class EventHub:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._listeners: list[Listener] = []

    def subscribe(self, listener: Listener) -> Callable[[], None]:
        with self._lock:
            self._listeners.append(listener)

        def unsubscribe() -> None:
            with self._lock:
                if listener in self._listeners:
                    self._listeners.remove(listener)

        return unsubscribe

    def emit(self, event: Event) -> None:
        with self._lock:
            listeners = list(self._listeners)
        for listener in listeners:
            try:
                listener(event)
            except Exception:
                log.exception("event listener failed on %s", event.kind)
