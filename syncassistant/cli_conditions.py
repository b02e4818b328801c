"""`syncassistant conditions`: when a folder holds its content or pauses (metered network,
battery, a network other than the named ones), set in its git config (engine/devices/conditions.py), and "sync anyway for an hour".

A running daemon is told at once (control request "conditions") and answers once it has
applied them, so what this prints is what the daemon does now.
"""

from __future__ import annotations

import argparse
import sys
import time
from typing import Any

from .engine import control
from .engine.devices.conditions import ACTIONS, BadCondition, Conditions, write_conditions
from .engine.devices.conditions import read_conditions as read_config
from .engine.lock import DaemonLock
from .engine.proc.git import Git
from .engine.repo import open_repo


def register(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Add the ``conditions`` command to the CLI's subparsers; returns its parser."""
    s = subparsers.add_parser(
        "conditions", help="hold content or pause on a metered connection or on battery",
        description="Without options: the folder's run conditions and whether they hold now. "
                    "sync = sync everything; hold-content = commits and changes go on, file content "
                    "waits; pause = nothing syncs.")
    s.add_argument("path", metavar="PATH")
    s.add_argument("--metered", choices=ACTIONS, help="on a metered connection")
    s.add_argument("--battery", choices=ACTIONS, help="on battery")
    s.add_argument("--battery-below", type=int, metavar="N",
                   help="battery conditions only below N %% charge (0 = whenever on battery)")
    s.add_argument("--networks", metavar="NAMES",
                   help="sync fully only on these network connections (comma-separated names, like "
                        "'Home, Office'; a Wi-Fi network's name unless renamed); '' = any network")
    s.add_argument("--other-networks", choices=("hold-content", "pause"),
                   help="what to do on any other network (default hold-content)")
    s.add_argument("--override-hour", action="store_true",
                   help="sync anyway for an hour, every folder of the running daemon; then the "
                        "conditions apply again")
    s.set_defaults(func=cmd_conditions)
    return s


def cmd_conditions(args: argparse.Namespace) -> int:
    top = open_repo(args.path)
    git = Git(top)
    try:
        if (args.metered or args.battery or args.battery_below is not None or args.networks is not None
                or args.other_networks):
            write_conditions(git, on_metered=args.metered, on_battery=args.battery,
                             battery_below=args.battery_below, only_networks=args.networks,
                             on_other_networks=args.other_networks)
    except BadCondition as e:
        print(f"syncassistant: {e}", file=sys.stderr)
        return 1
    cond = read_config(git)
    state = git.git_dir / "syncassistant"
    reply: dict[str, Any] | None = None
    status: dict[str, Any] | None = None
    if DaemonLock(state).held_by_other():
        try:
            # (the override's length is the engine's: an hour, or what a test made it)
            reply = control.request(state, {"cmd": "conditions", "override": True if args.override_hour else None})
            status = control.request(state, {"cmd": "status"}).get("status")
        except control.ControlError as e:
            print(f"syncassistant: {top}: daemon {e}", file=sys.stderr)
            return 1
        if not reply.get("ok"):
            print(f"syncassistant: {top}: {reply.get('error')}", file=sys.stderr)
            return 1
    elif args.override_hour:
        print(f"syncassistant: {top}: no daemon runs here, so there is nothing to override "
              f"(start it with: syncassistant daemon {top})", file=sys.stderr)
        return 1
    print_conditions(str(top), cond, reply, status)
    return 0


def print_conditions(top: str, cond: Conditions, reply: dict[str, Any] | None,
                     status: dict[str, Any] | None) -> None:
    battery = cond.on_battery
    if battery != "sync" and cond.battery_below:
        battery += f" below {cond.battery_below} %"
    print(f"{top}:")
    print(f"  on a metered connection: {cond.on_metered}")
    print(f"  on battery: {battery}")
    if cond.only_networks:
        print(f"  only on networks: {', '.join(cond.only_networks)} (elsewhere: {cond.on_other_networks})")
    else:
        print("  on any network")
    for problem in cond.problems:
        print(f"  problem: {problem}")
    if reply is None or status is None:
        print("  now: the daemon is not running (the conditions apply once it runs)")
        return
    pct = reply.get("percentage")
    where = (f"metered: {'yes' if reply.get('metered') else 'no'}, on battery: "
             f"{'yes' if reply.get('on_battery') else 'no'}" + (f", {pct:.0f} %" if pct is not None else "")
             + (f", network: {reply['network']}" if reply.get("network") else ""))
    watching = reply.get("watching") or {}
    for what, label in (("network", "NetworkManager"), ("power", "UPower")):
        if watching.get(what) == "none":
            where += f"; {label} not found"
    report = status.get("conditions") or {}
    print(f"  now: {report.get('text') or 'syncing'} ({where})")
    until = reply.get("override_until")
    if until:
        print(f"  overridden until {time.strftime('%H:%M:%S', time.localtime(until))}")
