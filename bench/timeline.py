"""Where the time of one trial goes: the first moment each engine stage is seen for one file.

Subscribes to the daemons' event hubs (in-process benchmarks) and records, per trial, when the
watched file was committed, merged, pushed, fetched and transferred, relative to the moment the
benchmark put the file in place. ``rows()`` gives the median of each stage over all trials.
"""

from __future__ import annotations

import statistics
import time
from typing import Any


class Timeline:
    def __init__(self, sides: dict[str, Any]) -> None:
        """``sides``: label ("A", "B") -> a Daemon; their hubs may be shared."""
        self._side = {str(d.root): label for label, d in sides.items()}
        self._name = ""
        self._start = 0.0
        self._seen: dict[str, float] = {}
        self.stages: dict[str, list[float]] = {}
        for hub in {id(d.ctx.events): d.ctx.events for d in sides.values()}.values():
            hub.subscribe(self._on_event)

    def begin(self, name: str) -> None:
        """The trial's file (a path relative to the repository) is about to land."""
        self._seen = {}
        self._start = time.time()
        self._name = name

    def end(self) -> None:
        self._name = ""
        for label, when in self._seen.items():
            self.stages.setdefault(label, []).append(when - self._start)

    def rows(self) -> list[tuple[str, str]]:
        ordered = sorted(self.stages.items(), key=lambda kv: statistics.median(kv[1]))
        return [(f"... {label}", f"median {statistics.median(times):.3f} s after the file landed (n={len(times)})")
                for label, times in ordered]

    def _on_event(self, ev: Any) -> None:
        name, side = self._name, self._side.get(ev.repo, "?")
        if not name:
            return
        data = ev.data
        if ev.kind in ("committed", "merged") and name in data.get("paths", []):
            label = f"{side} {ev.kind}"
        elif ev.kind == "pushed":
            label = f"{side} pushed to {data.get('remote')}"
        elif ev.kind == "remote-changed":
            label = f"{side} fetched {data.get('remote')}"
        elif ev.kind == "transfer" and data.get("path") == name:
            label = f"{side} {data.get('direction')} {data.get('state')}"
        else:
            return
        self._seen.setdefault(label, time.time())
