#!/usr/bin/env python3
"""Build demo repositories, run the real tray app on them under the current X display, and save
screenshots. Run through make.sh (it starts Xvfb and trayer).

Demo: "Documents" (this device, in the app) with files, photos and three large videos; "laptop"
(a clone, asleep: no daemon) and "usb-drive" (a bare clone on a "drive"). The laptop's edit of
notes.txt arrives the way a push would, so the app's merge finds a real conflict; the large
files upload to both remotes under a 1.5 MB/s limit, so transfers are mid-way when shown.
A second folder, "Photos", is paused.

Usage: DISPLAY=:N python make.py OUT_DIR WORK_DIR [--only history|cloud|devices|conditions]
(--only history: the Recent changes window and a file's versions alone, without waiting for
transfers; --only cloud: the cloud storage form and the Join dialog alone; --only devices: the
invite and join dialogs and the Devices page alone; --only conditions: the Folders page's "When
Documents syncs" box alone; the same demo and the same real widgets.)
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

OUT = Path(sys.argv[1]).resolve()
WORK = Path(sys.argv[2]).resolve()
ONLY = set(sys.argv[sys.argv.index("--only") + 1].split(",")) if "--only" in sys.argv[3:-1] else None
HOME = WORK / "home" / "ada"
MiB = 1024 * 1024


def sh(cwd: Path, *args: str) -> str:
    return subprocess.run(list(args), cwd=cwd, check=True, capture_output=True, text=True).stdout


def git(cwd: Path, *args: str) -> str:
    return sh(cwd, "git", *args)


def commit(cwd: Path, message: str) -> None:
    """A commit naming its device, as the daemon's commits do (engine/provenance.py), so the
    Recent changes window shows devices for the demo's history too."""
    from syncassistant.engine.proc.git import Git
    from syncassistant.engine.provenance import DeviceCache, with_trailers

    sh(cwd, "git", "commit", "-q", "-m", with_trailers(message, DeviceCache(Git(cwd)).me()))


def isolate() -> None:
    """Never touch the real user's config: HOME, XDG dirs and git config under WORK."""
    HOME.mkdir(parents=True, exist_ok=True)
    (HOME / "run").mkdir(mode=0o700, exist_ok=True)
    cfg = HOME / "gitconfig"
    cfg.write_text("[user]\n\tname = Ada Lovelace\n\temail = ada@example.org\n"
                   "[init]\n\tdefaultBranch = master\n")
    os.environ.update({
        "HOME": str(HOME), "XDG_CONFIG_HOME": str(HOME / ".config"), "XDG_DATA_HOME": str(HOME / ".local/share"),
        "XDG_RUNTIME_DIR": str(HOME / "run"), "GIT_CONFIG_GLOBAL": str(cfg), "GIT_CONFIG_NOSYSTEM": "1",
        "PYTHON_KEYRING_BACKEND": "keyring.backends.null.Keyring", "USER": "ada",
    })
    os.environ["PATH"] = os.path.dirname(sys.executable) + os.pathsep + os.environ.get("PATH", "")


def random_file(path: Path, size: int) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "wb") as f:
        left = size
        while left:
            n = min(left, 4 * MiB)
            f.write(os.urandom(n))
            left -= n


