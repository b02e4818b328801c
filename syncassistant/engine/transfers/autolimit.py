"""The automatic upload limit: fill the uplink without filling its queue (no bufferbloat).

A big upload sends as fast as TCP lets it, and TCP fills whatever buffer sits in front of the
slowest link (a home router's holds seconds of data): every other packet on that network then
waits behind ours, and video calls and web pages stall. A fixed limit fixes that only if the
user knows the uplink's speed, and wastes the link when nothing else uses it. This module
keeps the *queueing delay our uploads add* small instead, in the spirit of LEDBAT (RFC 6817):

- **measure**: while uploads to an ssh remote run, one `git-annex-shell p2pstdio` session on
  the same shared ssh connection as the transfers (engine/network/sshmux) answers a tiny
  request (`CHECKPRESENT` of an empty key: a stat on the far side) every `INTERVAL`. Its round
  trip waits behind every byte we queued on the way, so it rises exactly with the queue our
  uploads build, wherever that queue is (the router, a relay, the ssh connection's own
  buffers). No extra ssh handshake, no ICMP privileges, and it works through the restricted
  keys invitations install (git-annex-shell only).
- **base delay**: the lowest round trip of each of the last `BASE_MINUTES` minutes (LEDBAT's
  base history): the link's delay with an empty queue, and it follows a route change within
  minutes. Current delay: the lowest of the last `CURRENT_SAMPLES` samples (filters noise).
- **control** (`DelayController`): queueing delay = current - base against `TARGET`. Until the
  link has been seen full the rate grows; then the link's speed is computed from what we sent
  and how the queue grew, and the rate is that speed nudged towards the target. A probe that
  gets no answer within `PROBE_TIMEOUT` counts as a full queue (the rate is halved).
- **act**: the rate is the remote's automatic bucket in `ratelimit.Limits` (SIGSTOP pacing, and
  a git-annex process restarted only when the rate leaves a band, `Limits.process_limit`).
  Manual limits always win. Between uploads the last rate is kept (a small number, no thread,
  no process): the next upload starts there instead of from scratch.
- **remember**: the link's speed, once known, is kept per remote in `.git/syncassistant/
  autolimit.json`, so an upload after the daemon restarts (every log-in) starts at the link's
  speed rather than ramping up from `START_RATE` again, which costs ~10 s of a slow start and
  the restarts of the git-annex process on the way. A remembered speed is a starting point, not
  a promise: a slower link (another network) shows as a queue within `WINDOW` and the speed is
  measured again; one older than `REMEMBER_DAYS` is not used.

The estimated uplink speed shown to the user is that computed speed.

Remotes other than ssh (a drive, a folder, a cloud bucket) get no automatic limit: a drive has
no shared network queue, and for HTTP there is no round trip to time on the transfer's own
connection.
"""

from __future__ import annotations

import json
import logging
import os
import select
import subprocess
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..network import sshmux
from ..network.notifychanges import annex_shell_argv
from ..network.urls import BadURL, parse_remote_url
from ..proc.git import Git, kill_group, repo_env
from .ratelimit import Limits

log = logging.getLogger(__name__)

SETTING = "syncassistant.autoUploadLimit"  # git config, per repository: true / false (default)
INTERVAL = 0.2  # seconds between round trips while uploads run
# the queueing delay our uploads may add, as the probe sees it (the lowest of CURRENT_SAMPLES round
# trips): others on the link see more, our uploads arrive in bursts (bench_bufferbloat: ~65-125 ms
# median with 50 ms here, once the rate ran at 93 % of the link); RFC 6817 allows up to 100 ms
TARGET = 0.025
NOISE = 0.01  # round-trip jitter with an empty queue (scheduling, ssh): below it a queue is not seen
GAIN_UP = 0.1  # growth per sample while the link's speed is not known (and of that speed, see below)
K = 2.0  # rate correction per second of distance from the target (see DelayController)
WINDOW = 2.0  # seconds of standing queue from which the link's speed is computed
CURRENT_SAMPLES = 3
BASE_MINUTES = 10
PROBE_TIMEOUT = 2.0
START_RATE = 256 * 1024  # bytes/s before anything is known about the link
FLOOR = 32 * 1024  # never below: a trickle still finishes, and still measures
REMEMBER_DAYS = 30
IDLE_AFTER = 3.0  # seconds without uploads to the remote before its probe session closes
# The empty key: a stat for the far side, never present, the same on every git-annex.
DUMMY_KEY = "SHA256E-s0--e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"


def enabled(git: Git) -> bool:
    return (git.config_get(SETTING) or "").strip().lower() in ("true", "yes", "on", "1")


