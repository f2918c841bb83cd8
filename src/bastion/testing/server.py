"""A real Bastion server on a loopback port, in a background thread, for tests that drive it with real
clients (boto3, paho-mqtt, the AWS SDKs).
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Iterator
from concurrent.futures import Future
from dataclasses import replace
from typing import Any

from bastion.clock import OffsetClock
from bastion.config import Settings
from bastion.server import BastionServer


class ServerThread:
    """Runs ``BastionServer`` on its own event loop; ``call`` runs a coroutine there from the test thread."""

    def __init__(self, settings: Settings, clock: OffsetClock | None = None) -> None:
        self.clock = clock or OffsetClock()
        self.server = BastionServer(replace(settings, api_port=settings.api_port), clock=self.clock)
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="bastion-server", daemon=True)

    def start(self) -> None:
        self._thread.start()
        self.call(self.server.start())

    def call(self, coro: Any, timeout: float = 30) -> Any:
        future: Future[Any] = asyncio.run_coroutine_threadsafe(coro, self._loop)
        return future.result(timeout)

    def stop(self) -> None:
        with contextlib.suppress(Exception):
            self.call(self.server.stop())
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)
        self._loop.close()

    @property
    def endpoint_url(self) -> str:
        return self.server.endpoint_url

    @property
    def admin_keys(self) -> tuple[str, str]:
        admin = self.server.admin
        assert admin is not None
        return admin.access_key_id, admin.secret_access_key


@contextlib.contextmanager
def running_server(settings: Settings, clock: OffsetClock | None = None) -> Iterator[ServerThread]:
    thread = ServerThread(settings, clock)
    thread.start()
    try:
        yield thread
    finally:
        thread.stop()
