"""Real D-Bus test environments for the engine's mounts/netwatch/notify modules.

What this file owns:

* :class:`ProcessTracker` -- every process a test starts goes through it; teardown terminates
  them (SIGTERM, wait, SIGKILL), also anything left in their sessions, and reports leftovers.
* :class:`PrivateBus` -- a dbus-daemon with our own config (no service activation, nothing read
  from /usr/share/dbus-1), used as a private "system" or "session" bus.
* Stand-in services, each run as a separate process (``python dbus_fixtures.py KIND --bus ADDR``)
  driven by JSON lines on stdin and reporting JSON lines on stdout (:class:`ServiceProcess`):
  ``notifications`` (owns org.freedesktop.Notifications and records every Notify call),
  ``networkmanager`` (org.freedesktop.NetworkManager's State/Connectivity/Metered properties
  with PropertiesChanged and StateChanged), ``upower`` (org.freedesktop.UPower's OnBattery and
  its DisplayDevice's Percentage/State/IsPresent, with PropertiesChanged), ``udisks`` (UDisks2's ObjectManager, Block and
  Filesystem interfaces), ``mountinfo-watch`` (a MountWatcher in mountinfo mode, meant to
  run under ``unshare -m``) and ``device-monitor`` (a Daemon plus a DeviceMonitor in mountinfo
  mode, also for ``unshare -m``; its notices come out as events).
* :func:`real_udisks` -- the real udisksd (plus systemd-udevd if none runs) on a private bus
  posing as the system bus; skips with the reason when it cannot run here.
* :func:`make_annex_drive_image` -- an ext4 image holding git-annex clones (mkfs.ext4 -d).
* :func:`wait_until` and :class:`Events` -- waiting on conditions with deadlines.

Test modules import the fixtures they use from here (``from dbus_fixtures import ...``).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import os
import queue
import select
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from jeepney import (
    DBusAddress,
    HeaderFields,
    MessageType,
    new_error,
    new_method_call,
    new_method_return,
    new_signal,
)
from jeepney.bus_messages import message_bus
from jeepney.io.blocking import Proxy, open_dbus_connection

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
PYTHON = sys.executable
VENV_BIN = Path(sys.executable).parent
UDISKSD = "/usr/libexec/udisks2/udisksd"
UDEVD = "/lib/systemd/systemd-udevd"

# ---------------------------------------------------------------------------------------------
# waiting with deadlines


def wait_until(cond: Callable[[], Any], timeout: float = 10.0, what: str = "condition",
               interval: float = 0.01) -> Any:
    """Return cond()'s first truthy value; fail the test after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = cond()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise AssertionError(f"timed out after {timeout:.1f} s waiting for {what}")
        time.sleep(interval)


class Events:
    """Collect callback calls from watcher threads; ``expect`` waits for one with a deadline."""

    def __init__(self) -> None:
        self._q: queue.Queue[tuple[Any, ...]] = queue.Queue()
        self.seen: list[tuple[Any, ...]] = []

    def callback(self, kind: str) -> Callable[..., None]:
        return lambda *args: self._q.put((kind, *args))

    def expect(self, kind: str, *args: Any, timeout: float = 10.0) -> tuple[Any, ...]:
        """Next event of ``kind`` whose leading arguments equal ``args``; skipped ones are kept in seen."""
        deadline = time.monotonic() + timeout
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise AssertionError(f"no {kind}{args} within {timeout:.1f} s; seen {self.seen}")
            try:
                ev = self._q.get(timeout=remaining)
            except queue.Empty:
                continue
            self.seen.append(ev)
            if ev[0] == kind and ev[1:1 + len(args)] == args:
                return ev

    def drain(self) -> list[tuple[Any, ...]]:
        out = []
        while True:
            try:
                out.append(self._q.get_nowait())
            except queue.Empty:
                self.seen.extend(out)
                return out


# ---------------------------------------------------------------------------------------------
# processes


def _session_members(sid: int) -> list[int]:
    """PIDs whose session id is ``sid`` (processes we started with start_new_session, and their children)."""
    pids = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as f:
                fields = f.read().rsplit(b")", 1)[1].split()
        except OSError:
            continue
        if int(fields[3]) == sid and fields[0] != b"Z":
            pids.append(int(entry))
    return pids


class ProcessTracker:
    """Start processes in their own sessions; stop them all, check none (nor a child) is left."""

    def __init__(self) -> None:
        self.procs: list[subprocess.Popen[Any]] = []

    def popen(self, args: list[str], *, log: Path | None = None, **kw: Any) -> subprocess.Popen[Any]:
        """Popen in a new session; ``log`` takes stderr (and stdout unless redirected)."""
        kw.setdefault("start_new_session", True)
        with contextlib.ExitStack() as stack:
            if log is not None:
                f = stack.enter_context(open(log, "a"))  # the child keeps its own copy
                kw.setdefault("stderr", f)
                kw.setdefault("stdout", f)
            proc = subprocess.Popen(args, **kw)
        self.procs.append(proc)
        return proc

    @staticmethod
    def stop(proc: subprocess.Popen[Any], timeout: float = 5.0) -> None:
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout)
        for stream in (proc.stdin, proc.stdout, proc.stderr):
            if stream is not None:
                with contextlib.suppress(OSError):
                    stream.close()

    def stop_all(self) -> list[str]:
        """Stop everything (newest first); return descriptions of processes that had to be killed late."""
        leftovers = []
        for proc in reversed(self.procs):
            self.stop(proc)
        for proc in self.procs:
            # children left in the session once its leader is gone (e.g. udevd workers)
            deadline = time.monotonic() + 5
            while (members := _session_members(proc.pid)) and time.monotonic() < deadline:
                time.sleep(0.02)
            for pid in members:
                leftovers.append(f"pid {pid} in the session of {proc.args!r}")
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
            if proc.returncode is None:
                leftovers.append(f"{proc.args!r} still running")
        self.procs.clear()
        return leftovers


