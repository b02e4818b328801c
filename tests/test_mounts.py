"""MountWatcher and find_annex_clones against real components.

* the real udisksd (+ systemd-udevd) on a private "system" bus with a loop-attached ext4 image that
  holds git-annex clones (skipped, with the reason, where udisksd cannot run);
* a UDisks2 stand-in speaking the same interfaces on a real private bus;
* the /proc/self/mountinfo fallback inside a private mount namespace (unshare -m), driven by
  tmpfs mounts made from outside with nsenter.
"""
# Fixtures are imported from dbus_fixtures and requested by name, which pyflakes reads as
# redefinitions: hence the file-wide F811 exemption.
# ruff: noqa: F811

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path

import pytest
from dbus_fixtures import (  # noqa: F401  (fixtures)
    Events,
    bus_factory,
    git_env,
    loop_device,
    make_annex_drive_image,
    make_annex_repo,
    make_bare_annex_clone,
    no_thread_leaks,
    processes,
    real_udisks,
    service_factory,
    system_bus,
    wait_until,
)

from syncassistant.engine.devices.mounts import (
    MountWatcher,
    default_mount_filter,
    find_annex_clones,
    mount_via_udisks,
    parse_mountinfo,
    read_git_config,
    udisks_block_path,
    unmount_via_udisks,
)

pytestmark = pytest.mark.usefixtures("no_thread_leaks")

STANDIN_BLOCK = "/org/freedesktop/UDisks2/block_devices/"


def make_watcher(events: Events, **kw) -> MountWatcher:
    return MountWatcher(events.callback("mount"), events.callback("unmount"), **kw)


# ---- pure parsing ----------------------------------------------------------------------------


def test_read_git_config(tmp_path: Path):
    config = tmp_path / "config"
    config.write_text(
        "# comment\n"
        "[core]\n\tbare = false\n"
        "[Annex]\n\tUUID = 0b8f7c1e-2a3d-4e5f-9a8b-7c6d5e4f3a2b   ; trailing comment\n"
        "\tversion = 10\n"
        '[remote "Origin"]\n\turl = "/media/a drive/photos" # quoted\n'
        "\tannex-ignore\n"
        "\tfetch = +refs/heads/*:\\\n"
        "refs/remotes/origin/*\n"
        '[filter "annex"]\n\tsmudge = git-annex smudge -- %f\n'
    )
    values = read_git_config(config)
    assert values["annex.uuid"] == "0b8f7c1e-2a3d-4e5f-9a8b-7c6d5e4f3a2b"
    assert values["annex.version"] == "10"
    assert values["core.bare"] == "false"
    assert values["remote.Origin.url"] == "/media/a drive/photos"
    assert values["remote.Origin.annex-ignore"] == "true"
    assert values["remote.Origin.fetch"] == "+refs/heads/*:refs/remotes/origin/*"
    assert values["filter.annex.smudge"] == "git-annex smudge -- %f"
    assert read_git_config(tmp_path / "missing") == {}


def test_parse_mountinfo_unescapes_and_keeps_fstype():
    data = (b"22 1 259:2 / / rw,relatime shared:1 - ext4 /dev/nvme0n1p2 rw\n"
            b"98 22 8:17 / /media/me/MY\\040STICK rw,nosuid shared:50 - vfat /dev/sdb1 rw,uid=1000\n"
            b"40 22 0:5 / /proc rw - proc proc rw\n"
            b"garbage line\n")
    mounts = parse_mountinfo(data)
    assert mounts["/media/me/MY STICK"] == ("vfat", "/dev/sdb1")
    assert mounts["/proc"] == ("proc", "proc")
    assert default_mount_filter("/media/me/MY STICK", "vfat")
    assert not default_mount_filter("/", "ext4")
    assert not default_mount_filter("/mnt/proc", "proc")
    assert default_mount_filter("/mnt", "ext4") and not default_mount_filter("/mntx", "ext4")


