"""Two Bastion nodes sharing one PostgreSQL schema and a NATS server (docs/scaling.md): messages
published on one node reach subscribers on the other (MQTT QoS 0 and 1, HTTP iot-data Publish, MQTT 5
properties), iot:Receive is still decided by the receiving connection, retained messages are shared, and
a client id connected on one node is taken over by a CONNECT on the other, and the iot-data connection
API on either node answers for clients connected to the other.

Each run uses its own schema and its own cluster name (subject prefix and JetStream stream), and
deletes both at the end.
"""

from __future__ import annotations

import asyncio
import json
import queue
import secrets
import shutil
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path
from typing import Any

import asyncpg
import boto3
import nats
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError
from nats.js.errors import NotFoundError

from bastion.storage.mqtt import PutSession, PutSubscription, StoredSubscription
from bastion.testing.server import ServerThread
from tests.conftest import POSTGRES_URL
from tests.e2e.mqtt_support import (
    REGION,
    Client,
    Keys,
    allow,
    arn,
    connect_tcp,
    deny,
    iam_user,
    mqtt_settings,
    policy,
)

pytestmark = [pytest.mark.cluster, pytest.mark.postgres]

NATS_URL = "nats://127.0.0.1:4222"
ADMIN_KEY = "AKIACLUSTERTEST00001"
ADMIN_SECRET = "cluster-test-secret-" + "x" * 20


def _run(coro: Any) -> Any:
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, coro).result()


async def _probe_nats() -> None:
    nc = await nats.connect(NATS_URL, connect_timeout=2, max_reconnect_attempts=0, allow_reconnect=False)
    await nc.jetstream().account_info()
    await nc.close()


async def _delete_stream(name: str) -> None:
    nc = await nats.connect(NATS_URL, connect_timeout=2, max_reconnect_attempts=0, allow_reconnect=False)
    try:
        await nc.jetstream().delete_stream(name)  # its consumers go with it
    except NotFoundError:
        pass
    finally:
        await nc.close()


async def _sql(statement: str) -> None:
    conn = await asyncpg.connect(POSTGRES_URL, timeout=3)
    try:
        await conn.execute(statement)
    finally:
        await conn.close()


@pytest.fixture(scope="module")
def nodes(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[ServerThread, ServerThread]]:
    try:
        _run(_probe_nats())
    except Exception as exc:
        pytest.skip(f"NATS with JetStream is not reachable at {NATS_URL} ({exc!r})")
    try:
        _run(_sql("SELECT 1"))
    except (OSError, asyncpg.PostgresError, TimeoutError) as exc:
        pytest.skip(f"PostgreSQL is not reachable at {POSTGRES_URL} ({exc!r})")
    suffix = secrets.token_hex(4)
    schema = f"bastion_cluster_{suffix}"
    name = f"bastion-test-{suffix}"
    url = f"{POSTGRES_URL}{'&' if '?' in POSTGRES_URL else '?'}schema={schema}"
    dirs = [tmp_path_factory.mktemp("node-a"), tmp_path_factory.mktemp("node-b")]
    started: list[ServerThread] = []
    try:
        for data_dir in dirs:
            settings = mqtt_settings(
                data_dir,
                database_url=url,
                cluster_url=NATS_URL,
                cluster_name=name,
                admin_access_key_id=ADMIN_KEY,
                admin_secret_access_key=ADMIN_SECRET,
            )
            if started:  # every node needs the same master key (it seals IAM users' secrets)
                shutil.copy(dirs[0] / "master.key", data_dir / "master.key")
            node = ServerThread(settings)
            node.start()
            started.append(node)
        yield started[0], started[1]
    finally:
        for node in started:
            node.stop()
        _run(_delete_stream(name))
        _run(_sql(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))


