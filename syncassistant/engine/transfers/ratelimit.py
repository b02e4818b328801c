"""Speed limits: parsing "500KiB/s", and token buckets shared by the transfers they govern.

Two layers, because git-annex's own limit cannot change while its process runs:

- each git-annex process is started with `annex.bwlimit` at 1.5x the lowest limit that applies
  to it (`Limits.cap`), so it moves bytes evenly. Without it a local copy moved ~17 MB between
  two progress reports (git-annex reports every ~0.1 s) and was then stopped for a minute to pay
  for that burst under a 300 kB/s limit: nothing moved, and no speed could be shown. The
  headroom is there because git-annex's own limit undershoots (0.89 of it at 4 MiB/s, 0.76 at
  16 MiB/s); the buckets below trim the process to the limit.
- the token buckets here share a limit between transfers running at once, and cover remotes
  whose transfers git-annex does not meter (rsync): each progress report spends tokens, and a
  process that got ahead of its budget is stopped (SIGSTOP) until the budget catches up
  (SIGCONT). A lower limit applies at the next report; the transfer manager restarts a
  process whose `annex.bwlimit` no longer matches (it resumes where it was).

A third, automatic upload limit per remote (transfers/autolimit.py) changes several times a
second as the queueing delay our uploads add to the link is measured: it acts through its own
bucket and pacing; a process is restarted for it only when the limit leaves a band around
the one the process started with (see `Limits.process_limit`). Manual limits always win.
"""

from __future__ import annotations

import re
import threading
import time

_UNITS = {
    "": 1, "b": 1,
    "k": 1000, "kb": 1000, "kib": 1024,
    "m": 1000**2, "mb": 1000**2, "mib": 1024**2,
    "g": 1000**3, "gb": 1000**3, "gib": 1024**3,
}
_RATE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([kmg]?i?b?)\s*(?:/\s*s|ps)?\s*$", re.IGNORECASE)


class BadRate(ValueError):
    pass


def parse_rate(text: str) -> int:
    """Bytes per second from text like "500KiB/s", "4MB/s", "2M", "0" (0 = no limit)."""
    m = _RATE.match(str(text))
    if not m:
        raise BadRate(f"{text!r} is not a rate: use a number with a unit, like 500KiB/s or 4MB/s (0 for no limit)")
    value = float(m.group(1)) * _UNITS[m.group(2).lower()]
    if value < 0:
        raise BadRate(f"{text!r}: a rate cannot be negative")
    return int(value)


class TokenBucket:
    """A rate in bytes/s (0 = unlimited) with a small burst; thread-safe."""

    def __init__(self, rate: int = 0, burst_seconds: float = 0.25):
        self._lock = threading.Lock()
        self.rate = rate
        self.burst_seconds = burst_seconds
        self._tokens = 0.0
        self._last = time.monotonic()

    def set_rate(self, rate: int) -> None:
        with self._lock:
            self.rate = max(0, int(rate))
            self._tokens = 0.0
            self._last = time.monotonic()

    def retune(self, rate: int) -> None:
        """A new rate that keeps the tokens saved so far (a limit that moves several times a
        second would otherwise make every spender wait from an empty bucket)."""
        with self._lock:
            now = time.monotonic()
            if self.rate > 0:
                self._tokens = min(self.rate * self.burst_seconds, self._tokens + (now - self._last) * self.rate)
            self._last = now
            self.rate = max(0, int(rate))
            self._tokens = min(self._tokens, self.rate * self.burst_seconds)

    def spend(self, nbytes: int) -> float:
        """Spend nbytes; return how long the spender must pause to stay within the rate."""
        with self._lock:
            if self.rate <= 0:
                return 0.0
            now = time.monotonic()
            self._tokens = min(self.rate * self.burst_seconds, self._tokens + (now - self._last) * self.rate)
            self._last = now
            self._tokens -= nbytes
            if self._tokens >= 0:
                return 0.0
            return -self._tokens / self.rate


# The automatic limit's bucket holds little: a burst is what fills the link's queue.
AUTO_BURST = 0.1
# A process started for an automatic limit runs at P = room x the limit (Limits.set_auto) and
# keeps running while the limit stays within [AUTO_BAND_LOW * P, AUTO_BAND_HIGH * P]: below,
# its own annex.bwlimit (1.5 P) would send in bursts the pacing must stop; above, it could not
# reach the limit (git-annex undershoots). Each restart costs a second or so of nothing moving.
AUTO_BAND_LOW, AUTO_BAND_HIGH = 0.6, 1.2
# ... but a dip below the band is first paced, and restarts the process only once it has lasted
# AUTO_DOWN_HOLD seconds: a queue spike halves the limit for a sample or two, and restarting then
# (and again when it comes back up) cost more than the dip. Seen in the bufferbloat benchmark:
# 12 restarts in a 100 MiB upload, 8 of them for dips under 2 s.
AUTO_DOWN_HOLD = 2.0
# ... unless it is far below: a process running at 3x what the link takes (a ramp that overshot)
# filled ssh's whole window (1 s of queue) while it was paced for those 2 s
AUTO_HOLD_LOW = 0.35


