"""Cloud remotes (engine/network/cloud.py, cli_cloud.py) against real servers on 127.0.0.1:
WsgiDAV for WebDAV, moto for S3, and a plain folder. Two clones that never see each other sync
through each, both ways, with the running daemon; the second one joined from the share string
alone; the server holds no plaintext name or content."""

from __future__ import annotations

import base64
import json
import os
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import keyring
import pytest
from cloud_servers import PASSWORD, USER, DavServer, S3Server
from conftest import git, wait_for
from keyring.backend import KeyringBackend

from syncassistant import cli
from syncassistant.engine.network import cloud

SYNC_TIMEOUT = 90.0


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


@pytest.fixture(autouse=True)
def memory_keyring(monkeypatch: pytest.MonkeyPatch) -> Iterator[MemoryKeyring]:
    """A keyring that works headless (the session's default is the null keyring); gpg's agent,
    which git-annex's encryption starts in this test's HOME, is ended afterwards."""
    backend = MemoryKeyring()
    previous = keyring.get_keyring()
    keyring.set_keyring(backend)
    cloud.forget_cache()
    monkeypatch.setenv("SYNCASSISTANT_CLOUD_PASSWORD", PASSWORD)
    yield backend
    keyring.set_keyring(previous)
    cloud.forget_cache()
    gnupg = Path(os.environ["HOME"]) / ".gnupg"
    if gnupg.is_dir():
        subprocess.run(["gpgconf", "--homedir", str(gnupg), "--kill", "gpg-agent"], capture_output=True, timeout=30)


def run_cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    capsys.readouterr()
    code = cli.main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def content(path: Path) -> str | None:
    try:
        return path.read_text()
    except OSError:
        return None


def assert_no_plaintext(stored: dict[str, bytes], secrets: list[str]) -> None:
    assert stored, "nothing reached the server"
    for name, data in stored.items():
        for s in secrets:
            assert s not in name, f"{s!r} in the name {name}"
            assert s.encode() not in data, f"{s!r} in the content of {name}"
        leaf = name.rsplit("/", 1)[-1]
        # (S3 keeps git-annex's marker "annex-uuid" holding the remote's UUID)
        assert leaf.startswith("GPGHMACSHA1--") or leaf == "annex-uuid", f"{name}: not an encrypted key's name"


def sync_both_ways(a: Path, b: Path, daemons: Callable, tag: str) -> dict[str, float]:
    """Run daemons on a and b; a file made in each is readable in the other. Returns seconds."""
    daemons(a)
    daemons(b)
    times = {}
    t0 = time.monotonic()
    (a / f"report-{tag}-from-a.txt").write_text(f"plaintext-{tag}-content-a\n")
    wait_for(lambda: content(b / f"report-{tag}-from-a.txt") == f"plaintext-{tag}-content-a\n",
             SYNC_TIMEOUT, what=f"a's file readable in b through {tag}")
    times["a->b"] = time.monotonic() - t0
    t0 = time.monotonic()
    (b / f"report-{tag}-from-b.txt").write_text(f"plaintext-{tag}-content-b\n")
    wait_for(lambda: content(a / f"report-{tag}-from-b.txt") == f"plaintext-{tag}-content-b\n",
             SYNC_TIMEOUT, what=f"b's file readable in a through {tag}")
    times["b->a"] = time.monotonic() - t0
    print(f"{tag}: {times}")
    return times


def add_and_join(capsys: pytest.CaptureFixture[str], memory_keyring: MemoryKeyring, a: Path, b: Path,
                 *add_args: str) -> str:
    """`cloud add` on a, `cloud share --with-credentials`, then `cloud join` at b with a keyring
    emptied first (as on another device). Returns the share string."""
    code, out, err = run_cli(capsys, "cloud", "add", str(a), "cloud", *add_args)
    assert code == 0, err
    code, share, err = run_cli(capsys, "cloud", "share", str(a), "cloud", "--with-credentials")
    assert code == 0, err
    share = share.strip()
    assert share.startswith(cloud.SHARE_PREFIX) and "\n" not in share
    memory_keyring.items.clear()
    cloud.forget_cache()
    code, out, err = run_cli(capsys, "cloud", "join", share, str(b))
    assert code == 0, err
    # the two clones know only the cloud, never each other
    assert git(a, "remote").split() == ["cloud"]
    assert git(b, "remote").split() == ["cloud"]
    for repo in (a, b):
        cfg = (repo / ".git" / "config").read_text()
        assert PASSWORD not in cfg and "cipher" not in cfg
        assert not any((repo / ".git" / "annex" / "creds").glob("*")), "credentials left in a file"
    uuid = git(b, "config", "remote.cloud.annex-uuid").strip()
    if "--type" in add_args and add_args[add_args.index("--type") + 1] in cloud.CRED_VARS:
        assert json.loads(memory_keyring.items[("syncassistant", f"cloud:{uuid}")]) == \
            {"user": USER, "password": PASSWORD}
    return share


