"""Checking remote URLs before git ever sees them.

Accepted: a local path, `file://`, `ssh://[user@]host[:port]/path`, and scp-style
`[user@]host:path`; the host may be an IPv6 literal in brackets (`ssh://[::1]:2222/srv/repo`,
`me@[fe80::1%eth0]:repo`, with an interface name after `%` for link-local addresses, the way
git hands it to ssh). Refused: every `x::` transport (`ext::` and `fd::` run commands, and
unknown helpers are programs on PATH), option-looking values, control characters.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit


class BadURL(ValueError):
    """The URL is refused; the message says why in one line."""


@dataclass(frozen=True)
class RemoteURL:
    kind: str  # "local" | "ssh"
    url: str  # what goes into remote.<name>.url
    path: str
    host: str | None = None
    user: str | None = None
    port: int | None = None


_HOST = re.compile(r"^[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?$")
_USER = re.compile(r"^[A-Za-z0-9._][A-Za-z0-9._-]*$")
_SCP = re.compile(r"^(?:(?P<user>[^@/:]+)@)?(?P<host>[^/:]+):(?P<path>.*)$")
# scp-style with an IPv6 literal, as git reads it: [user@]"[" address "]" ":" path
_SCP6 = re.compile(r"^(?:(?P<user>[^@/:\[\]]+)@)?(?P<host>\[[^\]/@]*\]):(?P<path>.*)$")
_ZONE = re.compile(r"^[A-Za-z0-9_.-]{1,15}$")  # an interface name (IFNAMSIZ), nothing ssh could parse


def parse_remote_url(text: str, base: str | Path | None = None) -> RemoteURL:
    """Validate `text` and return its normalised form; raise BadURL with a one-line reason."""
    if not text or not text.strip():
        raise BadURL("the URL is empty")
    if text != text.strip():
        raise BadURL("the URL has leading or trailing spaces")
    if any(ord(c) < 32 or ord(c) == 127 for c in text):
        raise BadURL("the URL contains control characters")
    if text.startswith("-"):
        raise BadURL("a URL may not start with '-' (it would be read as an option)")
    transport = re.match(r"^([A-Za-z][A-Za-z0-9+.-]*)::", text)
    if transport:
        raise BadURL(f"the '{transport.group(1)}::' transport is refused: it can run commands")
    scheme = re.match(r"^([A-Za-z][A-Za-z0-9+.-]*)://", text)
    if scheme:
        name = scheme.group(1).lower()
        if name == "file":
            path = urlsplit(text).path
            if not path.startswith("/"):
                raise BadURL("a file:// URL needs an absolute path")
            return RemoteURL("local", text, path)
        if name in ("ssh", "git+ssh", "ssh+git"):
            return _ssh_url(text)
        raise BadURL(f"the '{name}://' scheme is not supported (use a path, file:// or ssh://)")
    if text.startswith(("/", "./", "../", "~")) or (base is not None and _looks_local(text, base)):
        path = str(Path(text).expanduser())
        return RemoteURL("local", path, path)
    m = _SCP6.match(text)
    if m:
        host, user, path = _ipv6_host(m.group("host")), m.group("user"), m.group("path")
        _check_ssh_parts(host, user, path)
        return RemoteURL("ssh", text, path, host=host, user=user)
    m = _SCP.match(text)
    if m and "/" not in m.group("host"):
        host, user, path = m.group("host"), m.group("user"), m.group("path")
        _check_ssh_parts(host, user, path)
        return RemoteURL("ssh", text, path, host=host, user=user)
    path = str(Path(text))
    return RemoteURL("local", path, path)


def _looks_local(text: str, base: str | Path) -> bool:
    return ":" not in text.split("/", 1)[0] or (Path(base) / text).exists()


def _ssh_url(text: str) -> RemoteURL:
    try:
        parts = urlsplit(text)
    except ValueError as e:  # e.g. an unclosed or invalid bracketed address
        raise BadURL(f"invalid ssh URL: {e}") from None
    host = parts.hostname
    if not host:
        raise BadURL("the ssh URL has no host")
    if "[" in parts.netloc:
        host = _ipv6_host("[" + parts.netloc.split("[", 1)[1].split("]", 1)[0] + "]")
    try:
        port = parts.port
    except ValueError:
        raise BadURL("the ssh URL has an invalid port") from None
    if port is not None and not 0 < port < 65536:
        raise BadURL("the ssh URL has an invalid port")
    if parts.query or parts.fragment:
        raise BadURL("an ssh URL may not have a query or fragment")
    path = parts.path
    if not path or path == "/":
        raise BadURL("the ssh URL has no repository path")
    _check_ssh_parts(host, parts.username, path)
    return RemoteURL("ssh", text, path, host=host, user=parts.username, port=port)


def _ipv6_host(bracketed: str) -> str:
    """`[address]` or `[address%zone]` checked as an IPv6 address; returned in its brackets."""
    inner = bracketed[1:-1]
    address, _, zone = inner.partition("%")
    if "%" in inner and not _ZONE.match(zone):
        raise BadURL(f"invalid interface name in the IPv6 address: {bracketed!r}")
    try:
        ipaddress.IPv6Address(address)
    except ValueError:
        raise BadURL(f"invalid IPv6 address: {bracketed!r}") from None
    return bracketed


def _check_ssh_parts(host: str, user: str | None, path: str) -> None:
    if host.startswith("[") and host.endswith("]"):
        _ipv6_host(host)  # brackets hold an IPv6 address and nothing else
    elif host.startswith("-") or not _HOST.match(host):
        raise BadURL(f"invalid ssh host name: {host!r}")
    if user is not None and not _USER.match(user):
        raise BadURL(f"invalid ssh user name: {user!r}")
    if not path:
        raise BadURL("the ssh URL has no repository path")
    if path.startswith("-"):
        raise BadURL("the repository path may not start with '-'")