@pytest.fixture
def processes() -> Iterator[ProcessTracker]:
    """A ProcessTracker whose processes are all gone after the test (checked)."""
    tracker = ProcessTracker()
    yield tracker
    leftovers = tracker.stop_all()
    assert not leftovers, f"processes left behind: {leftovers}"


@pytest.fixture
def no_thread_leaks() -> Iterator[None]:
    """Fail a test that leaves a syncassistant-* thread running (threads from before it are not counted)."""
    before = set(threading.enumerate())
    yield
    alive = [t.name for t in threading.enumerate() if t.name.startswith("syncassistant-") and t not in before]
    assert not alive, f"threads left running: {alive}"


# ---------------------------------------------------------------------------------------------
# private dbus-daemon

BUS_CONFIG = """<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>{kind}</type>
  <listen>unix:path={sock}</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow send_destination="*" eavesdrop="true"/>
    <allow eavesdrop="true"/>
    <allow own="*"/>
  </policy>
</busconfig>
"""


class PrivateBus:
    """A dbus-daemon on a unix socket in ``workdir``, with no service activation."""

    def __init__(self, workdir: Path, tracker: ProcessTracker, kind: str = "session") -> None:
        self.workdir = Path(workdir)
        self.tracker = tracker
        self.kind = kind
        self.socket = self.workdir / "bus.sock"
        self.proc: subprocess.Popen[str] | None = None
        self.address = ""

    def start(self, timeout: float = 10.0) -> PrivateBus:
        self.workdir.mkdir(parents=True, exist_ok=True)
        with contextlib.suppress(FileNotFoundError):
            self.socket.unlink()  # a socket left by an earlier daemon on the same path
        config = self.workdir / "bus.conf"
        config.write_text(BUS_CONFIG.format(kind=self.kind, sock=self.socket))
        self.proc = self.tracker.popen(
            ["dbus-daemon", f"--config-file={config}", "--nofork", "--print-address=1"],
            stdout=subprocess.PIPE, log=self.workdir / "dbus-daemon.log", text=True)
        ready, _, _ = select.select([self.proc.stdout], [], [], timeout)  # the address comes once it listens
        if not ready:
            ProcessTracker.stop(self.proc)
            raise TimeoutError("dbus-daemon did not print its address")
        assert self.proc.stdout is not None
        self.address = self.proc.stdout.readline().strip()
        return self

    def stop(self) -> None:
        if self.proc is not None:
            ProcessTracker.stop(self.proc)

    def has_owner(self, name: str) -> bool:
        with open_dbus_connection(bus=self.address) as conn:
            return bool(Proxy(message_bus, conn, timeout=5).NameHasOwner(name)[0])


@pytest.fixture
def bus_factory(tmp_path: Path, processes: ProcessTracker) -> Callable[..., PrivateBus]:
    """``bus_factory(name="bus", kind="session")`` starts a private bus, stopped after the test."""

    def start(name: str = "bus", kind: str = "session") -> PrivateBus:
        return PrivateBus(tmp_path / name, processes, kind).start()

    return start


@pytest.fixture
def system_bus(bus_factory: Callable[..., PrivateBus], monkeypatch: pytest.MonkeyPatch) -> PrivateBus:
    """A private bus posing as the system bus ($DBUS_SYSTEM_BUS_ADDRESS points at it)."""
    bus = bus_factory("system-bus", "system")
    monkeypatch.setenv("DBUS_SYSTEM_BUS_ADDRESS", bus.address)
    return bus


@pytest.fixture
def session_bus(bus_factory: Callable[..., PrivateBus], monkeypatch: pytest.MonkeyPatch) -> PrivateBus:
    """A private session bus ($DBUS_SESSION_BUS_ADDRESS points at it)."""
    bus = bus_factory("session-bus", "session")
    monkeypatch.setenv("DBUS_SESSION_BUS_ADDRESS", bus.address)
    return bus


# ---------------------------------------------------------------------------------------------
# stand-in services: the client side


