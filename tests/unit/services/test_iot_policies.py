"""AWS IoT policy service rules: documents, versions, limits, attachments, targets and endpoints."""

from __future__ import annotations

import json
import logging

import pytest

from bastion.clock import SystemClock
from bastion.services.errors import (
    AlreadyExistsError,
    ConflictError,
    InvalidInputError,
    LimitExceededError,
    MalformedPolicyError,
    NotFoundError,
)
from bastion.services.iot.endpoint import Endpoints, listener_address
from bastion.services.iot.errors import VersionsLimitExceededError
from bastion.services.iot.policies import MAX_POLICIES_PER_TARGET, IotPolicyService, generation_id
from bastion.services.iot.targets import TargetKind, Targets, target_kind
from bastion.storage.memory import MemoryStore

ACCOUNT = "123456789012"
REGION = "us-east-1"
IOT = f"arn:aws:iot:{REGION}:{ACCOUNT}"
ME = "us-east-1:aaaaaaaa-1111-2222-3333-444444444444"
GOOD = json.dumps(
    {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "iot:Connect", "Resource": "*"}]}
)


def doc(sid: str) -> str:
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [{"Sid": sid, "Effect": "Allow", "Action": "iot:Connect", "Resource": "*"}],
        }
    )


@pytest.fixture
def service() -> IotPolicyService:
    return IotPolicyService(MemoryStore().iot, region=REGION, account_id=ACCOUNT, clock=SystemClock())


async def test_create_and_read_back(service: IotPolicyService) -> None:
    created = await service.create_policy("Sensors", GOOD)
    assert created.policy.arn == f"{IOT}:policy/Sensors"
    assert created.version.version_id == "1" and created.version.document == GOOD  # kept as written
    found = await service.get_policy("Sensors")
    assert found.version.document == GOOD and found.generation_id == created.generation_id
    with pytest.raises(NotFoundError):
        await service.get_policy("sensors")


async def test_a_second_create_names_the_existing_resource(service: IotPolicyService) -> None:
    await service.create_policy("P", GOOD)
    with pytest.raises(AlreadyExistsError) as caught:
        await service.create_policy("P", GOOD)
    assert caught.value.resource_id == "P" and caught.value.resource_arn == f"{IOT}:policy/P"
    assert "already exists" in caught.value.message


@pytest.mark.parametrize(
    ("document", "fragment"),
    [
        ("{not json", "not valid JSON"),
        ('{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"iot:Connect"}]}', "Resource"),
        (
            '{"Version":"2012-10-17","Statement":[{"Effect":"allow","Action":"iot:*","Resource":"*"}]}',
            "Effect",
        ),
        ('{"Version":"2012-10-17","Statement":[]}', "Statement must not be empty"),
    ],
)
async def test_malformed_documents_say_what_is_wrong(
    service: IotPolicyService, document: str, fragment: str
) -> None:
    with pytest.raises(MalformedPolicyError) as caught:
        await service.create_policy("P", document)
    assert fragment in caught.value.message
    with pytest.raises(NotFoundError):
        await service.get_policy("P")


def sized(non_whitespace: int) -> str:
    """A valid policy with exactly ``non_whitespace`` characters besides whitespace, and some spaces."""
    head = '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"iot:Connect","Resource":"'
    head += f"{IOT}:client/"
    tail = '"}]}'
    return (head + "a" * (non_whitespace - len(head) - len(tail)) + tail).replace(",", ", ")


async def test_the_size_limit_excludes_whitespace(service: IotPolicyService) -> None:
    await service.create_policy("Exact", sized(2048))
    with pytest.raises(MalformedPolicyError, match="2049"):
        await service.create_policy("TooBig", sized(2049))


async def test_lint_findings_are_logged_not_refused(
    service: IotPolicyService, caplog: pytest.LogCaptureFixture
) -> None:
    risky = json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {"Effect": "Allow", "Action": "iot:Subscribe", "Resource": f"{IOT}:topicfilter/a/#"}
            ],
        }
    )
    with caplog.at_level(logging.WARNING, logger="bastion.iot.policies"):
        await service.create_policy("Risky", risky)
        await service.create_policy_version("Risky", risky, set_as_default=False)
    messages = [r.getMessage() for r in caplog.records]
    assert sum("IOT_MQTT_WILDCARD_IN_TOPIC_FILTER" in m for m in messages) == 2
    assert sum("IOT_SUBSCRIBE_WITHOUT_RECEIVE" in m for m in messages) == 2
    assert any(m.startswith("AWS IoT policy Risky (new version): ") for m in messages)