@pytest.fixture(scope="module")
def third_node(
    nodes: tuple[ServerThread, ServerThread], tmp_path_factory: pytest.TempPathFactory
) -> Callable[[], ServerThread]:
    """Starts one more node of the same cluster (the test stops it)."""
    a, _ = nodes

    def start() -> ServerThread:
        data_dir = tmp_path_factory.mktemp("node-c")
        shutil.copy(a.server.settings.data_dir / "master.key", data_dir / "master.key")
        node = ServerThread(replace(a.server.settings, data_dir=data_dir, api_port=0))
        node.start()
        return node

    return start


@pytest.fixture(scope="module")
def root() -> Keys:
    return Keys(ADMIN_KEY, ADMIN_SECRET)


@pytest.fixture
def topic() -> str:
    return "fan/" + uuid.uuid4().hex[:10]


def test_qos0_and_qos1_published_on_b_reach_a_subscriber_on_a(
    nodes: tuple[ServerThread, ServerThread], root: Keys, make: Callable[..., Client], topic: str
) -> None:
    a, b = nodes
    subscriber = connect_tcp(make, a, root)
    assert subscriber.subscribe(f"{topic}/#", qos=1) == [1]
    publisher = connect_tcp(make, b, root)
    publisher.publish(f"{topic}/zero", b"q0", qos=0)
    assert publisher.publish(f"{topic}/one", b"q1", qos=1) == 0
    assert (
        publisher.publish(
            f"{topic}/props",
            b"{}",
            qos=1,
            UserProperty=[("k", "v1"), ("k", "v2")],
            ContentType="application/json",
            CorrelationData=b"\x01\x02",
            ResponseTopic=f"{topic}/reply",
        )
        == 0
    )
    zero, one, props = subscriber.drain(3)
    assert (zero.topic, zero.payload, zero.qos) == (f"{topic}/zero", b"q0", 0)
    assert (one.topic, one.payload, one.qos) == (f"{topic}/one", b"q1", 1)
    assert props.properties.UserProperty == [("k", "v1"), ("k", "v2")]
    assert props.properties.ContentType == "application/json"
    assert props.properties.CorrelationData == b"\x01\x02"
    assert props.properties.ResponseTopic == f"{topic}/reply"
    subscriber.expect_none(0.2)  # each message once: never re-broadcast


def test_a_stream_from_one_publisher_arrives_in_order(
    nodes: tuple[ServerThread, ServerThread], root: Keys, make: Callable[..., Client], topic: str
) -> None:
    a, b = nodes
    subscriber = connect_tcp(make, a, root)
    assert subscriber.subscribe(topic, qos=1) == [1]
    publisher = connect_tcp(make, b, root)
    for n in range(50):
        publisher.paho.publish(topic, str(n).encode(), qos=1)
    got = [int(m.payload) for m in subscriber.drain(50)]
    assert got == list(range(50))


def test_http_publish_on_b_reaches_a(
    nodes: tuple[ServerThread, ServerThread], root: Keys, make: Callable[..., Client], topic: str
) -> None:
    a, b = nodes
    subscriber = connect_tcp(make, a, root)
    assert subscriber.subscribe(topic, qos=1) == [1]
    data = boto3.client(
        "iot-data",
        endpoint_url=b.endpoint_url,
        aws_access_key_id=root.key,
        aws_secret_access_key=root.secret,
        region_name=REGION,
    )
    data.publish(topic=topic, qos=1, payload=b"over http", contentType="text/plain")
    got = subscriber.expect()
    assert (got.payload, got.qos) == (b"over http", 1)
    assert got.properties.ContentType == "text/plain"


def test_receive_is_decided_by_the_receiving_connection(
    nodes: tuple[ServerThread, ServerThread], root: Keys, make: Callable[..., Client], topic: str
) -> None:
    a, b = nodes
    iam = boto3.client(
        "iam",
        endpoint_url=a.endpoint_url,
        aws_access_key_id=root.key,
        aws_secret_access_key=root.secret,
        region_name=REGION,
    )
    limited = iam_user(
        iam,
        policy(
            allow(["iot:Connect", "iot:Subscribe", "iot:Receive"]),
            deny("iot:Receive", arn("topic", f"{topic}/secret")),
        ),
    )
    subscriber = connect_tcp(make, a, limited)
    assert subscriber.is_connected
    assert subscriber.subscribe(f"{topic}/#", qos=1) == [1]
    publisher = connect_tcp(make, b, root)
    assert publisher.publish(f"{topic}/secret", b"no", qos=1) == 0
    assert publisher.publish(f"{topic}/open", b"yes", qos=1) == 0
    got = subscriber.expect()
    assert (got.topic, got.payload) == (f"{topic}/open", b"yes")
    subscriber.expect_none(0.2)


