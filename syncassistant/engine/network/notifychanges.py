"""Changes on ssh remotes, as they happen: a long-lived ``git-annex-shell notifychanges`` per remote.

This module owns :class:`RemoteChangeWatcher` (no Qt). For every ssh remote of a daemon it keeps
one ssh connection running ``git-annex-shell notifychanges <path>`` on the remote host, in a
thread of its own ("syncassistant-notify-<repo>-<remote>"). The protocol (git-annex's
``Command/NotifyChanges.hs`` and ``RemoteDaemon/Transport/Ssh/Types.hs``): the remote prints
``READY`` once it watches its refs, then ``CHANGED <sha> [<sha>...]`` whenever refs under
``refs/`` change (writes close together coalesced); it ends when its stdin closes. We never write
to it.

On ``READY`` (a new connection may have missed changes) and on every ``CHANGED`` naming a commit
we do not have yet, the watcher runs ``git fetch <remote>`` through the daemon's Git and asks the
daemon's Merger to merge; the daemon then pushes and transfers content as usual. ``CHANGED`` for
objects we already have -- the echo of our own push -- fetches nothing.

When the connection drops it is made again after a back-off: 1 s doubling to 60 s, back to 1 s
after a connection that stayed up (:attr:`RemoteChangeWatcher.stable_after`);
:meth:`RemoteChangeWatcher.reconnect_now` (the network came back) skips the wait. ssh is the
command git would run for this repository (``$GIT_SSH_COMMAND``, else ``core.sshCommand``, else
``$GIT_SSH``, else ssh) with the ControlMaster options of :mod:`.sshmux` (this session, the
fetches it triggers, the pushes and the transfers share one connection to the host) and the
remote's ``annex-ssh-options`` appended: the same command git and git-annex get. A command
line runs under ``sh -c`` as git runs it; our arguments (``-T``, keep-alives -- a dead link is
noticed within about 15 s --, ``-p PORT``, the host, the remote command) are its positional
parameters, never parsed by that shell. The command ssh hands to the remote login shell is
``git-annex-shell 'notifychanges' '<path>' '--uuid' '<uuid>'`` with each argument shell-quoted,
the way git-annex itself calls it (``remote.<n>.annex-shell`` replaces the program).
"""

from __future__ import annotations

import logging
import os
import select
import shlex
import subprocess
import threading
import time
from typing import TYPE_CHECKING, Any

from ..events import Event
from ..proc.git import Git, kill_group, repo_env, repo_ssh, user_ssh_env
from . import sshmux
from .urls import BadURL, RemoteURL, parse_remote_url

if TYPE_CHECKING:
    from ..daemon import Daemon

log = logging.getLogger(__name__)

FETCH_TIMEOUT = 120.0
KEEPALIVE = sshmux.KEEPALIVE  # a dead link ends the session (and the master) within ~15 s


# ---------------------------------------------------------------------------------------------
# building the ssh command


def ssh_command(git: Git, remote: str, cfg: dict[str, str]) -> sshmux.SshCommand:
    """The ssh git would run for this repository, with our sharing and the remote's
    ``annex-ssh-options`` (from ``cfg``, the repository's ``remote.*`` settings) added."""
    return sshmux.choose(user_ssh_env(), repo_ssh(git.path).core_command,
                         cfg.get(f"remote.{remote}.annex-ssh-options"))


def notifychanges_argv(git: Git, remote: str, url: RemoteURL, cfg: dict[str, str]) -> list[str]:
    """argv running ``git-annex-shell notifychanges`` for ssh remote ``remote`` (parsed ``url``).

    ``cfg`` holds the repository's ``remote.*`` settings (``git config --get-regexp``).
    """
    return annex_shell_argv(git, remote, url, cfg, "notifychanges")


