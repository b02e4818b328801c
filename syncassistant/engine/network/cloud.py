"""Cloud remotes: a WebDAV server, an S3 bucket or a plain folder as an encrypted bridge between
clones that never see each other, content and git history both.

This module owns adding one (`add_cloud_remote`), handing it to another device as one string
(`share_string`), making a clone from that string alone (`join`), and the environment that
carries a cloud remote's credentials to git and git-annex (`cloud_env`, used by proc/git.py for
every process of a repository).

How git-annex does it (10.20261026, checked on this machine with WsgiDAV and moto):

- `git annex initremote NAME type=... encryption=shared --with-url` makes the special remote
  and sets `remote.NAME.url = annex::`: git itself then pushes and fetches through
  git-remote-annex, which stores the history as encrypted bundles next to the content. Every
  object on the server is named `GPGHMACSHA1--...`: no file name, no content in clear.
- An encrypted special remote is refused as a git remote unless
  `remote.NAME.annex-allow-encrypted-gitrepo` is set: a fresh clone cannot learn the key from the
  remote itself. With `encryption=shared` the key (the "cipher") sits in the git-annex branch's
  `remote.log`; the joining device gets it in the share string, and clones from an `annex::`
  URL that carries it (`annex::UUID?type=...&cipher=...`). After the clone its git-annex branch
  holds the cipher, and the URL is set back to a bare `annex::` (no key in `.git/config`).
- Credentials: git-annex reads `WEBDAV_USERNAME`/`WEBDAV_PASSWORD` and
  `AWS_ACCESS_KEY_ID`/`AWS_SECRET_ACCESS_KEY` from its environment, but `initremote` and a
  clone also write them to `.git/annex/creds/UUID`. We delete that file: credentials live in the
  keyring only (service "syncassistant", user "cloud:UUID") and reach git-annex through the
  environment `cloud_env` builds.
- S3 on a loopback or LAN address is refused until `annex.security.allowed-ip-addresses` allows
  it (a NAS on the LAN hits the same wall): we allow exactly the addresses the host the user
  named resolves to. WebDAV was not refused.
- Roles map to git-annex's standard groups with `wanted NAME standard`: transfer (content kept
  only until every client has it), backup, archive, full (group client). Our clones are put in
  group client (when in no group), or a transfer remote would never count them.

Nothing here runs a shell; user text reaches git and git-annex as single argv entries, and the
only `x::` URL ever made is `annex::` built here from checked parts.
"""

from __future__ import annotations

import base64
import binascii
import getpass
import ipaddress
import json
import logging
import os
import re
import socket
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

log = logging.getLogger(__name__)

