"""The tray application: one instance per user, its repositories, its windows.

- `SingleInstance`: an flock on a file in the user's runtime directory decides who is first, and
  the first listens on a QLocalServer next to it; a second start sends its arguments there and
  leaves, and the first brings its window forward.
- `SyncApp`: owns the engine side -- one `Assistant`, the same engine object the headless daemon
  runs (drives, network, ssh change notices, notices for a person), with one `RepoHandle` per
  repository whose worker adds it to the Assistant and removes it again -- the `AppState` they
  feed, the tray icon, the notifications, and the windows (created on first use, so an idle tray
  does not pay for them).
"""

from __future__ import annotations

import fcntl
import json
import logging
import os
import tempfile
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, Signal, Slot
from PySide6.QtNetwork import QLocalServer, QLocalSocket
from PySide6.QtWidgets import QApplication, QWidget

from ..engine.daemon import Assistant
from ..engine.devices.notify import Notifier
from ..engine.events import EventHub
from . import i18n
from .config import AppConfig
from .desktop import open_folder
from .notifications import Notifications
from .state import AppState, repo_key
from .tray import Tray
from .workers import EventBridge, RepoHandle

log = logging.getLogger(__name__)

STOP_TIMEOUT_MS = 60000


def runtime_dir() -> Path:
    """A private directory for the instance lock and socket ($XDG_RUNTIME_DIR or /tmp)."""
    base = os.environ.get("XDG_RUNTIME_DIR")
    if base:
        path = Path(base) / "syncassistant"
    else:
        path = Path(tempfile.gettempdir()) / f"syncassistant-{os.getuid()}"
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    return path