def annex_shell_argv(git: Git, remote: str, url: RemoteURL, cfg: dict[str, str], command: str,
                     *params: str) -> list[str]:
    """argv running ``git-annex-shell COMMAND PATH PARAMS... --uuid UUID`` on ssh remote
    ``remote`` over the shared connection, as git-annex itself calls it."""
    if url.kind != "ssh" or not url.host:
        raise ValueError(f"{remote} is not an ssh remote")
    ssh = ssh_command(git, remote, cfg)
    # options only OpenSSH takes: no pty, never a prompt (nobody would answer a long-lived
    # session), keep-alives; another program gets what git passes, [-p PORT] host command
    args = ["-T", "-o", "BatchMode=yes", *KEEPALIVE] if ssh.is_ssh else []
    args += sshmux.destination(url.host, url.port, url.user)
    path = url.path
    if path.startswith("~"):  # scp-style host:~/repo; git-annex-shell expands "/~/" and "/~user/"
        path = "/" + path
    words = [command, path, *params]
    uuid = cfg.get(f"remote.{remote}.annex-uuid")
    if uuid:
        words += ["--uuid", uuid]  # git-annex-shell refuses a repository with another uuid
    shell = cfg.get(f"remote.{remote}.annex-shell") or "git-annex-shell"
    # ssh always hands the remote login shell one command string: quote each argument for it.
    args.append(" ".join([shell, *(shlex.quote(a) for a in words)]))
    return ssh.argv(*args)


def ssh_remotes(daemon: Daemon) -> dict[str, RemoteURL]:
    """The daemon's ssh remotes that can notify: synced, pulled from, with git-annex."""
    out: dict[str, RemoteURL] = {}
    for name, remote in daemon.remotes().items():
        # pushed to (annex-ignore among the reasons not to: no git-annex there, so no
        # git-annex-shell) and pulled from
        if not remote.pushed or not remote.pull:
            continue
        try:
            parsed = parse_remote_url(remote.url, base=daemon.root)
        except BadURL:
            continue
        if parsed.kind != "ssh":
            continue
        out[name] = parsed
    return out


# ---------------------------------------------------------------------------------------------
# one connection