def test_udisks_block_path():
    assert udisks_block_path("/dev/loop0") == STANDIN_BLOCK + "loop0"
    assert udisks_block_path("/dev/mapper/luks-1") == STANDIN_BLOCK + "luks_2d1"


# ---- git-annex clones ------------------------------------------------------------------------


def test_find_annex_clones(tmp_path: Path):
    env = git_env(tmp_path)
    drive = tmp_path / "drive"
    photos = make_annex_repo(drive / "photos", env, "photos")
    bare = make_bare_annex_clone(drive / "photos", drive / "backup.git", env, "bare")
    subprocess.run(["git", "init", "-q", str(drive / "plain-git")], env=env, check=True)
    make_annex_repo(drive / "deep" / "er" / "repo", env, "too deep")
    make_annex_repo(drive / ".hidden", env, "hidden")
    (drive / "link").symlink_to(drive / "photos")

    assert find_annex_clones(drive) == [(drive / "backup.git", bare), (drive / "photos", photos)]
    assert find_annex_clones(drive / "photos") == [(drive / "photos", photos)]  # the drive is the repo
    deep = drive / "deep" / "er" / "repo"
    assert deep not in [p for p, _ in find_annex_clones(drive, max_depth=2)]
    assert deep in [p for p, _ in find_annex_clones(drive, max_depth=3)]
    assert find_annex_clones(tmp_path / "nowhere") == []


# ---- UDisks2 stand-in on a real bus ----------------------------------------------------------


def test_standin_mount_and_unmount(system_bus, service_factory):
    udisks = service_factory("udisks", system_bus)
    udisks.command("add", name="sdb1", label="PHOTOS")
    events = Events()
    watcher = make_watcher(events)
    watcher.start()
    try:
        assert watcher.mode == "udisks2"
        assert watcher.current_mounts() == {}

        udisks.command("add", name="sdc1", label="SYSTEM")
        udisks.command("mount", name="sdc1", path="/srv/data")  # not a user drive: filtered out
        udisks.command("mount", name="sdb1", path="/media/me/PHOTOS")
        assert events.expect("mount") == ("mount", "/media/me/PHOTOS", "PHOTOS", "/dev/sdb1")
        info = watcher.current_mounts()["/media/me/PHOTOS"]
        assert (info.label, info.device, info.fstype) == ("PHOTOS", "/dev/sdb1", "ext4")
        assert list(watcher.current_mounts()) == ["/media/me/PHOTOS"]

        udisks.command("unmount", name="sdb1")
        assert events.expect("unmount") == ("unmount", "/media/me/PHOTOS")
        assert watcher.current_mounts() == {}

        # pulled out while mounted: InterfacesRemoved -> unmount
        udisks.command("mount", name="sdb1", path="/media/me/PHOTOS")
        events.expect("mount", "/media/me/PHOTOS")
        udisks.command("remove", name="sdb1")
        events.expect("unmount", "/media/me/PHOTOS")
    finally:
        assert watcher.stop()
    assert [e[0] for e in events.seen + events.drain()] == ["mount", "unmount", "mount", "unmount"]


def test_standin_existing_mounts(system_bus, service_factory):
    udisks = service_factory("udisks", system_bus)
    udisks.command("add", name="sdb1", label="OLD", mounts=["/run/media/me/OLD"])
    quiet, loud = Events(), Events()
    watchers = [make_watcher(quiet), make_watcher(loud, report_existing=True)]
    for w in watchers:
        w.start()
    try:
        assert all("/run/media/me/OLD" in w.current_mounts() for w in watchers)
        assert loud.expect("mount", "/run/media/me/OLD") == ("mount", "/run/media/me/OLD", "OLD", "/dev/sdb1")
        udisks.command("unmount", name="sdb1")
        quiet.expect("unmount", "/run/media/me/OLD")  # the first event the quiet one reports
        assert quiet.seen == [("unmount", "/run/media/me/OLD")]
    finally:
        for w in watchers:
            assert w.stop()


