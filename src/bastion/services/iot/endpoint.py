"""DescribeEndpoint: where clients reach Bastion's data plane.

AWS answers with a hostname per endpoint type (``abc123-ats.iot.REGION.amazonaws.com``). Bastion serves
every type from one process, so every type gets the same answer: ``host:port`` of the API listener,
which SDKs accept wherever they take an endpoint (``AWS.IotData({endpoint})``, boto3 ``endpoint_url``
after adding a scheme, device SDKs given a host and port). A listener bound to a wildcard address
(``0.0.0.0``, ``::``) has no address a client can use, so the answer is then the host the client itself
used to reach this server (its ``Host`` header).
"""

from __future__ import annotations

from collections.abc import Callable

from bastion.services.errors import InvalidInputError

ENDPOINT_TYPES = ("iot:Data", "iot:Data-ATS", "iot:CredentialProvider", "iot:Jobs")
# Addresses a listener binds to but a client cannot connect to.
_WILDCARD_HOSTS = frozenset({"", "0.0.0.0", "::", "[::]", "*"})  # noqa: S104 - recognised, never bound


def listener_address(host: str, port: int) -> str | None:
    """``host:port`` a client can use, or None when the listener's host is a wildcard."""
    if host in _WILDCARD_HOSTS:
        return None
    shown = f"[{host}]" if ":" in host and not host.startswith("[") else host
    return f"{shown}:{port}"


class Endpoints:
    def __init__(self, address: Callable[[], str | None]) -> None:
        # Called per request: the port is only known once the listener has started.
        self._address = address

    def describe(self, endpoint_type: str | None, request_host: str | None) -> str:
        if endpoint_type is not None and endpoint_type not in ENDPOINT_TYPES:
            known = ", ".join(ENDPOINT_TYPES)
            raise InvalidInputError(f"Endpoint type {endpoint_type} is not valid; use one of {known}.")
        address = self._address()
        if address is None:
            if not request_host:
                raise InvalidInputError("The endpoint address is unknown: the request named no Host.")
            return request_host
        return address
