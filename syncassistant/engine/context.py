"""What every loop of one repository's daemon shares: paths, tools, the git lock, events, flags."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .events import Event, EventHub, EventKind
from .network.remotepaths import RemotePaths
from .proc.annex import Annex
from .proc.git import Git, Result

if TYPE_CHECKING:
    from .provenance import DeviceCache


@dataclass
class RepoContext:
    root: Path
    events: EventHub = field(default_factory=EventHub)
    # Serialises every git operation that changes the index, the work tree or a branch
    # (commits, merges, annex merges). Pushes and transfers only read refs and run outside it.
    lock: threading.RLock = field(default_factory=threading.RLock)
    stopping: threading.Event = field(default_factory=threading.Event)
    paused: threading.Event = field(default_factory=threading.Event)

    def __post_init__(self) -> None:
        self.root = Path(self.root)
        self.git = Git(self.root)
        self.annex = Annex(self.root)
        self.state_dir = self.git.git_dir / "syncassistant"
        self.state_dir.mkdir(exist_ok=True)
        self._branch: str | None = None
        self._fetch_lock = threading.Lock()
        # This clone's remotes failing or away right now (the daemon wires in its pusher's and
        # transfers' view); None outside a daemon.
        self.down_remotes: Callable[[], set[str]] | None = None
        # Is each local-path remote's repository at its path? Asked before anything runs against
        # one (transfers, pushes); the daemon starts its watcher, which reports comings and goings.
        self.remote_paths = RemotePaths(self.root, self.git.git_dir)
        self._devices: DeviceCache | None = None

    @property
    def devices(self) -> DeviceCache:
        """This clone's device (annex UUID and description, read once) and the names of others,
        for the trailers our commits carry (provenance.py)."""
        if self._devices is None:
            # imported here: provenance reads uuid.log through netmap_store, which imports us
            from .provenance import DeviceCache
            self._devices = DeviceCache(self.git)
        return self._devices

    @property
    def branch(self) -> str:
        """The checked-out branch (cached; refreshed by `refresh_branch`)."""
        if self._branch is None:
            self._branch = self.git.current_branch() or "master"
        return self._branch

    def refresh_branch(self) -> None:
        self._branch = None

    def fetch(self, remote: str, timeout: float, env: dict[str, str] | None = None) -> Result:
        """`git fetch` from a remote, one at a time in this repository.

        Two fetches at once (a notifychanges wake-up and a pusher's fetch after a rejected push)
        fight over the same remote-tracking refs, and the loser fails with "cannot lock ref",
        which cost a retry back-off. A fetch that still loses to someone else's lock (a user's
        own `git fetch`) is tried again once. ssh runs as the repository's config and the
        remote's annex-ssh-options say (:meth:`Git.ssh_env`), unless `env` names a command.
        """
        env = {**self.git.ssh_env(remote), **(env or {})}
        with self._fetch_lock:
            res = self.git.run("fetch", "--quiet", "--no-write-fetch-head", remote,
                               timeout=timeout, check=False, env=env)
            if res.returncode != 0 and "cannot lock ref" in res.stderr:
                time.sleep(0.2)
                res = self.git.run("fetch", "--quiet", "--no-write-fetch-head", remote,
                                   timeout=timeout, check=False, env=env)
            return res

    def emit(self, kind: EventKind | str, **data: Any) -> None:
        self.events.emit(Event(kind, str(self.root), data))
