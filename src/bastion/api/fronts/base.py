"""What a service front declares: its operations, how each is authorized, and the handler to call.

A front is translation only: wire-shaped params (as botocore's model names them) in, a typed service call,
wire-shaped output out. Authorization happens in the pipeline before the handler runs, from the
declared IAM action and the resource ARN computed from the request.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from bastion.services.identity import Principal

Params = dict[str, Any]
Output = dict[str, Any]


@dataclass(frozen=True, slots=True)
class CallContext:
    principal: Principal | None
    request_id: str
    source_ip: str
    secure_transport: bool
    region: str
    account_id: str
    now: datetime
    # Lower-cased request header names to values, for the few operations that read headers directly.
    headers: Mapping[str, str] = field(default_factory=dict)

    def require_principal(self) -> Principal:
        if self.principal is None:
            raise RuntimeError("operation declared signed but ran without a principal")
        return self.principal


Handler = Callable[[CallContext, Params], Awaitable[Output]]
ResourceOf = Callable[[CallContext, Params], str]
# Further (action, resource) pairs a request must be allowed, computed from its parameters.
MoreChecks = Callable[[CallContext, Params], Sequence[tuple[str, str]]]


def any_resource(_ctx: CallContext, _params: Params) -> str:
    return "*"


@dataclass(frozen=True, slots=True)
class Operation:
    handler: Handler
    # IAM action checked before the handler ("iam:CreateRole"); None means no IAM check (AWS checks none,
    # e.g. sts:GetCallerIdentity, or the operation is public and authorizes by its own token).
    action: str | None
    resource: ResourceOf = any_resource
    # Checks that depend on the request, made like the first and all required (iot-data Publish with
    # retain=true also needs iot:RetainPublish on the topic).
    also: MoreChecks | None = None
    # Public operations are served without SigV4, as AWS serves them (aws-notes §6.4).
    public: bool = False


@dataclass(frozen=True, slots=True)
class Front:
    service: str  # botocore's service name, e.g. "iam"
    operations: Mapping[str, Operation]
