"""Settings page "Rules": a folder tree of the repository; each folder's content can be included
(kept on this device) or excluded (names only, content stays elsewhere). The tree is read once
when shown and one level at a time as folders are opened.
"""

from __future__ import annotations

import importlib
import os
from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from ..widgets import heading, note
from .common import RepoChooser

DIR_ROLE = Qt.ItemDataRole.UserRole
LOADED_ROLE = Qt.ItemDataRole.UserRole + 1
MAX_CHILDREN = 500


def rules_module() -> Any:
    """The engine's rules module, or None with an engine that has none yet."""
    try:
        return importlib.import_module("syncassistant.engine.transfers.rules")
    except ImportError:
        return None


def subfolders(root: Path, rel: str) -> list[str]:
    base = root / rel if rel else root
    try:
        names = sorted(e.name for e in os.scandir(base)
                       if e.is_dir(follow_symlinks=False) and e.name != ".git")
    except OSError:
        return []
    return [f"{rel}/{n}" if rel else n for n in names[:MAX_CHILDREN]]


def effective(rel: str, rules: dict[str, str]) -> tuple[str, bool]:
    """(action, own) for a folder, as the engine compiles rules: an exclude on the folder or a
    parent wins; else, once any include exists, only included folders (and their subfolders)
    are kept; without includes everything is. `own` is True when the folder has its own rule."""
    parts = rel.split("/")
    chain = ["/".join(parts[:i]) for i in range(1, len(parts) + 1)]
    own = rel in rules
    if any(rules.get(d) == "exclude" for d in chain):
        return "exclude", own
    if any(a == "include" for a in rules.values()):
        return ("include" if any(rules.get(d) == "include" for d in chain) else "exclude"), own
    return "include", own


