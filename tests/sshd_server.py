"""A throwaway sshd for tests and benchmarks: keys, configs, start and stop, in one place.

The `sshd` fixture (conftest.py), the network-namespace test (test_netns.py) and the ssh
benchmark (bench/bench_ssh.py) all need the same thing: a private sshd with key auth only,
git-annex-shell on its sessions' PATH, a client key in its authorized_keys and an ssh config
that git and git-annex use through GIT_SSH_COMMAND. They differ only in where it listens, the
client's timeouts, sftp, and whether it runs inside a network namespace. No pytest here, so the
benchmark can use it too. Every process is started from an argument list, never via a shell.
"""

from __future__ import annotations

import os
import pwd
import shlex
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import IO

SSHD = "/usr/sbin/sshd"
DEFAULT_CLIENT_OPTIONS: Mapping[str, object] = {"ConnectTimeout": 5}


class SshdError(RuntimeError):
    """sshd exited or did not report listening in time (the message carries its log)."""


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port the kernel considers free on `host` right now."""
    with socket.socket() as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def ipv6_loopback_free(port: int) -> bool:
    """This machine has ::1 and `port` is free on it (for ssh://[::1]:PORT/ URLs)."""
    try:
        with socket.socket(socket.AF_INET6) as s6:
            s6.bind(("::1", port))
    except OSError:
        return False
    return True


def available() -> bool:
    """openssh-server is installed."""
    return bool(shutil.which("sshd", path="/usr/sbin:/usr/bin"))


class SshServer:
    """One private sshd in directory `d` (keys, sshd_config, ssh_config, sshd.log).

    `listen` are the ListenAddress values, all on `port`; `wrapper` is a command prefix to
    start sshd under (["ip", "netns", "exec", NS]: it must exec sshd, so our pid is sshd's);
    `bin_dir` goes first on the PATH the server gives sessions (where git-annex-shell is);
    `client_options` become ssh_config lines after the fixed ones; `sftp` adds the
    internal-sftp subsystem. `plain_shell` (root only): sessions see an empty ~/.bashrc, in a
    private mount namespace. bash sources ~/.bashrc even for `ssh host cmd`, and this
    machine's runs `pyenv init` (~150 ms a session); a server's usually returns at once for a
    non-interactive shell, and a benchmark should time our work, not that.
    """

    def __init__(self, d: Path, port: int, *, listen: Sequence[str] = ("127.0.0.1",),
                 wrapper: Sequence[str] = (), bin_dir: str | None = None,
                 client_options: Mapping[str, object] = DEFAULT_CLIENT_OPTIONS, sftp: bool = False,
                 plain_shell: bool = False) -> None:
        self.dir = d
        self.port = port
        self.listen = tuple(listen)
        self.wrapper = tuple(wrapper)
        bashrc = Path(pwd.getpwuid(os.getuid()).pw_dir) / ".bashrc"  # sshd's, not $HOME's
        if plain_shell and os.geteuid() == 0 and bashrc.is_file() and shutil.which("unshare"):
            # unshare and sh exec: sshd keeps the pid we started
            self.wrapper = ("unshare", "-m", "--propagation", "private", "sh", "-c",
                            'mount --bind /dev/null "$1" && shift && exec "$@"', "sh", str(bashrc),
                            *self.wrapper)
        self.bin_dir = bin_dir or os.path.dirname(sys.executable)
        self.client_options = dict(client_options)
        self.sftp = sftp
        self.proc: subprocess.Popen[bytes] | None = None
        self._log: IO[str] | None = None

    @property
    def log_path(self) -> Path:
        return self.dir / "sshd.log"

    @property
    def ssh_config(self) -> Path:
        return self.dir / "ssh_config"

    @property
    def ssh_command(self) -> str:
        """For GIT_SSH_COMMAND (git runs it through a shell, hence the quoting)."""
        return f"ssh -F {shlex.quote(str(self.ssh_config))}"

    def git_env(self) -> dict[str, str]:
        """What git and git-annex need to reach this server with our key and config."""
        # git-annex honours GIT_SSH_COMMAND only with GIT_ANNEX_USE_GIT_SSH
        return {"GIT_SSH_COMMAND": self.ssh_command, "GIT_ANNEX_USE_GIT_SSH": "1"}

    def log_text(self) -> str:
        try:
            return self.log_path.read_text()
        except FileNotFoundError:
            return ""

    def write_files(self) -> None:
        """Host and client keys, authorized_keys, sshd_config and the clients' ssh_config."""
        d = self.dir
        d.mkdir(mode=0o700, parents=True, exist_ok=True)
        os.chmod(d, 0o700)
        for key, comment in (("host_ed25519", "host"), ("id_ed25519", "client")):
            subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(d / key), "-C", comment],
                           check=True)
        shutil.copy(d / "id_ed25519.pub", d / "authorized_keys")
        os.chmod(d / "authorized_keys", 0o600)
        server = [f"Port {self.port}", *(f"ListenAddress {a}" for a in self.listen),
                  f"HostKey {d}/host_ed25519",
                  f"PidFile {d}/sshd.pid",
                  f"AuthorizedKeysFile {d}/authorized_keys",
                  "StrictModes no",
                  "PubkeyAuthentication yes",
                  "PasswordAuthentication no",
                  "KbdInteractiveAuthentication no",
                  "PermitRootLogin prohibit-password",
                  "UsePAM no",
                  f"SetEnv PATH={self.bin_dir}:/usr/local/bin:/usr/bin:/bin",
                  *(["Subsystem sftp internal-sftp"] if self.sftp else []),
                  "LogLevel VERBOSE"]
        (d / "sshd_config").write_text("\n".join(server) + "\n")
        client = ["Host *",
                  f"  User {os.environ.get('USER') or 'root'}",
                  f"  IdentityFile {d}/id_ed25519",
                  "  IdentitiesOnly yes",
                  f"  UserKnownHostsFile {d}/known_hosts",
                  "  StrictHostKeyChecking accept-new",
                  "  BatchMode yes",
                  *(f"  {k} {v}" for k, v in self.client_options.items())]
        self.ssh_config.write_text("\n".join(client) + "\n")

    def start(self, timeout: float = 10.0) -> None:
        """Start sshd (in the foreground, logging to sshd.log) and wait until it listens on every
        address; on failure stop it and raise SshdError."""
        os.makedirs("/run/sshd", exist_ok=True)  # its privilege separation directory
        self._log = open(self.log_path, "w")  # closed in stop()
        self.proc = subprocess.Popen([*self.wrapper, SSHD, "-D", "-e", "-f", str(self.dir / "sshd_config")],
                                     stdout=self._log, stderr=subprocess.STDOUT)
        want = [f"Server listening on {a} port {self.port}" for a in self.listen]
        deadline = time.monotonic() + timeout
        while not all(w in self.log_text() for w in want):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                log = self.log_text()
                self.stop()
                raise SshdError(f"sshd did not start listening on {', '.join(self.listen)} "
                                f"port {self.port}: {log}")
            time.sleep(0.02)

    def stop(self, timeout: float = 10.0) -> None:
        """SIGTERM, wait, SIGKILL if it lingers; close the log."""
        if self.proc is not None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout)
            self.proc = None
        if self._log is not None:
            self._log.close()
            self._log = None

    def __enter__(self) -> SshServer:
        self.write_files()
        self.start()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()