def test_retained_message_published_on_a_is_sent_on_subscribe_at_b(
    nodes: tuple[ServerThread, ServerThread], root: Keys, make: Callable[..., Client], topic: str
) -> None:
    a, b = nodes
    publisher = connect_tcp(make, a, root)
    assert publisher.publish(topic, b"kept", qos=1, retain=True) == 0
    # The PUBACK came after the stream held it; node B routes it within moments.
    subscriber = connect_tcp(make, b, root)
    for _ in range(50):
        assert subscriber.subscribe(topic, qos=1) == [1]
        try:
            got = subscriber.expect(0.1)
        except queue.Empty:
            continue
        break
    else:
        pytest.fail("the retained message never reached node B")
    assert (got.payload, got.retain) == (b"kept", True)
    # Deleting it on B (empty retained payload) deletes it on A too.
    assert connect_tcp(make, b, root).publish(topic, b"", qos=1, retain=True) == 0
    late = connect_tcp(make, a, root)
    for _ in range(50):
        assert late.subscribe(topic, qos=1) == [1]
        try:
            late.expect(0.1)
        except queue.Empty:
            break
        assert late.unsubscribe(topic) is not None
    else:
        pytest.fail("the retained message was never deleted on node A")


@pytest.mark.parametrize("version", [4, 5])
def test_client_id_connected_on_a_is_taken_over_by_a_connect_on_b(
    nodes: tuple[ServerThread, ServerThread], root: Keys, make: Callable[..., Client], version: int
) -> None:
    a, b = nodes
    client_id = "twin-" + uuid.uuid4().hex[:6]
    watcher = connect_tcp(make, b, root)
    assert watcher.subscribe(f"$aws/events/presence/+/{client_id}", qos=1) == [1]
    old = connect_tcp(make, a, root, version=version, client_id=client_id)
    assert old.is_connected
    assert watcher.expect().topic == f"$aws/events/presence/connected/{client_id}"
    new = connect_tcp(make, b, root, version=version, client_id=client_id)
    assert new.is_connected
    assert old.wait_closed()
    if version == 5:
        assert int(old.disconnect_reason.value) == 0x8E
    events = [watcher.expect().topic for _ in range(2)]
    assert events == [
        f"$aws/events/presence/disconnected/{client_id}",
        f"$aws/events/presence/connected/{client_id}",
    ]
    # And back: the connection on B is the one that ends now.
    again = connect_tcp(make, a, root, version=version, client_id=client_id)
    assert again.is_connected
    assert new.wait_closed()


def test_each_node_keeps_its_own_id_in_its_data_dir(nodes: tuple[ServerThread, ServerThread]) -> None:
    a, b = nodes
    assert a.server.cluster is not None and b.server.cluster is not None
    assert a.server.cluster.node_id != b.server.cluster.node_id
    for node in nodes:
        assert node.server.cluster is not None
        stored = Path(node.server.settings.data_dir, "cluster-node-id").read_text().strip()
        assert stored == node.server.cluster.node_id.hex()