KEYRING_SERVICE = "syncassistant"
SHARE_PREFIX = "syncassistant-cloud:v1:"
#: our type names -> git-annex's
TYPES = {"webdav": "webdav", "s3": "S3", "directory": "directory", "rsync": "rsync"}
#: roles -> git-annex standard groups (preferred content: `wanted NAME standard`)
ROLES = {"transfer": "transfer", "backup": "backup", "archive": "archive", "full": "client"}
#: which environment variables carry a type's credentials to git-annex
CRED_VARS = {"webdav": ("WEBDAV_USERNAME", "WEBDAV_PASSWORD"),
             "s3": ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY")}
#: remote.log fields a share string may carry (everything else is dropped: embedded creds, and
#: anything that would pick a program to run, like type=external or hooks)
_SHARE_FIELDS = {
    "webdav": {"url", "chunk", "chunksize"},
    "s3": {"bucket", "host", "port", "protocol", "requeststyle", "datacenter", "storageclass",
           "signature", "region", "fileprefix", "partsize", "chunk", "chunksize", "publicurl"},
    "directory": {"directory", "chunk", "chunksize", "ignoreinodes"},
    "rsync": {"rsyncurl", "chunk", "chunksize", "shellescape"},
}
_COMMON_FIELDS = {"encryption", "cipher", "mac"}
_UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
_BUCKET = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
_HOST = re.compile(r"^[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?$")
INIT_TIMEOUT = 180.0
CLONE_TIMEOUT = 600.0


class CloudError(ValueError):
    """A cloud remote cannot be added, shared or joined; the message says why in one line.
    ``field`` names the input at fault ("name", "type", "url", "credentials", "server",
    "share", "path", ...) for a form to show it next to it."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


@dataclass(frozen=True)
class Credentials:
    user: str
    password: str

    def env(self, kind: str) -> dict[str, str]:
        names = CRED_VARS.get(kind)
        return dict(zip(names, (self.user, self.password), strict=True)) if names else {}


@dataclass(frozen=True)
class CloudConfig:
    """What a cloud remote is: its type and git-annex's settings for it (no credentials)."""

    kind: str  # webdav | s3 | directory
    fields: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Share:
    """What a share string holds."""

    name: str
    uuid: str
    config: CloudConfig
    credentials: Credentials | None = None

    def annex_url(self) -> str:
        """The `annex::` URL git-remote-annex clones from, with the cipher in it."""
        params = {"type": TYPES[self.config.kind], **self.config.fields}
        query = "&".join(f"{quote(k, safe='')}={quote(v, safe='')}" for k, v in params.items())
        return f"annex::{self.uuid}?{query}"


@dataclass(frozen=True)
class CloudRemote:
    """A cloud remote of a repository, for `cloud list`."""

    name: str
    kind: str
    uuid: str | None
    role: str | None
    where: str
    has_credentials: bool


# ---------------------------------------------------------------------------------------------
# checking what the user typed


def check_config(kind: str, *, url: str | None = None, bucket: str | None = None,
                 host: str | None = None, port: int | None = None, protocol: str | None = None,
                 directory: str | None = None, rsyncurl: str | None = None) -> CloudConfig:
    """The git-annex settings for a new remote of type ``kind``, checked; else CloudError."""
    if kind not in TYPES:
        raise CloudError("type", f"unknown cloud type {kind!r} (one of {', '.join(TYPES)})")
    fields: dict[str, str] = {}
    if kind == "webdav":
        if not url:
            raise CloudError("url", "a WebDAV remote needs --url (like https://dav.example.org/sync)")
        _check_text("url", url)
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise CloudError("url", f"{url!r}: a WebDAV URL starts with https:// or http:// and names a host")
        fields["url"] = url
    elif kind == "s3":
        if not bucket or not _BUCKET.match(bucket) or ".." in bucket:
            raise CloudError("bucket", f"{bucket!r}: a bucket name is 3-63 lower-case letters, digits, '.' or '-'")
        fields["bucket"] = bucket
        if host:
            _check_host(host)
            fields.update(host=host, requeststyle="path")
        if port is not None:
            if not 0 < port < 65536:
                raise CloudError("port", f"{port}: not a port number")
            fields["port"] = str(port)
        if protocol:
            if protocol not in ("http", "https"):
                raise CloudError("protocol", "the protocol is http or https")
            fields["protocol"] = protocol
        elif host:
            fields["protocol"] = "http" if _is_local_address(host) else "https"
    elif kind == "rsync":
        if not rsyncurl:
            raise CloudError("url", "an rsync remote needs --url (like host:/srv/sync, "
                                    "rsync://host/module/sync or /mnt/nas/sync)")
        _check_text("url", rsyncurl)
        if "::" in rsyncurl.split("/", 1)[0] and not rsyncurl.startswith("rsync://"):
            raise CloudError("url", f"{rsyncurl!r}: write an rsync daemon's address as rsync://host/module")
        if any(c.isspace() for c in rsyncurl):
            raise CloudError("url", f"{rsyncurl!r}: an rsync URL has no spaces")
        local = rsyncurl.startswith("/")
        if not local and ":" not in rsyncurl:
            raise CloudError("url", f"{rsyncurl!r}: give host:/path, rsync://host/module/path or an absolute path")
        if local and not Path(rsyncurl).is_dir():
            raise CloudError("url", f"{rsyncurl}: no such folder")
        fields["rsyncurl"] = rsyncurl
    else:
        if not directory:
            raise CloudError("directory", "a directory remote needs --directory (an absolute path)")
        _check_text("directory", directory)
        d = Path(os.path.expanduser(directory))
        if not d.is_absolute():
            raise CloudError("directory", f"{directory!r}: give an absolute path")
        if not d.is_dir():
            raise CloudError("directory", f"{d}: no such folder")
        fields["directory"] = str(d)
    return CloudConfig(kind, fields)


def _check_text(what: str, text: str) -> None:
    if text != text.strip() or any(ord(c) < 32 or ord(c) == 127 for c in text):
        raise CloudError(what, f"{text!r}: spaces at the ends or control characters")
    if text.startswith("-"):
        raise CloudError(what, f"{text!r}: may not start with '-'")


def _check_host(host: str) -> None:
    try:
        ipaddress.ip_address(host)
        return
    except ValueError:
        pass
    if not _HOST.match(host):
        raise CloudError("host", f"{host!r}: not a host name or IP address")


def _addresses(host: str) -> list[str]:
    try:
        return [str(ipaddress.ip_address(host))]
    except ValueError:
        pass
    try:
        infos = socket.getaddrinfo(host, None, proto=socket.IPPROTO_TCP)
    except OSError:
        return []
    return sorted({str(info[4][0]) for info in infos})


def _is_local_address(host: str) -> bool:
    for a in _addresses(host):
        ip = ipaddress.ip_address(a)
        if ip.is_loopback or ip.is_private or ip.is_link_local:
            return True
    return False


def _local_addresses(config: CloudConfig) -> list[str]:
    """The loopback or LAN addresses git-annex must be allowed to reach for this remote (S3
    only: WebDAV is not refused)."""
    host = config.fields.get("host") if config.kind == "s3" else None
    if not host:
        return []
    return [a for a in _addresses(host)
            if (ip := ipaddress.ip_address(a)).is_loopback or ip.is_private or ip.is_link_local]


# ---------------------------------------------------------------------------------------------
# the keyring


def _keyring() -> Any:
    import keyring

    return keyring


def keyring_user(uuid: str) -> str:
    return f"cloud:{uuid}"


def check_keyring() -> None:
    """Raise CloudError unless a keyring that keeps secrets is there (checked before anything
    is written, so a remote is never left without its credentials)."""
    kr = _keyring()
    backend = kr.get_keyring()
    name = type(backend).__module__ + "." + type(backend).__name__
    if getattr(backend, "priority", 1) <= 0 or name.startswith(("keyring.backends.null", "keyring.backends.fail")):
        raise CloudError("credentials", f"no keyring is available to keep the password ({name}); "
                                        "start your desktop's keyring (Secret Service, KWallet)")


def store_credentials(uuid: str, creds: Credentials) -> None:
    from keyring.errors import KeyringError

    secret = json.dumps({"user": creds.user, "password": creds.password})
    try:
        _keyring().set_password(KEYRING_SERVICE, keyring_user(uuid), secret)
        kept = _keyring().get_password(KEYRING_SERVICE, keyring_user(uuid))
    except KeyringError as e:
        raise CloudError("credentials", f"the keyring refused the password: {e}") from None
    if kept != secret:
        raise CloudError("credentials", "no keyring is available to keep the password (it was not saved)")
    forget_cache()


def load_credentials(uuid: str) -> Credentials | None:
    from keyring.errors import KeyringError

    try:
        secret = _keyring().get_password(KEYRING_SERVICE, keyring_user(uuid))
    except KeyringError as e:
        log.warning("cannot read the credentials of cloud remote %s from the keyring: %s", uuid, e)
        return None
    if not secret:
        return None
    try:
        d = json.loads(secret)
        return Credentials(str(d["user"]), str(d["password"]))
    except (ValueError, KeyError, TypeError):
        log.warning("the keyring entry of cloud remote %s is not ours", uuid)
        return None


# ---------------------------------------------------------------------------------------------
# the environment of a repository's git and git-annex processes

_cache_lock = threading.Lock()
_cache: dict[str, tuple[tuple[int, int, int] | None, dict[str, dict[str, str]], bool]] = {}


def forget_cache() -> None:
    """Read remotes and credentials again (after they changed here, or the keyring changed)."""
    with _cache_lock:
        _cache.clear()
        _creds_cache.clear()


def _remote_config(git_dir: Path, env: dict[str, str]) -> tuple[dict[str, dict[str, str]], bool]:
    """name -> {kind, uuid} of our cloud remotes, and whether any remote's URL is `annex::`."""
    import subprocess

    r = subprocess.run(["git", "--git-dir", str(git_dir), "config", "-z", "--get-regexp",
                        r"^remote\..*\.(url|syncassistant-cloud|annex-uuid)$"],
                       env=env, stdin=subprocess.DEVNULL, capture_output=True, timeout=30)
    if r.returncode not in (0, 1):
        return {}, False
    by_name: dict[str, dict[str, str]] = {}
    for item in r.stdout.decode(errors="surrogateescape").split("\0"):
        key, _, value = item.partition("\n")
        if not key.startswith("remote."):
            continue
        name, _, var = key[len("remote."):].rpartition(".")
        by_name.setdefault(name, {})[var] = value
    annex_url = any(v.get("url", "").startswith("annex::") for v in by_name.values())
    ours = {n: {"kind": v["syncassistant-cloud"], "uuid": v.get("annex-uuid", "")}
            for n, v in by_name.items() if v.get("syncassistant-cloud") in TYPES}
    return ours, annex_url


def cloud_env(cwd: str | os.PathLike[str], remote: str | None = None,
              base: dict[str, str] | None = None) -> dict[str, str]:
    """What to add to the environment of a git or git-annex process of the repository at `cwd`
    so it reaches its cloud remotes: `annex` allowed as a git transport where a remote's URL is
    `annex::`, and each cloud remote's credentials from the keyring. Two remotes of one type
    share the variables: `remote`'s win, else the first by name. Empty for a repository with
    no such remote (the common case costs a stat of its config, cached)."""
    from ..proc.git import git_dir_of

    git_dir = git_dir_of(Path(cwd))
    if git_dir is None:
        return {}
    key = str(git_dir)
    try:
        st = os.stat(git_dir / "config")
        stamp: tuple[int, int, int] | None = (st.st_mtime_ns, st.st_size, st.st_ino)
    except OSError:
        stamp = None
    with _cache_lock:
        hit = _cache.get(key)
    if hit is None or hit[0] != stamp:
        env = dict(base) if base is not None else _plain_env()
        ours, annex_url = _remote_config(git_dir, env)
        with _cache_lock:
            _cache[key] = (stamp, ours, annex_url)
    else:
        ours, annex_url = hit[1], hit[2]
    out: dict[str, str] = {}
    if annex_url:
        out["GIT_ALLOW_PROTOCOL"] = allow_annex_protocol((base or os.environ).get("GIT_ALLOW_PROTOCOL"))
    names = sorted(ours, key=lambda n: (n != remote, n))
    for name in reversed(names):  # the first wins: applied last
        info = ours[name]
        # (a folder or rsync remote has no credentials: no keyring question for it)
        creds = _creds_cached(info["uuid"]) if info["uuid"] and info["kind"] in CRED_VARS else None
        if creds:
            out.update(creds.env(info["kind"]))
    return out


_creds_cache: dict[str, Credentials | None] = {}


def _creds_cached(uuid: str) -> Credentials | None:
    with _cache_lock:
        if uuid in _creds_cache:
            return _creds_cache[uuid]
    creds = load_credentials(uuid)
    with _cache_lock:
        _creds_cache[uuid] = creds
    return creds


def _plain_env() -> dict[str, str]:
    env = dict(os.environ)
    env["LC_ALL"] = env.get("LC_ALL") or "C.UTF-8"
    return env


def allow_annex_protocol(allowed: str | None) -> str:
    protocols = [p for p in (allowed or "file:ssh:git:http:https").split(":") if p]
    return ":".join(protocols + ([] if "annex" in protocols else ["annex"]))


# ---------------------------------------------------------------------------------------------
# errors git-annex reports, in words a person can act on


def explain(stderr: str, config: CloudConfig | None = None) -> tuple[str, str]:
    """(field, message) for a failed initremote, clone, push or fetch."""
    text = stderr.lower()
    where = ""
    if config is not None:
        where = (config.fields.get("url") or config.fields.get("rsyncurl") or config.fields.get("host")
                 or config.fields.get("directory") or "")
        if config.kind == "s3" and not config.fields.get("host"):
            where = "Amazon S3"
    # the server unreachable first: its message holds the URL, whose port may read "...401"
    if any(s in text for s in ("connection refused", "connectionfailure", "no route to host",
                               "does not exist (name or service", "timed out", "network is unreachable",
                               "connection reset", "failedconnectionexception")):
        return "server", f"cannot reach the server{' ' + where if where else ''}: is it running and is the address right?"
    if re.search(r"(?<![\d:])(401|403)(?!\d)", text) or any(
            s in text for s in ("unauthorized", "invalidaccesskeyid", "signaturedoesnotmatch",
                                "forbidden", "access denied", "accessdenied")):
        return "credentials", f"the server refused the user name or password{' of ' + where if where else ''}"
    if re.search(r"(?<![\d:])507(?!\d)", text) or any(
            s in text for s in ("insufficient storage", "quotaexceeded", "quota exceeded", "no space left")):
        return "server", f"the storage{' ' + where if where else ''} is full (quota exceeded): free space there"
    if "already a special remote named" in text:
        # (git-annex keeps every special remote's name in its branch, one removed long ago too)
        return "name", "this folder had a remote of that name before (git-annex remembers it): choose another name"
    if "not allowed" in text and "ip" in text:
        return "server", f"git-annex refused the address of {where or 'the server'}"
    lines = [ln.strip() for ln in stderr.splitlines() if ln.strip()]
    return "server", lines[-1] if lines else "git-annex failed"


# ---------------------------------------------------------------------------------------------
# adding one


def _git(root: Path) -> Any:
    from ..proc.git import Git

    return Git(root)


def _annex_env(creds: Credentials | None, kind: str) -> dict[str, str]:
    from ..proc.git import base_env

    env = {"GIT_ALLOW_PROTOCOL": allow_annex_protocol(base_env().get("GIT_ALLOW_PROTOCOL"))}
    if creds is not None:
        env.update(creds.env(kind))
    return env


def _annex_run(root: Path, args: list[str], env: dict[str, str], timeout: float) -> Any:
    from ..proc.annex import annex_binary
    from ..proc.git import run

    return run([annex_binary(), *args], cwd=root, env=env, timeout=timeout, check=False)


def _remove_stored_creds(git_dir: Path) -> None:
    """initremote and a clone keep the credentials in .git/annex/creds/: ours are in the keyring."""
    creds_dir = git_dir / "annex" / "creds"
    try:
        entries = list(creds_dir.iterdir())
    except OSError:
        return
    for p in entries:
        try:
            p.unlink()
        except OSError as e:
            log.warning("could not remove %s: %s", p, e)


def _allow_addresses(git: Any, addresses: list[str]) -> None:
    if not addresses:
        return
    current = git.config_get("annex.security.allowed-ip-addresses") or ""
    have = current.split()
    if "all" in have:
        return
    new = have + [a for a in addresses if a not in have]
    if new != have:
        git.config_set("annex.security.allowed-ip-addresses", " ".join(new))


def add_cloud_remote(root: str | os.PathLike[str], name: str, config: CloudConfig,
                     credentials: Credentials | None, *, role: str = "transfer",
                     numcopies: int | None = None, push: bool = True,
                     progress: Callable[[str], None] = lambda step: None) -> str:
    """Make `name` an encrypted cloud remote of the repository at `root` (content and history);
    returns its annex UUID. Everything is checked before git-annex runs; credentials go to the
    keyring, never to a file or the git config. `progress` hears each step as it starts
    ("check", "init", "role", "push"); a failure before "push" leaves no remote and no keyring
    entry (a failed push leaves a working remote: the daemon's pusher tries again)."""
    from . import remotes

    root = Path(root)
    git = _git(root)
    try:
        name = remotes.check_name(name, set(git.remotes()) | set(remotes.remotes_of(git)))
    except remotes.BadRemote as e:
        raise CloudError("name", str(e)) from None
    if role not in ROLES:
        raise CloudError("role", f"unknown role {role!r} (one of {', '.join(ROLES)})")
    if numcopies is not None and numcopies < 1:
        raise CloudError("numcopies", "numcopies is 1 or more")
    if config.kind in CRED_VARS:
        if credentials is None or not credentials.user or not credentials.password:
            raise CloudError("credentials", f"a {config.kind} remote needs a user name and a password")
        check_keyring()
    else:
        credentials = None
    progress("check")
    _allow_addresses(git, _local_addresses(config))
    progress("init")
    args = ["initremote", name, f"type={TYPES[config.kind]}", "encryption=shared", "--with-url",
            *(f"{k}={v}" for k, v in config.fields.items())]
    res = _annex_run(root, args, _annex_env(credentials, config.kind), INIT_TIMEOUT)
    _remove_stored_creds(git.git_dir)
    if res.returncode != 0:
        # (git-annex may have written part of the remote's git config before it failed)
        if git.config_get_regexp(rf"^remote\.{re.escape(name)}\."):
            git.run("config", "--remove-section", f"remote.{name}", check=False)
        where, message = explain(res.stderr + res.stdout, config)
        raise CloudError(where, message)
    uuid = git.config_get(f"remote.{name}.annex-uuid")
    if not uuid:
        raise CloudError("server", f"git-annex made remote {name} but recorded no UUID for it")
    git.config_set(f"remote.{name}.annex-allow-encrypted-gitrepo", "true")
    if credentials is not None:
        store_credentials(uuid, credentials)
    git.config_set(f"remote.{name}.syncassistant-cloud", config.kind)
    forget_cache()
    progress("role")
    set_role(root, name, role)
    if numcopies is not None:
        set_numcopies(root, numcopies)
    if push:
        progress("push")
        push_history(root, name)
    return uuid


def set_role(root: str | os.PathLike[str], name: str, role: str) -> None:
    """Put remote `name` in the standard group of `role` with `wanted standard`; this clone
    goes into group client if it is in none (a transfer remote counts clients)."""
    if role not in ROLES:
        raise CloudError("role", f"unknown role {role!r} (one of {', '.join(ROLES)})")
    from ..proc.annex import Annex

    annex = Annex(Path(root))
    for group in ROLES.values():
        if group != ROLES[role]:
            annex.run("ungroup", name, group, check=False)
    annex.run("group", name, ROLES[role])
    annex.run("wanted", name, "standard")
    if not annex.run("group", "here", check=False).stdout.strip():
        annex.run("group", "here", "client")


def get_numcopies(root: str | os.PathLike[str]) -> int:
    """git-annex's numcopies for the repository (1 when never set)."""
    from ..proc.annex import Annex

    text = Annex(Path(root)).run("numcopies", check=False).stdout.strip()
    return int(text) if text.isdigit() else 1


def get_role(root: str | os.PathLike[str], name: str) -> str | None:
    """The role of remote `name` (its standard group), None when it is in none of ours."""
    from ..proc.annex import Annex

    groups = Annex(Path(root)).run("group", name, check=False).stdout.split()
    return next((r for r, g in ROLES.items() if g in groups), None)


def set_numcopies(root: str | os.PathLike[str], n: int) -> None:
    from ..proc.annex import Annex

    if n < 1:
        raise CloudError("numcopies", "numcopies is 1 or more")
    Annex(Path(root)).run("numcopies", str(n))


def push_history(root: str | os.PathLike[str], name: str) -> None:
    """Push the branch, its synced/ twin and the git-annex branch to the cloud remote now (what
    the daemon's pusher does on every commit), so a device can join at once."""
    git = _git(Path(root))
    branch = git.current_branch() or "master"
    refspecs = [f"refs/heads/{branch}:refs/heads/{branch}", f"refs/heads/{branch}:refs/heads/synced/{branch}"]
    if git.ref_sha("refs/heads/git-annex"):
        refspecs.append("refs/heads/git-annex:refs/heads/synced/git-annex")
    res = git.run("push", "--quiet", "--no-verify", name, *refspecs, check=False, timeout=600)
    if res.returncode != 0:
        where, message = explain(res.stderr)
        raise CloudError(where, f"pushing the history to {name} failed: {message}")


# ---------------------------------------------------------------------------------------------
# reading what a repository has


def _remote_log(git: Any) -> dict[str, dict[str, str]]:
    """uuid -> its latest fields in the git-annex branch's remote.log."""
    res = git.run("cat-file", "-p", "refs/heads/git-annex:remote.log", check=False)
    latest: dict[str, tuple[float, dict[str, str]]] = {}
    for line in res.stdout.splitlines():
        uuid, *items = line.split()
        fields = dict(item.partition("=")[::2] for item in items)
        try:
            ts = float(fields.pop("timestamp", "0").rstrip("s"))
        except ValueError:
            ts = 0.0
        if uuid not in latest or ts >= latest[uuid][0]:
            latest[uuid] = (ts, fields)
    return {u: f for u, (_, f) in latest.items()}


def list_cloud_remotes(root: str | os.PathLike[str]) -> list[CloudRemote]:

    root = Path(root)
    git = _git(root)
    cfg = git.config_get_regexp(r"^remote\..*\.(syncassistant-cloud|annex-uuid)$")
    log_ = _remote_log(git)
    out = []
    for key, kind in sorted(cfg.items()):
        if not key.endswith(".syncassistant-cloud"):
            continue
        name = key[len("remote."):-len(".syncassistant-cloud")]
        uuid = cfg.get(f"remote.{name}.annex-uuid")
        fields = log_.get(uuid or "", {})
        role = get_role(root, name)
        where = fields.get("url") or fields.get("rsyncurl") or fields.get("directory") or (
            f"{fields.get('bucket', '?')} on {fields.get('host', 'Amazon S3')}"
            + (f":{fields['port']}" if fields.get("port") else ""))
        out.append(CloudRemote(name, kind, uuid, role, where,
                               bool(uuid) and kind in CRED_VARS and load_credentials(uuid) is not None))
    return out


# ---------------------------------------------------------------------------------------------
# the share string


def share_string(root: str | os.PathLike[str], name: str, with_credentials: bool = False) -> str:
    """One line that lets another device join through cloud remote `name`: its type, settings,
    encryption key and (only if asked) its credentials. It is a secret: whoever has it reads
    everything stored there."""
    git = _git(Path(root))
    kind = git.config_get(f"remote.{name}.syncassistant-cloud")
    uuid = git.config_get(f"remote.{name}.annex-uuid")
    if kind not in TYPES or not uuid:
        raise CloudError("name", f"{name} is not a cloud remote of this repository (see: cloud list)")
    fields = _remote_log(git).get(uuid)
    if not fields or "cipher" not in fields:
        raise CloudError("name", f"the git-annex branch has no encryption key for {name}")
    allowed = _SHARE_FIELDS[kind] | _COMMON_FIELDS
    config = {k: v for k, v in fields.items() if k in allowed}
    if kind == "directory":  # (git-annex keeps a directory remote's folder in git config only)
        config["directory"] = git.config_get(f"remote.{name}.annex-directory") or ""
    data: dict[str, Any] = {"name": name, "uuid": uuid, "type": kind, "config": config}
    if with_credentials and kind in CRED_VARS:
        creds = load_credentials(uuid)
        if creds is None:
            raise CloudError("credentials", f"the keyring holds no credentials for {name}")
        data["credentials"] = {"user": creds.user, "password": creds.password}
    raw = json.dumps(data, separators=(",", ":"), sort_keys=True).encode()
    return SHARE_PREFIX + base64.urlsafe_b64encode(raw).decode().rstrip("=")


def parse_share(text: str) -> Share:
    """The Share in a string made by `share_string`; CloudError("share") if it is not one."""
    text = text.strip()
    if not text.startswith(SHARE_PREFIX):
        raise CloudError("share", f"not a cloud share string (it starts with {SHARE_PREFIX!r})")
    body = text[len(SHARE_PREFIX):]
    try:
        raw = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))
        data = json.loads(raw)
    except (binascii.Error, ValueError):
        raise CloudError("share", "the share string is damaged (copy all of it, in one line)") from None
    if not isinstance(data, dict):
        raise CloudError("share", "the share string is damaged")
    kind, uuid, name, conf = data.get("type"), data.get("uuid"), data.get("name"), data.get("config")
    if kind not in TYPES:
        raise CloudError("share", f"the share string names an unknown type {kind!r}")
    if not isinstance(uuid, str) or not _UUID.match(uuid):
        raise CloudError("share", "the share string has no valid remote UUID")
    if not isinstance(name, str) or not isinstance(conf, dict) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in conf.items()):
        raise CloudError("share", "the share string is damaged")
    allowed = _SHARE_FIELDS[kind] | _COMMON_FIELDS
    unknown = sorted(set(conf) - allowed)
    if unknown:
        raise CloudError("share", f"the share string carries settings we do not take: {', '.join(unknown)}")
    if conf.get("encryption") != "shared" or not conf.get("cipher"):
        raise CloudError("share", "the share string has no shared encryption key")
    for k, v in conf.items():
        if any(ord(c) < 32 or ord(c) == 127 for c in v) or (k != "cipher" and v.startswith("-")):
            raise CloudError("share", f"the share string's {k} is not acceptable")
    checked = check_config(kind, url=conf.get("url"), bucket=conf.get("bucket"), host=conf.get("host"),
                           port=int(conf["port"]) if conf.get("port", "").isdigit() else None,
                           protocol=conf.get("protocol"),
                           directory=conf.get("directory"),
                           rsyncurl=conf.get("rsyncurl")) if kind != "directory" else None
    if checked is None and not os.path.isabs(conf.get("directory", "")):
        raise CloudError("share", "the share string's directory is not an absolute path")
    creds = None
    c = data.get("credentials")
    if c is not None:
        if not (isinstance(c, dict) and isinstance(c.get("user"), str) and isinstance(c.get("password"), str)):
            raise CloudError("share", "the share string's credentials are damaged")
        creds = Credentials(c["user"], c["password"])
    return Share(name, uuid, CloudConfig(kind, dict(conf)), creds)


