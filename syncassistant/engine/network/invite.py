"""Connecting another device with a one-time code: invite, join, list and disconnect devices.

Device A runs :func:`invite` on a folder: it gets a magic-wormhole code (``7-word-word``) to
show, and waits. Device B runs :func:`join` with that code (and a folder to make or adopt).
Over the wormhole (a PAKE: whoever knows the code, and only they, talk to us; a wrong guess
voids the code) the two exchange an *offer* each: protocol version, pairing id, repository
UUID, device name, folder path, an ssh public key made for this pairing, and -- where the device
runs an ssh server -- how to reach it (user, addresses and host name, port, its host keys, which
the other side pins). Then each side that runs an ssh server authorises the other's key for
git-annex on that one folder (engine/network/authkeys.py), each side whose peer runs one adds
it as an ssh remote that uses the pairing key (``remote.NAME.annex-ssh-options``, so the user's
own ssh command and config still run, for this remote too), and each tries its remote
(``git ls-remote`` with the very ssh the daemon will use). Both tell each other what worked:

- both directions failed (or neither device runs an ssh server): everything made is undone on
  both sides (keys, authorized_keys lines, remotes, a folder the join made) and both raise
  :class:`InviteError` saying why;
- one direction failed: its pieces are removed, the other stays (a laptop without an ssh server
  pushes to and fetches from the desktop; the desktop's changes reach it through its change
  notices);
- then the device is recorded (``.git/syncassistant/devices.json``) and a running daemon is
  asked to sync.

The cloud bridge: when the inviting folder has a cloud remote (engine/network/cloud.py), its
offer also carries that remote's share string (settings and encryption key; its credentials
only when the inviter allows it). Where no ssh path exists between the two -- neither runs an
ssh server, or both directions failed -- the joiner makes its folder as a clone of the cloud
remote instead (``cloud.join``), tells the inviter (``via-cloud``, then ``cloud-joined`` with its
UUID and name), and the two sync through the cloud from then on. The share string is checked
like the rest of the offer (``cloud.parse_share``: known fields only, no program-picking
settings), and the cloud join needs a new or empty folder (a clone cannot adopt files).

The wormhole itself runs in a child process (engine/network/wormhole_pipe.py says why); this
module only reads and writes JSON lines, each wait with a deadline, so it can run in a CLI, a
worker thread of the tray, or a test. ``cancel`` (a threading.Event) stops a wait at once.

Bad input ends with one clear line and nothing left behind: a code nobody holds (wrong, expired
or used already: the mailbox just waits, so the join has a deadline), a wrong word on a live
code ("key confirmation failed": the invitation is void on both sides), a mailbox server that
is down, an ssh server that refuses the key.
"""

from __future__ import annotations

import getpass
import json
import logging
import os
import queue
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

from .. import control
from ..proc.git import Git, GitError, base_env
from ..provenance import DEVICE_UUID
from ..repo import RepoError, init_repo, open_repo
from . import authkeys, cloud, remotes
from .urls import BadURL, parse_remote_url

log = logging.getLogger(__name__)

APPID = "syncassistant/invite/v1"
#: magic-wormhole's public mailbox server: what a real user gets unless told otherwise
PUBLIC_MAILBOX = "ws://relay.magic-wormhole.io:4000/v1"
VERSION = 1
INVITE_WAIT = 600.0  # the inviter waits this long for someone to join
JOIN_WAIT = 60.0  # the joiner waits this long for the inviter's offer (a code nobody holds: for ever)
STEP_WAIT = 180.0  # each later step (authorising, trying ssh: several addresses, 10 s each at worst)
CLOUD_WAIT = cloud.CLONE_TIMEOUT + 60.0  # the inviter waits this long for a clone of the cloud remote
MAX_SHARE = 16384  # a share string is a few hundred bytes; more is not one
CODE = re.compile(r"^[0-9]{1,4}(-[a-z]{2,16}){1,8}$")
DEVICE_NAME = re.compile(r"^[^\x00-\x1f\x7f]{1,100}$")


#: progress for a person: ("peer", its name) once the other device's offer is in, ("ssh", its
#: name) while ssh is tried, ("cloud", the cloud remote) when they connect through it instead
Step = Callable[[str, str], None]


def _no_step(kind: str, detail: str) -> None:
    pass


class InviteError(RuntimeError):
    """An invitation or join failed; the message says why in one line, for a person."""


# ---------------------------------------------------------------------------------------------
# what a device offers


@dataclass(frozen=True)
class SshAccess:
    """How this device (or the other) is reached over ssh. `authorized_keys` is where this
    device's sshd reads keys (ours only; never sent)."""

    user: str
    hosts: tuple[str, ...]
    port: int = 22
    host_keys: tuple[str, ...] = ()
    authorized_keys: Path | None = None

    def offer(self) -> dict[str, Any]:
        return {"user": self.user, "hosts": list(self.hosts), "port": self.port,
                "host_keys": list(self.host_keys)}


