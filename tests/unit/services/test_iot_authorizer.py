"""The one decision point with AWS IoT policies: the two-policy rule (aws-notes 1.3), connection views
that follow policy changes, and TestAuthorization answered from the same sets."""

from __future__ import annotations

import asyncio
import json
import os
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pytest

from bastion.clock import SystemClock
from bastion.sealing import Sealer
from bastion.services.authorizer import DUAL_CHECK, Authorizer, Outcome, PolicyRef, ThingFacts
from bastion.services.connection_authz import ConnectionFacts
from bastion.services.iam.service import IamService
from bastion.services.identity import Principal, PrincipalKind, WebIdentity, root_principal
from bastion.services.iot.policies import IotPolicyService
from bastion.services.iot.simulation import IotAuthorizationService
from bastion.storage.iot import IotPolicy
from bastion.storage.memory import MemoryStore

ACCOUNT = "123456789012"
REGION = "us-east-1"
IOT = f"arn:aws:iot:{REGION}:{ACCOUNT}"
ME = "us-east-1:aaaaaaaa-1111-2222-3333-444444444444"
OTHER = "us-east-1:bbbbbbbb-1111-2222-3333-444444444444"
POOL = "us-east-1:cccccccc-1111-2222-3333-444444444444"
TRUST = json.dumps(
    {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Federated": "cognito-identity.amazonaws.com"},
                "Action": "sts:AssumeRoleWithWebIdentity",
            }
        ],
    }
)


def doc(*statements: dict[str, Any]) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def allow(action: str | list[str], resource: str | list[str]) -> dict[str, Any]:
    return {"Effect": "Allow", "Action": action, "Resource": resource}


def deny(action: str | list[str], resource: str | list[str]) -> dict[str, Any]:
    return {"Effect": "Deny", "Action": action, "Resource": resource}


SUB = "${cognito-identity.amazonaws.com:sub}"
IAM_ALL_IOT = doc(allow("iot:*", "*"))
IOT_OWN = doc(
    allow("iot:Connect", f"{IOT}:client/{SUB}"),
    allow(["iot:Publish", "iot:Receive", "iot:RetainPublish"], f"{IOT}:topic/{SUB}/*"),
    allow("iot:Subscribe", f"{IOT}:topicfilter/{SUB}/*"),
)


@dataclass
class World:
    store: MemoryStore
    iam: IamService
    iot: IotPolicyService
    authorizer: Authorizer

    async def role(self, name: str, *documents: str) -> None:
        await self.iam.create_role(name, TRUST)
        for index, document in enumerate(documents):
            await self.iam.put_inline_policy("role", name, f"p{index}", document)

    async def iot_policy(self, name: str, document: str, *targets: str) -> None:
        await self.iot.create_policy(name, document)
        for target in targets:
            await self.iot.attach(name, target)

    def cognito(
        self, role: str, identity: str = ME, *, authenticated: bool = True, session_policy: str | None = None
    ) -> Principal:
        amr = ("authenticated",) if authenticated else ("unauthenticated",)
        return Principal(
            kind=PrincipalKind.ROLE_SESSION,
            account_id=ACCOUNT,
            arn=f"arn:aws:sts::{ACCOUNT}:assumed-role/{role}/CognitoIdentityCredentials",
            user_id="AROAEXAMPLE:CognitoIdentityCredentials",
            role_name=role,
            role_arn=f"arn:aws:iam::{ACCOUNT}:role/{role}",
            session_name="CognitoIdentityCredentials",
            session_policy=session_policy,
            web_identity=WebIdentity("cognito-identity.amazonaws.com", identity, POOL, amr, authenticated),
        )

    async def decide(self, principal: Principal, action: str, resource: str, **context: object) -> Outcome:
        full = {
            "cognito-identity.amazonaws.com:sub": principal.web_identity.subject
            if principal.web_identity
            else "",
            **context,
        }
        decision = await self.authorizer.decide(principal, action, f"{IOT}:{resource}", full)
        return decision.outcome


@pytest.fixture
async def world() -> World:
    store = MemoryStore()
    iam = IamService(store, account_id=ACCOUNT, sealer=Sealer(os.urandom(32)), clock=SystemClock())
    iot = IotPolicyService(store.iot, region=REGION, account_id=ACCOUNT, clock=SystemClock())
    authorizer = Authorizer(iam, store.meta, region=REGION, account_id=ACCOUNT, iot=iot)
    return World(store, iam, iot, authorizer)


