"""Connecting a device from the tray app: the invite and join dialogs and the Devices page, on
real parts (a local magic-wormhole mailbox, two sshd on 127.0.0.1, real daemons in two app
instances), driven through the tray's own actions and the dialogs' buttons."""

from __future__ import annotations

import os
import subprocess
import threading
from pathlib import Path

import pytest
import sshd_server
from conftest import git
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QMessageBox
from test_invite import auth_lines
from test_ui_app import TIMEOUT_MS

from syncassistant.engine.network import cloud
from syncassistant.engine.network import invite as inv
from syncassistant.engine.repo import init_repo
from syncassistant.ui.invite_dialog import JoinDialog
from syncassistant.ui.state import repo_key

pytest_plugins = ("test_ui_app", "test_invite")  # sync_app; mailbox, two_sshd

pytestmark = pytest.mark.slow


def invite_settings(mailbox, server, name: str) -> dict:
    """The app's "invite" settings for a device whose ssh server is `server` (None: it has none)."""
    found = {"mailbox": mailbox.url, "device_name": name}
    if server is None:
        return {**found, "no_ssh_server": True}
    return {**found, "ssh_port": server.port, "ssh_hosts": ["127.0.0.1"],
            "authorized_keys": str(server.dir / "authorized_keys"),
            "host_keys": [str(server.dir / "host_ed25519.pub")]}


def pairing_dirs() -> list[Path]:
    return list((Path(os.environ["XDG_DATA_HOME"]) / "syncassistant" / "pairings").glob("*"))


def get_code(qtbot, app) -> tuple[object, str]:
    """The tray's "Connect another device…", then "Get a code": the dialog and the code it shows."""
    app.tray.refresh()
    assert app.tray.invite_action.isEnabled()
    app.tray.invite_action.trigger()
    dlg = app.windows["invite"]
    assert dlg.isVisible()
    qtbot.mouseClick(dlg.start_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: bool(dlg.code or dlg.outcome), timeout=TIMEOUT_MS)
    assert dlg.code, dlg.status.text()
    assert dlg.code_label.text() == dlg.code and dlg.code_box.isVisible()
    assert dlg.command_label.text().endswith(f"syncassistant join {dlg.code}")
    assert dlg.cancel_button.isVisible() and not dlg.close_button.isVisible()
    return dlg, dlg.code


def open_join(app):
    app.tray.join_action.trigger()
    dlg = app.windows["join"]
    assert dlg.isVisible()
    return dlg


