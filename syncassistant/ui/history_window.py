"""The Recent changes window: what changed in the synced folders, on which device, and when;
and a file's versions, to restore one.

The list is read from each folder's git history (engine/history.py) on the thread pool, never
on the GUI thread, and read again shortly after a commit or merge of that folder; filters
(folder, device, file name) only hide rows. "Restore…" opens a file's versions: when each was
made, on which device, its size and whether its content is on this device or where git-annex
last saw it; "Restore" puts the chosen version back at the file's name (the current version
stays in the history), "Restore as copy" beside it (engine/restore.py: content fetched from
whichever device has it, written atomically, committed and synced like any change); a version
whose content is here is previewed (text or image). Below the list: what old versions cost on
this device (engine/keep_versions.py; `git annex unused` walks the whole tree, so it is read
when the window opens and on Refresh, not after every commit).
"""

from __future__ import annotations

import datetime as dt
import os
from typing import Any

from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QFontDatabase, QImage, QKeySequence, QPixmap, QShortcut
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QDialog,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPushButton,
    QSplitter,
    QStackedWidget,
    QTextEdit,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from ..engine import history, keep_versions
from ..engine.restore import copy_name, restore
from .desktop import open_folder
from .state import AppState
from .units import format_size
from .workers import run_in_background

ROW_ROLE = Qt.ItemDataRole.UserRole + 1  # (repo key, Change)
PREVIEW_BYTES = 16 * 1024 * 1024  # read for a preview: a photo whole; a larger file is no image we show
TEXT_BYTES = 256 * 1024  # of a text, this much is shown
LIMIT = 300  # commits read per folder
RELOAD_AFTER_MS = 700  # a burst of commits reads the history once


def _when(t: int) -> str:
    return dt.datetime.fromtimestamp(t).strftime("%Y-%m-%d %H:%M:%S")


