"""The AWS IoT policy repository: policies, their numbered versions, and their attachments to targets.

A *target* is what AWS IoT attaches a policy to: today a Cognito identity id (``us-east-1:uuid``), later
certificate and thing-group ARNs. The repository stores targets as opaque strings, so new kinds need no
schema change.

Rules every backend follows (the contract suite checks each one):

* Policy names are unique and compared exactly (AWS IoT policy names are case-sensitive).
* Version ids are decimal strings; a policy's versions are numbered 1, 2, 3 … in creation order and a
  number is never handed out twice, even after its version was deleted.
* Only a change that can alter an authorization decision bumps the generation, in the same transaction:
  a new default version, an attachment made or removed. Creating a policy or a non-default version, or
  deleting one (which storage only allows when it is not in force), changes no decision.
* Listings page with markers in standard base64 (the IoT model's ``Marker`` pattern), one listing's marker
  refused by another.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from bastion.storage.interfaces import InvalidMarker, Page, StorageError, Tag
from bastion.storage.paging import decode_marker, encode_marker


class VersionLimitReached(StorageError):
    """The policy already has as many versions as the caller allows."""


class TargetLimitReached(StorageError):
    """The target already has as many policies attached as the caller allows."""


@dataclass(frozen=True, slots=True)
class IotPolicy:
    name: str
    arn: str
    default_version_id: str
    created: datetime
    # When the policy last changed: a version added, or another default chosen.
    updated: datetime
    tags: tuple[Tag, ...] = ()


@dataclass(frozen=True, slots=True)
class IotPolicyVersion:
    policy_name: str
    version_id: str
    document: str
    created: datetime
    # Derived from the policy's default version; ignored when stored.
    is_default: bool = False


@dataclass(frozen=True, slots=True)
class EffectivePolicy:
    """A policy attached to a target, with the document of its default version (the one evaluated)."""

    policy: IotPolicy
    version: IotPolicyVersion


class IotRepository(Protocol):
    async def create_policy(self, policy: IotPolicy, document: str) -> IotPolicyVersion:
        """Create the policy with version "1" (``policy.created``) as its default. AlreadyExists.

        ValueError unless ``policy.default_version_id`` is "1".
        """
        ...

    async def get_policy(self, name: str) -> IotPolicy | None: ...

    async def list_policies(self, marker: str | None, limit: int, ascending: bool) -> Page[IotPolicy]:
        """In order of creation (oldest first when ``ascending``), ties by name."""
        ...

    async def delete_policy(self, name: str) -> None:
        """NotFound; DeleteConflict while attached to any target or while it has non-default versions."""
        ...

    async def add_version(
        self, name: str, document: str, created: datetime, make_default: bool, max_versions: int
    ) -> IotPolicyVersion:
        """Add the next-numbered version. NotFound; VersionLimitReached when it has ``max_versions``."""
        ...

    async def get_version(self, name: str, version_id: str) -> IotPolicyVersion | None: ...

    async def list_versions(self, name: str) -> Sequence[IotPolicyVersion]:
        """Newest first. NotFound (policy)."""
        ...

    async def delete_version(self, name: str, version_id: str) -> None:
        """NotFound (policy or version); DeleteConflict for the default version."""
        ...

    async def set_default_version(self, name: str, version_id: str, when: datetime) -> None:
        """NotFound (policy or version). Setting the current default again changes nothing."""
        ...

    async def attach(self, name: str, target: str, max_per_target: int) -> bool:
        """Attach; True if it was not attached before. Idempotent.

        NotFound (policy); TargetLimitReached when the target already has ``max_per_target`` others.
        """
        ...

    async def detach(self, name: str, target: str) -> bool:
        """Detach; True if it was attached. Idempotent (a missing policy is simply not attached)."""
        ...

    async def list_attached(self, target: str, marker: str | None, limit: int) -> Page[IotPolicy]:
        """The policies attached to ``target``, by name."""
        ...

    async def list_targets(self, name: str, marker: str | None, limit: int) -> Page[str]:
        """The targets of a policy, in code-point order. NotFound (policy)."""
        ...

    async def effective_policies(self, target: str) -> Sequence[EffectivePolicy]:
        """Every policy attached to ``target`` with its default version, by name (one read)."""
        ...


def version_number(version_id: str) -> int | None:
    """The number a version id names; None for anything but a canonical decimal ("3", not "03")."""
    if not version_id.isascii() or not version_id.isdigit() or str(int(version_id)) != version_id:
        return None
    number = int(version_id)
    return number if number < 2**31 else None


def encode_iot_marker(listing: str, *keys: str) -> str:
    """A paging marker in standard base64, as the IoT model's Marker pattern requires."""
    return encode_marker(listing, *keys).replace("-", "+").replace("_", "/")


def decode_iot_marker(listing: str, marker: str, n_keys: int) -> tuple[str, ...]:
    try:
        base64.b64decode(marker.encode("ascii"), validate=True)
    except (UnicodeError, binascii.Error, ValueError):
        raise InvalidMarker("the paging marker is not valid; pass the one from the previous page") from None
    return decode_marker(listing, marker.replace("+", "-").replace("/", "_"), n_keys)
