"""The two-policy rule over real HTTP: Cognito-shaped credentials signing boto3 calls, AttachPolicy as the
AWS samples call it, TestAuthorization and open connection views following every change at once."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest
from botocore.exceptions import ClientError

from bastion.services.authorizer import ConnectionView
from bastion.services.connection_authz import ConnectionFacts
from bastion.services.identity import Principal, TemporaryCredentials, WebIdentity
from bastion.testing.server import ServerThread

from .conftest import ACCOUNT, REGION, ClientFactory

IOT = f"arn:aws:iot:{REGION}:{ACCOUNT}"
POOL = f"{REGION}:0c0c0c0c-1111-4222-8333-444444444444"
SUB = "${cognito-identity.amazonaws.com:sub}"
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


def document(*statements: dict[str, Any]) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def allow(action: str | list[str], resource: str | list[str] = "*") -> dict[str, Any]:
    return {"Effect": "Allow", "Action": action, "Resource": resource}


def deny(action: str | list[str], resource: str | list[str] = "*") -> dict[str, Any]:
    return {"Effect": "Deny", "Action": action, "Resource": resource}


OWN = document(
    allow("iot:Connect", f"{IOT}:client/{SUB}"),
    allow(["iot:Publish", "iot:Receive"], f"{IOT}:topic/{SUB}/*"),
    allow("iot:Subscribe", f"{IOT}:topicfilter/{SUB}/*"),
)


def identity(unique: str, n: int = 0) -> str:
    return f"{REGION}:{unique[:8]}-aaaa-4bbb-8ccc-{n:012d}"


def error(exc: pytest.ExceptionInfo[ClientError]) -> tuple[str, int, str]:
    response = exc.value.response
    return (
        response["Error"]["Code"],
        response["ResponseMetadata"]["HTTPStatusCode"],
        response["Error"]["Message"],
    )


class Cognito:
    """Mints Cognito-shaped sessions in the server (identity pools are not needed for this)."""

    def __init__(self, server: ServerThread, admin: Callable[[str], Any], client_for: ClientFactory) -> None:
        self.server = server
        self.admin = admin
        self.client_for = client_for

    def role(self, name: str, policy: str) -> None:
        iam = self.admin("iam")
        iam.create_role(RoleName=name, AssumeRolePolicyDocument=TRUST)
        iam.put_role_policy(RoleName=name, PolicyName="iot", PolicyDocument=policy)

    def mint(
        self, role_name: str, identity_id: str, *, authenticated: bool = True
    ) -> tuple[Principal, TemporaryCredentials]:
        """A session of ``role_name`` as Cognito issues one to ``identity_id`` (enhanced flow)."""
        services = self.server.server.services
        assert services is not None
        if authenticated:
            amr: tuple[str, ...] = ("authenticated", f"cognito-idp.{REGION}.amazonaws.com/{REGION}_pool")
        else:
            amr = ("unauthenticated",)
        web = WebIdentity("cognito-identity.amazonaws.com", identity_id, POOL, amr, authenticated)

        async def mint() -> tuple[Principal, TemporaryCredentials]:
            role = await services.iam.get_role(role_name)
            session = services.sts.issue(role, "CognitoIdentityCredentials", 3600, web_identity=web)
            return session.principal, session.credentials

        minted: tuple[Principal, TemporaryCredentials] = self.server.call(mint())
        return minted

    def credentials(self, role_name: str, identity_id: str) -> TemporaryCredentials:
        return self.mint(role_name, identity_id)[1]

    def session(
        self, role_name: str, identity_id: str, *, authenticated: bool = True
    ) -> tuple[Principal, Any]:
        """The session's principal and a boto3 IoT client signed with its credentials."""
        principal, creds = self.mint(role_name, identity_id, authenticated=authenticated)
        client = self.client_for("iot", creds.access_key_id, creds.secret_access_key, creds.session_token)
        return principal, client

    def view(self, principal: Principal, client_id: str) -> ConnectionView:
        services = self.server.server.services
        assert services is not None
        facts = ConnectionFacts(client_id=client_id, source_ip="198.51.100.7", secure_transport=True)
        return self.server.call(services.authorizer.for_connection(principal, facts, now=datetime.now(UTC)))

    def allows(self, view: ConnectionView, action: str, resource: str) -> bool:
        async def ask() -> bool:  # on the server's loop, where the background reload runs
            return view.allows(action, resource)

        return bool(self.server.call(ask()))


@pytest.fixture(scope="module")
def cognito(server: ServerThread, admin: Callable[[str], Any], client_for: ClientFactory) -> Cognito:
    return Cognito(server, admin, client_for)


def within_a_second(check: Callable[[], bool]) -> float:
    """Seconds until ``check`` holds; fails if it does not within one second."""
    start = time.monotonic()
    while time.monotonic() - start < 1.0:
        if check():
            return time.monotonic() - start
        time.sleep(0.01)
    raise AssertionError("the change did not reach the decision within one second")


def test_the_sample_attach_flow(cognito: Cognito, admin: Callable[[str], Any], unique: str) -> None:
    role = f"auth-{unique}"
    cognito.role(role, document(allow(["iot:AttachPolicy", "iot:TestAuthorization", "iot:Connect"])))
    admin("iot").create_policy(policyName=f"sample-{unique}", policyDocument=OWN)
    me = identity(unique)
    _, iot = cognito.session(role, me)
    # Exactly what the sample's attachPolicy does, twice (every sign-in): both calls succeed.
    for _ in range(2):
        iot.attach_policy(policyName=f"sample-{unique}", target=me)
    assert admin("iot").list_targets_for_policy(policyName=f"sample-{unique}")["targets"] == [me]
    # No principal given: the caller's own identity.
    (result,) = iot.test_authorization(
        clientId=me, authInfos=[{"actionType": "CONNECT", "resources": [f"{IOT}:client/{me}"]}]
    )["authResults"]
    assert result["authDecision"] == "ALLOWED"


