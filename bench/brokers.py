"""Start the brokers under test, each a private instance on free loopback ports, one per scenario.

* Mosquitto: ``/usr/sbin/mosquitto`` with a generated config in a temporary directory (TCP and, when the
  build has it, a websockets listener). The system instance on 1883 is never used.
* amqtt: the ``amqtt`` command from the bench tools virtualenv (see ``bench/toolenv.py``), as shipped.
* Bastion: ``bastion serve`` from the project virtualenv, see ``bench/bastion_setup.py``.
"""

from __future__ import annotations

import contextlib
import shutil
import signal
import subprocess
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench import procs

MOSQUITTO = "/usr/sbin/mosquitto"


@dataclass
class Broker:
    """A running broker and how load clients reach it."""

    name: str
    proc: subprocess.Popen[bytes]
    tcp: dict[str, Any]
    ws: dict[str, Any] | None = None
    #: Connections for the SigV4 storms (Bastion only): WebSocket with an IAM user's key, WebSocket with
    #: Cognito identity pool credentials, and TCP with user name ``sigv4``.
    ws_sigv4: dict[str, Any] | None = None
    ws_cognito: dict[str, Any] | None = None
    tcp_sigv4: dict[str, Any] | None = None
    log: Path | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def pid(self) -> int:
        return self.proc.pid

    def alive(self) -> bool:
        return self.proc.poll() is None


BrokerFactory = Callable[[procs.Cores, Path], "contextlib.AbstractContextManager[Broker]"]


def _target(port: int, ws_path: str | None = None, auth: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"host": procs.LOOPBACK, "port": port, "ws_path": ws_path, "auth": auth or {"kind": "none"}}


@contextlib.contextmanager
def mosquitto(cores: procs.Cores, logs: Path) -> Iterator[Broker]:
    with tempfile.TemporaryDirectory(prefix="bench-mosquitto-") as tmp:
        tcp_port = procs.free_port()
        ws_port = procs.free_port()
        conf = Path(tmp) / "mosquitto.conf"
        log = logs / "mosquitto.log"
        # Settings chosen to match what Bastion does: no persistence, TCP_NODELAY (asyncio sets it on
        # every connection), at most 100 QoS 1 messages in flight per client (the AWS IoT limit).
        base = [
            "per_listener_settings false",
            "allow_anonymous true",
            "persistence false",
            "set_tcp_nodelay true",
            "max_inflight_messages 100",
            "max_queued_messages 1000",
            "log_dest stdout",
            "log_type error",
            "log_type warning",
            f"listener {tcp_port} {procs.LOOPBACK}",
        ]
        conf.write_text("\n".join([*base, f"listener {ws_port} {procs.LOOPBACK}", "protocol websockets", ""]))
        proc = procs.start([MOSQUITTO, "-c", str(conf)], cores.broker, log)
        ws: dict[str, Any] | None = _target(ws_port, "/mqtt")
        try:
            procs.wait_for_port(tcp_port, 10, lambda: proc.poll() is None)
            procs.wait_for_port(ws_port, 5, lambda: proc.poll() is None)
        except (RuntimeError, TimeoutError):
            # A build without libwebsockets refuses the websockets listener: run TCP only.
            procs.stop(proc)
            conf.write_text("\n".join([*base, ""]))
            proc = procs.start([MOSQUITTO, "-c", str(conf)], cores.broker, log)
            procs.wait_for_port(tcp_port, 10, lambda: proc.poll() is None)
            ws = None
        broker = Broker("mosquitto", proc, _target(tcp_port), ws, log=log)
        if ws is None:
            broker.notes.append("this Mosquitto build has no websockets support")
        try:
            yield broker
        finally:
            procs.stop(proc)


@contextlib.contextmanager
def amqtt(cores: procs.Cores, logs: Path, executable: Path) -> Iterator[Broker]:
    with tempfile.TemporaryDirectory(prefix="bench-amqtt-") as tmp:
        tcp_port = procs.free_port()
        ws_port = procs.free_port()
        conf = Path(tmp) / "amqtt.yaml"
        conf.write_text(
            "listeners:\n"
            "  default:\n"
            "    type: tcp\n"
            f"    bind: {procs.LOOPBACK}:{tcp_port}\n"
            "  ws:\n"
            "    type: ws\n"
            f"    bind: {procs.LOOPBACK}:{ws_port}\n"
            "plugins:\n"
            "  amqtt.plugins.authentication.AnonymousAuthPlugin:\n"
            "    allow_anonymous: true\n"
        )
        log = logs / "amqtt.log"
        proc = procs.start([str(executable), "-c", str(conf)], cores.broker, log)
        try:
            procs.wait_for_port(tcp_port, 30, lambda: proc.poll() is None)
            procs.wait_for_port(ws_port, 10, lambda: proc.poll() is None)
            yield Broker("amqtt", proc, _target(tcp_port), _target(ws_port, "/mqtt"), log=log)
        finally:
            # amqtt shuts down on SIGINT (KeyboardInterrupt); SIGTERM would skip its cleanup.
            procs.stop(proc, signal.SIGINT)


def which_mosquitto() -> str | None:
    return MOSQUITTO if Path(MOSQUITTO).exists() else shutil.which("mosquitto")
