"""The tray's "Connect another device…" and "Join with a code…" dialogs.

`InviteDialog` shows a one-time code for one of the app's folders and waits for the other
device; `JoinDialog` takes that code (and where to put the folder) and connects; a joined
folder is added to the running app at once, so it syncs and shows in the tray. Both run the
engine (engine/network/invite.py) through an `InviteJob` (invite_job.py), never on the GUI
thread; Cancel ends the engine's wait and the engine takes back what it made. What they say on
failure is the engine's own one-line reason.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt, Slot
from PySide6.QtGui import QCloseEvent, QFont, QGuiApplication
from PySide6.QtWidgets import (
    QCheckBox,
    QDialog,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QProgressBar,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from ..engine.network import cloud
from ..engine.network import invite as inv
from .icons import app_icon
from .invite_job import InviteJob, InviteSettings
from .pages.common import RepoChooser
from .state import display_path
from .widgets import ERROR_STYLE, add_row, field_with_error, heading, note
from .workers import run_in_background


class _JobDialog(QDialog):
    """What both dialogs share: a job, a busy bar, a status line, Cancel/Close."""

    def __init__(self, app: Any, title: str, parent: QWidget | None = None):
        super().__init__(parent)
        self.app = app
        self.job: InviteJob | None = None
        self.outcome: str = ""  # "", "connected", "failed", "cancelled" (for tests and screenshots)
        self.device: inv.Device | None = None
        self.setWindowTitle(title)
        self.setWindowIcon(app_icon())
        self.setAccessibleName(title)
        self.setModal(False)
        self.busy_bar = QProgressBar(self)
        self.busy_bar.setRange(0, 0)  # (no steps to count: the other device decides)
        self.busy_bar.setTextVisible(False)
        self.busy_bar.setAccessibleName(self.tr("Working"))
        self.busy_bar.hide()
        self.status = QLabel(self)
        self.status.setWordWrap(True)
        self.status.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.status.setAccessibleName(self.tr("What is happening"))
        self.cancel_button = QPushButton(self.tr("Cancel"), self)
        self.cancel_button.setAccessibleName(self.tr("Cancel and take back what was made"))
        self.cancel_button.clicked.connect(self.cancel)
        self.cancel_button.hide()
        self.close_button = QPushButton(self.tr("Close"), self)
        self.close_button.setAccessibleName(self.tr("Close this window"))
        self.close_button.clicked.connect(self.close)

    def _new_job(self) -> InviteJob:
        job = InviteJob(InviteSettings.from_config(self.app.config), self)
        job.succeeded.connect(self._succeeded)
        job.failed.connect(self._failed)
        job.stepped.connect(self._stepped)
        self.job = job
        return job

    def running(self) -> bool:
        return self.job is not None and self.job.running()

    def _set_busy(self, busy: bool) -> None:
        self.busy_bar.setVisible(busy)
        self.cancel_button.setVisible(busy)
        self.cancel_button.setEnabled(busy)
        self.close_button.setVisible(not busy)

    def _say(self, text: str, error: bool = False) -> None:
        self.status.setStyleSheet(ERROR_STYLE if error else "")
        self.status.setText(text)

    @Slot()
    def cancel(self) -> None:
        if self.running():
            assert self.job is not None
            self.job.cancel()
            self.cancel_button.setEnabled(False)
            self._say(self.tr("Cancelling: taking back what was made…"))

    def _succeeded(self, device: inv.Device) -> None:
        raise NotImplementedError  # (each dialog says what connected means for it)

    @Slot(str, str)
    def _stepped(self, kind: str, detail: str) -> None:
        """The engine's progress, said for a person."""
        if not self.running() or self.cancel_event_set():
            return
        if kind == "peer":
            self._say(self.tr("%1 answered: connecting…").replace("%1", detail))
        elif kind == "ssh":
            self._say(self.tr("Trying ssh between this device and %1…").replace("%1", detail))
        elif kind == "cloud":
            self._say(self.tr("No ssh path between the devices: connecting through the cloud storage “%1”…")
                      .replace("%1", detail))

    def cancel_event_set(self) -> bool:
        return self.job is not None and self.job.cancel_event.is_set()

    @Slot(str, bool)
    def _failed(self, message: str, cancelled: bool) -> None:
        self._set_busy(False)
        self.outcome = "cancelled" if cancelled else "failed"
        if cancelled:
            self._say(self.tr("Cancelled. Nothing was changed."))
        else:
            self._say(self.tr("Not connected: %1").replace("%1", message), error=True)
        self._ended()

    def _ended(self) -> None:
        """The job ended either way (subclasses re-enable their inputs)."""

    def connected_text(self, device: inv.Device) -> str:
        if device.cloud:
            return (self.tr("Connected to %1 through the cloud storage “%2”: the two devices cannot reach "
                            "each other over ssh, so they sync through it.")
                    .replace("%1", device.name).replace("%2", device.cloud))
        return self.tr("Connected to %1.").replace("%1", device.name)

    def closeEvent(self, event: QCloseEvent) -> None:
        # Closing while the job runs cancels it: the engine takes back what it made on its thread
        self.cancel()
        super().closeEvent(event)


