"""Speeds and sizes as people type and read them: "500 KB/s", "2M", "unlimited" <-> bytes/s.

No Qt here: the widgets call `parse_rate` and show its ValueError message next to the field.
"""

from __future__ import annotations

import re

import humanize

_UNITS = {
    "": 1024, "k": 1000, "kb": 1000, "kib": 1024,  # a bare number means KiB/s in the dialogs
    "b": 1,
    "m": 1000**2, "mb": 1000**2, "mib": 1024**2,
    "g": 1000**3, "gb": 1000**3, "gib": 1024**3,
}
_RATE = re.compile(r"^\s*(-?\d+(?:[.,]\d+)?)\s*([kmg]?i?b?)\s*(?:/\s*s|ps)?\s*$", re.IGNORECASE)
UNLIMITED_WORDS = {"", "0", "none", "unlimited", "no limit", "off"}


class BadRate(ValueError):
    """The text is not a speed limit; str(e) says why in one line."""


def parse_rate(text: str) -> int:
    """Bytes per second from "500 KB/s", "2M", "1.5 MiB/s", "300" (KiB/s); 0 = no limit."""
    t = text.strip().lower()
    if t in UNLIMITED_WORDS:
        return 0
    m = _RATE.match(t)
    if not m:
        raise BadRate("not a speed: type a number with a unit, like 500 KB/s or 2 MB/s (0 for no limit)")
    value = float(m.group(1).replace(",", "."))
    if value < 0:
        raise BadRate("a limit cannot be negative (0 means no limit)")
    return int(value * _UNITS[m.group(2).lower()])


def format_rate(rate: int | float | None, unlimited: str = "unlimited") -> str:
    """`unlimited` (translated by the caller) for 0/None, else e.g. "500 kB/s"."""
    if not rate:
        return unlimited
    return format_size(rate) + "/s"


def format_size(n: int | float | None) -> str:
    if n is None:
        return "?"
    text = humanize.naturalsize(n, format="%.1f")
    return text.replace(".0 ", " ")