# ---------------------------------------------------------------------------------------------
# joining


def join(text: str, path: str | os.PathLike[str], credentials: Credentials | None = None,
         name: str | None = None, description: str | None = None,
         progress: Callable[[str], None] = lambda step: None) -> Path:
    """Make a working clone at `path` from a share string alone (and `credentials` when the
    string has none), set up like `syncassistant init` does; returns its top folder.
    `progress` hears each step as it starts ("check", "clone", "setup")."""
    from ..proc.git import Git, base_env, run
    from ..repo import init_repo
    from . import remotes

    progress("check")
    share = parse_share(text)
    creds = share.credentials or credentials
    kind = share.config.kind
    if kind in CRED_VARS:
        if creds is None or not creds.user or not creds.password:
            raise CloudError("credentials", "the share string has no credentials: give a user name and password")
        check_keyring()
    else:
        creds = None
    name = name or share.name
    try:
        name = remotes.check_name(name, set())
    except remotes.BadRemote as e:
        raise CloudError("name", str(e)) from None
    dest = Path(os.path.expanduser(path)).absolute()
    if dest.exists() and (not dest.is_dir() or any(dest.iterdir())):
        raise CloudError("path", f"{dest}: exists and is not an empty folder")
    dest.parent.mkdir(parents=True, exist_ok=True)
    env = _annex_env(creds, kind)
    opts = ["-c", f"remote.{name}.annex-allow-encrypted-gitrepo=true"]
    local = _local_addresses(share.config)
    if local:
        opts += ["-c", f"annex.security.allowed-ip-addresses={' '.join(local)}"]
    if not _has_identity(base_env()):
        env.update(GIT_AUTHOR_NAME="syncassistant", GIT_COMMITTER_NAME="syncassistant",
                   GIT_AUTHOR_EMAIL=f"syncassistant@{socket.gethostname() or 'localhost'}",
                   GIT_COMMITTER_EMAIL=f"syncassistant@{socket.gethostname() or 'localhost'}")
    existed = dest.exists()
    progress("clone")
    res = run(["git", *opts, "clone", "--quiet", "--origin", name, "--", share.annex_url(), str(dest)],
              cwd=dest.parent, env=env, timeout=CLONE_TIMEOUT, check=False)
    if res.returncode != 0:
        _undo_clone(dest, existed)
        where, message = explain(res.stderr, share.config)
        raise CloudError(where, message)
    progress("setup")
    git = Git(dest)
    _remove_stored_creds(git.git_dir)
    git.config_set(f"remote.{name}.url", "annex::")  # (the key stays in the git-annex branch only)
    git.config_set(f"remote.{name}.annex-allow-encrypted-gitrepo", "true")
    if local:
        _allow_addresses(git, local)
    if creds is not None:
        store_credentials(share.uuid, creds)
    git.config_set(f"remote.{name}.syncassistant-cloud", kind)
    forget_cache()
    if git.rev("HEAD") is None:  # the cloud had only synced/ branches: start from them
        branch = git.current_branch() or "master"
        if git.rev(f"refs/remotes/{name}/synced/{branch}"):
            git.run("checkout", "-q", "-B", branch, f"refs/remotes/{name}/synced/{branch}")
    top = init_repo(dest, description or default_description())
    from ..proc.annex import Annex

    annex = Annex(top)
    if not annex.run("group", "here", check=False).stdout.strip():
        annex.run("group", "here", "client")
    return top


def _undo_clone(dest: Path, existed: bool) -> None:
    import shutil

    if dest.exists():
        if existed:
            for p in dest.iterdir():
                shutil.rmtree(p) if p.is_dir() and not p.is_symlink() else p.unlink()
        else:
            shutil.rmtree(dest, ignore_errors=True)


def _has_identity(env: dict[str, str]) -> bool:
    import subprocess

    if env.get("GIT_AUTHOR_NAME"):
        return True
    r = subprocess.run(["git", "config", "--global", "user.name"], env=env, capture_output=True, timeout=30)
    return r.returncode == 0 and bool(r.stdout.strip())


def default_description() -> str:
    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = "me"
    return f"{user}@{socket.gethostname() or 'localhost'}"