def test_persistent_session_moves_to_the_node_the_client_reaches(
    nodes: tuple[ServerThread, ServerThread], root: Keys, make: Callable[..., Client], topic: str
) -> None:
    a, b = nodes
    client_id = "mover-" + uuid.uuid4().hex[:6]
    first = connect_tcp(make, a, root, client_id=client_id, clean=False, session_expiry=300)
    assert first.is_connected and first.session_present is False
    assert first.subscribe(topic, qos=1) == [1]
    first.close()
    # Published on B while the client is away: node A, which has the session, queues them.
    publisher = connect_tcp(make, b, root)
    for n in range(3):
        assert publisher.publish(topic, f"away {n}".encode(), qos=1) == 0
    # The client comes back on B: the session (subscription and queue) comes with it.
    second = connect_tcp(make, b, root, client_id=client_id, clean=False, session_expiry=300)
    assert second.is_connected and second.session_present is True
    assert [m.payload for m in second.drain(3)] == [b"away 0", b"away 1", b"away 2"]
    assert connect_tcp(make, a, root).publish(topic, b"live", qos=1) == 0
    assert second.expect().payload == b"live"
    # And taken over while connected, from B back to A, it moves again.
    third = connect_tcp(make, a, root, client_id=client_id, clean=False, session_expiry=300)
    assert third.is_connected and third.session_present is True
    assert second.wait_closed()
    assert publisher.publish(topic, b"back on A", qos=1) == 0
    got = third.expect().payload
    if got == b"live":  # its PUBACK may not have reached B before the takeover: QoS 1 sends it again
        got = third.expect().payload
    assert got == b"back on A"


def _poll(condition: Callable[[], bool]) -> None:
    for _ in range(250):
        if condition():
            return
        time.sleep(0.02)
    pytest.fail("condition not met within 5 s")


def test_a_session_whose_node_is_gone_is_picked_up_from_the_store(
    nodes: tuple[ServerThread, ServerThread],
    third_node: Callable[[], ServerThread],
    root: Keys,
    make: Callable[..., Client],
    topic: str,
) -> None:
    _, b = nodes
    c = third_node()
    try:
        broker = c.server.mqtt.broker if c.server.mqtt is not None else None
        assert broker is not None
        client_id = "orphan-" + uuid.uuid4().hex[:6]
        first = connect_tcp(make, c, root, client_id=client_id, version=4, clean=False)
        assert first.subscribe(topic, qos=1) == [1]
        first.close()
        _poll(lambda: broker.sessions[client_id].connection is None)  # C has seen the DISCONNECT
        assert connect_tcp(make, b, root).publish(topic, b"queued on C", qos=1) == 0
        # The PUBACK means the stream has it; C queues it for the session when its copy arrives. (Had C
        # died before that, the stream would keep it for C's next start: docs/scaling.md.)
        _poll(lambda: broker.sessions[client_id].stored_count == 1)
        c.call(broker.writer.drain())
    finally:
        c.stop()
    second = connect_tcp(make, b, root, client_id=client_id, version=4, clean=False)
    assert second.is_connected and second.session_present is True
    assert second.expect().payload == b"queued on C"


def test_a_session_left_connected_by_a_dead_node_is_adopted_and_expires(
    nodes: tuple[ServerThread, ServerThread], root: Keys, make: Callable[..., Client]
) -> None:
    """A node killed while its client was connected leaves the session marked connected in the store.
    Another node adopts it after two sweeps in a row found no node holding it (a session that a live
    node holds is never taken), counts it disconnected from then on, and expires it."""
    a, b = nodes
    assert a.server.mqtt is not None and b.server.mqtt is not None and b.server.cluster is not None
    store, broker, cluster = a.server.mqtt.broker.repository, b.server.mqtt.broker, b.server.cluster
    orphan = "dead-node-" + uuid.uuid4().hex[:6]
    # What a node killed with -9 leaves behind: the session row still says "connected" (no expiry).
    a.call(
        store.apply([PutSession(orphan, 5, 1, None), PutSubscription(orphan, StoredSubscription("x/y", 1))])
    )
    live = "live-" + uuid.uuid4().hex[:6]
    holder = connect_tcp(make, a, root, client_id=live, clean=False, session_expiry=300)
    assert holder.is_connected

    suspects = b.call(cluster.sweep_orphans_once(set()))
    assert orphan in suspects and live not in suspects
    assert orphan not in broker.sessions  # seen once: only suspected
    b.call(cluster.sweep_orphans_once(suspects))
    adopted = broker.sessions.get(orphan)
    assert adopted is not None and adopted.connection is None and adopted.expires_at is not None
    assert "x/y" in adopted.subscriptions
    assert live not in broker.sessions and holder.is_connected

    async def expire_and_commit(now: float) -> None:  # on the node's own loop, as its sweeper runs
        broker.expire_sessions(now)
        await broker.writer.drain()

    b.call(expire_and_commit(adopted.expires_at + 0.1))  # its 1 s expiry, counted from the adoption
    assert orphan not in broker.sessions
    assert a.call(store.get_session(orphan)) is None


