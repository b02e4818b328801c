"""Run conditions: when a folder holds its file content or pauses (metered network, battery), no Qt.

This module owns three things:

* the per-folder settings in git config, read and written in one place (:func:`read_conditions`,
  :func:`write_conditions`): ``syncassistant.onMetered`` and ``syncassistant.onBattery``, each
  ``sync`` (the default), ``hold-content`` (commits, merges and pushes go on; content transfers
  wait) or ``pause`` (the daemon's pause: nothing syncs); ``syncassistant.batteryBelow`` = N
  (battery conditions apply only below N %; 0 = whenever on battery);
  ``syncassistant.onlyOnNetworks`` = names of network connections, comma-separated (NetworkManager's
  connection name: a Wi-Fi network's name unless renamed), and ``syncassistant.onOtherNetworks``
  (``hold-content``, the default, or ``pause``) for any other connection. The older
  ``syncassistant.pause-on-metered=true`` still means ``onMetered=hold-content``. A bad value
  is not fatal: that condition falls back to ``sync`` and the reason goes to the status as a
  warning (a typo must not stop a folder from syncing, nor hold it for ever);
* :func:`decide` -- what a folder's conditions ask for in a given :class:`Situation`;
* :class:`ConditionsKeeper` -- the device monitor's part that applies decisions to daemons
  (holds with the reasons ``metered`` / ``battery``, the pause reason ``conditions``), and the
  override ("sync anyway for an hour") with its expiry time, which the monitor's worker waits
  for (no timer thread, no polling).

On a metered network or another network than the named ones, only transfers that cross the network are held (a USB drive or a folder
on this machine costs nothing); on battery every transfer is (each one keeps the disk and CPU
busy).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any, Literal

from ..proc.git import Git

if TYPE_CHECKING:
    from ..daemon import Daemon

log = logging.getLogger(__name__)

Action = Literal["sync", "hold-content", "pause"]
ACTIONS: tuple[Action, ...] = ("sync", "hold-content", "pause")
KEY_METERED = "syncassistant.onMetered"
KEY_BATTERY = "syncassistant.onBattery"
KEY_BELOW = "syncassistant.batteryBelow"
KEY_NETWORKS = "syncassistant.onlyOnNetworks"
KEY_OTHER_NETWORKS = "syncassistant.onOtherNetworks"
KEY_LEGACY_METERED = "syncassistant.pause-on-metered"
OVERRIDE_SECONDS = 3600.0  # "sync anyway for an hour"
PAUSE_REASON = "conditions"  # the daemon's pause reason while a condition pauses it
_TRUE = ("true", "yes", "on", "1")
_FALSE = ("false", "no", "off", "0", "")


class BadCondition(ValueError):
    """A run-condition value that cannot be used; the message says which and why."""


@dataclass(frozen=True)
class Conditions:
    """One folder's run conditions (see the module docstring)."""

    on_metered: Action = "sync"
    on_battery: Action = "sync"
    battery_below: int = 0  # %; 0: whenever on battery
    only_networks: tuple[str, ...] = ()  # connection names; (): any network
    on_other_networks: Action = "hold-content"  # connected to a network not named above
    problems: tuple[str, ...] = ()  # bad values met while reading, each a sentence

    def as_dict(self) -> dict[str, Any]:
        return {"on_metered": self.on_metered, "on_battery": self.on_battery,
                "battery_below": self.battery_below, "only_networks": list(self.only_networks),
                "on_other_networks": self.on_other_networks, "problems": list(self.problems)}


@dataclass(frozen=True)
class Situation:
    """Where the device is: the network metered? on battery, and how full?"""

    metered: bool = False
    on_battery: bool = False
    percentage: float | None = None  # None: unknown (no UPower, or no battery)
    network: str | None = None  # the primary connection's name (None: none, or no NetworkManager)


