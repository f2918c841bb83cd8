"""Subject and stream names, all under the cluster's name, so clusters sharing one NATS never meet.

Messages go on one subject per QoS path (every node filters with its own subscription index): QoS 0 on
``<name>.m0`` (core NATS), QoS 1 and retained messages on ``<name>.m1`` (the JetStream stream
``<name>``). Client-id takeover uses ``<name>.client.<hex of the UTF-8 client id>``: hex keeps any
client id a single valid subject token.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Subjects:
    name: str

    @property
    def stream(self) -> str:
        return self.name

    @property
    def qos0(self) -> str:
        return f"{self.name}.m0"

    @property
    def durable(self) -> str:
        return f"{self.name}.m1"

    def client(self, client_id: str) -> str:
        return f"{self.name}.client.{client_id.encode().hex()}"