def test_standin_label_arrives_before_the_filesystem(system_bus, service_factory):
    """What udisksd does for a loop device: Block exists first, then IdLabel changes, then Filesystem."""
    udisks = service_factory("udisks", system_bus)
    udisks.command("add", name="loop7", label="", filesystem=False)
    events = Events()
    watcher = make_watcher(events)
    watcher.start()
    try:
        udisks.command("relabel", name="loop7", label="LATE")
        udisks.command("add_filesystem", name="loop7")
        udisks.command("mount", name="loop7", path="/media/me/LATE")
        assert events.expect("mount") == ("mount", "/media/me/LATE", "LATE", "/dev/loop7")
    finally:
        assert watcher.stop()


def test_standin_mount_via_udisks(system_bus, service_factory):
    udisks = service_factory("udisks", system_bus)
    udisks.command("add", name="sdd1", label="BACKUP")
    events = Events()
    watcher = make_watcher(events)
    watcher.start()
    try:
        mount_point = mount_via_udisks(STANDIN_BLOCK + "sdd1")
        assert mount_point == "/media/standin/BACKUP"
        events.expect("mount", mount_point, "BACKUP", "/dev/sdd1")
        unmount_via_udisks(STANDIN_BLOCK + "sdd1")
        events.expect("unmount", mount_point)
    finally:
        assert watcher.stop()


@pytest.mark.parametrize("how", ["udisks quits", "bus dies"])
def test_falls_back_to_mountinfo_when_udisks_leaves(how, system_bus, service_factory, caplog):
    udisks = service_factory("udisks", system_bus)
    udisks.command("add", name="sdz1", label="GONE", mounts=["/media/standin/GONE"])
    events = Events()
    watcher = make_watcher(events)
    watcher.start()
    try:
        assert watcher.mode == "udisks2"
        assert "/media/standin/GONE" in watcher.current_mounts()
        with caplog.at_level("WARNING", logger="syncassistant.engine.devices.mounts"):
            if how == "udisks quits":
                udisks.quit()
            else:
                system_bus.stop()
            # the stand-in's mount never was in mountinfo: switching reports it gone
            events.expect("unmount", "/media/standin/GONE")
            wait_until(lambda: watcher.mode == "mountinfo", 10, "the switch to mountinfo")
        assert "watching /proc/self/mountinfo from now on" in caplog.text
    finally:
        assert watcher.stop()


def test_restart_after_stop(system_bus, service_factory):
    udisks = service_factory("udisks", system_bus)
    udisks.command("add", name="sdb1", label="AGAIN")
    events = Events()
    watcher = make_watcher(events)
    for round_ in range(2):
        watcher.start()
        try:
            udisks.command("mount", name="sdb1", path=f"/media/me/AGAIN{round_}")
            events.expect("mount", f"/media/me/AGAIN{round_}")
            udisks.command("unmount", name="sdb1")
            events.expect("unmount", f"/media/me/AGAIN{round_}")
        finally:
            assert watcher.stop()
        assert not watcher.is_running


# ---- the mountinfo fallback ------------------------------------------------------------------


def test_no_udisks_on_the_bus_means_mountinfo(system_bus, caplog):
    watcher = make_watcher(Events())
    with caplog.at_level("INFO", logger="syncassistant.engine.devices.mounts"):
        watcher.start()
    try:
        assert watcher.mode == "mountinfo"
        assert "org.freedesktop.UDisks2 is not on the system bus" in caplog.text
    finally:
        t0 = time.monotonic()
        assert watcher.stop()
        assert time.monotonic() - t0 < 1.0  # poll() woken by the eventfd, no timer