@dataclass(frozen=True)
class Verdict:
    """What one folder does now: ``action`` (the strongest asked for) and why.

    ``holds``: hold reason -> remotes it holds (None: all), for ``hold-content`` and ``pause``
    alike (a paused folder moves no content either, and resumes into the holds). ``reasons``
    are the conditions that apply, ``{"kind": "metered"}`` / ``{"kind": "battery", "percentage": 23}``.
    ``override_until``: the conditions would apply but are overridden until then (wall time).
    """

    action: Action = "sync"
    reasons: tuple[dict[str, Any], ...] = ()
    holds: dict[str, frozenset[str] | None] = field(default_factory=dict)
    override_until: float | None = None

    def text(self) -> str:
        """One line for a person (the CLI's status); the tray words it itself, translated."""
        if self.action == "sync":
            return "Syncing anyway (conditions overridden)" if self.override_until else ""
        why = ", ".join(reason_text(r) for r in self.reasons)
        return f"Paused: {why}" if self.action == "pause" else f"Holding content: {why}"


def reason_text(reason: dict[str, Any]) -> str:
    if reason.get("kind") == "metered":
        return "metered connection"
    if reason.get("kind") == "network":
        return f"on another network ({reason.get('name')})"
    pct = reason.get("percentage")
    return f"on battery ({pct:.0f} %)" if pct is not None else "on battery"


# ---------------------------------------------------------------------------------------------
# git config


def _action(raw: str, key: str) -> Action:
    value = raw.strip().lower()
    if value in ACTIONS:
        return value  # type: ignore[return-value]
    raise BadCondition(f"{key} = {raw!r} is not one of {', '.join(ACTIONS)}")


def _percent(raw: str, key: str = KEY_BELOW) -> int:
    text = raw.strip().rstrip("%").strip()
    try:
        value = int(text)
    except ValueError:
        raise BadCondition(f"{key} = {raw!r} is not a whole number of percent (0-100)") from None
    if not 0 <= value <= 100:
        raise BadCondition(f"{key} = {raw!r} is not between 0 and 100")
    return value


def parse_networks(raw: str) -> tuple[str, ...]:
    """"Home, Office" -> ("Home", "Office") (a name cannot hold a comma)."""
    return tuple(dict.fromkeys(n.strip() for n in raw.split(",") if n.strip()))


def _other_action(raw: str, key: str) -> Action:
    action = _action(raw, key)
    if action == "sync":  # (it would make the list of networks mean nothing)
        raise BadCondition(f"{key} = {raw!r} is not one of hold-content, pause")
    return action


def parse_conditions(config: dict[str, str]) -> Conditions:
    """Conditions from git config entries (keys as `git config --get-regexp` gives them: lower case)."""
    cfg = {k.lower(): v for k, v in config.items()}
    problems: list[str] = []

    def get(key: str, parse: Callable[[str, str], Any], default: Any) -> Any:
        raw = cfg.get(key.lower())
        if raw is None:
            return default
        try:
            return parse(raw, key)
        except BadCondition as e:
            problems.append(f"{e}; that condition is not applied")
            return None

    legacy = (cfg.get(KEY_LEGACY_METERED.lower()) or "").strip().lower()
    metered_default: Action = "hold-content" if legacy in _TRUE else "sync"
    if legacy not in _TRUE + _FALSE:
        problems.append(f"{KEY_LEGACY_METERED} = {legacy!r} is not true or false; ignored")
    on_metered = get(KEY_METERED, _action, metered_default)
    on_battery = get(KEY_BATTERY, _action, "sync")
    below = get(KEY_BELOW, _percent, 0)
    if below is None:  # a bad threshold: the battery condition is not applied at all
        on_battery, below = "sync", 0
    networks = parse_networks(cfg.get(KEY_NETWORKS.lower(), ""))
    other = get(KEY_OTHER_NETWORKS, _other_action, "hold-content")
    if other is None:  # a bad action: the network condition is not applied at all
        networks, other = (), "hold-content"
    return Conditions(on_metered or "sync", on_battery or "sync", below, networks, other, tuple(problems))


