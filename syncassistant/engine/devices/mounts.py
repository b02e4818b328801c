"""Removable-drive watching: which drives are mounted, and which git-annex clones they carry.

This module owns three things, none of them Qt:

* :class:`MountWatcher` -- a worker thread ("syncassistant-mounts") that reports drives being
  mounted and unmounted.  It follows UDisks2 on the system bus (``$DBUS_SYSTEM_BUS_ADDRESS`` is
  honoured): a ``GetManagedObjects`` snapshot at start, then the ObjectManager's
  ``InterfacesAdded``/``InterfacesRemoved`` and ``PropertiesChanged`` of
  ``org.freedesktop.UDisks2.Filesystem`` (``MountPoints``) and ``.Block`` (``IdLabel``).  Without
  UDisks2 (no system bus, or the name is not on it) it watches ``/proc/self/mountinfo`` with
  ``poll(POLLPRI)`` instead; if UDisks2 leaves the bus while running, it switches to that fallback.
  Neither mode polls on a timer: the thread sleeps in ``poll()`` on the bus socket or mountinfo
  plus an eventfd that :meth:`MountWatcher.stop` writes to.  In both modes a mount filter
  (default: under /media, /run/media or /mnt, no pseudo filesystems) decides what is a user drive.
* :func:`find_annex_clones` -- git-annex repositories at a drive's top level (or one level down),
  with their ``annex.uuid`` read by a small git-config parser (:func:`read_git_config`), no
  subprocesses.
* :func:`mount_via_udisks` / :func:`unmount_via_udisks` -- ask udisksd to (un)mount a block device.

Callbacks run on the watcher thread.  Keep them short and thread-safe; the Qt adapter turns them
into signals.  An exception in a callback is logged and does not stop the watcher.
"""

from __future__ import annotations

import logging
import os
import re
import select
import threading
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from jeepney import DBusAddress, HeaderFields, MatchRule, Message, new_method_call
from jeepney.bus_messages import message_bus
from jeepney.io.blocking import DBusConnection, Proxy, open_dbus_connection
from jeepney.wrappers import DBusErrorResponse, unwrap_msg

from ..proc.git import git_dir_of
from .dbus_loop import Waiter, WatcherThread, dispatch_pending

log = logging.getLogger(__name__)

UDISKS_BUS_NAME = "org.freedesktop.UDisks2"
UDISKS_ROOT = "/org/freedesktop/UDisks2"
UDISKS_BLOCK_PREFIX = UDISKS_ROOT + "/block_devices/"
IF_OBJECT_MANAGER = "org.freedesktop.DBus.ObjectManager"
IF_PROPERTIES = "org.freedesktop.DBus.Properties"
IF_BLOCK = "org.freedesktop.UDisks2.Block"
IF_FILESYSTEM = "org.freedesktop.UDisks2.Filesystem"
_DBUS_NAME = "org.freedesktop.DBus"

#: Filesystem types that are never a user's drive (kernel and virtual filesystems).
PSEUDO_FILESYSTEMS = frozenset({
    "proc", "sysfs", "cgroup", "cgroup2", "devtmpfs", "devpts", "securityfs", "pstore", "bpf",
    "debugfs", "tracefs", "configfs", "fusectl", "mqueue", "hugetlbfs", "autofs", "binfmt_misc",
    "efivarfs", "nsfs", "rpc_pipefs", "selinuxfs", "ramfs", "overlay", "squashfs", "nfsd",
    "fuse.gvfsd-fuse", "fuse.portal", "fuse.lxcfs",
})

#: Where desktops and people mount removable drives.
USER_MOUNT_PREFIXES = ("/media", "/run/media", "/mnt")

#: ``(mount_point, fstype) -> keep?``; fstype is None when unknown.
MountFilter = Callable[[str, str | None], bool]

OnMount = Callable[[str, str | None, str | None], None]
OnUnmount = Callable[[str], None]


