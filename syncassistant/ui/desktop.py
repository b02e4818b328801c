"""Handing things to the desktop: opening a folder in the file manager.

One function, so tests can replace it instead of launching xdg-open.
"""

from __future__ import annotations

from PySide6.QtCore import QUrl
from PySide6.QtGui import QDesktopServices


def open_folder(path: str) -> bool:
    """Show `path` in the user's file manager; False if the desktop could not."""
    return QDesktopServices.openUrl(QUrl.fromLocalFile(path))
