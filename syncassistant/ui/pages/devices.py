"""Settings page "Devices": the devices connected to a folder by a code, when each was last seen,
and disconnecting one (its key leaves authorized_keys, its remote goes; no file is deleted).

The engine's `list_devices` and `disconnect` (engine/network/invite.py) do the work, off the GUI
thread; this page shows them and asks before disconnecting.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtGui import QShowEvent
from PySide6.QtWidgets import (
    QFormLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QMessageBox,
    QPushButton,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from ...engine.network import invite as inv
from ..state import ago
from ..widgets import heading, note
from ..workers import run_in_background
from .common import RepoChooser

PAIRING_ROLE = Qt.ItemDataRole.UserRole


class DevicesPage(QWidget):
    def __init__(self, app: Any, parent: QWidget | None = None):
        super().__init__(parent)
        self.app = app
        self.state = app.state
        self.devices: list[inv.Device] = []
        self.setAccessibleName(self.tr("Devices"))

        self.repo = RepoChooser(self.state, self)
        self.repo.chosen.connect(lambda _k: self.reload())
        top = QFormLayout()
        top.addRow(self.tr("&Folder:"), self.repo)

        self.table = QTreeWidget(self)
        self.table.setAccessibleName(self.tr("Devices connected to this folder"))
        self.table.setRootIsDecorated(False)
        self.table.setHeaderLabels([self.tr("Device"), self.tr("Connected"), self.tr("Since"),
                                    self.tr("Last seen")])
        hh = self.table.header()
        hh.setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)
        for col in (0, 2, 3):
            hh.setSectionResizeMode(col, QHeaderView.ResizeMode.ResizeToContents)
        self.table.setMinimumHeight(120)
        self.table.currentItemChanged.connect(lambda *_: self._selected_changed())
        self.empty = QLabel(self.tr("No device is connected to this folder by a code yet: choose “Connect "
                                    "another device…” in the SyncAssistant menu."), self)
        self.empty.setWordWrap(True)

        self.invite_button = QPushButton(self.tr("&Connect another device…"), self)
        self.invite_button.setAccessibleName(self.tr("Connect another device with a code"))
        self.invite_button.clicked.connect(lambda: self.app.show_invite(self.repo.key() or None))
        self.disconnect_button = QPushButton(self.tr("&Disconnect…"), self)
        self.disconnect_button.setAccessibleName(self.tr("Disconnect the selected device"))
        self.disconnect_button.clicked.connect(self.disconnect_selected)
        row = QHBoxLayout()
        row.addWidget(self.invite_button)
        row.addStretch(1)
        row.addWidget(self.disconnect_button)
        self.result = QLabel(self)
        self.result.setWordWrap(True)
        self.result.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.result.setAccessibleName(self.tr("Result of the change"))

        lay = QVBoxLayout(self)
        lay.addWidget(heading(self.tr("Devices"), self))
        lay.addWidget(note(self.tr("Devices connected with a one-time code. Each may only sync this folder "
                                   "(its key runs git-annex on this folder and nothing else). Disconnecting one "
                                   "stops syncing with it; no file is deleted, here or there."), self))
        lay.addLayout(top)
        lay.addWidget(self.table)
        lay.addWidget(self.empty)
        lay.addLayout(row)
        lay.addWidget(self.result)
        lay.addStretch(1)
        self.state.repoChanged.connect(lambda k: self._refresh_seen() if k == self.repo.key() else None)
        self.reload()

    # -- listing ------------------------------------------------------------------------------------
    def showEvent(self, event: QShowEvent) -> None:
        # devices come and go by invitations made elsewhere (the tray's dialogs, the CLI):
        # read them again whenever the page comes into view
        super().showEvent(event)
        self.reload()

    def reload(self) -> None:
        key = self.repo.key()
        if not key:
            self.devices = []
            self._fill()
            return
        run_in_background(lambda: inv.list_devices(key), lambda r, e, k=key: self._listed(k, r, e), self)

    def _listed(self, key: str, devices: list[inv.Device] | None, error: str | None) -> None:
        if key != self.repo.key():
            return
        if error:
            self.result.setText(self.tr("Cannot read the devices: %1").replace("%1", error))
        self.devices = devices or []
        self._fill()

    def how(self, d: inv.Device) -> str:
        if d.cloud:
            return self.tr("through the cloud storage “%1”").replace("%1", d.cloud)
        if d.remote and d.authorized_keys:
            return self.tr("over ssh, both ways")
        if d.remote:
            return self.tr("over ssh: this device reaches it")
        if d.authorized_keys:
            return self.tr("over ssh: it reaches this device")
        return self.tr("not connected")

    def _fill(self) -> None:
        current = self.selected_pairing()
        self.table.clear()
        for d in self.devices:
            item = QTreeWidgetItem(self.table, [d.name, self.how(d), ago(d.since), ""])
            item.setData(0, PAIRING_ROLE, d.pairing)
            item.setToolTip(1, d.url or d.cloud or "")
            if d.pairing == current:
                self.table.setCurrentItem(item)
        if self.table.currentItem() is None and self.table.topLevelItemCount():
            self.table.setCurrentItem(self.table.topLevelItem(0))
        self.table.setVisible(bool(self.devices))
        self.empty.setVisible(not self.devices)
        self._refresh_seen()
        self._selected_changed()

    def _refresh_seen(self) -> None:
        """Last seen: the running daemon's last sync with the device's remote, else its last fetch."""
        view = self.state.views.get(self.repo.key())
        synced = {r.get("name"): r.get("last_sync") for r in ((view.status or {}).get("remotes") or [])} if view \
            else {}
        for i in range(self.table.topLevelItemCount()):
            item = self.table.topLevelItem(i)
            d = next((x for x in self.devices if x.pairing == item.data(0, PAIRING_ROLE)), None)
            if d is None:
                continue
            seen = (synced.get(d.remote) if d.remote else None) or d.last_seen
            item.setText(3, ago(seen) if seen else self.tr("not known"))

    def selected_pairing(self) -> str:
        item = self.table.currentItem()
        return str(item.data(0, PAIRING_ROLE)) if item is not None else ""

    def _selected_changed(self) -> None:
        self.disconnect_button.setEnabled(bool(self.selected_pairing()))

    # -- disconnecting ----------------------------------------------------------------------------
    def disconnect_selected(self) -> None:
        pairing, key = self.selected_pairing(), self.repo.key()
        d = next((x for x in self.devices if x.pairing == pairing), None)
        if d is None or not key:
            return
        text = self.tr("Stop syncing this folder with %1? Its key can no longer reach this device, and no "
                       "file is deleted, here or there.").replace("%1", d.name)
        if d.cloud:
            text = self.tr("Forget %1? The two sync through the cloud storage “%2”, which stays (other devices "
                           "may sync through it too): remove it on the Remotes page to stop that.") \
                .replace("%1", d.name).replace("%2", d.cloud)
        answer = QMessageBox.question(self, self.tr("Disconnect %1?").replace("%1", d.name), text)
        if answer != QMessageBox.StandardButton.Yes:
            return
        self.disconnect_button.setEnabled(False)

        def done(gone: inv.Device | None, error: str | None) -> None:
            if error or gone is None:
                self.result.setText(self.tr("Not disconnected: %1").replace("%1", error or ""))
            else:
                self.result.setText(self.tr("Disconnected %1. No file was deleted.").replace("%1", gone.name))
                handle = self.app.handle(key)
                if handle is not None:
                    handle.sync_now()  # the pusher forgets the removed remote
            self.reload()

        run_in_background(lambda: inv.disconnect(key, pairing), done, self)
