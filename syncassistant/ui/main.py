"""`syncassistant tray`: start the tray app (or bring the running one forward)."""

from __future__ import annotations

import argparse
import logging
import signal
import socket
import sys

from PySide6.QtCore import QSocketNotifier
from PySide6.QtWidgets import QApplication, QSystemTrayIcon

from ..engine.network import sshmux
from ..engine.proc import reaper
from . import i18n, qtcheck
from .app import SingleInstance, SyncApp
from .config import APP_ID
from .icons import app_icon

log = logging.getLogger("syncassistant.ui")


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="syncassistant tray",
                                description="Run SyncAssistant in the system tray.")
    p.add_argument("--minimized", action="store_true",
                   help="start in the tray only, without opening a window (used at login)")
    p.add_argument("-v", "--verbose", action="store_true", help="log debugging detail")
    return p


def _quit_on_signals(app: QApplication) -> QSocketNotifier:
    """SIGTERM/SIGINT end the Qt event loop cleanly (daemons stopped), via a wakeup socket."""
    rsock, wsock = socket.socketpair()
    rsock.setblocking(False)
    wsock.setblocking(False)
    signal.set_wakeup_fd(wsock.fileno())
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: None)  # the wakeup fd does the work
    notifier = QSocketNotifier(rsock.fileno(), QSocketNotifier.Type.Read, app)

    def wake() -> None:
        try:
            rsock.recv(64)
        except OSError:
            pass
        app.quit()

    notifier.activated.connect(wake)
    notifier._socks = (rsock, wsock)  # type: ignore[attr-defined]  # keep both ends alive
    return notifier


def main(argv: list[str] | None = None) -> int:
    """Run the tray app; `argv` excludes the program name. Returns the exit status."""
    args = build_parser().parse_args(sys.argv[1:] if argv is None else argv)
    broken = qtcheck.problem()
    if broken:
        print(f"syncassistant: {broken}", file=sys.stderr)
        return 1
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.INFO,
                        format="%(asctime)s %(levelname)s %(threadName)s: %(message)s")
    app = QApplication.instance() or QApplication([sys.argv[0] if sys.argv else "syncassistant"])
    assert isinstance(app, QApplication)
    app.setApplicationName("syncassistant")
    app.setApplicationDisplayName("SyncAssistant")
    app.setDesktopFileName(APP_ID)
    app.setQuitOnLastWindowClosed(False)
    app.setWindowIcon(app_icon())
    translators = i18n.install(app)

    guard = SingleInstance()
    if not guard.claim(["--minimized"] if args.minimized else []):
        print("SyncAssistant is already running; brought it forward.", file=sys.stderr)
        return 0
    reaper_guard = reaper.guard()  # the daemons' children end with us, even if we are killed
    sync = SyncApp()
    guard.activated.connect(sync.activate)
    notifier = _quit_on_signals(app)
    app.aboutToQuit.connect(sync.shutdown)
    sync.start()
    if not QSystemTrayIcon.isSystemTrayAvailable():
        log.warning("no system tray found%s", "" if args.minimized else "; showing the settings window")
        if not args.minimized:
            sync.show_settings()
    elif not args.minimized and not sync.config.repositories:
        sync.show_settings("repositories")  # first run: say what to do
    log.info("tray ready (%d repositories)", len(sync.handles))
    try:
        return app.exec()
    finally:
        sync.shutdown()
        sshmux.close_all()  # the daemons are stopped: end their shared ssh connections
        guard.release()
        del notifier, translators, reaper_guard