class ServiceProcess:
    """A stand-in service process: JSON commands on its stdin, JSON events from its stdout."""

    def __init__(self, tracker: ProcessTracker, kind: str, bus_address: str, *args: str,
                 prefix: tuple[str, ...] = (), log_dir: Path | None = None, timeout: float = 15.0) -> None:
        self.kind = kind
        self.log_path = (log_dir or Path("/tmp")) / f"{kind}-{time.monotonic_ns()}.log"
        env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")]))
        self.proc = tracker.popen(
            [*prefix, PYTHON, str(HERE / "dbus_fixtures.py"), kind, "--bus", bus_address, *args],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, log=self.log_path, env=env)
        assert self.proc.stdout is not None
        self._fd = self.proc.stdout.fileno()
        os.set_blocking(self._fd, False)
        self._buf = b""
        self.events: list[dict[str, Any]] = []
        self.ready = self.expect("ready", timeout=timeout)

    @property
    def pid(self) -> int:
        return self.proc.pid

    def _log_tail(self) -> str:
        try:
            return self.log_path.read_text()[-3000:]
        except OSError:
            return ""

    def _next(self, deadline: float) -> dict[str, Any] | None:
        while b"\n" not in self._buf:
            # (past the deadline: one look without waiting, so poll() sees what has arrived)
            remaining = max(0.0, deadline - time.monotonic())
            readable, _, _ = select.select([self._fd], [], [], remaining)
            if not readable:
                return None
            chunk = os.read(self._fd, 65536)
            if not chunk:
                raise AssertionError(f"{self.kind} exited ({self.proc.wait(5)}); log:\n{self._log_tail()}")
            self._buf += chunk
        line, self._buf = self._buf.split(b"\n", 1)
        ev = json.loads(line)
        self.events.append(ev)
        return ev

    def expect(self, event: str, timeout: float = 10.0, **fields: Any) -> dict[str, Any]:
        """Wait for the next event named ``event`` whose ``fields`` match."""
        deadline = time.monotonic() + timeout
        while True:
            ev = self._next(deadline)
            if ev is None:
                raise AssertionError(f"{self.kind}: no {event} {fields} within {timeout:.1f} s; "
                                     f"events {self.events}; log:\n{self._log_tail()}")
            if ev.get("event") == "error":
                raise AssertionError(f"{self.kind} reported {ev}; log:\n{self._log_tail()}")
            if ev.get("event") == event and all(ev.get(k) == v for k, v in fields.items()):
                return ev

    def poll(self, event: str | None = None) -> list[dict[str, Any]]:
        """Every event seen so far (of kind ``event``), reading what has arrived without waiting:
        for tests that must keep a Qt event loop running while they wait (qtbot.waitUntil)."""
        while self._next(time.monotonic()) is not None:
            pass
        return [ev for ev in self.events if event is None or ev.get("event") == event]

    def command(self, cmd: str, timeout: float = 10.0, **args: Any) -> dict[str, Any]:
        """Send a command and wait until the service has done it (its signals are on the bus)."""
        assert self.proc.stdin is not None
        self.proc.stdin.write(json.dumps({"cmd": cmd, **args}).encode() + b"\n")
        self.proc.stdin.flush()
        return self.expect("done", timeout=timeout, cmd=cmd)

    def quit(self, timeout: float = 5.0) -> int:
        with contextlib.suppress(BrokenPipeError, AssertionError):
            self.command("quit", timeout=timeout)
        return self.proc.wait(timeout)


@pytest.fixture
def service_factory(processes: ProcessTracker, tmp_path: Path) -> Callable[..., ServiceProcess]:
    """``service_factory(kind, bus, *args)`` starts a stand-in service process on ``bus``."""

    def start(kind: str, bus: PrivateBus | str, *args: str, **kw: Any) -> ServiceProcess:
        address = bus.address if isinstance(bus, PrivateBus) else bus
        return ServiceProcess(processes, kind, address, *args, log_dir=tmp_path, **kw)

    return start


# ---------------------------------------------------------------------------------------------
# stand-in services: the server side (runs in the service process)

IF_PROPS = "org.freedesktop.DBus.Properties"
IF_INTROSPECT = "org.freedesktop.DBus.Introspectable"
IF_PEER = "org.freedesktop.DBus.Peer"


Reply = tuple[str, tuple[Any, ...]]  # (signature, body) of a method return


class DBusFailure(Exception):
    def __init__(self, name: str, text: str) -> None:
        super().__init__(text)
        self.name = name


def emit(event: str, **fields: Any) -> None:
    sys.stdout.write(json.dumps({"event": event, **fields}) + "\n")
    sys.stdout.flush()


class StandinService:
    """One-thread jeepney service: answers method calls and runs stdin commands, no timers."""

    bus_name = ""

    def __init__(self, address: str) -> None:
        self.conn = open_dbus_connection(bus=address)

    # subclasses: objects' properties and methods
    def properties(self, path: str) -> dict[str, dict[str, tuple[str, Any]]] | None:
        return None

    def call(self, path: str, iface: str | None, member: str, body: tuple[Any, ...]) -> Reply:
        raise DBusFailure("org.freedesktop.DBus.Error.UnknownMethod", f"{iface}.{member} on {path}")

    def command(self, cmd: dict[str, Any]) -> dict[str, Any]:
        raise ValueError(f"unknown command {cmd}")

    def signal(self, path: str, iface: str, member: str, signature: str, body: tuple[Any, ...]) -> None:
        self.conn.send(new_signal(DBusAddress(path, interface=iface), member, signature, body))

    def properties_changed(self, path: str, iface: str, changed: dict[str, tuple[str, Any]]) -> None:
        self.signal(path, IF_PROPS, "PropertiesChanged", "sa{sv}as", (iface, changed, []))

    def _handle(self, msg: Any) -> None:
        hdr = msg.header.fields
        path, iface = hdr.get(HeaderFields.path), hdr.get(HeaderFields.interface)
        member = hdr[HeaderFields.member]
        try:
            if iface == IF_PEER and member == "Ping":
                sig, body = "", ()
            elif iface == IF_INTROSPECT and member == "Introspect":
                sig, body = "s", ("<node/>",)
            elif iface == IF_PROPS and member in ("Get", "GetAll"):
                props = self.properties(path)
                if props is None:
                    raise DBusFailure("org.freedesktop.DBus.Error.UnknownObject", path)
                values = props.get(msg.body[0])
                if values is None:
                    raise DBusFailure("org.freedesktop.DBus.Error.UnknownInterface", msg.body[0])
                if member == "GetAll":
                    sig, body = "a{sv}", (values,)
                elif msg.body[1] in values:
                    sig, body = "v", (values[msg.body[1]],)
                else:
                    raise DBusFailure("org.freedesktop.DBus.Error.UnknownProperty", msg.body[1])
            else:
                sig, body = self.call(path, iface, member, msg.body)
            self.conn.send(new_method_return(msg, sig, body))
        except DBusFailure as e:
            self.conn.send(new_error(msg, e.name, "s", (str(e),)))

    def run(self) -> int:
        owned = Proxy(message_bus, self.conn, timeout=10).RequestName(self.bus_name, 4)[0]  # DO_NOT_QUEUE
        if owned != 1:
            emit("error", message=f"could not own {self.bus_name}: {owned}")
            return 1
        emit("ready", bus_name=self.bus_name, unique_name=self.conn.unique_name, pid=os.getpid())
        stdin = sys.stdin.buffer.fileno()
        os.set_blocking(stdin, False)
        poller = select.poll()
        poller.register(self.conn.sock.fileno(), select.POLLIN)
        poller.register(stdin, select.POLLIN)
        pending = b""
        while True:
            try:
                while True:
                    msg = self.conn.receive(timeout=0)
                    if msg.header.message_type == MessageType.method_call:
                        self._handle(msg)
            except TimeoutError:
                pass
            events = dict(poller.poll())
            if stdin in events:
                chunk = os.read(stdin, 65536)
                if not chunk:
                    return 0  # stdin closed: the test is gone
                pending += chunk
                while b"\n" in pending:
                    line, pending = pending.split(b"\n", 1)
                    cmd = json.loads(line)
                    if cmd["cmd"] == "quit":
                        emit("done", cmd="quit")
                        return 0
                    try:
                        result = self.command(cmd)
                    except Exception as e:
                        emit("error", cmd=cmd["cmd"], message=repr(e))
                        continue
                    emit("done", cmd=cmd["cmd"], **result)
            sock_events = events.get(self.conn.sock.fileno(), 0)
            if sock_events & (select.POLLHUP | select.POLLERR):
                return 2


