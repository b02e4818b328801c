"""`syncassistant invite | join | devices`: connect another device with a one-time code.

    syncassistant invite PATH            # prints a code like 7-guitarist-revenge, waits for the join
    syncassistant join CODE [PATH]       # on the other device: makes or adopts PATH and connects it
    syncassistant devices PATH [--disconnect NAME]

The engine is engine/network/invite.py; this module only turns options into its arguments.
This device's ssh server is found on --ssh-port (22) of 127.0.0.1 (or the first --ssh-host); the
addresses offered are --ssh-host (repeatable) or this machine's LAN addresses and host name.
--mailbox points at another magic-wormhole mailbox server than the public one.

An invitation carries the folder's cloud remote, if it has one (--cloud-remote picks which,
--no-cloud none; its password only with --share-cloud-credentials): where neither device can
reach the other over ssh, the join makes the folder a clone of it instead. A join through a
cloud remote whose password was not shared takes --cloud-user and the password from
$SYNCASSISTANT_CLOUD_PASSWORD.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

from .engine.network import cloud
from .engine.network import invite as inv
from .engine.repo import RepoError


def _ssh(args: argparse.Namespace) -> inv.SshAccess | None:
    if args.no_ssh_server:
        return None
    return inv.local_ssh(args.ssh_port, args.ssh_host or None, user=args.ssh_user,
                         authorized_keys=Path(args.authorized_keys) if args.authorized_keys else None,
                         host_key_files=[Path(f) for f in args.host_key] if args.host_key else None)


def _describe(d: inv.Device) -> str:
    ways = []
    if d.remote:
        ways.append(f"remote {d.remote} -> {d.url}")
    if d.authorized_keys:
        ways.append("may reach this folder over ssh (git-annex only)")
    if d.cloud:
        ways.append(f"through the cloud remote {d.cloud} (no ssh path between the two)")
    return f"{d.name}: " + ("; ".join(ways) or "not connected")


def cmd_invite(args: argparse.Namespace) -> int:
    ssh = _ssh(args)

    def show(code: str) -> None:
        print(f"On the other device run:\n    syncassistant join {code}", flush=True)
        if ssh is None:
            print("(no ssh server runs here: the other device must run one)", file=sys.stderr, flush=True)

    try:
        d = inv.invite(args.path, ssh=ssh, on_code=show, mailbox=args.mailbox, name=args.name,
                       wait=args.timeout or inv.INVITE_WAIT, cloud_remote=args.cloud_remote,
                       share_cloud=not args.no_cloud, share_cloud_credentials=args.share_cloud_credentials)
    except (inv.InviteError, RepoError) as e:
        print(f"syncassistant: {e}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("syncassistant: invitation cancelled", file=sys.stderr)
        return 130
    print(f"connected {_describe(d)}")
    return 0


def cmd_join(args: argparse.Namespace) -> int:
    started = time.monotonic()
    creds = None
    if args.cloud_user:
        password = os.environ.get("SYNCASSISTANT_CLOUD_PASSWORD")
        if not password:
            print("syncassistant: give the cloud password in $SYNCASSISTANT_CLOUD_PASSWORD", file=sys.stderr)
            return 2
        creds = cloud.Credentials(args.cloud_user, password)
    try:
        d = inv.join(args.code, args.path, ssh=_ssh(args), mailbox=args.mailbox, name=args.name,
                     wait=args.timeout or inv.JOIN_WAIT, cloud_credentials=creds)
    except (inv.InviteError, RepoError) as e:
        print(f"syncassistant: {e}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("syncassistant: join cancelled", file=sys.stderr)
        return 130
    print(f"connected {_describe(d)} ({time.monotonic() - started:.1f} s)")
    return 0


def cmd_devices(args: argparse.Namespace) -> int:
    try:
        if args.disconnect:
            d = inv.disconnect(args.path, args.disconnect)
            print(f"disconnected {d.name}" + (f" (remote {d.remote} removed)" if d.remote else "")
                  + (f" (the cloud remote {d.cloud} stays: other devices may sync through it)" if d.cloud else ""))
            return 0
        devices = inv.list_devices(args.path)
    except (inv.InviteError, RepoError) as e:
        print(f"syncassistant: {e}", file=sys.stderr)
        return 1
    if args.json:
        print(json.dumps([vars(d) for d in devices], indent=2))
        return 0
    for d in devices:
        seen = time.strftime("%Y-%m-%d %H:%M", time.localtime(d.last_seen)) if d.last_seen else "unknown"
        print(f"{_describe(d)}; last seen {seen}")
    return 0


def _common(s: argparse.ArgumentParser) -> None:
    s.add_argument("--mailbox", metavar="URL", default=inv.PUBLIC_MAILBOX,
                   help="the magic-wormhole mailbox server (default: the public one)")
    s.add_argument("--ssh-port", type=int, default=22, metavar="N", help="this device's ssh server port (22)")
    s.add_argument("--ssh-host", action="append", metavar="H",
                   help="an address the other device reaches this one at (repeatable; default: LAN addresses)")
    s.add_argument("--ssh-user", metavar="USER", help="the account the other device logs in as (default: yours)")
    s.add_argument("--authorized-keys", metavar="FILE",
                   help="the authorized_keys file this device's sshd reads (default: ~/.ssh/authorized_keys)")
    s.add_argument("--host-key", action="append", metavar="FILE",
                   help="this sshd's public host key, for the other device to pin (default: /etc/ssh/*.pub)")
    s.add_argument("--no-ssh-server", action="store_true", help="do not offer this device's ssh server")
    s.add_argument("--name", help="this device's name as the other will show it (default: host name)")
    s.add_argument("--timeout", type=float, metavar="S", help="how long to wait for the other device")


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``invite``, ``join`` and ``devices`` to the CLI's subparsers."""
    s = subparsers.add_parser("invite", help="connect another device: print a one-time code and wait")
    s.add_argument("path", metavar="PATH")
    _common(s)
    s.add_argument("--cloud-remote", metavar="NAME", help="the cloud remote the invitation carries (default: the first)")
    s.add_argument("--no-cloud", action="store_true", help="carry no cloud remote")
    s.add_argument("--share-cloud-credentials", action="store_true",
                   help="also hand over the cloud remote's user name and password")
    s.set_defaults(func=cmd_invite)

    s = subparsers.add_parser("join", help="join another device's folder with the code it shows")
    s.add_argument("code", metavar="CODE")
    s.add_argument("path", metavar="PATH", nargs="?", help="the folder here (default: ~/NAME as there)")
    _common(s)
    s.add_argument("--cloud-user", metavar="USER",
                   help="the cloud remote's user name, if the invitation has none (password: $SYNCASSISTANT_CLOUD_PASSWORD)")
    s.set_defaults(func=cmd_join)

    s = subparsers.add_parser("devices", help="list the devices connected by invitations, or disconnect one")
    s.add_argument("path", metavar="PATH")
    s.add_argument("--disconnect", metavar="NAME", help="disconnect this device (no file is deleted)")
    s.add_argument("--json", action="store_true")
    s.set_defaults(func=cmd_devices)
