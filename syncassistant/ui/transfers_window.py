"""The transfers window: running, queued, failed and recently finished transfers, and speed limits.

`TransfersModel` is a table over AppState's transfer dicts (rows stay in arrival order so they do
not jump while the person aims at one); `ProgressDelegate` draws the progress column as a bar.
Cancel, retry and limits go to the engine through each repository's worker.
"""

from __future__ import annotations

import datetime as dt
import os
from typing import Any

import humanize
from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, QSize, Qt, QTimer
from PySide6.QtGui import QBrush, QColor, QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QAbstractItemView,
    QApplication,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QStackedWidget,
    QStyle,
    QStyledItemDelegate,
    QStyleOptionProgressBar,
    QStyleOptionViewItem,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from .i18n import tr
from .state import ACTIVE, AppState, bytes_left, held_back
from .units import format_rate, format_size
from .widgets import RateField, add_row, note

PROGRESS_ROLE = Qt.ItemDataRole.UserRole + 1  # float 0..1, or None when unknown
STATE_ROLE = Qt.ItemDataRole.UserRole + 2  # the transfer's state string

ModelIndex = QModelIndex | QPersistentModelIndex


def _ctx(text: str, n: int = -1) -> str:
    return tr("TransfersModel", text, n)


class TransfersModel(QAbstractTableModel):
    COLUMNS = ("file", "direction", "remote", "progress", "speed", "eta")

    def __init__(self, state: AppState, parent: QWidget | None = None):
        super().__init__(parent)
        self.state = state
        self.rows: list[tuple[str, str]] = []  # (repo key, transfer id)
        self._index: dict[tuple[str, str], int] = {}
        self._headers = (_ctx("File"), _ctx("Direction"), _ctx("Remote"), _ctx("Progress"),
                         _ctx("Speed"), _ctx("Time left"))
        state.transferChanged.connect(self._on_transfer)
        state.transfersReset.connect(lambda _k: self.reload())
        state.reposChanged.connect(self.reload)
        self.reload()

    # -- feeding -------------------------------------------------------------------------------
    def reload(self) -> None:
        self.beginResetModel()
        order = {"running": 0, "queued": 1, "failed": 2, "cancelled": 3, "done": 3}
        items = [(v.key, t) for v in self.state.ordered() for t in v.transfers.values()]
        items.sort(key=lambda kt: (order.get(kt[1].get("state", ""), 4),
                                   -(kt[1].get("finished") or 0), kt[1].get("queued_at") or 0))
        self.rows = [(k, t["id"]) for k, t in items]
        self._index = {r: i for i, r in enumerate(self.rows)}
        self.endResetModel()

    def _on_transfer(self, key: str, t: dict[str, Any]) -> None:
        ident = (key, t.get("id", ""))
        row = self._index.get(ident)
        if row is None:
            row = len(self.rows)
            self.beginInsertRows(QModelIndex(), row, row)
            self.rows.append(ident)
            self._index[ident] = row
            self.endInsertRows()
        else:
            self.dataChanged.emit(self.index(row, 0), self.index(row, len(self.COLUMNS) - 1))

    def transfer(self, row: int) -> tuple[str, dict[str, Any]] | None:
        if not 0 <= row < len(self.rows):
            return None
        key, tid = self.rows[row]
        view = self.state.views.get(key)
        t = view.transfers.get(tid) if view else None
        return (key, t) if t is not None else None

    def row_of(self, key: str, tid: str) -> int | None:
        return self._index.get((key, tid))

    # -- Qt model --------------------------------------------------------------------------------
    def rowCount(self, parent: ModelIndex = QModelIndex()) -> int:
        return 0 if parent.isValid() else len(self.rows)

    def columnCount(self, parent: ModelIndex = QModelIndex()) -> int:
        return 0 if parent.isValid() else len(self.COLUMNS)

    def headerData(self, section: int, orientation: Qt.Orientation,
                   role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return self._headers[section]
        return None

    def data(self, index: ModelIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        found = self.transfer(index.row()) if index.isValid() else None
        if found is None:
            return None
        key, t = found
        col = self.COLUMNS[index.column()]
        state = t.get("state", "")
        if role == Qt.ItemDataRole.DisplayRole:
            return self._display(col, t)
        if role == Qt.ItemDataRole.ToolTipRole:
            tip = os.path.join(key, t.get("path", ""))
            if t.get("error"):
                tip += "\n" + _ctx("Error: %1").replace("%1", str(t["error"]))
            return tip
        if role == PROGRESS_ROLE:
            size = t.get("size")
            if state == "done":
                return 1.0
            return min(1.0, (t.get("bytes_done") or 0) / size) if size else None
        if role == STATE_ROLE:
            return state
        if role == Qt.ItemDataRole.ForegroundRole and state in ("failed", "cancelled"):
            return QBrush(QColor("#c01c28") if state == "failed" else QColor("#77767b"))
        if role == Qt.ItemDataRole.TextAlignmentRole and col in ("speed", "eta"):
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        return None

    def _display(self, col: str, t: dict[str, Any]) -> str:
        state = t.get("state", "")
        if col == "file":
            return str(t.get("path", ""))
        if col == "direction":
            return _ctx("↑ Upload") if t.get("direction") == "upload" else _ctx("↓ Download")
        if col == "remote":
            return str(t.get("remote", ""))
        if col == "progress":
            return self.progress_text(t)
        if col == "speed":
            return format_rate(t.get("speed")) if state == "running" and t.get("speed") else ""
        if col == "eta":
            eta = t.get("eta")
            if state != "running" or eta is None:
                return ""
            return humanize.naturaldelta(dt.timedelta(seconds=max(1, int(eta))))
        return ""

    @staticmethod
    def progress_text(t: dict[str, Any]) -> str:
        state = t.get("state", "")
        size = t.get("size")
        done = t.get("bytes_done") or 0
        if state == "running":
            if size:
                return _ctx("%1 of %2").replace("%1", format_size(done)).replace("%2", format_size(size))
            return format_size(done)
        if state == "done" and t.get("skipped"):  # nothing moved: it got there another way meanwhile
            return _ctx("Already here") if t.get("direction") == "download" else _ctx("Already there")
        if held_back(t):  # routing: a nearer device should bring it; fetched only if it does not
            return _ctx("Another device brings it")
        return {"queued": _ctx("Waiting"), "done": _ctx("Done"), "failed": _ctx("Failed"),
                "cancelled": _ctx("Cancelled")}.get(state, state)


class ProgressDelegate(QStyledItemDelegate):
    """Draws the progress column as a progress bar with the model's text on it."""

    def paint(self, painter: Any, option: QStyleOptionViewItem, index: ModelIndex) -> None:
        frac = index.data(PROGRESS_ROLE)
        state = index.data(STATE_ROLE)
        if option.state & QStyle.StateFlag.State_Selected:
            painter.fillRect(option.rect, option.palette.highlight())
        bar = QStyleOptionProgressBar()
        bar.rect = option.rect.adjusted(3, 3, -3, -3)
        bar.minimum = 0
        bar.maximum = 1000 if frac is not None or state != "running" else 0  # 0..0 = busy
        bar.progress = int((frac or 0) * 1000) if state != "queued" else 0
        bar.text = str(index.data(Qt.ItemDataRole.DisplayRole) or "")
        bar.textVisible = True
        bar.textAlignment = Qt.AlignmentFlag.AlignCenter
        bar.state = option.state | QStyle.StateFlag.State_Horizontal
        bar.palette = option.palette
        style = option.widget.style() if option.widget else QApplication.style()
        style.drawControl(QStyle.ControlElement.CE_ProgressBar, bar, painter, option.widget)

    def sizeHint(self, option: QStyleOptionViewItem, index: ModelIndex) -> QSize:
        hint = super().sizeHint(option, index)
        return QSize(max(hint.width(), 160), max(hint.height(), 24))


class TransfersWindow(QWidget):
    def __init__(self, app: Any, parent: QWidget | None = None):
        super().__init__(parent)
        self.app = app
        self.state: AppState = app.state
        self.setWindowTitle(self.tr("Transfers – SyncAssistant"))
        self.setAccessibleName(self.tr("Transfers"))
        self.resize(860, 440)

        self.summary = QLabel(self)
        self.summary.setAccessibleName(self.tr("Transfer summary"))
        self.model = TransfersModel(self.state, self)
        self.table = QTableView(self)
        self.table.setAccessibleName(self.tr("Transfers"))
        self.table.setModel(self.model)
        self.table.setItemDelegateForColumn(TransfersModel.COLUMNS.index("progress"),
                                            ProgressDelegate(self.table))
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.table.setAlternatingRowColors(True)
        self.table.setShowGrid(False)
        self.table.verticalHeader().hide()
        self.table.verticalHeader().setDefaultSectionSize(28)
        self.table.setWordWrap(False)
        self.table.setTextElideMode(Qt.TextElideMode.ElideMiddle)
        hh = self.table.horizontalHeader()
        hh.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        for col, width in ((1, 110), (2, 100), (3, 190), (4, 90), (5, 100)):
            hh.setSectionResizeMode(col, QHeaderView.ResizeMode.Interactive)
            self.table.setColumnWidth(col, width)

        self.empty = QLabel(self.tr("No transfers right now: every file is where it should be."), self)
        self.empty.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.empty.setAccessibleName(self.tr("No transfers"))
        self.stack = QStackedWidget(self)
        self.stack.addWidget(self.table)
        self.stack.addWidget(self.empty)

        self.cancel_button = QPushButton(self.tr("&Cancel transfer"), self)
        self.cancel_button.setAccessibleName(self.tr("Cancel the selected transfers"))
        self.cancel_button.clicked.connect(self.cancel_selected)
        self.retry_button = QPushButton(self.tr("&Retry"), self)
        self.retry_button.setAccessibleName(self.tr("Retry the selected transfers"))
        self.retry_button.clicked.connect(self.retry_selected)
        buttons = QHBoxLayout()
        buttons.addWidget(self.summary, 1)
        buttons.addWidget(self.retry_button)
        buttons.addWidget(self.cancel_button)

        self.limits_box = QGroupBox(self.tr("Speed limits (all folders)"), self)
        self.limits_box.setAccessibleName(self.tr("Speed limits"))
        self.upload_limit = RateField(self.tr("Upload limit"), self.limits_box)
        self.download_limit = RateField(self.tr("Download limit"), self.limits_box)
        self.upload_limit.committed.connect(lambda rate: self.set_limit(upload=rate))
        self.download_limit.committed.connect(lambda rate: self.set_limit(download=rate))
        form = QFormLayout()
        add_row(form, self.tr("&Upload:"), self.upload_limit, self.upload_limit.edit)
        add_row(form, self.tr("&Download:"), self.download_limit, self.download_limit.edit)
        self.limits_note = note(self.tr("Changes apply at once, also to transfers already running. "
                                        "Limits for one remote are in Settings → Bandwidth."),
                                self.limits_box)
        lim = QHBoxLayout(self.limits_box)
        lim.addLayout(form, 1)
        lim.addWidget(self.limits_note, 1)

        lay = QVBoxLayout(self)
        lay.addWidget(self.stack, 1)
        lay.addLayout(buttons)
        lay.addWidget(self.limits_box)

        QShortcut(QKeySequence.StandardKey.Close, self, self.close)
        self.table.selectionModel().selectionChanged.connect(lambda *_: self._update_buttons())
        self._view_update_pending = False
        self.model.modelReset.connect(self._schedule_update)
        self.model.rowsInserted.connect(lambda *_: self._schedule_update())
        self.model.dataChanged.connect(lambda *_: self._schedule_update())
        self.state.limitsChanged.connect(lambda _k, _l: self.show_limits())
        self.state.reposChanged.connect(self.show_limits)
        self._update_view()
        self.show_limits()

    # -- view --------------------------------------------------------------------------------------
    def _schedule_update(self) -> None:
        """Fold a burst of progress reports into one summary update (they come many a second)."""
        if not self._view_update_pending:
            self._view_update_pending = True
            QTimer.singleShot(150, self._update_view)

    def _update_view(self) -> None:
        self._view_update_pending = False
        rows = [self.model.transfer(r) for r in range(self.model.rowCount())]
        transfers = [t for kt in rows if kt for t in (kt[1],)]
        self.stack.setCurrentWidget(self.table if transfers else self.empty)
        active = [t for t in transfers if t.get("state") in ACTIVE and not held_back(t)]
        counts = {s: sum(1 for t in transfers if t.get("state") == s)
                  for s in ("running", "queued", "failed")}
        parts = []
        if counts["running"]:
            parts.append(self.tr("%n running", "", counts["running"]))
        if counts["queued"]:
            parts.append(self.tr("%n waiting", "", counts["queued"]))
        if counts["failed"]:
            parts.append(self.tr("%n failed", "", counts["failed"]))
        left = bytes_left(active)
        if left:
            parts.append(self.tr("%1 left").replace("%1", format_size(left)))
        speed = sum(t.get("speed") or 0 for t in active if t.get("state") == "running")
        if speed:
            parts.append(self.tr("%1 in total").replace("%1", format_rate(speed)))
        self.summary.setText(" · ".join(parts) if parts else self.tr("Nothing is moving right now."))
        self._update_buttons()

    def selected(self) -> list[tuple[str, dict[str, Any]]]:
        out = []
        for idx in self.table.selectionModel().selectedRows():
            found = self.model.transfer(idx.row())
            if found:
                out.append(found)
        return out

    def _update_buttons(self) -> None:
        sel = self.selected()
        self.cancel_button.setEnabled(any(t.get("state") in ACTIVE for _, t in sel))
        self.retry_button.setEnabled(any(t.get("state") in ("failed", "cancelled") for _, t in sel))

    def show_limits(self) -> None:
        views = [v for v in self.state.ordered() if v.has_transfers]
        self.limits_box.setEnabled(bool(views))
        limits = next((v.limits for v in views if v.limits), None)
        if limits:
            self.upload_limit.set_value(limits.get("upload") or 0)
            self.download_limit.set_value(limits.get("download") or 0)
        if not views:
            self.limits_note.setText(self.tr("Speed limits need the transfer engine, "
                                             "which is not running for any folder."))

    # -- actions -----------------------------------------------------------------------------------
    def cancel_selected(self) -> None:
        for key, t in self.selected():
            if t.get("state") in ACTIVE:
                self._submit(key, lambda d, tid=t["id"]: d.cancel_transfer(tid))

    def retry_selected(self) -> None:
        for key, t in self.selected():
            if t.get("state") in ("failed", "cancelled"):
                self._submit(key, lambda d, tid=t["id"]: d.retry_transfer(tid))

    def set_limit(self, upload: int | None = None, download: int | None = None) -> None:
        """Apply a limit for all folders, right now (the app remembers it)."""
        self.app.set_global_limit(upload=upload, download=download)

    def _submit(self, key: str, fn: Any) -> None:
        handle = self.app.handle(key)
        if handle is not None:
            handle.submit(fn, lambda _r, err: self._job_done(err))

    def _job_done(self, error: str | None) -> None:
        if error:
            self.summary.setText(self.tr("That did not work: %1").replace("%1", error))
