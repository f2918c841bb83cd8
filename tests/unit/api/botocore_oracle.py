"""botocore as the test oracle, entirely in process.

* ``botocore_request``: botocore's own serializer turns params into the HTTP request a client would send.
* ``botocore_parse``: botocore's own response parser reads one of our responses back.
* ``LoopbackClient``: a real botocore client (signing, handlers, error factory) whose HTTP layer is
  replaced by a function from ``HttpRequest`` to ``HttpResponse``; nothing touches the network.
"""

from __future__ import annotations

import io
import urllib.parse
from collections.abc import Callable
from functools import cache
from typing import Any

import botocore.session
from botocore.awsrequest import AWSResponse, HeadersDict, create_request_object, prepare_request_dict
from botocore.config import Config
from botocore.parsers import create_parser
from botocore.serialize import create_serializer

from bastion.api.models import service_model
from bastion.api.protocols import HttpRequest, HttpResponse

ENDPOINT = "https://bastion.example.com"


def _to_http_request(method: str, url: str, headers: Any, body: Any) -> HttpRequest:
    split = urllib.parse.urlsplit(url)
    pairs = [(str(k), v.decode("latin-1") if isinstance(v, bytes) else str(v)) for k, v in headers.items()]
    if body is None:
        raw = b""
    elif isinstance(body, str):
        raw = body.encode("utf-8")
    elif isinstance(body, bytes | bytearray):
        raw = bytes(body)
    else:
        raw = body.read()
    return HttpRequest(method, split.path or "/", split.query, pairs, raw)


def botocore_request(service: str, operation: str, params: dict[str, Any]) -> HttpRequest:
    model = service_model(service)
    serializer = create_serializer(model.protocol, include_validation=False)
    request_dict = serializer.serialize_to_request(params, model.operation_model(operation))
    prepare_request_dict(request_dict, endpoint_url=ENDPOINT)
    prepared = create_request_object(request_dict).prepare()
    return _to_http_request(prepared.method, prepared.url, prepared.headers, prepared.body)


def botocore_parse(service: str, operation: str, response: HttpResponse) -> dict[str, Any]:
    model = service_model(service)
    op_model = model.operation_model(operation)
    parser = create_parser(model.protocol)
    parsed: dict[str, Any] = parser.parse(
        {"status_code": response.status, "headers": HeadersDict(response.headers), "body": response.body},
        op_model.output_shape,
    )
    return parsed


class _Raw:
    def __init__(self, body: bytes) -> None:
        self._stream = io.BytesIO(body)

    def stream(self, *_: Any, **__: Any) -> Any:
        yield self._stream.read()

    def read(self, *args: Any) -> bytes:
        return self._stream.read(*args)


@cache
def _session() -> Any:
    return botocore.session.get_session()


class LoopbackClient:
    """A botocore client for ``service`` whose requests are answered by ``handler``."""

    def __init__(self, service: str, handler: Callable[[HttpRequest], HttpResponse]) -> None:
        self.handler = handler
        self.requests: list[HttpRequest] = []
        self.client = _session().create_client(
            service,
            region_name="us-east-1",
            endpoint_url=ENDPOINT,
            aws_access_key_id="AKIDEXAMPLE",
            aws_secret_access_key="wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
            config=Config(retries={"total_max_attempts": 1}),
        )
        self.client.meta.events.register("before-send", self._send)

    def _send(self, request: Any, **_: Any) -> AWSResponse:
        http = _to_http_request(request.method, request.url, request.headers, request.body)
        self.requests.append(http)
        response = self.handler(http)
        return AWSResponse(request.url, response.status, HeadersDict(response.headers), _Raw(response.body))
