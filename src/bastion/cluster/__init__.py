"""Scale-out: several ``bastion serve`` nodes sharing PostgreSQL and a NATS server (docs/scaling.md).

Only imported when ``--cluster`` is set. The broker core knows this package through the narrow
``ClusterLink`` protocol (``bastion.broker.core``); everything about the bus lives here:

- ``codec``: one routed message as bytes on the bus;
- ``node_id``: the node's identity, kept in its data directory (it names the durable consumer);
- ``subjects``: subject and stream names under the cluster's prefix;
- ``outbound``: the ordered, bounded sender (core NATS for QoS 0, JetStream for QoS 1 and retained);
- ``inbound``: the receivers, which route other nodes' messages to local sessions;
- ``takeover``: client-id takeover across nodes (request/reply on a subject per connected client id);
- ``connection_codec``, ``connections``: iot-data GetConnection, ListSubscriptions and DeleteConnection
  asked of the node holding the client id, on the same subject;
- ``writer``: the durable writer whose barrier also waits for the bus;
- ``node``: ``ClusterNode``, which assembles them.
"""

from bastion.cluster.node import ClusterNode

__all__ = ["ClusterNode"]