def test_no_system_bus_means_mountinfo(monkeypatch, tmp_path: Path):
    monkeypatch.setenv("DBUS_SYSTEM_BUS_ADDRESS", f"unix:path={tmp_path / 'no-bus.sock'}")
    watcher = make_watcher(Events())
    watcher.start()
    try:
        assert watcher.mode == "mountinfo"
        assert watcher.is_running
    finally:
        assert watcher.stop()


def _namespace_reason() -> str | None:
    if os.geteuid() != 0:
        return "needs root to mount"
    try:
        probe = subprocess.run(["unshare", "-m", "true"], capture_output=True, text=True, timeout=10)
    except FileNotFoundError:
        return "unshare missing (util-linux)"
    return f"cannot create a mount namespace: {probe.stderr.strip()}" if probe.returncode else None


def test_mountinfo_in_a_mount_namespace(tmp_path: Path, service_factory):
    reason = _namespace_reason()
    if reason:
        pytest.skip(reason)
    drives, elsewhere = tmp_path / "drives", tmp_path / "elsewhere"
    stick = drives / "my stick"  # a space: mountinfo writes it as \040
    stick.mkdir(parents=True)
    elsewhere.mkdir()
    helper = service_factory("mountinfo-watch", "", "--prefix", str(drives),
                             prefix=("unshare", "-m", "--propagation", "private"))
    assert helper.ready["mode"] == "mountinfo"
    assert helper.ready["mounts"] == []
    nsenter = ["nsenter", "-t", str(helper.ready["pid"]), "-m"]

    def run(*cmd: str) -> None:
        subprocess.run([*nsenter, *cmd], check=True, capture_output=True, timeout=30)

    run("mount", "-t", "tmpfs", "-o", "size=1m", "satest-other", str(elsewhere))  # outside the filter
    run("mount", "-t", "tmpfs", "-o", "size=1m", "satest", str(stick))
    ev = helper.expect("mount")  # the first mount reported is the one under the prefix
    assert (ev["mount_point"], ev["label"], ev["device"]) == (str(stick), None, None)
    run("umount", str(stick))
    helper.expect("unmount", mount_point=str(stick))
    run("mount", "-t", "tmpfs", "-o", "size=1m", "satest", str(stick))
    helper.expect("mount", mount_point=str(stick))

    with open("/proc/self/mountinfo") as f:  # the test's own namespace never saw them
        assert "satest" not in f.read()
    done = helper.command("quit")
    assert done["joined"] and done["seconds"] < 1.0
    assert not [t for t in done["threads"] if t.startswith("syncassistant-")]
    assert helper.proc.wait(5) == 0


# ---- the real udisksd ------------------------------------------------------------------------


def test_real_udisksd_with_an_annex_drive(real_udisks, tmp_path: Path, monkeypatch):
    monkeypatch.setenv("DBUS_SYSTEM_BUS_ADDRESS", real_udisks.address)
    image, uuids = make_annex_drive_image(tmp_path, "SYNCSTICK")
    events = Events()
    watcher = make_watcher(events)
    watcher.start()
    try:
        assert watcher.mode == "udisks2"
        with loop_device(image) as dev:
            block = udisks_block_path(dev)
            wait_until(lambda: real_udisks.has_filesystem(block), 30, f"udisksd to see the ext4 on {dev}")
            mount_point = mount_via_udisks(block)  # udisksd mounts at /media/root/SYNCSTICK
            try:
                ev = events.expect("mount", mount_point, timeout=15)
                assert ev == ("mount", mount_point, "SYNCSTICK", dev)
                assert watcher.current_mounts()[mount_point].fstype == "ext4"
                root = Path(mount_point)
                assert find_annex_clones(root) == [(root / "backup.git", uuids["backup.git"]),
                                                   (root / "photos", uuids["photos"])]
            finally:
                unmount_via_udisks(block)
            events.expect("unmount", mount_point, timeout=15)
            assert mount_point not in watcher.current_mounts()
    finally:
        assert watcher.stop()
