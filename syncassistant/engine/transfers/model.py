"""One transfer of one key's content to or from one remote."""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field
from typing import Literal

Direction = Literal["upload", "download"]
State = Literal["queued", "running", "done", "failed", "cancelled"]


@dataclass
class Transfer:
    key: str
    path: str
    direction: Direction
    remote: str
    size: int | None = None
    cost: float = 100.0
    state: State = "queued"
    bytes_done: int = 0
    speed: float = 0.0  # bytes/s, smoothed
    error: str | None = None
    attempts: int = 0
    best_progress: int = 0  # most bytes any attempt reached, to see whether retries progress
    not_before: float = 0.0  # monotonic time before which a retry must not start
    lock_waits: int = 0  # attempts in a row that met git-annex's transfer lock (see manager)
    deferred: bool = False  # a download routing holds back: the tree parent should bring it
    skipped: bool = False  # done with nothing moved: git-annex found the content already there
    started: float | None = None
    finished: float | None = None
    queued_at: float = field(default_factory=time.time)

    @property
    def id(self) -> str:
        return f"{self.direction}:{self.remote}:{self.key}"

    @property
    def eta(self) -> float | None:
        if not self.size or self.speed <= 0:
            return None
        return max(0.0, (self.size - self.bytes_done) / self.speed)

    def as_dict(self) -> dict:
        d = asdict(self)
        d["id"] = self.id
        d["eta"] = self.eta
        return d
