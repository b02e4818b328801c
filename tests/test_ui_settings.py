"""The settings dialog on real repositories: bad input is refused next to its field; good input
reaches git config, the engine and the keyring."""

from __future__ import annotations

import keyring
import pytest
from conftest import git
from keyring.backend import KeyringBackend
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QMessageBox
from test_ui_app import TIMEOUT_MS

from syncassistant.ui.config import autostart_file
from syncassistant.ui.pages.rules import effective
from syncassistant.ui.units import BadRate, parse_rate

pytest_plugins = ("test_ui_app",)  # the UI fixtures: sync_app, linked_pair


class MemoryKeyring(KeyringBackend):
    priority = 1  # type: ignore[assignment]

    def __init__(self) -> None:
        super().__init__()
        self.items: dict[tuple[str, str], str] = {}

    def set_password(self, service: str, username: str, password: str) -> None:
        self.items[(service, username)] = password

    def get_password(self, service: str, username: str) -> str | None:
        return self.items.get((service, username))

    def delete_password(self, service: str, username: str) -> None:
        self.items.pop((service, username), None)


@pytest.fixture
def settings(qtbot, sync_app, linked_pair):
    a, b = linked_pair
    app = sync_app(a)
    dlg = app.show_settings()
    return app, dlg, a, b


def test_every_page_opens_and_shows_the_real_state(qtbot, settings):
    app, dlg, a, b = settings
    assert [dlg.nav.item(i).text() for i in range(dlg.nav.count())] == [
        "Folders", "Remotes", "Devices", "Bandwidth", "Rules", "General"]
    repos = dlg.show_page("repositories")
    assert repos.table.topLevelItemCount() == 1
    assert repos.table.topLevelItem(0).text(1) == str(a.resolve())
    remotes = dlg.show_page("remotes")
    qtbot.waitUntil(lambda: remotes.table.topLevelItemCount() == 1, timeout=TIMEOUT_MS)
    row = remotes.table.topLevelItem(0)
    assert row.text(0) == "b" and row.text(1) == str(b)
    bandwidth = dlg.show_page("bandwidth")
    assert bandwidth.upload.isEnabled()
    assert set(k[1] for k in bandwidth.fields) == {"b"}
    rules = dlg.show_page("rules")
    qtbot.waitUntil(lambda: rules.tree.topLevelItemCount() == 1, timeout=TIMEOUT_MS)
    general = dlg.show_page("general")
    assert general.notify.isChecked() and not general.autostart.isChecked()
    # every control can be named by assistive technology
    from PySide6.QtWidgets import QAbstractButton, QComboBox, QLineEdit, QSpinBox, QTreeWidget

    for page in dlg.pages.values():
        for w in page.findChildren(QAbstractButton) + page.findChildren(QLineEdit) + \
                page.findChildren(QComboBox) + page.findChildren(QSpinBox) + page.findChildren(QTreeWidget):
            if w.objectName().startswith("qt_"):  # Qt's own inner widgets (spin box editors...)
                continue
            assert w.accessibleName(), f"{type(w).__name__} {getattr(w, 'text', lambda: '')()!r} has no name"


def test_adding_a_folder_that_does_not_exist_is_refused(qtbot, settings, tmp_path):
    app, dlg, a, b = settings
    page = dlg.show_page("repositories")
    page.path_edit.setText(str(tmp_path / "nope"))
    qtbot.mouseClick(page.add_button, Qt.MouseButton.LeftButton)
    assert page.path_error.isVisibleTo(page) and "does not exist" in page.path_error.text()
    assert page.path_edit.accessibleDescription() == page.path_error.text()
    page.path_edit.setText(str(a))
    qtbot.mouseClick(page.add_button, Qt.MouseButton.LeftButton)
    assert "synced already" in page.path_error.text()
    assert len(app.state.views) == 1 and app.config.repositories == [str(a)]