ALLOWED, EXPLICIT, IMPLICIT = Outcome.ALLOWED, Outcome.EXPLICIT_DENY, Outcome.IMPLICIT_DENY


# ---- the two-policy rule, as a table ----------------------------------------------------------------------

# (case, IAM role policy, IoT policy attached to ME or None, authenticated, action, resource, expected)
TWO_POLICY_TABLE = [
    ("authenticated, IAM allows iot:*, no IoT policy", IAM_ALL_IOT, None, True,
     "iot:Connect", f"client/{ME}", IMPLICIT),
    ("authenticated, both allow", IAM_ALL_IOT, IOT_OWN, True, "iot:Connect", f"client/{ME}", ALLOWED),
    ("authenticated, IoT policy scopes the client id down", IAM_ALL_IOT, IOT_OWN, True,
     "iot:Connect", "client/someone-else", IMPLICIT),
    ("IAM allow + IoT explicit deny", IAM_ALL_IOT,
     doc(allow("iot:*", "*"), deny("iot:Publish", f"{IOT}:topic/x")), True,
     "iot:Publish", "topic/x", EXPLICIT),
    ("IAM explicit deny + IoT allow", doc(allow("iot:*", "*"), deny("iot:Publish", f"{IOT}:topic/x")),
     doc(allow("iot:*", "*")), True, "iot:Publish", "topic/x", EXPLICIT),
    ("IAM silent + IoT allow", doc(allow("iot:Connect", "*")), doc(allow("iot:*", "*")), True,
     "iot:Publish", "topic/x", IMPLICIT),
    ("intersection: IAM topic/*, IoT topic/device/*", doc(allow("iot:Publish", f"{IOT}:topic/*")),
     doc(allow("iot:Publish", f"{IOT}:topic/device/*")), True, "iot:Publish", "topic/other", IMPLICIT),
    ("intersection allows the overlap", doc(allow("iot:Publish", f"{IOT}:topic/*")),
     doc(allow("iot:Publish", f"{IOT}:topic/device/*")), True, "iot:Publish", "topic/device/1", ALLOWED),
    ("unauthenticated: the attached IoT deny is ignored", doc(allow("iot:Connect", "*")),
     doc(deny("iot:*", "*")), False, "iot:Connect", f"client/{ME}", ALLOWED),
    ("unauthenticated: an attached IoT allow does not help", doc(allow("iot:Connect", "*")),
     doc(allow("iot:*", "*")), False, "iot:Publish", "topic/x", IMPLICIT),
    ("unauthenticated with nothing attached: IAM alone", IAM_ALL_IOT, None, False,
     "iot:Subscribe", "topicfilter/#", ALLOWED),
    ("variables: own topic", doc(allow("iot:Publish", f"{IOT}:topic/{SUB}/*")), IOT_OWN, True,
     "iot:Publish", f"topic/{ME}/t", ALLOWED),
    ("variables: someone else's topic", doc(allow("iot:Publish", f"{IOT}:topic/{SUB}/*")), IOT_OWN, True,
     "iot:Publish", f"topic/{OTHER}/t", IMPLICIT),
    ("RetainPublish is dual-checked", IAM_ALL_IOT, doc(allow("iot:Publish", "*")), True,
     "iot:RetainPublish", "topic/x", IMPLICIT),
    ("shadows are dual-checked", IAM_ALL_IOT, doc(allow("iot:GetThingShadow", f"{IOT}:thing/lamp")), True,
     "iot:UpdateThingShadow", "thing/lamp", IMPLICIT),
    ("control plane is IAM only", IAM_ALL_IOT, None, True, "iot:AttachPolicy", "policy/p", ALLOWED),
    ("retained-message reads are IAM only", IAM_ALL_IOT, None, True,
     "iot:GetRetainedMessage", "topic/x", ALLOWED),
]  # fmt: skip