class HistoryWindow(QWidget):
    def __init__(self, app: Any, parent: QWidget | None = None):
        super().__init__(parent)
        self.app = app
        self.state: AppState = app.state
        self.rows: dict[str, list[history.Change]] = {}  # repo key -> its changes, newest first
        self.errors: dict[str, str] = {}
        self._loading: set[str] = set()
        self._again: set[str] = set()  # asked to read again while a read was running
        self.dialogs: list[RestoreDialog] = []
        self.setWindowTitle(self.tr("Recent changes – SyncAssistant"))
        self.setAccessibleName(self.tr("Recent changes"))
        self.resize(900, 520)

        self.folder = QComboBox(self)
        self.folder.setAccessibleName(self.tr("Folder"))
        self.device = QComboBox(self)
        self.device.setAccessibleName(self.tr("Device"))
        self.name = QLineEdit(self)
        self.name.setPlaceholderText(self.tr("File name contains…"))
        self.name.setAccessibleName(self.tr("File name filter"))
        self.name.setClearButtonEnabled(True)
        for combo in (self.folder, self.device):
            combo.currentIndexChanged.connect(lambda _i: self.fill())
        self.folder.currentIndexChanged.connect(lambda _i: self.show_cost())
        self.name.textChanged.connect(lambda _t: self.fill())
        filters = QHBoxLayout()
        filters.addWidget(QLabel(self.tr("Folder:"), self))
        filters.addWidget(self.folder, 1)
        filters.addWidget(QLabel(self.tr("Device:"), self))
        filters.addWidget(self.device, 1)
        filters.addWidget(self.name, 2)

        self.list = QTreeWidget(self)
        self.list.setAccessibleName(self.tr("Changes, newest first"))
        self.list.setRootIsDecorated(False)
        self.list.setAlternatingRowColors(True)
        self.list.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.list.setHeaderLabels([self.tr("When"), self.tr("Device"), self.tr("Change"), self.tr("File"),
                                   self.tr("Size"), self.tr("Folder")])
        header = self.list.header()
        for col in (0, 1, 2, 4, 5):
            header.setSectionResizeMode(col, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(3, QHeaderView.ResizeMode.Stretch)
        self.list.currentItemChanged.connect(lambda *_: self._update_buttons())
        self.list.itemDoubleClicked.connect(lambda *_: self.restore_selected())

        self.status = QLabel(self)
        self.status.setAccessibleName(self.tr("Status"))
        self.status.setWordWrap(True)
        self.cost = QLabel(self)
        self.cost.setAccessibleName(self.tr("Old versions on this device"))
        self.cost.setWordWrap(True)
        self.costs: dict[str, tuple[int, int, int | None] | str] = {}  # key -> (count, bytes, days) | error
        self.show_button = QPushButton(self.tr("&Show in folder"), self)
        self.show_button.setAccessibleName(self.tr("Show the file in its folder"))
        self.show_button.clicked.connect(self.show_selected)
        self.restore_button = QPushButton(self.tr("&Restore…"), self)
        self.restore_button.setAccessibleName(self.tr("The file's versions, to restore one"))
        self.restore_button.clicked.connect(self.restore_selected)
        actions = QHBoxLayout()
        actions.addWidget(self.status, 1)
        actions.addWidget(self.show_button)
        actions.addWidget(self.restore_button)

        lay = QVBoxLayout(self)
        lay.addLayout(filters)
        lay.addWidget(self.list, 1)
        lay.addLayout(actions)
        lay.addWidget(self.cost)

        QShortcut(QKeySequence.StandardKey.Close, self, self.close)
        QShortcut(QKeySequence.StandardKey.Refresh, self, self.refresh_all)
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(RELOAD_AFTER_MS)
        self._timer.timeout.connect(self.reload)
        self.state.reposChanged.connect(self.reload)
        # bound methods, not lambdas: Qt disconnects them when this window is deleted
        app.bridge.committed.connect(self._soon)
        app.bridge.merged.connect(self._soon)
        self._update_buttons()
        self.refresh_all()

    # -- reading -------------------------------------------------------------------------------
    def _soon(self, *_event: object) -> None:
        if self.isVisible():
            self._timer.start()

    def refresh_all(self) -> None:
        """The history and what old versions cost."""
        self.reload()
        self.cost.setText(self.tr("Looking at old versions on this device…"))
        for key in [v.key for v in self.state.ordered()]:
            def job(k: str = key) -> tuple[int, int, int | None]:
                return (*keep_versions.cost(keep_versions.old_versions(k)), keep_versions.policy_days(k))
            run_in_background(job, lambda res, err, k=key: self._cost_loaded(k, res, err), self)

    def _cost_loaded(self, key: str, res: tuple[int, int, int | None] | None, error: str | None) -> None:
        self.costs[key] = res if res is not None else str(error)
        self.show_cost()

    def show_cost(self) -> None:
        folder = self.folder.currentData() or ""
        parts = [c for k, c in self.costs.items() if not folder or k == folder]
        ok = [c for c in parts if isinstance(c, tuple)]
        count, size = sum(c[0] for c in ok), sum(c[1] for c in ok)
        text = self.tr("Old versions kept on this device: %n (%1).", "", count).replace("%1", format_size(size))
        days = {c[2] for c in ok}
        if days == {None}:
            text += " " + self.tr("Every version is kept (syncassistant versions PATH --keep-days N sets a limit).")
        elif len(days) == 1:
            text += " " + self.tr("Kept for %n day(s), then dropped here where other copies exist "
                                  "(syncassistant versions PATH --apply).", "", next(iter(days)) or 0)
        if len(ok) < len(parts):
            text += " " + self.tr("(Some folders could not be looked at.)")
        self.cost.setText(text)

    def reload(self) -> None:
        """Read every folder's recent history again (on the thread pool)."""
        keys = [v.key for v in self.state.ordered()]
        for gone in set(self.rows) - set(keys):
            self.rows.pop(gone, None)
        self._fill_folders(keys)
        if not keys:
            self.fill()
        for key in keys:
            if key in self._loading:
                self._again.add(key)
                continue
            self._loading.add(key)
            self.status.setText(self.tr("Reading the history…"))
            run_in_background(lambda k=key: history.changes(k, None, LIMIT),
                              lambda found, err, k=key: self._loaded(k, found, err), self)

    def _loaded(self, key: str, found: list[history.Change] | None, error: str | None) -> None:
        self._loading.discard(key)
        if error:
            self.errors[key] = error
        else:
            self.errors.pop(key, None)
            self.rows[key] = found or []
        if key in self._again:
            self._again.discard(key)
            self.reload()
            return
        self._fill_devices()
        self.fill()

    # -- filters and rows ----------------------------------------------------------------------------
    def _fill_folders(self, keys: list[str]) -> None:
        chosen = self.folder.currentData()
        self.folder.blockSignals(True)
        self.folder.clear()
        self.folder.addItem(self.tr("All folders"), "")
        for key in keys:
            self.folder.addItem(os.path.basename(key) or key, key)
        i = self.folder.findData(chosen)
        self.folder.setCurrentIndex(max(i, 0))
        self.folder.blockSignals(False)

    def _fill_devices(self) -> None:
        chosen = self.device.currentData()
        names = sorted({c.device_label for rows in self.rows.values() for c in rows}, key=str.lower)
        self.device.blockSignals(True)
        self.device.clear()
        self.device.addItem(self.tr("All devices"), "")
        for n in names:
            self.device.addItem(n, n)
        i = self.device.findData(chosen)
        self.device.setCurrentIndex(max(i, 0))
        self.device.blockSignals(False)

    def kind_text(self, kind: str) -> str:
        return {"added": self.tr("added"), "changed": self.tr("changed"), "moved": self.tr("moved"),
                "deleted": self.tr("deleted")}.get(kind, kind)

    def visible_changes(self) -> list[tuple[str, history.Change]]:
        folder, device = self.folder.currentData() or "", self.device.currentData() or ""
        text = self.name.text().strip().lower()
        out = [(key, c) for key, rows in self.rows.items() for c in rows
               if (not folder or key == folder) and (not device or c.device_label == device)
               and (not text or text in c.path.lower() or text in (c.old_path or "").lower())]
        out.sort(key=lambda kc: -kc[1].time)
        return out

    def fill(self) -> None:
        keep = self.selected()
        self.list.clear()
        chosen = None
        for key, c in self.visible_changes():
            name = (self.tr("%1 (from %2)").replace("%1", c.path).replace("%2", c.old_path)
                    if c.old_path else c.path)
            kind = (self.tr("%1 by a merge").replace("%1", self.kind_text(c.kind)) if c.merged
                    else self.kind_text(c.kind))
            item = QTreeWidgetItem(self.list, [_when(c.time), c.device_label, kind, name,
                                               format_size(c.size) if c.size is not None else "",
                                               os.path.basename(key)])
            item.setData(0, ROW_ROLE, (key, c))
            item.setToolTip(1, self.tr("git author: %1").replace("%1", c.author))
            if c.merged:
                item.setToolTip(2, self.tr("Made when two devices' changes were joined: a conflict keeps "
                                           "each version under its own name."))
            item.setToolTip(3, os.path.join(key, c.path))
            if keep and keep[0] == key and keep[1].commit == c.commit and keep[1].path == c.path:
                chosen = item
        if chosen is not None:
            self.list.setCurrentItem(chosen)
        n = self.list.topLevelItemCount()
        problems = "; ".join(f"{os.path.basename(k)}: {e}" for k, e in self.errors.items())
        if self._loading:
            self.status.setText(self.tr("Reading the history…"))
        elif problems:
            self.status.setText(self.tr("Could not read the history of %1").replace("%1", problems))
        else:
            self.status.setText(self.tr("%n change(s)", "", n))
        self._update_buttons()

    def selected(self) -> tuple[str, history.Change] | None:
        item = self.list.currentItem()
        return item.data(0, ROW_ROLE) if item is not None else None

    def _update_buttons(self) -> None:
        sel = self.selected()
        self.show_button.setEnabled(sel is not None)
        self.restore_button.setEnabled(sel is not None)

    # -- actions ----------------------------------------------------------------------------------
    def show_selected(self) -> None:
        sel = self.selected()
        if sel is None:
            return
        key, c = sel
        folder = os.path.dirname(os.path.join(key, c.path))
        while folder != key and not os.path.isdir(folder):  # a deleted file's folder may be gone too
            folder = os.path.dirname(folder)
        open_folder(folder if os.path.isdir(folder) else key)

    def restore_selected(self) -> RestoreDialog | None:
        sel = self.selected()
        if sel is None:
            return None
        key, c = sel
        dialog = RestoreDialog(key, c.path, self)
        self.dialogs = [d for d in self.dialogs if d.isVisible()] + [dialog]
        dialog.show()
        return dialog


class RestoreDialog(QDialog):
    """One file's versions, and "Restore" / "Restore as copy"."""

    def __init__(self, key: str, path: str, parent: QWidget | None = None):
        super().__init__(parent)
        self.key, self.path = key, path
        self.versions: list[history.Version] = []
        self.busy = False
        self.setWindowTitle(self.tr("Versions of %1").replace("%1", os.path.basename(path)))
        self.setAccessibleName(self.tr("Versions of a file"))
        self.resize(720, 520)
        self.title = QLabel(path, self)
        self.title.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        font = self.title.font()
        font.setBold(True)
        self.title.setFont(font)
        self.list = QTreeWidget(self)
        self.list.setAccessibleName(self.tr("Versions, newest first"))
        self.list.setRootIsDecorated(False)
        self.list.setAlternatingRowColors(True)
        self.list.setHeaderLabels([self.tr("Version"), self.tr("When"), self.tr("Device"), self.tr("Size"),
                                   self.tr("Content")])
        header = self.list.header()
        for col in range(4):
            header.setSectionResizeMode(col, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(4, QHeaderView.ResizeMode.Stretch)
        self.list.currentItemChanged.connect(lambda *_: self._chosen_changed())
        self.text = QTextEdit(self)
        self.text.setReadOnly(True)
        self.text.setAccessibleName(self.tr("Preview of the version"))
        self.text.setLineWrapMode(QTextEdit.LineWrapMode.NoWrap)
        self.text.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
        self.image = QLabel(self)
        self.image.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.image.setAccessibleName(self.tr("Preview of the version"))
        self.note = QLabel(self)
        self.note.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.note.setWordWrap(True)
        self.preview = QStackedWidget(self)
        for w in (self.note, self.text, self.image):
            self.preview.addWidget(w)
        self._preview_token = 0
        self.result = QLabel(self)
        self.result.setWordWrap(True)
        self.result.setAccessibleName(self.tr("Result"))
        self.restore_button = QPushButton(self.tr("&Restore"), self)
        self.restore_button.setAccessibleName(self.tr("Restore this version at the file's name"))
        self.restore_button.setToolTip(self.tr("The file gets this version back; the version it has now "
                                               "stays in the history."))
        self.restore_button.clicked.connect(lambda: self.restore_chosen(as_copy=False))
        self.copy_button = QPushButton(self.tr("Restore as &copy"), self)
        self.copy_button.setAccessibleName(self.tr("Restore this version beside the file, under a new name"))
        self.copy_button.clicked.connect(lambda: self.restore_chosen(as_copy=True))
        close = QPushButton(self.tr("Close"), self)
        close.clicked.connect(self.close)
        buttons = QHBoxLayout()
        buttons.addStretch(1)
        buttons.addWidget(close)
        buttons.addWidget(self.copy_button)
        buttons.addWidget(self.restore_button)
        lay = QVBoxLayout(self)
        split = QSplitter(Qt.Orientation.Vertical, self)
        split.addWidget(self.list)
        split.addWidget(self.preview)
        split.setSizes([150, 200])
        lay.addWidget(self.title)
        lay.addWidget(split, 1)
        lay.addWidget(self.result)
        lay.addLayout(buttons)
        self._update_buttons()
        self.load()

    def load(self) -> None:
        self.result.setText(self.tr("Looking for the versions and where their content is…"))
        key, path = self.key, self.path
        run_in_background(lambda: history.with_whereabouts(key, history.versions(key, path)),
                          self._loaded, self)

    def where_text(self, v: history.Version) -> str:
        if v.here:
            return self.tr("on this device")
        if v.where and len(v.away) == len(v.where):
            return self.tr("on %1, not reachable now").replace("%1", ", ".join(v.where))
        if v.where:
            return self.tr("on %1").replace("%1", ", ".join(w for w in v.where if w not in v.away))
        # (what this device's git-annex knows: a device not synced with lately may have it)
        return self.tr("on no device known here")

    def _loaded(self, found: list[history.Version] | None, error: str | None) -> None:
        if error or found is None:
            self.result.setText(self.tr("Could not read the versions: %1").replace("%1", str(error)))
            return
        self.versions = found
        self.list.clear()
        for v in found:
            c = v.change
            item = QTreeWidgetItem(self.list, [str(v.number), _when(c.time), c.device_label,
                                               format_size(c.size) if c.size is not None else "",
                                               self.where_text(v)])
            if v.deleted_after:
                item.setToolTip(0, self.tr("The file was deleted after this version."))
            if not v.here and not v.where:
                for col in range(5):
                    f = item.font(col)
                    f.setItalic(True)
                    item.setFont(col, f)
        if found:
            self.list.setCurrentItem(self.list.topLevelItem(0))
        if not self.busy:
            self.result.setText(self.tr("%n version(s)", "", len(found)) if found else
                                self.tr("No version of this file is in the history."))
        self._update_buttons()

    def chosen(self) -> history.Version | None:
        item = self.list.currentItem()
        if item is None:
            return None
        i = self.list.indexOfTopLevelItem(item)
        return self.versions[i] if 0 <= i < len(self.versions) else None

    def _chosen_changed(self) -> None:
        self._update_buttons()
        v = self.chosen()
        self._preview_token += 1
        token = self._preview_token
        if v is None:
            self._show_note("")
            return
        if not v.here:
            self._show_note(self.tr("No preview: the content of this version is not on this device."))
            return
        key = self.key
        run_in_background(lambda: history.content_here(key, v, PREVIEW_BYTES),
                          lambda data, err: self._preview_ready(token, data, err), self)

    def _show_note(self, text: str) -> None:
        self.note.setText(text)
        self.preview.setCurrentWidget(self.note)

    def _preview_ready(self, token: int, data: bytes | None, error: str | None) -> None:
        if token != self._preview_token:
            return  # another version was chosen meanwhile
        if error or data is None:
            self._show_note(self.tr("No preview: the content of this version is not on this device."))
            return
        image = QImage.fromData(data) if len(data) < PREVIEW_BYTES else QImage()
        if not image.isNull():
            pix = QPixmap.fromImage(image)
            box = self.preview.size()
            if pix.width() > box.width() or pix.height() > box.height():
                pix = pix.scaled(box, Qt.AspectRatioMode.KeepAspectRatio, Qt.TransformationMode.SmoothTransformation)
            self.image.setPixmap(pix)
            self.preview.setCurrentWidget(self.image)
            return
        if b"\0" in data[:8192]:
            self._show_note(self.tr("No preview for this kind of file."))
            return
        self.text.setPlainText(data[:TEXT_BYTES].decode("utf-8", errors="replace"))
        self.preview.setCurrentWidget(self.text)

    def _update_buttons(self) -> None:
        ok = self.chosen() is not None and not self.busy
        self.restore_button.setEnabled(ok)
        self.copy_button.setEnabled(ok)

    def restore_chosen(self, as_copy: bool) -> None:
        v = self.chosen()
        if v is None or self.busy:
            return
        self.busy = True
        self._update_buttons()
        self.result.setText(self.tr("Restoring version %1…").replace("%1", str(v.number)))
        key, path = self.key, self.path

        def job() -> str:
            name = copy_name(key, path, v.change.time) if as_copy else None
            # the daemon in the app commits it: we need not wait for that here
            # by its commit, not its number: a change arriving meanwhile renumbers the versions
            return restore(key, path, commit=v.change.commit, as_name=name, commit_wait=0).path

        run_in_background(job, self._restored, self)

    def _restored(self, name: str | None, error: str | None) -> None:
        self.busy = False
        if error or name is None:
            self.result.setText(self.tr("Not restored: %1").replace("%1", str(error)))
        else:
            self.result.setText(self.tr("Restored as %1. The change is syncing to your other devices.")
                                .replace("%1", name))
        self._update_buttons()
        if not error:
            self.load_keep_result()

    def load_keep_result(self) -> None:
        """Read the versions again, keeping the result's text."""
        text = self.result.text()
        key, path = self.key, self.path

        def done(found: list[history.Version] | None, error: str | None) -> None:
            self._loaded(found, error)
            self.result.setText(text)

        run_in_background(lambda: history.with_whereabouts(key, history.versions(key, path)), done, self)
