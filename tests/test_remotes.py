"""A remote, in one place (engine/network/remotes.py): names with dots, the record, the checks, adding one.

The end-to-end test is the one a user meets: remotes named like hosts (`nas.home`) sync content
both ways, which the transfers' scanner broke by cutting a name at its first dot.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import annex, git, link, wait_for

from syncassistant.engine.network import remotes
from syncassistant.engine.proc.git import Git


def test_remote_records_from_config(tmp_path: Path):
    cfg = {"remote.nas.home.url": "ssh://nas.home/srv/a", "remote.nas.home.annex-uuid": "u1",
           "remote.nas.home.annex-cost": "150", "remote.nas.home.fetch": "+refs/heads/*:refs/remotes/nas.home/*",
           "remote.stick.url": "/media/me/STICK/photos", "remote.stick.syncassistant-mode": "upload-only",
           "remote.old.url": "../old", "remote.old.annex-ignore": "TRUE",
           "remote.quiet.url": "host:repo", "remote.quiet.annex-sync": "false",
           "remote.dir.annex-directory": "/media/me/STICK/photos.annex", "remote.dir.annex-uuid": "u2",
           "remote.gone.url": "host:x", "remote.gone.syncassistant-mode": "off",
           "remote.weird.url": "host:y", "remote.weird.annex-cost": "lots"}
    found = remotes.read_remotes(cfg)
    assert sorted(found) == ["dir", "gone", "nas.home", "old", "quiet", "stick", "weird"]
    assert remotes.remote_names(cfg) == sorted(found)
    nas = found["nas.home"]
    assert (nas.url, nas.uuid, nas.cost, nas.mode) == ("ssh://nas.home/srv/a", "u1", 150.0, "full")
    assert nas.pushed and nas.moves_content and nas.local_path(tmp_path) is None
    assert found["stick"].cost == remotes.LOCAL_COST and found["stick"].uploads and not found["stick"].downloads
    assert found["stick"].local_path(tmp_path) == Path("/media/me/STICK/photos")
    assert found["old"].local_path(tmp_path / "repo") == tmp_path / "old"
    assert not found["old"].pushed and not found["old"].moves_content  # annex-ignore, any case
    assert not found["quiet"].pushed and not found["quiet"].moves_content
    assert not found["gone"].pushed and not found["gone"].moves_content
    assert found["dir"].moves_content and not found["dir"].pushed  # a special remote: content only
    assert found["dir"].local_path(tmp_path) == Path("/media/me/STICK/photos.annex")
    assert found["dir"].cost == remotes.NETWORK_COST  # git-annex's own for a special remote varies
    assert found["weird"].cost == remotes.NETWORK_COST  # an unreadable annex-cost: the default


def test_names_urls_and_settings_are_checked_in_one_place(tmp_path: Path, make_repo):
    assert remotes.check_name(" nas.home ", []) == "nas.home"
    for bad in ("", "has space", "x.lock", "x.", "a..b", "-x", "ü"):
        with pytest.raises(remotes.BadRemote) as e:
            remotes.check_name(bad, [])
        assert e.value.field == "name"
    with pytest.raises(remotes.BadRemote, match="already"):
        remotes.check_name("laptop", ["laptop"])
    with pytest.raises(remotes.BadRemote) as e:
        remotes.check_url("ext::sh -c touch% /tmp/pwned", tmp_path)
    assert e.value.field == "url"
    a = make_repo("A")
    b = make_repo("B", clone_of=a)
    url = remotes.add_remote(a, "nas.home", str(b), cost=50, mode="upload-only")
    assert url.url == str(b)
    got = remotes.read_remotes(Git(a).config_get_regexp(r"^remote\."))["nas.home"]
    assert (got.url, got.cost, got.mode) == (str(b), 50.0, "upload-only")
    with pytest.raises(remotes.BadRemote, match="already"):
        remotes.add_remote(a, "nas.home", str(b))
    with pytest.raises(remotes.BadRemote) as e:
        remotes.add_remote(a, "other", str(b), mode="sometimes")
    assert e.value.field == "mode"
    with pytest.raises(remotes.BadRemote) as e:
        remotes.add_remote(a, "other", str(b), cost=-1)
    assert e.value.field == "cost"
    assert "other" not in Git(a).remotes()  # nothing half-added


def test_remotes_named_with_dots_sync_content_both_ways(make_repo, daemons):
    a = make_repo("A")
    b = make_repo("B", clone_of=a)
    git(b, "remote", "remove", "origin")
    link(a, b, "nas.home", "laptop.home")
    da, db = daemons(a), daemons(b)
    (a / "from-a.txt").write_text("from A\n")
    (b / "from-b.txt").write_text("from B\n")

    def arrived(repo: Path, rel: str, text: str) -> bool:
        # git-annex has the content, and the work-tree file holds it (not the pointer: it is
        # filled in a moment after the content arrives)
        return (annex(repo, "find", "--in=here", "--", rel, check=False).strip() == rel
                and (repo / rel).read_text() == text)

    for repo, rel, text in ((b, "from-a.txt", "from A\n"), (a, "from-b.txt", "from B\n")):
        wait_for(lambda repo=repo, rel=rel, text=text: arrived(repo, rel, text), 60,
                 lambda repo=repo, rel=rel: f"{rel}'s content in {repo.name}: transfers "
                                            f"{da.transfers.snapshot(history=5)} / {db.transfers.snapshot(history=5)}")