def picture(path: Path, spec: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    subprocess.run(["/usr/bin/convert", "-size", "640x420", spec, str(path)], check=True)


def build_demo() -> tuple[Path, Path]:
    from syncassistant.engine.repo import init_repo

    docs = HOME / "Documents"
    docs.mkdir(parents=True)
    init_repo(docs, "ada@desktop:~/Documents")
    (docs / "Reports").mkdir()
    (docs / "Reports" / "2024-annual-summary.md").write_text(
        "# Annual summary 2024\n\nRevenue grew 12 %, mostly from the new service plans.\n")
    (docs / "Reports" / "budget-2025.csv").write_text("item,amount\nrent,14400\nservers,3600\ntravel,2200\n")
    (docs / "Recipes").mkdir()
    (docs / "Recipes" / "bread.txt").write_text("500 g flour\n350 g water\n10 g salt\n5 g yeast\n")
    (docs / "notes.txt").write_text(
        "Weekend plans\n- visit grandma on Saturday\n- buy milk and bread\n- fix the bike\n- call Tom\n")
    picture(docs / "Photos" / "beach.png", "gradient:#f7d794-#1e90ff")
    picture(docs / "Photos" / "forest.png", "plasma:green-darkgreen")
    git(docs, "annex", "add", ".")
    commit(docs, "My documents")

    laptop = WORK / "laptop" / "home" / "ada" / "Documents"
    laptop.parent.mkdir(parents=True)
    git(WORK, "clone", "-q", str(docs), str(laptop))
    init_repo(laptop, "ada@laptop:~/Documents")
    git(laptop, "remote", "rename", "origin", "desktop")
    drive = WORK / "media" / "ada" / "USB-DRIVE" / "Documents"
    drive.parent.mkdir(parents=True)
    git(WORK, "clone", "-q", "--bare", str(docs), str(drive))
    git(drive, "annex", "init", "ada's USB drive")
    git(docs, "remote", "add", "laptop", str(laptop))
    git(docs, "remote", "add", "usb-drive", str(drive))
    git(docs, "config", "remote.laptop.annex-cost", "150")
    git(docs, "annex", "copy", "--to", "laptop", "--quiet")  # the laptop had the first files already
    git(docs, "annex", "copy", "--to", "usb-drive", "--quiet")
    git(laptop, "annex", "get", "--quiet")
    # some history made on the laptop: the budget edited twice, a recipe deleted
    for amounts in ("rent,14400\nservers,3900\ntravel,2200\n", "rent,14400\nservers,3900\ntravel,1800\nbooks,300\n"):
        (laptop / "Reports" / "budget-2025.csv").write_text("item,amount\n" + amounts)
        git(laptop, "annex", "add", "Reports/budget-2025.csv")
        commit(laptop, "Update Reports/budget-2025.csv")
    git(laptop, "rm", "-q", "Recipes/bread.txt")
    commit(laptop, "Remove Recipes/bread.txt")

    # the same note edited on both machines before they synced: a real conflict
    (docs / "notes.txt").write_text(
        "Weekend plans\n- visit grandma on Saturday\n- buy milk, bread and eggs\n- fix the bike\n"
        "- call Tom about Sunday\n")
    git(docs, "annex", "add", "notes.txt")
    commit(docs, "Update notes.txt")
    (laptop / "notes.txt").write_text(
        "Weekend plans\n- visit grandma on Sunday instead\n- buy milk and bread\n- fix the bike\n"
        "- call Tom\n- book the train tickets\n")
    git(laptop, "annex", "add", "notes.txt")
    commit(laptop, "Update notes.txt")
    git(docs, "fetch", "-q", str(laptop), "master:refs/heads/synced/master")  # as the laptop's push did
    git(docs, "fetch", "-q", str(laptop), "git-annex:refs/heads/synced/git-annex")  # (where its content is)
    # ... and its content, as content sync would bring it, so the conflict shows a text diff
    key = git(laptop, "annex", "lookupkey", "notes.txt").strip()
    git(docs, "annex", "get", "--quiet", "--key", key, "--from", "laptop")
    from syncassistant.engine.transfers.rules import add_rule

    add_rule(docs, "Backups", "exclude")  # backups are kept on the drive, not here

    # new large files on this device: they go to the laptop and the drive
    random_file(docs / "Videos" / "holiday-2024.mp4", 48 * MiB)
    random_file(docs / "Videos" / "birthday-party.mov", 36 * MiB)
    random_file(docs / "Videos" / "school-concert.mkv", 24 * MiB)
    random_file(docs / "Backups" / "phone-backup.tar", 30 * MiB)

    photos = HOME / "Photos"
    photos.mkdir()
    init_repo(photos, "ada@desktop:~/Photos")
    for name, spec in (("sunset.png", "gradient:orange-purple"), ("garden.png", "plasma:yellow-green")):
        picture(photos / "2024" / name, spec)
    git(photos, "annex", "add", ".")
    commit(photos, "Photos")
    return docs, photos


def wallpaper(app):
    """A plain desktop behind everything (Xvfb's root window is black)."""
    from PySide6.QtCore import Qt
    from PySide6.QtWidgets import QWidget

    w = QWidget(None, Qt.WindowType.FramelessWindowHint | Qt.WindowType.WindowStaysOnBottomHint)
    w.setStyleSheet("background: qlineargradient(x1:0, y1:0, x2:1, y2:1, stop:0 #3a6073, stop:1 #16222a);")
    w.setGeometry(app.primaryScreen().geometry().adjusted(0, 0, 0, -28))
    w.show()
    return w


def main() -> int:
    isolate()
    docs, photos = build_demo()
    from syncassistant.engine.devices.conditions import write_conditions
    from syncassistant.engine.proc.git import Git

    # Documents: on a metered connection or away from home changes travel and content waits; on
    # battery below 20 % nothing syncs (no NetworkManager or UPower here: the settings show,
    # nothing holds)
    write_conditions(Git(docs), on_metered="hold-content", on_battery="pause", battery_below=20,
                     only_networks="Home")
    conf = HOME / ".config" / "syncassistant"
    conf.mkdir(parents=True, exist_ok=True)
    (conf / "repos.json").write_text(json.dumps({"version": 1, "repositories": [str(docs), str(photos)]}))
    # notifications off while the windows are shot (no session bus here: they would be tray balloons
    # over the menu); turned back on before the General page is shown
    (conf / "settings.json").write_text(json.dumps({"version": 1, "notifications": False,
                                                    "limits": {"upload": 1_500_000}}))

    from PySide6.QtCore import QEventLoop, QPoint, QTimer
    from PySide6.QtGui import QGuiApplication
    from PySide6.QtWidgets import QApplication, QSystemTrayIcon

    app = QApplication(["syncassistant"])
    app.setApplicationDisplayName("SyncAssistant")
    app.setQuitOnLastWindowClosed(False)
    from syncassistant.ui import i18n
    from syncassistant.ui.app import SyncApp
    from syncassistant.ui.icons import app_icon

    app.setWindowIcon(app_icon())
    i18n.install(app)
    sync = SyncApp()
    sync.start()
    deadline = time.monotonic() + 240

    def wait(pred, what: str, timeout: float = 60) -> None:
        end = min(deadline, time.monotonic() + timeout)
        while not pred():
            if time.monotonic() > end:
                raise SystemExit(f"timed out waiting for {what}")
            app.processEvents(QEventLoop.ProcessEventsFlag.AllEvents, 50)

    def pause(ms: int) -> None:
        loop = QEventLoop()
        QTimer.singleShot(ms, loop.quit)
        loop.exec()

    wait(QSystemTrayIcon.isSystemTrayAvailable, "the system tray")
    desktop = wallpaper(app)
    wait(lambda: all(v.status for v in sync.state.ordered()), "both folders to start")
    pkey = str(photos.resolve())
    sync.handles[pkey].pause()
    wait(lambda: sync.state.views[pkey].paused, "Photos to pause")
    dview = sync.state.views[str(docs.resolve())]
    wait(lambda: dview.conflicts, "the conflict", 90)

    def mid_transfer() -> bool:
        running = [t for t in dview.transfers.values() if t.get("state") == "running"]
        return len(running) >= 2 and any(0.12 < (t["bytes_done"] / (t["size"] or 1)) < 0.8 for t in running)

    def shoot(widget, name: str, settle: int = 500) -> None:
        widget.show()
        widget.raise_()
        pause(settle)
        widget.grab().save(str(OUT / name))
        print("saved", name, widget.size(), flush=True)

    def run_cloud() -> None:
        """The Remotes page with the cloud storage form filled in, and the Join dialog with a
        real share string (of a folder remote on a scratch repository: the demo is unchanged)."""
        from syncassistant.engine.network import cloud
        from syncassistant.engine.repo import init_repo

        settings = sync.show_settings("remotes")
        settings.move(60, 40)
        page = settings.page("remotes")
        wait(lambda: page.table.topLevelItemCount() >= 2 and page.cloud_settings.info is not None, "the remotes")
        page.name_edit.setText("nextcloud")
        page.kind_cloud.setChecked(True)
        form = page.cloud_form
        form.set_kind("webdav")
        form.url_edit.setText("https://cloud.example.org/remote.php/dav/files/ada/Sync")
        form.user_edit.setText("ada")
        form.pass_edit.setText("correct horse battery staple")
        size = settings.size()
        settings.resize(size.width(), 760)  # (the whole form with its Add button)
        settings.stack.currentWidget().ensureWidgetVisible(page.add_button, 0, 8)
        shoot(settings, "settings-cloud.png", 900)
        settings.resize(size)
        scratch, store = WORK / "share-demo", WORK / "share-store"
        scratch.mkdir()
        store.mkdir()
        init_repo(scratch, "ada@desktop:~/Documents")
        cloud.add_cloud_remote(scratch, "nas", cloud.check_config("directory", directory=str(store)), None)
        join = page.show_join()
        join.move(140, 120)
        join.share_edit.setText(cloud.share_string(scratch, "nas"))
        join.share_edit.setCursorPosition(0)
        join.folder_edit.setText(str(HOME / "Documents"))
        shoot(join, "settings-cloud-join.png", 800)
        join.close()
        page.kind_local.setChecked(True)
        settings.hide()

    def recent_changes() -> None:
        history = sync.show_history()
        history.move(60, 40)
        history.resize(980, 560)
        wait(lambda: any(history.list.topLevelItem(i).text(3) == "Recipes/bread.txt"
                         for i in range(history.list.topLevelItemCount())), "the laptop's changes")
        budget = next(history.list.topLevelItem(i) for i in range(history.list.topLevelItemCount())
                      if history.list.topLevelItem(i).text(3) == "Reports/budget-2025.csv")
        history.list.setCurrentItem(budget)
        shoot(history, "history.png", 800)
        dialog = history.restore_selected()
        dialog.move(140, 120)
        wait(lambda: dialog.list.topLevelItemCount() >= 3, "the budget's versions")
        dialog.list.setCurrentItem(dialog.list.topLevelItem(2))
        shoot(dialog, "history-restore.png", 800)
        dialog.close()
        history.hide()

    def run_conditions() -> None:
        """The Folders page scrolled to Documents' "When to sync" box."""
        settings = sync.show_settings("repositories")
        settings.move(60, 40)
        page = settings.page("repositories")
        box = page.conditions
        wait(lambda: box.key == str(docs.resolve()) and box.battery.isEnabled(), "the folder's conditions")
        settings.stack.currentWidget().ensureWidgetVisible(box, 0, 8)
        shoot(settings, "settings-conditions.png", 900)
        settings.hide()

    def run_devices() -> None:
        """"Connect another device…" showing a code, "Join with a code…" filled in, and the
        Devices page after the real pairing those two make: the join runs in this same app into
        ~/Documents-laptop, both "devices" reached through one throwaway sshd on 127.0.0.1 and
        a magic-wormhole mailbox server of our own (tests/sshd_server.py, `twist`)."""
        import pwd

        sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
        import sshd_server

        bin_dir = os.path.dirname(sys.executable)
        mport = sshd_server.free_port()
        mdir = WORK / "mailbox"
        mdir.mkdir()
        mailbox = subprocess.Popen([os.path.join(bin_dir, "twist"), "wormhole-mailbox",
                                    f"--port=tcp:{mport}:interface=127.0.0.1", f"--channel-db={mdir}/relay.sqlite"],
                                   cwd=mdir, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        server = sshd_server.SshServer(WORK / "sshd", sshd_server.free_port(), bin_dir=bin_dir)
        server.write_files()
        server.start()
        try:
            import socket

            def listening() -> bool:
                try:
                    socket.create_connection(("127.0.0.1", mport), timeout=1).close()
                    return True
                except OSError:
                    return False

            wait(listening, "the mailbox server", 30)
            reach = {"mailbox": f"ws://127.0.0.1:{mport}/v1", "ssh_port": server.port, "ssh_hosts": ["127.0.0.1"],
                     "ssh_user": pwd.getpwuid(os.getuid()).pw_name,  # (USER is "ada" here)
                     "authorized_keys": str(server.dir / "authorized_keys"),
                     "host_keys": [str(server.dir / "host_ed25519.pub")]}
            sync.config.set("invite", {**reach, "device_name": "ada-desktop"})
            invite = sync.show_invite()
            invite.move(60, 40)
            invite.repo.choose(str(docs.resolve()))
            invite.start()
            wait(lambda: bool(invite.code or invite.outcome), "a code")
            if not invite.code:
                raise SystemExit(f"no code: {invite.status.text()}")
            shoot(invite, "invite-code.png", 700)
            sync.config.set("invite", {**reach, "device_name": "ada-laptop"})  # (the joining "device")
            join = sync.show_join()
            join.move(140, 120)
            join.code_edit.setText(invite.code)
            join.folder_edit.setText("~/Documents-laptop")  # (the dialog expands ~)
            shoot(join, "invite-join.png", 700)
            join.start()
            wait(lambda: bool(join.outcome and invite.outcome), "the pairing", 120)
            if join.outcome != "connected":
                raise SystemExit(f"the pairing failed: {join.status.text()}")
            invite.hide()
            join.hide()
            settings = sync.show_settings("devices")
            settings.move(60, 40)
            page = settings.page("devices")
            page.repo.choose(str(docs.resolve()))
            wait(lambda: page.table.topLevelItemCount() == 1, "the connected device")
            page.reload()  # (once the daemon has synced with it: "last seen")
            wait(lambda: page.table.topLevelItem(0) is not None
                 and page.table.topLevelItem(0).text(3) not in ("", "not known"), "the device seen", 60)
            shoot(settings, "settings-devices.png", 900)
            settings.hide()
        finally:
            server.stop()
            mailbox.terminate()
            mailbox.wait(10)

    if ONLY == {"devices"}:
        run_devices()
        desktop.close()
        sync.shutdown()
        return 0

    if ONLY == {"conditions"}:
        run_conditions()
        desktop.close()
        sync.shutdown()
        return 0

    if ONLY == {"history"}:
        recent_changes()
        desktop.close()
        sync.shutdown()
        return 0

    if ONLY == {"cloud"}:
        run_cloud()
        desktop.close()
        sync.shutdown()
        return 0

    wait(mid_transfer, "transfers to be under way", 120)
    pause(9000)  # let the transfers window's speed figures settle over several progress reports
    wait(mid_transfer, "transfers still under way", 60)
    print("state:", sync.state.summary, flush=True)

    # -- the tray icon with its menu open ------------------------------------------------------
    tray_geo = sync.tray.icon.geometry()
    sync.tray.refresh()
    hint = sync.tray.menu.sizeHint()
    # where a tray host opens the menu: above the icon, its right edge at the icon's
    sync.tray.menu.popup(QPoint(tray_geo.right() - hint.width(), tray_geo.top() - hint.height() - 2))
    pause(700)
    menu_geo = sync.tray.menu.geometry()
    screen = QGuiApplication.primaryScreen()
    area = menu_geo.united(tray_geo).adjusted(-120, -40, 0, 0).intersected(screen.geometry())
    area.setRight(screen.geometry().right())
    area.setBottom(screen.geometry().bottom())
    full = screen.grabWindow(0)
    full.copy(area).save(str(OUT / "tray-menu.png"))
    sync.tray.menu.hide()
    print("tray icon at", tray_geo, "menu at", menu_geo, flush=True)

    # -- transfers ---------------------------------------------------------------------------------
    transfers = sync.show_transfers()
    transfers.move(60, 40)
    shoot(transfers, "transfers.png", 1500)
    transfers.hide()

    # -- conflicts ---------------------------------------------------------------------------------
    conflicts = sync.show_conflicts()
    conflicts.move(60, 40)
    wait(lambda: conflicts.variants.topLevelItemCount() >= 2, "the conflict's versions")
    shoot(conflicts, "conflicts.png", 800)
    conflicts.hide()

    # -- recent changes and a file's versions -------------------------------------------------------
    recent_changes()

    # -- cloud storage: the form and the Join dialog -------------------------------------------------
    run_cloud()

    # -- settings ---------------------------------------------------------------------------------
    settings = sync.show_settings()
    settings.move(60, 40)
    names = {"repositories": "folders", "remotes": "remotes", "bandwidth": "bandwidth", "rules": "rules",
             "general": "general"}
    for page, file in names.items():
        w = settings.show_page(page)
        if page == "remotes":
            wait(lambda w=w: w.table.topLevelItemCount() >= 2, "the remotes")
            w.name_edit.setText("server")
            w.kind_ssh.setChecked(True)
            w.user_edit.setText("ada")
            w.host_edit.setText("nas.home.arpa")
            w.path_edit.setText("~/Documents")
        if page == "bandwidth":  # the automatic upload limit on, as a person who wants it has it
            if not w.auto.isChecked():
                w.auto.click()
            wait(w.auto.isChecked, "the automatic upload limit")
        if page == "general":
            sync.config.set("notifications", True)
            w.notify.setChecked(True)
        if page == "rules":
            w.reload()
            wait(lambda w=w: w.tree.topLevelItemCount() == 1, "the folder tree")
            root = w.tree.topLevelItem(0)
            for i in range(root.childCount()):
                if root.child(i).text(0) == "Videos":
                    w.tree.setCurrentItem(root.child(i))
        shoot(settings, f"settings-{file}.png", 900)
    settings.hide()
    run_conditions()
    run_devices()  # (last: the pairing adds a folder and a remote to the demo)
    desktop.close()
    sync.shutdown()
    return 0


if __name__ == "__main__":
    sys.exit(main())
