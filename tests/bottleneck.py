"""A user-space bottleneck: a slow uplink with a deep buffer, the way a home router is one.

`Bottleneck(rate, buffer_seconds)` forwards TCP connections from ports on 127.0.0.1 to targets
(`listen(target_port)`). Everything clients send upstream, on every connection, goes through one
FIFO drained at `rate` bytes/s holding up to `rate * buffer_seconds` bytes (when it is full the
relay stops reading, and TCP's flow control pushes back on the senders, as a full router queue
drops and TCP backs off). The way back is not limited. So a small message sent on another
connection waits behind every byte queued before it: `DelayProbe` is such a message, sent to an
echo server behind the same bottleneck, and its round trip is what the queue costs everyone
else on the network. Used by tests/test_autolimit.py and bench/bench_bufferbloat.py.
"""

from __future__ import annotations

import collections
import socket
import statistics
import threading
import time

CHUNK = 16 * 1024  # the largest piece read at once: 8 ms at 2 MiB/s, the relay's granularity


class Bottleneck:
    def __init__(self, rate: int, buffer_seconds: float = 4.0) -> None:
        self.rate = rate
        self.capacity = int(rate * buffer_seconds)
        self._cond = threading.Condition()
        self._queue: collections.deque[tuple[socket.socket, bytes | None]] = collections.deque()
        self._queued = 0
        self.max_queued = 0
        self.forwarded = 0
        self._closed = False
        self._listeners: list[socket.socket] = []
        self._socks: list[socket.socket] = []
        self._drain = threading.Thread(target=self._drain_loop, name="bottleneck-drain", daemon=True)
        self._drain.start()

    def listen(self, target_port: int, target_host: str = "127.0.0.1") -> int:
        """A port on 127.0.0.1 whose connections reach target_host:target_port through the queue."""
        ls = socket.socket()
        ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        ls.bind(("127.0.0.1", 0))
        ls.listen(16)
        self._listeners.append(ls)
        threading.Thread(target=self._accept_loop, args=(ls, (target_host, target_port)), daemon=True,
                         name="bottleneck-accept").start()
        return ls.getsockname()[1]

    def queued_seconds(self) -> float:
        with self._cond:
            return self._queued / self.rate

    def close(self) -> None:
        with self._cond:
            self._closed = True
            self._cond.notify_all()
        for s in [*self._listeners, *self._socks]:
            try:
                s.close()
            except OSError:
                pass

    def __enter__(self) -> Bottleneck:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- inside ----------------------------------------------------------------------------------
    def _accept_loop(self, ls: socket.socket, target: tuple[str, int]) -> None:
        while not self._closed:
            try:
                client, _ = ls.accept()
            except OSError:
                return
            try:
                up = socket.create_connection(target)
            except OSError:
                client.close()
                continue
            for s in (client, up):
                s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            # small kernel buffers on the way in, so the queue is ours, not the kernel's
            client.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 64 * 1024)
            self._socks += [client, up]
            threading.Thread(target=self._upstream, args=(client, up), daemon=True, name="bottleneck-up").start()
            threading.Thread(target=self._downstream, args=(up, client), daemon=True,
                             name="bottleneck-down").start()

    def _upstream(self, client: socket.socket, up: socket.socket) -> None:
        while True:
            with self._cond:
                while not self._closed and self._queued + CHUNK > self.capacity:
                    self._cond.wait()  # the queue is full: read nothing, the sender is held back
                if self._closed:
                    return
            try:
                data = client.recv(CHUNK)
            except OSError:
                data = b""
            with self._cond:
                self._queue.append((up, data or None))
                self._queued += len(data)
                self.max_queued = max(self.max_queued, self._queued)
                self._cond.notify_all()
            if not data:
                return

    def _downstream(self, up: socket.socket, client: socket.socket) -> None:
        while True:
            try:
                data = up.recv(65536)
                if not data:
                    client.shutdown(socket.SHUT_WR)
                    return
                client.sendall(data)
            except OSError:
                return

    def _drain_loop(self) -> None:
        clock = time.monotonic()
        while True:
            with self._cond:
                while not self._queue and not self._closed:
                    self._cond.wait()
                if self._closed:
                    return
                up, data = self._queue[0]
            if data:
                # the link sends the chunk's bytes one after another: it leaves when its last has
                clock = max(clock, time.monotonic()) + len(data) / self.rate
                delay = clock - time.monotonic()
                if delay > 0:
                    time.sleep(delay)
            with self._cond:
                self._queue.popleft()
                self._queued -= len(data or b"")
                self._cond.notify_all()
            try:
                if data:
                    up.sendall(data)
                    self.forwarded += len(data)
                else:
                    up.shutdown(socket.SHUT_WR)
            except OSError:
                pass