class NotificationRecorder(StandinService):
    """org.freedesktop.Notifications that records each Notify call (printed as a "notify" event)."""

    bus_name = "org.freedesktop.Notifications"
    IFACE = "org.freedesktop.Notifications"

    def __init__(self, address: str) -> None:
        super().__init__(address)
        self.next_id = 1

    def call(self, path: str, iface: str | None, member: str, body: tuple[Any, ...]) -> Reply:
        if path != "/org/freedesktop/Notifications" or iface not in (self.IFACE, None):
            return super().call(path, iface, member, body)
        if member == "Notify":
            app_name, replaces_id, icon, summary, text, actions, hints, expire = body
            nid = replaces_id or self.next_id
            self.next_id += 1
            emit("notify", id=nid, app_name=app_name, replaces_id=replaces_id, icon=icon, summary=summary,
                 body=text, actions=actions, hints={k: v[1] for k, v in hints.items()}, expire_timeout=expire)
            return "u", (nid,)
        if member == "GetCapabilities":
            return "as", (["body"],)
        if member == "GetServerInformation":
            return "ssss", ("notification-recorder", "syncassistant-tests", "1", "1.2")
        if member == "CloseNotification":
            self.signal(path, self.IFACE, "NotificationClosed", "uu", (body[0], 3))
            return "", ()
        return super().call(path, iface, member, body)


class NetworkManagerStandin(StandinService):
    """org.freedesktop.NetworkManager's State/Connectivity/Metered/PrimaryConnection (types as in
    NM's introspection), and the primary connection's Connection.Active object (Id, Type, Uuid).

    Command ``set`` with any of State, Connectivity, Metered, Connection (a Wi-Fi connection's
    name: a new active connection object becomes the primary one; null: none) and ``signals`` =
    "both" (default, what NM does), "props" (only Properties.PropertiesChanged) or "state"
    (only StateChanged).
    """

    bus_name = "org.freedesktop.NetworkManager"
    PATH = "/org/freedesktop/NetworkManager"
    IFACE = "org.freedesktop.NetworkManager"

    IF_ACTIVE = "org.freedesktop.NetworkManager.Connection.Active"

    def __init__(self, address: str, initial: dict[str, Any]) -> None:
        super().__init__(address)
        connection = initial.pop("Connection", None)
        self.values = {"State": 20, "Connectivity": 1, "Metered": 0, **initial}
        self.active: dict[str, str] = {}  # active connection path -> its Id
        self.primary = "/"
        if connection:
            self.primary = self._activate(connection)

    def _activate(self, name: str) -> str:
        path = f"{self.PATH}/ActiveConnection/{len(self.active) + 1}"
        self.active[path] = name
        return path

    def _props(self) -> dict[str, tuple[str, Any]]:
        return {
            "State": ("u", self.values["State"]),
            "Connectivity": ("u", self.values["Connectivity"]),
            "Metered": ("u", self.values["Metered"]),
            "PrimaryConnection": ("o", self.primary),
            "ActiveConnections": ("ao", list(self.active) if self.primary != "/" else []),
            "NetworkingEnabled": ("b", True),
            "ConnectivityCheckEnabled": ("b", True),
            "Version": ("s", "1.42.4-standin"),
        }

    def properties(self, path: str) -> dict[str, dict[str, tuple[str, Any]]] | None:
        if path in self.active:
            name = self.active[path]
            return {self.IF_ACTIVE: {"Id": ("s", name), "Type": ("s", "802-11-wireless"),
                                     "Uuid": ("s", f"00000000-0000-4000-8000-{int(path.rsplit('/', 1)[1]):012d}"),
                                     "State": ("u", 2), "Default": ("b", True), "Vpn": ("b", False)}}
        return {self.IFACE: self._props()} if path == self.PATH else None

    def call(self, path: str, iface: str | None, member: str, body: tuple[Any, ...]) -> Reply:
        if path == self.PATH and iface in (self.IFACE, None):
            if member == "state":
                return "u", (self.values["State"],)
            if member == "CheckConnectivity":
                return "u", (self.values["Connectivity"],)
        return super().call(path, iface, member, body)

    def command(self, cmd: dict[str, Any]) -> dict[str, Any]:
        if cmd["cmd"] != "set":
            return super().command(cmd)
        mode = cmd.get("signals", "both")
        changed = {k: int(cmd[k]) for k in ("State", "Connectivity", "Metered")
                   if k in cmd and int(cmd[k]) != self.values[k]}
        self.values.update(changed)
        props = {k: ("u", v) for k, v in changed.items()}
        if "Connection" in cmd:  # NM activates a new connection object for each connection made
            self.primary = self._activate(cmd["Connection"]) if cmd["Connection"] else "/"
            props["PrimaryConnection"] = ("o", self.primary)
        if props and mode in ("both", "props"):
            self.properties_changed(self.PATH, self.IFACE, props)
        if "State" in changed and mode in ("both", "state"):
            self.signal(self.PATH, self.IFACE, "StateChanged", "u", (changed["State"],))
        return {"changed": changed}


