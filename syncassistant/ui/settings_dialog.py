"""The settings dialog: a list of pages on the left, the chosen page on the right.

Pages: Folders (repositories), Remotes, Devices, Bandwidth, Rules, General; each is its own module under
`pages/`. Every page applies a change when it is made (and refuses bad input next to the field),
so the dialog has only a Close button.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFrame,
    QHBoxLayout,
    QListWidget,
    QScrollArea,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from .icons import app_icon
from .pages.bandwidth import BandwidthPage
from .pages.devices import DevicesPage
from .pages.general import GeneralPage
from .pages.remotes import RemotesPage
from .pages.repositories import RepositoriesPage
from .pages.rules import RulesPage


class SettingsDialog(QDialog):
    PAGES = ("repositories", "remotes", "devices", "bandwidth", "rules", "general")

    def __init__(self, app: Any, parent: QWidget | None = None):
        super().__init__(parent)
        self.app = app
        self.setWindowTitle(self.tr("Settings – SyncAssistant"))
        self.setWindowIcon(app_icon())
        self.setAccessibleName(self.tr("Settings"))
        self.setModal(False)
        self.resize(840, 640)

        self.nav = QListWidget(self)
        self.nav.setAccessibleName(self.tr("Settings pages"))
        self.nav.setFixedWidth(150)
        self.nav.setStyleSheet("QListWidget::item { padding: 5px 6px; }")
        self.stack = QStackedWidget(self)
        self.pages: dict[str, QWidget] = {
            "repositories": RepositoriesPage(app, self),
            "remotes": RemotesPage(app, self),
            "devices": DevicesPage(app, self),
            "bandwidth": BandwidthPage(app, self),
            "rules": RulesPage(app, self),
            "general": GeneralPage(app, self),
        }
        titles = {"repositories": self.tr("Folders"), "remotes": self.tr("Remotes"), "devices": self.tr("Devices"),
                  "bandwidth": self.tr("Bandwidth"), "rules": self.tr("Rules"), "general": self.tr("General")}
        for name in self.PAGES:
            self.nav.addItem(titles[name])
            scroll = QScrollArea(self)
            scroll.setWidgetResizable(True)
            scroll.setFrameShape(QFrame.Shape.NoFrame)
            scroll.setWidget(self.pages[name])
            scroll.setAccessibleName(titles[name])
            self.stack.addWidget(scroll)
        self.nav.currentRowChanged.connect(self.stack.setCurrentIndex)
        self.nav.setCurrentRow(0)

        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close, self)
        buttons.rejected.connect(self.close)
        buttons.button(QDialogButtonBox.StandardButton.Close).setAccessibleName(self.tr("Close settings"))
        body = QHBoxLayout()
        body.addWidget(self.nav)
        body.addWidget(self.stack, 1)
        lay = QVBoxLayout(self)
        lay.addLayout(body, 1)
        lay.addWidget(buttons)
        QShortcut(QKeySequence.StandardKey.Close, self, self.close)

    def show_page(self, name: str) -> QWidget:
        self.nav.setCurrentRow(self.PAGES.index(name))
        return self.pages[name]

    def page(self, name: str) -> Any:
        return self.pages[name]

    def keyPressEvent(self, event: Any) -> None:  # Esc closes, like the button
        if event.key() == Qt.Key.Key_Escape:
            self.close()
            return
        super().keyPressEvent(event)