class InviteDialog(_JobDialog):
    """"Connect another device…": a one-time code for a folder, shown until the other joins."""

    def __init__(self, app: Any, parent: QWidget | None = None):
        super().__init__(app, self.tr("Connect another device – SyncAssistant"), parent)
        self.code = ""
        self.cloud_remotes: list[cloud.CloudRemote] = []

        self.repo = RepoChooser(app.state, self)
        self.repo.setAccessibleName(self.tr("Folder to share"))
        self.repo.chosen.connect(lambda _k: self._folder_changed())
        self.repo_label = QLabel(self.tr("&Folder:"), self)
        self.repo_label.setBuddy(self.repo)
        self.share_cloud = QCheckBox(self)
        self.share_cloud.setChecked(True)
        self.share_cloud.setAccessibleName(self.tr("Connect through the cloud storage if needed"))
        self.share_cloud.toggled.connect(lambda _on: self._cloud_options())
        self.share_password = QCheckBox(self.tr("Also give the other device the cloud storage's user name and "
                                                "password"), self)
        self.share_password.setAccessibleName(self.tr("Share the cloud storage's password"))
        self.start_button = QPushButton(self.tr("&Get a code"), self)
        self.start_button.setAccessibleName(self.tr("Get a one-time code"))
        self.start_button.setDefault(True)
        self.start_button.clicked.connect(self.start)

        self.code_box = QWidget(self)
        self.instructions = QLabel(self.tr("On the other device, choose “Join with a code…” in the "
                                           "SyncAssistant menu and type this code:"), self.code_box)
        self.instructions.setWordWrap(True)
        self.code_label = QLabel(self.code_box)
        self.code_label.setAccessibleName(self.tr("One-time code"))
        self.code_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse
                                                | Qt.TextInteractionFlag.TextSelectableByKeyboard)
        font = QFont(self.code_label.font())
        font.setPointSizeF(font.pointSizeF() * 2.2)
        font.setBold(True)
        self.code_label.setFont(font)
        self.code_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.copy_button = QPushButton(self.tr("&Copy"), self.code_box)
        self.copy_button.setAccessibleName(self.tr("Copy the code"))
        self.copy_button.clicked.connect(self.copy_code)
        self.command_label = QLabel(self.code_box)
        self.command_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.command_label.setWordWrap(True)
        self.command_label.setAccessibleName(self.tr("The command to type instead"))
        code_row = QHBoxLayout()
        code_row.addWidget(self.code_label, 1)
        code_row.addWidget(self.copy_button)
        cl = QVBoxLayout(self.code_box)
        cl.setContentsMargins(0, 6, 0, 6)
        cl.addWidget(self.instructions)
        cl.addLayout(code_row)
        cl.addWidget(self.command_label)
        self.code_box.hide()

        form = QFormLayout()
        form.addRow(self.repo_label, self.repo)
        buttons = QHBoxLayout()
        buttons.addStretch(1)
        buttons.addWidget(self.start_button)
        buttons.addWidget(self.cancel_button)
        buttons.addWidget(self.close_button)
        lay = QVBoxLayout(self)
        lay.addWidget(heading(self.tr("Connect another device"), self))
        lay.addWidget(note(self.tr("A one-time code connects another device to this folder: they sync "
                                   "directly over ssh where one can reach the other, else through the "
                                   "folder's cloud storage. The code works once, for ten minutes."), self))
        lay.addLayout(form)
        lay.addWidget(self.share_cloud)
        lay.addWidget(self.share_password)
        lay.addWidget(self.code_box)
        lay.addWidget(self.busy_bar)
        lay.addWidget(self.status)
        lay.addStretch(1)
        lay.addLayout(buttons)
        self.resize(520, 340)
        self._folder_changed()

    # -- the folder and its cloud storage ------------------------------------------------------------
    def _folder_changed(self) -> None:
        many = self.repo.count() > 1
        self.repo.setVisible(many)
        self.repo_label.setVisible(many)
        key = self.repo.key()
        self.cloud_remotes = []
        self._cloud_options()
        if not self.running():
            self.start_button.setEnabled(bool(key))
            if not key:
                self._say(self.tr("Add a folder first (Settings → Folders)."))
            elif not many:
                self._say(self.tr("Folder: %1").replace("%1", display_path(key)))
            else:
                self._say("")
        if key:
            run_in_background(lambda: cloud.list_cloud_remotes(key), lambda r, _e, k=key: self._clouds(k, r), self)

    def _clouds(self, key: str, remotes: list[cloud.CloudRemote] | None) -> None:
        if key == self.repo.key():
            self.cloud_remotes = remotes or []
            self._cloud_options()

    def _cloud_options(self) -> None:
        bridge = self.cloud_remotes[0] if self.cloud_remotes else None
        self.share_cloud.setVisible(bridge is not None)
        needs_password = bridge is not None and bridge.kind in cloud.CRED_VARS
        self.share_password.setVisible(needs_password)
        self.share_password.setEnabled(needs_password and self.share_cloud.isChecked() and not self.running())
        if bridge is not None:
            self.share_cloud.setText(self.tr("If the devices cannot reach each other, connect them through "
                                             "the cloud storage “%1”").replace("%1", bridge.name))

    def choose(self, key: str) -> None:
        """Offer the folder `key` (unless an invitation is under way)."""
        if not self.running():
            self.repo.choose(key)

    # -- the invitation -------------------------------------------------------------------------------
    @Slot()
    def start(self) -> None:
        key = self.repo.key()
        if not key or self.running():
            return
        self.code = ""
        self.device = None
        self.outcome = ""
        self.code_box.hide()
        job = self._new_job()
        job.codeReady.connect(self._code)
        for w in (self.repo, self.share_cloud, self.share_password, self.start_button):
            w.setEnabled(False)
        self._set_busy(True)
        self._say(self.tr("Asking the invitation server for a code…"))
        job.start_invite(key, share_cloud=self.share_cloud.isChecked(),
                         share_cloud_credentials=self.share_password.isChecked() and self.share_password.isVisible())

    @Slot(str)
    def _code(self, code: str) -> None:
        self.code = code
        self.code_label.setText(code)
        self.command_label.setText(self.tr("or in a terminal there: %1").replace("%1", f"syncassistant join {code}"))
        self.code_box.show()
        self._say(self.tr("Waiting for the other device to join…"))

    @Slot(str, str)
    def _stepped(self, kind: str, detail: str) -> None:
        super()._stepped(kind, detail)
        if kind == "peer":
            self.code_box.hide()  # (the code is spent: someone holds it now)

    @Slot()
    def copy_code(self) -> None:
        if self.code:
            QGuiApplication.clipboard().setText(self.code)
            self._say(self.tr("Code copied. Waiting for the other device to join…") if self.running()
                      else self.tr("Code copied."))

    @Slot(object)
    def _succeeded(self, device: inv.Device) -> None:
        self.device = device
        self.outcome = "connected"
        self._set_busy(False)
        self.code_box.hide()
        self._say(self.connected_text(device))
        self._ended()
        handle = self.app.handle(self.repo.key())
        if handle is not None:
            handle.sync_now()

    def _ended(self) -> None:
        self.code_box.setVisible(False)
        self.repo.setEnabled(True)
        self.share_cloud.setEnabled(True)
        self.start_button.setEnabled(bool(self.repo.key()))
        self.start_button.setText(self.tr("&Get a new code"))
        self._cloud_options()


