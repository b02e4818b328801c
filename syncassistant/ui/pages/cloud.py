"""Cloud storage on the Remotes page: the form for a new cloud remote (WebDAV, S3, a folder,
rsync; always encrypted), the "Join cloud storage…" dialog that makes a synced folder from the
string another device shares, and the role and numcopies of existing cloud remotes.

The engine does the work (`ui/cloud_ops.py` over `engine/network/cloud.py`); here it runs off
the GUI thread (initremote and the first upload take seconds, a server that does not answer
much longer), its steps are shown as they start, and a failure is shown next to the field it
is about. The password goes from its field to the engine, which keeps it in the keyring only.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, Qt, Signal, Slot
from PySide6.QtGui import QCloseEvent
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QProgressBar,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from .. import cloud_ops as ops
from ..i18n import tr
from ..icons import app_icon
from ..widgets import ErrorLabel, add_row, field_with_error, note
from ..workers import run_in_background


class _Steps(QObject):
    """Carries a background job's steps to the GUI thread (emitted on a pool thread; the
    receiver is a GUI-thread widget's method, so Qt queues each call)."""

    step = Signal(str)  # the engine's step name ("check", "init", "role", "push", "clone", "setup")


# (module-level helpers: one translation context, "CloudRoles", whichever widget asks)
def _role_names() -> dict[str, str]:
    return {"transfer": tr("CloudRoles", "Transfer"), "backup": tr("CloudRoles", "Backup"),
            "archive": tr("CloudRoles", "Archive"), "full": tr("CloudRoles", "Full sync")}


def _role_help() -> dict[str, str]:
    return {"transfer": tr("CloudRoles", "Keeps each file only until every device has it."),
            "backup": tr("CloudRoles", "Keeps everything, old versions too."),
            "archive": tr("CloudRoles", "Keeps files that no device wants any more."),
            "full": tr("CloudRoles", "Keeps everything, like another device.")}


def _role_combo(w: QWidget, name: str) -> QComboBox:
    combo = QComboBox(w)
    combo.setAccessibleName(name)
    combo.view().setAccessibleName(tr("CloudRoles", "Roles to choose from"))
    helps = _role_help()
    for role, text in _role_names().items():
        combo.addItem(text, role)
        combo.setItemData(combo.count() - 1, helps[role], Qt.ItemDataRole.ToolTipRole)
    return combo


def _run_with_steps(owner: QWidget, on_step: Callable[[str], None], fn: Callable[[Callable[[str], None]], Any],
                    done: Callable[[Any, str | None], None]) -> None:
    steps = _Steps(owner)
    steps.step.connect(on_step)
    run_in_background(lambda: fn(steps.step.emit), lambda r, e: (steps.deleteLater(), done(r, e)), owner)


def _busy_bar(parent: QWidget, name: str) -> QProgressBar:
    bar = QProgressBar(parent)
    bar.setRange(0, 0)  # (git-annex reports no fraction for these steps: a busy bar)
    bar.setTextVisible(False)
    bar.setMaximumHeight(10)
    bar.setAccessibleName(name)
    bar.hide()
    return bar