class EchoServer:
    """Sends back what it gets (the far end of the delay probe)."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(4)
        self.port = self.sock.getsockname()[1]
        threading.Thread(target=self._loop, daemon=True, name="echo").start()

    def _loop(self) -> None:
        while True:
            try:
                c, _ = self.sock.accept()
            except OSError:
                return
            c.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            threading.Thread(target=self._echo, args=(c,), daemon=True).start()

    @staticmethod
    def _echo(c: socket.socket) -> None:
        while True:
            try:
                data = c.recv(4096)
                if not data:
                    return
                c.sendall(data)
            except OSError:
                return

    def close(self) -> None:
        self.sock.close()


class DelayProbe:
    """One byte every `interval` seconds through the bottleneck to an echo server: the round
    trip another user of the network sees. Samples are (monotonic time, seconds).

    A connection that fails is made again (counted in `reconnects`, the reason kept in
    `ended`), so one silent connection never leaves a test without samples."""

    def __init__(self, port: int, interval: float = 0.1, timeout: float = 30.0) -> None:
        self.port = port
        self.interval = interval
        self.timeout = timeout
        self.samples: list[tuple[float, float]] = []
        self.ended: str | None = None  # why the last connection failed, if one did
        self.reconnects = 0
        self.sock = self._connect()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True, name="delay-probe")
        self._thread.start()

    def _connect(self) -> socket.socket:
        sock = socket.create_connection(("127.0.0.1", self.port))
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        sock.settimeout(self.timeout)
        return sock

    def _loop(self) -> None:
        while not self._stop.wait(self.interval):
            t0 = time.monotonic()
            try:
                self.sock.sendall(b"x")
                if not self.sock.recv(1):
                    raise ConnectionResetError("the echo server closed the connection")
            except OSError as e:
                self.ended = f"{type(e).__name__}: {e}"
                if self._stop.is_set():
                    return
                self.sock.close()
                try:
                    self.sock = self._connect()
                    self.reconnects += 1
                except OSError:
                    return
                continue
            self.samples.append((t0, time.monotonic() - t0))

    def between(self, start: float, end: float) -> list[float]:
        return [d for t, d in self.samples if start <= t <= end]

    def baseline(self) -> float:
        return min((d for _t, d in self.samples), default=0.0)

    def close(self) -> None:
        self._stop.set()
        try:
            self.sock.shutdown(socket.SHUT_RDWR)  # wakes a recv that waits (close alone does not)
        except OSError:
            pass
        self._thread.join(self.timeout + 5)
        self.sock.close()


def summary(delays: list[float], base: float) -> dict[str, float]:
    """Median, 90th percentile and max of the extra delay (ms) over the idle baseline."""
    if not delays:
        return {"n": 0}
    extra = sorted(max(0.0, d - base) * 1000 for d in delays)
    return {"n": len(extra), "median_ms": round(statistics.median(extra), 1),
            "p90_ms": round(extra[int(0.9 * (len(extra) - 1))], 1), "max_ms": round(extra[-1], 1)}