def local_ssh(port: int = 22, hosts: list[str] | None = None, *, user: str | None = None,
              authorized_keys: Path | None = None, host_key_files: list[Path] | None = None,
              probe_timeout: float = 2.0) -> SshAccess | None:
    """This device's ssh server, or None when nothing listens on `port` (of the first of `hosts`,
    else of 127.0.0.1). `hosts` default to this machine's LAN addresses and host name; host keys
    are read from /etc/ssh/ssh_host_*_key.pub unless given."""
    probe = hosts[0] if hosts else "127.0.0.1"
    try:
        with socket.create_connection((probe.strip("[]"), port), timeout=probe_timeout) as s:
            s.settimeout(probe_timeout)
            banner = s.recv(64)
    except OSError:
        return None
    if not banner.startswith(b"SSH-"):
        return None
    if host_key_files is None:
        host_key_files = sorted(Path("/etc/ssh").glob("ssh_host_*_key.pub"))
    keys = []
    for f in host_key_files:
        try:
            key = " ".join(f.read_text().split()[:2])
        except OSError:
            continue
        if authkeys.HOST_KEY.match(key):
            keys.append(key)
    return SshAccess(user=user or getpass.getuser(), hosts=tuple(hosts or lan_addresses()), port=port,
                     host_keys=tuple(keys), authorized_keys=authorized_keys or authkeys.default_authorized_keys())


def lan_addresses() -> list[str]:
    """This machine's global IPv4 addresses, its host name, then its global IPv6 addresses."""
    v4: list[str] = []
    v6: list[str] = []
    try:
        out = subprocess.run(["ip", "-o", "addr", "show", "scope", "global"], capture_output=True,
                             text=True, timeout=5).stdout
    except (OSError, subprocess.TimeoutExpired):
        out = ""
    for line in out.splitlines():
        words = line.split()
        if "inet" in words:
            v4.append(words[words.index("inet") + 1].split("/")[0])
        elif "inet6" in words:
            v6.append("[" + words[words.index("inet6") + 1].split("/")[0] + "]")
    name = socket.gethostname()
    return [*v4, *([name] if name and name != "localhost" else []), *v6]


@dataclass(frozen=True)
class Peer:
    """The other device, as its offer describes it (checked)."""

    pairing: str
    uuid: str
    name: str
    path: str
    key: str
    ssh: SshAccess | None
    cloud: str | None = None  # the share string of the inviter's cloud remote (checked)
    cloud_name: str | None = None  # that remote's name


_UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")


def check_offer(obj: Any, pairing: str | None = None) -> Peer:
    """The other side's offer, every field checked (its key goes into authorized_keys, its
    path and hosts into a URL); InviteError if anything is off."""
    def bad(why: str) -> InviteError:
        return InviteError(f"the other device sent an invalid offer ({why}); is it running syncassistant?")

    if not isinstance(obj, dict) or obj.get("type") != "offer":
        raise bad("not an offer")
    if not isinstance(obj.get("version"), int) or obj["version"] < 1:
        raise bad("no version")
    if obj["version"] > VERSION:
        raise InviteError(f"the other device speaks a newer invitation protocol (version {obj['version']}); "
                          "update syncassistant here")
    p = obj.get("pairing")
    if not isinstance(p, str) or not authkeys.PAIRING_ID.match(p) or (pairing and p != pairing):
        raise bad("pairing id")
    if not isinstance(obj.get("uuid"), str) or not _UUID.match(obj["uuid"]):
        raise bad("repository UUID")
    name = obj.get("name")
    if not isinstance(name, str) or not DEVICE_NAME.match(name):
        raise bad("device name")
    path = obj.get("path")
    if (not isinstance(path, str) or not path.startswith("/") or len(path) > 4096
            or any(ord(c) < 32 for c in path)):
        raise bad("folder path")
    key = obj.get("key")
    if not isinstance(key, str) or not authkeys.PUBLIC_KEY.match(key):
        raise bad("ssh key")
    ssh = obj.get("ssh")
    access = None
    if ssh is not None:
        if not isinstance(ssh, dict):
            raise bad("ssh")
        user, hosts, port, host_keys = ssh.get("user"), ssh.get("hosts"), ssh.get("port"), ssh.get("host_keys", [])
        if not (isinstance(port, int) and 0 < port < 65536 and isinstance(user, str)
                and isinstance(hosts, list) and 0 < len(hosts) <= 16 and isinstance(host_keys, list)
                and all(isinstance(k, str) and authkeys.HOST_KEY.match(k) for k in host_keys[:16])):
            raise bad("ssh")
        for h in hosts:
            try:
                if not isinstance(h, str):
                    raise BadURL("host")
                parse_remote_url(_ssh_url(user, h, port, path))
            except BadURL as e:
                raise bad(f"ssh address: {e}") from None
        access = SshAccess(user, tuple(hosts), port, tuple(host_keys[:16]))
    share, share_name = obj.get("cloud"), None
    if share is not None:
        if not isinstance(share, str) or len(share) > MAX_SHARE:
            raise bad("cloud bridge")
        try:
            parsed = cloud.parse_share(share)
            share_name = remotes.check_name(parsed.name, set())
        except (cloud.CloudError, remotes.BadRemote) as e:
            raise bad(f"cloud bridge: {e}") from None
    return Peer(pairing=p, uuid=obj["uuid"], name=name, path=path, key=key, ssh=access, cloud=share,
                cloud_name=share_name)


