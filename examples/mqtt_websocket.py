"""MQTT over WebSocket the way an app talks to AWS IoT: a SigV4-presigned ``/mqtt`` URL and paho-mqtt.

Two things the AWS SDKs usually hide: presigning the URL (botocore does the signing) and waiting for the
broker's answers (paho reports them on its own thread; ``Connection`` turns each call into a blocking one
so the example reads top to bottom).
"""

from __future__ import annotations

import queue
import threading
from dataclasses import dataclass
from types import TracebackType
from typing import Any
from urllib.parse import quote, urlsplit

import paho.mqtt.client as paho
from botocore.auth import SigV4QueryAuth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.reasoncodes import ReasonCode

WAIT = 5.0  # seconds to wait for one answer from the broker


class MqttError(Exception):
    """The broker gave no answer: the connection failed, closed or timed out."""


def presigned_mqtt_url(endpoint: str, region: str, key: str, secret: str, token: str | None) -> str:
    """The ``ws(s)://HOST:PORT/mqtt?X-Amz-…`` URL for these credentials, as AWS IoT expects it.

    AWS IoT's rule for WebSocket connections: service ``iotdevicegateway``, only the ``host`` header
    signed, and the session token appended *after* signing, so botocore signs without it.
    """
    parts = urlsplit(endpoint)
    request = AWSRequest(method="GET", url=f"{parts.scheme}://{parts.netloc}/mqtt")
    SigV4QueryAuth(Credentials(key, secret), "iotdevicegateway", region, expires=300).add_auth(request)
    url = str(request.url)
    if token:
        url += "&X-Amz-Security-Token=" + quote(token, safe="")
    return "ws" + url.removeprefix("http")  # http → ws, https → wss


@dataclass(frozen=True, slots=True)
class Message:
    topic: str
    payload: bytes


class Connection:
    """One MQTT 5 connection over WebSocket; every call waits for the broker's answer and returns its
    MQTT 5 reason code (0 success, 1 granted QoS 1, 0x87 not authorized, …)."""

    def __init__(self, client_id: str, *, ca_file: str | None = None) -> None:
        self._ca_file = ca_file  # for wss: the CA to verify the server with (None: the system's)
        self._paho = paho.Client(
            CallbackAPIVersion.VERSION2,
            client_id=client_id,
            protocol=paho.MQTTv5,
            transport="websockets",
            reconnect_on_failure=False,
        )
        self._answers: dict[int, Any] = {}  # packet id → SUBACK / PUBACK reason code(s)
        self._answered = threading.Condition()
        self._connack: queue.Queue[ReasonCode | None] = queue.Queue()
        self.messages: queue.Queue[Message] = queue.Queue()
        self._paho.on_connect = self._on_connect
        self._paho.on_disconnect = self._on_disconnect
        self._paho.on_subscribe = self._on_answer
        self._paho.on_publish = self._on_answer
        self._paho.on_message = self._on_message

    # paho's thread
    def _on_connect(self, _c: Any, _u: Any, _flags: Any, reason: ReasonCode, _props: Any) -> None:
        self._connack.put(reason)

    def _on_disconnect(self, _c: Any, _u: Any, _flags: Any, _reason: Any, _props: Any) -> None:
        self._connack.put(None)  # wakes a connect() still waiting; ignored otherwise
        with self._answered:
            self._answered.notify_all()

    def _on_answer(self, _c: Any, _u: Any, mid: int, reason: Any, _props: Any) -> None:
        with self._answered:
            self._answers[mid] = reason
            self._answered.notify_all()

    def _on_message(self, _c: Any, _u: Any, message: Any) -> None:
        self.messages.put(Message(message.topic, message.payload))

    # the caller's thread
    def connect(self, url: str) -> int:
        """Open the WebSocket to the presigned URL and send CONNECT; the CONNACK's reason code."""
        parts = urlsplit(url)
        if parts.hostname is None:
            raise MqttError(f"not a URL: {url!r}")
        secure = parts.scheme == "wss"
        if secure:
            self._paho.tls_set(ca_certs=self._ca_file)
        self._paho.ws_set_options(path=f"{parts.path}?{parts.query}")
        try:
            self._paho.connect(parts.hostname, parts.port or (443 if secure else 80), keepalive=30)
        except OSError as exc:  # paho's WebsocketConnectionError when the upgrade is refused
            raise MqttError(f"WebSocket connection failed: {exc}") from exc
        self._paho.loop_start()
        try:
            reason = self._connack.get(timeout=WAIT)
        except queue.Empty:
            reason = None
        if reason is None:
            raise MqttError("the connection closed without a CONNACK")
        return int(reason.value)

    def _wait(self, mid: int) -> Any:
        with self._answered:
            if not self._answered.wait_for(
                lambda: mid in self._answers or not self._paho.is_connected(), WAIT
            ):
                raise MqttError("no answer from the broker")
            if mid not in self._answers:
                raise MqttError("the broker closed the connection")
            return self._answers.pop(mid)

    def subscribe(self, topic_filter: str) -> int:
        """SUBSCRIBE at QoS 1; the SUBACK's reason code (the granted QoS, or why not)."""
        _result, mid = self._paho.subscribe(topic_filter, qos=1)
        if mid is None:  # paho gives no packet id when the connection is gone
            raise MqttError("not connected")
        reasons: list[ReasonCode] = self._wait(mid)
        return int(reasons[0].value)

    def publish(self, topic: str, payload: bytes) -> int:
        """PUBLISH at QoS 1; the PUBACK's reason code."""
        info = self._paho.publish(topic, payload, qos=1)
        reason: ReasonCode = self._wait(info.mid)
        return int(reason.value)

    def next_message(self, timeout: float = WAIT) -> Message | None:
        try:
            return self.messages.get(timeout=timeout)
        except queue.Empty:
            return None

    def close(self) -> None:
        if self._paho.is_connected():
            self._paho.disconnect()
        self._paho.loop_stop()

    def __enter__(self) -> Connection:
        return self

    def __exit__(
        self, _type: type[BaseException] | None, _exc: BaseException | None, _tb: TracebackType | None
    ) -> None:
        self.close()