def under_prefixes(*prefixes: str | os.PathLike[str]) -> MountFilter:
    """Return a mount filter accepting non-pseudo filesystems mounted at or below ``prefixes``."""
    roots = tuple(os.path.normpath(os.fspath(p)) for p in prefixes)

    def accept(mount_point: str, fstype: str | None) -> bool:
        if fstype in PSEUDO_FILESYSTEMS:
            return False
        return any(mount_point == r or mount_point.startswith(r.rstrip("/") + "/") for r in roots)

    return accept


#: The default filter: real filesystems under /media, /run/media or /mnt.
default_mount_filter: MountFilter = under_prefixes(*USER_MOUNT_PREFIXES)


@dataclass(frozen=True)
class MountInfo:
    """One mounted drive as the watcher knows it."""

    mount_point: str
    label: str | None
    device: str | None
    fstype: str | None = None


def _decode_bytestring(value: Any) -> str:
    """UDisks2 'ay' strings are NUL-terminated."""
    if isinstance(value, str):
        return value
    return os.fsdecode(bytes(value).rstrip(b"\0"))


def _call(conn: DBusConnection, msg: Message, timeout: float) -> tuple[Any, ...]:
    return unwrap_msg(conn.send_and_get_reply(msg, timeout=timeout))


# ---------------------------------------------------------------------------------------------
# /proc/self/mountinfo parsing

_OCTAL_ESCAPE = re.compile(rb"\\([0-7]{3})")


def _unescape_mountinfo(field: bytes) -> str:
    return os.fsdecode(_OCTAL_ESCAPE.sub(lambda m: bytes([int(m.group(1), 8)]), field))


def parse_mountinfo(data: bytes) -> dict[str, tuple[str, str]]:
    """Parse mountinfo text into ``{mount_point: (fstype, source)}`` (the last, topmost entry wins)."""
    mounts: dict[str, tuple[str, str]] = {}
    for line in data.splitlines():
        fields = line.split(b" ")
        try:
            sep = fields.index(b"-", 6)
            mount_point = _unescape_mountinfo(fields[4])
            fstype = _unescape_mountinfo(fields[sep + 1])
            source = _unescape_mountinfo(fields[sep + 2])
        except (ValueError, IndexError):
            continue
        mounts[mount_point] = (fstype, source)
    return mounts


_UDEV_ESCAPE = re.compile(r"\\x([0-9a-fA-F]{2})")


def _label_for_device(device: str | None, by_label: str = "/dev/disk/by-label") -> str | None:
    """Find a filesystem label through udev's /dev/disk/by-label symlinks (None if unknown)."""
    if not device or not device.startswith("/dev/"):
        return None
    try:
        target = os.path.realpath(device)
        with os.scandir(by_label) as it:
            for entry in it:
                if os.path.realpath(entry.path) == target:
                    return _UDEV_ESCAPE.sub(lambda m: chr(int(m.group(1), 16)), entry.name)
    except OSError:
        pass
    return None


# ---------------------------------------------------------------------------------------------
# the watcher


