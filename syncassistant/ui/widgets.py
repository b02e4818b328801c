"""Small widgets the windows share: an error line under a field, a speed-limit field, a page title."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QPalette
from PySide6.QtWidgets import QFormLayout, QLabel, QLineEdit, QToolButton, QVBoxLayout, QWidget

from .units import BadRate, format_rate, parse_rate

ERROR_STYLE = "color: #c01c28;"


class ErrorLabel(QLabel):
    """A message next to (under) a field that refused its input; hidden while there is none."""

    def __init__(self, field: QWidget, parent: QWidget | None = None):
        super().__init__(parent)
        self.field = field
        self.setWordWrap(True)
        self.setStyleSheet(ERROR_STYLE)
        self.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        name = field.accessibleName() or field.objectName()
        self.setAccessibleName(self.tr("Problem with %1").replace("%1", name) if name else self.tr("Problem"))
        self.hide()

    def show_error(self, message: str) -> None:
        self.setText(message)
        self.field.setAccessibleDescription(message)
        self.show()

    def clear_error(self) -> None:
        self.setText("")
        self.field.setAccessibleDescription("")
        self.hide()

    @property
    def has_error(self) -> bool:
        return bool(self.text())


def field_with_error(field: QWidget, parent: QWidget | None = None) -> tuple[QWidget, ErrorLabel]:
    """`field` above its error label, in one widget for a form row."""
    box = QWidget(parent)
    lay = QVBoxLayout(box)
    lay.setContentsMargins(0, 0, 0, 0)
    lay.setSpacing(2)
    lay.addWidget(field)
    err = ErrorLabel(field, box)
    lay.addWidget(err)
    return box, err


class RateField(QWidget):
    """A speed limit typed as text ("500 KB/s", "2M", empty = no limit), checked on the spot."""

    committed = Signal(int)  # a valid new value in bytes/s (0 = no limit), after editing finished

    def __init__(self, accessible_name: str, parent: QWidget | None = None):
        super().__init__(parent)
        self.edit = QLineEdit(self)
        self.edit.setAccessibleName(accessible_name)
        self.edit.setPlaceholderText(self.tr("unlimited"))
        self.edit.setToolTip(self.tr("A speed like 500 KB/s or 2 MB/s; empty or 0 for no limit"))
        self.edit.setClearButtonEnabled(True)
        for button in self.edit.findChildren(QToolButton):  # the clear button Qt adds
            button.setAccessibleName(self.tr("Clear %1").replace("%1", accessible_name))
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.setSpacing(2)
        lay.addWidget(self.edit)
        self.error = ErrorLabel(self.edit, self)
        lay.addWidget(self.error)
        self._last: int | None = None
        self.edit.editingFinished.connect(self._finished)
        self.edit.textEdited.connect(lambda _t: self.error.clear_error())

    def value(self) -> int | None:
        """Bytes/s, or None (and the reason shown next to the field) when the text is no speed."""
        try:
            rate = parse_rate(self.edit.text())
        except BadRate as e:
            self.error.show_error(self.tr("Not accepted: %1").replace("%1", str(e)))
            return None
        self.error.clear_error()
        return rate

    def set_value(self, rate: int | None, force: bool = False) -> None:
        """Show the engine's current value (unless the person has typed something not yet
        applied, or `force`)."""
        if self.edit.isModified() and not force:
            return
        self._last = int(rate or 0)
        self.edit.setText(format_rate(rate, unlimited=""))
        self.error.clear_error()

    def _finished(self) -> None:
        rate = self.value()
        if rate is None:
            return
        self.edit.setModified(False)
        if rate != self._last:
            self._last = rate
            self.committed.emit(rate)


def add_row(form: QFormLayout, text: str, field: QWidget, buddy: QWidget | None = None) -> QLabel:
    """A form row whose label (with its &-shortcut) focuses `buddy` (default: the field)."""
    label = QLabel(text, field.parentWidget())
    label.setBuddy(buddy or field)
    form.addRow(label, field)
    return label


def heading(text: str, parent: QWidget | None = None) -> QLabel:
    label = QLabel(text, parent)
    font = label.font()
    font.setPointSizeF(font.pointSizeF() * 1.25)
    font.setBold(True)
    label.setFont(font)
    label.setAccessibleName(text)
    return label


def note(text: str, parent: QWidget | None = None) -> QLabel:
    """A wrapped, dimmed explanation under a heading."""
    label = QLabel(text, parent)
    label.setWordWrap(True)
    pal = label.palette()
    pal.setColor(QPalette.ColorRole.WindowText, pal.color(QPalette.ColorRole.PlaceholderText))
    label.setPalette(pal)
    label.setAccessibleName(text)
    return label