# ---- iot-data connections across nodes -------------------------------------------------------------------


def _data_client(node: ServerThread, keys: Keys) -> Any:
    return boto3.client(
        "iot-data",
        endpoint_url=node.endpoint_url,
        aws_access_key_id=keys.key,
        aws_secret_access_key=keys.secret,
        region_name=REGION,
        config=Config(retries={"max_attempts": 1}),  # a 503 is the answer under test, not retried
    )


def _error(raised: pytest.ExceptionInfo[ClientError]) -> tuple[str, int]:
    response = raised.value.response
    return response["Error"]["Code"], response["ResponseMetadata"]["HTTPStatusCode"]


def test_connection_api_on_b_answers_for_a_client_connected_to_a(
    nodes: tuple[ServerThread, ServerThread], root: Keys, make: Callable[..., Client], topic: str
) -> None:
    a, b = nodes
    data = _data_client(b, root)
    client_id = "remote-" + uuid.uuid4().hex[:6]
    watcher = connect_tcp(make, b, root)
    assert watcher.subscribe(f"{topic}/will", f"$aws/events/presence/disconnected/{client_id}") == [1, 1]
    device = connect_tcp(
        make,
        a,
        root,
        client_id=client_id,
        clean=False,
        session_expiry=600,
        keepalive=90,
        will=(f"{topic}/will", b"device lost", 1, False),
    )
    assert device.subscribe(f"{topic}/a", f"{topic}/b/#", qos=1) == [1, 1]
    assert device.subscribe(f"{topic}/c", qos=0) == [0]

    info = data.get_connection(clientId=client_id, includeSocketInformation=True)
    assert (info["connected"], info["clientId"], info["cleanSession"]) == (True, client_id, False)
    assert (info["sessionExpiry"], info["keepAliveDuration"], info["sourceIp"]) == (600, 90, "127.0.0.1")
    assert abs(info["connectedSince"] - time.time() * 1000) < 60_000
    first = data.list_subscriptions(clientId=client_id, maxResults=2)
    assert first["subscriptions"] == [
        {"topicFilter": f"{topic}/a", "qos": 1},
        {"topicFilter": f"{topic}/b/#", "qos": 1},
    ]
    rest = data.list_subscriptions(clientId=client_id, nextToken=first["nextToken"])
    assert rest["subscriptions"] == [{"topicFilter": f"{topic}/c", "qos": 0}]

    data.delete_connection(clientId=client_id, cleanSession=True, preventWillMessage=True)
    assert device.wait_closed()
    assert int(device.disconnect_reason.value) == 0x98  # MQTT 5: administrative action
    event = json.loads(watcher.expect().payload)
    assert (event["clientId"], event["disconnectReason"]) == (client_id, "API_INITIATED_DISCONNECT")
    watcher.expect_none()  # no Will
    for call in (data.get_connection, data.list_subscriptions, data.delete_connection):
        with pytest.raises(ClientError) as raised:
            call(clientId=client_id)
        assert _error(raised) == ("ResourceNotFoundException", 404)
    # The session is gone on A: coming back there with Clean Start 0 finds none.
    back = connect_tcp(make, a, root, client_id=client_id, clean=False, session_expiry=600)
    assert back.is_connected and back.session_present is False


