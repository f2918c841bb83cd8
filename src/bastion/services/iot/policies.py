"""AWS IoT policies: documents, numbered versions (at most 5, one default), attachments to targets.

Rules and limits follow AWS IoT: a document has at most 2,048 characters besides whitespace and is checked
when it is written (MalformedPolicyException with the findings' text); a target has at most 10 policies;
attaching a policy twice is harmless; a policy can only be deleted once it is detached everywhere and has
no version besides its default. Lint findings (the classic IoT policy mistakes, bastion.policy.iot) are
logged when a policy or version is written; they never refuse a document.

Every change that can alter an authorization decision (a new default version, an attachment made or
removed) bumps the store's generation in the same transaction, so cached decisions are rebuilt.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Sequence
from dataclasses import dataclass

from bastion.clock import Clock
from bastion.policy import ParseResult
from bastion.policy.iot import lint_policy
from bastion.services.errors import (
    AlreadyExistsError,
    ConflictError,
    InvalidInputError,
    LimitExceededError,
    MalformedPolicyError,
    NotFoundError,
)
from bastion.services.iot.errors import VersionsLimitExceededError
from bastion.services.iot.targets import Targets
from bastion.storage import interfaces as st
from bastion.storage.iot import (
    EffectivePolicy,
    IotPolicy,
    IotPolicyVersion,
    IotRepository,
    TargetLimitReached,
    VersionLimitReached,
)

log = logging.getLogger("bastion.iot.policies")

MAX_VERSIONS = 5
MAX_POLICIES_PER_TARGET = 10
DEFAULT_PAGE_SIZE = 25


@dataclass(frozen=True, slots=True)
class PolicyWithDocument:
    """A policy and the version a read reports (GetPolicy: the default one)."""

    policy: IotPolicy
    version: IotPolicyVersion

    @property
    def generation_id(self) -> str:
        return generation_id(self.policy)


def generation_id(policy: IotPolicy) -> str:
    """AWS's opaque ``generationId``: changes whenever the policy's default version changes."""
    created, updated = policy.created.isoformat(), policy.updated.isoformat()
    seed = f"{policy.arn}|{created}|{policy.default_version_id}|{updated}"
    return hashlib.sha256(seed.encode()).hexdigest()


def check_document(text: str, label: str) -> ParseResult:
    """Validate an IoT policy document; MalformedPolicyError with every error's text if it is invalid."""
    result = lint_policy(text, label=label)
    if not result.ok:
        raise MalformedPolicyError(result.error_message or "The policy document is not valid.", result.errors)
    for finding in result.warnings:
        log.warning("%s: %s [%s]", label, finding, finding.code)
    return result


