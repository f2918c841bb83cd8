"""What an AWS IoT policy can be attached to, and how a target string is recognised.

AWS IoT attaches policies to Cognito identity ids (``us-east-1:uuid``), X.509 certificate ARNs
(``arn:aws:iot:REGION:ACCT:cert/ID``) and thing-group ARNs (``arn:aws:iot:REGION:ACCT:thinggroup/NAME``).
Storage keeps targets as opaque strings; this module names their kind, and services that own a kind
(identity pools, certificates, thing groups) register an existence check for it.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Awaitable, Callable, Mapping

from bastion.services.errors import InvalidInputError, NotFoundError


class TargetKind(enum.StrEnum):
    COGNITO_IDENTITY = "cognito-identity"
    CERTIFICATE = "certificate"
    THING_GROUP = "thing-group"


# The Cognito IdentityId shape: pattern [\w-]+:[0-9a-f-]+, 1..55 characters.
_COGNITO_ID = re.compile(r"[\w-]+:[0-9a-f-]+", re.ASCII)
_IOT_ARN = re.compile(r"arn:aws[\w-]*:iot:([a-z0-9-]+):(\d{12}):(cert|thinggroup)/(.+)", re.ASCII)

# Checks whether a target of some kind exists; registered by the service that owns that kind.
TargetCheck = Callable[[str], Awaitable[bool]]


def target_kind(target: str, *, region: str, account_id: str) -> TargetKind:
    """The kind of ``target``; InvalidInputError for anything AWS IoT cannot attach a policy to."""
    if len(target) <= 55 and _COGNITO_ID.fullmatch(target):
        return TargetKind.COGNITO_IDENTITY
    match = _IOT_ARN.fullmatch(target)
    if match is not None:
        if match.group(1) != region or match.group(2) != account_id:
            raise InvalidInputError(f"The target {target} is not in this account and region.")
        return TargetKind.CERTIFICATE if match.group(3) == "cert" else TargetKind.THING_GROUP
    raise InvalidInputError(
        f"Invalid target: {target}. A target is a Cognito identity id (REGION:ID), a certificate ARN or "
        "a thing group ARN."
    )


class Targets:
    """Validates targets: well-formed, and known to the service that owns their kind.

    Cognito identity ids are accepted when well-formed until identity pools register a check (AWS does
    not document refusing unknown ids). Certificates and thing groups exist only once their services
    register a check; until then no such target exists.
    """

    def __init__(self, region: str, account_id: str, checks: Mapping[TargetKind, TargetCheck] | None = None):
        self._region = region
        self._account = account_id
        self._checks: dict[TargetKind, TargetCheck] = dict(checks or {})

    def register(self, kind: TargetKind, check: TargetCheck) -> None:
        self._checks[kind] = check

    def kind_of(self, target: str) -> TargetKind:
        return target_kind(target, region=self._region, account_id=self._account)

    async def require(self, target: str) -> TargetKind:
        kind = self.kind_of(target)
        check = self._checks.get(kind)
        if check is None:
            if kind is TargetKind.COGNITO_IDENTITY:
                return kind
            raise NotFoundError(f"The {kind.value.replace('-', ' ')} {target} does not exist.")
        if not await check(target):
            raise NotFoundError(f"The {kind.value.replace('-', ' ')} {target} does not exist.")
        return kind