def _ssh_url(user: str, host: str, port: int, path: str) -> str:
    return f"ssh://{user}@{host}:{port}{path}"


# ---------------------------------------------------------------------------------------------
# the wormhole child process


class WormholePipe:
    """The wormhole_pipe child: JSON objects out (:meth:`send`), in (:meth:`recv`), each wait
    with a deadline; the child's whole process group ends in :meth:`close`."""

    def __init__(self, mailbox: str, code: str | None = None, cancel: threading.Event | None = None):
        self.mailbox = mailbox
        self.cancel = cancel or threading.Event()
        argv = [sys.executable, "-m", "syncassistant.engine.network.wormhole_pipe", "--mailbox", mailbox,
                "--appid", APPID, *(["--code", code] if code else ["--allocate"])]
        self._q: queue.Queue[dict[str, Any] | None] = queue.Queue()
        self._stderr: list[str] = []
        self.proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                     text=True, start_new_session=True, env=base_env())
        self._threads = [threading.Thread(target=self._read, name="syncassistant-wormhole-out", daemon=True),
                         threading.Thread(target=self._drain, name="syncassistant-wormhole-err", daemon=True)]
        for t in self._threads:
            t.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            try:
                self._q.put(json.loads(line))
            except ValueError:
                self._stderr.append(line)
        self._q.put(None)

    def _drain(self) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            self._stderr = [*self._stderr[-20:], line.rstrip()]

    def _next(self, timeout: float, waiting_for: str) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while True:
            if self.cancel.is_set():
                raise InviteError("cancelled")
            left = deadline - time.monotonic()
            if left <= 0:
                raise InviteError(waiting_for)
            try:
                item = self._q.get(timeout=min(left, 0.2))
            except queue.Empty:
                continue
            if item is None:
                self._q.put(None)  # (every later wait sees the end too)
                tail = "; ".join(self._stderr[-3:]) or f"exit status {self.proc.poll()}"
                raise InviteError(f"the invitation helper ended: {tail}")
            if "error" in item:
                raise InviteError(self._explain(item.get("error"), str(item.get("detail", ""))))
            return item

    def _explain(self, kind: object, detail: str) -> str:
        if kind == "relay":
            return f"cannot reach the invitation server {self.mailbox} ({detail})"
        if kind == "wrong-code":
            return "the code is wrong (key confirmation failed); this invitation is void: start a new one"
        if kind == "crowded":
            return "this code is in use already; ask for a new invitation"
        if kind == "bad-code":
            return f"not an invitation code ({detail})"
        if kind == "closed":
            return "the other device went away"
        return f"the invitation failed: {detail}"

    def code(self, timeout: float = 60.0) -> str:
        item = self._next(timeout, f"no code from the invitation server {self.mailbox} within {timeout:.0f} s")
        if "code" not in item:
            raise InviteError("the invitation helper said something unexpected")
        return str(item["code"])

    def send(self, obj: dict[str, Any]) -> None:
        assert self.proc.stdin is not None
        try:
            self.proc.stdin.write(json.dumps(obj) + "\n")
            self.proc.stdin.flush()
        except (BrokenPipeError, OSError, ValueError):
            raise InviteError("the invitation helper ended") from None

    def recv(self, timeout: float, waiting_for: str) -> dict[str, Any]:
        """The next message from the other side; InviteError(`waiting_for`) after `timeout` s, or
        the other side's reason if it gave up."""
        while True:
            item = self._next(timeout, waiting_for)
            if "message" not in item:
                continue  # (the code, already read)
            msg = item["message"]
            if isinstance(msg, dict) and msg.get("type") == "abort":
                raise PeerAborted(str(msg.get("reason", "no reason given"))[:500])
            if not isinstance(msg, dict):
                raise InviteError("the other device sent something unexpected")
            return msg

    def close(self, timeout: float = 10.0) -> None:
        """End of our messages: the child closes the wormhole and exits; killed if it lingers."""
        try:
            if self.proc.stdin and not self.proc.stdin.closed:
                self.proc.stdin.close()
        except OSError:
            pass
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            pass
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        self.proc.wait()
        for t in self._threads:
            t.join(5)

    def __enter__(self) -> WormholePipe:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close(timeout=10.0 if exc[0] is None else 2.0)


class PeerAborted(InviteError):
    """The other side gave up and said why."""


# ---------------------------------------------------------------------------------------------
# the devices of a folder


@dataclass
class Device:
    """A device connected by an invitation, as recorded in ``.git/syncassistant/devices.json``."""

    pairing: str
    name: str
    uuid: str
    remote: str | None  # our remote for it (None: it has no ssh server; it reaches us)
    url: str | None
    key_dir: str | None  # our key for reaching it (with its known_hosts)
    authorized_keys: str | None  # where we authorised its key (None: we run no ssh server)
    cloud: str | None = None  # the cloud remote both sync through (no ssh path between them)
    since: float = field(default_factory=time.time)
    last_seen: float | None = None  # (not stored: read when listed)
    folder: str | None = None  # (not stored) our folder it is connected to: where a join put it