def test_invite_and_join_from_two_apps_sync_both_ways_then_disconnect(qtbot, sync_app, mailbox, two_sshd,
                                                                        tmp_path, monkeypatch):
    sa, sb = two_sshd
    a = init_repo(tmp_path / "A", "A")
    (a / "from-a.txt").write_text("made on A before the invitation\n")
    app_a = sync_app(a)
    app_a.config.set("invite", invite_settings(mailbox, sa, "alpha"))
    app_b = sync_app()  # the other device's tray, with no folder yet
    app_b.config.set("invite", invite_settings(mailbox, sb, "beta"))
    b = tmp_path / "B"
    # Settings open before the pairing: its Devices page reads the devices again when shown
    settings = app_a.show_settings("devices")
    qtbot.waitUntil(lambda: settings.page("devices").empty.isVisibleTo(settings), timeout=TIMEOUT_MS)
    settings.hide()

    invite, code = get_code(qtbot, app_a)
    # the code is what a person copies
    qtbot.mouseClick(invite.copy_button, Qt.MouseButton.LeftButton)
    from PySide6.QtGui import QGuiApplication
    assert QGuiApplication.clipboard().text() == code

    join = open_join(app_b)
    steps: list[tuple[str, str]] = []
    stepped = JoinDialog._stepped
    monkeypatch.setattr(JoinDialog, "_stepped", lambda self, kind, detail: (
        steps.append((kind, detail)), stepped(self, kind, detail)))
    join.code_edit.setText(code)
    join.folder_edit.setText(str(b))
    qtbot.mouseClick(join.join_button, Qt.MouseButton.LeftButton)
    assert join.cancel_button.isVisible() and not join.join_button.isEnabled()
    qtbot.waitUntil(lambda: join.outcome != "", timeout=TIMEOUT_MS * 2)
    assert join.outcome == "connected", join.status.text()
    assert steps == [("peer", "alpha"), ("ssh", "alpha")]  # what the dialog said while it worked
    print(f"Join clicked to connected: {join.took:.2f} s")
    assert "Connected to alpha." in join.status.text() and "syncs with it now" in join.status.text()
    qtbot.waitUntil(lambda: invite.outcome != "", timeout=TIMEOUT_MS)
    assert invite.outcome == "connected" and "Connected to beta." in invite.status.text(), invite.status.text()
    assert invite.close_button.isVisible() and not invite.cancel_button.isVisible()

    # the joined folder is one of the app's folders now: it runs, and it is in the tray menu
    key_b = repo_key(str(b))
    assert str(b.resolve()) in app_b.config.repositories or str(b) in app_b.config.repositories
    qtbot.waitUntil(lambda: key_b in app_b.state.views and app_b.state.views[key_b].running, timeout=TIMEOUT_MS)
    app_b.tray.refresh()
    assert any(act.text().startswith("B: ") for act in app_b.tray._status_actions.values())

    qtbot.waitUntil(lambda: (b / "from-a.txt").is_file()
                    and (b / "from-a.txt").read_text() == "made on A before the invitation\n", timeout=TIMEOUT_MS)
    (b / "from-b.txt").write_text("made on B\n")
    qtbot.waitUntil(lambda: (a / "from-b.txt").is_file() and (a / "from-b.txt").read_text() == "made on B\n",
                    timeout=TIMEOUT_MS)
    (a / "later-a.txt").write_text("later on A\n")
    qtbot.waitUntil(lambda: (b / "later-a.txt").is_file() and (b / "later-a.txt").read_text() == "later on A\n",
                    timeout=TIMEOUT_MS)

    # Settings → Devices on A lists beta, seen by the daemon's sync, and disconnects it
    dlg = app_a.show_settings("devices")
    page = dlg.page("devices")
    qtbot.waitUntil(lambda: page.table.topLevelItemCount() == 1, timeout=TIMEOUT_MS)
    row = page.table.topLevelItem(0)
    assert row.text(0) == "beta" and row.text(1) == "over ssh, both ways"
    qtbot.waitUntil(lambda: page.table.topLevelItem(0).text(3) not in ("", "not known"), timeout=TIMEOUT_MS)
    asked = []
    monkeypatch.setattr(QMessageBox, "question", lambda *args, **kw: asked.append(args[2]) or
                        QMessageBox.StandardButton.Yes)
    qtbot.mouseClick(page.disconnect_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: "Disconnected beta" in page.result.text(), timeout=TIMEOUT_MS)
    assert asked and "beta" in asked[0] and "no file is deleted" in asked[0]
    qtbot.waitUntil(lambda: page.table.topLevelItemCount() == 0 and page.empty.isVisible(), timeout=TIMEOUT_MS)
    assert "beta" not in git(a, "remote").split()
    assert not auth_lines(sa)  # B's key can no longer reach A
    assert (a / "from-b.txt").is_file() and (b / "from-a.txt").is_file()  # no file deleted
    assert inv.list_devices(a) == []
    # the page's own "Connect another device…" opens the invitation for its folder
    qtbot.mouseClick(page.invite_button, Qt.MouseButton.LeftButton)
    assert app_a.windows["invite"].isVisible() and app_a.windows["invite"].repo.key() == repo_key(str(a))
    inv.disconnect(b, "alpha")  # (the sshd serve the module's next tests)
    assert not auth_lines(sb)