class MountWatcher:
    """Report drives being mounted and unmounted, through UDisks2 or /proc/self/mountinfo.

    ``on_mount(mount_point, label, device)`` and ``on_unmount(mount_point)`` are called on the
    watcher thread.  Mounts present at :meth:`start` are only reported when ``report_existing``
    is true; :meth:`current_mounts` always lists them.  ``mount_filter`` decides which mounts are
    user drives (default: :data:`default_mount_filter`).  ``use_udisks=False`` forces the
    mountinfo fallback; ``bus`` is a jeepney bus name ("SYSTEM") or a D-Bus address.
    """

    thread_name = "syncassistant-mounts"

    def __init__(
        self,
        on_mount: OnMount,
        on_unmount: OnUnmount,
        *,
        report_existing: bool = False,
        mount_filter: MountFilter = default_mount_filter,
        use_udisks: bool = True,
        bus: str = "SYSTEM",
        mountinfo_path: str = "/proc/self/mountinfo",
        call_timeout: float = 10.0,
    ) -> None:
        self._on_mount = on_mount
        self._on_unmount = on_unmount
        self._report_existing = report_existing
        self._filter = mount_filter
        self._use_udisks = use_udisks
        self._bus = bus
        self._mountinfo_path = mountinfo_path
        self._call_timeout = call_timeout

        self._lock = threading.Lock()  # guards _mode and _by_source
        self._mode: Literal["udisks2", "mountinfo"] | None = None
        # source (UDisks2 object path, or "mountinfo") -> {mount_point: MountInfo}
        self._by_source: dict[str, dict[str, MountInfo]] = {}
        self._thread = WatcherThread(self._run, self.thread_name, log, "mount watcher")
        # UDisks2 state, touched only by the watcher thread
        self._objects: dict[str, dict[str, dict[str, Any]]] = {}
        self._udisks_owner: str | None = None

    # ---- public API -----------------------------------------------------------------------

    @property
    def mode(self) -> Literal["udisks2", "mountinfo"] | None:
        """"udisks2" or "mountinfo" once started (None before)."""
        with self._lock:
            return self._mode

    @property
    def is_running(self) -> bool:
        return self._thread.is_alive

    def current_mounts(self) -> dict[str, MountInfo]:
        """The user-drive mounts known right now, keyed by mount point."""
        with self._lock:
            out: dict[str, MountInfo] = {}
            for mounts in self._by_source.values():
                out.update(mounts)
            return out

    def start(self, timeout: float = 10.0) -> None:
        """Start the watcher thread and wait (up to ``timeout``) until its first snapshot is taken."""
        if self.is_running:
            raise RuntimeError("MountWatcher is already running")
        with self._lock:  # nothing carries over from a previous run
            self._mode = None
            self._by_source = {}
        if not self._thread.start(timeout):
            log.warning("mount watcher did not finish its first snapshot within %.1f s", timeout)

    def stop(self, timeout: float = 2.0) -> bool:
        """Stop the watcher thread; True if it ended within ``timeout`` seconds."""
        return self._thread.stop(timeout)

    # ---- thread body ----------------------------------------------------------------------

    def _run(self, stop: threading.Event, wake_fd: int, ready: threading.Event) -> None:
        try:
            conn = self._open_udisks() if self._use_udisks else None
            if conn is not None:
                with conn:
                    try:
                        self._udisks_loop(conn, stop, wake_fd, ready)
                    except (OSError, TimeoutError, DBusErrorResponse) as e:
                        log.warning("lost the UDisks2 connection (%s)", e)
                if stop.is_set():
                    return
                log.warning("UDisks2 is gone; watching /proc/self/mountinfo from now on")
            self._mountinfo_loop(stop, wake_fd, ready, after_udisks=conn is not None)
        except Exception:
            log.exception("mount watcher failed")
        finally:
            ready.set()

    def _report_mount(self, info: MountInfo) -> None:
        log.info("drive mounted: %s (label %r, device %s)", info.mount_point, info.label, info.device)
        try:
            self._on_mount(info.mount_point, info.label, info.device)
        except Exception:
            log.exception("on_mount callback failed for %s", info.mount_point)

    def _report_unmount(self, mount_point: str) -> None:
        log.info("drive unmounted: %s", mount_point)
        try:
            self._on_unmount(mount_point)
        except Exception:
            log.exception("on_unmount callback failed for %s", mount_point)

    def _set_source(self, source: str, new: dict[str, MountInfo], report: bool) -> None:
        """Replace what ``source`` has mounted; report the difference (unless ``report`` is false)."""
        with self._lock:
            old = self._by_source.get(source, {})
            if new:
                self._by_source[source] = new
            else:
                self._by_source.pop(source, None)
            elsewhere = {mp for src, m in self._by_source.items() if src != source for mp in m}
        if not report:
            return
        # a mount point that now holds another device was unmounted and mounted again
        swapped = {mp for mp in old.keys() & new.keys() if old[mp].device != new[mp].device}
        for mp in sorted((old.keys() - new.keys()) | swapped):
            if mp not in elsewhere:
                self._report_unmount(mp)
        for mp in sorted((new.keys() - old.keys()) | swapped):
            if mp not in elsewhere:
                self._report_mount(new[mp])

    # ---- UDisks2 mode ---------------------------------------------------------------------

    def _open_udisks(self) -> DBusConnection | None:
        """Connect to the system bus and subscribe; None if there is no bus or no UDisks2."""
        try:
            conn = open_dbus_connection(bus=self._bus)
        except (OSError, KeyError, ValueError, TimeoutError) as e:
            log.info("no system bus (%s); watching /proc/self/mountinfo", e)
            return None
        try:
            bus = Proxy(message_bus, conn, timeout=self._call_timeout)
            owner_rule = MatchRule(type="signal", sender=_DBUS_NAME, interface=_DBUS_NAME,
                                   member="NameOwnerChanged", path="/org/freedesktop/DBus")
            owner_rule.add_arg_condition(0, UDISKS_BUS_NAME)
            # subscribe before the snapshot so that no change can fall between the two
            for rule in (
                MatchRule(type="signal", sender=UDISKS_BUS_NAME, interface=IF_OBJECT_MANAGER,
                          path=UDISKS_ROOT),
                MatchRule(type="signal", sender=UDISKS_BUS_NAME, interface=IF_PROPERTIES,
                          member="PropertiesChanged", path_namespace=UDISKS_ROOT),
                owner_rule,
            ):
                bus.AddMatch(rule)
            if not bus.NameHasOwner(UDISKS_BUS_NAME)[0]:
                if UDISKS_BUS_NAME not in bus.ListActivatableNames()[0]:
                    log.info("%s is not on the system bus; watching /proc/self/mountinfo", UDISKS_BUS_NAME)
                    conn.close()
                    return None
                log.info("starting %s through bus activation", UDISKS_BUS_NAME)
                Proxy(message_bus, conn, timeout=max(self._call_timeout, 30.0)).StartServiceByName(
                    UDISKS_BUS_NAME)
            self._udisks_owner = bus.GetNameOwner(UDISKS_BUS_NAME)[0]
            return conn
        except (OSError, TimeoutError, DBusErrorResponse) as e:
            log.info("UDisks2 not usable (%s); watching /proc/self/mountinfo", e)
            conn.close()
            return None

    def _udisks_loop(self, conn: DBusConnection, stop: threading.Event, wake_fd: int,
                     ready: threading.Event) -> None:
        signals: deque[Message] = deque()  # every signal the bus routes to us (our matches only)
        with conn.filter(MatchRule(type="signal"), queue=signals):
            self._udisks_resync(conn, report=self._report_existing)
            with self._lock:
                self._mode = "udisks2"
            log.info("watching drives through UDisks2 (%d mounted user drives)",
                     len(self.current_mounts()))
            ready.set()
            waiter = Waiter(conn, wake_fd)
            while not stop.is_set():
                dispatch_pending(conn, signals, self._udisks_signal)
                if self._udisks_owner is None:
                    return  # UDisks2 left the bus
                if not waiter.wait():
                    return  # woken by stop()

    def _udisks_resync(self, conn: DBusConnection, report: bool) -> None:
        om = DBusAddress(UDISKS_ROOT, bus_name=UDISKS_BUS_NAME, interface=IF_OBJECT_MANAGER)
        (managed,) = _call(conn, new_method_call(om, "GetManagedObjects"), self._call_timeout)
        self._objects = {}
        for path, ifaces in managed.items():
            self._merge(path, ifaces)
        stale = [src for src in self._sources() if src not in self._objects]
        for src in stale:
            self._set_source(src, {}, report)
        for path in self._objects:
            self._recompute(conn, path, report)

    def _sources(self) -> list[str]:
        with self._lock:
            return list(self._by_source)

    def _merge(self, path: str, ifaces: dict[str, dict[str, tuple[str, Any]]]) -> None:
        obj = self._objects.setdefault(path, {})
        for iface in (IF_BLOCK, IF_FILESYSTEM):
            if iface in ifaces:
                obj.setdefault(iface, {}).update({k: v[1] for k, v in ifaces[iface].items()})

    def _recompute(self, conn: DBusConnection, path: str, report: bool = True) -> None:
        obj = self._objects.get(path, {})
        fs = obj.get(IF_FILESYSTEM)
        points = [_decode_bytestring(p) for p in fs.get("MountPoints", [])] if fs else []
        if points and IF_BLOCK not in obj:  # a Filesystem always comes with a Block; fetch it
            try:
                props = DBusAddress(path, bus_name=UDISKS_BUS_NAME, interface=IF_PROPERTIES)
                (block,) = _call(conn, new_method_call(props, "GetAll", "s", (IF_BLOCK,)), self._call_timeout)
                obj[IF_BLOCK] = {k: v[1] for k, v in block.items()}
            except (DBusErrorResponse, TimeoutError) as e:
                log.debug("no Block properties for %s: %s", path, e)
        block = obj.get(IF_BLOCK, {})
        label = block.get("IdLabel") or None
        device = _decode_bytestring(block.get("PreferredDevice") or block.get("Device") or b"") or None
        fstype = block.get("IdType") or None
        new = {mp: MountInfo(mp, label, device, fstype) for mp in points if self._filter(mp, fstype)}
        self._set_source(path, new, report)

    def _udisks_signal(self, conn: DBusConnection, msg: Message) -> None:
        hdr = msg.header.fields
        member, iface = hdr.get(HeaderFields.member), hdr.get(HeaderFields.interface)
        sender, path = hdr.get(HeaderFields.sender), hdr.get(HeaderFields.path, "")
        if member == "NameOwnerChanged" and sender == _DBUS_NAME:
            name, _old, new_owner = msg.body
            if name != UDISKS_BUS_NAME:
                return
            self._udisks_owner = new_owner or None
            if new_owner:
                log.info("UDisks2 restarted; resynchronising")
                self._udisks_resync(conn, report=True)
            return
        if sender != self._udisks_owner or not path.startswith(UDISKS_ROOT):
            return
        if iface == IF_OBJECT_MANAGER and member == "InterfacesAdded":
            obj_path, ifaces = msg.body
            self._merge(obj_path, ifaces)
            self._recompute(conn, obj_path)
        elif iface == IF_OBJECT_MANAGER and member == "InterfacesRemoved":
            obj_path, removed = msg.body
            obj = self._objects.get(obj_path, {})
            for name in removed:
                obj.pop(name, None)
            if not obj:
                self._objects.pop(obj_path, None)
            self._recompute(conn, obj_path)
        elif iface == IF_PROPERTIES and member == "PropertiesChanged":
            changed_iface, changed, invalidated = msg.body
            if changed_iface not in (IF_BLOCK, IF_FILESYSTEM) or path not in self._objects:
                return
            self._merge(path, {changed_iface: changed})
            if "MountPoints" in invalidated or "IdLabel" in invalidated:
                props = DBusAddress(path, bus_name=UDISKS_BUS_NAME, interface=IF_PROPERTIES)
                (fresh,) = _call(conn, new_method_call(props, "GetAll", "s", (changed_iface,)),
                                 self._call_timeout)
                self._merge(path, {changed_iface: fresh})
            self._recompute(conn, path)

    # ---- mountinfo mode -------------------------------------------------------------------

    def _read_mountinfo(self, f: Any) -> dict[str, MountInfo]:
        f.seek(0)
        out: dict[str, MountInfo] = {}
        for mp, (fstype, source) in parse_mountinfo(f.read()).items():
            if self._filter(mp, fstype):
                device = source if source.startswith("/dev/") else None
                out[mp] = MountInfo(mp, None, device, fstype)
        return out

    @staticmethod
    def _with_labels(mounts: dict[str, MountInfo], known: dict[str, MountInfo]) -> dict[str, MountInfo]:
        """Look labels up (udev by-label links) only for mounts not seen before."""
        out = {}
        for mp, info in mounts.items():
            seen = known.get(mp)
            if seen is not None and (seen.device, seen.fstype) == (info.device, info.fstype):
                out[mp] = seen
            else:
                out[mp] = MountInfo(mp, _label_for_device(info.device), info.device, info.fstype)
        return out

    def _mountinfo_loop(self, stop: threading.Event, wake_fd: int, ready: threading.Event,
                        after_udisks: bool = False) -> None:
        with open(self._mountinfo_path, "rb", buffering=0) as f:
            poller = select.poll()
            # POLLIN is always set on mountinfo; POLLPRI|POLLERR mean "the mount table changed"
            poller.register(f.fileno(), select.POLLPRI | select.POLLERR)
            poller.register(wake_fd, select.POLLIN)
            known = self.current_mounts()  # non-empty when we fall back from UDisks2
            first = self._with_labels(self._read_mountinfo(f), known)
            with self._lock:
                self._by_source = {}
                self._mode = "mountinfo"
            if after_udisks:
                # report what disappeared while switching; adopt the rest silently
                for mp in sorted(known.keys() - first.keys()):
                    self._report_unmount(mp)
                self._set_source("mountinfo", first, report=False)
            else:
                self._set_source("mountinfo", first, report=self._report_existing)
            log.info("watching drives through %s (%d mounted user drives)", self._mountinfo_path, len(first))
            ready.set()
            while not stop.is_set():
                events = dict(poller.poll())  # no timeout: only a mount change or stop() wakes us
                if wake_fd in events:
                    return
                if f.fileno() in events:
                    with self._lock:
                        known = dict(self._by_source.get("mountinfo", {}))
                    now = self._with_labels(self._read_mountinfo(f), known)
                    self._set_source("mountinfo", now, report=True)