def test_an_offline_session_on_a_is_described_and_ended_from_b(
    nodes: tuple[ServerThread, ServerThread], root: Keys, make: Callable[..., Client], topic: str
) -> None:
    a, b = nodes
    data = _data_client(b, root)
    client_id = "away-" + uuid.uuid4().hex[:6]
    device = connect_tcp(make, a, root, version=4, client_id=client_id, clean=False)
    assert device.subscribe(topic, qos=1) == [1]
    device.close()
    for _ in range(250):  # A has seen the DISCONNECT
        offline = data.get_connection(clientId=client_id)
        if not offline["connected"]:
            break
        time.sleep(0.02)
    assert (offline["connected"], offline["disconnectReason"]) == (False, "CLIENT_INITIATED_DISCONNECT")
    assert data.list_subscriptions(clientId=client_id)["subscriptions"] == [{"topicFilter": topic, "qos": 1}]
    with pytest.raises(ClientError) as raised:  # not connected, and the session is kept
        data.delete_connection(clientId=client_id)
    assert _error(raised) == ("ResourceNotFoundException", 404)
    data.delete_connection(clientId=client_id, cleanSession=True)
    with pytest.raises(ClientError) as raised:
        data.get_connection(clientId=client_id)
    assert _error(raised) == ("ResourceNotFoundException", 404)


def test_unknown_client_id_is_not_found_from_any_node(
    nodes: tuple[ServerThread, ServerThread], root: Keys
) -> None:
    for node in nodes:
        data = _data_client(node, root)
        for call in (data.get_connection, data.list_subscriptions, data.delete_connection):
            with pytest.raises(ClientError) as raised:
                call(clientId="nobody-" + uuid.uuid4().hex[:6])
            assert _error(raised) == ("ResourceNotFoundException", 404)


def test_a_garbled_answer_from_the_bus_is_service_unavailable(
    nodes: tuple[ServerThread, ServerThread], root: Keys
) -> None:
    """Something else answering on a client id's subject gets a 503, not its words repeated."""
    _, b = nodes
    assert b.server.cluster is not None
    client_id = "impostor-" + uuid.uuid4().hex[:6]
    subject = b.server.cluster.subjects.client(client_id)
    data = _data_client(b, root)

    async def impersonate() -> list[tuple[str, int]]:
        nc = await nats.connect(NATS_URL, connect_timeout=2, max_reconnect_attempts=0, allow_reconnect=False)
        answers = iter([b"\x00not json", b'{"ok":{"connection":{"clientId":"someone-else"}}}', b"[" * 5000])

        async def answer(msg: Any) -> None:
            await msg.respond(next(answers))

        try:
            await nc.subscribe(subject, cb=answer)
            await nc.flush()
            got = []
            for call in (data.get_connection, data.list_subscriptions, data.delete_connection):
                with pytest.raises(ClientError) as raised:
                    await asyncio.to_thread(call, clientId=client_id)
                got.append(_error(raised))
            return got
        finally:
            await nc.close()

    assert _run(impersonate()) == [("ServiceUnavailableException", 503)] * 3


def test_a_stray_request_on_a_client_id_subject_takes_nothing_over(
    nodes: tuple[ServerThread, ServerThread], root: Keys, make: Callable[..., Client]
) -> None:
    """Only the empty body is a takeover: anything else unknown is ignored by the holder."""
    a, b = nodes
    assert a.server.cluster is not None
    client_id = "stray-" + uuid.uuid4().hex[:6]
    device = connect_tcp(make, a, root, client_id=client_id)
    subject = a.server.cluster.subjects.client(client_id)

    async def send_junk() -> None:
        nc = await nats.connect(NATS_URL, connect_timeout=2, max_reconnect_attempts=0, allow_reconnect=False)
        try:
            for junk in (b"\x7fjunk", b"\x03", b"take over!"):
                await nc.publish(subject, junk, reply="_INBOX.nobody")
            await nc.flush()
        finally:
            await nc.close()

    _run(send_junk())
    # Asked after the junk on the same subscription, the holder still has the client connected.
    assert _data_client(b, root).get_connection(clientId=client_id)["connected"] is True
    assert device.is_connected