class JoinDialog(_JobDialog):
    """"Join with a code…": connect a folder here to the device that shows the code."""

    def __init__(self, app: Any, parent: QWidget | None = None):
        super().__init__(app, self.tr("Join with a code – SyncAssistant"), parent)
        self.started_at = 0.0
        self.took: float | None = None  # seconds from Join to connected (the last success)

        self.code_edit = QLineEdit(self)
        self.code_edit.setAccessibleName(self.tr("One-time code"))
        self.code_edit.setPlaceholderText(self.tr("e.g. 7-guitarist-revenge"))
        font = QFont(self.code_edit.font())
        font.setPointSizeF(font.pointSizeF() * 1.4)
        self.code_edit.setFont(font)
        self.code_edit.returnPressed.connect(self.start)
        self.folder_edit = QLineEdit(self)
        self.folder_edit.setAccessibleName(self.tr("Folder on this device"))
        self.folder_edit.setPlaceholderText(self.tr("~/ and the folder's name on the other device"))
        self.browse_button = QPushButton(self.tr("Bro&wse…"), self)
        self.browse_button.setAccessibleName(self.tr("Choose the folder on this device"))
        self.browse_button.clicked.connect(self.browse)
        self.join_button = QPushButton(self.tr("&Join"), self)
        self.join_button.setAccessibleName(self.tr("Join with this code"))
        self.join_button.setDefault(True)
        self.join_button.clicked.connect(self.start)

        code_field, self.code_error = field_with_error(self.code_edit, self)
        folder_row = QHBoxLayout()
        folder_row.setContentsMargins(0, 0, 0, 0)
        folder_row.addWidget(self.folder_edit, 1)
        folder_row.addWidget(self.browse_button)
        folder_box = QWidget(self)
        folder_box.setLayout(folder_row)
        form = QFormLayout()
        add_row(form, self.tr("&Code:"), code_field, self.code_edit)
        add_row(form, self.tr("&Folder:"), folder_box, self.folder_edit)
        form.addRow("", note(self.tr("Empty: a new folder in your home folder, named as on the other device. "
                                     "An existing folder is adopted: its files are kept and synced."), self))
        buttons = QHBoxLayout()
        buttons.addStretch(1)
        buttons.addWidget(self.join_button)
        buttons.addWidget(self.cancel_button)
        buttons.addWidget(self.close_button)
        lay = QVBoxLayout(self)
        lay.addWidget(heading(self.tr("Join with a code"), self))
        lay.addWidget(note(self.tr("Type the code the other device shows under “Connect another device…”."),
                           self))
        lay.addLayout(form)
        lay.addWidget(self.busy_bar)
        lay.addWidget(self.status)
        lay.addStretch(1)
        lay.addLayout(buttons)
        self.resize(520, 300)

    @Slot()
    def browse(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, self.tr("Choose the folder on this device"),
                                                  str(Path.home()))
        if folder:
            self.folder_edit.setText(folder)

    @Slot()
    def start(self) -> None:
        if self.running():
            return
        self.code_error.clear_error()
        code = self.code_edit.text().strip()
        if not code:
            self.code_error.show_error(self.tr("Type the code the other device shows."))
            return
        folder = self.folder_edit.text().strip()
        if folder:
            folder = str(Path(folder).expanduser())
            if not Path(folder).is_absolute():
                self._say(self.tr("Not connected: give the folder's full path (starting with / or ~)."), error=True)
                return
        self.device = None
        self.outcome = ""
        self.took = None
        job = self._new_job()
        for w in (self.code_edit, self.folder_edit, self.browse_button, self.join_button):
            w.setEnabled(False)
        self._set_busy(True)
        self._say(self.tr("Connecting with the other device…"))
        self.started_at = time.monotonic()
        job.start_join(code, folder or None)

    @Slot(object)
    def _succeeded(self, device: inv.Device) -> None:
        self.took = time.monotonic() - self.started_at
        self.device = device
        self.outcome = "connected"
        self._set_busy(False)
        folder = device.folder or ""
        if folder:
            self.app.add_repository(folder)  # syncs at once, and shows in the tray
        self._say(self.connected_text(device) + " "
                  + self.tr("The folder %1 syncs with it now.").replace("%1", display_path(folder)))
        self._ended()

    def _ended(self) -> None:
        for w in (self.code_edit, self.folder_edit, self.browse_button, self.join_button):
            w.setEnabled(True)
        if self.outcome == "connected":
            self.code_edit.clear()
            self.folder_edit.clear()