def test_the_iam_layer_refuses_with_the_aws_message(
    cognito: Cognito, admin: Callable[[str], Any], unique: str
) -> None:
    role = f"noattach-{unique}"
    cognito.role(role, document(allow("iot:Connect")))
    admin("iot").create_policy(policyName=f"np-{unique}", policyDocument=OWN)
    me = identity(unique, 1)
    _, iot = cognito.session(role, me)
    with pytest.raises(ClientError) as exc:
        iot.attach_policy(policyName=f"np-{unique}", target=me)
    assert error(exc) == (
        "AccessDeniedException",
        403,
        f"User: arn:aws:sts::{ACCOUNT}:assumed-role/{role}/CognitoIdentityCredentials is not authorized to "
        f"perform: iot:AttachPolicy on resource: {me}",
    )


def test_attach_is_authorized_on_the_target_not_on_the_policy(
    cognito: Cognito, admin: Callable[[str], Any], unique: str
) -> None:
    # AWS checks iot:AttachPolicy against the target (a certificate or thing-group ARN, or the Cognito
    # identity id as written), so a role naming only the policy's ARN cannot attach it to an identity.
    role = f"byarn-{unique}"
    name = f"byarn-{unique}"
    cognito.role(role, document(allow("iot:AttachPolicy", f"{IOT}:policy/{name}")))
    admin("iot").create_policy(policyName=name, policyDocument=OWN)
    me = identity(unique, 2)
    _, iot = cognito.session(role, me)
    with pytest.raises(ClientError) as exc:
        iot.attach_policy(policyName=name, target=me)
    code, status, message = error(exc)
    assert (code, status) == ("AccessDeniedException", 403) and message.endswith(f"on resource: {me}")


def test_detach_and_new_default_change_test_authorization_at_once(
    admin: Callable[[str], Any], unique: str
) -> None:
    iot = admin("iot")
    me = identity(unique, 4)
    name = f"live-{unique}"
    iot.create_policy(policyName=name, policyDocument=OWN)
    iot.attach_policy(policyName=name, target=me)
    infos = [{"actionType": "PUBLISH", "resources": [f"{IOT}:topic/{me}/t"]}]

    def decision() -> str:
        (result,) = iot.test_authorization(principal=me, authInfos=infos)["authResults"]
        return str(result["authDecision"])

    assert decision() == "ALLOWED"
    iot.detach_policy(policyName=name, target=me)
    assert decision() == "IMPLICIT_DENY"
    iot.attach_policy(policyName=name, target=me)
    assert decision() == "ALLOWED"
    iot.create_policy_version(
        policyName=name, policyDocument=document(deny("iot:Publish"), allow("iot:*")), setAsDefault=True
    )
    assert decision() == "EXPLICIT_DENY"
    iot.set_default_policy_version(policyName=name, policyVersionId="1")
    assert decision() == "ALLOWED"


def test_open_connections_follow_changes_within_a_second(
    cognito: Cognito, admin: Callable[[str], Any], unique: str
) -> None:
    role = f"mqtt-{unique}"
    cognito.role(role, document(allow("iot:*")))
    me = identity(unique, 5)
    principal, _ = cognito.session(role, me)
    iot = admin("iot")
    iot.create_policy(policyName=f"conn-{unique}", policyDocument=OWN)
    view = cognito.view(principal, client_id=me)
    connect, publish = f"{IOT}:client/{me}", f"{IOT}:topic/{me}/x"
    try:
        assert not cognito.allows(view, "iot:Connect", connect)  # authenticated, nothing attached
        iot.attach_policy(policyName=f"conn-{unique}", target=me)
        within_a_second(lambda: cognito.allows(view, "iot:Connect", connect))
        assert cognito.allows(view, "iot:Publish", publish)
        assert not cognito.allows(view, "iot:Publish", f"{IOT}:topic/someone-else/x")
        iot.create_policy_version(
            policyName=f"conn-{unique}", policyDocument=document(allow("iot:Connect")), setAsDefault=True
        )
        within_a_second(lambda: not cognito.allows(view, "iot:Publish", publish))
        iot.detach_policy(policyName=f"conn-{unique}", target=me)
        within_a_second(lambda: not cognito.allows(view, "iot:Connect", connect))
    finally:
        view.close()


def test_guests_are_governed_by_their_role_alone(
    cognito: Cognito, admin: Callable[[str], Any], unique: str
) -> None:
    role = f"guest-{unique}"
    cognito.role(role, document(allow("iot:Connect", f"{IOT}:client/{SUB}")))
    guest = identity(unique, 6)
    iot = admin("iot")
    iot.create_policy(policyName=f"ignored-{unique}", policyDocument=document(deny("iot:*"), allow("iot:*")))
    iot.attach_policy(policyName=f"ignored-{unique}", target=guest)  # accepted, never evaluated
    principal, _ = cognito.session(role, guest, authenticated=False)
    view = cognito.view(principal, client_id=guest)
    try:
        assert cognito.allows(view, "iot:Connect", f"{IOT}:client/{guest}")
        assert not cognito.allows(view, "iot:Connect", f"{IOT}:client/other")
        assert not cognito.allows(view, "iot:Publish", f"{IOT}:topic/{guest}")
    finally:
        view.close()