_UNSTORED = ("last_seen", "folder")


def _devices_file(top: Path) -> Path:
    return Git(top).git_dir / "syncassistant" / "devices.json"


def _load(top: Path) -> list[Device]:
    try:
        data = json.loads(_devices_file(top).read_text())
    except FileNotFoundError:
        return []
    except (OSError, ValueError) as e:
        raise InviteError(f"{_devices_file(top)}: cannot read it ({e})") from None
    fields = set(Device.__dataclass_fields__) - set(_UNSTORED)
    return [Device(**{k: v for k, v in d.items() if k in fields}) for d in data.get("devices", [])]


def _save(top: Path, devices: list[Device]) -> None:
    f = _devices_file(top)
    f.parent.mkdir(exist_ok=True)
    tmp = f.with_name(f.name + ".tmp")
    tmp.write_text(json.dumps({"version": 1, "devices": [{k: v for k, v in asdict(d).items() if k not in _UNSTORED}
                                                         for d in devices]}, indent=1) + "\n")
    os.replace(tmp, f)


def list_devices(path: str | Path) -> list[Device]:
    """The devices connected to this folder by invitations, with when each was last seen (the
    running daemon's last sync with it, else the last fetch from it; None: not known)."""
    top = open_repo(path)
    devices = _load(top)
    synced: dict[str, float] = {}
    try:
        status = control.request(Git(top).git_dir / "syncassistant", {"cmd": "status"}, timeout=5)["status"]
        synced = {r["name"]: r["last_sync"] for r in status.get("remotes", []) if r.get("last_sync")}
    except (control.ControlError, OSError, KeyError, ValueError):
        pass
    for d in devices:
        d.folder = str(top)
        times = [synced.get(d.remote) or _last_fetch(top, d.remote)] if d.remote else []
        if d.authorized_keys:
            try:
                times.append(_seen_file(top, d.pairing).stat().st_mtime)
            except OSError:
                pass
        if d.cloud and not times:
            times.append(_last_change_by(top, d.uuid))
        d.last_seen = max((t for t in times if t), default=None)
    return devices


def _last_change_by(top: Path, uuid: str) -> float | None:
    """When the newest commit made in the clone `uuid` (its Device-UUID trailer, written by our
    daemon: engine/provenance.py) was made, of those that reached us: all a cloud bridge tells
    of a device, which never meets ours. (Our merge of its branch names it too, as
    Merged-Device-UUID, which this matches as well: also a sign of it.)"""
    r = Git(top).run("log", "-1", "--format=%ct", "--fixed-strings", f"--grep={DEVICE_UUID}: {uuid}", "HEAD",
                     check=False, timeout=60)
    text = r.stdout.strip()
    return float(text) if r.returncode == 0 and text.isdigit() else None


def _seen_file(top: Path, pairing: str) -> Path:
    """Touched by each ssh login of the device of `pairing` (its authorized_keys line does it)."""
    return Git(top).git_dir / "syncassistant" / "seen" / pairing


def _last_fetch(top: Path, remote: str) -> float | None:
    logs = Git(top).git_dir / "logs" / "refs" / "remotes" / remote
    try:
        return max((p.stat().st_mtime for p in logs.rglob("*") if p.is_file()), default=None)
    except OSError:
        return None


def disconnect(path: str | Path, which: str) -> Device:
    """Disconnect a device (by name, remote name, UUID or pairing id): its key leaves our
    authorized_keys, its remote and our key for it go; no file of the folder is touched. A
    device connected through a cloud remote is only forgotten: the cloud remote stays (other
    devices may sync through it too), and the device keeps the key it was given to it."""
    top = open_repo(path)
    devices = _load(top)
    found = [d for d in devices if which in (d.name, d.remote, d.uuid, d.pairing)]
    if not found:
        known = ", ".join(d.name for d in devices) or "none"
        raise InviteError(f"{top}: no connected device {which!r} (connected: {known})")
    if len(found) > 1:
        raise InviteError(f"{top}: {len(found)} devices are called {which!r}; name its remote or UUID instead")
    d = found[0]
    if d.authorized_keys:
        authkeys.unauthorize(Path(d.authorized_keys), d.pairing)
    git = Git(top)
    if d.remote and d.remote in git.remotes():
        git.run("remote", "remove", "--", d.remote)
    _remove_key_dir(d.key_dir)
    _seen_file(top, d.pairing).unlink(missing_ok=True)
    _save(top, [x for x in devices if x.pairing != d.pairing])
    request_sync(top)  # a running daemon forgets the remote
    return d


def _remove_key_dir(key_dir: str | None) -> None:
    if key_dir and Path(key_dir).name.count("-") == 1 and (Path(key_dir) / "id_ed25519").exists():
        shutil.rmtree(key_dir, ignore_errors=True)


def request_sync(top: Path) -> bool:
    """Ask the folder's running daemon to sync now (it reads its remotes again); False: none runs."""
    try:
        return bool(control.request(Git(top).git_dir / "syncassistant", {"cmd": "sync"}, timeout=10).get("ok"))
    except (control.ControlError, OSError, ValueError):
        return False