def read_conditions(git: Git) -> Conditions:
    """One folder's conditions from its git config (one `git config` process)."""
    return parse_conditions(git.config_get_regexp(r"^syncassistant\."))


def write_conditions(git: Git, *, on_metered: str | None = None, on_battery: str | None = None,
                     battery_below: int | str | None = None, only_networks: str | Sequence[str] | None = None,
                     on_other_networks: str | None = None) -> Conditions:
    """Check, then set the given conditions in git config; returns them as read back.

    BadCondition (nothing written) for a value that is not allowed. Setting ``on_metered``
    removes the older ``pause-on-metered`` key, which would otherwise still say something;
    ``only_networks`` empty removes the list (any network will do).
    """
    values: list[tuple[str, str]] = []
    names: tuple[str, ...] | None = None
    if only_networks is not None:
        names = parse_networks(only_networks if isinstance(only_networks, str) else ",".join(only_networks))
        if any("," in n for n in ([] if isinstance(only_networks, str) else only_networks)):
            raise BadCondition(f"{KEY_NETWORKS}: a network name cannot hold a comma")
    if on_other_networks is not None:
        values.append((KEY_OTHER_NETWORKS, _other_action(on_other_networks, KEY_OTHER_NETWORKS)))
    if on_metered is not None:
        values.append((KEY_METERED, _action(on_metered, KEY_METERED)))
    if on_battery is not None:
        values.append((KEY_BATTERY, _action(on_battery, KEY_BATTERY)))
    if battery_below is not None:
        values.append((KEY_BELOW, str(_percent(str(battery_below)))))
    for key, value in values:
        git.config_set(key, value)
    if names is not None:
        if names:
            git.config_set(KEY_NETWORKS, ", ".join(names))
        else:
            git.config_unset(KEY_NETWORKS)
    if on_metered is not None:
        git.config_unset(KEY_LEGACY_METERED)
    return read_conditions(git)


# ---------------------------------------------------------------------------------------------
# deciding


def decide(cond: Conditions, where: Situation, network_remotes: frozenset[str],
           override_until: float | None = None, now: float | None = None) -> Verdict:
    """What ``cond`` asks for in ``where``; ``network_remotes`` are the ones a metered hold covers."""
    wanted: list[tuple[Action, dict[str, Any], str, frozenset[str] | None]] = []
    if where.metered and cond.on_metered != "sync":
        wanted.append((cond.on_metered, {"kind": "metered"}, "metered", network_remotes))
    if where.on_battery and cond.on_battery != "sync":
        pct = where.percentage
        below = cond.battery_below
        # unknown percentage with a threshold: apply (on battery is what we know for sure)
        if below == 0 or pct is None or pct < below:
            reason = {"kind": "battery", "percentage": pct, "below": below}
            wanted.append((cond.on_battery, reason, "battery", None))
    # connected, and not to a named network (not connected: nothing crosses the network anyway)
    if cond.only_networks and where.network is not None and where.network not in cond.only_networks:
        wanted.append((cond.on_other_networks, {"kind": "network", "name": where.network}, "network",
                       network_remotes))
    if not wanted:
        return Verdict()
    if override_until is not None and override_until > (time.time() if now is None else now):
        return Verdict("sync", tuple(r for _, r, _, _ in wanted), {}, override_until)
    action: Action = "pause" if any(a == "pause" for a, *_ in wanted) else "hold-content"
    return Verdict(action, tuple(r for _, r, _, _ in wanted), {hold: remotes for _, _, hold, remotes in wanted})


# ---------------------------------------------------------------------------------------------
# applying


