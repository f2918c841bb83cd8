"""``bastion serve`` as a separate process, started as a user starts it, for the tests that need a real
one (its banner, its exit status, ``kill -9``)."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

# A banner line: "  endpoint:    http://127.0.0.1:4580" (log lines start with a timestamp instead).
_BANNER_LINE = re.compile(r"^\s+([a-z][a-z ]*):\s+(\S.*)$")
_URL_PORT = re.compile(r"://[^\s/]+:(\d+)")


def serve_command(data_dir: Path, *extra: str) -> list[str]:
    """The command line, every listener on a free port (tests never take the fixed default ports).
    ``extra`` comes last, so its flags override these."""
    return [
        sys.executable,
        "-m",
        "bastion.cli.main",
        "serve",
        "--port",
        "0",
        "--data-dir",
        str(data_dir),
        "--mqtt-port",
        "0",
        "--mqtt-tls-port",
        "0",
        "--api-tls-port",
        "0",
        *extra,
    ]


def clean_env() -> dict[str, str]:
    """This process's environment without ``BASTION_*``: the command line alone configures the server."""
    return {k: v for k, v in os.environ.items() if not k.startswith("BASTION_")}


@dataclass
class Served:
    process: subprocess.Popen[str]
    banner: dict[str, str]  # "endpoint" -> "http://127.0.0.1:41234", "mqtt" -> "mqtt://…", …

    def port(self, key: str) -> int:
        """The port of the URL the banner shows for ``key``."""
        found = _URL_PORT.search(self.banner[key])
        assert found, f"no port in the banner's {key!r} line: {self.banner[key]!r}"
        return int(found.group(1))


@contextmanager
def serving(data_dir: Path, *extra: str, wait_for: tuple[str, ...] = ("endpoint",)) -> Iterator[Served]:
    """Start ``bastion serve`` and yield once its banner showed every line in ``wait_for``. On leaving,
    a server still running gets SIGTERM (and SIGKILL if it has not stopped 15 s later)."""
    process = subprocess.Popen(
        serve_command(data_dir, *extra),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=clean_env(),
    )
    try:
        banner: dict[str, str] = {}
        deadline = time.monotonic() + 30
        assert process.stdout is not None
        while not all(key in banner for key in wait_for) and time.monotonic() < deadline:
            line = process.stdout.readline()
            if not line:
                break
            if found := _BANNER_LINE.match(line):
                banner[found.group(1)] = found.group(2)
        missing = [key for key in wait_for if key not in banner]
        assert not missing, f"bastion serve did not print its {', '.join(missing)}"
        yield Served(process, banner)
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        if process.stdout is not None:
            process.stdout.close()
