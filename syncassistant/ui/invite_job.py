"""One invitation or join, run for the tray's dialogs off the GUI thread.

The engine's `invite`/`join` (engine/network/invite.py) block for as long as the other device
takes -- up to ten minutes for an invitation nobody answers -- so each runs on a thread of its
own ("syncassistant-invite"), not on Qt's global pool: the pool has as many threads as cores
(two here), and the settings pages need it meanwhile. The job reports through queued signals;
`cancel()` sets the engine's cancel event, which ends any wait at once and undoes everything
made so far (the engine's undo list), so a cancelled job leaves nothing behind. `running_jobs`
lets the app cancel and wait for every job when it quits.

Where the other side is reached is the app's setting "invite" in settings.json (all optional):
``mailbox`` (the magic-wormhole mailbox server; default the public one), ``ssh_port``,
``ssh_hosts``, ``ssh_user``, ``authorized_keys``, ``host_keys`` (this device's ssh server, as
the CLI's --ssh-* options), ``no_ssh_server`` and ``device_name``. A real user needs none of
them; tests point them at a local mailbox and sshd.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, Signal

from ..engine.network import invite as inv
from ..engine.repo import RepoError

log = logging.getLogger(__name__)

_running: set[InviteJob] = set()
_running_lock = threading.Lock()


@dataclass(frozen=True)
class InviteSettings:
    """The app's "invite" settings, read once per job."""

    mailbox: str = inv.PUBLIC_MAILBOX
    ssh_port: int = 22
    ssh_hosts: tuple[str, ...] = ()
    ssh_user: str | None = None
    authorized_keys: str | None = None
    host_keys: tuple[str, ...] = ()
    no_ssh_server: bool = False
    device_name: str | None = None

    @classmethod
    def from_config(cls, config: Any) -> InviteSettings:
        raw = config.get("invite")
        raw = raw if isinstance(raw, dict) else {}

        def text(key: str) -> str | None:
            value = raw.get(key)
            return value if isinstance(value, str) and value else None

        def texts(key: str) -> tuple[str, ...]:
            value = raw.get(key)
            return tuple(v for v in value if isinstance(v, str)) if isinstance(value, list) else ()

        port = raw.get("ssh_port")
        return cls(mailbox=text("mailbox") or inv.PUBLIC_MAILBOX,
                   ssh_port=port if isinstance(port, int) and 0 < port < 65536 else 22,
                   ssh_hosts=texts("ssh_hosts"), ssh_user=text("ssh_user"),
                   authorized_keys=text("authorized_keys"), host_keys=texts("host_keys"),
                   no_ssh_server=raw.get("no_ssh_server") is True, device_name=text("device_name"))

    def local_ssh(self) -> inv.SshAccess | None:
        """This device's ssh server as the settings describe it (None: none runs). Probes a
        socket: call it on the job's thread."""
        if self.no_ssh_server:
            return None
        return inv.local_ssh(self.ssh_port, list(self.ssh_hosts) or None, user=self.ssh_user,
                             authorized_keys=Path(self.authorized_keys) if self.authorized_keys else None,
                             host_key_files=[Path(f) for f in self.host_keys] or None)


class InviteJob(QObject):
    """One invite or join on its own thread; results come as signals in the GUI thread."""

    codeReady = Signal(str)  # the one-time code to show (invite only)
    stepped = Signal(str, str)  # the engine's step ("peer", "ssh", "cloud") and its detail (a name)
    succeeded = Signal(object)  # the connected engine Device (its .folder: our folder)
    failed = Signal(str, bool)  # the engine's message for a person, True if it was cancelled

    def __init__(self, settings: InviteSettings, parent: QObject | None = None):
        super().__init__(parent)
        self.settings = settings
        self.cancel_event = threading.Event()
        self._thread: threading.Thread | None = None

    # -- verbs ------------------------------------------------------------------------------------
    def start_invite(self, folder: str, share_cloud: bool = True, share_cloud_credentials: bool = False) -> None:
        s = self.settings

        def run() -> inv.Device:
            return inv.invite(folder, ssh=s.local_ssh(), on_code=self.codeReady.emit, mailbox=s.mailbox,
                              name=s.device_name, cancel=self.cancel_event, share_cloud=share_cloud,
                              share_cloud_credentials=share_cloud_credentials, on_step=self.stepped.emit)

        self._start(run)

    def start_join(self, code: str, folder: str | None) -> None:
        s = self.settings

        def run() -> inv.Device:
            return inv.join(code, folder or None, ssh=s.local_ssh(), mailbox=s.mailbox, name=s.device_name,
                            cancel=self.cancel_event, on_step=self.stepped.emit)

        self._start(run)

    def cancel(self) -> None:
        """End the job as soon as it waits for anything; what it made is taken back."""
        self.cancel_event.set()

    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def wait(self, timeout: float | None = None) -> bool:
        """Wait for the thread (tests, the app quitting); True if it has ended."""
        if self._thread is not None:
            self._thread.join(timeout)
        return not self.running()

    # -- the thread -------------------------------------------------------------------------------
    def _start(self, fn: Callable[[], inv.Device]) -> None:
        if self.running():
            raise RuntimeError("this job is running already")
        self.cancel_event.clear()
        self._thread = threading.Thread(target=self._run, args=(fn,), name="syncassistant-invite", daemon=True)
        with _running_lock:
            _running.add(self)
        self._thread.start()

    def _run(self, fn: Callable[[], inv.Device]) -> None:
        try:
            device = fn()
        except (inv.InviteError, RepoError) as e:
            cancelled = self.cancel_event.is_set()
            log.info("invitation ended: %s", e)
            self.failed.emit(str(e), cancelled)
        except Exception as e:  # a bug: logged, and the dialog still hears the job ended
            log.exception("invitation failed")
            self.failed.emit(f"{type(e).__name__}: {e}", self.cancel_event.is_set())
        else:
            self.succeeded.emit(device)
        finally:
            with _running_lock:
                _running.discard(self)


def running_jobs() -> list[InviteJob]:
    with _running_lock:
        return list(_running)


def cancel_all(timeout: float = 30.0) -> bool:
    """Cancel every running job and wait for each to take back what it made (the app quits)."""
    jobs = running_jobs()
    for job in jobs:
        job.cancel()
    return all(job.wait(timeout) for job in jobs)