class CloudStorageForm(QWidget):
    """The fields of a new cloud remote; the Remotes page's Add button calls `start_add`."""

    added = Signal(str, str)  # remote name, a warning ("" if none: the history is uploaded)
    failed = Signal(str, str)  # form field at fault ("name", "url", "password", ...), message
    joinRequested = Signal()

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.errors: dict[str, ErrorLabel] = {}
        self.running = False
        self.type_combo = QComboBox(self)
        self.type_combo.setAccessibleName(self.tr("Kind of cloud storage"))
        self.type_combo.view().setAccessibleName(self.tr("Kinds of cloud storage to choose from"))
        for kind, text in (("webdav", self.tr("WebDAV (Nextcloud, ownCloud, a NAS…)")),
                           ("s3", self.tr("S3 (Amazon S3, MinIO, Wasabi…)")),
                           ("directory", self.tr("A folder (a mounted network share or drive)")),
                           ("rsync", self.tr("rsync (a server over SSH or an rsync daemon)"))):
            self.type_combo.addItem(text, kind)
        self.url_edit = QLineEdit(self)
        self.url_edit.setAccessibleName(self.tr("Address of the cloud storage"))
        self.bucket_edit = QLineEdit(self)
        self.bucket_edit.setAccessibleName(self.tr("S3 bucket"))
        self.bucket_edit.setPlaceholderText(self.tr("my-sync-bucket"))
        self.region_edit = QLineEdit(self)
        self.region_edit.setAccessibleName(self.tr("S3 region"))
        self.region_edit.setPlaceholderText(self.tr("optional, e.g. eu-west-1"))
        self.dir_edit = QLineEdit(self)
        self.dir_edit.setAccessibleName(self.tr("Folder of the cloud storage"))
        self.dir_edit.setPlaceholderText(self.tr("/mnt/nas/sync"))
        browse = QPushButton(self.tr("Brow&se…"), self)
        browse.setAccessibleName(self.tr("Choose the storage folder"))
        browse.clicked.connect(self.browse)
        dir_row = QWidget(self)
        dl = QHBoxLayout(dir_row)
        dl.setContentsMargins(0, 0, 0, 0)
        dl.addWidget(self.dir_edit, 1)
        dl.addWidget(browse)
        self.user_edit = QLineEdit(self)
        self.user_edit.setAccessibleName(self.tr("Cloud user name"))
        self.pass_edit = QLineEdit(self)
        self.pass_edit.setEchoMode(QLineEdit.EchoMode.Password)
        self.pass_edit.setAccessibleName(self.tr("Cloud password"))
        self.pass_edit.setPlaceholderText(self.tr("kept in the system keyring only"))
        self.role_combo = _role_combo(self, self.tr("Role of the new cloud remote"))
        self.role_combo.setCurrentIndex(self.role_combo.findData("transfer"))
        self.role_help = note("", self)
        role_box = QWidget(self)
        rl = QHBoxLayout(role_box)
        rl.setContentsMargins(0, 0, 0, 0)
        rl.addWidget(self.role_combo)
        rl.addWidget(self.role_help, 1)
        self.role_combo.currentIndexChanged.connect(
            lambda _i: self.role_help.setText(_role_help()[str(self.role_combo.currentData())]))
        self.role_help.setText(_role_help()["transfer"])

        self.form = QFormLayout()
        self.form.setContentsMargins(0, 0, 0, 0)
        self.labels: dict[str, QLabel] = {}
        self.form.addRow(self.tr("Stora&ge:"), self.type_combo)
        self.form.itemAt(0, QFormLayout.ItemRole.LabelRole).widget().setBuddy(self.type_combo)
        for key, label, w, buddy in (("url", self.tr("&URL:"), self.url_edit, None),
                                     ("bucket", self.tr("&Bucket:"), self.bucket_edit, None),
                                     ("region", self.tr("Re&gion:"), self.region_edit, None),
                                     ("directory", self.tr("Fol&der:"), dir_row, self.dir_edit),
                                     ("user", self.tr("&User name:"), self.user_edit, None),
                                     ("password", self.tr("&Password:"), self.pass_edit, None),
                                     ("role", self.tr("R&ole:"), role_box, self.role_combo)):
            wrapped, self.errors[key] = field_with_error(w, self)
            if buddy is not None:
                self.errors[key].field = buddy
            self.labels[key] = add_row(self.form, label, wrapped, buddy or w)
        self.rows = {key: self.form.rowCount() - 7 + i for i, key in enumerate(
            ("url", "bucket", "region", "directory", "user", "password", "role"))}

        join = QPushButton(self.tr("&Join cloud storage…"), self)
        join.setAccessibleName(self.tr("Join cloud storage another device set up"))
        join.clicked.connect(self.joinRequested)
        self.join_button = join
        join_row = QHBoxLayout()
        join_row.addWidget(note(self.tr("Set up on another device already? Paste the string it shares."), self), 1)
        join_row.addWidget(join)
        self.progress = _busy_bar(self, self.tr("Progress of adding the cloud storage"))
        self.status = QLabel(self)
        self.status.setWordWrap(True)
        self.status.setAccessibleName(self.tr("Cloud storage status"))

        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addLayout(join_row)
        lay.addLayout(self.form)
        lay.addWidget(note(self.tr("Always encrypted: the provider sees neither file names nor content. "
                                   "Your devices' changes and files pass through it."), self))
        lay.addWidget(self.progress)
        lay.addWidget(self.status)
        self.type_combo.currentIndexChanged.connect(lambda _i: self._type_changed())
        self._type_changed()

    def kind(self) -> str:
        return str(self.type_combo.currentData())

    def set_kind(self, kind: str) -> None:
        self.type_combo.setCurrentIndex(self.type_combo.findData(kind))

    def _type_changed(self) -> None:
        kind = self.kind()
        shown = {"webdav": {"url", "user", "password"}, "s3": {"url", "bucket", "region", "user", "password"},
                 "directory": {"directory"}, "rsync": {"url"}}[kind]
        for key, row in self.rows.items():
            self.form.setRowVisible(row, key in shown or key == "role")
        url_label = {"webdav": self.tr("&URL:"), "s3": self.tr("&Endpoint:"), "rsync": self.tr("&URL:")}
        url_hint = {"webdav": self.tr("https://cloud.example.org/remote.php/dav/files/me/Sync"),
                    "s3": self.tr("empty for Amazon S3, or https://minio.example.org:9000"),
                    "rsync": self.tr("server.example.org:/srv/sync or rsync://nas/module/sync")}
        if kind in url_label:
            self.labels["url"].setText(url_label[kind])
            self.url_edit.setPlaceholderText(url_hint[kind])
        s3 = kind == "s3"
        self.labels["user"].setText(self.tr("Access &key ID:") if s3 else self.tr("&User name:"))
        self.labels["password"].setText(self.tr("&Secret key:") if s3 else self.tr("&Password:"))
        self.clear_errors()

    def browse(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, self.tr("Choose the storage folder"), str(Path.home()))
        if folder:
            self.dir_edit.setText(folder)

    def clear_errors(self) -> None:
        for err in self.errors.values():
            err.clear_error()
        self.status.clear()

    def values(self) -> ops.CloudForm:
        return ops.CloudForm(kind=self.kind(), url=self.url_edit.text(), bucket=self.bucket_edit.text(),
                             region=self.region_edit.text(), directory=self.dir_edit.text(),
                             user=self.user_edit.text(), password=self.pass_edit.text(),
                             role=str(self.role_combo.currentData()))

    def step_text(self, step: str) -> str:
        return {"check": self.tr("Checking…"),
                "init": self.tr("Connecting and setting up the encrypted storage…"),
                "role": self.tr("Setting its role…"),
                "push": self.tr("Uploading this folder's history (encrypted)…")}.get(step, step)

    # -- adding (the page checked the name) -------------------------------------------------------
    def start_add(self, root: Path, name: str, cost: int | None, mode: str) -> None:
        self.clear_errors()
        form = self.values()
        try:
            ops.checked(form)  # (quick, no network: refuse bad input before any thread starts)
        except ops.CloudError as e:
            self._failed(e.field, str(e))
            return

        def work(progress: Callable[[str], None]) -> tuple[str, str]:
            """("ok", warning) or (field, message)."""
            try:
                return "ok", ops.add(root, name, form, cost, mode, progress) or ""
            except ops.CloudError as e:
                return e.field, str(e)

        self._set_running(True, self.step_text("check"))
        _run_with_steps(self, self._on_step, work, self._add_done(name))

    def _add_done(self, name: str) -> Callable[[Any, str | None], None]:
        def done(outcome: tuple[str, str] | None, error: str | None) -> None:
            self._set_running(False)
            field, message = outcome if outcome else ("server", str(error))
            if field != "ok":
                self._failed(field, message)
                return
            self.pass_edit.clear()
            self.status.setText(self.tr("Added %1; syncing through it now.").replace("%1", name) if not message
                                else self.tr("Added %1, but the first upload failed: %2 (it is tried again).")
                                .replace("%1", name).replace("%2", message))
            self.added.emit(name, message)
        return done

    @Slot(str)
    def _on_step(self, step: str) -> None:
        if self.running:
            self.status.setText(self.step_text(step))

    def _failed(self, field: str, message: str) -> None:
        where = ops.FORM_FIELD.get(field, field)
        if where in self.errors:
            self.errors[where].show_error(message)
        self.status.setText(self.tr("Not added: %1").replace("%1", message))
        self.failed.emit(where, message)

    def _set_running(self, running: bool, text: str = "") -> None:
        self.running = running
        self.progress.setVisible(running)
        for w in (self.type_combo, self.url_edit, self.bucket_edit, self.region_edit, self.dir_edit,
                  self.user_edit, self.pass_edit, self.role_combo):
            w.setEnabled(not running)
        if text:
            self.status.setText(text)


