"""Real cloud servers on 127.0.0.1 for tests, each a child process: WsgiDAV on cheroot for
WebDAV, moto's server for S3. Each `with` block starts one on a free port and stops it (before
the `daemons` fixture checks that no child is left), its storage inspectable by the test."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from types import TracebackType
from typing import Any

USER, PASSWORD = "alice", "s3cret-pass"
BIN = os.path.dirname(sys.executable)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class _Process:
    """A server in a child process of its own session, ended (and waited for) by stop(): out of
    the test process, whose GIL the daemons under test need (moto in a thread of it made every
    git-annex request to it take seconds)."""

    port: int
    proc: subprocess.Popen | None = None

    def _spawn(self, argv: list[str], log: Path) -> None:
        self._log = open(log, "ab")  # (closed in stop)
        self.proc = subprocess.Popen(argv, stdout=self._log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                     start_new_session=True)
        deadline = time.monotonic() + 30
        while True:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                return
            except OSError:
                if self.proc.poll() is not None or time.monotonic() > deadline:
                    self.stop()
                    raise RuntimeError(f"{argv[0]} did not start: see {log}") from None
                time.sleep(0.05)

    def stop(self) -> None:
        if self.proc is not None:
            try:
                os.killpg(self.proc.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
            self.proc = None
            self._log.close()


class DavServer(_Process):
    """A WebDAV server (WsgiDAV on cheroot) serving `root` at http://127.0.0.1:PORT/ (basic
    auth, one user)."""

    def __init__(self, root: Path, user: str = USER, password: str = PASSWORD) -> None:
        self.root = root
        self.port = free_port()
        self.user, self.password = user, password

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/annex"

    def start(self) -> DavServer:
        self.root.mkdir(parents=True, exist_ok=True)
        conf = self.root.parent / f"wsgidav-{self.port}.json"
        conf.write_text(json.dumps({
            "host": "127.0.0.1", "port": self.port,
            "provider_mapping": {"/": str(self.root)},
            "simple_dc": {"user_mapping": {"*": {self.user: {"password": self.password}}}},
            "http_authenticator": {"accept_basic": True, "accept_digest": False, "default_to_digest": False},
            "verbose": 1,
        }))
        self._spawn([os.path.join(BIN, "wsgidav"), "--config", str(conf)], self.root.parent / f"wsgidav-{self.port}.log")
        return self

    def __enter__(self) -> DavServer:
        return self.start()

    def __exit__(self, t: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None) -> None:
        self.stop()

    def stored(self) -> dict[str, bytes]:
        """Every file on the server: path relative to its root -> content."""
        return {str(p.relative_to(self.root)): p.read_bytes() for p in self.root.rglob("*") if p.is_file()}


class S3Server(_Process):
    """moto's S3 server on http://127.0.0.1:PORT (it takes any key pair)."""

    def __init__(self, logdir: Path) -> None:
        self.port = free_port()
        self.logdir = logdir

    def start(self) -> S3Server:
        self._spawn([os.path.join(BIN, "moto_server"), "-H", "127.0.0.1", "-p", str(self.port)],
                    self.logdir / f"moto-{self.port}.log")
        return self

    def __enter__(self) -> S3Server:
        return self.start()

    def __exit__(self, t: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None) -> None:
        self.stop()

    def client(self) -> Any:  # a boto3 S3 client
        import boto3

        return boto3.client("s3", endpoint_url=f"http://127.0.0.1:{self.port}", region_name="us-east-1",
                            aws_access_key_id=USER, aws_secret_access_key=PASSWORD)

    def stored(self, bucket: str) -> dict[str, bytes]:
        """Every object in `bucket`: key -> content."""
        c = self.client()
        out = {}
        for page in c.get_paginator("list_objects_v2").paginate(Bucket=bucket):
            for obj in page.get("Contents", []):
                out[obj["Key"]] = c.get_object(Bucket=bucket, Key=obj["Key"])["Body"].read()
        return out