def default_data_dir() -> Path:
    base = os.environ.get("XDG_DATA_HOME") or os.path.join(os.path.expanduser("~"), ".local", "share")
    return Path(base) / "syncassistant"


# ---------------------------------------------------------------------------------------------
# invite and join


class _Undo:
    """What to take back if the pairing fails, newest first."""

    def __init__(self) -> None:
        self.steps: list[tuple[str, Callable[[], object]]] = []

    def add(self, what: str, fn: Callable[[], object]) -> None:
        self.steps.append((what, fn))

    def run(self) -> None:
        for what, fn in reversed(self.steps):
            try:
                fn()
            except Exception:
                log.warning("could not undo: %s", what, exc_info=True)
        self.steps.clear()


@dataclass
class _Me:
    top: Path
    uuid: str
    name: str
    ssh: SshAccess | None
    key_dir: Path
    public_key: str
    pairing: str
    cloud: str | None = None  # the share string we offer (the inviter with a cloud remote)
    cloud_name: str | None = None
    cloud_credentials: cloud.Credentials | None = None  # the joiner's, for a share without them
    on_step: Step = _no_step

    def offer(self) -> dict[str, Any]:
        offer = {"type": "offer", "version": VERSION, "app": "syncassistant", "pairing": self.pairing,
                 "uuid": self.uuid, "name": self.name, "path": str(self.top), "key": self.public_key,
                 "ssh": self.ssh.offer() if self.ssh else None}
        if self.cloud:
            offer["cloud"] = self.cloud
        return offer


def _key_dir(data_dir: Path | None, pairing: str, role: str) -> Path:
    d = (data_dir or default_data_dir()) / "pairings" / f"{pairing}-{role}"
    if any(c.isspace() or c == "%" for c in str(d)):
        # annex-ssh-options is split on white space, and ssh expands % in file options
        raise InviteError(f"{d}: the app's data folder has a space or % in its path; "
                          "set XDG_DATA_HOME to a plain path")
    return d


def _new_key(data_dir: Path | None, pairing: str, role: str, undo: _Undo) -> tuple[Path, str]:
    key_dir = _key_dir(data_dir, pairing, role)
    try:
        public = authkeys.make_key(key_dir, f"syncassistant-{pairing}")
    except (authkeys.AuthKeysError, OSError) as e:
        raise InviteError(f"cannot make an ssh key: {e}") from None
    undo.add("remove the pairing key", lambda: shutil.rmtree(key_dir, ignore_errors=True))
    return key_dir, public


def cloud_bridge(path: str | Path, remote: str | None = None) -> str | None:
    """The cloud remote an invitation to `path` carries: `remote` if given (InviteError if it
    is not a cloud remote there), else the folder's first one; None: it has none."""
    top = open_repo(path)
    names = [c.name for c in cloud.list_cloud_remotes(top)]
    if remote is None:
        return names[0] if names else None
    if remote not in names:
        raise InviteError(f"{top}: {remote!r} is not a cloud remote of this folder "
                          f"(cloud remotes: {', '.join(names) or 'none'})")
    return remote


def invite(path: str | Path, *, ssh: SshAccess | None, on_code: Callable[[str], None],
           mailbox: str = PUBLIC_MAILBOX, name: str | None = None, data_dir: Path | None = None,
           wait: float = INVITE_WAIT, cancel: threading.Event | None = None,
           cloud_remote: str | None = None, share_cloud: bool = True,
           share_cloud_credentials: bool = False, on_step: Step = _no_step) -> Device:
    """Invite another device to the folder at `path`: `on_code` gets the code to show; returns
    the device once it joined and is connected (InviteError on any failure, nothing left).

    With `share_cloud`, the invitation carries the folder's cloud remote (`cloud_remote`, else
    its first; see :func:`cloud_bridge`), its credentials only with `share_cloud_credentials`:
    where no ssh path exists, the other device connects through it. `on_step` hears the steps
    (see :data:`Step`)."""
    top = open_repo(path)
    uuid = Git(top).config_get("annex.uuid") or ""
    share = bridge = None
    if share_cloud:
        bridge = cloud_bridge(top, cloud_remote)
        if bridge is not None:
            try:
                share = cloud.share_string(top, bridge, with_credentials=share_cloud_credentials)
            except cloud.CloudError as e:
                raise InviteError(f"cannot share the cloud storage {bridge}: {e}") from None
    pairing = secrets.token_hex(8)
    undo = _Undo()
    try:
        key_dir, public = _new_key(data_dir, pairing, "invite", undo)
        me = _Me(top, uuid, name or socket.gethostname(), ssh, key_dir, public, pairing,
                 cloud=share, cloud_name=bridge if share else None, on_step=on_step)
        with WormholePipe(mailbox, cancel=cancel) as pipe:
            code = pipe.code()
            on_code(code)
            pipe.send(me.offer())
            first = pipe.recv(wait, f"nobody joined within {wait:.0f} s: the invitation has expired")
            if first.get("type") == "via-cloud" and me.cloud:
                on_step("cloud", me.cloud_name or "")
                return _await_cloud(me, pipe, undo)
            # (only the inviter offers a cloud remote: a joiner's is ignored, never cloned into our folder)
            peer = replace(check_offer(first, pairing), cloud=None, cloud_name=None)
            on_step("peer", peer.name)
            return _connect(me, peer, pipe, undo)
    except PeerAborted as e:
        undo.run()
        raise InviteError(f"the other device stopped: {e}") from None
    except BaseException:
        undo.run()
        raise