class _Connection:
    """One remote's notifychanges connection and its reconnect loop, on a thread of its own."""

    def __init__(self, owner: RemoteChangeWatcher, remote: str) -> None:
        self.owner = owner
        self.remote = remote
        self.daemon = owner.daemon
        self._stop = threading.Event()
        self._wake_r, self._wake_w = os.pipe()
        os.set_blocking(self._wake_r, False)
        os.set_blocking(self._wake_w, False)
        self._lock = threading.Lock()
        self._proc: subprocess.Popen[bytes] | None = None
        self._fetch_pending = False  # a change came while the daemon was paused
        self._warned = False  # this outage was logged as a warning already
        self.connected = False
        self.ready_at: float | None = None  # wall-clock time of the last READY
        self.connects = 0
        self.changes = 0  # CHANGED lines received
        self.fetches = 0
        self.last_error: str | None = None
        self.next_attempt: float | None = None  # wall-clock time of the next reconnect
        self._thread = threading.Thread(
            target=self._run, name=f"syncassistant-notify-{self.daemon.root.name}-{remote}", daemon=True)

    # -- control ---------------------------------------------------------------------------------
    def start(self) -> None:
        self._thread.start()

    def wake(self) -> None:
        """Cut a back-off wait short (or, connected, look at pending work)."""
        try:
            os.write(self._wake_w, b"x")
        except (BlockingIOError, OSError):
            pass

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        self.wake()  # the thread ends its ssh itself (it owns the pipes it is reading)
        self._thread.join(timeout)
        if self._thread.is_alive():
            log.warning("notifychanges thread for %s did not stop", self.remote)
            return
        os.close(self._wake_r)
        os.close(self._wake_w)

    def as_dict(self) -> dict[str, Any]:
        return {"remote": self.remote, "connected": self.connected, "ready_at": self.ready_at,
                "connects": self.connects, "changes": self.changes, "fetches": self.fetches,
                "error": self.last_error, "next_attempt": self.next_attempt}

    # -- the loop --------------------------------------------------------------------------------
    def _run(self) -> None:
        delay = self.owner.backoff_start
        while not self._stop.is_set():
            try:
                ready_at = self._session()
            except (OSError, BadURL, ValueError) as e:  # no ssh program, a remote URL changed...
                self.last_error, ready_at = str(e), None
                self._warn(f"change notifications from {self.remote} unavailable: {e}")
            except Exception as e:  # never let the thread die: log and back off
                log.exception("%s: notifychanges for %s failed", self.daemon.root, self.remote)
                self.last_error, ready_at = str(e), None
            if self._stop.is_set():
                break
            if ready_at is not None and time.monotonic() - ready_at >= self.owner.stable_after:
                delay = self.owner.backoff_start
            self.next_attempt = time.time() + delay
            self._sleep(delay)
            self.next_attempt = None
            delay = min(self.owner.backoff_max, delay * 2)

    def _sleep(self, seconds: float) -> None:
        readable, _, _ = select.select([self._wake_r], [], [], seconds)
        if readable:
            self._drain_wake()

    def _drain_wake(self) -> None:
        try:
            while os.read(self._wake_r, 512):
                pass
        except (BlockingIOError, OSError):
            pass

    def _session(self) -> float | None:
        """One connection, until it ends; returns the monotonic time READY came (None: never)."""
        cfg = self.daemon.ctx.git.config_get_regexp(r"^remote\.")
        url = cfg.get(f"remote.{self.remote}.url", "")
        git = self.daemon.ctx.git
        argv = notifychanges_argv(git, self.remote, parse_remote_url(url), cfg)
        log.debug("%s: notifychanges for %s: %s", self.daemon.root, self.remote, argv)
        # the shared connection first (see sshmux), opened with the very command of this session
        error = sshmux.connect(url, ssh_command(git, self.remote, cfg))
        if error:
            raise OSError(error)
        proc = subprocess.Popen(argv, cwd=self.daemon.root, env=repo_env(self.daemon.root, self.remote),
                                stdin=subprocess.PIPE,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True)
        with self._lock:
            self._proc = proc
        assert proc.stdout is not None and proc.stderr is not None
        out_fd, err_fd = proc.stdout.fileno(), proc.stderr.fileno()
        watch = [out_fd, err_fd, self._wake_r]
        buf, err = b"", b""
        ready_at: float | None = None
        try:
            while not self._stop.is_set():
                readable, _, _ = select.select(watch, [], [])  # no timeout: ssh keep-alives end dead links
                if self._wake_r in readable:
                    self._drain_wake()
                    if self._stop.is_set():
                        break
                    if self._fetch_pending and ready_at is not None:
                        self._fetch("a change that came while paused")
                if err_fd in readable:
                    chunk = os.read(err_fd, 4096)
                    if chunk:
                        err = (err + chunk)[-4096:]
                    else:
                        watch.remove(err_fd)
                if out_fd not in readable:
                    continue
                chunk = os.read(out_fd, 65536)
                if not chunk:
                    break
                buf += chunk
                changed: list[str] = []
                while b"\n" in buf:
                    line, buf = buf.split(b"\n", 1)
                    words = line.decode("ascii", "replace").split()
                    if words == ["READY"]:
                        ready_at = time.monotonic()
                        self._on_ready()
                    elif words and words[0] == "CHANGED":
                        self.changes += 1
                        changed += words[1:]
                    elif words:
                        log.debug("%s: notifychanges for %s said %r", self.daemon.root, self.remote, line)
                if changed and ready_at is not None:
                    self._on_changed(changed)
        finally:
            self.connected = False
            with self._lock:
                self._proc = None
            self._end(proc)
        if not self._stop.is_set():
            reason = _last_line(err) or f"exit status {proc.returncode}"
            self.last_error = reason
            self._warn(f"change notifications from {self.remote} "
                       f"{'ended' if ready_at is not None else 'unavailable'}: {reason}")
        return ready_at

    def _warn(self, message: str) -> None:
        """Warn once per outage (the first failure after a working connection); then debug."""
        log.log(logging.DEBUG if self._warned else logging.WARNING, "%s: %s", self.daemon.root, message)
        self._warned = True

    def _end(self, proc: subprocess.Popen[bytes]) -> None:
        """Close stdin (git-annex-shell ends on EOF), then stop ssh and its group."""
        try:
            if proc.stdin:
                proc.stdin.close()
        except OSError:
            pass
        kill_group(proc, grace=1.0)
        try:
            proc.wait(5)
        except subprocess.TimeoutExpired:
            log.warning("ssh for %s did not end", self.remote)
            return
        for stream in (proc.stdout, proc.stderr):
            if stream is not None:
                try:
                    stream.close()
                except OSError:
                    pass

    # -- what the remote said -------------------------------------------------------------------
    def _on_ready(self) -> None:
        first = self.connects == 0
        self.connects += 1
        self.connected = True
        self.ready_at = time.time()
        self.last_error = None
        self._warned = False
        log.info("%s: following changes on %s%s", self.daemon.root, self.remote, "" if first else " again")
        self._fetch("connected")  # catch up with what changed while we were not listening

    def _on_changed(self, shas: list[str]) -> None:
        missing = self._missing(shas)
        if not missing:
            log.debug("%s: %s changed to commits we have", self.daemon.root, self.remote)
            return
        self._fetch(f"{len(missing)} new ref value(s)")

    def _missing(self, shas: list[str]) -> list[str]:
        wanted = [s for s in dict.fromkeys(shas) if all(c in "0123456789abcdef" for c in s) and s]
        if not wanted:
            return []
        res = self.daemon.ctx.git.run("cat-file", "--batch-check", input="\n".join(wanted) + "\n",
                                      check=False, timeout=30)
        return [line.split()[0] for line in res.stdout.splitlines() if line.endswith(" missing")]

    def pending_after_pause(self) -> None:
        if self._fetch_pending:
            self.wake()

    def _fetch(self, why: str) -> None:
        ctx = self.daemon.ctx
        if ctx.stopping.is_set():
            return
        if ctx.paused.is_set():
            self._fetch_pending = True
            return
        self._fetch_pending = False
        t0 = time.monotonic()
        # with the remote's ssh command, so over the notifychanges connection (ControlMaster)
        # when there is one: no new ssh handshake
        res = ctx.fetch(self.remote, timeout=FETCH_TIMEOUT)
        if res.returncode != 0:
            self.last_error = _last_line(res.stderr.encode()) or f"git fetch exit {res.returncode}"
            log.warning("%s: fetch from %s (%s) failed: %s", ctx.root, self.remote, why, self.last_error)
            return
        self.fetches += 1
        log.debug("%s: fetched %s (%s) in %.0f ms", ctx.root, self.remote, why,
                  (time.monotonic() - t0) * 1000)
        self.daemon.request_merge()
        ctx.emit("remote-changed", remote=self.remote)


