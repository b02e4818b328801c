"""The "When to sync" box of the Folders page: one folder's run conditions (metered connection,
battery and a charge threshold, the networks it syncs fully on), kept in that folder's git config (engine/devices/conditions.py).

A change is written at once (off the GUI thread) and the engine is told to apply it; the line at
the bottom says what the conditions do right now, from the folder's status.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtWidgets import (
    QComboBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from ...engine.devices.conditions import Conditions, read_conditions, write_conditions
from ...engine.proc.git import Git
from ..state import conditions_text
from ..widgets import ErrorLabel, note
from ..workers import run_in_background


class ConditionsBox(QGroupBox):
    """Run conditions of the folder chosen with :meth:`set_repo`."""

    def __init__(self, app: Any, parent: QWidget | None = None):
        super().__init__(parent)
        self.app = app
        self.key = ""
        self._shown: Conditions | None = None  # what the widgets were last filled with
        self.setTitle(self.tr("When to sync"))
        self.setAccessibleName(self.tr("When to sync"))
        self.metered = self._choices(self.tr("On a metered connection"),
                                     self.tr("What to do on a metered connection"))
        self.battery = self._choices(self.tr("On battery"), self.tr("What to do on battery"))
        self.below = QSpinBox(self)
        self.below.setAccessibleName(self.tr("Only below this battery charge"))
        self.below.setRange(0, 100)
        self.below.setSingleStep(5)
        self.below.setSuffix(" %")
        self.below.setMinimumWidth(140)
        self.below.setSpecialValueText(self.tr("at any charge"))  # 0: whenever on battery
        self.networks = QLineEdit(self)
        self.networks.setAccessibleName(self.tr("Networks this folder syncs fully on"))
        self.networks.setPlaceholderText(self.tr("any network; or names, like Home, Office"))
        self.networks.setToolTip(self.tr("Network connection names, separated by commas (a Wi-Fi "
                                         "network's name, unless you renamed the connection)"))
        self.elsewhere = QComboBox(self)
        self.elsewhere.setAccessibleName(self.tr("On other networks"))
        self.elsewhere.view().setAccessibleName(self.tr("What to do on other networks"))
        self.elsewhere.addItem(self.tr("Sync changes, hold file content"), "hold-content")
        self.elsewhere.addItem(self.tr("Pause syncing"), "pause")
        self.error = ErrorLabel(self.battery, self)
        self.now = QLabel(self)
        self.now.setWordWrap(True)
        self.now.setAccessibleName(self.tr("What the conditions do now"))

        form = QFormLayout()
        form.addRow(self.tr("On a &metered connection:"), self.metered)
        form.addRow(self.tr("On &battery:"), self.battery)
        below_row = QHBoxLayout()
        below_row.addWidget(self.below)
        below_row.addStretch(1)
        below_label = QLabel(self.tr("&Only below:"), self)
        below_label.setBuddy(self.below)  # (a row of a layout gets no buddy by itself)
        form.addRow(below_label, below_row)
        form.addRow(self.tr("Only on net&works:"), self.networks)
        form.addRow(self.tr("On &other networks:"), self.elsewhere)
        lay = QVBoxLayout(self)
        lay.addLayout(form)
        lay.addWidget(self.error)
        lay.addWidget(note(self.tr("Holding file content: changes, new files and deletions still reach your "
                                   "other devices; the content of files waits. The tray's “Sync anyway for "
                                   "an hour” lifts these conditions for a while."), self))
        lay.addWidget(self.now)

        self.metered.activated.connect(lambda _i: self._write(on_metered=self.metered.currentData()))
        self.battery.activated.connect(lambda _i: self._write(on_battery=self.battery.currentData()))
        self.below.editingFinished.connect(self._below_finished)
        self.networks.editingFinished.connect(self._networks_finished)
        self.elsewhere.activated.connect(lambda _i: self._write(on_other_networks=self.elsewhere.currentData()))
        app.state.repoChanged.connect(self._repo_changed)
        self.set_repo("")

    def _choices(self, name: str, choices_name: str) -> QComboBox:
        box = QComboBox(self)
        box.setAccessibleName(name)
        box.view().setAccessibleName(choices_name)  # (its pop-up list, read out on its own)
        box.addItem(self.tr("Sync everything"), "sync")
        box.addItem(self.tr("Sync changes, hold file content"), "hold-content")
        box.addItem(self.tr("Pause syncing"), "pause")
        return box

    # -- the folder ------------------------------------------------------------------------------
    def set_repo(self, key: str) -> None:
        """Show (and edit) the conditions of the folder ``key`` ("" : none chosen)."""
        if key == self.key and key:
            return
        self.key = key
        view = self.app.state.views.get(key)
        self.setTitle(self.tr("When %1 syncs").replace("%1", view.name) if view is not None
                      else self.tr("When to sync"))
        for w in (self.metered, self.battery, self.below, self.networks, self.elsewhere):
            w.setEnabled(False)
        self.error.clear_error()
        self._show_now()
        if key:
            run_in_background(lambda: read_conditions(Git(key)), lambda c, e, k=key: self._loaded(k, c, e), self)

    def _loaded(self, key: str, cond: Conditions | None, error: str | None) -> None:
        if key != self.key:
            return  # another folder was chosen meanwhile
        if error or cond is None:
            self.error.show_error(self.tr("Cannot read this folder's settings: %1").replace("%1", str(error)))
            return
        self._show(cond)

    def _show(self, cond: Conditions) -> None:
        self._shown = cond
        for box, value in ((self.metered, cond.on_metered), (self.battery, cond.on_battery),
                           (self.elsewhere, cond.on_other_networks)):
            box.blockSignals(True)
            box.setCurrentIndex(max(0, box.findData(value)))
            box.blockSignals(False)
            box.setEnabled(True)
        self.below.blockSignals(True)
        self.below.setValue(cond.battery_below)
        self.below.blockSignals(False)
        self.below.setEnabled(cond.on_battery != "sync")
        self.networks.setText(", ".join(cond.only_networks))
        self.networks.setEnabled(True)
        self.elsewhere.setEnabled(bool(cond.only_networks))
        if cond.problems:  # a value set by hand that means nothing: it syncs, and says so here
            self.error.show_error("\n".join(cond.problems))
        else:
            self.error.clear_error()

    def conditions(self) -> Conditions:
        """What the widgets show."""
        return Conditions(self.metered.currentData(), self.battery.currentData(), self.below.value(),
                          tuple(n.strip() for n in self.networks.text().split(",") if n.strip()),
                          self.elsewhere.currentData())

    # -- changes ------------------------------------------------------------------------------------
    # (editingFinished also comes when the field merely loses focus: write changes only)
    def _below_finished(self) -> None:
        if self._shown is not None and self.below.value() != self._shown.battery_below:
            self._write(battery_below=self.below.value())

    def _networks_finished(self) -> None:
        if self._shown is not None and self.conditions().only_networks != self._shown.only_networks:
            self._write(only_networks=self.networks.text())

    def _write(self, **values: Any) -> None:
        key = self.key
        if not key:
            return
        self.below.setEnabled(self.battery.currentData() != "sync")
        run_in_background(lambda: write_conditions(Git(key), **values),
                          lambda c, e, k=key: self._written(k, c, e), self)

    def _written(self, key: str, cond: Conditions | None, error: str | None) -> None:
        if error or cond is None:
            self.error.show_error(self.tr("Could not change it: %1").replace("%1", str(error)))
            return
        self.app.assistant.reapply_conditions()  # the engine reads them again (not blocking)
        if key == self.key:
            self._show(cond)

    # -- what they do now ---------------------------------------------------------------------------
    def _repo_changed(self, key: str) -> None:
        if key == self.key:
            self._show_now()

    def _show_now(self) -> None:
        view = self.app.state.views.get(self.key)
        report = (view.status or {}).get("conditions") if view is not None else None
        if not report:
            self.now.setText("")
        elif view is not None and view.held_by_conditions:
            self.now.setText(self.tr("Now: %1").replace("%1", conditions_text(report)))
        elif view is not None and view.conditions_overridden:
            self.now.setText(self.tr("Now: syncing anyway, as you asked"))
        else:
            self.now.setText(self.tr("Now: syncing everything"))