@pytest.mark.parametrize(
    ("iam_policy", "iot_policy", "authenticated", "action", "resource", "expected"),
    [pytest.param(*row[1:], id=row[0]) for row in TWO_POLICY_TABLE],
)
async def test_two_policy_rule(
    world: World,
    iam_policy: str,
    iot_policy: str | None,
    authenticated: bool,
    action: str,
    resource: str,
    expected: Outcome,
) -> None:
    await world.role("CognitoRole", iam_policy)
    if iot_policy is not None:
        await world.iot_policy("Attached", iot_policy, ME)
    principal = world.cognito("CognitoRole", authenticated=authenticated)
    assert await world.decide(principal, action, resource) is expected


def test_dual_check_covers_the_documented_actions_and_retain_publish() -> None:
    documented = {
        "iot:connect", "iot:publish", "iot:subscribe", "iot:receive",
        "iot:getthingshadow", "iot:updatethingshadow", "iot:deletethingshadow",
    }  # fmt: skip
    assert {"iot:retainpublish", *documented} == DUAL_CHECK


async def test_decisions_explain_themselves(world: World) -> None:
    await world.role("R", IAM_ALL_IOT)
    principal = world.cognito("R")
    missing = await world.authorizer.decide(principal, "iot:Connect", f"{IOT}:client/{ME}", {})
    assert missing.outcome is IMPLICIT
    assert f"no AWS IoT policy is attached to {ME}" in missing.reason
    assert missing.policies == ()

    await world.iot_policy("Own", IOT_OWN, ME)
    context = {"cognito-identity.amazonaws.com:sub": ME}
    allowed = await world.authorizer.decide(principal, "iot:Connect", f"{IOT}:client/{ME}", context)
    assert allowed.allowed
    assert "role R's policies" in allowed.reason and f"attached to {ME}" in allowed.reason
    assert allowed.deciding == (
        "role/R inline policy p0 Statement[0]",
        "AWS IoT policy Own (version 1) Statement[0]",
    )
    assert allowed.policies == (PolicyRef("p0", None, "iam"), PolicyRef("Own", f"{IOT}:policy/Own", "iot"))

    elsewhere = await world.authorizer.decide(principal, "iot:Connect", f"{IOT}:client/x", context)
    assert elsewhere.reason == f"no statement in the AWS IoT policies attached to {ME} allows it"
    assert elsewhere.policies == (PolicyRef("Own", f"{IOT}:policy/Own", "iot"),)


async def test_session_policy_still_intersects(world: World) -> None:
    await world.role("R", IAM_ALL_IOT)
    await world.iot_policy("All", doc(allow("iot:*", "*")), ME)
    scoped = world.cognito("R", session_policy=doc(allow("iot:Connect", "*")))
    assert await world.decide(scoped, "iot:Connect", "client/c") is ALLOWED
    assert await world.decide(scoped, "iot:Publish", "topic/t") is IMPLICIT


async def test_iam_users_and_root_are_iam_only(world: World) -> None:
    user = await world.iam.create_user("device")
    await world.iam.put_inline_policy("user", "device", "p", doc(allow("iot:Connect", "*")))
    principal = Principal(PrincipalKind.IAM_USER, ACCOUNT, user.arn, user.user_id, user_name="device")
    assert await world.decide(principal, "iot:Connect", "client/c") is ALLOWED
    assert await world.decide(root_principal(ACCOUNT, "AKIA"), "iot:Publish", "topic/x") is ALLOWED


async def test_only_the_default_version_is_evaluated(world: World) -> None:
    await world.role("R", IAM_ALL_IOT)
    await world.iot_policy("P", doc(allow("iot:Connect", "*")), ME)
    principal = world.cognito("R")
    await world.iot.create_policy_version("P", doc(deny("iot:Connect", "*")), set_as_default=False)
    assert await world.decide(principal, "iot:Connect", "client/c") is ALLOWED
    await world.iot.set_default_policy_version("P", "2")
    assert await world.decide(principal, "iot:Connect", "client/c") is EXPLICIT
    await world.iot.detach("P", ME)
    assert await world.decide(principal, "iot:Connect", "client/c") is IMPLICIT