def _last_line(data: bytes) -> str:
    lines = [ln.strip() for ln in data.decode(errors="replace").splitlines() if ln.strip()]
    return lines[-1] if lines else ""


# ---------------------------------------------------------------------------------------------
# all of a daemon's ssh remotes


class RemoteChangeWatcher:
    """Follow every ssh remote of ``daemon`` with a notifychanges connection; fetch on change.

    :meth:`start` connects (also call :meth:`refresh` after remotes were added or removed),
    :meth:`stop` ends every ssh process. ``backoff_start``/``backoff_max`` bound the reconnect
    delay; a connection that stayed up ``stable_after`` seconds resets it.
    """

    def __init__(self, daemon: Daemon, *, backoff_start: float = 1.0, backoff_max: float = 60.0,
                 stable_after: float = 30.0) -> None:
        self.daemon = daemon
        self.backoff_start = backoff_start
        self.backoff_max = backoff_max
        self.stable_after = stable_after
        self._lock = threading.Lock()
        self._connections: dict[str, _Connection] = {}
        self._unsubscribe: Any = None
        self._started = False

    def start(self) -> None:
        """Connect to every ssh remote (a thread each)."""
        self._started = True
        self._unsubscribe = self.daemon.events.subscribe(self._on_event)
        self.refresh()

    def refresh(self) -> None:
        """Start connections for new ssh remotes and stop those of remotes gone."""
        if not self._started:
            return
        names = set(ssh_remotes(self.daemon))
        with self._lock:
            gone = [c for n, c in self._connections.items() if n not in names]
            for c in gone:
                del self._connections[c.remote]
            new = [_Connection(self, n) for n in sorted(names - set(self._connections))]
            for c in new:
                self._connections[c.remote] = c
        for c in gone:
            c.stop()
        for c in new:
            c.start()

    def stop(self) -> None:
        """Stop every connection: kills the ssh processes and joins the threads."""
        self._started = False
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None
        with self._lock:
            conns = list(self._connections.values())
            self._connections.clear()
        for c in conns:
            c.stop()

    def reconnect_now(self) -> None:
        """Skip the back-off wait of every disconnected remote (the network came back)."""
        with self._lock:
            conns = list(self._connections.values())
        for c in conns:
            if not c.connected:
                c.wake()

    def status(self) -> dict[str, dict[str, Any]]:
        """Per remote: connected, counters, last error, next reconnect time."""
        with self._lock:
            return {n: c.as_dict() for n, c in self._connections.items()}

    def _on_event(self, event: Event) -> None:
        if event.repo != str(self.daemon.root):
            return
        if event.kind == "sync-requested":  # e.g. after `syncassistant remote add`
            self.refresh()
            return
        # The daemon resumed: fetch what was announced while it was paused.
        if event.kind == "state" and event.data.get("state") == "running":
            with self._lock:
                conns = list(self._connections.values())
            for c in conns:
                c.pending_after_pause()