class SingleInstance(QObject):
    """First start: claim() is True and `activated` fires on later starts. Later start: False."""

    activated = Signal(object)  # list of the later start's arguments

    def __init__(self, directory: Path | None = None, parent: QObject | None = None):
        super().__init__(parent)
        self.dir = directory or runtime_dir()
        self.socket_path = str(self.dir / "ui.sock")
        self._lock_fd: int | None = None
        self.server: QLocalServer | None = None
        self._buffers: dict[QLocalSocket, bytes] = {}

    def claim(self, args: list[str] | None = None) -> bool:
        fd = os.open(self.dir / "ui.lock", os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            self.tell_first(args or [])
            return False
        self._lock_fd = fd
        QLocalServer.removeServer(self.socket_path)  # a socket file left by a crashed run
        self.server = QLocalServer(self)
        self.server.setSocketOptions(QLocalServer.SocketOption.UserAccessOption)
        if not self.server.listen(self.socket_path):
            log.warning("cannot listen on %s: %s", self.socket_path, self.server.errorString())
        self.server.newConnection.connect(self._on_connection)
        return True

    def tell_first(self, args: list[str], timeout_ms: int = 3000) -> bool:
        """Send our arguments to the running instance; False if it did not answer in time."""
        sock = QLocalSocket()
        for _ in range(10):  # the first instance may hold the lock but not listen yet
            sock.connectToServer(self.socket_path)
            if sock.waitForConnected(timeout_ms // 10):
                break
        else:
            log.warning("another SyncAssistant holds the lock but does not answer")
            return False
        sock.write(json.dumps({"cmd": "activate", "args": args}).encode() + b"\n")
        ok = sock.waitForBytesWritten(timeout_ms)
        sock.disconnectFromServer()
        return ok

    def _on_connection(self) -> None:
        assert self.server is not None
        while self.server.hasPendingConnections():
            sock = self.server.nextPendingConnection()
            self._buffers[sock] = b""
            sock.readyRead.connect(lambda s=sock: self._read(s))
            sock.disconnected.connect(lambda s=sock: self._closed(s))

    def _read(self, sock: QLocalSocket) -> None:
        data = self._buffers.get(sock, b"") + bytes(sock.readAll().data())
        while b"\n" in data:
            line, data = data.split(b"\n", 1)
            try:
                msg = json.loads(line)
            except ValueError:
                continue
            if isinstance(msg, dict) and msg.get("cmd") == "activate":
                args = msg.get("args")
                self.activated.emit([str(a) for a in args] if isinstance(args, list) else [])
        self._buffers[sock] = data[-4096:]

    def _closed(self, sock: QLocalSocket) -> None:
        # No deleteLater here: the socket is the server's child and goes with it; a pending
        # deleteLater on a child whose parent is then deleted directly crashes PySide.
        self._buffers.pop(sock, None)

    def release(self) -> None:
        if self.server is not None:
            self.server.close()
            self.server = None
        if self._lock_fd is not None:
            os.close(self._lock_fd)
            self._lock_fd = None


class SyncApp(QObject):
    """The running tray app."""

    _engineNotice = Signal(object)  # a Notice for a person, emitted on an engine thread

    def __init__(self, config: AppConfig | None = None, control: bool = True,
                 notifier: Notifier | None = None, parent: QObject | None = None):
        super().__init__(parent)
        qapp = QApplication.instance()
        if qapp is not None:
            i18n.install(qapp)
        self.config = config or AppConfig()
        self.control = control
        self.hub = EventHub()
        self.bridge = EventBridge(self.hub, self)
        # One engine for every repository: its device monitor and network watcher serve them
        # all, as in the headless daemon. Its notices come on engine threads; the signal takes
        # them to the Notifications in the GUI thread.
        self.assistant = Assistant(control=control, notify=self._engineNotice.emit, events=self.hub)
        self.state = AppState(self)
        self.handles: dict[str, RepoHandle] = {}
        self.windows: dict[str, QWidget] = {}
        self._retired: list[RepoHandle] = []  # removed repositories whose daemon is still stopping
        self._shut_down = False

        self.bridge.transfer.connect(lambda repo, t: self.state.update_transfer(repo_key(repo), t))
        self.bridge.limits.connect(lambda repo, lim: self.state.set_limits(repo_key(repo), lim))

        self.tray = Tray(self.state, self)
        self.tray.openFolderRequested.connect(self.open_folder)
        self.tray.repoLineActivated.connect(self.show_repository)
        self.tray.pauseRequested.connect(self.pause_all)
        self.tray.resumeRequested.connect(self.resume_all)
        self.tray.syncNowRequested.connect(self.sync_all)
        self.tray.overrideConditionsRequested.connect(self.override_conditions)
        self.tray.transfersRequested.connect(self.show_transfers)
        self.tray.conflictsRequested.connect(self.show_conflicts)
        self.tray.historyRequested.connect(self.show_history)
        self.tray.settingsRequested.connect(self.show_settings)
        self.tray.inviteRequested.connect(self.show_invite)
        self.tray.joinRequested.connect(self.show_join)
        self.tray.quitRequested.connect(self.quit)
        self.notifications = Notifications(self.bridge, self.state, self.tray.icon,
                                           lambda: bool(self.config.notifications), notifier, self)
        self._engineNotice.connect(self.notifications.show_notice)

    # -- repositories -----------------------------------------------------------------------------
    def start(self, show_tray: bool = True) -> None:
        self.assistant.start()  # drives and network first: a drive away is offline before a push
        for path in self.config.repositories:
            self.open_repository(path)
        if show_tray:
            self.tray.show()

    def open_repository(self, path: str) -> RepoHandle:
        """Start syncing a repository (in its own thread); its state shows up in AppState."""
        key = repo_key(path)
        if key in self.handles:
            return self.handles[key]
        handle = RepoHandle(path, self.assistant, self)
        w = handle.worker
        # Methods of this GUI-thread object, not lambdas: PySide6 runs a lambda in the thread of
        # the sender (here the worker's), so AppState was changed from the worker thread, and a
        # test saw the problem set before the summary was (CI, test_a_folder_that_cannot_start).
        w.started.connect(self._on_started)
        w.startFailed.connect(self._on_start_failed)
        w.stopped.connect(self._on_stopped)
        w.statusReady.connect(self.state.set_status)
        w.transfersReady.connect(self.state.set_transfers)
        w.transfersReady.connect(self._apply_saved_limits)
        self.handles[key] = handle
        self.state.add(key)
        handle.start()
        return handle

    @Slot(str)
    def _on_started(self, key: str) -> None:
        self.state.set_running(key, True)

    @Slot(str, str)
    def _on_start_failed(self, key: str, message: str) -> None:
        self.state.set_running(key, False, message)

    @Slot(str)
    def _on_stopped(self, key: str) -> None:
        self.state.set_running(key, False)

    def add_repository(self, path: str) -> str:
        """Remember and start an initialised repository; returns its key."""
        self.config.add_repository(path)
        return self.open_repository(path).key

    def remove_repository(self, key: str) -> None:
        """Stop syncing a repository and forget it (its files stay where they are)."""
        handle = self.handles.pop(key, None)
        if handle is not None:
            self.config.remove_repository(handle.path)
            # still stopping (a commit may be under way): shutdown() waits for it too, so no git
            # process is cut off when the app quits right after
            self._retired.append(handle)
            handle.thread.finished.connect(self._retired_stopped)
            handle.stop()
        else:
            self.config.remove_repository(key)
        self.state.remove(key)

    @Slot()
    def _retired_stopped(self) -> None:
        for h in [h for h in self._retired if h.thread.isFinished()]:
            self._retired.remove(h)
            h.deleteLater()

    def handle(self, key: str) -> RepoHandle | None:
        return self.handles.get(key)

    # -- actions ----------------------------------------------------------------------------------
    def pause_all(self) -> None:
        for h in self.handles.values():
            h.pause()

    def resume_all(self) -> None:
        for h in self.handles.values():
            h.resume()

    def sync_all(self) -> None:
        for h in self.handles.values():
            h.sync_now()

    def override_conditions(self, seconds: float | None = None) -> None:
        """Sync every folder for an hour whatever the run conditions say (the engine's verb;
        it does not block, and each folder's status event tells the tray when it took effect)."""
        self.assistant.override_conditions(seconds)

    def open_folder(self, key: str) -> None:
        open_folder(key)

    def show_repository(self, key: str) -> None:
        """A folder's status line was chosen: show what needs attention there, else the folder."""
        view = self.state.views.get(key)
        if view is None:
            return
        if view.conflicts:
            self.show_conflicts()
        elif view.problem or (view.status or {}).get("errors"):
            self.show_settings("repositories")
        elif view.active_transfers():
            self.show_transfers()
        else:
            self.open_folder(key)

    # -- speed limits (kept in settings.json, applied to each repository's transfer manager) -------
    def saved_limits(self) -> dict[str, Any]:
        lim = self.config.get("limits")
        return lim if isinstance(lim, dict) else {}

    def set_global_limit(self, upload: int | None = None, download: int | None = None) -> None:
        """Change the limit for all folders now, and remember it."""
        lim = dict(self.saved_limits())
        if upload is not None:
            lim["upload"] = int(upload)
        if download is not None:
            lim["download"] = int(download)
        self.config.set("limits", lim)
        for view in self.state.ordered():
            handle = self.handles.get(view.key)
            if view.has_transfers and handle is not None:
                handle.submit(lambda d: d.set_limit(upload=upload, download=download))

    def set_auto_limit(self, on: bool) -> None:
        """The automatic upload limit (engine/transfers/autolimit.py) for all folders, now and
        for folders opened later."""
        self.config.set("limits", {**self.saved_limits(), "auto": bool(on)})
        for view in self.state.ordered():
            handle = self.handles.get(view.key)
            if view.has_transfers and handle is not None:
                handle.submit(lambda d: d.set_auto_limit(bool(on)))

    def set_remote_limit(self, key: str, remote: str, upload: int | None = None,
                         download: int | None = None) -> None:
        """Change one remote's limit in one folder now, and remember it."""
        lim = dict(self.saved_limits())
        per_repo = dict((lim.get("remotes") or {}).get(key) or {})
        entry = dict(per_repo.get(remote) or {})
        if upload is not None:
            entry["upload"] = int(upload)
        if download is not None:
            entry["download"] = int(download)
        per_repo[remote] = entry
        lim["remotes"] = {**(lim.get("remotes") or {}), key: per_repo}
        self.config.set("limits", lim)
        handle = self.handles.get(key)
        if handle is not None:
            handle.submit(lambda d: d.set_limit(upload=upload, download=download, remote=remote))

    def _apply_saved_limits(self, key: str, _transfers: object, _limits: object, available: bool) -> None:
        lim = self.saved_limits()
        handle = self.handles.get(key)
        if not available or handle is None or not lim:
            return
        up, down = lim.get("upload"), lim.get("download")
        remotes = dict((lim.get("remotes") or {}).get(key) or {})

        auto = lim.get("auto")

        def apply(d: Any) -> None:
            if up is not None or down is not None:
                d.set_limit(upload=up, download=down)
            if auto is not None and bool(auto) != d.limits().get("auto_upload"):
                d.set_auto_limit(bool(auto))
            for name, entry in remotes.items():
                d.set_limit(upload=entry.get("upload"), download=entry.get("download"), remote=name)

        handle.submit(apply)

    # -- windows ------------------------------------------------------------------------------------
    def _show(self, name: str, make: Any) -> QWidget:
        win = self.windows.get(name)
        if win is None:
            win = self.windows[name] = make()
        win.show()
        win.raise_()
        win.activateWindow()
        return win

    def show_transfers(self) -> QWidget:
        from .transfers_window import TransfersWindow

        return self._show("transfers", lambda: TransfersWindow(self))

    def show_conflicts(self) -> QWidget:
        from .conflicts_window import ConflictsWindow

        return self._show("conflicts", lambda: ConflictsWindow(self))

    def show_history(self) -> QWidget:
        """"Recent changes…": what changed in the folders, where and when; restoring versions."""
        from .history_window import HistoryWindow

        return self._show("history", lambda: HistoryWindow(self))

    def show_settings(self, page: str | None = None) -> QWidget:
        from .settings_dialog import SettingsDialog

        win = self._show("settings", lambda: SettingsDialog(self))
        if page:
            win.show_page(page)  # type: ignore[attr-defined]
        return win

    def show_invite(self, key: str | None = None) -> QWidget:
        """"Connect another device…": a one-time code for one of our folders (`key`, if given)."""
        from .invite_dialog import InviteDialog

        win = self._show("invite", lambda: InviteDialog(self))
        if key:
            win.choose(key)  # type: ignore[attr-defined]
        return win

    def show_join(self) -> QWidget:
        """"Join with a code…": connect a folder here to the device that shows the code."""
        from .invite_dialog import JoinDialog

        return self._show("join", lambda: JoinDialog(self))

    def activate(self, args: object = None) -> None:
        """A second start: bring a window forward (the last one open, else Settings)."""
        for name in ("conflicts", "transfers", "history", "settings"):
            win = self.windows.get(name)
            if win is not None and win.isVisible():
                win.raise_()
                win.activateWindow()
                return
        self.show_settings()

    # -- the end ------------------------------------------------------------------------------------
    def shutdown(self) -> None:
        """Stop every repository's daemon (in parallel), wait for their threads, then the engine."""
        if self._shut_down:
            return
        self._shut_down = True
        for win in self.windows.values():
            win.close()
        from .invite_job import cancel_all

        if not cancel_all():  # an invitation under way takes back what it made first
            log.warning("an invitation did not end in time")
        for h in self.handles.values():
            h.stop()
        for h in [*self.handles.values(), *self._retired]:
            if not h.wait(STOP_TIMEOUT_MS):
                log.warning("%s: the daemon did not stop in time", h.path)
        self.assistant.stop()
        self.bridge.close()
        self.notifications.close()
        self.tray.hide()

    def quit(self) -> None:
        self.shutdown()
        app = QApplication.instance()
        if app is not None:
            app.quit()