class UPowerStandin(StandinService):
    """org.freedesktop.UPower: the daemon object's OnBattery and the DisplayDevice's Percentage,
    State and IsPresent (types as in UPower's introspection), each change announced with
    Properties.PropertiesChanged as upowerd does.

    Command ``set`` with any of OnBattery (bool), Percentage (number), IsPresent (bool); State
    follows OnBattery (2 discharging, 1 charging) unless given.
    """

    bus_name = "org.freedesktop.UPower"
    PATH = "/org/freedesktop/UPower"
    IFACE = "org.freedesktop.UPower"
    DISPLAY = "/org/freedesktop/UPower/devices/DisplayDevice"
    IF_DEVICE = "org.freedesktop.UPower.Device"

    def __init__(self, address: str, initial: dict[str, Any]) -> None:
        super().__init__(address)
        self.daemon = {"OnBattery": False, **{k: v for k, v in initial.items() if k == "OnBattery"}}
        self.device = {"Percentage": 80.0, "IsPresent": True, "State": 1,
                       **{k: v for k, v in initial.items() if k != "OnBattery"}}
        self.device["State"] = initial.get("State", 2 if self.daemon["OnBattery"] else 1)

    def _daemon_props(self) -> dict[str, tuple[str, Any]]:
        return {"DaemonVersion": ("s", "1.90.2-standin"), "OnBattery": ("b", bool(self.daemon["OnBattery"])),
                "LidIsClosed": ("b", False), "LidIsPresent": ("b", True)}

    def _device_props(self) -> dict[str, tuple[str, Any]]:
        return {"NativePath": ("s", ""), "Type": ("u", 2),  # battery
                "PowerSupply": ("b", True), "IsPresent": ("b", bool(self.device["IsPresent"])),
                "State": ("u", int(self.device["State"])), "Percentage": ("d", float(self.device["Percentage"])),
                "IconName": ("s", "battery-good-symbolic"), "WarningLevel": ("u", 1)}

    def properties(self, path: str) -> dict[str, dict[str, tuple[str, Any]]] | None:
        if path == self.PATH:
            return {self.IFACE: self._daemon_props()}
        if path == self.DISPLAY:
            return {self.IF_DEVICE: self._device_props()}
        return None

    def call(self, path: str, iface: str | None, member: str, body: tuple[Any, ...]) -> Reply:
        if path == self.PATH and iface in (self.IFACE, None):
            if member == "GetDisplayDevice":
                return "o", (self.DISPLAY,)
            if member == "EnumerateDevices":
                return "ao", ([],)
            if member == "GetCriticalAction":
                return "s", ("HybridSleep",)
        if path == self.DISPLAY and iface in (self.IF_DEVICE, None) and member == "Refresh":
            return "", ()
        return super().call(path, iface, member, body)

    def command(self, cmd: dict[str, Any]) -> dict[str, Any]:
        if cmd["cmd"] != "set":
            return super().command(cmd)
        if "OnBattery" in cmd and bool(cmd["OnBattery"]) != self.daemon["OnBattery"]:
            self.daemon["OnBattery"] = bool(cmd["OnBattery"])
            # upowerd updates the battery's state first, then the daemon's OnBattery
            if "State" not in cmd:
                cmd = {**cmd, "State": 2 if self.daemon["OnBattery"] else 1}
            on_battery_changed = True
        else:
            on_battery_changed = False
        types = {"Percentage": ("d", float), "IsPresent": ("b", bool), "State": ("u", int)}
        changed = {k: (types[k][0], types[k][1](cmd[k])) for k in types
                   if k in cmd and types[k][1](cmd[k]) != self.device[k]}
        for k, (_sig, v) in changed.items():
            self.device[k] = v
        if changed:
            self.properties_changed(self.DISPLAY, self.IF_DEVICE, changed)
        if on_battery_changed:
            self.properties_changed(self.PATH, self.IFACE, {"OnBattery": ("b", self.daemon["OnBattery"])})
        return {}