# ---------------------------------------------------------------------------------------------


def test_webdav_bridge_syncs_two_clones_that_never_meet(daemons, make_repo, tmp_path, capsys, memory_keyring):
    with DavServer(tmp_path / "dav") as dav:
        a = make_repo("A")
        b = tmp_path / "B"
        add_and_join(capsys, memory_keyring, a, b, "--type", "webdav", "--url", dav.url, "--user", USER)
        code, out, _ = run_cli(capsys, "cloud", "list", str(a))
        assert code == 0 and out.split("\t")[:3] == ["cloud", "webdav", "transfer"]
        sync_both_ways(a, b, daemons, "webdav")
        for d in daemons.started:
            d.stop()
        assert_no_plaintext(dav.stored(), ["report", "plaintext"])


def test_s3_bridge_syncs_two_clones_that_never_meet(daemons, make_repo, tmp_path, capsys, memory_keyring):
    with S3Server(tmp_path) as s3:
        a = make_repo("A")
        b = tmp_path / "B"
        add_and_join(capsys, memory_keyring, a, b, "--type", "s3", "--bucket", "sync-bucket",
                     "--host", "127.0.0.1", "--port", str(s3.port), "--user", USER)
        sync_both_ways(a, b, daemons, "s3")
        for d in daemons.started:
            d.stop()
        assert_no_plaintext(s3.stored("sync-bucket"), ["report", "plaintext"])


def test_directory_bridge(daemons, make_repo, tmp_path, capsys, memory_keyring):
    store = tmp_path / "store"
    store.mkdir()
    a = make_repo("A")
    b = tmp_path / "B"
    add_and_join(capsys, memory_keyring, a, b, "--type", "directory", "--directory", str(store), "--role", "backup")
    sync_both_ways(a, b, daemons, "directory")
    for d in daemons.started:
        d.stop()
    assert_no_plaintext({str(p.relative_to(store)): p.read_bytes() for p in store.rglob("*") if p.is_file()},
                        ["report", "plaintext"])


def test_rsync_bridge(daemons, make_repo, tmp_path, capsys, memory_keyring):
    """rsync to a local path (rsync itself runs: the same special remote as host:/path over ssh)."""
    store = tmp_path / "rsync-store"
    store.mkdir()
    a = make_repo("A")
    b = tmp_path / "B"
    code, _, err = run_cli(capsys, "cloud", "add", str(a), "cloud", "--type", "rsync", "--url", "-e sh")
    assert code == 1 and "url:" in err
    add_and_join(capsys, memory_keyring, a, b, "--type", "rsync", "--url", str(store))
    assert memory_keyring.items == {}  # (no credentials: nothing in the keyring)
    sync_both_ways(a, b, daemons, "rsync")
    for d in daemons.started:
        d.stop()
    assert_no_plaintext({str(p.relative_to(store)): p.read_bytes() for p in store.rglob("*") if p.is_file()},
                        ["report", "plaintext"])


