"""Cloud storage through the tray app's settings dialog (pages/cloud.py), against a real WsgiDAV
server on 127.0.0.1: a WebDAV remote added in the dialog, a second folder joined in the "Join
cloud storage…" dialog with the share string, files made on each side arrive on the other;
a wrong password or a server that is down is shown next to its field and leaves nothing."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import keyring
import pytest
from cloud_servers import PASSWORD, USER, DavServer, free_port
from conftest import annex, git
from PySide6.QtCore import Qt
from test_cloud import MemoryKeyring, content
from test_ui_app import TIMEOUT_MS

from syncassistant.engine.network import cloud

pytest_plugins = ("test_ui_app",)  # the UI fixtures: sync_app

SYNC_TIMEOUT_MS = 90000


@pytest.fixture(autouse=True)
def memory_keyring() -> Iterator[MemoryKeyring]:
    """A keyring that works headless; gpg's agent (git-annex's encryption starts one in this
    test's HOME) is ended afterwards (an autouse fixture: torn down after the app's checks)."""
    import os
    import subprocess

    backend = MemoryKeyring()
    previous = keyring.get_keyring()
    keyring.set_keyring(backend)
    cloud.forget_cache()
    yield backend
    keyring.set_keyring(previous)
    cloud.forget_cache()
    gnupg = Path(os.environ["HOME"]) / ".gnupg"
    if gnupg.is_dir():
        subprocess.run(["gpgconf", "--homedir", str(gnupg), "--kill", "gpg-agent"], capture_output=True, timeout=30)


def remotes_page(qtbot, app):
    dlg = app.show_settings()
    page = dlg.show_page("remotes")
    # the page has read the folder's remotes and cloud settings
    qtbot.waitUntil(lambda: page.cloud_settings.info is not None, timeout=TIMEOUT_MS)
    return page


def fill_webdav(page, name: str, url: str, password: str) -> None:
    page.kind_cloud.setChecked(True)
    assert page.where.currentWidget() is page.cloud_form
    page.name_edit.setText(name)
    form = page.cloud_form
    form.set_kind("webdav")
    form.url_edit.setText(url)
    form.user_edit.setText(USER)
    form.pass_edit.setText(password)


def test_webdav_added_and_joined_in_the_dialog_syncs_both_ways(qtbot, sync_app, make_repo, tmp_path, memory_keyring):
    with DavServer(tmp_path / "dav") as dav:
        a = make_repo("A")
        app = sync_app(a)
        page = remotes_page(qtbot, app)
        fill_webdav(page, "dav", dav.url, PASSWORD)
        form = page.cloud_form
        assert form.role_combo.currentData() == "transfer"  # the default for a bridge
        with qtbot.waitSignal(form.added, timeout=TIMEOUT_MS) as added:
            qtbot.mouseClick(page.add_button, Qt.MouseButton.LeftButton)
            assert form.running and form.progress.isVisibleTo(form)  # off the GUI thread, with progress
            assert form.status.text()  # the step under way
        assert added.args == ["dav", ""], added.args  # history uploaded, no warning
        assert not form.running and not form.progress.isVisibleTo(form)
        assert git(a, "remote").split() == ["dav"]
        assert git(a, "config", "remote.dav.url").strip() == "annex::"
        cfg = (a / ".git" / "config").read_text()
        assert PASSWORD not in cfg and not any((a / ".git" / "annex" / "creds").glob("*"))
        uuid = git(a, "config", "remote.dav.annex-uuid").strip()
        assert json.loads(memory_keyring.items[("syncassistant", f"cloud:{uuid}")]) == \
            {"user": USER, "password": PASSWORD}
        assert annex(a, "group", "dav").split() == ["transfer"]
        # the new remote in the table, its role shown
        qtbot.waitUntil(lambda: page.table.topLevelItemCount() == 1 and page.cloud_settings.is_cloud("dav"),
                        timeout=TIMEOUT_MS)
        page.table.setCurrentItem(page.table.topLevelItem(0))
        assert page.cloud_settings.role_combo.isEnabled()
        assert page.cloud_settings.role_combo.currentData() == "transfer"

        # the second folder joins through the dialog with the string `cloud share` prints
        share = cloud.share_string(a, "dav", with_credentials=True)
        b = tmp_path / "B"
        join = page.show_join()
        join.share_edit.setText(share)
        assert not join.user_edit.isVisibleTo(join)  # the string carries the credentials
        join.folder_edit.setText(str(b))
        with qtbot.waitSignal(join.joined, timeout=TIMEOUT_MS) as joined:
            qtbot.mouseClick(join.join_button, Qt.MouseButton.LeftButton)
        key_b = joined.args[0]
        assert key_b == str(b.resolve()) and str(b) in [str(p) for p in app.config.repositories]
        qtbot.waitUntil(lambda: app.state.views[key_b].status is not None, timeout=TIMEOUT_MS)
        assert git(b, "remote").split() == ["dav"]
        assert PASSWORD not in (b / ".git" / "config").read_text()

        # files both ways, through the cloud only (A and B know nothing of each other)
        (a / "from-a.txt").write_text("made on A\n")
        qtbot.waitUntil(lambda: content(b / "from-a.txt") == "made on A\n", timeout=SYNC_TIMEOUT_MS)
        (b / "from-b.txt").write_text("made on B\n")
        qtbot.waitUntil(lambda: content(a / "from-b.txt") == "made on B\n", timeout=SYNC_TIMEOUT_MS)

        # role and numcopies of the existing remote, changed on the page
        settings = page.cloud_settings
        settings.role_combo.setCurrentIndex(settings.role_combo.findData("backup"))
        qtbot.mouseClick(settings.role_button, Qt.MouseButton.LeftButton)
        qtbot.waitUntil(lambda: settings.role_of("dav") == "backup", timeout=TIMEOUT_MS)
        assert annex(a, "group", "dav").split() == ["backup"]
        settings.copies.setValue(2)
        qtbot.mouseClick(settings.copies_button, Qt.MouseButton.LeftButton)
        qtbot.waitUntil(lambda: settings.info is not None and settings.info.numcopies == 2, timeout=TIMEOUT_MS)
        assert annex(a, "numcopies").strip() == "2"
        app.shutdown()  # (the daemons stop before the server does)


def test_wrong_password_or_server_down_shows_an_error_and_leaves_nothing(qtbot, sync_app, make_repo, tmp_path,
                                                                         memory_keyring):
    a = make_repo("A")
    with DavServer(tmp_path / "dav") as dav:
        app = sync_app(a)
        page = remotes_page(qtbot, app)
        form = page.cloud_form
        fill_webdav(page, "dav", dav.url, "not-the-password")
        with qtbot.waitSignal(form.failed, timeout=TIMEOUT_MS) as failed:
            qtbot.mouseClick(page.add_button, Qt.MouseButton.LeftButton)
        assert failed.args[0] == "password", failed.args
        assert form.errors["password"].isVisibleTo(form)
        assert "refused the user name or password" in form.errors["password"].text()
        assert form.pass_edit.accessibleDescription() == form.errors["password"].text()
        assert page.add_button.isEnabled() and not form.running
        assert git(a, "remote").split() == [] and "remote.dav" not in (a / ".git" / "config").read_text()
        assert memory_keyring.items == {}
        assert not any((a / ".git" / "annex" / "creds").glob("*"))

    # a server that is not there: next to the URL
    fill_webdav(page, "dav", f"http://127.0.0.1:{free_port()}/annex", PASSWORD)
    with qtbot.waitSignal(form.failed, timeout=TIMEOUT_MS) as failed:
        qtbot.mouseClick(page.add_button, Qt.MouseButton.LeftButton)
    assert failed.args[0] == "url" and "cannot reach the server" in form.errors["url"].text()
    assert not form.errors["password"].isVisibleTo(form)
    # a URL that is no WebDAV URL is refused at once, before any thread or process starts
    fill_webdav(page, "dav", "ext::sh -c x", PASSWORD)
    with qtbot.waitSignal(form.failed, timeout=1000) as failed:
        qtbot.mouseClick(page.add_button, Qt.MouseButton.LeftButton)
    assert failed.args[0] == "url" and not form.running
    # and a bad share string in the join dialog, next to its field, no folder made
    join = page.show_join()
    join.share_edit.setText("syncassistant-cloud:v1:%%%")
    join.folder_edit.setText(str(tmp_path / "B"))
    qtbot.mouseClick(join.join_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: join.errors["share"].isVisibleTo(join), timeout=TIMEOUT_MS)
    assert "damaged" in join.errors["share"].text() and not (tmp_path / "B").exists()
    assert git(a, "remote").split() == [] and memory_keyring.items == {}
    join.close()


def test_s3_added_in_the_dialog_and_joined(qtbot, sync_app, make_repo, tmp_path, memory_keyring):
    """S3 through the form: the endpoint typed as a URL (moto's server on 127.0.0.1), access key
    and secret to the keyring; the bucket holds the history, and a join from it gets the files."""
    from cloud_servers import S3Server

    a = make_repo("A")
    (a / "before.txt").write_text("made before the bucket\n")
    git(a, "annex", "add", "before.txt")
    git(a, "commit", "-q", "-m", "before")
    with S3Server(tmp_path) as s3:
        app = sync_app(a)
        page = remotes_page(qtbot, app)
        page.kind_cloud.setChecked(True)
        page.name_edit.setText("bucket")
        form = page.cloud_form
        form.set_kind("s3")
        assert not form.dir_edit.isVisibleTo(form) and form.bucket_edit.isVisibleTo(form)
        form.url_edit.setText(f"http://127.0.0.1:{s3.port}")
        form.bucket_edit.setText("Bad_Bucket")
        form.user_edit.setText(USER)
        form.pass_edit.setText(PASSWORD)
        with qtbot.waitSignal(form.failed, timeout=1000) as failed:
            qtbot.mouseClick(page.add_button, Qt.MouseButton.LeftButton)
        assert failed.args[0] == "bucket" and form.errors["bucket"].isVisibleTo(form)
        form.bucket_edit.setText("sync-bucket")
        form.role_combo.setCurrentIndex(form.role_combo.findData("backup"))
        with qtbot.waitSignal(form.added, timeout=TIMEOUT_MS) as added:
            qtbot.mouseClick(page.add_button, Qt.MouseButton.LeftButton)
        assert added.args == ["bucket", ""], added.args
        assert annex(a, "group", "bucket").split() == ["backup"]
        assert PASSWORD not in (a / ".git" / "config").read_text()
        uuid = git(a, "config", "remote.bucket.annex-uuid").strip()
        assert ("syncassistant", f"cloud:{uuid}") in memory_keyring.items
        assert s3.stored("sync-bucket"), "nothing reached the bucket"
        # the history is there: a clone made from the share string alone has the file
        b = cloud.join(cloud.share_string(a, "bucket", with_credentials=True), tmp_path / "B")
        qtbot.waitUntil(lambda: content(b / "before.txt") == "made before the bucket\n" or
                        _get(b, "before.txt"), timeout=SYNC_TIMEOUT_MS)
        app.shutdown()


def _get(repo: Path, path: str) -> bool:
    """Fetch the file's content from wherever git-annex can (the bucket), once the app's daemon
    has uploaded it; True when it is there."""
    from syncassistant.engine.proc.git import base_env

    env = {**base_env(), **cloud.cloud_env(repo)}
    import subprocess

    subprocess.run(["git", "annex", "get", "--", path], cwd=repo, env=env, capture_output=True, timeout=60)
    return content(repo / path) is not None