async def test_a_stored_policy_that_no_longer_compiles_denies_everything(world: World) -> None:
    await world.role("R", IAM_ALL_IOT)
    now = datetime.now(UTC)
    broken = IotPolicy("Broken", f"{IOT}:policy/Broken", "1", now, now)
    await world.store.iot.create_policy(broken, '{"Statement": "not a policy"}')
    await world.store.iot.attach("Broken", ME, 10)
    await world.iot_policy("All", doc(allow("iot:*", "*")), ME)
    assert await world.decide(world.cognito("R"), "iot:Connect", "client/c") is EXPLICIT


# ---- connection views (the broker's hot path) --------------------------------------------------------------


async def wait_for(predicate: Any, seconds: float = 1.0) -> bool:
    deadline = asyncio.get_running_loop().time() + seconds
    while asyncio.get_running_loop().time() < deadline:
        if predicate():
            return True
        await asyncio.sleep(0.01)
    return bool(predicate())


async def test_open_views_follow_attach_detach_and_new_defaults_within_a_second(world: World) -> None:
    await world.role("R", IAM_ALL_IOT)
    await world.iot.create_policy("Own", IOT_OWN)
    reloads: list[int] = []

    async def on_reload() -> None:
        reloads.append(1)

    facts = ConnectionFacts(client_id=ME, source_ip="203.0.113.9", secure_transport=True)
    view = await world.authorizer.for_connection(world.cognito("R"), facts, on_reload, now=datetime.now(UTC))
    connect, publish = world.authorizer.client_arn(ME), world.authorizer.topic_arn(f"{ME}/x")
    assert not view.allows("iot:Connect", connect)
    watch = asyncio.create_task(world.authorizer.watch_generation(interval=0.02))
    try:
        await world.iot.attach("Own", ME)
        assert await wait_for(lambda: view.allows("iot:Connect", connect))
        assert view.allows("iot:Publish", publish)
        assert not view.allows("iot:Publish", world.authorizer.topic_arn(f"{OTHER}/x"))

        await world.iot.create_policy_version("Own", doc(allow("iot:Connect", "*")), set_as_default=True)
        assert await wait_for(lambda: not view.allows("iot:Publish", publish))
        assert view.allows("iot:Connect", connect)

        await world.iot.detach("Own", ME)
        assert await wait_for(lambda: not view.allows("iot:Connect", connect))
        assert reloads
        explained = view.explain("iot:Connect", connect)
        assert explained.outcome is IMPLICIT and "no AWS IoT policy is attached" in explained.reason
    finally:
        watch.cancel()
        view.close()


class Things:
    def __init__(self, attached: dict[str, ThingFacts]) -> None:
        self.attached = attached

    async def connection_thing(self, principal: Principal, client_id: str) -> ThingFacts | None:
        return self.attached.get(client_id)


async def test_thing_variables_resolve_only_for_an_attached_thing(world: World) -> None:
    world.authorizer.things = Things({"lamp-1": ThingFacts("lamp-1", "lamp", {"room": "kitchen"})})
    await world.role("R", IAM_ALL_IOT)
    thing_policy = doc(
        allow("iot:Connect", f"{IOT}:client/${{iot:Connection.Thing.ThingName}}"),
        allow("iot:Publish", f"{IOT}:topic/${{iot:Connection.Thing.Attributes[room]}}/*"),
    )
    await world.iot_policy("Things", thing_policy, ME)
    now = datetime.now(UTC)
    lamp = await world.authorizer.for_connection(
        world.cognito("R"), ConnectionFacts("lamp-1", "10.0.0.1", True), now=now
    )
    assert lamp.allows("iot:Connect", world.authorizer.client_arn("lamp-1"))
    assert lamp.allows("iot:Publish", world.authorizer.topic_arn("kitchen/light"))
    stranger = await world.authorizer.for_connection(
        world.cognito("R"), ConnectionFacts("lamp-2", "10.0.0.1", True), now=now
    )
    assert not stranger.allows("iot:Connect", world.authorizer.client_arn("lamp-2"))
    lamp.close()
    stranger.close()


# ---- TestAuthorization from the same sets ------------------------------------------------------------------


