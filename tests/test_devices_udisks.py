"""DeviceMonitor with the real udisksd (+ systemd-udevd) and a loop-attached ext4 image.

A module of its own because the real_udisks fixture is module-scoped: its udisksd and udevd run
until the module ends, and the `daemons` fixture's check for leftover child processes in the
other device tests would count them. Skipped, with the reason, where udisksd cannot run.
"""
# Fixtures are imported from dbus_fixtures and requested by name, which pyflakes reads as
# redefinitions: hence the file-wide F811 exemption.
# ruff: noqa: F811

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from dbus_fixtures import (  # noqa: F401  (fixtures)
    bus_factory,
    loop_device,
    no_thread_leaks,
    processes,
    real_udisks,
    service_factory,
    session_bus,
    wait_until,
)
from test_devices import drive_cycle

from syncassistant.engine.daemon import Daemon
from syncassistant.engine.devices.drives import DeviceMonitor, create_drive_clone
from syncassistant.engine.devices.mounts import mount_via_udisks, udisks_block_path, unmount_via_udisks
from syncassistant.engine.devices.notify import Notifier

pytestmark = pytest.mark.usefixtures("no_thread_leaks")


# git-annex keeps annex.diskreserve (100 MB) free on the drive: the image is a sparse 256 MiB file.


def test_drive_through_real_udisksd(make_repo, real_udisks, session_bus, service_factory,
                                    tmp_path: Path, monkeypatch):
    """A clone on a real ext4 drive: unplug (offline, no retries), change, plug in (synced, notices)."""
    # the daemon is made here, not with the `daemons` fixture (see the module docstring)
    monkeypatch.setenv("DBUS_SYSTEM_BUS_ADDRESS", real_udisks.address)
    image = tmp_path / "stick.img"
    subprocess.run(["truncate", "-s", "256M", str(image)], check=True)
    subprocess.run(["mkfs.ext4", "-q", "-F", "-L", "stick", str(image)], check=True)
    recorder = service_factory("notifications", session_bus)
    a = make_repo("A")
    with loop_device(image) as dev:
        block = udisks_block_path(dev)
        wait_until(lambda: real_udisks.has_filesystem(block), 30, f"udisksd to see the ext4 on {dev}")
        mount_point = mount_via_udisks(block)
        mounted = [True]
        try:
            assert create_drive_clone(a, mount_point, "stick") == "stick"
            clone = Path(mount_point) / "A"
            d = Daemon(a)
            d.start()
            monitor = DeviceMonitor([d], notify=Notifier().send, watch_network=False)
            monitor.start()
            try:
                assert monitor.mounts.mode == "udisks2"

                def unplug() -> None:
                    unmount_via_udisks(block)
                    mounted[0] = False

                def plug() -> None:
                    assert mount_via_udisks(block) == mount_point
                    mounted[0] = True

                result = drive_cycle(d, monitor, recorder, clone, unplug, plug, monkeypatch)
                print("real udisksd drive cycle:", result)
                assert result["connected"] == "syncing 1 file"
            finally:
                monitor.stop()
                d.stop()  # nothing of ours may keep the drive busy
        finally:
            if mounted[0]:
                unmount_via_udisks(block)
