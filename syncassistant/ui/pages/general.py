"""Settings page "General": start at login, notifications, where secrets are kept, and the way to
each folder's run conditions (they are per folder, so they live on the Folders page)."""

from __future__ import annotations

from typing import Any

from PySide6.QtWidgets import QCheckBox, QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from ..config import autostart_file, set_start_at_login, start_at_login_enabled
from ..state import display_path
from ..widgets import ErrorLabel, heading, note


def keyring_name() -> str:
    """The keyring backend secrets go to, for a person to read."""
    try:
        import keyring

        kr = keyring.get_keyring()
    except Exception as e:  # a broken keyring setup must not break the settings page
        return f"unavailable ({e})"
    name = getattr(kr, "name", None) or type(kr).__name__
    return str(name)


def keyring_usable() -> bool:
    """False for keyring's null and fail backends (nothing would be kept)."""
    try:
        import keyring

        kr = keyring.get_keyring()
    except Exception:
        return False
    return type(kr).__module__ not in ("keyring.backends.null", "keyring.backends.fail")


class GeneralPage(QWidget):
    def __init__(self, app: Any, parent: QWidget | None = None):
        super().__init__(parent)
        self.app = app
        self.setAccessibleName(self.tr("General"))

        self.autostart = QCheckBox(self.tr("&Start SyncAssistant when I log in"), self)
        self.autostart.setAccessibleName(self.tr("Start at login"))
        self.autostart.setChecked(start_at_login_enabled())
        self.autostart.toggled.connect(self._autostart)
        self.autostart_error = ErrorLabel(self.autostart, self)

        self.notify = QCheckBox(self.tr("Show &notifications about conflicts and problems"), self)
        self.notify.setAccessibleName(self.tr("Notifications"))
        self.notify.setChecked(bool(app.config.notifications))
        self.notify.toggled.connect(lambda on: app.config.set("notifications", bool(on)))
        self.test_button = QPushButton(self.tr("Send a &test notification"), self)
        self.test_button.setAccessibleName(self.tr("Send a test notification"))
        self.test_button.clicked.connect(self._test)
        test_row = QHBoxLayout()
        test_row.addWidget(self.test_button)
        test_row.addStretch(1)

        self.secrets = QLabel(self)
        self.secrets.setWordWrap(True)
        self.secrets.setAccessibleName(self.tr("Where passwords are kept"))
        name = keyring_name()
        if keyring_usable():
            self.secrets.setText(self.tr("Passphrases and tokens are kept only in the system keyring "
                                         "(%1), never in a settings file.").replace("%1", name))
        else:
            self.secrets.setText(self.tr("No system keyring is available (%1), so passphrases and tokens "
                                         "cannot be saved: you will be asked for them when needed. They "
                                         "are never written to a settings file.").replace("%1", name))

        lay = QVBoxLayout(self)
        lay.addWidget(heading(self.tr("General"), self))
        lay.addWidget(self.autostart)
        lay.addWidget(note(self.tr("Adds %1, so your desktop starts SyncAssistant in the tray.")
                           .replace("%1", display_path(autostart_file())), self))
        lay.addWidget(self.autostart_error)
        lay.addSpacing(8)
        lay.addWidget(self.notify)
        lay.addLayout(test_row)
        lay.addSpacing(8)
        lay.addWidget(heading(self.tr("Metered connections, battery and networks"), self))
        lay.addWidget(note(self.tr("Each folder can hold its file content or pause on a metered connection, "
                                   "on battery or away from the networks you name."), self))
        self.conditions_button = QPushButton(self.tr("Choose &when each folder syncs…"), self)
        self.conditions_button.setAccessibleName(self.tr("Choose when each folder syncs"))
        self.conditions_button.clicked.connect(lambda: app.show_settings("repositories"))
        conditions_row = QHBoxLayout()
        conditions_row.addWidget(self.conditions_button)
        conditions_row.addStretch(1)
        lay.addLayout(conditions_row)
        lay.addSpacing(8)
        lay.addWidget(heading(self.tr("Privacy"), self))
        lay.addWidget(self.secrets)
        lay.addStretch(1)

    def _autostart(self, on: bool) -> None:
        try:
            set_start_at_login(on)
        except OSError as e:
            self.autostart_error.show_error(self.tr("Could not change it: %1").replace("%1", str(e)))
            self.autostart.blockSignals(True)
            self.autostart.setChecked(start_at_login_enabled())
            self.autostart.blockSignals(False)
            return
        self.autostart_error.clear_error()

    def _test(self) -> None:
        self.app.notifications.notify(self.tr("SyncAssistant"),
                                      self.tr("Notifications work. You will hear from us about "
                                              "conflicts and problems that need you."), key=None)
