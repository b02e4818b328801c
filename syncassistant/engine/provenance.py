"""Which device made a commit: the trailers our commits carry, and reading them back.

Every commit our daemon makes ends with git trailers naming the clone it was made in, its
git-annex description and UUID:

    Device: laptop
    Device-UUID: 3f1c0b6e-...

and a merge names the device whose branch it joins as well:

    Merged-Device: USB drive BACKUP
    Merged-Device-UUID: 9a2d...

The git author cannot tell devices apart: it is the same person on all of them. The UUID is
what git-annex knows a clone by (uuid.log on the git-annex branch gives its current name, so a
device renamed later is shown by its new name); the description is kept too, so a log read where
that UUID is unknown still names it. This clone's own description is read once per daemon (the
first commit), which costs one `git cat-file` and keeps every later commit as cheap as before.

Commits made by others carry no trailer: plain `git annex sync` writes "git-annex in
<description>" (readers map that back to a UUID through uuid.log), the assistant and a user's
`git commit` write anything. Readers then say "unknown device" and never fail on a message.
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass

from .network import netmap_store
from .proc.git import Git

DEVICE, DEVICE_UUID = "Device", "Device-UUID"
MERGED, MERGED_UUID = "Merged-Device", "Merged-Device-UUID"
UNKNOWN = "unknown device"
_TRAILER = re.compile(r"^([A-Za-z][A-Za-z0-9-]*): ?(.*)$")
_ANNEX_SYNC = re.compile(r"^git-annex in (.+)$")  # git annex sync's commit message (Command/Sync.hs)
_UUID_CHARS = re.compile(r"[^0-9A-Za-z-]")
NAME_MAX = 120  # characters of a description kept in a trailer


@dataclass(frozen=True)
class Device:
    uuid: str  # "" when not known
    name: str  # "" when not known

    @property
    def label(self) -> str:
        """What a person reads: the name, else the start of the UUID, else "unknown device"."""
        return self.name or (self.uuid[:8] if self.uuid else UNKNOWN)


NOBODY = Device("", "")


def clean_name(name: str) -> str:
    """One line of printable text: a description with a newline or control characters in it
    would otherwise end the trailer block or forge another trailer."""
    text = "".join(ch if ch.isprintable() else " " for ch in name)
    return " ".join(text.split())[:NAME_MAX]


def clean_uuid(uuid: str) -> str:
    return _UUID_CHARS.sub("", uuid)[:64]


def descriptions(git: Git) -> dict[str, str]:
    """UUID -> description of every repository git-annex knows (uuid.log and its journal)."""
    try:
        return netmap_store.repositories(git)[0]
    except Exception:  # a repository without a git-annex branch yet: nobody is known
        return {}


class DeviceCache:
    """This clone's Device, read once, and other UUIDs' names, read again only for a UUID not
    seen before (a device that joined since)."""

    def __init__(self, git: Git):
        self.git = git
        self._lock = threading.Lock()
        self._me: Device | None = None
        self._names: dict[str, str] | None = None

    def me(self) -> Device:
        with self._lock:
            if self._me is None:
                uuid = clean_uuid(self.git.config_get("annex.uuid") or "")
                self._me = Device(uuid, clean_name(self._lookup(uuid)))
            return self._me

    def device(self, uuid: str | None) -> Device:
        if not uuid:
            return NOBODY
        uuid = clean_uuid(uuid)
        with self._lock:
            return Device(uuid, clean_name(self._lookup(uuid)))

    def _lookup(self, uuid: str) -> str:
        if not uuid:
            return ""
        if self._names is None or uuid not in self._names:
            self._names = descriptions(self.git)
        return self._names.get(uuid, "")


def trailers(me: Device, merged: Device | None = None) -> str:
    lines = [f"{DEVICE}: {clean_name(me.name) or me.uuid}", f"{DEVICE_UUID}: {clean_uuid(me.uuid)}"]
    if merged is not None and (merged.uuid or merged.name):
        lines += [f"{MERGED}: {clean_name(merged.name) or merged.uuid or UNKNOWN}",
                  f"{MERGED_UUID}: {clean_uuid(merged.uuid)}"]
    return "\n".join(lines)


def with_trailers(message: str, me: Device, merged: Device | None = None) -> str:
    """`message` with the device trailers as its last paragraph (where `git interpret-trailers`
    and `git log --format=%(trailers)` look for them)."""
    if not me.uuid and not me.name:
        return message
    return f"{message.rstrip()}\n\n{trailers(me, merged)}\n"


def parse_trailers(message: str) -> dict[str, str]:
    """The `Key: value` lines of a message's last paragraph (the first of each key)."""
    paragraphs = [p for p in message.strip().split("\n\n") if p.strip()]
    if len(paragraphs) < 2:
        return {}
    found: dict[str, str] = {}
    for line in paragraphs[-1].splitlines():
        m = _TRAILER.match(line.strip())
        if m is None:
            return {}  # not a trailer block
        found.setdefault(m.group(1), m.group(2).strip())
    return found


def device_of(message: str, names: dict[str, str]) -> tuple[Device, bool]:
    """The device a commit with this message was made on, and whether the message said so
    (a trailer, or git annex sync's "git-annex in NAME"); (NOBODY, False) when nothing tells.
    `names` is UUID -> description (the current name wins over the one in the trailer)."""
    t = parse_trailers(message)
    uuid = clean_uuid(t.get(DEVICE_UUID, ""))
    if uuid or t.get(DEVICE):
        return Device(uuid, clean_name(names.get(uuid) or t.get(DEVICE, ""))), True
    first = message.strip().split("\n", 1)[0] if message.strip() else ""
    m = _ANNEX_SYNC.match(first)
    if m:
        name = clean_name(m.group(1))
        found = [u for u, n in names.items() if clean_name(n) == name]
        return Device(found[0] if len(found) == 1 else "", name), True
    return NOBODY, False


def merged_device_of(message: str, names: dict[str, str]) -> Device:
    t = parse_trailers(message)
    uuid = clean_uuid(t.get(MERGED_UUID, ""))
    name = names.get(uuid) or t.get(MERGED, "")
    return Device(uuid, clean_name(name)) if uuid or name else NOBODY