def test_wrong_password_and_server_down_are_clear_errors(make_repo, tmp_path, capsys, monkeypatch):
    with DavServer(tmp_path / "dav") as dav:
        a = make_repo("A")
        monkeypatch.setenv("SYNCASSISTANT_CLOUD_PASSWORD", "not-the-password")
        code, _, err = run_cli(capsys, "cloud", "add", str(a), "cloud", "--type", "webdav", "--url", dav.url,
                               "--user", USER)
        assert code == 1
        assert "credentials: the server refused the user name or password" in err
        port = dav.port
    assert git(a, "remote").split() == []
    assert not any((a / ".git" / "annex" / "creds").glob("*"))
    monkeypatch.setenv("SYNCASSISTANT_CLOUD_PASSWORD", PASSWORD)
    code, _, err = run_cli(capsys, "cloud", "add", str(a), "cloud", "--type", "webdav",
                           "--url", f"http://127.0.0.1:{port}/annex", "--user", USER)
    assert code == 1 and "cannot reach the server" in err, err
    code, _, err = run_cli(capsys, "cloud", "add", str(a), "cloud", "--type", "webdav", "--url", "ext::sh -c x",
                           "--user", USER)
    assert code == 1 and "url:" in err
    assert git(a, "remote").split() == []


def test_malformed_or_tampered_share_strings_are_refused(make_repo, tmp_path, capsys):
    b = tmp_path / "B"

    def forge(data: dict) -> str:
        return cloud.SHARE_PREFIX + base64.urlsafe_b64encode(json.dumps(data).encode()).decode()

    good = {"name": "cloud", "uuid": "7bc3cd7b-ed84-4792-b80a-77b7f5deede8", "type": "webdav",
            "config": {"url": "http://127.0.0.1:1/annex", "encryption": "shared", "cipher": "abc"}}
    cases = {
        "garbage": "not a share string",
        "damaged": cloud.SHARE_PREFIX + "%%%",
        "external": forge({**good, "type": "external"}),
        "hook": forge({**good, "config": {**good["config"], "hooktype": "x"}}),
        "ext url": forge({**good, "config": {**good["config"], "url": "ext::sh -c touch${IFS}/tmp/x"}}),
        "no key": forge({**good, "config": {"url": "http://127.0.0.1:1/annex", "encryption": "none"}}),
        "bad uuid": forge({**good, "uuid": "../../x"}),
    }
    for what, text in cases.items():
        code, _, err = run_cli(capsys, "cloud", "join", text, str(b), "--user", USER)
        assert code == 1, what
        assert err.startswith("syncassistant: share:") or "url:" in err, (what, err)
        assert not b.exists(), what


def test_error_words_do_not_read_a_port_as_a_status():
    """Seen once in three runs: the server down on port 53401 was reported as a wrong password
    (the URL in git-annex's message holds "401")."""
    down = "(ConnectionFailure Network.Socket.connect: <socket: 13>: does not exist (Connection refused)) " \
           "http://127.0.0.1:53401/annex"
    assert cloud.explain(down)[0] == "server"
    refused = 'Status {statusCode = 401, statusMessage = "Unauthorized"} http://127.0.0.1:53403/annex'
    assert cloud.explain(refused)[0] == "credentials"
    assert cloud.explain("failed: statusCode = 500 on http://h:54017/a")[0] == "server"
    full = 'Status {statusCode = 507, statusMessage = "Insufficient Storage"} http://127.0.0.1:54507/annex'
    assert cloud.explain(full) == ("server", "the storage is full (quota exceeded): free space there")
    assert cloud.explain("down on http://127.0.0.1:50700/annex: connection refused")[0] == "server"
    assert "full" not in cloud.explain("down on http://127.0.0.1:50700/annex: connection refused")[1]
    # a name git-annex remembers from a remote removed before: the name is at fault, not the server
    assert cloud.explain('git-annex: There is already a special remote named "dav". (Use enableremote '
                         'to enable an existing special remote.)')[0] == "name"


# ---------------------------------------------------------------------------------------------
# the rest of issue 18's list: a conflict, a transfer remote emptied, a server gone mid-transfer,
# sane progress for an encrypted remote


def in_cloud(repo: Path, key: str, remote: str = "cloud") -> bool:
    """The server itself holds the (encrypted) object of `key`: git-annex asks it."""
    from syncassistant.engine.proc.git import base_env

    env = {**base_env(), **cloud.cloud_env(repo)}
    r = subprocess.run([cli_annex(), "checkpresentkey", key, remote], cwd=repo, env=env,
                       capture_output=True, text=True, timeout=60)
    assert r.returncode in (0, 1), r.stderr
    return r.returncode == 0


