"""In-memory IotRepository (unit tests of services). Each method finishes without awaiting, so on one
event loop each call is atomic, as a transaction would be."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol, TypeVar

from bastion.storage.interfaces import AlreadyExists, DeleteConflict, NotFound, Page
from bastion.storage.iot import (
    EffectivePolicy,
    IotPolicy,
    IotPolicyVersion,
    TargetLimitReached,
    VersionLimitReached,
    decode_iot_marker,
    encode_iot_marker,
    version_number,
)
from bastion.storage.paging import check_limit
from bastion.storage.values import utc

_T = TypeVar("_T")


class Bumper(Protocol):
    """The in-memory meta repository's counter (MemoryMetaRepository.bump)."""

    def bump(self) -> int: ...


@dataclass
class _Policy:
    record: IotPolicy
    versions: dict[int, IotPolicyVersion] = field(default_factory=dict)
    last_number: int = 0


def _time_key(moment: datetime) -> str:
    return utc(moment).strftime("%Y-%m-%dT%H:%M:%S.%f")


def _page(
    listing: str, keyed: list[tuple[str, _T]], marker: str | None, limit: int, *, descending: bool = False
) -> Page[_T]:
    """One page of (sort key, item) pairs already in listing order; the marker holds the last key handed
    out, and the next page starts strictly past it, so removals between calls skip nothing."""
    check_limit(limit)
    if marker is not None:
        (after,) = decode_iot_marker(listing, marker, 1)
        keyed = [pair for pair in keyed if (pair[0] < after if descending else pair[0] > after)]
    chosen = keyed[: limit + 1]
    next_marker = encode_iot_marker(listing, chosen[limit - 1][0]) if len(chosen) > limit else None
    return Page([item for _, item in chosen[:limit]], next_marker)


class MemoryIotRepository:
    def __init__(self, meta: Bumper) -> None:
        self._meta = meta
        self._policies: dict[str, _Policy] = {}
        self._attached: dict[str, dict[str, None]] = {}  # target -> ordered set of policy names

    def _require(self, name: str) -> _Policy:
        policy = self._policies.get(name)
        if policy is None:
            raise NotFound(f"policy {name} does not exist")
        return policy

    @staticmethod
    def _version_out(policy: _Policy, version: IotPolicyVersion) -> IotPolicyVersion:
        return dataclasses.replace(version, is_default=version.version_id == policy.record.default_version_id)

    # -- policies --------------------------------------------------------------------------------------

    async def create_policy(self, policy: IotPolicy, document: str) -> IotPolicyVersion:
        if policy.default_version_id != "1":
            raise ValueError("a new policy's default version is 1")
        if policy.name in self._policies:
            raise AlreadyExists(f"policy {policy.name} already exists")
        record = dataclasses.replace(
            policy, created=utc(policy.created), updated=utc(policy.updated), tags=tuple(policy.tags)
        )
        version = IotPolicyVersion(policy.name, "1", document, record.created, is_default=True)
        self._policies[policy.name] = _Policy(record, {1: version}, 1)
        return version

    async def get_policy(self, name: str) -> IotPolicy | None:
        found = self._policies.get(name)
        return None if found is None else found.record

    async def list_policies(self, marker: str | None, limit: int, ascending: bool) -> Page[IotPolicy]:
        keyed = sorted(
            ((f"{_time_key(p.record.created)} {p.record.name}", p.record) for p in self._policies.values()),
            key=lambda pair: pair[0],
            reverse=not ascending,
        )
        listing = "iot-policies-asc" if ascending else "iot-policies-desc"
        return _page(listing, keyed, marker, limit, descending=not ascending)

    async def delete_policy(self, name: str) -> None:
        policy = self._require(name)
        if any(name in names for names in self._attached.values()):
            raise DeleteConflict(f"policy {name} is attached")
        if len(policy.versions) > 1:
            raise DeleteConflict(f"policy {name} has versions besides the default")
        del self._policies[name]

    # -- versions --------------------------------------------------------------------------------------

    async def add_version(
        self, name: str, document: str, created: datetime, make_default: bool, max_versions: int
    ) -> IotPolicyVersion:
        policy = self._require(name)
        if len(policy.versions) >= max_versions:
            raise VersionLimitReached(f"policy {name} has {len(policy.versions)} versions")
        policy.last_number += 1
        version_id = str(policy.last_number)
        version = IotPolicyVersion(name, version_id, document, utc(created))
        policy.versions[policy.last_number] = version
        default = version_id if make_default else policy.record.default_version_id
        policy.record = dataclasses.replace(policy.record, default_version_id=default, updated=utc(created))
        if make_default:
            self._meta.bump()
        return self._version_out(policy, version)

    async def get_version(self, name: str, version_id: str) -> IotPolicyVersion | None:
        policy = self._policies.get(name)
        number = version_number(version_id)
        if policy is None or number is None:
            return None
        version = policy.versions.get(number)
        return None if version is None else self._version_out(policy, version)

    async def list_versions(self, name: str) -> Sequence[IotPolicyVersion]:
        policy = self._require(name)
        return [self._version_out(policy, policy.versions[n]) for n in sorted(policy.versions, reverse=True)]

    async def delete_version(self, name: str, version_id: str) -> None:
        policy = self._require(name)
        number = version_number(version_id)
        if number is None or number not in policy.versions:
            raise NotFound(f"policy {name} has no version {version_id}")
        if version_id == policy.record.default_version_id:
            raise DeleteConflict("the default version cannot be deleted")
        del policy.versions[number]

    async def set_default_version(self, name: str, version_id: str, when: datetime) -> None:
        policy = self._require(name)
        number = version_number(version_id)
        if number is None or number not in policy.versions:
            raise NotFound(f"policy {name} has no version {version_id}")
        if policy.versions[number].version_id == policy.record.default_version_id:
            return
        policy.record = dataclasses.replace(
            policy.record, default_version_id=policy.versions[number].version_id, updated=utc(when)
        )
        self._meta.bump()

    # -- attachments -----------------------------------------------------------------------------------

    async def attach(self, name: str, target: str, max_per_target: int) -> bool:
        self._require(name)
        names = self._attached.setdefault(target, {})
        if name in names:
            return False
        if len(names) >= max_per_target:
            raise TargetLimitReached(f"{target} already has {len(names)} policies")
        names[name] = None
        self._meta.bump()
        return True

    async def detach(self, name: str, target: str) -> bool:
        names = self._attached.get(target)
        if names is None or name not in names:
            return False
        del names[name]
        if not names:
            del self._attached[target]
        self._meta.bump()
        return True

    async def list_attached(self, target: str, marker: str | None, limit: int) -> Page[IotPolicy]:
        names = sorted(self._attached.get(target, {}))
        return _page("iot-attached", [(n, self._policies[n].record) for n in names], marker, limit)

    async def list_targets(self, name: str, marker: str | None, limit: int) -> Page[str]:
        self._require(name)
        targets = sorted(t for t, names in self._attached.items() if name in names)
        return _page("iot-targets", [(t, t) for t in targets], marker, limit)

    async def effective_policies(self, target: str) -> Sequence[EffectivePolicy]:
        out: list[EffectivePolicy] = []
        for name in sorted(self._attached.get(target, {})):
            policy = self._policies[name]
            version = policy.versions[int(policy.record.default_version_id)]
            out.append(EffectivePolicy(policy.record, self._version_out(policy, version)))
        return out
