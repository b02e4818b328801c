"""The tray icon: a state icon, a one-line tooltip and the menu.

It reads `AppState` and reports what the person chose through signals; the app controller
decides what each choice does. Icons: resources/icons/state-<state>.svg.
"""

from __future__ import annotations

from PySide6.QtCore import QObject, Signal
from PySide6.QtGui import QAction, QCursor
from PySide6.QtWidgets import QMenu, QSystemTrayIcon

from .icons import state_icon
from .state import AppState, RepoView, ago, last_sync, repo_summary


class Tray(QObject):
    repoLineActivated = Signal(str)  # repo key: the person chose a folder's status line
    openFolderRequested = Signal(str)  # repo key
    pauseRequested = Signal()
    resumeRequested = Signal()
    overrideConditionsRequested = Signal()  # "Sync anyway for an hour": run conditions lifted
    syncNowRequested = Signal()
    transfersRequested = Signal()
    conflictsRequested = Signal()
    historyRequested = Signal()  # "Recent changes…": what changed where, and restoring versions
    settingsRequested = Signal()
    inviteRequested = Signal()  # "Connect another device…": show a one-time code
    joinRequested = Signal()  # "Join with a code…": the code another device shows
    quitRequested = Signal()

    def __init__(self, state: AppState, parent: QObject | None = None):
        super().__init__(parent)
        self.state = state
        self.icon = QSystemTrayIcon(self)
        self.menu = QMenu()
        self.menu.setAccessibleName(self.tr("SyncAssistant menu"))
        self._status_actions: dict[str, QAction] = {}
        self._separator_after_status = self.menu.addSeparator()

        self.open_action = self.menu.addAction(self.tr("Open folder"))
        self.open_menu = QMenu(self.tr("Open folder"), self.menu)
        self.open_menu.setAccessibleName(self.tr("Open a synced folder"))
        self.open_action.triggered.connect(self._open_single)
        self.pause_action = self.menu.addAction(self.tr("Pause syncing"))
        self.pause_action.triggered.connect(self._toggle_pause)
        self.sync_action = self.menu.addAction(self.tr("Sync now"))
        self.sync_action.triggered.connect(self.syncNowRequested)
        # only while a run condition (metered network, battery) holds a folder
        self.override_action = self.menu.addAction(self.tr("Sync anyway for an hour"))
        self.override_action.setToolTip(self.tr("Sync every folder now, whatever the connection or the "
                                                "battery; the conditions apply again after an hour"))
        self.override_action.triggered.connect(self.overrideConditionsRequested)
        self.override_action.setVisible(False)
        self.menu.addSeparator()
        self.transfers_action = self.menu.addAction(self.tr("Transfers…"))
        self.transfers_action.triggered.connect(self.transfersRequested)
        self.conflicts_action = self.menu.addAction(self.tr("Conflicts…"))
        self.conflicts_action.triggered.connect(self.conflictsRequested)
        self.history_action = self.menu.addAction(self.tr("Recent changes…"))
        self.history_action.triggered.connect(self.historyRequested)
        self.invite_action = self.menu.addAction(self.tr("Connect another device…"))
        self.invite_action.triggered.connect(self.inviteRequested)
        self.join_action = self.menu.addAction(self.tr("Join with a code…"))
        self.join_action.triggered.connect(self.joinRequested)
        self.settings_action = self.menu.addAction(self.tr("Settings…"))
        self.settings_action.triggered.connect(self.settingsRequested)
        self.menu.addSeparator()
        self.quit_action = self.menu.addAction(self.tr("Quit"))
        self.quit_action.triggered.connect(self.quitRequested)

        self.icon.setContextMenu(self.menu)
        self.icon.activated.connect(self._activated)
        self.menu.aboutToShow.connect(self.refresh)
        state.reposChanged.connect(self._rebuild_repos)
        state.repoChanged.connect(lambda _key: self.refresh())
        state.summaryChanged.connect(lambda _s: self._update_icon())
        self._rebuild_repos()
        self._update_icon()

    def show(self) -> None:
        self.icon.show()

    def hide(self) -> None:
        self.icon.hide()

    # -- state -> widgets --------------------------------------------------------------------------
    def _update_icon(self) -> None:
        s = self.state.summary
        self.icon.setIcon(state_icon(s.state))
        self.icon.setToolTip(self.tr("SyncAssistant: %1").replace("%1", s.text))

    def _rebuild_repos(self) -> None:
        for act in self._status_actions.values():
            self.menu.removeAction(act)
            act.deleteLater()
        self._status_actions.clear()
        self.open_menu.clear()
        for view in self.state.ordered():
            act = QAction(view.name, self.menu)
            act.setToolTip(self.tr("Show what needs attention in %1").replace("%1", view.name))
            act.triggered.connect(lambda _checked=False, k=view.key: self.repoLineActivated.emit(k))
            self.menu.insertAction(self._separator_after_status, act)
            self._status_actions[view.key] = act
            self.open_menu.addAction(view.name).triggered.connect(
                lambda _checked=False, k=view.key: self.openFolderRequested.emit(k))
        many = len(self._status_actions) > 1
        self.open_action.setMenu(self.open_menu if many else None)
        self.refresh()

    def status_line(self, view: RepoView) -> str:
        s = repo_summary(view)
        line = self.tr("%1: %2").replace("%1", view.name).replace("%2", s.text)
        if s.state == "idle" and last_sync(view):
            line = self.tr("%1 (synced %2)").replace("%1", line).replace("%2", ago(last_sync(view)))
        return line

    def refresh(self) -> None:
        """Update the menu's status lines and action states from AppState."""
        views = self.state.ordered()
        for view in views:
            act = self._status_actions.get(view.key)
            if act is not None:
                act.setText(self.status_line(view))
                act.setIcon(state_icon(repo_summary(view).state))
        if not views:
            self._placeholder()
        running = [v for v in views if v.running]
        all_paused = bool(running) and all(v.paused for v in running)
        self.pause_action.setText(self.tr("Resume syncing") if all_paused else self.tr("Pause syncing"))
        self.pause_action.setEnabled(bool(running))
        self.sync_action.setEnabled(bool(running) and not all_paused)
        self.open_action.setEnabled(bool(views))
        self.override_action.setVisible(any(v.held_by_conditions for v in running))
        self.invite_action.setEnabled(bool(views))  # (an invitation is to a folder)
        self.history_action.setEnabled(bool(views))
        n = sum(len(v.conflicts) for v in views)
        self.conflicts_action.setText(self.tr("Conflicts (%n)…", "", n) if n else self.tr("Conflicts…"))
        self._update_icon()

    def _placeholder(self) -> None:
        if "" not in self._status_actions:
            act = QAction(self.tr("No folders yet: add one in Settings"), self.menu)
            act.triggered.connect(self.settingsRequested)
            self.menu.insertAction(self._separator_after_status, act)
            self._status_actions[""] = act

    # -- widgets -> requests ---------------------------------------------------------------------
    def _toggle_pause(self) -> None:
        running = [v for v in self.state.ordered() if v.running]
        if running and all(v.paused for v in running):
            self.resumeRequested.emit()
        else:
            self.pauseRequested.emit()

    def _open_single(self) -> None:
        views = self.state.ordered()
        if len(views) == 1:
            self.openFolderRequested.emit(views[0].key)

    def _activated(self, reason: QSystemTrayIcon.ActivationReason) -> None:
        if reason == QSystemTrayIcon.ActivationReason.Trigger:
            self.refresh()
            self.menu.popup(QCursor.pos())
