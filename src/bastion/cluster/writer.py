"""The broker's durable writer in a cluster: a barrier also waits for the bus.

A publisher's PUBACK (and an HTTP Publish answer) waits for ``barrier``: here that means the store
committed everything submitted before it *and* the stream confirmed every QoS 1 or retained message
handed to the bus before it, so nothing acknowledged is lost for subscribers on other nodes either.
``store_barrier`` is the store half alone, for the inbound side's own acknowledgements to the stream.
"""

from __future__ import annotations

from collections.abc import Callable

from bastion.broker.persistence import DurableWriter
from bastion.cluster.outbound import Outbound
from bastion.storage.mqtt import MqttRepository


class ClusterWriter(DurableWriter):
    def __init__(self, repository: MqttRepository, outbound: Outbound) -> None:
        super().__init__(repository)
        self._outbound = outbound

    def barrier(self, callback: Callable[[], None]) -> None:
        mark = self._outbound.mark()
        super().barrier(lambda: self._outbound.when_safe(mark, callback))

    def store_barrier(self, callback: Callable[[], None]) -> None:
        super().barrier(callback)
