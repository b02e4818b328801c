"""The `syncassistant` command line.

Every command has `--help`; every failure exits non-zero with a one-line reason on stderr.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import signal
import sys
import time
from pathlib import Path

from . import cli_cloud, cli_conditions, cli_history, cli_invite, cli_map
from .engine import control
from .engine.lock import AlreadyRunning, DaemonLock
from .engine.network import remotes, sshmux
from .engine.network.urls import BadURL
from .engine.proc import reaper
from .engine.proc.git import Git, GitError
from .engine.repo import RepoError, init_repo, open_repo

log = logging.getLogger("syncassistant")


class CLIError(RuntimeError):
    """A one-line reason to print before exiting with status 1."""


# -- helpers ------------------------------------------------------------------------------------
def _state_dir(path: str) -> Path:
    top = open_repo(path)
    return Git(top).git_dir / "syncassistant"


def _ask(path: str, cmd: str, **extra: object) -> dict:
    state = _state_dir(path)
    try:
        reply = control.request(state, {"cmd": cmd, **extra})
    except control.ControlError as e:
        raise CLIError(f"{path}: daemon {e} (start it with: syncassistant daemon {path})") from None
    if not reply.get("ok"):
        raise CLIError(f"{path}: {reply.get('error', 'request failed')}")
    return reply


# -- commands -----------------------------------------------------------------------------------
def cmd_init(args: argparse.Namespace) -> int:
    top = init_repo(args.path, args.name)
    print(f"{top}: ready to sync")
    return 0


def cmd_remote_add(args: argparse.Namespace) -> int:
    top = open_repo(args.path)
    git = Git(top)
    if args.drive:
        return _remote_add_drive(top, args)
    if not args.url:
        raise CLIError("give a URL, or --drive MOUNT to make a new clone on a drive")
    try:
        # every check first (engine/network/remotes.py, as the settings window does), then the network
        name = remotes.check_name(args.name, set(git.remotes()) | set(remotes.remotes_of(git)))
        url = remotes.check_url(args.url, base=top)
        remotes.check_settings(args.cost, "full")
    except remotes.BadRemote as e:
        raise CLIError(f"invalid remote {e.field}: {e}") from None
    if not args.no_check:
        r = git.run("ls-remote", "--heads", "--", url.url, check=False, timeout=60)
        if r.returncode != 0:
            reason = (r.stderr.strip().splitlines() or ["unreachable"])[-1]
            raise CLIError(f"{url.url}: cannot reach it ({reason}); use --no-check to add it anyway")
    try:
        remotes.add_remote(top, name, url.url, cost=args.cost)
    except remotes.BadRemote as e:
        raise CLIError(f"invalid remote {e.field}: {e}") from None
    if not args.no_check:
        git.run("fetch", "--quiet", name, check=False, timeout=300)
    if DaemonLock(Git(top).git_dir / "syncassistant").held_by_other():
        _ask(str(top), "sync")
    print(f"{top}: remote {name} -> {url.url}")
    return 0


def _remote_add_drive(top: Path, args: argparse.Namespace) -> int:
    from .engine.devices.drives import DriveError, create_drive_clone

    try:
        name = create_drive_clone(top, args.drive, args.name, kind=args.kind)
    except DriveError as e:
        raise CLIError(str(e)) from None
    if DaemonLock(Git(top).git_dir / "syncassistant").held_by_other():
        _ask(str(top), "sync")
    print(f"{top}: remote {name} -> a {args.kind} clone on {args.drive}")
    return 0


def cmd_status(args: argparse.Namespace) -> int:
    top = open_repo(args.path)
    state_dir = Git(top).git_dir / "syncassistant"
    try:
        status = control.request(state_dir, {"cmd": "status"})["status"]
    except control.ControlError:
        status = {"repo": str(top), "state": "not running"}
    if args.json:
        print(json.dumps(status, indent=2, default=str))
        return 0
    busy = status.get("busy")
    print(f"{status['repo']}: {status['state']}" + (f" (busy: {'; '.join(busy)})" if busy else
                                                    ", idle" if status.get("idle") else ""))
    if (status.get("conditions") or {}).get("text"):  # run conditions: why content waits, or why paused
        print(f"  {status['conditions']['text']}")
    for r in status.get("remotes", []):
        last = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(r["last_sync"])) if r["last_sync"] else "never"
        line = f"  {r['name']}: last sync {last}"
        if r.get("offline"):
            line += ", offline"
        if r["error"]:
            retry = r["next_retry"] and max(0, r["next_retry"] - time.time())
            line += f", failing: {r['error']} (retry in {retry:.0f} s)"
        print(line)
    for where, message in (status.get("errors") or {}).items():
        print(f"  problem ({where}): {message}")
    for where, message in (status.get("warnings") or {}).items():
        print(f"  note ({where}): {message}")
    for c in status.get("conflicts", []):
        theirs = c.get("theirs") or {}
        print(f"  conflict: {c['path']} -> {', '.join(c['variants'])} "
              f"(from {theirs.get('device') if 'device_uuid' in theirs and theirs.get('device') else c['remote']})")
    q = status.get("queues")
    if q:
        print("  queues: " + ", ".join(f"{k} {v}" for k, v in q.items()))
    return 0


def cmd_simple(args: argparse.Namespace) -> int:
    _ask(args.path, args.command)
    print(f"{args.path}: {args.command} requested")
    return 0


def cmd_limit(args: argparse.Namespace) -> int:
    from .engine.transfers.ratelimit import BadRate, parse_rate

    req: dict[str, object] = {"remote": args.remote}
    try:
        if args.upload is not None:
            req["upload"] = parse_rate(args.upload)
        if args.download is not None:
            req["download"] = parse_rate(args.download)
    except BadRate as e:
        raise CLIError(str(e)) from None
    if args.auto is not None:
        req["auto"] = args.auto == "on"
    reply = _ask(args.path, "limit", **req)
    lim = reply["limits"]
    print(f"upload {_rate(lim['upload'])}, download {_rate(lim['download'])}"
          + "".join(f"; {r}: upload {_rate(v['upload'])}, download {_rate(v['download'])}"
                    for r, v in lim["remotes"].items()))
    if lim.get("auto_upload"):
        print("automatic upload limit: on" + "".join(
            f"; {r}: {_rate(a['rate'])}" + (f", uplink ~{_rate(a['uplink'])}" if a.get("uplink") else "")
            + f", queueing {a['queueing_ms']:.0f} ms" for r, a in (lim.get("auto_status") or {}).items()))
    return 0


def _rate(bps: int) -> str:
    import humanize

    return "unlimited" if not bps else humanize.naturalsize(bps, binary=True) + "/s"


def cmd_transfers(args: argparse.Namespace) -> int:
    import humanize

    reply = _ask(args.path, "transfers")
    if args.json:
        print(json.dumps(reply, indent=2, default=str))
        return 0
    for t in reply["transfers"]:
        size = humanize.naturalsize(t["size"], binary=True) if t["size"] else "?"
        pct = f"{100 * t['bytes_done'] / t['size']:.0f}%" if t["size"] else ""
        arrow = "->" if t["direction"] == "upload" else "<-"
        print(f"{t['state']:9} {arrow} {t['remote']:12} {pct:>4} {size:>9} {t['path']}"
              + (f"  ({t['error']})" if t.get("error") else ""))
    return 0


def cmd_rule(args: argparse.Namespace) -> int:
    from .engine.transfers import rules

    top = open_repo(args.path)
    try:
        if args.rule_command == "add":
            expr = rules.add_rule(top, args.dir, args.action)
            print(f"{top}: wanted here = {expr or 'anything'}")
        elif args.rule_command == "remove":
            expr = rules.remove_rule(top, args.dir)
            print(f"{top}: wanted here = {expr or 'anything'}")
        else:
            for r in rules.list_rules(top):
                print(f"{r['action']} {r['dir']}")
    except rules.RuleError as e:
        raise CLIError(str(e)) from None
    if args.rule_command != "list" and DaemonLock(Git(top).git_dir / "syncassistant").held_by_other():
        _ask(str(top), "sync")
    return 0


def cmd_daemon(args: argparse.Namespace) -> int:
    tops = [open_repo(p) for p in args.paths]
    for top in tops:
        if DaemonLock(Git(top).git_dir / "syncassistant").held_by_other():
            raise CLIError(f"{top}: a daemon is already running on this repository")
    if args.foreground:
        _setup_logging(args.verbose, None)
        return run_foreground(tops)
    for top in tops:
        _spawn_background(top, args.verbose)
    return 0


class StopSignal:
    """SIGTERM/SIGINT, waited for without missing one.

    Python runs signal handlers only in the main thread, but the kernel may deliver the signal to
    any of the engine's threads; a main thread asleep in `Event.wait(3600)` then sleeps on (seen:
    a daemon ignoring SIGTERM for 20 minutes). The C-level handler always writes to the wakeup
    fd, so waiting in select() on it wakes at once, whichever thread took the signal.
    """

    def __init__(self) -> None:
        self._r, w = os.pipe()
        os.set_blocking(w, False)
        os.set_blocking(self._r, False)
        signal.set_wakeup_fd(w, warn_on_full_buffer=False)
        self.received = False
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, self._handle)

    def _handle(self, *_: object) -> None:
        self.received = True

    def wait(self) -> None:
        import select

        stops = {int(signal.SIGTERM), int(signal.SIGINT)}
        while not self.received:
            select.select([self._r], [], [], 3600)
            try:
                while data := os.read(self._r, 512):  # the wakeup fd carries the signal numbers
                    if stops & set(data):
                        self.received = True
            except BlockingIOError:
                pass


def run_foreground(tops: list[Path]) -> int:
    from .engine.daemon import Assistant
    from .engine.devices.notify import Notifier

    stop = StopSignal()
    _guard = reaper.guard()  # our children end with us, even if we are killed
    try:
        # notices (a drive connected, up to date) go to the desktop where a session bus runs
        # one, as the tray's do; else only to the log
        assistant = Assistant(tops, notify=Notifier().send)
        assistant.start()
    except AlreadyRunning as e:
        raise CLIError(str(e)) from None
    try:
        stop.wait()
    finally:
        assistant.stop()
        sshmux.close_all()  # the shared ssh connections end with the daemon
    return 0


def _spawn_background(top: Path, verbose: bool) -> None:
    """Double-fork a daemon for one repository; wait until it is up or says why not."""
    r, w = os.pipe()
    pid = os.fork()
    if pid:
        os.close(w)
        with os.fdopen(r) as pipe:
            msg = pipe.read()
        os.waitpid(pid, 0)
        if msg.strip() != "ok":
            raise CLIError(f"{top}: {msg.strip() or 'daemon failed to start'}")
        print(f"{top}: daemon started")
        return
    os.close(r)
    try:
        os.setsid()
        if os.fork():
            os._exit(0)
        logfile = Git(top).git_dir / "syncassistant" / "daemon.log"
        logfile.parent.mkdir(exist_ok=True)
        fd = os.open(logfile, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        devnull = os.open(os.devnull, os.O_RDONLY)
        os.dup2(devnull, 0)
        os.dup2(fd, 1)
        os.dup2(fd, 2)
        _setup_logging(verbose, None)
        from .engine.daemon import Assistant
        from .engine.devices.notify import Notifier

        stop = StopSignal()
        _guard = reaper.guard()  # (see run_foreground)
        assistant = Assistant([top], notify=Notifier().send)
        assistant.start()
        os.write(w, b"ok")
        os.close(w)
        stop.wait()
        assistant.stop()
        sshmux.close_all()  # os._exit skips atexit: end the shared ssh connections here
        os._exit(0)
    except BaseException as e:  # report to the waiting parent, then leave
        try:
            os.write(w, str(e).encode() or b"failed")
        except OSError:
            pass
        os._exit(1)


def _setup_logging(verbose: bool, logfile: Path | None) -> None:
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(threadName)s: %(message)s",
        stream=sys.stderr,
    )


# -- parser -------------------------------------------------------------------------------------
def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="syncassistant",
                                description="Keep a folder in sync between devices with git-annex.")
    p.add_argument("-v", "--verbose", action="store_true", help="log debugging detail")
    sub = p.add_subparsers(dest="command", metavar="COMMAND")

    s = sub.add_parser("init", help="make a folder a synced repository (idempotent)")
    s.add_argument("path", metavar="PATH")
    s.add_argument("--name", help="a description of this device's copy")
    s.set_defaults(func=cmd_init)

    s = sub.add_parser("remote", help="manage the places this folder syncs with")
    rsub = s.add_subparsers(dest="remote_command", metavar="ACTION", required=True)
    ra = rsub.add_parser("add", help="add a remote: a path, file:// URL, or ssh://[user@]host[:port]/path")
    ra.add_argument("path", metavar="PATH", help="the repository")
    ra.add_argument("name", metavar="NAME", help="a name for the remote")
    ra.add_argument("url", metavar="URL", nargs="?", help="where it is (not with --drive)")
    ra.add_argument("--drive", metavar="MOUNT",
                    help="make a new clone on the drive mounted at MOUNT; NAME is the drive's label")
    ra.add_argument("--kind", choices=["full", "directory"], default="full",
                    help="with --drive: a full clone (files readable on the drive) or a git-annex directory remote")
    ra.add_argument("--cost", type=int, help="transfer cost (git-annex annex-cost; lower is preferred)")
    ra.add_argument("--no-check", action="store_true", help="add it even if it cannot be reached now")
    ra.set_defaults(func=cmd_remote_add)

    s = sub.add_parser("daemon", help="run the sync engine (headless) on one or more repositories")
    s.add_argument("paths", nargs="+", metavar="PATH")
    s.add_argument("--foreground", "-f", action="store_true", help="stay in the foreground, log to stderr")
    s.set_defaults(func=cmd_daemon)

    s = sub.add_parser("status", help="show what the daemon of a repository is doing")
    s.add_argument("path", metavar="PATH")
    s.add_argument("--json", action="store_true", help="machine-readable output")
    s.set_defaults(func=cmd_status)

    s = sub.add_parser("limit", help="set speed limits, live (RATE like 500KiB/s, 4MB/s; 0 = none)")
    s.add_argument("path", metavar="PATH")
    s.add_argument("--upload", metavar="RATE")
    s.add_argument("--download", metavar="RATE")
    s.add_argument("--remote", metavar="NAME", help="limit only transfers with this remote")
    s.add_argument("--auto", choices=("on", "off"),
                   help="automatic upload limit for ssh remotes: keep the delay our uploads add to the "
                        "network small (manual limits still apply)")
    s.set_defaults(func=cmd_limit)

    s = sub.add_parser("transfers", help="list running, queued, failed and recent transfers")
    s.add_argument("path", metavar="PATH")
    s.add_argument("--json", action="store_true")
    s.set_defaults(func=cmd_transfers)

    s = sub.add_parser("rule", help="per-folder content rules (which folders this clone keeps)")
    rs = s.add_subparsers(dest="rule_command", metavar="ACTION", required=True)
    r = rs.add_parser("add", help="add a rule: exclude = don't keep DIR's content here; include = only such DIRs")
    r.add_argument("path", metavar="PATH")
    r.add_argument("dir", metavar="DIR")
    r.add_argument("action", choices=["include", "exclude"])
    r.set_defaults(func=cmd_rule)
    r = rs.add_parser("remove", help="remove the rule for DIR")
    r.add_argument("path", metavar="PATH")
    r.add_argument("dir", metavar="DIR")
    r.set_defaults(func=cmd_rule)
    r = rs.add_parser("list", help="list the rules")
    r.add_argument("path", metavar="PATH")
    r.set_defaults(func=cmd_rule)

    sub.add_parser("tray", help="start the tray app (the default with no command); see tray --help")

    for name, text in (("pause", "pause syncing"), ("resume", "resume syncing"), ("sync", "sync now")):
        s = sub.add_parser(name, help=text)
        s.add_argument("path", metavar="PATH")
        s.set_defaults(func=cmd_simple)
    cli_map.register(sub)
    cli_cloud.register(sub)
    cli_conditions.register(sub)
    cli_invite.register(sub)
    cli_history.register(sub)
    return p


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    argv = sys.argv[1:] if argv is None else argv
    if not argv or argv[0] == "tray":
        # the tray has its own options (--minimized, ...): hand them over untouched
        from .ui.main import main as tray_main

        return tray_main(argv[1:])
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    if not hasattr(args, "verbose"):
        args.verbose = False
    try:
        return args.func(args)
    except (CLIError, RepoError, BadURL, AlreadyRunning) as e:
        print(f"syncassistant: {e}", file=sys.stderr)
        return 1
    except GitError as e:
        print(f"syncassistant: {e}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
