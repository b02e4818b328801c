"""Settings page "Remotes": where a folder syncs to; add a folder/drive, an ssh server (tested
before it is saved) or cloud storage (pages/cloud.py), change a remote's cost and mode, remove one.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QButtonGroup,
    QCheckBox,
    QComboBox,
    QFileDialog,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QMessageBox,
    QPushButton,
    QRadioButton,
    QSpinBox,
    QStackedWidget,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from ...engine.network.urls import RemoteURL
from .. import remotes_ops as ops
from ..state import ago, display_path
from ..widgets import ErrorLabel, add_row, field_with_error, heading, note
from ..workers import run_in_background
from .cloud import CloudRemoteSettings, CloudStorageForm, JoinCloudDialog
from .common import RepoChooser

NAME_ROLE = Qt.ItemDataRole.UserRole


class RemotesPage(QWidget):
    def __init__(self, app: Any, parent: QWidget | None = None):
        super().__init__(parent)
        self.app = app
        self.state = app.state
        self.rows: list[ops.RemoteRow] = []
        self.errors: dict[str, ErrorLabel] = {}
        self.setAccessibleName(self.tr("Remotes"))
        self.mode_names = {"full": self.tr("Files and changes (full)"),
                           "git-only": self.tr("Changes only, no file content"),
                           "upload-only": self.tr("Send only"),
                           "download-only": self.tr("Receive only"),
                           "off": self.tr("Off")}

        self.repo = RepoChooser(self.state, self)
        self.repo.chosen.connect(lambda _k: self.reload())
        top = QFormLayout()
        top.addRow(self.tr("&Folder:"), self.repo)

        # -- existing remotes ---------------------------------------------------------------------
        self.table = QTreeWidget(self)
        self.table.setAccessibleName(self.tr("Remotes of this folder"))
        self.table.setRootIsDecorated(False)
        self.table.setTextElideMode(Qt.TextElideMode.ElideMiddle)
        self.table.setHeaderLabels([self.tr("Name"), self.tr("Location"), self.tr("Cost"), self.tr("Mode"),
                                    self.tr("Last sync")])
        hh = self.table.header()
        hh.setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)
        for col in (0, 2, 3, 4):
            hh.setSectionResizeMode(col, QHeaderView.ResizeMode.ResizeToContents)
        self.table.setMinimumHeight(90)
        self.table.setMaximumHeight(120)
        self.table.currentItemChanged.connect(lambda *_: self._selected_changed())

        self.edit_cost = QSpinBox(self)
        self.edit_cost.setRange(0, 100000)
        self.edit_cost.setAccessibleName(self.tr("Cost of the selected remote"))
        self.edit_mode = self._mode_combo(self.tr("Mode of the selected remote"))
        self.apply_button = QPushButton(self.tr("A&pply"), self)
        self.apply_button.setAccessibleName(self.tr("Apply cost and mode to the selected remote"))
        self.apply_button.clicked.connect(self.apply_selected)
        self.remove_button = QPushButton(self.tr("&Remove…"), self)
        self.remove_button.setAccessibleName(self.tr("Remove the selected remote"))
        self.remove_button.clicked.connect(self.remove_selected)
        edit_row = QHBoxLayout()
        edit_row.addWidget(QLabel(self.tr("Cost:"), self))
        edit_row.addWidget(self.edit_cost)
        edit_row.addWidget(QLabel(self.tr("Mode:"), self))
        edit_row.addWidget(self.edit_mode, 1)
        edit_row.addWidget(self.apply_button)
        edit_row.addWidget(self.remove_button)
        self.edit_result = QLabel(self)
        self.edit_result.setAccessibleName(self.tr("Result of the change"))
        self.edit_result.setWordWrap(True)
        self.cloud_settings = CloudRemoteSettings(app, self)

        # -- adding one ---------------------------------------------------------------------------
        box = QGroupBox(self.tr("Add a remote"), self)
        box.setAccessibleName(self.tr("Add a remote"))
        self.name_edit = QLineEdit(box)
        self.name_edit.setAccessibleName(self.tr("Remote name"))
        self.name_edit.setPlaceholderText(self.tr("e.g. usb-drive or server"))
        self.kind_local = QRadioButton(self.tr("A folder or &USB drive"), box)
        self.kind_local.setAccessibleName(self.tr("The remote is a folder or USB drive"))
        self.kind_ssh = QRadioButton(self.tr("An &SSH server"), box)
        self.kind_ssh.setAccessibleName(self.tr("The remote is an SSH server"))
        self.kind_cloud = QRadioButton(self.tr("C&loud storage"), box)
        self.kind_cloud.setAccessibleName(self.tr("The remote is cloud storage (WebDAV, S3, a folder, rsync)"))
        self.kind_local.setChecked(True)
        kinds = QButtonGroup(box)
        kinds.addButton(self.kind_local)
        kinds.addButton(self.kind_ssh)
        kinds.addButton(self.kind_cloud)
        kind_row = QHBoxLayout()
        kind_row.addWidget(self.kind_local)
        kind_row.addWidget(self.kind_ssh)
        kind_row.addWidget(self.kind_cloud)
        kind_row.addStretch(1)

        # local
        local = QWidget(box)
        self.folder_edit = QLineEdit(local)
        self.folder_edit.setAccessibleName(self.tr("Folder of the remote"))
        self.folder_edit.setPlaceholderText(self.tr("/media/you/USB-DRIVE/Documents"))
        browse = QPushButton(self.tr("Bro&wse…"), local)
        browse.setAccessibleName(self.tr("Choose the remote's folder"))
        browse.clicked.connect(self.browse)
        self.create_copy = QCheckBox(self.tr("Start a new copy there (the folder must be empty)"), local)
        self.create_copy.setAccessibleName(self.tr("Start a new copy in the empty folder"))
        frow = QHBoxLayout()
        frow.setContentsMargins(0, 0, 0, 0)
        frow.addWidget(self.folder_edit, 1)
        frow.addWidget(browse)
        folder_box = QWidget(local)
        folder_box.setLayout(frow)
        folder_field, self.errors["folder"] = field_with_error(folder_box, local)
        self.errors["folder"].field = self.folder_edit
        lf = QFormLayout(local)
        lf.setContentsMargins(0, 0, 0, 0)
        add_row(lf, self.tr("Fol&der:"), folder_field, self.folder_edit)
        lf.addRow("", self.create_copy)

        # ssh
        remote = QWidget(box)
        self.user_edit = QLineEdit(remote)
        self.user_edit.setAccessibleName(self.tr("SSH user name"))
        self.user_edit.setPlaceholderText(self.tr("optional"))
        self.host_edit = QLineEdit(remote)
        self.host_edit.setAccessibleName(self.tr("SSH server"))
        self.host_edit.setPlaceholderText(self.tr("server.example.org"))
        self.port_spin = QSpinBox(remote)
        self.port_spin.setRange(1, 65535)
        self.port_spin.setValue(22)
        self.port_spin.setAccessibleName(self.tr("SSH port"))
        self.path_edit = QLineEdit(remote)
        self.path_edit.setAccessibleName(self.tr("Repository path on the server"))
        self.path_edit.setPlaceholderText(self.tr("~/Documents or /srv/sync/Documents"))
        rf = QFormLayout(remote)
        rf.setContentsMargins(0, 0, 0, 0)
        for key, label, w in (("user", self.tr("&User:"), self.user_edit),
                              ("host", self.tr("Ser&ver:"), self.host_edit),
                              ("port", self.tr("P&ort:"), self.port_spin),
                              ("path", self.tr("Pat&h:"), self.path_edit)):
            wrapped, self.errors[key] = field_with_error(w, remote)
            add_row(rf, label, wrapped, w)
        # ssh runs non-interactively (BatchMode), so a passphrase typed here could never be used
        rf.addRow("", note(self.tr("Your own ssh key and settings are used; a key with a passphrase "
                                   "works once it is in your ssh agent."), remote))

        self.where = QStackedWidget(box)
        self.where.addWidget(local)
        self.where.addWidget(remote)
        # cloud storage: its own fields, role and progress (pages/cloud.py)
        self.cloud_form = CloudStorageForm(box)
        self.cloud_form.added.connect(self._cloud_added)
        self.cloud_form.failed.connect(self._cloud_failed)
        self.cloud_form.joinRequested.connect(self.show_join)
        self.join_dialog: JoinCloudDialog | None = None
        self.where.addWidget(self.cloud_form)
        self.kind_local.toggled.connect(self._kind_changed)
        self.kind_cloud.toggled.connect(self._kind_changed)

        self.cost_spin = QSpinBox(box)
        self.cost_spin.setRange(0, 100000)
        self.cost_spin.setValue(ops.DEFAULT_COST["local"])
        self.cost_spin.setAccessibleName(self.tr("Cost of the new remote"))
        self.cost_spin.setToolTip(self.tr("Lower cost remotes are preferred for file content "
                                          "(git-annex: a drive is usually 100, a server 200)."))
        self.mode_combo = self._mode_combo(self.tr("Mode of the new remote"))
        self.test_button = QPushButton(self.tr("&Test connection"), box)
        self.test_button.setAccessibleName(self.tr("Test the connection to the new remote"))
        self.test_button.clicked.connect(self.test)
        self.add_button = QPushButton(self.tr("Add &remote"), box)
        self.add_button.setAccessibleName(self.tr("Test and add the new remote"))
        self.add_button.clicked.connect(self.add)
        self.test_result = QLabel(box)
        self.test_result.setWordWrap(True)
        self.test_result.setAccessibleName(self.tr("Connection test result"))

        name_field, self.errors["name"] = field_with_error(self.name_edit, box)
        form = QFormLayout()
        add_row(form, self.tr("&Name:"), name_field, self.name_edit)
        form.addRow(self.tr("Kind:"), kind_row)
        bl = QVBoxLayout(box)
        bl.addLayout(form)
        bl.addWidget(self.where)
        opts = QHBoxLayout()
        cost_label = QLabel(self.tr("&Cost:"), box)
        cost_label.setBuddy(self.cost_spin)
        mode_label = QLabel(self.tr("&Mode:"), box)
        mode_label.setBuddy(self.mode_combo)
        opts.addWidget(cost_label)
        opts.addWidget(self.cost_spin)
        opts.addSpacing(12)
        opts.addWidget(mode_label)
        opts.addWidget(self.mode_combo, 1)
        bl.addLayout(opts)
        brow = QHBoxLayout()
        brow.addWidget(self.test_result, 1)
        brow.addWidget(self.test_button)
        brow.addWidget(self.add_button)
        bl.addLayout(brow)

        lay = QVBoxLayout(self)
        lay.addWidget(heading(self.tr("Remotes"), self))
        lay.addWidget(note(self.tr("The other copies this folder syncs with: another folder, a USB "
                                   "drive, or a server you reach over SSH."), self))
        lay.addLayout(top)
        lay.addWidget(self.table)
        lay.addLayout(edit_row)
        lay.addWidget(self.edit_result)
        lay.addWidget(self.cloud_settings)
        lay.addWidget(box)
        lay.addStretch(1)
        self.state.repoChanged.connect(lambda k: self._refresh_sync_times() if k == self.repo.key() else None)
        self.reload()

    def _mode_combo(self, name: str) -> QComboBox:
        combo = QComboBox(self)
        combo.setAccessibleName(name)
        combo.view().setAccessibleName(self.tr("Modes to choose from"))
        for mode in ops.MODES:
            combo.addItem(self.mode_names[mode], mode)
        return combo

    # -- existing remotes ---------------------------------------------------------------------------
    def reload(self) -> None:
        key = self.repo.key()
        self.cloud_settings.set_repo(key)
        if not key:
            self.rows = []
            self._fill()
            return
        run_in_background(lambda: ops.list_remotes(Path(key)), self._listed, self)

    def _listed(self, rows: list[ops.RemoteRow] | None, error: str | None) -> None:
        if error:
            self.edit_result.setText(self.tr("Cannot read the remotes: %1").replace("%1", error))
        self.rows = rows or []
        self._fill()

    def _fill(self) -> None:
        current = self.selected_name()
        self.table.clear()
        for row in self.rows:
            cost = str(row.cost) if row.cost is not None else str(ops.default_cost(row.url))
            item = QTreeWidgetItem(self.table, [row.name, display_path(row.url), cost,
                                                self.mode_names.get(row.mode, row.mode), ""])
            item.setData(0, NAME_ROLE, row.name)
            item.setToolTip(1, row.url)
            if row.cost is None:
                item.setToolTip(2, self.tr("The default for this kind of remote"))
            if row.name == current:
                self.table.setCurrentItem(item)
        self._refresh_sync_times()
        self._selected_changed()

    def _refresh_sync_times(self) -> None:
        view = self.state.views.get(self.repo.key())
        info = {r.get("name"): r for r in ((view.status or {}).get("remotes") or [])} if view else {}
        for i in range(self.table.topLevelItemCount()):
            item = self.table.topLevelItem(i)
            r = info.get(item.data(0, NAME_ROLE))
            if r is None:
                text = self.tr("not synced")
            elif r.get("error"):
                text = self.tr("failing: %1").replace("%1", str(r["error"]).splitlines()[0][:60])
            else:
                text = ago(r.get("last_sync"))
            item.setText(4, text)

    def selected_name(self) -> str:
        item = self.table.currentItem()
        return str(item.data(0, NAME_ROLE)) if item is not None else ""

    def _selected_changed(self) -> None:
        name = self.selected_name()
        row = next((r for r in self.rows if r.name == name), None)
        for w in (self.edit_cost, self.edit_mode, self.apply_button, self.remove_button):
            w.setEnabled(row is not None)
        self.cloud_settings.set_selected(name)
        if row is not None:
            self.edit_cost.setValue(row.cost if row.cost is not None else ops.default_cost(row.url))
            self.edit_mode.setCurrentIndex(max(0, self.edit_mode.findData(row.mode)))

    def apply_selected(self) -> None:
        name, key = self.selected_name(), self.repo.key()
        if not name or not key:
            return
        cost, mode = self.edit_cost.value(), str(self.edit_mode.currentData())
        self._repo_job(key, lambda d: ops.set_remote(d.root, name, cost, mode),
                       self.tr("Saved: %1 now has cost %2 and mode “%3”.").replace("%1", name)
                       .replace("%2", str(cost)).replace("%3", self.mode_names[mode]))

    def remove_selected(self) -> None:
        name, key = self.selected_name(), self.repo.key()
        if not name or not key:
            return
        answer = QMessageBox.question(self, self.tr("Remove remote?"),
                                      self.tr("Stop syncing with %1? Nothing is deleted there.")
                                      .replace("%1", name))
        if answer == QMessageBox.StandardButton.Yes:
            self._repo_job(key, lambda d: ops.remove_remote(d.root, name),
                           self.tr("Removed %1.").replace("%1", name))

    def _repo_job(self, key: str, fn: Any, ok_text: str) -> None:
        def done(_r: object, error: str | None) -> None:
            failed = self.tr("That did not work: %1").replace("%1", error or "")
            self.edit_result.setText(failed if error else ok_text)
            self.reload()

        def job(d: Any) -> None:
            fn(d)
            d.sync_now()  # the pusher re-reads the remotes

        handle = self.app.handle(key)
        if handle is None:
            done(None, self.tr("this folder is not running"))
        else:
            handle.submit(job, done)

    # -- a new remote -------------------------------------------------------------------------------
    def _kind_changed(self) -> None:
        local, cloud = self.kind_local.isChecked(), self.kind_cloud.isChecked()
        self.where.setCurrentIndex(0 if local else 2 if cloud else 1)
        if self.cost_spin.value() in ops.DEFAULT_COST.values():
            self.cost_spin.setValue(ops.DEFAULT_COST["local" if local else "ssh"])
        self.test_button.setEnabled(not cloud)  # (adding cloud storage tests it: initremote connects)
        self._clear_errors()

    def browse(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, self.tr("Choose the remote's folder"),
                                                  str(Path.home()))
        if folder:
            self.folder_edit.setText(folder)
            self.create_copy.setChecked(ops.folder_is_empty(folder))

    def _clear_errors(self) -> None:
        for err in self.errors.values():
            err.clear_error()
        self.test_result.clear()

    def checked_input(self, for_adding: bool) -> tuple[str, RemoteURL] | None:
        """(name, url) from the form, or None with every problem shown next to its field."""
        self._clear_errors()
        key = self.repo.key()
        if not key:
            self.test_result.setText(self.tr("Add a folder first (Folders page)."))
            return None
        ok = True
        name = ""
        if for_adding:
            try:
                name = ops.check_name(self.name_edit.text(), [r.name for r in self.rows])
            except ops.FieldProblem as e:
                self.errors[e.field].show_error(str(e))
                ok = False
        try:
            if self.kind_local.isChecked():
                url = ops.local_url(self.folder_edit.text())
            else:
                url = ops.ssh_url(self.user_edit.text(), self.host_edit.text(), self.port_spin.value(),
                                  self.path_edit.text())
        except ops.FieldProblem as e:
            self.errors[e.field].show_error(str(e))
            return None
        return (name, url) if ok else None

    def _busy(self, busy: bool, text: str = "") -> None:
        self.test_button.setEnabled(not busy and not self.kind_cloud.isChecked())
        self.add_button.setEnabled(not busy)
        if text:
            self.test_result.setText(text)

    def test(self) -> None:
        checked = self.checked_input(for_adding=False)
        if checked is None:
            return
        _name, url = checked
        key = self.repo.key()
        if self.kind_local.isChecked() and self.create_copy.isChecked():
            ok = ops.folder_is_empty(url.path)
            self.test_result.setText(self.tr("The folder is empty: a new copy can start there.") if ok else
                                     self.tr("The folder is not empty: a new copy needs an empty folder."))
            return
        self._busy(True, self.tr("Connecting to %1…").replace("%1", url.url))
        run_in_background(lambda: ops.test_remote(Path(key), url.url),
                          lambda reason, err: self._tested(url, reason or err), self)

    def _tested(self, url: RemoteURL, problem: str | None) -> None:
        self._busy(False)
        if problem:
            self.test_result.setText(self.tr("Cannot reach %1: %2").replace("%1", url.url)
                                     .replace("%2", problem))
        else:
            self.test_result.setText(self.tr("Reached %1: it holds a repository.").replace("%1", url.url))

    def add(self) -> None:
        if self.kind_cloud.isChecked():
            self.add_cloud()
            return
        checked = self.checked_input(for_adding=True)
        if checked is None:
            return
        name, url = checked
        key = self.repo.key()
        root = Path(key)
        new_copy = self.kind_local.isChecked() and self.create_copy.isChecked()
        cost, mode = self.cost_spin.value(), str(self.mode_combo.currentData())

        def work() -> tuple[str | None, str] | None:
            """None when added, else (field or None, reason)."""
            try:
                if new_copy:
                    ops.create_copy(root, url.path)
                else:
                    problem = ops.test_remote(root, url.url)
                    if problem:
                        return None, self.tr("the test failed: cannot reach %1: %2").replace(
                            "%1", url.url).replace("%2", problem)
                ops.add_remote(root, name, url.url, cost, mode)
            except ops.FieldProblem as e:
                return e.field, str(e)
            return None

        def done(outcome: tuple[str | None, str] | None, error: str | None) -> None:
            self._busy(False)
            if error or outcome:
                field, reason = outcome if outcome else (None, str(error))
                if field in self.errors:
                    self.errors[field].show_error(reason)
                self.test_result.setText(self.tr("Not added: %1").replace("%1", reason))
                return
            self.name_edit.clear()
            self.test_result.setText(self.tr("Added %1; syncing with it now.").replace("%1", name))
            handle = self.app.handle(key)
            if handle is not None:
                handle.sync_now()
            self.reload()

        self._busy(True, self.tr("Testing %1 before adding it…").replace("%1", url.url))
        run_in_background(work, done, self)

    # -- cloud storage ------------------------------------------------------------------------------
    def add_cloud(self) -> None:
        self._clear_errors()
        self.cloud_form.clear_errors()
        key = self.repo.key()
        if not key:
            self.test_result.setText(self.tr("Add a folder first (Folders page)."))
            return
        try:
            name = ops.check_name(self.name_edit.text(), [r.name for r in self.rows])
        except ops.FieldProblem as e:
            self.errors[e.field].show_error(str(e))
            return
        self._busy(True)
        self.cloud_form.start_add(Path(key), name, self.cost_spin.value(), str(self.mode_combo.currentData()))

    def _cloud_added(self, name: str, _warning: str) -> None:
        self._busy(False)
        self.name_edit.clear()
        handle = self.app.handle(self.repo.key())
        if handle is not None:
            handle.sync_now()  # the pusher, the poller and the scanner read the new remote
        self.reload()

    def _cloud_failed(self, field: str, message: str) -> None:
        self._busy(False)
        if field == "name":
            self.errors["name"].show_error(message)

    def show_join(self) -> JoinCloudDialog:
        if self.join_dialog is None:
            self.join_dialog = JoinCloudDialog(self.app, self)
        elif not self.join_dialog.isVisible():
            self.join_dialog.reset()
        self.join_dialog.show()
        self.join_dialog.raise_()
        return self.join_dialog