# ---------------------------------------------------------------------------------------------
# asking udisksd to mount / unmount


def udisks_block_path(device: str) -> str:
    """The UDisks2 object path of a block device node ("/dev/loop0" -> ".../block_devices/loop0")."""
    name = os.fsencode(os.path.basename(device))
    return UDISKS_BLOCK_PREFIX + "".join(chr(b) if chr(b).isascii() and chr(b).isalnum() else f"_{b:02x}"
                                         for b in name)


def mount_via_udisks(block_object_path: str, *, options: dict[str, tuple[str, Any]] | None = None,
                     bus: str = "SYSTEM", timeout: float = 30.0) -> str:
    """Call ``Filesystem.Mount`` on a UDisks2 block object; returns the mount point udisksd chose.

    Raises :class:`jeepney.wrappers.DBusErrorResponse` when udisksd refuses.
    """
    fs = DBusAddress(block_object_path, bus_name=UDISKS_BUS_NAME, interface=IF_FILESYSTEM)
    with open_dbus_connection(bus=bus) as conn:
        (mount_point,) = _call(conn, new_method_call(fs, "Mount", "a{sv}", (options or {},)), timeout)
    return str(mount_point)


def unmount_via_udisks(block_object_path: str, *, force: bool = False, bus: str = "SYSTEM",
                       timeout: float = 30.0) -> None:
    """Call ``Filesystem.Unmount`` on a UDisks2 block object."""
    fs = DBusAddress(block_object_path, bus_name=UDISKS_BUS_NAME, interface=IF_FILESYSTEM)
    opts = {"force": ("b", True)} if force else {}
    with open_dbus_connection(bus=bus) as conn:
        _call(conn, new_method_call(fs, "Unmount", "a{sv}", (opts,)), timeout)