def default_folder(peer_path: str) -> Path:
    """Where a join puts the folder when not told: in the home folder, named as the inviter's."""
    return Path.home() / Path(peer_path).name


def join(code: str, path: str | Path | None = None, *, ssh: SshAccess | None, mailbox: str = PUBLIC_MAILBOX,
         name: str | None = None, data_dir: Path | None = None, wait: float = JOIN_WAIT,
         cancel: threading.Event | None = None, cloud_credentials: cloud.Credentials | None = None,
         on_step: Step = _no_step) -> Device:
    """Join the invitation `code`: make or adopt the folder at `path` (default: a folder in the
    home folder named as the inviter's) and connect it; returns the inviting device. Where no
    ssh path exists and the invitation carries a cloud remote, the folder (new or empty) is made
    a clone of it instead (`cloud_credentials` when the inviter did not share them)."""
    code = "-".join(code.strip().lower().split())
    if not CODE.match(code):
        raise InviteError(f"{code!r} is not an invitation code (they look like 7-guitarist-revenge)")
    target = Path(path).expanduser().absolute() if path is not None else None
    if target is not None and target.exists() and not target.is_dir():
        raise InviteError(f"{target}: exists and is not a folder")
    undo = _Undo()
    try:
        with WormholePipe(mailbox, code=code, cancel=cancel) as pipe:
            peer = check_offer(pipe.recv(wait, f"nobody is inviting with the code {code} (wrong, expired "
                                               "or used already): ask for a new code"))
            on_step("peer", peer.name)
            folder = target or default_folder(peer.path)
            if peer.ssh is None and ssh is None:
                if peer.cloud:
                    return _join_cloud(folder, name or socket.gethostname(), peer, pipe, undo,
                                       cloud_credentials, "neither device runs an ssh server", on_step)
                why = ("neither device runs an ssh server, so they cannot reach each other: start one on "
                       "either device (e.g. apt install openssh-server), or add cloud storage to the "
                       "folder (the invitation then carries it) and invite again")
                pipe.send({"type": "abort", "reason": why})
                raise InviteError(why)
            try:
                top = _make_folder(folder, undo)
                me = _Me(top, Git(top).config_get("annex.uuid") or "", name or socket.gethostname(), ssh,
                         *_new_key(data_dir, peer.pairing, "join", undo), pairing=peer.pairing,
                         cloud_credentials=cloud_credentials, on_step=on_step)
            except (InviteError, RepoError, GitError, OSError) as e:
                pipe.send({"type": "abort", "reason": f"the joining device failed: {e}"})
                raise InviteError(str(e)) from None
            pipe.send(me.offer())
            return _connect(me, peer, pipe, undo)
    except PeerAborted as e:
        undo.run()
        raise InviteError(f"the other device stopped: {e}") from None
    except BaseException:
        undo.run()
        raise


def _make_folder(target: Path, undo: _Undo) -> Path:
    """Make or adopt the folder; undo removes what we made (the folder, or the .git we added)."""
    existed, had_git = target.exists(), (target / ".git").exists()
    if existed and not target.is_dir():
        raise InviteError(f"{target}: exists and is not a folder")
    try:
        top = init_repo(target)
    except BaseException:
        _unmake(target, existed, had_git)
        raise
    undo.add(f"remove {target}", lambda: _unmake(target, existed, had_git))
    return open_repo(top)


def _unmake(target: Path, existed: bool, had_git: bool) -> None:
    if not existed:
        shutil.rmtree(target, ignore_errors=True)
    elif not had_git:
        shutil.rmtree(target / ".git", ignore_errors=True)