class JoinCloudDialog(QDialog):
    """Paste the string `cloud share` (or another device's app) printed, choose a folder, join:
    the folder becomes a synced copy and the running app syncs it at once."""

    joined = Signal(str)  # the new folder's key in the app

    def __init__(self, app: Any, parent: QWidget | None = None):
        super().__init__(parent)
        self.app = app
        self.running = False
        self.setWindowTitle(self.tr("Join cloud storage – SyncAssistant"))
        self.setWindowIcon(app_icon())
        self.setAccessibleName(self.tr("Join cloud storage"))
        self.errors: dict[str, ErrorLabel] = {}
        self.share_edit = QLineEdit(self)
        self.share_edit.setAccessibleName(self.tr("Share string"))
        self.share_edit.setPlaceholderText(self.tr("syncassistant-cloud:v1:…"))
        self.share_edit.textChanged.connect(lambda _t: self._share_changed())
        self.folder_edit = QLineEdit(self)
        self.folder_edit.setAccessibleName(self.tr("Folder for this device's copy"))
        self.folder_edit.setPlaceholderText(str(Path.home() / "Sync"))
        browse = QPushButton(self.tr("Bro&wse…"), self)
        browse.setAccessibleName(self.tr("Choose the folder for this device's copy"))
        browse.clicked.connect(self.browse)
        folder_row = QWidget(self)
        fl = QHBoxLayout(folder_row)
        fl.setContentsMargins(0, 0, 0, 0)
        fl.addWidget(self.folder_edit, 1)
        fl.addWidget(browse)
        self.user_edit = QLineEdit(self)
        self.user_edit.setAccessibleName(self.tr("Cloud user name for joining"))
        self.pass_edit = QLineEdit(self)
        self.pass_edit.setEchoMode(QLineEdit.EchoMode.Password)
        self.pass_edit.setAccessibleName(self.tr("Cloud password for joining"))
        self.pass_edit.setPlaceholderText(self.tr("kept in the system keyring only"))
        self.form = QFormLayout()
        for key, label, w, buddy in (("share", self.tr("&Share string:"), self.share_edit, None),
                                     ("folder", self.tr("&Folder:"), folder_row, self.folder_edit),
                                     ("user", self.tr("&User name:"), self.user_edit, None),
                                     ("password", self.tr("&Password:"), self.pass_edit, None)):
            wrapped, self.errors[key] = field_with_error(w, self)
            if buddy is not None:
                self.errors[key].field = buddy
            add_row(self.form, label, wrapped, buddy or w)
        self.progress = _busy_bar(self, self.tr("Progress of joining"))
        self.status = QLabel(self)
        self.status.setWordWrap(True)
        self.status.setAccessibleName(self.tr("Join status"))
        self.buttons = QDialogButtonBox(self)
        self.join_button = self.buttons.addButton(self.tr("&Join"), QDialogButtonBox.ButtonRole.AcceptRole)
        self.join_button.setAccessibleName(self.tr("Join the cloud storage"))
        self.close_button = self.buttons.addButton(QDialogButtonBox.StandardButton.Close)
        self.close_button.setAccessibleName(self.tr("Close"))
        self.join_button.clicked.connect(self.join)
        self.close_button.clicked.connect(self.close)
        lay = QVBoxLayout(self)
        lay.addWidget(note(self.tr("On the device that set up the cloud storage, run “syncassistant cloud share "
                                   "FOLDER NAME” and paste what it prints here. It holds the encryption key: "
                                   "keep it secret."), self))
        lay.addLayout(self.form)
        lay.addWidget(self.progress)
        lay.addWidget(self.status)
        lay.addStretch(1)
        lay.addWidget(self.buttons)
        self.resize(620, 240)
        self._share_changed()

    def reset(self) -> None:
        """Ready for another join (the dialog is kept between uses)."""
        if self.running:
            return
        self.join_button.setEnabled(True)
        self.status.clear()
        for err in self.errors.values():
            err.clear_error()

    def _share_changed(self) -> None:
        self.errors["share"].clear_error()
        needs = ops.share_needs_credentials(self.share_edit.text())
        # the user name and password only matter when the string carries none
        for key, row in (("user", 2), ("password", 3)):
            self.form.setRowVisible(row, needs is not False)
            self.errors[key].clear_error()

    def browse(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, self.tr("Choose the folder for this device's copy"),
                                                  str(Path.home()))
        if folder:
            self.folder_edit.setText(folder)

    def step_text(self, step: str) -> str:
        return {"check": self.tr("Checking…"),
                "clone": self.tr("Downloading the history from the cloud storage…"),
                "setup": self.tr("Setting up the folder…")}.get(step, step)

    def join(self) -> None:
        if self.running:
            return
        for err in self.errors.values():
            err.clear_error()
        text, folder = self.share_edit.text().strip(), self.folder_edit.text()
        user, password = self.user_edit.text(), self.pass_edit.text()
        if not text:
            self.errors["share"].show_error(self.tr("paste the share string"))
            return

        def work(progress: Callable[[str], None]) -> tuple[str, str]:
            """("ok", top folder) or (field, message)."""
            try:
                return "ok", str(ops.join(text, folder, user, password, progress))
            except ops.CloudError as e:
                return e.field, str(e)
            except OSError as e:  # (the folder cannot be made, a full disk...)
                return "path", str(e)

        self._set_running(True, self.step_text("check"))
        _run_with_steps(self, self._on_step, work, self._done)

    @Slot(str)
    def _on_step(self, step: str) -> None:
        if self.running:
            self.status.setText(self.step_text(step))

    def _done(self, outcome: tuple[str, str] | None, error: str | None) -> None:
        self._set_running(False)
        field, message = outcome if outcome else ("server", str(error))
        if field != "ok":
            where = {"share": "share", "path": "folder", "credentials": "password", "user": "user",
                     "name": "share", "server": "share", "url": "share"}.get(field, "share")
            self.errors[where].show_error(message)
            self.status.setText(self.tr("Not joined: %1").replace("%1", message))
            return
        self.pass_edit.clear()
        self.share_edit.clear()
        key = self.app.add_repository(message)
        self.status.setText(self.tr("Joined: %1 is a synced copy now.").replace("%1", message))
        self.join_button.setEnabled(False)
        self.joined.emit(key)

    def _set_running(self, running: bool, text: str = "") -> None:
        self.running = running
        self.progress.setVisible(running)
        for w in (self.share_edit, self.folder_edit, self.user_edit, self.pass_edit, self.join_button,
                  self.close_button):
            w.setEnabled(not running)
        if text:
            self.status.setText(text)

    def closeEvent(self, event: QCloseEvent) -> None:  # not while joining: the folder would be left half-made
        if self.running:
            event.ignore()
            return
        super().closeEvent(event)

    def keyPressEvent(self, event: Any) -> None:
        if event.key() == Qt.Key.Key_Escape and self.running:
            return
        super().keyPressEvent(event)