# ---------------------------------------------------------------------------------------------
# git-annex clones on a drive

_ESCAPES = {"n": "\n", "t": "\t", "b": "\b", '"': '"', "\\": "\\"}
_SECTION = re.compile(r'\s*\[\s*([A-Za-z0-9.-]+)(?:\s+"((?:[^"\\]|\\.)*)")?\s*\](.*)$')
_SUB_ESCAPE = re.compile(r"\\(.)")
_KEY = re.compile(r"\s*([A-Za-z][A-Za-z0-9-]*)\s*(=?)(.*)$")


def _parse_value(text: str, lines: Iterable[str]) -> str:
    """Parse a git-config value: quotes, escapes, inline comments, trailing-backslash continuation."""
    out: list[str] = []
    pending_space = ""
    in_quotes = False
    it = iter(lines)
    i = 0
    while True:
        if i >= len(text):
            break
        c = text[i]
        i += 1
        if c == "\\":
            if i >= len(text):  # continuation line
                text, i = next(it, ""), 0
                continue
            out.append(pending_space + _ESCAPES.get(text[i], text[i]))
            pending_space = ""
            i += 1
        elif c == '"':
            out.append(pending_space)
            pending_space = ""
            in_quotes = not in_quotes
        elif not in_quotes and c in "#;":
            break
        elif not in_quotes and c.isspace():
            if out:
                pending_space += c
        else:
            out.append(pending_space + c)
            pending_space = ""
    return "".join(out)