async def test_test_authorization_reports_the_deciding_policies(world: World) -> None:
    await world.iot_policy("Own", IOT_OWN, ME)
    await world.iot_policy("NoSecrets", doc(deny("iot:Publish", f"{IOT}:topic/{SUB}/secret")), ME)
    service = IotAuthorizationService(world.authorizer, world.iot)
    results = await service.test_authorization(
        ME,
        [
            ("CONNECT", [f"{IOT}:client/{ME}"]),
            ("PUBLISH", [f"{IOT}:topic/{ME}/secret"]),
            ("SUBSCRIBE", [f"{IOT}:topicfilter/{OTHER}/x"]),
            ("PUBLISH", [f"{IOT}:topic/{ME}/a", f"{IOT}:topic/{ME}/secret"]),
        ],
        client_id=None,
        pool_id=POOL,
        now=datetime.now(UTC),
    )
    own = PolicyRef("Own", f"{IOT}:policy/Own", "iot")
    no_secrets = PolicyRef("NoSecrets", f"{IOT}:policy/NoSecrets", "iot")
    connect, secret, other, mixed = results
    assert (connect.outcome, connect.allowed, connect.implicit_deny) == (ALLOWED, (own,), ())
    assert (secret.outcome, secret.explicit_deny, secret.allowed) == (EXPLICIT, (no_secrets,), ())
    assert other.outcome is IMPLICIT and set(other.implicit_deny) == {own, no_secrets}
    assert mixed.outcome is EXPLICIT  # every resource of an authInfo must be allowed


async def test_test_authorization_lists_missing_context_values(world: World) -> None:
    await world.iot_policy("ByClient", doc(allow("iot:Connect", f"{IOT}:client/${{iot:ClientId}}")), ME)
    service = IotAuthorizationService(world.authorizer, world.iot)
    now = datetime.now(UTC)
    (without,) = await service.test_authorization(
        ME, [("CONNECT", [f"{IOT}:client/c1"])], client_id=None, pool_id=None, now=now
    )
    assert without.outcome is IMPLICIT and without.missing_context_values == ("iot:ClientId",)
    (with_id,) = await service.test_authorization(
        ME, [("CONNECT", [f"{IOT}:client/c1"])], client_id="c1", pool_id=None, now=now
    )
    assert with_id.outcome is ALLOWED and with_id.missing_context_values == ()


async def test_policy_names_to_add_and_skip(world: World) -> None:
    await world.iot_policy("Attached", doc(allow("iot:Publish", "*")), ME)
    await world.iot.create_policy("Extra", doc(deny("iot:Publish", f"{IOT}:topic/x")))
    service = IotAuthorizationService(world.authorizer, world.iot)
    infos = [("PUBLISH", [f"{IOT}:topic/x"])]
    now = datetime.now(UTC)
    (added,) = await service.test_authorization(
        ME, infos, client_id=None, pool_id=None, add=["Extra"], now=now
    )
    assert added.outcome is EXPLICIT
    (skipped,) = await service.test_authorization(
        ME, infos, client_id=None, pool_id=None, skip=["Attached"], now=now
    )
    assert skipped.outcome is IMPLICIT and skipped.implicit_deny == ()
    # The simulation changed nothing that is attached.
    assert [p.name for p in (await world.iot.list_attached(ME, None, 10)).items] == ["Attached"]


async def test_with_a_known_session_the_answer_is_the_full_two_policy_decision(world: World) -> None:
    await world.role("R", doc(allow("iot:Connect", "*")))
    await world.iot_policy("All", doc(allow("iot:*", "*")), ME)

    class Sessions:
        async def principal_for(self, identity_id: str, pool_id: str | None) -> Principal | None:
            return world.cognito("R", identity_id)

    service = IotAuthorizationService(world.authorizer, world.iot, principals=Sessions())
    connect, publish = await service.test_authorization(
        ME,
        [("CONNECT", [f"{IOT}:client/c"]), ("PUBLISH", [f"{IOT}:topic/t"])],
        client_id="c",
        pool_id=POOL,
        now=datetime.now(UTC),
    )
    assert connect.outcome is ALLOWED
    assert set(connect.allowed) == {
        PolicyRef("p0", None, "iam"),
        PolicyRef("All", f"{IOT}:policy/All", "iot"),
    }
    # The IoT policy allows Publish; the role does not: the broker would refuse, so does the simulation.
    assert publish.outcome is IMPLICIT and publish.implicit_deny == (PolicyRef("p0", None, "iam"),)
