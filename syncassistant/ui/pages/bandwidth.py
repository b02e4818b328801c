"""Settings page "Bandwidth": speed limits for all folders and for each remote, applied at once."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QSignalBlocker
from PySide6.QtWidgets import QCheckBox, QFormLayout, QGridLayout, QGroupBox, QLabel, QVBoxLayout, QWidget

from ..units import format_rate
from ..widgets import RateField, add_row, heading, note


class BandwidthPage(QWidget):
    def __init__(self, app: Any, parent: QWidget | None = None):
        super().__init__(parent)
        self.app = app
        self.state = app.state
        self.setAccessibleName(self.tr("Bandwidth"))

        box = QGroupBox(self.tr("All folders"), self)
        box.setAccessibleName(self.tr("Limits for all folders"))
        self.upload = RateField(self.tr("Upload limit for all folders"), box)
        self.download = RateField(self.tr("Download limit for all folders"), box)
        self.upload.committed.connect(lambda r: self.app.set_global_limit(upload=r))
        self.download.committed.connect(lambda r: self.app.set_global_limit(download=r))
        form = QFormLayout(box)
        add_row(form, self.tr("&Upload:"), self.upload, self.upload.edit)
        add_row(form, self.tr("&Download:"), self.download, self.download.edit)
        # clicked, not toggled: only the person's choice goes to the engine, not a reload's
        self.auto = QCheckBox(self.tr("&Automatic upload limit for servers (ssh)"), box)
        self.auto.setAccessibleName(self.tr("Automatic upload limit"))
        self.auto.clicked.connect(self.app.set_auto_limit)
        form.addRow(self.auto)
        form.addRow(note(self.tr("Uploads then slow down as soon as they start to delay other traffic on "
                                 "your network (video calls, web pages), and use the whole connection when "
                                 "nothing else does. A limit typed above still applies."), box))
        self.uplink = QLabel("", box)
        self.uplink.setAccessibleName(self.tr("Estimated upload speed"))
        self.uplink.setWordWrap(True)
        form.addRow(self.uplink)

        self.per_remote = QGroupBox(self.tr("Per remote"), self)
        self.per_remote.setAccessibleName(self.tr("Limits per remote"))
        self.grid = QGridLayout(self.per_remote)
        self.fields: dict[tuple[str, str, str], RateField] = {}
        self._shape: list[tuple[str, str]] = []
        self.unavailable = note("", self)

        lay = QVBoxLayout(self)
        lay.addWidget(heading(self.tr("Bandwidth"), self))
        lay.addWidget(note(self.tr("Limit how fast file content moves, for example on a slow or metered "
                                   "connection. Type a speed like 500 KB/s or 2 MB/s; leave empty for no "
                                   "limit. A remote's own limit applies on top of the one for all folders."),
                           self))
        lay.addWidget(self.unavailable)
        lay.addWidget(box)
        lay.addWidget(self.per_remote)
        lay.addStretch(1)

        self.state.repoChanged.connect(lambda _k: self.reload())
        self.state.reposChanged.connect(self.reload)
        self.state.limitsChanged.connect(lambda _k, _l: self.reload())
        self.reload()

    def reload(self) -> None:
        views = [v for v in self.state.ordered() if v.has_transfers]
        self.unavailable.setVisible(not views)
        self.unavailable.setText(self.tr("No folder is running the transfer engine right now, so limits "
                                         "cannot be changed here yet."))
        for w in (self.upload, self.download, self.per_remote, self.auto):
            w.setEnabled(bool(views))
        saved = self.app.saved_limits()
        current = next((v.limits for v in views if v.limits), None) or saved
        self.upload.set_value(current.get("upload") or 0)
        self.download.set_value(current.get("download") or 0)
        with QSignalBlocker(self.auto):
            self.auto.setChecked(bool(current.get("auto_upload", saved.get("auto"))))
        self.uplink.setText(self._uplink_text(views) if self.auto.isChecked() else "")
        shape = [(v.key, r["name"]) for v in views for r in (v.status or {}).get("remotes") or []]
        if shape != self._shape:
            self._rebuild(shape)
        for (key, remote, direction), field in self.fields.items():
            view = self.state.views.get(key)
            remotes = ((view.limits or {}).get("remotes") or {}) if view else {}
            field.set_value((remotes.get(remote) or {}).get(direction) or 0)

    def _uplink_text(self, views: list[Any]) -> str:
        """What the automatic limit learnt of each server's link, e.g. "server: about 1.8 MB/s"."""
        many = len(views) > 1
        parts = []
        for v in views:
            for remote, st in sorted(((v.limits or {}).get("auto_status") or {}).items()):
                if not st.get("uplink"):
                    continue
                title = f"{v.name} → {remote}" if many else remote
                parts.append(self.tr("%1: about %2").replace("%1", title).replace("%2", format_rate(st["uplink"])))
        if not parts:
            return self.tr("The upload speed of each connection is measured during the first large upload.")
        return self.tr("Measured upload speed: %1").replace("%1", "; ".join(parts))

    def _rebuild(self, shape: list[tuple[str, str]]) -> None:
        self._shape = shape
        while self.grid.count():
            w = self.grid.takeAt(0).widget()
            if w is not None:
                w.deleteLater()
        self.fields.clear()
        if not shape:
            empty = QLabel(self.tr("No remotes yet: add one on the Remotes page."), self.per_remote)
            self.grid.addWidget(empty, 0, 0, 1, 3)
            return
        for col, text in enumerate((self.tr("Remote"), self.tr("Upload"), self.tr("Download"))):
            label = QLabel(f"<b>{text}</b>", self.per_remote)
            self.grid.addWidget(label, 0, col)
        many = len({k for k, _ in shape}) > 1
        for row, (key, remote) in enumerate(shape, start=1):
            view = self.state.views[key]
            title = f"{view.name} → {remote}" if many else remote
            self.grid.addWidget(QLabel(title, self.per_remote), row, 0)
            for col, direction in ((1, "upload"), (2, "download")):
                name = (self.tr("Upload limit for %1") if direction == "upload"
                        else self.tr("Download limit for %1")).replace("%1", title)
                field = RateField(name, self.per_remote)
                field.committed.connect(lambda rate, k=key, r=remote, d=direction: self.app.set_remote_limit(
                    k, r, **{d: rate}))
                self.grid.addWidget(field, row, col)
                self.fields[(key, remote, direction)] = field
        self.grid.setColumnStretch(1, 1)
        self.grid.setColumnStretch(2, 1)