class UDisksStandin(StandinService):
    """org.freedesktop.UDisks2 with block devices carrying Block and Filesystem interfaces.

    Commands: add {name, label, filesystem=True, mounts=[]}, add_filesystem {name}, relabel {name,
    label}, mount {name, path}, unmount {name}, remove {name}.  Filesystem.Mount/Unmount work too
    (nothing is really mounted: the mount point is /media/standin/LABEL).
    """

    bus_name = "org.freedesktop.UDisks2"
    ROOT = "/org/freedesktop/UDisks2"
    PREFIX = ROOT + "/block_devices/"
    IF_OM = "org.freedesktop.DBus.ObjectManager"
    IF_BLOCK = "org.freedesktop.UDisks2.Block"
    IF_FS = "org.freedesktop.UDisks2.Filesystem"
    IF_MANAGER = "org.freedesktop.UDisks2.Manager"

    def __init__(self, address: str) -> None:
        super().__init__(address)
        self.devices: dict[str, dict[str, Any]] = {}

    @staticmethod
    def _aay(paths: list[str]) -> list[bytes]:
        return [p.encode() + b"\0" for p in paths]

    def _ifaces(self, name: str) -> dict[str, dict[str, tuple[str, Any]]]:
        dev = self.devices[name]
        out = {self.IF_BLOCK: {
            "Device": ("ay", f"/dev/{name}".encode() + b"\0"),
            "PreferredDevice": ("ay", f"/dev/{name}".encode() + b"\0"),
            "IdLabel": ("s", dev["label"]),
            "IdUUID": ("s", "2f4c-standin"),
            "IdType": ("s", "ext4"),
            "HintAuto": ("b", True),
            "HintSystem": ("b", False),
        }}
        if dev["filesystem"]:
            out[self.IF_FS] = {"MountPoints": ("aay", self._aay(dev["mounts"])), "Size": ("t", 0)}
        return out

    def properties(self, path: str) -> dict[str, dict[str, tuple[str, Any]]] | None:
        if path == self.ROOT + "/Manager":
            return {self.IF_MANAGER: {"Version": ("s", "2.9.4-standin")}}
        name = path[len(self.PREFIX):] if path.startswith(self.PREFIX) else None
        return self._ifaces(name) if name in self.devices else None

    def _set_mounts(self, name: str, mounts: list[str]) -> None:
        self.devices[name]["mounts"] = mounts
        self.properties_changed(self.PREFIX + name, self.IF_FS, {"MountPoints": ("aay", self._aay(mounts))})

    def call(self, path: str, iface: str | None, member: str, body: tuple[Any, ...]) -> Reply:
        if path == self.ROOT and member == "GetManagedObjects" and iface in (self.IF_OM, None):
            managed = {self.PREFIX + n: self._ifaces(n) for n in self.devices}
            managed[self.ROOT + "/Manager"] = self.properties(self.ROOT + "/Manager") or {}
            return "a{oa{sa{sv}}}", (managed,)
        name = path[len(self.PREFIX):] if path.startswith(self.PREFIX) else ""
        if iface == self.IF_FS and name in self.devices and self.devices[name]["filesystem"]:
            dev = self.devices[name]
            if member == "Mount":
                if dev["mounts"]:
                    raise DBusFailure("org.freedesktop.UDisks2.Error.AlreadyMounted",
                                      f"already mounted at {dev['mounts'][0]}")
                mount_point = f"/media/standin/{dev['label'] or name}"
                self._set_mounts(name, [mount_point])
                return "s", (mount_point,)
            if member == "Unmount":
                if not dev["mounts"]:
                    raise DBusFailure("org.freedesktop.UDisks2.Error.NotMounted", "not mounted")
                self._set_mounts(name, [])
                return "", ()
        return super().call(path, iface, member, body)

    def command(self, cmd: dict[str, Any]) -> dict[str, Any]:
        op, name = cmd["cmd"], cmd.get("name", "")
        path = self.PREFIX + name
        if op == "add":
            self.devices[name] = {"label": cmd.get("label", ""), "filesystem": cmd.get("filesystem", True),
                                  "mounts": list(cmd.get("mounts", []))}
            self.signal(self.ROOT, self.IF_OM, "InterfacesAdded", "oa{sa{sv}}", (path, self._ifaces(name)))
        elif op == "add_filesystem":  # like a loop device getting a file system: only Filesystem is new
            self.devices[name]["filesystem"] = True
            fs = {self.IF_FS: self._ifaces(name)[self.IF_FS]}
            self.signal(self.ROOT, self.IF_OM, "InterfacesAdded", "oa{sa{sv}}", (path, fs))
        elif op == "relabel":
            self.devices[name]["label"] = cmd["label"]
            self.properties_changed(path, self.IF_BLOCK, {"IdLabel": ("s", cmd["label"])})
        elif op == "mount":
            self._set_mounts(name, [cmd["path"]])
        elif op == "unmount":
            self._set_mounts(name, [])
        elif op == "remove":
            ifaces = list(self._ifaces(name))
            del self.devices[name]
            self.signal(self.ROOT, self.IF_OM, "InterfacesRemoved", "oas", (path, ifaces))
        else:
            return super().command(cmd)
        return {}