async def test_versions_limit_default_and_delete_rules(service: IotPolicyService) -> None:
    await service.create_policy("P", doc("v1"))
    for n in range(2, 6):
        version = await service.create_policy_version("P", doc(f"v{n}"), set_as_default=n == 3)
        assert version.version_id == str(n)
    with pytest.raises(VersionsLimitExceededError, match="maximum number of versions"):
        await service.create_policy_version("P", doc("v6"), set_as_default=True)
    assert [v.version_id for v in await service.list_policy_versions("P")] == ["5", "4", "3", "2", "1"]
    assert (await service.get_policy("P")).policy.default_version_id == "3"

    with pytest.raises(ConflictError):
        await service.delete_policy_version("P", "3")  # the default
    with pytest.raises(ConflictError, match="non-default versions"):
        await service.delete_policy("P")
    with pytest.raises(NotFoundError):
        await service.set_default_policy_version("P", "9")
    with pytest.raises(NotFoundError):
        await service.get_policy_version("P", "9")

    before = generation_id((await service.get_policy("P")).policy)
    await service.set_default_policy_version("P", "5")
    assert generation_id((await service.get_policy("P")).policy) != before
    for vid in ("1", "2", "3", "4"):
        await service.delete_policy_version("P", vid)
    await service.create_policy_version("P", doc("v6"), set_as_default=False)
    assert [v.version_id for v in await service.list_policy_versions("P")] == ["6", "5"]
    await service.delete_policy_version("P", "6")
    await service.delete_policy("P")
    with pytest.raises(NotFoundError):
        await service.delete_policy("P")


async def test_attach_twice_is_harmless_and_the_limit_is_ten(service: IotPolicyService) -> None:
    for n in range(MAX_POLICIES_PER_TARGET):
        await service.create_policy(f"p{n}", GOOD)
        assert await service.attach(f"p{n}", ME) is True
    assert await service.attach("p0", ME) is False
    await service.create_policy("eleventh", GOOD)
    with pytest.raises(LimitExceededError) as caught:
        await service.attach("eleventh", ME)
    assert not isinstance(caught.value, VersionsLimitExceededError)
    with pytest.raises(ConflictError, match="attached"):
        await service.delete_policy("p0")
    assert await service.detach("p0", ME) is True
    assert await service.detach("p0", ME) is False
    assert await service.detach("never-existed", ME) is False
    with pytest.raises(NotFoundError):
        await service.detach("never-existed", ME, policy_must_exist=True)
    with pytest.raises(NotFoundError):
        await service.attach("never-existed", ME)


@pytest.mark.parametrize(
    ("target", "kind"),
    [
        (ME, TargetKind.COGNITO_IDENTITY),
        ("eu-west-1:0f0f0f0f-aaaa-bbbb-cccc-000000000000", TargetKind.COGNITO_IDENTITY),
        (f"{IOT}:cert/abcdef0123", TargetKind.CERTIFICATE),
        (f"{IOT}:thinggroup/kitchen", TargetKind.THING_GROUP),
    ],
)
def test_target_kinds(target: str, kind: TargetKind) -> None:
    assert target_kind(target, region=REGION, account_id=ACCOUNT) is kind


@pytest.mark.parametrize(
    "target",
    [
        "",
        "not-an-id",
        "us-east-1:NOT-HEX",
        f"arn:aws:iot:{REGION}:999999999999:cert/x",
        f"{IOT}:thing/t",
        "*",
    ],
)
def test_invalid_targets(target: str) -> None:
    with pytest.raises(InvalidInputError):
        target_kind(target, region=REGION, account_id=ACCOUNT)


async def test_certificates_exist_only_once_their_owner_says_so(service: IotPolicyService) -> None:
    await service.create_policy("P", GOOD)
    cert = f"{IOT}:cert/abc"
    with pytest.raises(NotFoundError, match="certificate"):
        await service.attach("P", cert)
    known: set[str] = {cert}

    async def exists(target: str) -> bool:
        return target in known

    service.targets.register(TargetKind.CERTIFICATE, exists)
    assert await service.attach("P", cert)
    with pytest.raises(NotFoundError):
        await service.attach("P", f"{IOT}:cert/other")


async def test_a_registered_identity_check_applies(service: IotPolicyService) -> None:
    await service.create_policy("P", GOOD)

    async def only_me(target: str) -> bool:
        return target == ME

    service.targets = Targets(REGION, ACCOUNT, {TargetKind.COGNITO_IDENTITY: only_me})
    assert await service.attach("P", ME)
    with pytest.raises(NotFoundError):
        await service.attach("P", "us-east-1:00000000-0000-0000-0000-000000000000")


async def test_paging_and_bad_markers(service: IotPolicyService) -> None:
    for name in ("a", "b", "c"):
        await service.create_policy(name, GOOD)
    first = await service.list_policies(None, 2, ascending=True)
    rest = await service.list_policies(first.marker, 2, ascending=True)
    assert [p.name for p in first.items] + [p.name for p in rest.items] == ["a", "b", "c"]
    newest = await service.list_policies(None, None, ascending=False)
    assert [p.name for p in newest.items] == ["c", "b", "a"]
    with pytest.raises(InvalidInputError):
        await service.list_policies("bm90LWEtbWFya2Vy", 2, ascending=True)


def test_endpoint_addresses() -> None:
    endpoints = Endpoints(lambda: listener_address("127.0.0.1", 4580))
    for kind in (None, "iot:Data", "iot:Data-ATS", "iot:CredentialProvider", "iot:Jobs"):
        assert endpoints.describe(kind, "ignored:1") == "127.0.0.1:4580"
    with pytest.raises(InvalidInputError, match="not valid"):
        endpoints.describe("iot:Nope", None)
    assert listener_address("::1", 80) == "[::1]:80"
    wildcard = Endpoints(lambda: listener_address("0.0.0.0", 4580))  # noqa: S104 - a listener's address
    assert wildcard.describe("iot:Data-ATS", "bastion.lan:4580") == "bastion.lan:4580"
    with pytest.raises(InvalidInputError):
        wildcard.describe(None, None)