def cli_annex() -> str:
    from syncassistant.engine.proc.annex import annex_binary

    return annex_binary()


def versions(repo: Path, stem: str) -> set[str]:
    """The contents of `stem.txt` and its conflict variants in repo."""
    return {p.read_text() for p in repo.glob(f"{stem}*.txt") if content(p) is not None}


def test_a_conflict_through_the_cloud_keeps_both_versions(daemons, make_repo, tmp_path, capsys, memory_keyring):
    with DavServer(tmp_path / "dav") as dav:
        a = make_repo("A")
        b = tmp_path / "B"
        add_and_join(capsys, memory_keyring, a, b, "--type", "webdav", "--url", dav.url, "--user", USER)
        daemons(a)
        daemons(b)
        # the same new file on both before either can have seen the other's (the cloud is
        # asked every 3 s at best)
        (a / "notes.txt").write_text("written on A\n")
        (b / "notes.txt").write_text("written on B\n")
        both = {"written on A\n", "written on B\n"}
        wait_for(lambda: versions(a, "notes") == both and versions(b, "notes") == both, SYNC_TIMEOUT,
                 what=lambda: f"both versions in both: A {sorted(p.name for p in a.glob('notes*'))}, "
                              f"B {sorted(p.name for p in b.glob('notes*'))}")
        names_a = sorted(p.name for p in a.glob("notes*"))
        assert len(names_a) == 2 and any(".variant-" in n for n in names_a), names_a
        wait_for(lambda: sorted(p.name for p in b.glob("notes*")) == names_a, SYNC_TIMEOUT,
                 what="the same names on both")
        for d in daemons.started:
            d.stop()


def test_a_transfer_remote_is_emptied_once_both_devices_have_the_content(daemons, make_repo, tmp_path, capsys,
                                                                          memory_keyring):
    with DavServer(tmp_path / "dav") as dav:
        a = make_repo("A")
        b = tmp_path / "B"
        add_and_join(capsys, memory_keyring, a, b, "--type", "webdav", "--url", dav.url, "--user", USER)
        assert git(a, "annex", "group", "cloud").split() == ["transfer"]
        daemons(a)
        daemons(b)
        data = os.urandom(300_000)
        (a / "photo.bin").write_bytes(data)
        # B's only way to it is the cloud: it was there
        wait_for(lambda: (b / "photo.bin").is_file() and (b / "photo.bin").read_bytes() == data, SYNC_TIMEOUT,
                 what="the file in B through the cloud")
        key = git(a, "annex", "lookupkey", "photo.bin").strip()
        wait_for(lambda: not in_cloud(a, key), SYNC_TIMEOUT, what="the content dropped from the transfer remote")
        assert (a / "photo.bin").read_bytes() == data and (b / "photo.bin").read_bytes() == data
        # and a file made later still travels (the history stays there; only content goes)
        (b / "later.txt").write_text("later\n")
        wait_for(lambda: content(a / "later.txt") == "later\n", SYNC_TIMEOUT, what="a later file in A")
        # then quiet: the drops and their location logs do not set off pushes and merges back and
        # forth; each side's poller backs off (3, 6, 12, 24 s ... while nothing comes)
        wait_for(lambda: all(d.cloudpoll.interval >= 24 for d in daemons.started), 120,
                 what=lambda: f"both pollers backing off: {[d.cloudpoll.interval for d in daemons.started]}")
        for d in daemons.started:
            d.stop()