class RulesPage(QWidget):
    def __init__(self, app: Any, parent: QWidget | None = None):
        super().__init__(parent)
        self.app = app
        self.state = app.state
        self.rules: dict[str, str] = {}
        self._shown: tuple[str, list[str]] | None = None  # (folder, its top-level subfolders) in the tree
        self.setAccessibleName(self.tr("Rules"))
        self.mod = rules_module()

        self.repo = RepoChooser(self.state, self)
        self.repo.chosen.connect(lambda _k: self.reload())
        self.tree = QTreeWidget(self)
        self.tree.setAccessibleName(self.tr("Folders and their content rules"))
        self.tree.setHeaderLabels([self.tr("Folder"), self.tr("Content on this device")])
        self.tree.header().setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        self.tree.header().setSectionResizeMode(1, QHeaderView.ResizeMode.ResizeToContents)
        self.tree.setMinimumHeight(240)
        self.tree.itemExpanded.connect(self._expand)
        self.tree.currentItemChanged.connect(lambda *_: self._update_buttons())

        self.include_button = QPushButton(self.tr("&Include"), self)
        self.include_button.setAccessibleName(self.tr("Keep the selected folder's content on this device"))
        self.include_button.clicked.connect(lambda: self.set_rule("include"))
        self.exclude_button = QPushButton(self.tr("&Exclude"), self)
        self.exclude_button.setAccessibleName(self.tr("Do not keep the selected folder's content here"))
        self.exclude_button.clicked.connect(lambda: self.set_rule("exclude"))
        self.clear_button = QPushButton(self.tr("&Remove rule"), self)
        self.clear_button.setAccessibleName(self.tr("Remove the selected folder's own rule"))
        self.clear_button.clicked.connect(lambda: self.set_rule(None))
        self.result = QLabel(self)
        self.result.setWordWrap(True)
        self.result.setAccessibleName(self.tr("Result"))
        buttons = QHBoxLayout()
        buttons.addWidget(self.result, 1)
        buttons.addWidget(self.clear_button)
        buttons.addWidget(self.exclude_button)
        buttons.addWidget(self.include_button)

        row = QHBoxLayout()
        row.addWidget(QLabel(self.tr("Folder:"), self))
        row.addWidget(self.repo, 1)
        lay = QVBoxLayout(self)
        lay.addWidget(heading(self.tr("Rules"), self))
        lay.addWidget(note(self.tr("Choose which folders' content is kept on this device. Files in an "
                                   "excluded folder still show up by name; their content stays on your "
                                   "other devices. Once you include a folder, only included folders are "
                                   "kept here; an exclude always wins."), self))
        lay.addLayout(row)
        lay.addWidget(self.tree, 1)
        lay.addLayout(buttons)
        self.reload()

    # -- reading ------------------------------------------------------------------------------------
    def reload(self) -> None:
        key = self.repo.key()
        if self._shown is None or self._shown[0] != key:
            self.tree.clear()  # another folder (a reload of the same one keeps the tree until it is read)
            self._shown = None
        if self.mod is None:
            self.result.setText(self.tr("Per-folder rules need a newer sync engine."))
            self._update_buttons()
            return
        if not key:
            self._update_buttons()
            return
        handle = self.app.handle(key)
        if handle is None:
            return
        handle.submit(lambda d: (self.mod.list_rules(d.root), subfolders(d.root, "")),
                      lambda res, err: self._loaded(key, res, err))

    def _loaded(self, key: str, res: Any, error: str | None) -> None:
        if key != self.repo.key():
            return
        if error or res is None:
            self.result.setText(self.tr("Cannot read the rules: %1").replace("%1", str(error)))
            return
        rules, top = res
        self.rules = {str(r["dir"]).strip("/"): str(r["action"]) for r in rules}
        if self.tree.topLevelItemCount() and (key, list(top)) == self._shown:
            # the same folders: keep the tree as the user left it (expanded, selected)
            self._paint()
            self._update_buttons()
            return
        self._shown = (key, list(top))
        self.tree.clear()
        root = QTreeWidgetItem(self.tree, [self.tr("(the whole folder)"), ""])
        root.setData(0, DIR_ROLE, "")
        root.setData(0, LOADED_ROLE, True)
        for rel in top:
            self._add(root, rel)
        root.setExpanded(True)
        self._paint()
        self._update_buttons()

    def _add(self, parent: QTreeWidgetItem, rel: str) -> QTreeWidgetItem:
        item = QTreeWidgetItem(parent, [rel.rsplit("/", 1)[-1], ""])
        item.setData(0, DIR_ROLE, rel)
        item.setData(0, LOADED_ROLE, False)
        item.setChildIndicatorPolicy(QTreeWidgetItem.ChildIndicatorPolicy.ShowIndicator)
        return item

    def _expand(self, item: QTreeWidgetItem) -> None:
        if item.data(0, LOADED_ROLE):
            return
        item.setData(0, LOADED_ROLE, True)
        rel = str(item.data(0, DIR_ROLE))
        children = subfolders(Path(self.repo.key()), rel)
        for child in children:
            self._add(item, child)
        if not children:
            item.setChildIndicatorPolicy(QTreeWidgetItem.ChildIndicatorPolicy.DontShowIndicator)
        self._paint()

    def _paint(self) -> None:
        stack = [self.tree.topLevelItem(i) for i in range(self.tree.topLevelItemCount())]
        while stack:
            item = stack.pop()
            rel = str(item.data(0, DIR_ROLE))
            if not rel:
                item.setText(1, self.tr("Everything not excluded") if not any(
                    a == "include" for a in self.rules.values()) else self.tr("Only included folders"))
                stack.extend(item.child(i) for i in range(item.childCount()))
                continue
            action, own = effective(rel, self.rules)
            text = self.tr("Included") if action == "include" else self.tr("Excluded")
            if not own:
                text = self.tr("%1 (follows the rules above)").replace("%1", text)
            item.setText(1, text)
            f = item.font(1)
            f.setBold(own)
            item.setFont(1, f)
            stack.extend(item.child(i) for i in range(item.childCount()))

    # -- changing -----------------------------------------------------------------------------------
    def selected_dir(self) -> str | None:
        item = self.tree.currentItem()
        return None if item is None else str(item.data(0, DIR_ROLE))

    def _update_buttons(self) -> None:
        rel = self.selected_dir()
        ok = self.mod is not None and bool(rel)  # the whole folder itself takes no rule
        self.include_button.setEnabled(ok)
        self.exclude_button.setEnabled(ok)
        self.clear_button.setEnabled(ok and rel in self.rules)

    def set_rule(self, action: str | None) -> None:
        rel, key = self.selected_dir(), self.repo.key()
        handle = self.app.handle(key) if key else None
        if rel is None or handle is None or self.mod is None:
            return
        mod = self.mod

        def job(d: Any) -> Any:
            if action is None:
                mod.remove_rule(d.root, rel)
            else:
                mod.add_rule(d.root, rel, action)
            d.sync_now()  # fetch what is now wanted, free what is not
            return mod.list_rules(d.root)

        def done(rules: Any, error: str | None) -> None:
            if error:
                self.result.setText(self.tr("Not changed: %1").replace("%1", error))
                return
            self.rules = {str(r["dir"]).strip("/"): str(r["action"]) for r in rules}
            self.result.setText(self.tr("Saved. Content follows the new rule as it syncs."))
            self._paint()
            self._update_buttons()

        handle.submit(job, done)