class ConditionsKeeper:
    """Applies every daemon's conditions to the current situation; owned by the DeviceMonitor.

    Its setters (``set_metered``, ``set_power``, ``override``) only record and say whether
    anything changed; :meth:`apply` (the monitor's worker thread) does the git config reads and
    tells the daemons. ``override_duration`` is how long :meth:`override` lasts by default.
    """

    def __init__(self, override_duration: float = OVERRIDE_SECONDS) -> None:
        self.override_duration = override_duration
        self._lock = threading.Lock()
        self._where = Situation()
        self._override_until: float | None = None  # wall time (status shows it as a clock time)
        self._override_deadline: float | None = None  # the same, monotonic (the worker waits for it)
        self._applied: dict[str, Verdict] = {}  # repo root -> what it was told last

    @property
    def situation(self) -> Situation:
        with self._lock:
            return self._where

    @property
    def override_until(self) -> float | None:
        with self._lock:
            return self._override_until

    def set_metered(self, metered: bool) -> bool:
        with self._lock:
            old, self._where = self._where, replace(self._where, metered=metered)
            return old != self._where

    def set_network(self, name: str | None) -> bool:
        with self._lock:
            old, self._where = self._where, replace(self._where, network=name)
            return old != self._where

    def set_power(self, on_battery: bool, percentage: float | None) -> bool:
        """Record the power; True when that may change a verdict (a charging battery's
        percentage cannot: battery conditions hold only on battery)."""
        with self._lock:
            old, self._where = self._where, replace(self._where, on_battery=on_battery, percentage=percentage)
            return old.on_battery != on_battery or (on_battery and old.percentage != percentage)

    def override(self, seconds: float | None = None) -> float:
        """Conditions do not apply for ``seconds`` (default ``override_duration``) from now;
        0 ends an override. Returns the wall time it ends."""
        seconds = self.override_duration if seconds is None else max(0.0, seconds)
        with self._lock:
            if seconds == 0:
                self._override_until = self._override_deadline = None
                return time.time()
            self._override_until = time.time() + seconds
            self._override_deadline = time.monotonic() + seconds
            return self._override_until

    def deadline(self) -> float | None:
        """When (monotonic) the worker must call :meth:`expire`, or None."""
        with self._lock:
            return self._override_deadline

    def expire(self) -> bool:
        """The override's time is up (True: it ended now, apply again)."""
        with self._lock:
            if self._override_deadline is None or time.monotonic() < self._override_deadline:
                return False
            self._override_until = self._override_deadline = None
        log.info("the override of the run conditions ended: they apply again")
        return True

    def forget(self, daemon: Daemon) -> None:
        with self._lock:
            self._applied.pop(str(daemon.root), None)

    def verdict(self, daemon: Daemon) -> tuple[Conditions, Verdict]:
        """What ``daemon``'s conditions ask for now (reads its git config)."""
        cond = read_conditions(Git(daemon.root))
        with self._lock:
            where, until = self._where, self._override_until
        network: frozenset[str] = frozenset()
        if (where.metered and cond.on_metered != "sync") or cond.only_networks:
            # only what crosses the network: a USB drive or a folder here costs nothing
            network = frozenset(n for n, r in daemon.remotes().items() if r.local_path(daemon.root) is None)
        return cond, decide(cond, where, network, until)

    def apply(self, daemons: Sequence[Daemon]) -> None:
        """Tell each daemon what its conditions ask for now, where that changed."""
        for d in daemons:
            try:
                cond, verdict = self.verdict(d)
            except Exception:
                log.exception("%s: cannot read the run conditions", d.root)
                continue
            key = str(d.root)
            with self._lock:
                before = self._applied.get(key)
                self._applied[key] = verdict
            report = {**cond.as_dict(), "action": verdict.action, "reasons": list(verdict.reasons),
                      "override_until": verdict.override_until, "text": verdict.text(),
                      "held_remotes": {k: (None if v is None else sorted(v)) for k, v in verdict.holds.items()}}
            if verdict != before:
                if verdict.action != "sync":
                    log.info("%s: %s", d.root, verdict.text())
                elif before is not None and before.action != "sync":
                    log.info("%s: run conditions no longer hold: syncing%s", d.root,
                             " (overridden)" if verdict.override_until else "")
            d.apply_conditions(verdict.action, dict(verdict.holds), report)
