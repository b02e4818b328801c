"""Settings page "Folders": the synced folders; add one (it becomes a repository), stop one."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QFileDialog,
    QHBoxLayout,
    QHeaderView,
    QLineEdit,
    QMessageBox,
    QPushButton,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from ...engine.repo import init_repo
from ..icons import state_icon
from ..state import display_path, repo_key, repo_summary
from ..widgets import ErrorLabel, heading, note
from ..workers import run_in_background
from .conditions import ConditionsBox

KEY_ROLE = Qt.ItemDataRole.UserRole


def check_new_folder(text: str, known: list[str]) -> Path:
    """The folder to add, or ValueError with the reason to show next to the field."""
    text = text.strip()
    if not text:
        raise ValueError("choose a folder to sync")
    path = Path(text).expanduser()
    if not path.is_absolute():
        raise ValueError("use the folder's full path (starting with /)")
    if not path.exists():
        raise ValueError(f"{path} does not exist: create it first, or choose another folder")
    if not path.is_dir():
        raise ValueError(f"{path} is not a folder")
    if repo_key(path) in known:
        raise ValueError(f"{path} is synced already")
    return path


class RepositoriesPage(QWidget):
    def __init__(self, app: Any, parent: QWidget | None = None):
        super().__init__(parent)
        self.app = app
        self.state = app.state
        self.setAccessibleName(self.tr("Folders"))

        self.table = QTreeWidget(self)
        self.table.setAccessibleName(self.tr("Synced folders"))
        self.table.setRootIsDecorated(False)
        self.table.setTextElideMode(Qt.TextElideMode.ElideMiddle)
        self.table.setHeaderLabels([self.tr("Folder"), self.tr("Location"), self.tr("State")])
        self.table.header().setSectionResizeMode(0, QHeaderView.ResizeMode.ResizeToContents)
        self.table.header().setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)
        self.table.header().setSectionResizeMode(2, QHeaderView.ResizeMode.ResizeToContents)
        self.table.setMinimumHeight(120)
        self.table.setMaximumHeight(220)
        self.table.currentItemChanged.connect(lambda *_: self._update_buttons())
        self.conditions = ConditionsBox(app, self)  # the chosen folder's run conditions
        self.table.currentItemChanged.connect(lambda *_: self.conditions.set_repo(self.selected_key()))
        self.remove_button = QPushButton(self.tr("&Stop syncing this folder…"), self)
        self.remove_button.setAccessibleName(self.tr("Stop syncing the selected folder"))
        self.remove_button.clicked.connect(self.remove_selected)

        self.path_edit = QLineEdit(self)
        self.path_edit.setAccessibleName(self.tr("Folder to add"))
        self.path_edit.setPlaceholderText(self.tr("/home/you/Documents"))
        self.path_edit.returnPressed.connect(self.add_folder)
        self.browse_button = QPushButton(self.tr("&Browse…"), self)
        self.browse_button.setAccessibleName(self.tr("Choose the folder to add"))
        self.browse_button.clicked.connect(self.browse)
        self.add_button = QPushButton(self.tr("&Add folder"), self)
        self.add_button.setAccessibleName(self.tr("Add this folder"))
        self.add_button.clicked.connect(self.add_folder)
        self.path_error = ErrorLabel(self.path_edit, self)

        add_row = QHBoxLayout()
        add_row.addWidget(self.path_edit, 1)
        add_row.addWidget(self.browse_button)
        add_row.addWidget(self.add_button)
        remove_row = QHBoxLayout()
        remove_row.addStretch(1)
        remove_row.addWidget(self.remove_button)

        lay = QVBoxLayout(self)
        lay.addWidget(heading(self.tr("Synced folders"), self))
        lay.addWidget(note(self.tr("Each folder here is kept in sync with the devices, drives and servers "
                                   "you add under Remotes. Files stay ordinary files you can open and edit."),
                           self))
        lay.addWidget(self.table)
        lay.addLayout(remove_row)
        lay.addWidget(self.conditions)
        lay.addSpacing(8)
        lay.addWidget(heading(self.tr("Add a folder"), self))
        lay.addWidget(note(self.tr("An existing folder with your files, an empty folder, or a copy you "
                                   "made from another device. Nothing in it is deleted."), self))
        lay.addLayout(add_row)
        lay.addWidget(self.path_error)
        lay.addStretch(1)

        self.state.reposChanged.connect(self.reload)
        self.state.repoChanged.connect(lambda _k: self.reload())
        self.reload()

    def reload(self) -> None:
        current = self.selected_key()
        # (quietly: every status refresh rebuilds the table, and the conditions box must not
        # read the chosen folder's settings again each time)
        self.table.blockSignals(True)
        self.table.clear()
        for view in self.state.ordered():
            s = repo_summary(view)
            item = QTreeWidgetItem(self.table, [view.name, display_path(view.key), s.text])
            item.setIcon(0, state_icon(s.state))
            item.setData(0, KEY_ROLE, view.key)
            item.setToolTip(1, view.key)
            item.setToolTip(2, s.text)
            if view.key == current:
                self.table.setCurrentItem(item)
        if self.table.currentItem() is None and self.table.topLevelItemCount():
            self.table.setCurrentItem(self.table.topLevelItem(0))  # (its conditions show below)
        self.table.blockSignals(False)
        self.conditions.set_repo(self.selected_key())
        self._update_buttons()

    def selected_key(self) -> str:
        item = self.table.currentItem()
        return str(item.data(0, KEY_ROLE)) if item is not None else ""

    def _update_buttons(self) -> None:
        self.remove_button.setEnabled(bool(self.selected_key()))

    def browse(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, self.tr("Choose a folder to sync"), str(Path.home()))
        if folder:
            self.path_edit.setText(folder)
            self.path_error.clear_error()

    def add_folder(self) -> None:
        try:
            path = check_new_folder(self.path_edit.text(), list(self.state.views))
        except ValueError as e:
            self.path_error.show_error(str(e))
            return
        self.path_error.clear_error()
        self.add_button.setEnabled(False)
        self.add_button.setText(self.tr("Setting up…"))
        run_in_background(lambda: str(init_repo(path)), self._added, self)

    def _added(self, top: str | None, error: str | None) -> None:
        self.add_button.setEnabled(True)
        self.add_button.setText(self.tr("&Add folder"))
        if error or not top:
            self.path_error.show_error(str(error))
            return
        self.path_edit.clear()
        self.app.add_repository(top)

    def remove_selected(self) -> None:
        key = self.selected_key()
        if not key:
            return
        answer = QMessageBox.question(
            self, self.tr("Stop syncing?"),
            self.tr("Stop syncing %1? The folder and its files stay where they are.").replace("%1", key))
        if answer == QMessageBox.StandardButton.Yes:
            self.app.remove_repository(key)
