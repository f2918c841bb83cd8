"""The HTTP request pipeline shared by every AWS service Bastion serves.

request id → CORS preflight → size limit → service routing → operation → SigV4 (unless public) →
parse + validate against botocore's model → IAM authorization → handler → serialize. Every failure on the
way becomes the AWS error of the service's protocol; nothing from the network can produce a 500 except a
bug, and a bug is logged with the request id and answered as AWS answers an internal error.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from bastion import ids
from bastion.api import authentication, error_mapping
from bastion.api.errors import AwsError
from bastion.api.fronts.base import CallContext, Front, Operation
from bastion.api.protocols import (
    HttpRequest,
    HttpResponse,
    identify_operation,
    parse_request,
    serialize_error,
    serialize_response,
)
from bastion.api.routing import route
from bastion.clock import Clock
from bastion.services.authorizer import Authorizer, request_context
from bastion.services.errors import AccessDeniedError, ServiceError
from bastion.services.identity import CredentialSource, Principal

log = logging.getLogger("bastion.api")

CORS_ALLOW_HEADERS = (
    "authorization, content-type, x-amz-date, x-amz-security-token, x-amz-target, x-amz-user-agent, "
    "x-amz-content-sha256, amz-sdk-invocation-id, amz-sdk-request, cache-control, x-amz-invocation-type, "
    "x-amz-log-type, x-amz-client-context, x-amzn-iot-principal, x-amzn-iot-policy, "
    "x-amz-mqtt5-user-properties, x-amz-mqtt5-payload-format-indicator, x-amz-mqtt5-correlation-data"
)
CORS_EXPOSE_HEADERS = (
    "x-amzn-requestid, x-amzn-errortype, x-amz-date, date, etag, x-amz-function-error, x-amz-log-result"
)


# Services whose writes can change an authorization decision, and the operations of theirs that only read.
AUTHORIZATION_SERVICES = frozenset({"iam", "iot"})
READ_OPERATION_PREFIXES = ("Get", "List", "Describe", "Test", "Simulate")


@dataclass(frozen=True, slots=True)
class ApiConfig:
    region: str
    account_id: str
    max_body_bytes: int


def _cors_headers(origin: str | None) -> dict[str, str]:
    return {
        "Access-Control-Allow-Origin": origin or "*",
        "Access-Control-Allow-Methods": "GET, POST, PUT, PATCH, DELETE, HEAD, OPTIONS",
        "Access-Control-Allow-Headers": CORS_ALLOW_HEADERS,
        "Access-Control-Expose-Headers": CORS_EXPOSE_HEADERS,
        "Access-Control-Max-Age": "172800",
        "Vary": "Origin",
    }


class ApiPipeline:
    def __init__(
        self,
        *,
        config: ApiConfig,
        fronts: Mapping[str, Front],
        resolver: CredentialSource,
        authorizer: Authorizer,
        clock: Clock,
    ) -> None:
        self._config = config
        self._fronts = dict(fronts)
        self._resolver = resolver
        self._authorizer = authorizer
        self._clock = clock

    async def handle(self, request: web.Request) -> web.StreamResponse:
        request_id = ids.request_id()
        origin = request.headers.get("Origin")
        if request.method == "OPTIONS":
            return web.Response(status=200, headers=_cors_headers(origin))
        service = "sts"  # error shape used until the service is known: query-protocol XML
        try:
            http = await self._read(request)
            found = route(http.header_map, http.raw_query, http.body)
            if found is None or found.service not in self._fronts:
                raise AwsError(
                    "MissingAuthenticationTokenException" if found is None else "UnknownOperationException",
                    "Missing Authentication Token"
                    if found is None
                    else "Bastion does not serve this service.",
                    status=403 if found is None else 400,
                )
            service = found.service
            response = await self._dispatch(service, http, request_id, request)
        except AwsError as error:
            response = serialize_error(service, error, request_id)
        except Exception:
            log.exception("internal error handling request %s", request_id)
            response = serialize_error(service, error_mapping.internal_error(service), request_id)
        return self._to_web(response, origin)

    async def _read(self, request: web.Request) -> HttpRequest:
        limit = self._config.max_body_bytes
        if request.content_length is not None and request.content_length > limit:
            raise AwsError("RequestEntityTooLargeException", "Request body too large.", status=413)
        try:
            body = await self._read_body(request, limit) if request.can_read_body else b""
        except (ValueError, ConnectionError) as exc:
            raise AwsError("SerializationException", "Could not read request body.", status=400) from exc
        if len(body) > limit:
            raise AwsError("RequestEntityTooLargeException", "Request body too large.", status=413)
        raw_path, _, raw_query = request.raw_path.partition("?")
        return HttpRequest(
            method=request.method,
            raw_path=raw_path,
            raw_query=raw_query,
            headers=list(request.headers.items()),
            body=body,
        )

    @staticmethod
    async def _read_body(request: web.Request, limit: int) -> bytes:
        """The whole body, or its first ``limit + 1`` bytes: one ``read`` returns only what has arrived."""
        body = bytearray()
        while len(body) <= limit:
            chunk = await request.content.read(limit + 1 - len(body))
            if not chunk:
                break
            body += chunk
        return bytes(body)

    async def _dispatch(
        self, service: str, http: HttpRequest, request_id: str, request: web.Request
    ) -> HttpResponse:
        front = self._fronts[service]
        op_name = identify_operation(service, http)
        operation = front.operations.get(op_name)
        if operation is None:
            raise error_mapping.unsupported_operation(service, op_name)
        principal: Principal | None = None
        if not operation.public:
            principal = await authentication.authenticate(
                service,
                http,
                hashlib.sha256(http.body).hexdigest(),
                self._resolver,
                self._clock.now(),
                self._config.region,
            )
        _, params = parse_request(service, http)
        ctx = CallContext(
            principal=principal,
            request_id=request_id,
            source_ip=request.remote or "",
            secure_transport=request.secure,
            region=self._config.region,
            account_id=self._config.account_id,
            now=self._clock.now(),
            headers=http.header_map,
        )
        try:
            if principal is not None and operation.action is not None:
                await self._authorize(operation, ctx, principal, params)
            output = await operation.handler(ctx, params)
        except ServiceError as exc:
            raise error_mapping.to_aws_error(service, exc) from exc
        if service in AUTHORIZATION_SERVICES and not op_name.startswith(READ_OPERATION_PREFIXES):
            # Read-your-writes on this node: a CONNECT right after AttachPolicy (or a policy change) is
            # decided with it, instead of waiting for the generation watch's next tick.
            await self._authorizer.sync_generation()
        return serialize_response(service, op_name, output, request_id)

    async def _authorize(
        self, operation: Operation, ctx: CallContext, principal: Principal, params: dict[str, Any]
    ) -> None:
        assert operation.action is not None
        checks = [(operation.action, operation.resource(ctx, params))]
        if operation.also is not None:
            checks.extend(operation.also(ctx, params))
        context = request_context(
            principal, source_ip=ctx.source_ip, secure=ctx.secure_transport, now=ctx.now, region=ctx.region
        )
        for action, resource in checks:
            decision = await self._authorizer.decide(principal, action, resource, context)
            if not decision.allowed:
                qualifier = " with an explicit deny" if decision.outcome == "EXPLICIT_DENY" else ""
                raise AccessDeniedError(
                    f"User: {principal.arn} is not authorized to perform: {action} on resource: "
                    f"{resource}{qualifier}"
                )

    @staticmethod
    def _to_web(response: HttpResponse, origin: str | None) -> web.Response:
        out = web.Response(status=response.status, body=response.body)
        for name, value in response.headers:
            out.headers.add(name, value)
        out.headers.update(_cors_headers(origin))
        return out


def build_web_app(
    pipeline: ApiPipeline, max_body_bytes: int, routes: Iterable[web.AbstractRouteDef] = ()
) -> web.Application:
    app = web.Application(client_max_size=max_body_bytes)
    # Plain GET documents (a user pool's JWKS and OpenID configuration) go before the AWS catch-all.
    app.add_routes(routes)
    app.router.add_route("*", "/{tail:.*}", pipeline.handle)
    return app