def test_adding_a_folder_initialises_it_and_syncs_it(qtbot, settings, tmp_path):
    app, dlg, a, b = settings
    page = dlg.show_page("repositories")
    new = tmp_path / "Photos"
    new.mkdir()
    (new / "cat.txt").write_text("meow")
    page.path_edit.setText(str(new))
    qtbot.mouseClick(page.add_button, Qt.MouseButton.LeftButton)
    key = str(new.resolve())
    qtbot.waitUntil(lambda: key in app.state.views and app.state.views[key].status is not None, timeout=TIMEOUT_MS)
    assert (new / ".git" / "annex").is_dir()
    assert str(new) in app.config.repositories
    qtbot.waitUntil(lambda: "cat.txt" in git(new, "ls-files"), timeout=TIMEOUT_MS)
    assert page.table.topLevelItemCount() == 2 and not page.path_error.isVisibleTo(page)
    # and stopping it forgets it without touching the files
    page.table.setCurrentItem(page.table.topLevelItem(1))
    monkey = QMessageBox.question
    QMessageBox.question = lambda *a, **k: QMessageBox.StandardButton.Yes  # type: ignore[method-assign]
    try:
        qtbot.mouseClick(page.remove_button, Qt.MouseButton.LeftButton)
    finally:
        QMessageBox.question = monkey  # type: ignore[method-assign]
    assert key not in app.state.views and str(new) not in app.config.repositories
    assert (new / "cat.txt").read_text() == "meow"
    # its daemon may still be stopping (a commit under way): quitting waits for it, so no git
    # process is cut off (CI once found a `git commit-tree` still running after the app stopped)
    app.shutdown()
    assert app._retired and all(h.thread.isFinished() for h in app._retired)


def test_malformed_ssh_input_is_refused_next_to_its_field(qtbot, settings):
    app, dlg, a, b = settings
    page = dlg.show_page("remotes")
    qtbot.waitUntil(lambda: page.table.topLevelItemCount() == 1, timeout=TIMEOUT_MS)
    page.kind_ssh.setChecked(True)
    page.name_edit.setText("server")
    page.host_edit.setText("bad host!")
    page.path_edit.setText("sync/docs")
    qtbot.mouseClick(page.add_button, Qt.MouseButton.LeftButton)
    assert page.errors["host"].isVisibleTo(page) and "server name" in page.errors["host"].text()
    page.host_edit.setText("-oProxyCommand=evil")
    qtbot.mouseClick(page.add_button, Qt.MouseButton.LeftButton)
    assert "invalid ssh host name" in page.errors["host"].text()
    page.host_edit.setText("example.org")
    page.user_edit.setText("bad user")
    qtbot.mouseClick(page.add_button, Qt.MouseButton.LeftButton)
    assert "user" in page.errors["user"].text() and not page.errors["host"].isVisibleTo(page)
    page.user_edit.setText("me")
    page.path_edit.setText("")
    qtbot.mouseClick(page.add_button, Qt.MouseButton.LeftButton)
    assert page.errors["path"].isVisibleTo(page)
    page.name_edit.setText("has space")
    qtbot.mouseClick(page.add_button, Qt.MouseButton.LeftButton)
    assert page.errors["name"].isVisibleTo(page)
    assert git(a, "remote").split() == ["b"]


def test_a_folder_remote_that_does_not_exist_or_fails_the_test_is_not_added(qtbot, settings, tmp_path):
    app, dlg, a, b = settings
    page = dlg.show_page("remotes")
    qtbot.waitUntil(lambda: page.table.topLevelItemCount() == 1, timeout=TIMEOUT_MS)
    page.name_edit.setText("usb")
    page.folder_edit.setText(str(tmp_path / "missing"))
    qtbot.mouseClick(page.add_button, Qt.MouseButton.LeftButton)
    assert "does not exist" in page.errors["folder"].text()
    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / "stray.txt").write_text("not a repository")
    page.folder_edit.setText(str(empty))
    qtbot.mouseClick(page.add_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: page.add_button.isEnabled() and "Not added" in page.test_result.text(),
                    timeout=TIMEOUT_MS)
    assert git(a, "remote").split() == ["b"]