def _mountinfo_watch_main(prefix: str) -> int:
    """A MountWatcher forced into mountinfo mode; events as JSON lines; "quit" on stdin stops it."""
    from syncassistant.engine.devices.mounts import MountWatcher, under_prefixes

    watcher = MountWatcher(
        on_mount=lambda mp, label, dev: emit("mount", mount_point=mp, label=label, device=dev),
        on_unmount=lambda mp: emit("unmount", mount_point=mp),
        use_udisks=False, mount_filter=under_prefixes(prefix))
    watcher.start()
    emit("ready", mode=watcher.mode, mounts=sorted(watcher.current_mounts()), pid=os.getpid())
    for line in sys.stdin:
        if line.strip() and json.loads(line)["cmd"] == "quit":
            break
    t0 = time.monotonic()
    joined = watcher.stop(timeout=2.0)
    emit("done", cmd="quit", joined=joined, seconds=time.monotonic() - t0,
         threads=[t.name for t in threading.enumerate()])
    return 0


def _device_monitor_main(repo: str, prefix: str) -> int:
    """A Daemon on ``repo`` with a DeviceMonitor in mountinfo mode (drives under ``prefix``).

    Meant to run under ``unshare -m``. Notices come out as "notify" events; command ``status``
    reports the pusher's remotes ({name: offline}); ``quit`` stops everything.
    """
    from syncassistant.engine.daemon import Daemon
    from syncassistant.engine.devices.drives import DeviceMonitor
    from syncassistant.engine.devices.mounts import under_prefixes

    daemon = Daemon(repo, control=False)
    daemon.start()
    monitor = DeviceMonitor([daemon], notify=lambda notice: emit("notify", summary=notice.summary, body=notice.body),
                            use_udisks=False, watch_network=False, mount_filter=under_prefixes(prefix))
    monitor.start()
    emit("ready", mode=monitor.mounts.mode, pid=os.getpid(),
         offline={st["name"]: st["offline"] for st in daemon.pusher.snapshot()})
    try:
        for line in sys.stdin:
            cmd = json.loads(line)["cmd"] if line.strip() else ""
            if cmd == "quit":
                break
            if cmd == "status":
                emit("done", cmd="status", offline={st["name"]: st["offline"] for st in daemon.pusher.snapshot()},
                     drives=monitor.drives(), pushes=daemon.pusher.pushes)
    finally:
        monitor.stop()
        daemon.stop()
    emit("done", cmd="quit")
    return 0


# ---------------------------------------------------------------------------------------------
# real udisksd on a private "system" bus


def _run(*cmd: str, timeout: float = 60, **kw: Any) -> str:
    done = subprocess.run(cmd, check=True, capture_output=True, text=True, timeout=timeout, **kw)
    return done.stdout.strip()


def _udev_running() -> bool:
    return subprocess.run(["udevadm", "control", "--ping"], capture_output=True, timeout=10).returncode == 0


class RealUDisks:
    """Handle on the running real udisksd: its bus address and a place for logs."""

    def __init__(self, address: str, workdir: Path) -> None:
        self.address = address
        self.workdir = workdir

    def has_filesystem(self, object_path: str) -> bool:
        """True once udisksd exports the Filesystem interface on ``object_path``."""
        props = DBusAddress(object_path, bus_name="org.freedesktop.UDisks2", interface=IF_PROPS)
        with open_dbus_connection(bus=self.address) as conn:
            reply = conn.send_and_get_reply(new_method_call(
                props, "Get", "ss", ("org.freedesktop.UDisks2.Filesystem", "MountPoints")), timeout=5)
        return reply.header.message_type == MessageType.method_return


def real_udisks_unavailable() -> str | None:
    """Why the real udisksd test cannot run here, or None."""
    if os.geteuid() != 0:
        return "needs root (loop devices, udisksd)"
    for tool in (UDISKSD, UDEVD):
        if not os.access(tool, os.X_OK):
            return f"{tool} missing (apt-get install udisks2 udev)"
    for tool in ("losetup", "mkfs.ext4", "udevadm", "dbus-daemon"):
        if shutil.which(tool) is None:
            return f"{tool} missing"
    if not Path("/dev/loop-control").exists():
        return "no /dev/loop-control (loop devices unavailable in this container)"
    return None


@pytest.fixture(scope="module")
def real_udisks(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RealUDisks]:
    """The real udisksd (and systemd-udevd unless one runs) on a private bus; skips if impossible."""
    reason = real_udisks_unavailable()
    if reason:
        pytest.skip(reason)
    tracker = ProcessTracker()
    work = tmp_path_factory.mktemp("real-udisks")
    run_udev_existed = os.path.exists("/run/udev")
    media_root_existed = os.path.exists("/media/root")
    udevd_started = False
    leftovers: list[str] = []
    try:
        if not _udev_running():
            tracker.popen([UDEVD], log=work / "udevd.log")
            udevd_started = True
            try:
                wait_until(_udev_running, 15, "systemd-udevd to answer")
                _run("udevadm", "trigger", "--subsystem-match=block", "--action=add")
                _run("udevadm", "settle", "--timeout=30")
            except (AssertionError, subprocess.SubprocessError) as e:
                pytest.skip(f"systemd-udevd cannot run here: {e}")
        bus = PrivateBus(work / "bus", tracker, "system").start()
        log_path = work / "udisksd.log"
        udisksd = tracker.popen([UDISKSD], log=log_path,
                                env=dict(os.environ, DBUS_SYSTEM_BUS_ADDRESS=bus.address))
        try:
            wait_until(lambda: udisksd.poll() is not None or bus.has_owner("org.freedesktop.UDisks2"),
                       20, "udisksd to own org.freedesktop.UDisks2")
        except AssertionError:
            pass
        if udisksd.poll() is not None or not bus.has_owner("org.freedesktop.UDisks2"):
            status = f"exit status {udisksd.returncode}" if udisksd.poll() is not None else "name not owned"
            pytest.skip(f"udisksd did not start ({status}): {log_path.read_text()[-1500:]}")
        yield RealUDisks(bus.address, work)
    finally:
        leftovers = tracker.stop_all()
        if udevd_started and not run_udev_existed:
            shutil.rmtree("/run/udev", ignore_errors=True)  # else libudev users think udev runs
        if not media_root_existed:
            with contextlib.suppress(OSError):
                os.rmdir("/media/root")  # udisksd creates /media/$USER
    assert not leftovers, f"processes left behind: {leftovers}"