def _connect(me: _Me, peer: Peer, pipe: WormholePipe, undo: _Undo) -> Device:
    """Authorise, add the remote, try it, agree with the other side; see the module doc."""
    try:
        if peer.uuid == me.uuid:
            raise InviteError("the code was made for this very folder: join it from another device or folder")
        auth_file = None
        if me.ssh:
            auth_file = me.ssh.authorized_keys or authkeys.default_authorized_keys()
            seen = _seen_file(me.top, me.pairing)
            seen.parent.mkdir(parents=True, exist_ok=True)
            line = authkeys.restricted_line(peer.key, me.top, me.pairing, seen=seen)
            authkeys.authorize(auth_file, line)
            undo.add("remove the authorized key", lambda: (authkeys.unauthorize(auth_file, me.pairing),
                                                            seen.unlink(missing_ok=True)))
        remote = _add_remote(me, peer, undo) if peer.ssh else None
        pipe.send({"type": "ready"})
        _expect(pipe.recv(STEP_WAIT, "the other device stopped answering"), "ready")
        if remote:
            me.on_step("ssh", peer.name)
        reached, error = _reach(me.top, remote, peer) if remote else (None, None)
        pipe.send({"type": "result", "reached": reached, "error": error})
        theirs = _expect(pipe.recv(STEP_WAIT, "the other device stopped answering"), "result")
    except PeerAborted as e:
        raise InviteError(f"the other device stopped: {e}") from None
    except (authkeys.AuthKeysError, GitError, remotes.BadRemote, OSError, ValueError) as e:
        _abort(pipe, str(e))
        raise InviteError(str(e)) from None
    except InviteError as e:
        _abort(pipe, str(e))
        raise
    they_reached = theirs.get("reached") is True
    their_error = str(theirs.get("error") or "")[:300]
    if not reached and not they_reached:
        why = []
        if remote:
            why.append(f"this device cannot reach {peer.name} over ssh ({error})")
        if theirs.get("reached") is False:
            why.append(f"{peer.name} cannot reach this device over ssh ({their_error})")
        reason = "; ".join(why or ["no ssh server on either"])
        # no ssh path: both sides know now whether the invitation carried a cloud remote, and
        # take the same turn -- take back every ssh piece, then meet in the cloud
        if peer.cloud or me.cloud:
            log.info("%s: no ssh path to %s (%s); connecting through the cloud remote", me.top, peer.name, reason)
            undo.run()
            me.on_step("cloud", peer.cloud_name or me.cloud_name or "")
            if peer.cloud:
                return _join_cloud(me.top, me.name, peer, pipe, undo, me.cloud_credentials, reason)
            return _await_cloud(me, pipe, undo)
        raise InviteError("the devices could not connect: " + reason)
    git = Git(me.top)
    if remote and not reached:
        log.warning("%s: %s is not reachable over ssh (%s); it reaches us", me.top, peer.name, error)
        git.run("remote", "remove", "--", remote)
        remote = None
    if auth_file and not they_reached:
        log.warning("%s: %s cannot reach us over ssh (%s)", me.top, peer.name, their_error)
        authkeys.unauthorize(auth_file, me.pairing)
        auth_file = None
    if not remote:
        shutil.rmtree(me.key_dir, ignore_errors=True)
    device = Device(pairing=me.pairing, name=peer.name, uuid=peer.uuid, remote=remote,
                    url=git.remote_url(remote) if remote else None,
                    key_dir=str(me.key_dir) if remote else None,
                    authorized_keys=str(auth_file) if auth_file else None, folder=str(me.top))
    _save(me.top, [d for d in _load(me.top) if d.pairing != me.pairing] + [device])
    undo.steps.clear()  # connected: nothing to take back any more
    if not request_sync(me.top) and remote:
        git.run("fetch", "--quiet", remote, check=False, timeout=300, env=git.ssh_env(remote))
    return device


def _join_cloud(folder: Path, my_name: str, peer: Peer, pipe: WormholePipe, undo: _Undo,
                credentials: cloud.Credentials | None, reason: str, on_step: Step = _no_step) -> Device:
    """The joiner's way through the cloud: `folder` (new or empty) becomes a clone of the
    inviter's cloud remote; the inviter is told our UUID and records us."""
    assert peer.cloud is not None and peer.cloud_name is not None
    pipe.send({"type": "via-cloud", "reason": reason[:300]})
    on_step("cloud", peer.cloud_name)
    existed = folder.exists()
    try:
        top = cloud.join(peer.cloud, folder, credentials=credentials, description=my_name)
    except cloud.CloudError as e:
        message = _cloud_problem(peer.cloud_name, e, reason)
        _abort(pipe, message)
        raise InviteError(message) from None
    except (RepoError, GitError, OSError) as e:
        message = f"connecting through the cloud storage {peer.cloud_name} failed: {e}"
        _abort(pipe, message)
        raise InviteError(message) from None
    undo.add(f"remove the clone at {folder}", lambda: _empty_or_remove(folder, existed))
    pipe.send({"type": "cloud-joined", "uuid": Git(top).config_get("annex.uuid") or "", "name": my_name})
    try:
        _expect(pipe.recv(STEP_WAIT, "the other device stopped answering"), "cloud-recorded")
    except PeerAborted as e:
        raise InviteError(f"the other device stopped: {e}") from None
    except InviteError as e:  # (cancelled, or no answer: the inviter records nothing either)
        _abort(pipe, str(e))
        raise
    device = Device(pairing=peer.pairing, name=peer.name, uuid=peer.uuid, remote=None, url=None, key_dir=None,
                    authorized_keys=None, cloud=peer.cloud_name, folder=str(top))
    _save(top, [d for d in _load(top) if d.pairing != peer.pairing] + [device])
    undo.steps.clear()
    request_sync(top)
    return device


def _cloud_problem(name: str, e: cloud.CloudError, reason: str) -> str:
    if e.field == "credentials":
        return (f"there is no ssh path between the devices ({reason}), and the cloud storage {name} needs "
                "its user name and password, which the inviting device did not share: invite again "
                "allowing it to share them, or join with `syncassistant cloud join`")
    if e.field == "path":
        return (f"there is no ssh path between the devices ({reason}), and joining through the cloud "
                f"storage {name} needs a new or empty folder: {e}")
    return f"there is no ssh path between the devices ({reason}), and the cloud storage {name} failed: {e}"