def test_adding_a_folder_remote_tests_it_and_sets_cost_and_mode(qtbot, settings, tmp_path, make_repo):
    app, dlg, a, b = settings
    c = make_repo("C", clone_of=a)
    page = dlg.show_page("remotes")
    qtbot.waitUntil(lambda: page.table.topLevelItemCount() == 1, timeout=TIMEOUT_MS)
    page.name_edit.setText("laptop")
    page.folder_edit.setText(str(c))
    page.cost_spin.setValue(150)
    page.mode_combo.setCurrentIndex(page.mode_combo.findData("upload-only"))
    qtbot.mouseClick(page.test_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: "Reached" in page.test_result.text(), timeout=TIMEOUT_MS)
    qtbot.mouseClick(page.add_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: page.table.topLevelItemCount() == 2, timeout=TIMEOUT_MS)
    assert git(a, "config", "remote.laptop.url").strip() == str(c)
    assert git(a, "config", "remote.laptop.annex-cost").strip() == "150"
    assert git(a, "config", "remote.laptop.syncassistant-mode").strip() == "upload-only"
    # the running daemon picked it up and syncs with it
    daemon = app.handles[str(a.resolve())].worker.daemon
    qtbot.waitUntil(lambda: any(r["name"] == "laptop" and r["last_sync"] for r in daemon.status()["remotes"]),
                    timeout=TIMEOUT_MS)
    # change the mode of an existing remote
    item = next(page.table.topLevelItem(i) for i in range(2) if page.table.topLevelItem(i).text(0) == "laptop")
    page.table.setCurrentItem(item)
    page.edit_mode.setCurrentIndex(page.edit_mode.findData("off"))
    page.edit_cost.setValue(300)
    qtbot.mouseClick(page.apply_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: "Saved" in page.edit_result.text(), timeout=TIMEOUT_MS)
    assert git(a, "config", "remote.laptop.syncassistant-mode").strip() == "off"
    assert git(a, "config", "remote.laptop.annex-cost").strip() == "300"


def test_a_new_copy_on_an_empty_drive_folder(qtbot, settings, tmp_path):
    app, dlg, a, b = settings
    (a / "doc.txt").write_text("to the drive")
    drive = tmp_path / "media" / "USB"
    drive.mkdir(parents=True)
    page = dlg.show_page("remotes")
    qtbot.waitUntil(lambda: page.table.topLevelItemCount() == 1, timeout=TIMEOUT_MS)
    page.name_edit.setText("usb")
    page.folder_edit.setText(str(drive))
    page.create_copy.setChecked(True)
    qtbot.mouseClick(page.add_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: page.table.topLevelItemCount() == 2, timeout=TIMEOUT_MS)
    assert (drive / "annex").is_dir() or (drive / "config").is_file()  # a bare clone with git-annex
    qtbot.waitUntil(lambda: "doc.txt" in git(drive, "ls-tree", "-r", "--name-only", "synced/master", check=False),
                    timeout=TIMEOUT_MS)


def test_an_ssh_remote_is_added_with_no_passphrase_asked_or_kept(qtbot, settings, ssh_env, make_repo, tmp_path):
    """ssh runs with BatchMode=yes, so a passphrase typed here could never be used: the form no
    longer asks for one (a key with a passphrase works through the user's ssh-agent), and adding
    an ssh remote leaves the keyring alone."""
    app, dlg, a, b = settings
    backend = MemoryKeyring()
    keyring.set_keyring(backend)
    server = tmp_path / "server.git"
    git(tmp_path, "clone", "-q", "--bare", str(a), str(server))
    page = dlg.show_page("remotes")
    qtbot.waitUntil(lambda: page.table.topLevelItemCount() == 1, timeout=TIMEOUT_MS)
    assert "passphrase" not in page.errors and not hasattr(page, "pass_edit")
    page.kind_ssh.setChecked(True)
    page.name_edit.setText("server")
    page.host_edit.setText("127.0.0.1")
    page.port_spin.setValue(ssh_env["port"])
    page.path_edit.setText(str(server))
    qtbot.mouseClick(page.add_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: page.table.topLevelItemCount() == 2, timeout=TIMEOUT_MS)
    url = git(a, "config", "remote.server.url").strip()
    assert url == f"ssh://127.0.0.1:{ssh_env['port']}{server}"
    assert backend.items == {}


def test_limit_of_minus_one_is_refused_and_a_good_one_reaches_the_engine(qtbot, settings):
    app, dlg, a, b = settings
    page = dlg.show_page("bandwidth")
    daemon = app.handles[str(a.resolve())].worker.daemon
    page.upload.edit.setText("-1")
    page.upload.edit.editingFinished.emit()
    assert page.upload.error.isVisibleTo(page) and "negative" in page.upload.error.text()
    assert daemon.transfers.limits_dict()["upload"] == 0
    page.upload.edit.setText("lots")
    page.upload.edit.editingFinished.emit()
    assert "not a speed" in page.upload.error.text()
    page.upload.edit.setText("2 MB/s")
    page.upload.edit.editingFinished.emit()
    assert not page.upload.error.isVisibleTo(page)
    qtbot.waitUntil(lambda: daemon.transfers.limits_dict()["upload"] == 2_000_000, timeout=TIMEOUT_MS)
    field = page.fields[(str(a.resolve()), "b", "download")]
    field.edit.setText("300K")
    field.edit.editingFinished.emit()
    qtbot.waitUntil(lambda: daemon.transfers.limits_dict()["remotes"].get("b", {}).get("download") == 300_000,
                    timeout=TIMEOUT_MS)
    assert app.saved_limits() == {"upload": 2_000_000, "remotes": {str(a.resolve()): {"b": {"download": 300_000}}}}


