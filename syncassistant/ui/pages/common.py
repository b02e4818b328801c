"""What several settings pages share: a repository chooser that follows AppState."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QComboBox, QWidget

from ..state import AppState, display_path


class RepoChooser(QComboBox):
    """A combo box of the synced folders; `chosen(key)` when the choice changes ("" = none)."""

    chosen = Signal(str)

    def __init__(self, state: AppState, parent: QWidget | None = None):
        super().__init__(parent)
        self.state = state
        self.setAccessibleName(self.tr("Folder"))
        self.view().setAccessibleName(self.tr("Synced folders to choose from"))
        self.setMinimumContentsLength(24)
        self.currentIndexChanged.connect(lambda _i: self.chosen.emit(self.key()))
        state.reposChanged.connect(self.reload)
        self.reload()

    def reload(self) -> None:
        before = self.key()
        self.blockSignals(True)
        self.clear()
        for view in self.state.ordered():
            self.addItem(f"{view.name}  ({display_path(view.key)})", view.key)
        idx = self.findData(before)
        self.setCurrentIndex(idx if idx >= 0 else (0 if self.count() else -1))
        self.blockSignals(False)
        if self.key() != before:
            self.chosen.emit(self.key())

    def key(self) -> str:
        data: Any = self.currentData()
        return str(data) if data else ""

    def choose(self, key: str) -> None:
        idx = self.findData(key)
        if idx >= 0:
            self.setCurrentIndex(idx)
