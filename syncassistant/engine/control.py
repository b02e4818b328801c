"""The control socket: `.git/syncassistant/control.sock` (mode 0600), one JSON request per line.

The CLI (`status`, `pause`, `resume`, `sync`, `limit`, ...) talks to a running daemon through
it. Socket paths are limited to ~107 bytes, so we bind and connect through
`/proc/self/fd/<dirfd>/control.sock`, which works for a repository at any depth.
"""

from __future__ import annotations

import json
import logging
import os
import selectors
import socket
import threading
from collections.abc import Callable
from contextlib import contextmanager
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

SOCKET_NAME = "control.sock"
MAX_REQUEST = 64 * 1024

Handler = Callable[[dict[str, Any]], dict[str, Any]]


class ControlError(RuntimeError):
    pass


@contextmanager
def _short_path(directory: Path):
    fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    try:
        yield f"/proc/self/fd/{fd}/{SOCKET_NAME}"
    finally:
        os.close(fd)


class ControlServer:
    def __init__(self, state_dir: Path, handler: Handler):
        self.state_dir = Path(state_dir)
        self.handler = handler
        self.path = self.state_dir / SOCKET_NAME
        self._sock: socket.socket | None = None
        self._wake_r, self._wake_w = os.pipe()
        self._thread = threading.Thread(target=self._serve, name=f"syncassistant-control-{state_dir.parent.parent.name}",
                                        daemon=True)

    def start(self) -> None:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        old_umask = os.umask(0o177)
        try:
            with _short_path(self.state_dir) as p:
                try:
                    os.unlink(p)
                except FileNotFoundError:
                    pass
                sock.bind(p)
        finally:
            os.umask(old_umask)
        os.chmod(self.path, 0o600)
        sock.listen(16)
        self._sock = sock
        self._thread.start()

    def stop(self) -> None:
        os.write(self._wake_w, b"x")
        self._thread.join(5)
        if self._sock:
            self._sock.close()
        try:
            self.path.unlink()
        except OSError:
            pass
        os.close(self._wake_r)
        os.close(self._wake_w)

    def _serve(self) -> None:
        assert self._sock is not None
        sel = selectors.DefaultSelector()
        sel.register(self._sock, selectors.EVENT_READ, "accept")
        sel.register(self._wake_r, selectors.EVENT_READ, "stop")
        try:
            while True:
                for key, _ in sel.select():
                    if key.data == "stop":
                        return
                    conn, _ = self._sock.accept()
                    threading.Thread(target=self._handle, args=(conn,), daemon=True,
                                     name="syncassistant-control-conn").start()
        finally:
            sel.close()

    def _handle(self, conn: socket.socket) -> None:
        with conn:
            conn.settimeout(30)
            try:
                data = b""
                while b"\n" not in data and len(data) < MAX_REQUEST:
                    chunk = conn.recv(4096)
                    if not chunk:
                        break
                    data += chunk
                request = json.loads(data.decode() or "{}")
                if not isinstance(request, dict):
                    raise ValueError("request must be a JSON object")
                reply = self.handler(request)
            except Exception as e:  # a bad request must never hurt the daemon
                reply = {"ok": False, "error": str(e)}
            try:
                conn.sendall(json.dumps(reply, default=str).encode() + b"\n")
            except OSError:
                pass


def request(state_dir: Path, payload: dict[str, Any], timeout: float = 30.0) -> dict[str, Any]:
    """Send one request to the daemon of the repository whose state dir is `state_dir`."""
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.settimeout(timeout)
    try:
        try:
            with _short_path(Path(state_dir)) as p:
                sock.connect(p)
        except (FileNotFoundError, ConnectionRefusedError, NotADirectoryError):
            raise ControlError("not running") from None
        sock.sendall(json.dumps(payload).encode() + b"\n")
        data = b""
        while not data.endswith(b"\n"):
            chunk = sock.recv(65536)
            if not chunk:
                break
            data += chunk
    finally:
        sock.close()
    if not data:
        raise ControlError("the daemon closed the connection")
    return json.loads(data)