class CloudRemoteSettings(QWidget):
    """Under the remotes table: the role of the selected cloud remote and the folder's numcopies."""

    def __init__(self, app: Any, parent: QWidget | None = None):
        super().__init__(parent)
        self.app = app
        self.key = ""
        self.name = ""
        self.info: ops.CloudInfo | None = None
        self.role_combo = _role_combo(self, self.tr("Role of the selected cloud remote"))
        self.role_button = QPushButton(self.tr("Set ro&le"), self)
        self.role_button.setAccessibleName(self.tr("Set the role of the selected cloud remote"))
        self.role_button.clicked.connect(self.apply_role)
        self.copies = QSpinBox(self)
        self.copies.setRange(1, 20)
        self.copies.setAccessibleName(self.tr("Copies of each file to keep (numcopies)"))
        self.copies.setToolTip(self.tr("A file's content is only removed from a place when at least this many "
                                       "other copies are known to exist (git-annex numcopies)."))
        self.copies_button = QPushButton(self.tr("Set cop&ies"), self)
        self.copies_button.setAccessibleName(self.tr("Set the number of copies to keep"))
        self.copies_button.clicked.connect(self.apply_copies)
        self.result = QLabel(self)
        self.result.setWordWrap(True)
        self.result.setAccessibleName(self.tr("Result of the cloud setting"))
        self.role_label = QLabel(self.tr("Cloud role:"), self)
        row = QHBoxLayout()
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(self.role_label)
        row.addWidget(self.role_combo)
        row.addWidget(self.role_button)
        row.addStretch(1)
        copies_label = QLabel(self.tr("Copies of each file:"), self)
        copies_label.setBuddy(self.copies)
        row.addWidget(copies_label)
        row.addWidget(self.copies)
        row.addWidget(self.copies_button)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addLayout(row)
        lay.addWidget(self.result)
        self._enable()

    def set_repo(self, key: str) -> None:
        """Read the folder's cloud remotes and numcopies again (off the GUI thread)."""
        self.key = key
        self.info = None
        self._enable()
        if key:
            run_in_background(lambda: ops.info(Path(key)), lambda r, e: self._loaded(key, r, e), self)

    def _loaded(self, key: str, info: ops.CloudInfo | None, error: str | None) -> None:
        if key != self.key:
            return
        if error:
            self.result.setText(self.tr("Cannot read the cloud settings: %1").replace("%1", error))
        self.info = info
        if info is not None:
            self.copies.setValue(info.numcopies)
        self.set_selected(self.name)

    def set_selected(self, name: str) -> None:
        self.name = name
        r = self.info.remotes.get(name) if self.info else None
        if r is not None and r.role:
            self.role_combo.setCurrentIndex(self.role_combo.findData(r.role))
        self._enable()

    def is_cloud(self, name: str) -> bool:
        return bool(self.info and name in self.info.remotes)

    def role_of(self, name: str) -> str | None:
        r = self.info.remotes.get(name) if self.info else None
        return r.role if r else None

    def _enable(self) -> None:
        cloud = self.is_cloud(self.name)
        for w in (self.role_label, self.role_combo, self.role_button):
            w.setEnabled(cloud)
        for w in (self.copies, self.copies_button):
            w.setEnabled(self.info is not None)

    def apply_role(self) -> None:
        key, name, role = self.key, self.name, str(self.role_combo.currentData())
        if not key or not self.is_cloud(name):
            return
        self._job(lambda: ops.set_role(Path(key), name, role),
                  self.tr("Saved: %1 is now “%2”.").replace("%1", name)
                  .replace("%2", self.role_combo.currentText()))

    def apply_copies(self) -> None:
        key, n = self.key, self.copies.value()
        if not key:
            return
        self._job(lambda: ops.set_numcopies(Path(key), n),
                  self.tr("Saved: %n copies of each file are kept.", "", n))

    def _job(self, fn: Callable[[], None], ok_text: str) -> None:
        key = self.key
        for w in (self.role_button, self.copies_button):
            w.setEnabled(False)

        def done(_r: object, error: str | None) -> None:
            self.result.setText(self.tr("That did not work: %1").replace("%1", error) if error else ok_text)
            handle = self.app.handle(key)
            if handle is not None:
                handle.sync_now()  # (the scanner sees the new preferred content)
            self.set_repo(self.key)

        run_in_background(fn, done, self)