@contextlib.contextmanager
def loop_device(image: Path) -> Iterator[str]:
    """Attach ``image`` to a free loop device; detach (unmounting first if needed) afterwards."""
    try:
        dev = _run("losetup", "--find", "--show", str(image))
    except subprocess.CalledProcessError as e:
        pytest.skip(f"cannot set up a loop device: {e.stderr.strip()}")
    try:
        yield dev
    finally:
        for target in subprocess.run(["findmnt", "-n", "-o", "TARGET", "--source", dev],
                                     capture_output=True, text=True, timeout=10).stdout.split():
            subprocess.run(["umount", target], capture_output=True, timeout=30)
        subprocess.run(["losetup", "-d", dev], capture_output=True, timeout=30)


# ---------------------------------------------------------------------------------------------
# git-annex repositories and drive images


def git_env(tmp: Path) -> dict[str, str]:
    """Environment for git/git-annex with config isolated in ``tmp`` and the venv's git-annex on PATH."""
    gitconfig = tmp / "gitconfig"
    if not gitconfig.exists():
        gitconfig.write_text("[user]\n\tname = SyncAssistant Tests\n\temail = tests@example.invalid\n"
                             "[init]\n\tdefaultBranch = main\n")
    home = tmp / "home"
    home.mkdir(exist_ok=True)
    return dict(os.environ, GIT_CONFIG_GLOBAL=str(gitconfig), GIT_CONFIG_NOSYSTEM="1", HOME=str(home),
                XDG_CONFIG_HOME=str(home / ".config"), PATH=f"{VENV_BIN}{os.pathsep}{os.environ['PATH']}")


def make_annex_repo(path: Path, env: dict[str, str], description: str) -> str:
    """``git init`` + ``git annex init`` + one annexed file; returns the repository's annex.uuid."""
    path.mkdir(parents=True)
    _run("git", "init", "-q", str(path), env=env)
    _run("git", "-C", str(path), "annex", "init", "-q", description, env=env, timeout=120)
    (path / "photo.jpg").write_bytes(b"\xff\xd8 not really a jpeg " + description.encode())
    _run("git", "-C", str(path), "annex", "add", "-q", "photo.jpg", env=env, timeout=120)
    _run("git", "-C", str(path), "commit", "-q", "-m", "add a photo", env=env)
    return _run("git", "-C", str(path), "config", "annex.uuid", env=env)


def make_bare_annex_clone(origin: Path, path: Path, env: dict[str, str], description: str) -> str:
    """A bare clone of ``origin`` with ``git annex init``; returns its annex.uuid."""
    _run("git", "clone", "-q", "--bare", str(origin), str(path), env=env)
    _run("git", "-C", str(path), "annex", "init", "-q", description, env=env, timeout=120)
    return _run("git", "-C", str(path), "config", "annex.uuid", env=env)


def make_annex_drive_image(tmp: Path, label: str) -> tuple[Path, dict[str, str]]:
    """An ext4 image labelled ``label`` with clones at photos/ and backup.git (bare).

    Returns (image path, {relative repo path: annex.uuid}).
    """
    env = git_env(tmp)
    content = tmp / "drive-content"
    uuids = {"photos": make_annex_repo(content / "photos", env, "stick photos")}
    uuids["backup.git"] = make_bare_annex_clone(content / "photos", content / "backup.git", env, "stick bare")
    (content / "notes").mkdir()
    (content / "notes" / "readme.txt").write_text("not a repository\n")
    image = tmp / "drive.img"
    _run("truncate", "-s", "64M", str(image))
    _run("mkfs.ext4", "-q", "-F", "-L", label, "-d", str(content), str(image))
    return image, uuids


# ---------------------------------------------------------------------------------------------
# entry point for the service processes


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("kind", choices=["notifications", "networkmanager", "upower", "udisks",
                                         "mountinfo-watch", "device-monitor"])
    parser.add_argument("--bus", default="", help="D-Bus address to serve on")
    parser.add_argument("--initial", default="{}", help="networkmanager, upower: initial properties as JSON")
    parser.add_argument("--prefix", default="/", help="mountinfo-watch, device-monitor: drives under this directory")
    parser.add_argument("--repo", default="", help="device-monitor: the repository to run a daemon on")
    args = parser.parse_args(argv)
    if args.kind == "mountinfo-watch":
        return _mountinfo_watch_main(args.prefix)
    if args.kind == "device-monitor":
        logging.basicConfig(level=logging.INFO, stream=sys.stderr,
                            format="%(asctime)s %(threadName)s %(name)s %(levelname)s %(message)s")
        return _device_monitor_main(args.repo, args.prefix)
    service: StandinService
    if args.kind == "notifications":
        service = NotificationRecorder(args.bus)
    elif args.kind == "networkmanager":
        service = NetworkManagerStandin(args.bus, json.loads(args.initial))
    elif args.kind == "upower":
        service = UPowerStandin(args.bus, json.loads(args.initial))
    else:
        service = UDisksStandin(args.bus)
    with service.conn:
        return service.run()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