class Limits:
    """Global upload/download limits plus per-remote ones, and automatic upload limits."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.global_ = {"upload": TokenBucket(), "download": TokenBucket()}
        self.remotes: dict[str, dict[str, TokenBucket]] = {}
        self.auto: dict[str, TokenBucket] = {}  # remote -> automatic upload limit (autolimit.py)
        self._sent: dict[str, int] = {}  # remote -> bytes uploaded, for the automatic limit
        self._room: dict[str, float] = {}
        self._below_since: dict[str, float] = {}  # remote -> when its limit fell below the band

    def set_auto(self, remote: str, rate: int | None, room: float = 1.25) -> None:
        """The automatic upload limit to `remote` in bytes/s (None: none). A process (re)started
        for it gets `room` times the rate (see process_limit): room to grow without another
        restart, more while the limit is still looking for the link's speed."""
        with self._lock:
            if rate is None:
                self.auto.pop(remote, None)
                self._room.pop(remote, None)
                return
            bucket = self.auto.get(remote)
            if bucket is None:
                bucket = self.auto[remote] = TokenBucket(burst_seconds=AUTO_BURST)
            bucket.retune(max(1, int(rate)))
            self._room[remote] = room

    def auto_rate(self, remote: str) -> int:
        with self._lock:
            bucket = self.auto.get(remote)
            return bucket.rate if bucket else 0

    def sent(self, remote: str) -> int:
        """Bytes uploaded to `remote` so far (as progress reports counted them)."""
        with self._lock:
            return self._sent.get(remote, 0)

    def process_limit(self, direction: str, remote: str, current: int | None = None,
                      now: float | None = None) -> int:
        """The limit a git-annex process for (direction, remote) runs under (its annex.bwlimit,
        before headroom; 0 = none): the manual cap, or, lower, the automatic one. `current` is
        a running process's: kept while an automatic limit stays in its band."""
        manual = self.cap(direction, remote)
        auto = self.auto_rate(remote) if direction == "upload" else 0
        if not auto or (manual and manual <= auto):
            return manual
        if current and (not manual or current < manual) and auto <= AUTO_BAND_HIGH * current:
            if auto >= AUTO_BAND_LOW * current:
                with self._lock:
                    self._below_since.pop(remote, None)
                return current
            now = time.monotonic() if now is None else now
            with self._lock:
                since = self._below_since.setdefault(remote, now)
            if now - since < AUTO_DOWN_HOLD and auto >= AUTO_HOLD_LOW * current:
                return current
        with self._lock:
            self._below_since.pop(remote, None)
            room = self._room.get(remote, 1.25)
        return min(int(auto * room), manual) if manual else int(auto * room)

    def set(self, direction: str, rate: int, remote: str | None = None) -> None:
        with self._lock:
            if remote is None:
                self.global_[direction].set_rate(rate)
            else:
                self.remotes.setdefault(remote, {"upload": TokenBucket(), "download": TokenBucket()})
                self.remotes[remote][direction].set_rate(rate)

    def _buckets(self, direction: str, remote: str) -> list[TokenBucket]:
        """The buckets a transfer to or from `remote` draws on: the global one, the remote's."""
        with self._lock:
            buckets = [self.global_[direction]]
            if remote in self.remotes:
                buckets.append(self.remotes[remote][direction])
            if direction == "upload" and remote in self.auto:
                buckets.append(self.auto[remote])
        return buckets

    def cap(self, direction: str, remote: str) -> int:
        """The lowest manual limit on one transfer to or from `remote` (bytes/s; 0 = none)."""
        with self._lock:
            buckets = [self.global_[direction], *([self.remotes[remote][direction]] if remote in self.remotes else [])]
        return min((b.rate for b in buckets if b.rate > 0), default=0)

    def spend(self, direction: str, remote: str, nbytes: int) -> float:
        if direction == "upload":
            with self._lock:
                self._sent[remote] = self._sent.get(remote, 0) + nbytes
        return max(b.spend(nbytes) for b in self._buckets(direction, remote))

    def as_dict(self) -> dict:
        with self._lock:
            return {
                "upload": self.global_["upload"].rate,
                "download": self.global_["download"].rate,
                "remotes": {r: {d: b.rate for d, b in v.items()} for r, v in self.remotes.items()},
                "auto": {r: b.rate for r, b in self.auto.items()},
            }