class IotPolicyService:
    def __init__(
        self,
        repo: IotRepository,
        *,
        region: str,
        account_id: str,
        clock: Clock,
        targets: Targets | None = None,
    ) -> None:
        self._repo = repo
        self._region = region
        self._account = account_id
        self._clock = clock
        self.targets = targets or Targets(region, account_id)

    def policy_arn(self, name: str) -> str:
        return f"arn:aws:iot:{self._region}:{self._account}:policy/{name}"

    # ---- policies ---------------------------------------------------------------------------------
    async def create_policy(
        self, name: str, document: str, tags: Sequence[st.Tag] = ()
    ) -> PolicyWithDocument:
        arn = self.policy_arn(name)
        check_document(document, f"AWS IoT policy {name}")
        now = self._clock.now()
        policy = IotPolicy(name, arn, "1", now, now, tuple(tags))
        try:
            version = await self._repo.create_policy(policy, document)
        except st.AlreadyExists as exc:
            raise AlreadyExistsError(
                f"Policy cannot be created - name already exists (name={name})",
                resource_id=name,
                resource_arn=arn,
            ) from exc
        return PolicyWithDocument(policy, version)

    async def _policy(self, name: str) -> IotPolicy:
        policy = await self._repo.get_policy(name)
        if policy is None:
            raise NotFoundError(f"The policy {name} does not exist.")
        return policy

    async def get_policy(self, name: str) -> PolicyWithDocument:
        policy = await self._policy(name)
        version = await self._repo.get_version(name, policy.default_version_id)
        if version is None:  # the default changed between the two reads: read again
            return await self.get_policy(name)
        return PolicyWithDocument(policy, version)

    async def list_policies(
        self, marker: str | None, page_size: int | None, ascending: bool
    ) -> st.Page[IotPolicy]:
        try:
            return await self._repo.list_policies(marker, page_size or DEFAULT_PAGE_SIZE, ascending)
        except st.InvalidMarker as exc:
            raise InvalidInputError("The marker is not valid.") from exc

    async def delete_policy(self, name: str) -> None:
        try:
            await self._repo.delete_policy(name)
        except st.NotFound as exc:
            raise NotFoundError(f"The policy {name} does not exist.") from exc
        except st.DeleteConflict as exc:
            versions = await self._repo.list_versions(name)
            if len(versions) > 1:
                raise ConflictError(
                    f"Cannot delete the policy because it has non-default versions (name={name}). "
                    "Delete the other versions first."
                ) from exc
            raise ConflictError(
                "The policy cannot be deleted as the policy is attached to one or more principals "
                f"(name={name})"
            ) from exc

    # ---- versions ---------------------------------------------------------------------------------
    async def create_policy_version(self, name: str, document: str, set_as_default: bool) -> IotPolicyVersion:
        await self._policy(name)
        check_document(document, f"AWS IoT policy {name} (new version)")
        try:
            return await self._repo.add_version(
                name, document, self._clock.now(), set_as_default, MAX_VERSIONS
            )
        except st.NotFound as exc:
            raise NotFoundError(f"The policy {name} does not exist.") from exc
        except VersionLimitReached as exc:
            raise VersionsLimitExceededError(
                f"The policy {name} already has the maximum number of versions ({MAX_VERSIONS})"
            ) from exc

    async def get_policy_version(self, name: str, version_id: str) -> PolicyWithDocument:
        policy = await self._policy(name)
        version = await self._repo.get_version(name, version_id)
        if version is None:
            raise NotFoundError(f"The policy {name} has no version {version_id}.")
        return PolicyWithDocument(policy, version)

    async def list_policy_versions(self, name: str) -> Sequence[IotPolicyVersion]:
        try:
            return await self._repo.list_versions(name)
        except st.NotFound as exc:
            raise NotFoundError(f"The policy {name} does not exist.") from exc

    async def delete_policy_version(self, name: str, version_id: str) -> None:
        await self._policy(name)
        try:
            await self._repo.delete_version(name, version_id)
        except st.NotFound as exc:
            raise NotFoundError(f"The policy {name} has no version {version_id}.") from exc
        except st.DeleteConflict as exc:
            raise ConflictError(
                f"Cannot delete the default version of a policy (name={name}, versionId={version_id})"
            ) from exc

    async def set_default_policy_version(self, name: str, version_id: str) -> None:
        await self._policy(name)
        try:
            await self._repo.set_default_version(name, version_id, self._clock.now())
        except st.NotFound as exc:
            raise NotFoundError(f"The policy {name} has no version {version_id}.") from exc

    # ---- attachments ------------------------------------------------------------------------------
    async def attach(self, name: str, target: str) -> bool:
        """Attach; True when newly attached. Attaching an attached policy again succeeds (AWS does too)."""
        await self.targets.require(target)
        try:
            attached = await self._repo.attach(name, target, MAX_POLICIES_PER_TARGET)
        except st.NotFound as exc:
            raise NotFoundError(f"The policy {name} does not exist.") from exc
        except TargetLimitReached as exc:
            raise LimitExceededError(
                f"The number of attached policies for {target} cannot exceed {MAX_POLICIES_PER_TARGET}."
            ) from exc
        if attached:
            log.info("attached AWS IoT policy %s to %s", name, target)
        return attached

    async def detach(self, name: str, target: str, *, policy_must_exist: bool = False) -> bool:
        """Detach; True when it was attached. Detaching what is not attached succeeds (the model lists no
        ResourceNotFoundException for DetachPolicy); DetachPrincipalPolicy still wants the policy."""
        self.targets.kind_of(target)
        if policy_must_exist:
            await self._policy(name)
        detached = await self._repo.detach(name, target)
        if detached:
            log.info("detached AWS IoT policy %s from %s", name, target)
        return detached

    async def list_attached(
        self, target: str, marker: str | None, page_size: int | None
    ) -> st.Page[IotPolicy]:
        self.targets.kind_of(target)
        try:
            return await self._repo.list_attached(target, marker, page_size or DEFAULT_PAGE_SIZE)
        except st.InvalidMarker as exc:
            raise InvalidInputError("The marker is not valid.") from exc

    async def list_targets(self, name: str, marker: str | None, page_size: int | None) -> st.Page[str]:
        try:
            return await self._repo.list_targets(name, marker, page_size or DEFAULT_PAGE_SIZE)
        except st.NotFound as exc:
            raise NotFoundError(f"The policy {name} does not exist.") from exc
        except st.InvalidMarker as exc:
            raise InvalidInputError("The marker is not valid.") from exc

    async def effective_policies(self, target: str) -> Sequence[EffectivePolicy]:
        """Every policy attached to ``target`` with its default version (what is evaluated)."""
        return await self._repo.effective_policies(target)

    async def named_policies(self, names: Sequence[str]) -> list[EffectivePolicy]:
        """The named policies with their default versions (TestAuthorization's policyNamesToAdd)."""
        out: list[EffectivePolicy] = []
        for name in names:
            found = await self.get_policy(name)
            out.append(EffectivePolicy(found.policy, found.version))
        return out
