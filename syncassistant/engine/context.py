"""What every loop of one repository's daemon shares: paths, tools, the git lock, events, flags."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .annex import Annex
from .events import Event, EventHub
from .git import Git


@dataclass
class RepoContext:
    root: Path
    events: EventHub = field(default_factory=EventHub)
    # Serialises every git operation that changes the index, the work tree or a branch
    # (commits, merges, annex merges). Pushes and transfers only read refs and run outside it.
    lock: threading.RLock = field(default_factory=threading.RLock)
    stopping: threading.Event = field(default_factory=threading.Event)
    paused: threading.Event = field(default_factory=threading.Event)

    def __post_init__(self) -> None:
        self.root = Path(self.root)
        self.git = Git(self.root)
        self.annex = Annex(self.root)
        self.state_dir = self.git.git_dir / "syncassistant"
        self.state_dir.mkdir(exist_ok=True)
        self._branch: str | None = None

    @property
    def branch(self) -> str:
        """The checked-out branch (cached; refreshed by `refresh_branch`)."""
        if self._branch is None:
            self._branch = self.git.current_branch() or "master"
        return self._branch

    def refresh_branch(self) -> None:
        self._branch = None

    def emit(self, kind: str, **data: Any) -> None:
        self.events.emit(Event(kind, str(self.root), data))
