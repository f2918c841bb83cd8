"""The connection requests and answers between nodes (``bastion.cluster.connection_codec``): round trips,
and hostile bytes from the bus refused as ``BadQuery``, never raised as anything else."""

from __future__ import annotations

import json

import pytest

from bastion.cluster import connection_codec as codec
from bastion.cluster.takeover import PROBE, TAKEOVER
from bastion.services.iot_data import ConnectionInfo, SubscriptionInfo

CONNECTED = ConnectionInfo(
    "dev-ü",
    connected=True,
    clean_session=False,
    session_expiry=600,
    keep_alive=90,
    connected_since_ms=1_700_000_000_000,
    source_ip="::1",
)
OFFLINE = ConnectionInfo(
    "dev-ü",
    connected=False,
    clean_session=False,
    session_expiry=3600,
    disconnected_since_ms=1_700_000_000_500,
    disconnect_reason="API_INITIATED_DISCONNECT",
)
SUBS = (SubscriptionInfo("a/+/c", 1), SubscriptionInfo("#", 0))


def test_requests_cross_the_bus_and_are_neither_a_takeover_nor_a_probe() -> None:
    describe = codec.encode_describe()
    disconnect = codec.encode_disconnect(clean_session=True, prevent_will=False)
    assert codec.decode_request(describe) == codec.Describe()
    assert codec.decode_request(disconnect) == codec.Disconnect(clean_session=True, prevent_will=False)
    for body in (describe, disconnect):
        assert codec.is_request(body) and body not in (TAKEOVER, PROBE)
    assert not codec.is_request(TAKEOVER) and not codec.is_request(PROBE)


@pytest.mark.parametrize("info", [CONNECTED, OFFLINE])
def test_a_description_crosses_the_bus_unchanged(info: ConnectionInfo) -> None:
    got = codec.decode_described(codec.encode_described(info, SUBS), "dev-ü")
    assert got == codec.Described(info, SUBS)


def test_done_and_refusals() -> None:
    assert codec.decode_done(codec.encode_done()) is None
    refused = codec.encode_refused("notFound", "The client x is not connected.")
    assert codec.decode_done(refused) == codec.Refused("notFound", "The client x is not connected.")
    assert codec.decode_described(refused, "x") == codec.Refused("notFound", "The client x is not connected.")
    long = codec.decode_done(codec.encode_refused("unavailable", "m" * 5000))
    assert long is not None and len(long.message) == codec.MAX_MESSAGE_CHARS


def test_an_address_that_is_not_an_ip_is_left_out() -> None:
    info = ConnectionInfo("c", connected=True, clean_session=True, session_expiry=0, source_ip="unix:x")
    got = codec.decode_described(codec.encode_described(info, ()), "c")
    assert isinstance(got, codec.Described) and got.connection.source_ip is None


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"\x03",
        b"\x01extra",
        b"\x02",
        b"\x02not json",
        b"\x02[]",
        b'\x02{"cleanSession": 1}',
        b'\x02{"cleanSession": "true"}',
        b'\x02{"other": true}',
        b"\x02\xff\xfe",
        b"\x02" + b"[" * 200,
        b'\x02{"cleanSession": true}' + b" " * 300,
    ],
)
def test_hostile_requests(body: bytes) -> None:
    with pytest.raises(codec.BadQuery):
        codec.decode_request(body)


def _described(**connection: object) -> bytes:
    fields: dict[str, object] = {
        "clientId": "c",
        "connected": True,
        "cleanSession": True,
        "sessionExpiry": 0,
    }
    fields.update(connection)
    return json.dumps({"ok": {"connection": fields, "subscriptions": []}}).encode()


def _with_subs(subs: object) -> bytes:
    fields = {"clientId": "c", "connected": True, "cleanSession": True, "sessionExpiry": 0}
    return json.dumps({"ok": {"connection": fields, "subscriptions": subs}}).encode()


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"\x00\x01",
        b"\xff\xfe\xfd",
        b"null",
        b"[]",
        b"[" * 100_000,  # deeper than the JSON parser recurses
        b'{"ok": {}, "error": "notFound"}',
        b'{"error": "teapot", "message": "x"}',
        b'{"error": "notFound"}',
        b'{"error": "notFound", "message": ""}',
        b'{"error": "notFound", "message": "\\u0007bell"}',
        b'{"error": "notFound", "message": 1}',
        b'{"ok": []}',
        b'{"ok": {"connection": {}}}',
        b'{"ok": {"connection": null, "subscriptions": []}}',
        _described(clientId="someone-else"),
        _described(clientId=7),
        _described(connected=1),
        _described(cleanSession=None),
        _described(sessionExpiry=-1),
        _described(sessionExpiry=2**32),
        _described(sessionExpiry=True),
        _described(sessionExpiry=1.5),
        _described(keepAlive=70_000),
        _described(connectedSince="yesterday"),
        _described(connectedSince=2**60),
        _described(disconnectReason="BORED"),
        _described(sourceIp="not an ip"),
        _described(sourceIp="1" * 1000),
        _described(extra=True),
        b'{"ok": {"connection": {"clientId": "c", "connected": true, "cleanSession": true, '
        b'"sessionExpiry": NaN}, "subscriptions": []}}',
        _with_subs(None),
        _with_subs([["a"]]),
        _with_subs([["a", 3]]),
        _with_subs([["a", False]]),
        _with_subs([[7, 1]]),
        _with_subs([["a/#/b", 1]]),
        _with_subs([["", 1]]),
        _with_subs([["x" * 70_000, 0]]),
        _with_subs([["a", 0]] * (codec.MAX_SUBSCRIPTIONS + 1)),
        b" " * (codec.MAX_ANSWER_BYTES + 1),
    ],
)
def test_hostile_answers(body: bytes) -> None:
    with pytest.raises(codec.BadQuery):
        codec.decode_described(body, "c")


@pytest.mark.parametrize("body", [b'{"ok": {"connection": {}}}', b'{"ok": 1}', b"\x00", b'{"error": "x"}'])
def test_hostile_disconnect_answers(body: bytes) -> None:
    with pytest.raises(codec.BadQuery):
        codec.decode_done(body)


def test_a_session_too_large_to_describe_is_refused_by_its_holder() -> None:
    subs = tuple(SubscriptionInfo(f"t/{n}", 0) for n in range(codec.MAX_SUBSCRIPTIONS + 1))
    got = codec.decode_described(codec.encode_described(CONNECTED, subs), "dev-ü")
    assert isinstance(got, codec.Refused) and got.kind == "unavailable"
