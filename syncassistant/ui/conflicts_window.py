"""The conflicts window: every open conflict, its versions side by side, and the ways out.

Left, the open conflicts of all folders; right, the chosen one: its versions (which device each
came from, when, how big), a text diff or image preview, and the actions: keep one version (the
others are deleted and it gets the original name), keep both (the names stay as they are), or
open the folder. Facts are gathered on the repository's worker thread; resolving is a change to
the files that the daemon commits and syncs, then the record is marked resolved.
"""

from __future__ import annotations

import html
import os
import time
from pathlib import Path
from typing import Any

import humanize
from PySide6.QtCore import Qt
from PySide6.QtGui import QFont, QFontDatabase, QImageReader, QKeySequence, QPixmap, QShortcut
from PySide6.QtWidgets import (
    QAbstractItemView,
    QGridLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QMessageBox,
    QPushButton,
    QSplitter,
    QStackedWidget,
    QTextEdit,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from .conflict_ops import VariantInfo, keep_one, text_diff, variant_infos
from .desktop import open_folder
from .icons import state_icon
from .state import AppState
from .units import format_size

KEY_ROLE = Qt.ItemDataRole.UserRole + 1  # (repo key, conflict id)
PREVIEW_WIDTH = 260


def _when(t: float | None) -> str:
    if not t:
        return ""
    return humanize.naturaltime(time.time() - float(t))


class ConflictsWindow(QWidget):
    def __init__(self, app: Any, parent: QWidget | None = None):
        super().__init__(parent)
        self.app = app
        self.state: AppState = app.state
        self.current: tuple[str, dict[str, Any]] | None = None
        self._signature: list[tuple[str, str]] | None = None
        self.infos: list[VariantInfo] = []
        self._token = 0
        self.setWindowTitle(self.tr("Conflicts – SyncAssistant"))
        self.setAccessibleName(self.tr("Conflicts"))
        self.resize(940, 560)

        self.list = QListWidget(self)
        self.list.setAccessibleName(self.tr("Open conflicts"))
        self.list.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.list.setWordWrap(True)
        self.list.setMinimumWidth(220)
        self.list.currentItemChanged.connect(lambda cur, _prev: self._select(cur))

        self.title = QLabel(self)
        font = self.title.font()
        font.setPointSizeF(font.pointSizeF() * 1.25)
        font.setBold(True)
        self.title.setFont(font)
        self.title.setAccessibleName(self.tr("Conflicted file"))
        self.title.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.explain = QLabel(self)
        self.explain.setWordWrap(True)
        self.explain.setAccessibleName(self.tr("What happened"))

        self.variants = QTreeWidget(self)
        self.variants.setAccessibleName(self.tr("Versions of the file"))
        self.variants.setRootIsDecorated(False)
        self.variants.setHeaderLabels([self.tr("Version"), self.tr("Came from"), self.tr("Changed"),
                                       self.tr("Size")])
        self.variants.header().setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        for col in (1, 2, 3):
            self.variants.header().setSectionResizeMode(col, QHeaderView.ResizeMode.ResizeToContents)
        self.variants.setFixedHeight(80)
        self.variants.setAlternatingRowColors(True)
        self.variants.currentItemChanged.connect(lambda *_: self._show_preview())

        self.diff = QTextEdit(self)
        self.diff.setReadOnly(True)
        self.diff.setAccessibleName(self.tr("Differences between the versions"))
        self.diff.setLineWrapMode(QTextEdit.LineWrapMode.NoWrap)
        mono = QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont)
        self.diff.setFont(mono)
        self.images = QWidget(self)
        self.images.setAccessibleName(self.tr("Image previews"))
        self.images_layout = QGridLayout(self.images)
        self.message = QLabel(self)
        self.message.setWordWrap(True)
        self.message.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.message.setAccessibleName(self.tr("Preview"))
        self.preview = QStackedWidget(self)
        for w in (self.diff, self.images, self.message):
            self.preview.addWidget(w)

        self.keep_button = QPushButton(self.tr("&Keep this version"), self)
        self.keep_button.setAccessibleName(self.tr("Keep the selected version and delete the others"))
        self.keep_button.setToolTip(self.tr("The other versions are deleted (they stay in the folder's "
                                            "history) and this one gets the original name."))
        self.keep_button.clicked.connect(self.keep_selected)
        self.both_button = QPushButton(self.tr("Keep &both"), self)
        self.both_button.setAccessibleName(self.tr("Keep every version under its current name"))
        self.both_button.setToolTip(self.tr("Every version stays, under the names shown above."))
        self.both_button.clicked.connect(self.keep_both)
        self.open_button = QPushButton(self.tr("&Open folder"), self)
        self.open_button.setAccessibleName(self.tr("Open the folder that holds the versions"))
        self.open_button.clicked.connect(self.open_containing_folder)
        self.result = QLabel(self)
        self.result.setWordWrap(True)
        self.result.setAccessibleName(self.tr("Result"))
        actions = QHBoxLayout()
        actions.addStretch(1)
        actions.addWidget(self.open_button)
        actions.addWidget(self.both_button)
        actions.addWidget(self.keep_button)

        details = QWidget(self)
        dl = QVBoxLayout(details)
        dl.setContentsMargins(6, 0, 0, 0)
        dl.addWidget(self.title)
        dl.addWidget(self.explain)
        dl.addWidget(self.variants)
        dl.addWidget(self.preview, 1)
        dl.addLayout(actions)
        self.details = details

        self.empty = QLabel(self.tr("No conflicts. When a file is changed on two devices at the same time, "
                                    "both versions are kept and show up here for you to choose."), self)
        self.empty.setWordWrap(True)
        self.empty.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.empty.setAccessibleName(self.tr("No conflicts"))
        self.right = QStackedWidget(self)
        self.right.addWidget(details)
        self.right.addWidget(self.empty)

        split = QSplitter(self)
        split.addWidget(self.list)
        split.addWidget(self.right)
        split.setStretchFactor(1, 1)
        split.setSizes([260, 680])
        lay = QVBoxLayout(self)
        lay.addWidget(split, 1)
        lay.addWidget(self.result)

        QShortcut(QKeySequence.StandardKey.Close, self, self.close)
        self.state.repoChanged.connect(lambda _k: self.reload())
        self.state.reposChanged.connect(self.reload)
        self.reload()

    # -- the list --------------------------------------------------------------------------------
    def source(self, key: str, rec: dict[str, Any]) -> str:
        """Where the other version came from: the device its commit names (engine/provenance.py),
        else the remote's name when it is one of ours (older records name only the git author,
        the same person on every device)."""
        theirs = rec.get("theirs") or {}
        if "device_uuid" in theirs and theirs.get("device"):
            return str(theirs["device"])
        view = self.state.views.get(key)
        names = {r.get("name") for r in ((view.status or {}).get("remotes") or [])} if view else set()
        remote = str(rec.get("remote") or "")
        return remote if remote in names else self.tr("another device")

    def conflicts(self) -> list[tuple[str, dict[str, Any]]]:
        return [(v.key, c) for v in self.state.ordered() for c in v.conflicts]

    def reload(self) -> None:
        """Rebuild the list when the set of open conflicts changed (not on every status refresh)."""
        items = self.conflicts()
        signature = sorted((k, str(c.get("id"))) for k, c in items)
        if signature == self._signature:
            return
        self._signature = signature
        keep = self.current and (self.current[0], self.current[1].get("id"))
        self.list.blockSignals(True)
        self.list.clear()
        selected = None
        many = len(self.state.views) > 1
        for key, c in sorted(items, key=lambda kc: -(kc[1].get("time") or 0)):
            where = os.path.basename(key)
            line2 = self.tr("from %1, %2").replace("%1", self.source(key, c)).replace(
                "%2", _when(c.get("time")))
            text = f"{c.get('path')}\n{where + ' · ' if many else ''}{line2}"
            item = QListWidgetItem(state_icon("conflict"), text, self.list)
            item.setData(KEY_ROLE, (key, c.get("id")))
            item.setToolTip(os.path.join(key, str(c.get("path"))))
            if keep == (key, c.get("id")):
                selected = item
        self.list.blockSignals(False)
        if not items:
            self.current = None
            self.right.setCurrentWidget(self.empty)
            return
        self.right.setCurrentWidget(self.details)
        target = selected or self.list.item(0)
        self.list.setCurrentItem(target)
        if target is not selected:
            self._select(target)
        elif self.current:  # the same conflict stays chosen: keep its details as they are
            self.current = (self.current[0], next(c for k, c in items if (k, c.get("id")) == keep))

    def _select(self, item: QListWidgetItem | None) -> None:
        if item is None:
            return
        key, cid = item.data(KEY_ROLE)
        rec = next((c for k, c in self.conflicts() if k == key and c.get("id") == cid), None)
        if rec is None:
            return
        self.current = (key, rec)
        name = os.path.basename(key)
        self.title.setText(str(rec.get("path")))
        self.explain.setText(self.tr("In %1, this file was changed on this device and on %2 before they "
                                     "synced. Both versions were kept; choose what to do.")
                             .replace("%1", name).replace("%2", self.source(key, rec)))
        self._load_details(key, rec)

    def _load_details(self, key: str, rec: dict[str, Any]) -> None:
        self._token += 1
        token = self._token
        self.variants.clear()
        self._set_message(self.tr("Looking at the versions…"))
        self._set_buttons(False)
        self._submit(key, lambda d: variant_infos(d.root, rec),
                     lambda infos, err: self._details_ready(token, infos, err))

    def _details_ready(self, token: int, infos: list[VariantInfo] | None, error: str | None) -> None:
        if token != self._token:
            return  # another conflict was chosen meanwhile
        if error or infos is None:
            self._set_message(self.tr("Could not read the versions: %1").replace("%1", str(error)))
            return
        self.infos = infos
        self.variants.clear()
        remote = self.source(*self.current) if self.current else "?"
        for info in infos:
            if info.side == "ours":
                came = (self.tr("this device (%1)").replace("%1", info.device) if info.device
                        else self.tr("this device"))
            else:
                came = remote if info.side == "theirs" else self.tr("unknown")
            size = format_size(info.size) if info.size is not None else ""
            item = QTreeWidgetItem(self.variants, [info.path, came, _when(info.time), size])
            item.setToolTip(0, info.path)
            if info.kind == "elsewhere":
                item.setToolTip(3, self.tr("The content of this version is not on this device yet."))
                for col in range(4):
                    f = item.font(col)
                    f.setItalic(True)
                    item.setFont(col, f)
            if info.time:
                item.setToolTip(2, time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(info.time)))
        self._fit_variants()
        if infos:
            first = next((i for i, v in enumerate(infos) if v.side == "ours"), 0)
            self.variants.setCurrentItem(self.variants.topLevelItem(first))
        self._set_buttons(True)
        self._show_preview()

    def _fit_variants(self) -> None:
        """As tall as its rows (up to six), so the preview gets the room."""
        rows = max(2, min(6, self.variants.topLevelItemCount()))
        row_h = self.variants.sizeHintForRow(0) if self.variants.topLevelItemCount() else 20
        height = self.variants.header().sizeHint().height() + rows * max(row_h, 18) + 2 * self.variants.frameWidth()
        self.variants.setFixedHeight(height + 2)

    # -- preview -----------------------------------------------------------------------------------
    def selected_variant(self) -> VariantInfo | None:
        item = self.variants.currentItem()
        if item is None:
            return None
        idx = self.variants.indexOfTopLevelItem(item)
        return self.infos[idx] if 0 <= idx < len(self.infos) else None

    def _show_preview(self) -> None:
        if not self.current or not self.infos:
            return
        key, _rec = self.current
        sel = self.selected_variant() or self.infos[0]
        others = [v for v in self.infos if v.path != sel.path]
        if sel.kind == "text" and others and others[0].kind == "text":
            lines = text_diff(Path(key), others[0].path, sel.path)
            if lines is not None:
                self._show_diff(lines, others[0].path, sel.path)
                return
        if any(v.kind == "image" for v in self.infos):
            self._show_images(key)
            return
        reasons = {"binary": self.tr("These files are not text: open the folder to compare them."),
                   "elsewhere": self.tr("The content of a version is on another device; it is "
                                        "fetched when content syncs."),
                   "folder": self.tr("One version is a folder; open the folder to look inside."),
                   "missing": self.tr("A version is no longer there.")}
        kinds = {v.kind for v in self.infos}
        text = next((reasons[k] for k in ("missing", "elsewhere", "folder", "binary") if k in kinds),
                    self.tr("No preview."))
        self._set_message(text)

    def _show_diff(self, lines: list[str], old: str, new: str) -> None:
        if len(lines) <= 2:
            self._set_message(self.tr("The versions have the same text."))
            return
        legend = self.tr("Lines only in %1 are red; only in %2, green.").replace("%1", old).replace("%2", new)
        out = [f"<div style='color:#77767b'>{html.escape(legend)}</div><pre>"]
        for line in lines[2:2000]:
            esc = html.escape(line)
            if line.startswith("+"):
                out.append(f"<span style='background:#e6f4e6;color:#135d13'>{esc}</span>")
            elif line.startswith("-"):
                out.append(f"<span style='background:#fbe9e9;color:#8a1212'>{esc}</span>")
            elif line.startswith("@@"):
                out.append(f"<span style='color:#1c5fb8'>{esc}</span>")
            else:
                out.append(esc)
        out.append("</pre>")
        self.diff.setHtml("<br>".join(out[:1]) + "\n".join(out[1:]))
        self.preview.setCurrentWidget(self.diff)

    def _show_images(self, key: str) -> None:
        while self.images_layout.count():
            w = self.images_layout.takeAt(0).widget()
            if w is not None:
                w.deleteLater()
        for col, info in enumerate(self.infos[:3]):
            pic = QLabel(self.images)
            pic.setAlignment(Qt.AlignmentFlag.AlignCenter)
            pic.setAccessibleName(self.tr("Preview of %1").replace("%1", info.path))
            path = os.path.join(key, info.path)
            reader = QImageReader(path)
            reader.setAutoTransform(True)
            if info.present and reader.canRead():
                size = reader.size()
                if size.isValid() and size.width() > PREVIEW_WIDTH:
                    reader.setScaledSize(size.scaled(PREVIEW_WIDTH, PREVIEW_WIDTH,
                                                     Qt.AspectRatioMode.KeepAspectRatio))
                pic.setPixmap(QPixmap.fromImage(reader.read()))
            else:
                pic.setText(self.tr("(no preview)"))
            caption = QLabel(os.path.basename(info.path), self.images)
            caption.setAlignment(Qt.AlignmentFlag.AlignCenter)
            f = QFont(caption.font())
            f.setPointSizeF(f.pointSizeF() * 0.9)
            caption.setFont(f)
            self.images_layout.addWidget(pic, 0, col)
            self.images_layout.addWidget(caption, 1, col)
        self.preview.setCurrentWidget(self.images)

    def _set_message(self, text: str) -> None:
        self.message.setText(text)
        self.preview.setCurrentWidget(self.message)

    def _set_buttons(self, enabled: bool) -> None:
        for b in (self.keep_button, self.both_button, self.open_button):
            b.setEnabled(enabled)

    # -- actions -----------------------------------------------------------------------------------
    def keep_selected(self) -> None:
        sel = self.selected_variant()
        if not self.current or sel is None:
            return
        key, rec = self.current
        others = [v.path for v in self.infos if v.path != sel.path]
        answer = QMessageBox.question(
            self, self.tr("Keep this version?"),
            self.tr("Keep %1 as %2 and delete %3? Deleted versions stay in the folder's history.")
            .replace("%1", sel.path).replace("%2", str(rec.get("path"))).replace("%3", ", ".join(others)))
        if answer != QMessageBox.StandardButton.Yes:
            return
        keep = sel.path

        def job(d: Any) -> str:
            name = keep_one(d.root, rec, keep)
            d.mark_resolved(rec["id"])
            return name

        self._set_buttons(False)
        self._submit(key, job, lambda name, err: self._done(
            err, self.tr("Kept %1. The change is syncing to your other devices.").replace("%1", str(name))))

    def keep_both(self) -> None:
        if not self.current:
            return
        key, rec = self.current
        self._set_buttons(False)
        self._submit(key, lambda d: d.mark_resolved(rec["id"]), lambda _r, err: self._done(
            err, self.tr("Both versions stay in the folder under the names shown.")))

    def open_containing_folder(self) -> None:
        if not self.current:
            return
        key, rec = self.current
        folder = os.path.dirname(os.path.join(key, str(rec.get("path"))))
        open_folder(folder if os.path.isdir(folder) else key)

    def _done(self, error: str | None, message: str) -> None:
        self._set_buttons(True)
        self.result.setText(self.tr("That did not work: %1").replace("%1", error) if error else message)

    def _submit(self, key: str, fn: Any, done: Any = None) -> None:
        handle = self.app.handle(key)
        if handle is None:
            if done:
                done(None, self.tr("this folder is not running"))
            return
        handle.submit(fn, done)