def read_git_config(path: str | os.PathLike[str]) -> dict[str, str]:
    """Parse one git config file into ``{"section.key": value}`` or ``{"section.sub.key": value}``.

    Section and key names are lower-cased, subsections kept as written; the last value wins; a key
    without ``=`` is "true". Includes are not followed. Unreadable files give ``{}``.
    """
    try:
        text = Path(path).read_text(encoding="utf-8", errors="surrogateescape")
    except OSError:
        return {}
    values: dict[str, str] = {}
    section = ""
    lines = iter(text.splitlines())
    for line in lines:
        stripped = line.strip()
        if not stripped or stripped[0] in "#;":
            continue
        m = _SECTION.match(line)
        if m:
            name, sub, rest = m.groups()
            if sub is not None:  # [section "Subsection"]: subsection is case-sensitive
                section = name.lower() + "." + _SUB_ESCAPE.sub(r"\1", sub)
            else:  # [section] or legacy [section.subsection]
                section = name.lower()
            line = rest
            if not line.strip() or line.strip()[0] in "#;":
                continue
        m = _KEY.match(line)
        if not m or not section:
            continue
        key, eq, rest = m.groups()
        values[f"{section}.{key.lower()}"] = _parse_value(rest, lines) if eq else "true"
    return values


def annex_uuid(repo: str | os.PathLike[str]) -> str | None:
    """``annex.uuid`` of the repository at ``repo`` (work tree or bare), None if not an annex repo."""
    git_dir = git_dir_of(Path(repo))
    if git_dir is None:
        return None
    return read_git_config(git_dir / "config").get("annex.uuid") or None


def find_annex_clones(mount_point: str | os.PathLike[str], max_depth: int = 1) -> list[tuple[Path, str]]:
    """git-annex repositories on a drive: ``[(repository path, annex.uuid)]`` sorted by path.

    Looks at ``mount_point`` itself and directories up to ``max_depth`` levels below it (hidden
    directories and lost+found skipped, symlinks not followed, no descent into a repository).
    """
    found: list[tuple[Path, str]] = []

    def visit(directory: Path, depth: int) -> None:
        if git_dir_of(directory) is not None:
            uuid = annex_uuid(directory)
            if uuid:
                found.append((directory, uuid))
            return
        if depth >= max_depth:
            return
        try:
            with os.scandir(directory) as it:
                subdirs = sorted(e.name for e in it
                                 if e.is_dir(follow_symlinks=False)
                                 and not e.name.startswith(".") and e.name != "lost+found")
        except OSError as e:
            log.debug("cannot list %s: %s", directory, e)
            return
        for name in subdirs:
            visit(directory / name, depth + 1)

    visit(Path(mount_point), 0)
    return sorted(found)