def test_rules_page_sets_a_rule_in_the_engine(qtbot, settings):
    app, dlg, a, b = settings
    (a / "Videos").mkdir()
    (a / "Videos" / "v.txt").write_text("big")
    (a / "Docs").mkdir()
    page = dlg.show_page("rules")
    page.reload()
    qtbot.waitUntil(lambda: page.tree.topLevelItemCount() == 1 and page.tree.topLevelItem(0).childCount() == 2,
                    timeout=TIMEOUT_MS)
    root = page.tree.topLevelItem(0)
    videos = next(root.child(i) for i in range(2) if root.child(i).text(0) == "Videos")
    page.tree.setCurrentItem(videos)
    qtbot.mouseClick(page.exclude_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: "Saved" in page.result.text(), timeout=TIMEOUT_MS)
    from syncassistant.engine.transfers.rules import list_rules

    assert list_rules(a) == [{"dir": "Videos", "action": "exclude"}]
    assert videos.text(1) == "Excluded"
    qtbot.mouseClick(page.clear_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: list_rules(a) == [], timeout=TIMEOUT_MS)


def test_rule_semantics_follow_the_engine():
    rules = {"Videos": "exclude"}
    assert effective("Videos/old", rules) == ("exclude", False)
    assert effective("Docs", rules) == ("include", False)
    rules = {"Photos": "include", "Photos/raw": "exclude"}
    assert effective("Docs", rules) == ("exclude", False)
    assert effective("Photos/2024", rules) == ("include", False)
    assert effective("Photos/raw", rules) == ("exclude", True)


def test_general_page_start_at_login_and_notifications(qtbot, settings):
    app, dlg, a, b = settings
    page = dlg.show_page("general")
    page.autostart.setChecked(True)
    assert autostart_file().exists()
    page.autostart.setChecked(False)
    assert not autostart_file().exists()
    page.notify.setChecked(False)
    assert app.config.notifications is False
    page.notify.setChecked(True)
    qtbot.mouseClick(page.test_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: bool(app.notifications.notifier.sent), timeout=TIMEOUT_MS)


@pytest.mark.parametrize("text, rate", [("", 0), ("0", 0), ("unlimited", 0), ("500 KB/s", 500_000),
                                        ("2M", 2_000_000), ("1.5 MiB/s", 1_572_864), ("300", 307_200)])
def test_parse_rate(text, rate):
    assert parse_rate(text) == rate


@pytest.mark.parametrize("text", ["-1", "fast", "5 parsecs", "1e9"])
def test_parse_rate_refuses(text):
    with pytest.raises(BadRate):
        parse_rate(text)


def test_automatic_upload_limit_is_turned_on_from_the_bandwidth_page(qtbot, settings):
    from syncassistant.engine.transfers.autolimit import SETTING, DelayController

    app, dlg, a, b = settings
    page = dlg.show_page("bandwidth")
    daemon = app.handles[str(a.resolve())].worker.daemon
    qtbot.waitUntil(page.auto.isEnabled, timeout=TIMEOUT_MS)
    assert not page.auto.isChecked() and daemon.transfers.limits_dict()["auto_upload"] is False
    page.auto.click()  # (the middle of a stretched check box is not on its text)
    qtbot.waitUntil(lambda: daemon.transfers.limits_dict()["auto_upload"] is True, timeout=TIMEOUT_MS)
    assert git(a, "config", SETTING).strip() == "true"  # kept for the next start
    assert app.saved_limits()["auto"] is True
    # what the limit learnt of a link is shown (the controller's state, as after an upload)
    daemon.transfers.autolimit._controllers["b"] = DelayController(uplink=1_800_000)
    daemon.set_limit()  # (any change of limits reaches the app)
    qtbot.waitUntil(lambda: "1.8 MB/s" in page.uplink.text(), timeout=TIMEOUT_MS)
    page.auto.click()  # (the middle of a stretched check box is not on its text)
    qtbot.waitUntil(lambda: daemon.transfers.limits_dict()["auto_upload"] is False, timeout=TIMEOUT_MS)
    assert git(a, "config", SETTING).strip() == "false"