@dataclass
class DelayController:
    """Rate from round-trip samples (pure: times and byte counts are given, nothing is measured
    here).

    Two regimes. Until the link has been seen full, the rate grows by `GAIN_UP` a sample while
    the uploads use it. Once a queue has stood for a whole `WINDOW`, the link's speed is known
    from what went in and how the queue grew: bytes sent = speed x (time + growth of the
    queueing delay). From then on the rate is that speed corrected in proportion to the
    distance from the target, rate = speed x (1 + K x (target - delay)), so the queue settles
    at the target instead of swinging between empty and full (a multiplicative
    increase/decrease on the delay alone did: on a model link with 0.2-0.6 s of measuring lag it
    carried 52-74 % of the link with queues up to 0.6 s; this carries 97-100 % with the queue
    at 40-50 ms). A window with no queue at all while the uploads use the whole rate means the
    link got faster: the speed is raised by `GAIN_UP`.
    """

    rate: float = START_RATE
    target: float = TARGET
    floor: float = FLOOR
    recent: deque[float] = field(default_factory=lambda: deque(maxlen=CURRENT_SAMPLES))
    base: deque[tuple[int, float]] = field(default_factory=lambda: deque(maxlen=BASE_MINUTES))
    window: deque[tuple[float, float, float]] = field(default_factory=deque)  # (time, delay, bytes sent)
    uplink: float | None = None  # bytes/s the link carries (estimate), None until seen full
    queueing: float = 0.0  # the last queueing delay computed (s)
    sent_total: float = 0.0
    # the last samples (time, round trip or None, queueing delay, sending, rate): for status
    # and benchmarks, which show how the limit found the link
    trace: deque[tuple[float, float | None, float, float, float]] = field(default_factory=lambda: deque(maxlen=3000))

    def base_delay(self) -> float | None:
        return min((d for _m, d in self.base), default=None)

    def sample(self, rtt: float | None, now: float, sending: float, step: float = INTERVAL) -> float:
        """One round trip (None: no answer within PROBE_TIMEOUT) at monotonic time `now`, while
        the uploads moved `sending` bytes/s over the last `step` seconds; returns the new rate."""
        self.sent_total += sending * step
        if rtt is None:  # a queue deeper than the timeout, or a link gone: back off hard
            self.rate = max(self.floor, self.rate / 2)
            if self.uplink:
                self.uplink = max(self.floor, self.uplink / 2)
            self.queueing = PROBE_TIMEOUT
            self.window.clear()
            return self.rate
        minute = int(now // 60)
        if self.base and self.base[-1][0] == minute:
            if rtt < self.base[-1][1]:
                self.base[-1] = (minute, rtt)
        else:
            self.base.append((minute, rtt))
        self.recent.append(rtt)
        self.queueing = qd = max(0.0, min(self.recent) - (self.base_delay() or rtt))
        self.window.append((now, qd, self.sent_total))
        while self.window and self.window[0][0] < now - WINDOW:
            self.window.popleft()
        t0, q0, b0 = self.window[0]
        # git-annex reports progress in steps (every ~0.5-1 s over ssh), so what the uploads
        # move is judged over the last second, not over one sample
        t1, _q1, b1 = next(w for w in self.window if w[0] >= now - 1.0)
        if now - t1 >= 0.5:
            sending = (self.sent_total - b1) / (now - t1)
        whole = now - t0 >= 0.9 * WINDOW
        low = max(0.2 * self.target, NOISE)  # no queue, as far as round trips can tell
        if whole and min(q for _t, q, _b in self.window) > low:  # full the whole window: its speed
            speed = (self.sent_total - b0) / max(1e-3, (now - t0) + (qd - q0))
            if speed > 0:
                self.uplink = speed if self.uplink is None else 0.7 * self.uplink + 0.3 * speed
        elif whole and self.uplink and max(q for _t, q, _b in self.window) < low and sending >= 0.8 * self.rate:
            self.uplink *= 1 + GAIN_UP  # no queue at the full rate: the link got faster
            self.window.clear()
        if self.uplink is None and qd > self.target and sending > 0:
            # full before a whole window: what moves is about its speed, and at most the rate it
            # was allowed (what a restarted process hands ssh at once is no measure of the link)
            self.uplink = min(sending, self.rate)
        if self.uplink:
            self.rate = self.uplink * max(0.3, min(1 + K * self.target, 1 + K * (self.target - qd)))
        elif sending >= 0.6 * self.rate:  # grow only a rate the uploads really use
            self.rate *= 1 + GAIN_UP
        self.rate = max(self.floor, self.rate)
        self.trace.append((now, rtt, qd, sending, self.rate))
        return self.rate


class P2pProbe:
    """A `git-annex-shell p2pstdio` session on the remote, over the shared ssh connection,
    timing one tiny request at a time."""

    def __init__(self, argv: list[str], cwd: str, env: dict[str, str], timeout: float = 30.0) -> None:
        self.proc = subprocess.Popen(argv, cwd=cwd, env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=subprocess.DEVNULL, start_new_session=True)
        self._buf = b""
        first = self._line(timeout)
        if first is None or not first.startswith(b"AUTH-SUCCESS "):
            self.close()
            raise OSError(f"git-annex-shell p2pstdio did not start: {first!r}")

    def _line(self, timeout: float) -> bytes | None:
        assert self.proc.stdout is not None
        fd = self.proc.stdout.fileno()
        deadline = time.monotonic() + timeout
        while b"\n" not in self._buf:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([fd], [], [], left)[0]:
                return None
            chunk = os.read(fd, 4096)
            if not chunk:
                return None
            self._buf += chunk
        line, self._buf = self._buf.split(b"\n", 1)
        return line

    def rtt(self, timeout: float = PROBE_TIMEOUT) -> float | None:
        """Seconds for one request and its answer; None if none came within `timeout` (the
        session is then unusable: a late answer would be read as the next one's)."""
        assert self.proc.stdin is not None
        started = time.monotonic()
        try:
            self.proc.stdin.write(f"CHECKPRESENT {DUMMY_KEY}\n".encode())
            self.proc.stdin.flush()
        except OSError:
            return None
        line = self._line(timeout)
        if line is None:
            return None
        return time.monotonic() - started

    def close(self) -> None:
        try:
            if self.proc.stdin:
                self.proc.stdin.close()  # git-annex-shell ends on EOF
        except OSError:
            pass
        kill_group(self.proc, grace=1.0)
        try:
            self.proc.wait(5)
        except subprocess.TimeoutExpired:
            pass
        if self.proc.stdout:
            self.proc.stdout.close()


def probe_for(root: str, git: Git, remote: str) -> P2pProbe | None:
    """A probe session to ssh remote `remote`, or None if it is not an ssh remote with
    git-annex (nothing to time)."""
    cfg = git.config_get_regexp(r"^remote\.")
    url = cfg.get(f"remote.{remote}.url", "")
    try:
        parsed = parse_remote_url(url, base=root)
    except BadURL:
        return None
    if parsed.kind != "ssh" or not parsed.host:
        return None
    ours = git.config_get("annex.uuid") or ""
    argv = annex_shell_argv(git, remote, parsed, cfg, "p2pstdio", ours)
    from ..network.notifychanges import ssh_command

    error = sshmux.connect(url, ssh_command(git, remote, cfg))  # the transfers' own connection
    if error:
        raise OSError(error)
    return P2pProbe(argv, root, repo_env(root, remote))


class AutoLimiter:
    """The automatic upload limit of one repository's remotes: a thread per remote while
    uploads to it run (none otherwise), each timing round trips and setting the rate.

    `uploading(remote)` says whether uploads to `remote` run or wait; `on_rate(remote)` is
    called after each change (the transfer manager restarts a process whose limit left its
    band). `probe_factory(remote)` makes the probe (tests and benchmarks may time another
    path). `state_file` keeps each remote's link speed across daemon starts."""

    def __init__(self, root: str, git: Git, limits: Limits, uploading: Callable[[str], bool],
                 on_rate: Callable[[str], None],
                 probe_factory: Callable[[str], P2pProbe | None] | None = None,
                 state_file: Path | None = None) -> None:
        self.root = root
        self.git = git
        self.limits = limits
        self.uploading = uploading
        self.on_rate = on_rate
        self.probe_factory = probe_factory or (lambda remote: probe_for(root, git, remote))
        self._lock = threading.Lock()
        self._threads: dict[str, threading.Thread] = {}
        self._controllers: dict[str, DelayController] = {}
        self._unprobeable: set[str] = set()
        self._stop = threading.Event()
        self.state_file = state_file
        self._remembered = self._load()

    def _load(self) -> dict[str, dict[str, float]]:
        if self.state_file is None:
            return {}
        try:
            data = json.loads(self.state_file.read_text())
        except FileNotFoundError:
            return {}
        except (OSError, ValueError) as e:  # a damaged file costs only a slow start
            log.warning("%s: %s unreadable, link speeds measured again: %s", self.root, self.state_file, e)
            return {}
        fresh = time.time() - REMEMBER_DAYS * 86400
        out = {}
        for remote, item in (data.items() if isinstance(data, dict) else []):
            try:
                uplink, at = float(item["uplink"]), float(item["at"])
            except (KeyError, TypeError, ValueError):
                continue
            if at >= fresh and uplink >= FLOOR:
                out[remote] = {"uplink": uplink, "at": at}
        return out

    def _remember(self, remote: str, uplink: float) -> None:
        if self.state_file is None:
            return
        with self._lock:
            self._remembered[remote] = {"uplink": round(uplink), "at": round(time.time())}
            text = json.dumps(self._remembered, indent=1, sort_keys=True)
        tmp = self.state_file.with_name(self.state_file.name + ".tmp")
        try:
            tmp.write_text(text)
            os.replace(tmp, self.state_file)
        except OSError as e:  # a full disk: the speed is measured again next time
            log.info("%s: could not keep the link speed of %s: %s", self.root, remote, e)
            tmp.unlink(missing_ok=True)

    def _controller(self, remote: str) -> DelayController:
        """The remote's controller (caller holds the lock): a new one starts at the link speed
        remembered from an earlier run, if any."""
        ctrl = self._controllers.get(remote)
        if ctrl is None:
            known = self._remembered.get(remote)
            ctrl = DelayController() if known is None else DelayController(rate=known["uplink"], uplink=known["uplink"])
            self._controllers[remote] = ctrl
        return ctrl

    def touch(self, remote: str) -> None:
        """An upload to `remote` starts: make sure its limiter runs."""
        with self._lock:
            if self._stop.is_set() or remote in self._unprobeable:
                return
            th = self._threads.get(remote)
            if th is not None and th.is_alive():
                return
            ctrl = self._controller(remote)
            # before the first byte: start from what we knew
            self.limits.set_auto(remote, int(ctrl.rate), room=1.25 if ctrl.uplink else 2.5)
            th = self._threads[remote] = threading.Thread(target=self._run, args=(remote, ctrl),
                                                          name=f"syncassistant-autolimit-{remote}", daemon=True)
            th.start()

    def forget(self, remote: str) -> None:
        with self._lock:
            self._unprobeable.discard(remote)

    def stop(self) -> None:
        self._stop.set()
        with self._lock:
            threads = list(self._threads.values())
        for th in threads:
            th.join(10)

    def status(self) -> dict[str, dict[str, Any]]:
        with self._lock:
            items = list(self._controllers.items())
            running = {r for r, th in self._threads.items() if th.is_alive()}
            remembered = dict(self._remembered)
        out: dict[str, dict[str, Any]] = {
            r: {"rate": int(k["uplink"]), "uplink": int(k["uplink"]), "queueing_ms": 0.0, "base_ms": 0.0,
                "measuring": False, "remembered": True}
            for r, k in remembered.items()}
        out.update({r: {"rate": int(c.rate), "uplink": int(c.uplink) if c.uplink else None,
                        "queueing_ms": round(c.queueing * 1000, 1),
                        "base_ms": round((c.base_delay() or 0) * 1000, 1), "measuring": r in running}
                    for r, c in items})
        return out

    def _run(self, remote: str, ctrl: DelayController) -> None:
        try:
            probe = self.probe_factory(remote)
        except (OSError, ValueError) as e:
            log.info("%s: no automatic upload limit for %s: %s", self.root, remote, e)
            probe = None
        if probe is None:
            with self._lock:
                self._unprobeable.add(remote)
            self.limits.set_auto(remote, None)
            self.on_rate(remote)
            return
        log.debug("%s: automatic upload limit for %s starts at %d B/s", self.root, remote, ctrl.rate)
        last_sent, last_time = self.limits.sent(remote), time.monotonic()
        quiet_since: float | None = None
        try:
            while not self._stop.wait(INTERVAL):
                now = time.monotonic()
                if self.uploading(remote):
                    quiet_since = None
                elif quiet_since is None:
                    quiet_since = now
                elif now - quiet_since >= IDLE_AFTER:
                    break
                rtt = probe.rtt()
                now = time.monotonic()
                sent, step = self.limits.sent(remote), max(1e-3, now - last_time)
                sending = (sent - last_sent) / step
                last_sent, last_time = sent, now
                ctrl.sample(rtt, now, sending, step)
                # while the link's speed is unknown the rate doubles every ~1.5 s: leave room
                self.limits.set_auto(remote, int(ctrl.rate), room=1.25 if ctrl.uplink else 2.5)
                self.on_rate(remote)  # a process whose limit left its band restarts
                if rtt is None:  # the session is out of step: a new one
                    probe.close()
                    probe = self.probe_factory(remote)
                    if probe is None:
                        break
        except (OSError, ValueError) as e:
            log.info("%s: automatic upload limit for %s stopped: %s", self.root, remote, e)
        finally:
            if probe is not None:
                probe.close()
            if ctrl.uplink:
                self._remember(remote, ctrl.uplink)
            log.debug("%s: automatic upload limit for %s rests at %d B/s (uplink ~%s B/s)", self.root, remote,
                      ctrl.rate, int(ctrl.uplink) if ctrl.uplink else "?")