def _empty_or_remove(folder: Path, existed: bool) -> None:
    if not existed:
        shutil.rmtree(folder, ignore_errors=True)
        return
    for p in folder.iterdir():
        if p.is_dir() and not p.is_symlink():
            shutil.rmtree(p, ignore_errors=True)
        else:
            p.unlink(missing_ok=True)


def _await_cloud(me: _Me, pipe: WormholePipe, undo: _Undo) -> Device:
    """The inviter's way through the cloud: no ssh piece is needed (our pairing key goes); wait
    for the joiner's clone of our cloud remote, then record it."""
    undo.run()
    try:
        while True:
            msg = pipe.recv(CLOUD_WAIT, f"the other device did not finish joining through the cloud "
                                        f"storage {me.cloud_name} within {CLOUD_WAIT:.0f} s")
            if msg.get("type") != "via-cloud":
                break
        _expect(msg, "cloud-joined")
        uuid, name = msg.get("uuid"), msg.get("name")
        if not (isinstance(uuid, str) and _UUID.match(uuid) and uuid != me.uuid
                and isinstance(name, str) and DEVICE_NAME.match(name)):
            raise InviteError("the other device sent an invalid answer (cloud-joined); is it running syncassistant?")
    except PeerAborted as e:
        raise InviteError(f"the other device stopped: {e}") from None
    except InviteError as e:
        _abort(pipe, str(e))
        raise
    device = Device(pairing=me.pairing, name=name, uuid=uuid, remote=None, url=None, key_dir=None,
                    authorized_keys=None, cloud=me.cloud_name, folder=str(me.top))
    _save(me.top, [d for d in _load(me.top) if d.pairing != me.pairing] + [device])
    pipe.send({"type": "cloud-recorded"})
    request_sync(me.top)  # a running daemon fetches from the cloud now, and pushes what it has
    return device


def _abort(pipe: WormholePipe, reason: str) -> None:
    try:
        pipe.send({"type": "abort", "reason": reason})
    except InviteError:
        pass


def _expect(msg: dict[str, Any], kind: str) -> dict[str, Any]:
    if msg.get("type") != kind:
        raise InviteError(f"the other device sent {msg.get('type')!r} where {kind!r} was due")
    return msg


def _remote_name(top: Path, name: str) -> str:
    base = re.sub(r"[^A-Za-z0-9._-]+", "-", name).strip("-.")[:40] or "device"
    git = Git(top)
    taken = set(git.remotes()) | set(remotes.remotes_of(git))
    for n in [base, *(f"{base}-{i}" for i in range(2, 100))]:
        try:
            return remotes.check_name(n, taken)
        except remotes.BadRemote:
            continue
    raise InviteError(f"{top}: no free remote name for {name}")


def _add_remote(me: _Me, peer: Peer, undo: _Undo) -> str:
    """`peer` as an ssh remote that uses our pairing key and pins its host keys."""
    assert peer.ssh is not None
    name = _remote_name(me.top, peer.name)
    known = me.key_dir / "known_hosts"
    lines = []
    for key in peer.ssh.host_keys:
        pattern = ",".join(h if peer.ssh.port == 22 else f"[{h.strip('[]')}]:{peer.ssh.port}" for h in peer.ssh.hosts)
        lines.append(f"{pattern} {key}\n")
    known.write_text("".join(lines))
    remotes.add_remote(me.top, name, _ssh_url(peer.ssh.user, peer.ssh.hosts[0], peer.ssh.port, peer.path))
    git = Git(me.top)
    undo.add(f"remove the remote {name}", lambda: git.run("remote", "remove", "--", name, check=False))
    options = ["-i", str(me.key_dir / "id_ed25519"), "-o", "IdentitiesOnly=yes",
               "-o", f"UserKnownHostsFile={known}",
               "-o", f"StrictHostKeyChecking={'yes' if peer.ssh.host_keys else 'accept-new'}"]
    git.config_set(f"remote.{name}.annex-ssh-options", " ".join(options))
    git.config_set(f"remote.{name}.syncassistant-pairing", me.pairing)
    return name


def _reach(top: Path, remote: str, peer: Peer) -> tuple[bool, str | None]:
    """Try each address of `peer` with the ssh the daemon will use; keep the first that works."""
    assert peer.ssh is not None
    git = Git(top)
    errors = []
    for host in peer.ssh.hosts:
        url = _ssh_url(peer.ssh.user, host, peer.ssh.port, peer.path)
        git.run("remote", "set-url", "--", remote, url)
        r = git.run("ls-remote", "--heads", "--", remote, check=False, timeout=60, env=git.ssh_env(remote))
        if r.returncode == 0:
            return True, None
        lines = [ln.strip() for ln in r.stderr.splitlines() if ln.strip() and not ln.startswith("fatal: Could not")]
        errors.append(f"{host}: {lines[0] if lines else f'exit status {r.returncode}'}")
    return False, "; ".join(errors)
