"""`syncassistant cloud`: add an encrypted cloud remote (WebDAV, S3, a folder), share it with
another device as one string, join from that string, list them (engine/network/cloud.py).

Passwords are never arguments (they would show in `ps` and the shell's history): they come
from ``$SYNCASSISTANT_CLOUD_PASSWORD`` or a prompt.
"""

from __future__ import annotations

import argparse
import getpass
import os
import sys
from pathlib import Path

from .engine import control
from .engine.lock import DaemonLock
from .engine.network import cloud
from .engine.proc.git import Git
from .engine.repo import open_repo

PASSWORD_VAR = "SYNCASSISTANT_CLOUD_PASSWORD"


class CloudCLIError(RuntimeError):
    """A one-line reason to print before exiting with status 1."""


def _password(user: str | None, what: str) -> str:
    secret = os.environ.get(PASSWORD_VAR)
    if secret:
        return secret
    if not sys.stdin.isatty():
        raise CloudCLIError(f"give the password of {what} in ${PASSWORD_VAR} (no terminal to ask on)")
    return getpass.getpass(f"password of {user or 'the account'} at {what}: ")


def _wake_daemon(top: Path) -> None:
    state = Git(top).git_dir / "syncassistant"
    if DaemonLock(state).held_by_other():
        try:
            control.request(state, {"cmd": "sync"})
        except control.ControlError:
            pass


def cmd_cloud(args: argparse.Namespace) -> int:
    try:
        return _run(args)
    except cloud.CloudError as e:
        print(f"syncassistant: {e.field}: {e}", file=sys.stderr)
        return 1
    except CloudCLIError as e:
        print(f"syncassistant: {e}", file=sys.stderr)
        return 1


def _run(args: argparse.Namespace) -> int:
    if args.cloud_command == "add":
        top = open_repo(args.path)
        config = cloud.check_config(args.type, url=args.url, bucket=args.bucket, host=args.host,
                                    port=args.port, protocol=args.protocol, directory=args.directory,
                                    rsyncurl=args.url if args.type == "rsync" else None)
        creds = None
        if args.type in cloud.CRED_VARS:
            if not args.user:
                raise CloudCLIError(f"a {args.type} remote needs --user")
            where = config.fields.get("url") or config.fields.get("host") or "S3"
            creds = cloud.Credentials(args.user, _password(args.user, where))
        uuid = cloud.add_cloud_remote(top, args.name, config, creds, role=args.role, numcopies=args.numcopies)
        _wake_daemon(top)
        print(f"{top}: cloud remote {args.name} ({args.type}, {args.role}, encrypted) added, uuid {uuid}")
        return 0
    if args.cloud_command == "share":
        top = open_repo(args.path)
        print(cloud.share_string(top, args.name, with_credentials=args.with_credentials))
        return 0
    if args.cloud_command == "join":
        creds = None
        share = cloud.parse_share(args.string)
        if share.credentials is None and share.config.kind in cloud.CRED_VARS:
            if not args.user:
                raise CloudCLIError("the share string has no credentials: give --user (and the password)")
            where = share.config.fields.get("url") or share.config.fields.get("host") or "S3"
            creds = cloud.Credentials(args.user, _password(args.user, where))
        top = cloud.join(args.string, args.path, credentials=creds, description=args.name)
        print(f"{top}: joined through cloud remote {share.name}; start syncing with: syncassistant daemon {top}")
        return 0
    if args.cloud_command == "role":
        top = open_repo(args.path)
        if not Git(top).config_get(f"remote.{args.name}.annex-uuid"):
            raise CloudCLIError(f"{args.name} is not a git-annex remote of {top}")
        if args.role:
            cloud.set_role(top, args.name, args.role)
            _wake_daemon(top)  # (its scanner reads the new preferred content)
        print(f"{args.name}\t{cloud.get_role(top, args.name) or '-'}")
        return 0
    if args.cloud_command == "numcopies":
        top = open_repo(args.path)
        if args.n is not None:
            cloud.set_numcopies(top, args.n)
        print(cloud.get_numcopies(top))
        return 0
    top = open_repo(args.path)
    for r in cloud.list_cloud_remotes(top):
        print(f"{r.name}\t{r.kind}\t{r.role or '-'}\t{r.where}\t"
              f"{'credentials in keyring' if r.has_credentials else 'no credentials'}")
    return 0


def register(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Add the ``cloud`` command to the CLI's subparsers; returns its parser."""
    s = subparsers.add_parser("cloud", help="encrypted cloud remotes: WebDAV, S3, a folder")
    sub = s.add_subparsers(dest="cloud_command", metavar="ACTION", required=True)
    a = sub.add_parser("add", help="add a cloud remote (content and history, encrypted)",
                       description=f"The password comes from ${PASSWORD_VAR} or a prompt; it is kept "
                                   "in the keyring only.")
    a.add_argument("path", metavar="PATH", help="the repository")
    a.add_argument("name", metavar="NAME", help="a name for the remote")
    a.add_argument("--type", required=True, choices=list(cloud.TYPES))
    a.add_argument("--url", help="webdav: the folder's URL, like https://dav.example.org/sync; "
                                 "rsync: host:/path, rsync://host/module/path or /path")
    a.add_argument("--bucket", help="s3: the bucket")
    a.add_argument("--host", help="s3: the server (default: Amazon S3)")
    a.add_argument("--port", type=int, help="s3: the server's port")
    a.add_argument("--protocol", choices=["http", "https"], help="s3: http or https")
    a.add_argument("--directory", help="directory: the folder (absolute path)")
    a.add_argument("--user", help="webdav: the user name; s3: the access key id")
    a.add_argument("--role", choices=list(cloud.ROLES), default="transfer",
                   help="transfer (default: content kept only until every device has it), backup, "
                        "archive, full")
    a.add_argument("--numcopies", type=int, help="how many copies of each file git-annex keeps")
    s_share = sub.add_parser("share", help="print one string another device joins with (a secret!)")
    s_share.add_argument("path", metavar="PATH")
    s_share.add_argument("name", metavar="NAME")
    s_share.add_argument("--with-credentials", action="store_true",
                         help="include the user name and password")
    j = sub.add_parser("join", help="make a synced clone at PATH from a share string")
    j.add_argument("string", metavar="STRING")
    j.add_argument("path", metavar="PATH")
    j.add_argument("--user", help="when the string holds no credentials")
    j.add_argument("--name", help="a description of this device's copy")
    c = sub.add_parser("list", help="list the cloud remotes")
    c.add_argument("path", metavar="PATH")
    r = sub.add_parser("role", help="show or set a remote's role")
    r.add_argument("path", metavar="PATH")
    r.add_argument("name", metavar="NAME")
    r.add_argument("role", metavar="ROLE", nargs="?", choices=list(cloud.ROLES),
                   help="transfer, backup, archive or full (none: show it)")
    n = sub.add_parser("numcopies", help="show or set how many copies of each file git-annex keeps")
    n.add_argument("path", metavar="PATH")
    n.add_argument("n", metavar="N", nargs="?", type=int, help="1 or more (none: show it)")
    s.set_defaults(func=cmd_cloud)
    return s
