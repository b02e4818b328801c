"""The app's SVG icons from `syncassistant/resources/icons/`, loaded once."""

from __future__ import annotations

from functools import cache
from importlib import resources
from pathlib import Path

from PySide6.QtGui import QIcon

STATES = ("idle", "syncing", "paused", "offline", "error", "conflict")


def icon_path(name: str) -> Path:
    """Path of `resources/icons/<name>.svg` (the package is installed as files, not zipped)."""
    return Path(str(resources.files("syncassistant.resources") / "icons" / f"{name}.svg"))


@cache
def icon(name: str) -> QIcon:
    path = icon_path(name)
    ic = QIcon(str(path)) if path.exists() else QIcon()
    return ic


def state_icon(state: str) -> QIcon:
    """The tray icon of a summary state (see state.py), e.g. "syncing" -> state-syncing.svg."""
    return icon(f"state-{state if state in STATES else 'idle'}")


def app_icon() -> QIcon:
    return icon("syncassistant")