def test_the_server_stopped_mid_transfer_and_restarted(daemons, make_repo, tmp_path, capsys, memory_keyring):
    dav = DavServer(tmp_path / "dav").start()
    try:
        a = make_repo("A")
        b = tmp_path / "B"
        add_and_join(capsys, memory_keyring, a, b, "--type", "webdav", "--url", dav.url, "--user", USER)
        da = daemons(a)
        daemons(b)
        da.set_limit(upload=1_000_000)  # (slow enough to stop the server in the middle)
        data = os.urandom(6_000_000)
        (a / "video.bin").write_bytes(data)

        def upload() -> dict | None:
            return next((t for t in da.transfers_snapshot() if t["path"] == "video.bin"
                         and t["direction"] == "upload"), None)

        wait_for(lambda: (t := upload()) and t["state"] == "running" and 0 < t["bytes_done"] < len(data),
                 SYNC_TIMEOUT, what="the upload under way")
        dav.stop()
        # it fails and waits to be tried again: nothing lost, nothing given up
        wait_for(lambda: (t := upload()) and t["state"] in ("failed", "queued"), SYNC_TIMEOUT,
                 what=lambda: f"the upload failing with the server down: {upload()}")
        assert (a / "video.bin").read_bytes() == data
        da.set_limit(upload=0)
        port = dav.port
        dav = DavServer(tmp_path / "dav")
        dav.port = port  # (the same address: the remote's URL)
        dav.start()
        wait_for(lambda: (b / "video.bin").is_file() and (b / "video.bin").read_bytes() == data, SYNC_TIMEOUT,
                 what=lambda: f"the file in B after the server came back: {upload()}")
        assert (a / "video.bin").read_bytes() == data
        for d in daemons.started:
            d.stop()
    finally:
        dav.stop()


def test_progress_of_an_encrypted_remote_never_passes_100_percent(daemons, make_repo, tmp_path, capsys):
    """git-annex counts gpg's bytes for an encrypted remote: a 64-byte file reported 137 of 64
    (and `syncassistant transfers` showed 1500 % for a hand-made encrypted directory remote)."""
    store = tmp_path / "store"
    store.mkdir()
    a = make_repo("A")
    # by hand, as a person with git-annex would (not through `cloud add`)
    git(a, "annex", "initremote", "enc", "type=directory", f"directory={store}", "encryption=shared")
    d = daemons(a)
    seen: list[dict] = []
    unsubscribe = d.events.subscribe(lambda ev: seen.append(dict(ev.data)) if ev.kind == "transfer" else None)
    try:
        (a / "tiny.txt").write_text("x" * 64)
        (a / "more.bin").write_bytes(os.urandom(2_000_000))
        wait_for(lambda: {t["path"] for t in d.transfers_snapshot() if t["state"] == "done"}
                 >= {"tiny.txt", "more.bin"}, SYNC_TIMEOUT, what="both uploaded")
    finally:
        unsubscribe()
    progress = [t for t in seen if t.get("size")]
    assert progress, seen
    for t in progress:
        assert 0 <= t["bytes_done"] <= t["size"], t
    done = {t["path"]: t for t in d.transfers_snapshot() if t["state"] == "done"}
    assert all(t["bytes_done"] == t["size"] for t in done.values()), done
    code, out, err = run_cli(capsys, "transfers", str(a))
    assert code == 0, err
    percents = [int(w[:-1]) for w in out.split() if w.endswith("%") and w[:-1].isdigit()]
    assert all(p <= 100 for p in percents), out


def test_role_and_numcopies_from_the_cli(make_repo, tmp_path, capsys):
    store = tmp_path / "store"
    store.mkdir()
    a = make_repo("A")
    code, _, err = run_cli(capsys, "cloud", "add", str(a), "cloud", "--type", "directory", "--directory", str(store))
    assert code == 0, err
    code, out, _ = run_cli(capsys, "cloud", "role", str(a), "cloud")
    assert code == 0 and out.split() == ["cloud", "transfer"]
    code, out, _ = run_cli(capsys, "cloud", "role", str(a), "cloud", "backup")
    assert code == 0 and out.split() == ["cloud", "backup"]
    assert git(a, "annex", "group", "cloud").split() == ["backup"]
    with pytest.raises(SystemExit):
        run_cli(capsys, "cloud", "role", str(a), "cloud", "everything")
    code, _, err = run_cli(capsys, "cloud", "role", str(a), "nope", "backup")
    assert code == 1 and "not a git-annex remote" in err
    code, out, _ = run_cli(capsys, "cloud", "numcopies", str(a), "2")
    assert code == 0 and out.strip() == "2" and git(a, "annex", "numcopies").strip() == "2"
    code, _, err = run_cli(capsys, "cloud", "numcopies", str(a), "0")
    assert code == 1 and "numcopies is 1 or more" in err
    assert git(a, "annex", "numcopies").strip() == "2"