def test_a_wrong_code_or_a_server_down_in_the_join_dialog_says_so_and_leaves_nothing(qtbot, sync_app, mailbox, two_sshd,
                                                                      tmp_path):
    sa, sb = two_sshd
    a = init_repo(tmp_path / "A", "A")
    app_a = sync_app(a)
    app_a.config.set("invite", invite_settings(mailbox, sa, "alpha"))
    app_b = sync_app()
    app_b.config.set("invite", invite_settings(mailbox, sb, "beta"))
    b = tmp_path / "B"

    join = open_join(app_b)
    # not a code at all: said at once, next to nothing made
    join.code_edit.setText("hello; rm -rf ~")
    qtbot.mouseClick(join.join_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: join.outcome != "", timeout=TIMEOUT_MS)
    assert join.outcome == "failed" and "is not an invitation code" in join.status.text()
    assert join.join_button.isEnabled() and join.code_edit.isEnabled()

    invite, code = get_code(qtbot, app_a)
    nameplate, *words = code.split("-")
    wrong = "-".join([nameplate, *words[:-1], "zulu" if words[-1] != "zulu" else "yankee"])
    join.code_edit.setText(wrong)
    join.folder_edit.setText(str(b))
    qtbot.mouseClick(join.join_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: bool(join.outcome and invite.outcome), timeout=TIMEOUT_MS)
    assert join.outcome == "failed" and "Not connected: the code is wrong" in join.status.text(), join.status.text()
    assert invite.outcome == "failed" and "the code is wrong" in invite.status.text(), invite.status.text()
    assert invite.start_button.isEnabled() and invite.start_button.text().endswith("Get a new code")
    # nothing made anywhere: no folder, no remote, no key, no authorized line, no folder in the app
    assert not b.exists()
    assert git(a, "remote").split() == [] and inv.list_devices(a) == []
    assert pairing_dirs() == [] and not auth_lines(sa) and not auth_lines(sb)
    assert app_b.state.ordered() == [] and app_b.config.repositories == []

    # the invitation server down: said plainly, and still nothing made
    app_b.config.set("invite", {**invite_settings(mailbox, sb, "beta"),
                                "mailbox": f"ws://127.0.0.1:{sshd_server.free_port()}/v1"})
    join.code_edit.setText(code)
    qtbot.mouseClick(join.join_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: join.outcome != "", timeout=TIMEOUT_MS)
    assert join.outcome == "failed" and "cannot reach the invitation server" in join.status.text(), \
        join.status.text()
    assert not b.exists() and pairing_dirs() == [] and app_b.config.repositories == []


def test_cancel_takes_back_the_invitation_and_the_cloud_choice_shows(qtbot, sync_app, mailbox, tmp_path,
                                                                      cloud_keyring):
    """Cancel while waiting ends the wormhole child and leaves no key; a folder with cloud storage
    offers it (and, for a kind with a password, whether to share that)."""
    a = init_repo(tmp_path / "A", "A")
    store = tmp_path / "store"
    store.mkdir()
    cloud.add_cloud_remote(a, "bridge", cloud.check_config("directory", directory=str(store)), None)
    app = sync_app(a)
    app.config.set("invite", invite_settings(mailbox, None, "alpha"))
    app.tray.invite_action.trigger()
    dlg = app.windows["invite"]
    qtbot.waitUntil(lambda: dlg.share_cloud.isVisibleTo(dlg), timeout=TIMEOUT_MS)
    assert "“bridge”" in dlg.share_cloud.text() and dlg.share_cloud.isChecked()
    assert not dlg.share_password.isVisibleTo(dlg)  # a folder needs no password
    assert not dlg.repo.isVisibleTo(dlg)  # one folder: nothing to choose

    dlg, code = get_code(qtbot, app)
    assert pairing_dirs() != []  # the key made for this pairing...
    helpers = [t for t in threading.enumerate() if t.name == "syncassistant-invite"]
    assert len(helpers) == 1
    qtbot.mouseClick(dlg.cancel_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: dlg.outcome == "cancelled", timeout=TIMEOUT_MS)
    assert dlg.status.text() == "Cancelled. Nothing was changed."
    assert pairing_dirs() == []  # ...is gone again
    helpers[0].join(30)
    assert not helpers[0].is_alive()
    out = subprocess.run(["pgrep", "-f", "wormhole_pipe"], capture_output=True, text=True).stdout.split()
    assert str(os.getpid()) not in out and not [p for p in out if _child_of_us(p)]
    # the code is void: a join with it finds nobody
    with pytest.raises(inv.InviteError, match="nobody is inviting"):
        inv.join(code, tmp_path / "B", ssh=None, mailbox=mailbox.url, wait=3)
    assert not (tmp_path / "B").exists()


def _child_of_us(pid: str) -> bool:
    try:
        ppid = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1]
    except (OSError, IndexError):
        return False
    return ppid == str(os.getpid())
