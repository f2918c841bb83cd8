"""IAM and STS through real boto3 clients against a started server."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest
from botocore.exceptions import ClientError

from bastion.testing.server import ServerThread

from .conftest import ACCOUNT, ClientFactory, shift_client_clock

TRUST_ACCOUNT = json.dumps(
    {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"},
                "Action": "sts:AssumeRole",
            }
        ],
    }
)


def _policy(*statements: dict[str, Any]) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def _error(exc: pytest.ExceptionInfo[ClientError]) -> tuple[str, int]:
    response = exc.value.response
    return response["Error"]["Code"], response["ResponseMetadata"]["HTTPStatusCode"]


def test_admin_is_account_root(admin: Any) -> None:
    identity = admin("sts").get_caller_identity()
    assert identity["Account"] == ACCOUNT
    assert identity["Arn"] == f"arn:aws:iam::{ACCOUNT}:root"


def test_role_lifecycle_and_url_encoded_documents(admin: Any, unique: str) -> None:
    iam = admin("iam")
    name = f"role-{unique}"
    created = iam.create_role(RoleName=name, AssumeRolePolicyDocument=TRUST_ACCOUNT, Description="d")["Role"]
    assert created["Arn"] == f"arn:aws:iam::{ACCOUNT}:role/{name}"
    assert created["RoleId"].startswith("AROA")
    # botocore url-decodes and JSON-parses policy documents: equality proves the wire form.
    assert created["AssumeRolePolicyDocument"] == json.loads(TRUST_ACCOUNT)
    with pytest.raises(ClientError) as exc:
        iam.create_role(RoleName=name, AssumeRolePolicyDocument=TRUST_ACCOUNT)
    assert _error(exc) == ("EntityAlreadyExists", 409)

    document = _policy({"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"})
    iam.put_role_policy(RoleName=name, PolicyName="p1", PolicyDocument=document)
    got = iam.get_role_policy(RoleName=name, PolicyName="p1")
    assert got["PolicyDocument"] == json.loads(document)
    assert iam.list_role_policies(RoleName=name)["PolicyNames"] == ["p1"]

    with pytest.raises(ClientError) as exc:
        iam.delete_role(RoleName=name)
    assert _error(exc) == ("DeleteConflict", 409)
    iam.delete_role_policy(RoleName=name, PolicyName="p1")
    iam.delete_role(RoleName=name)
    with pytest.raises(ClientError) as exc:
        iam.get_role(RoleName=name)
    assert _error(exc) == ("NoSuchEntity", 404)
    assert exc.value.response["Error"]["Message"] == f"The role with name {name} cannot be found."


def test_malformed_policy_document_is_refused(admin: Any, unique: str) -> None:
    iam = admin("iam")
    iam.create_role(RoleName=f"m-{unique}", AssumeRolePolicyDocument=TRUST_ACCOUNT)
    for bad in ("{not json", json.dumps({"Statement": [{"Action": "s3:*", "Resource": "*"}]})):
        with pytest.raises(ClientError) as exc:
            iam.put_role_policy(RoleName=f"m-{unique}", PolicyName="bad", PolicyDocument=bad)
        assert _error(exc) == ("MalformedPolicyDocument", 400)


def test_managed_policy_versions(admin: Any, unique: str) -> None:
    iam = admin("iam")
    doc = _policy({"Effect": "Allow", "Action": "iam:GetRole", "Resource": "*"})
    policy = iam.create_policy(PolicyName=f"mp-{unique}", PolicyDocument=doc)["Policy"]
    arn = policy["Arn"]
    assert arn == f"arn:aws:iam::{ACCOUNT}:policy/mp-{unique}"
    assert policy["DefaultVersionId"] == "v1"
    for _ in range(4):
        iam.create_policy_version(PolicyArn=arn, PolicyDocument=doc, SetAsDefault=True)
    with pytest.raises(ClientError) as exc:
        iam.create_policy_version(PolicyArn=arn, PolicyDocument=doc)
    assert _error(exc) == ("LimitExceeded", 409)
    versions = iam.list_policy_versions(PolicyArn=arn)["Versions"]
    assert [v["VersionId"] for v in versions if v["IsDefaultVersion"]] == ["v5"]
    assert iam.get_policy_version(PolicyArn=arn, VersionId="v2")["PolicyVersion"]["Document"] == json.loads(
        doc
    )
    with pytest.raises(ClientError) as exc:
        iam.delete_policy_version(PolicyArn=arn, VersionId="v5")
    assert _error(exc) == ("DeleteConflict", 409)


def test_user_keys_can_do_exactly_what_policies_allow(
    admin: Any, client_for: ClientFactory, unique: str
) -> None:
    iam = admin("iam")
    user = f"user-{unique}"
    iam.create_user(UserName=user)
    iam.put_user_policy(
        UserName=user,
        PolicyName="read-roles",
        PolicyDocument=_policy(
            {"Effect": "Allow", "Action": ["iam:GetRole", "iam:ListRoles"], "Resource": "*"},
            {"Effect": "Deny", "Action": "iam:GetRole", "Resource": f"arn:aws:iam::{ACCOUNT}:role/secret-*"},
        ),
    )
    key = iam.create_access_key(UserName=user)["AccessKey"]
    assert key["AccessKeyId"].startswith("AKIA")
    as_user = client_for("iam", key["AccessKeyId"], key["SecretAccessKey"])

    iam.create_role(RoleName=f"open-{unique}", AssumeRolePolicyDocument=TRUST_ACCOUNT)
    iam.create_role(RoleName=f"secret-{unique}", AssumeRolePolicyDocument=TRUST_ACCOUNT)
    assert as_user.get_role(RoleName=f"open-{unique}")["Role"]["RoleName"] == f"open-{unique}"
    as_user.list_roles()

    with pytest.raises(ClientError) as exc:  # explicit deny wins over the allow
        as_user.get_role(RoleName=f"secret-{unique}")
    assert _error(exc) == ("AccessDenied", 403)
    assert exc.value.response["Error"]["Message"] == (
        f"User: arn:aws:iam::{ACCOUNT}:user/{user} is not authorized to perform: iam:GetRole on resource: "
        f"arn:aws:iam::{ACCOUNT}:role/secret-{unique} with an explicit deny"
    )
    with pytest.raises(ClientError) as exc:  # implicit deny: nothing allows CreateRole
        as_user.create_role(RoleName=f"x-{unique}", AssumeRolePolicyDocument=TRUST_ACCOUNT)
    assert _error(exc) == ("AccessDenied", 403)

    identity = client_for("sts", key["AccessKeyId"], key["SecretAccessKey"]).get_caller_identity()
    assert identity["Arn"] == f"arn:aws:iam::{ACCOUNT}:user/{user}"

    # A policy change applies to the next request.
    iam.delete_user_policy(UserName=user, PolicyName="read-roles")
    with pytest.raises(ClientError) as exc:
        as_user.get_role(RoleName=f"open-{unique}")
    assert _error(exc) == ("AccessDenied", 403)

    # Deactivated keys stop working, reactivated ones work again, deleted ones stop: each at once.
    iam.update_access_key(UserName=user, AccessKeyId=key["AccessKeyId"], Status="Inactive")
    with pytest.raises(ClientError) as exc:
        as_user.list_roles()
    assert _error(exc) == ("InvalidClientTokenId", 403)
    iam.update_access_key(UserName=user, AccessKeyId=key["AccessKeyId"], Status="Active")
    again = client_for("sts", key["AccessKeyId"], key["SecretAccessKey"]).get_caller_identity()
    assert again["Arn"] == identity["Arn"]
    iam.delete_access_key(UserName=user, AccessKeyId=key["AccessKeyId"])
    with pytest.raises(ClientError) as exc:
        as_user.list_roles()
    assert _error(exc) == ("InvalidClientTokenId", 403)


def test_assume_role_carries_role_rights_and_expires(
    server: ServerThread, admin: Any, client_for: ClientFactory, unique: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    iam = admin("iam")
    role = f"worker-{unique}"
    iam.create_role(RoleName=role, AssumeRolePolicyDocument=TRUST_ACCOUNT)
    iam.put_role_policy(
        RoleName=role,
        PolicyName="list",
        PolicyDocument=_policy({"Effect": "Allow", "Action": "iam:ListRoles", "Resource": "*"}),
    )
    creds = admin("sts").assume_role(RoleArn=f"arn:aws:iam::{ACCOUNT}:role/{role}", RoleSessionName="s1")
    c = creds["Credentials"]
    assert c["AccessKeyId"].startswith("ASIA")
    assert creds["AssumedRoleUser"]["Arn"] == f"arn:aws:sts::{ACCOUNT}:assumed-role/{role}/s1"
    session_iam = client_for("iam", c["AccessKeyId"], c["SecretAccessKey"], c["SessionToken"])
    session_iam.list_roles()
    with pytest.raises(ClientError) as exc:
        session_iam.create_user(UserName=f"nope-{unique}")
    assert _error(exc) == ("AccessDenied", 403)
    who = client_for("sts", c["AccessKeyId"], c["SecretAccessKey"], c["SessionToken"]).get_caller_identity()
    assert who["Arn"] == f"arn:aws:sts::{ACCOUNT}:assumed-role/{role}/s1"
    assert who["UserId"].endswith(":s1")

    # Move both clocks (server and client) past the one-hour expiry: the token is refused as expired.
    server.clock.advance(timedelta(hours=1, minutes=1))
    shift_client_clock(monkeypatch, timedelta(hours=1, minutes=1))
    try:
        with pytest.raises(ClientError) as exc:
            session_iam.list_roles()
        assert _error(exc) == ("ExpiredToken", 400)
    finally:
        server.clock.advance(-timedelta(hours=1, minutes=1))


def test_assume_role_refused_when_trust_policy_does_not_trust(
    admin: Any, client_for: ClientFactory, unique: str
) -> None:
    iam = admin("iam")
    role = f"closed-{unique}"
    iam.create_role(
        RoleName=role,
        AssumeRolePolicyDocument=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Effect": "Allow",
                        "Principal": {"Service": "lambda.amazonaws.com"},
                        "Action": "sts:AssumeRole",
                    }
                ],
            }
        ),
    )
    user = f"u-{unique}"
    iam.create_user(UserName=user)
    iam.put_user_policy(
        UserName=user,
        PolicyName="assume",
        PolicyDocument=_policy({"Effect": "Allow", "Action": "sts:AssumeRole", "Resource": "*"}),
    )
    key = iam.create_access_key(UserName=user)["AccessKey"]
    sts = client_for("sts", key["AccessKeyId"], key["SecretAccessKey"])
    with pytest.raises(ClientError) as exc:
        sts.assume_role(RoleArn=f"arn:aws:iam::{ACCOUNT}:role/{role}", RoleSessionName="xx")
    assert _error(exc) == ("AccessDenied", 403)


def _trust(principal: str) -> str:
    return _policy({"Effect": "Allow", "Principal": {"AWS": principal}, "Action": "sts:AssumeRole"})


def _user_sts(iam: Any, client_for: ClientFactory, name: str, *statements: dict[str, Any]) -> Any:
    iam.create_user(UserName=name)
    if statements:
        iam.put_user_policy(UserName=name, PolicyName="own", PolicyDocument=_policy(*statements))
    key = iam.create_access_key(UserName=name)["AccessKey"]
    return client_for("sts", key["AccessKeyId"], key["SecretAccessKey"])


def test_trust_naming_the_user_grants_without_an_identity_policy(
    admin: Any, client_for: ClientFactory, unique: str
) -> None:
    """Same account: a trust policy naming the user's ARN is enough; one naming only the account
    delegates to the user's own policies, which then must allow; an explicit deny there always wins."""
    iam = admin("iam")
    user = f"named-{unique}"
    user_arn = f"arn:aws:iam::{ACCOUNT}:user/{user}"
    sts = _user_sts(iam, client_for, user)
    named, by_account = f"named-{unique}", f"acct-{unique}"
    iam.create_role(RoleName=named, AssumeRolePolicyDocument=_trust(user_arn))
    iam.create_role(RoleName=by_account, AssumeRolePolicyDocument=TRUST_ACCOUNT)

    creds = sts.assume_role(RoleArn=f"arn:aws:iam::{ACCOUNT}:role/{named}", RoleSessionName="s1")
    assert creds["AssumedRoleUser"]["Arn"] == f"arn:aws:sts::{ACCOUNT}:assumed-role/{named}/s1"
    with pytest.raises(ClientError) as exc:
        sts.assume_role(RoleArn=f"arn:aws:iam::{ACCOUNT}:role/{by_account}", RoleSessionName="s1")
    assert _error(exc) == ("AccessDenied", 403)

    iam.put_user_policy(
        UserName=user,
        PolicyName="no-roles",
        PolicyDocument=_policy({"Effect": "Deny", "Action": "sts:AssumeRole", "Resource": "*"}),
    )
    with pytest.raises(ClientError) as exc:
        sts.assume_role(RoleArn=f"arn:aws:iam::{ACCOUNT}:role/{named}", RoleSessionName="s1")
    assert _error(exc) == ("AccessDenied", 403)
    assert "explicit deny" in exc.value.response["Error"]["Message"]


def test_trust_naming_another_user_does_not_grant(admin: Any, client_for: ClientFactory, unique: str) -> None:
    iam = admin("iam")
    role = f"other-{unique}"
    iam.create_role(
        RoleName=role, AssumeRolePolicyDocument=_trust(f"arn:aws:iam::{ACCOUNT}:user/someone-{unique}")
    )
    sts = _user_sts(
        iam, client_for, f"x-{unique}", {"Effect": "Allow", "Action": "sts:AssumeRole", "Resource": "*"}
    )
    with pytest.raises(ClientError) as exc:
        sts.assume_role(RoleArn=f"arn:aws:iam::{ACCOUNT}:role/{role}", RoleSessionName="s1")
    assert _error(exc) == ("AccessDenied", 403)


def test_aws_managed_policies_attach_by_arn_and_cannot_change(
    admin: Any, client_for: ClientFactory, unique: str
) -> None:
    iam = admin("iam")
    arn = "arn:aws:iam::aws:policy/AWSIoTDataAccess"
    aws_policies = {p["Arn"] for p in iam.list_policies(Scope="AWS")["Policies"]}
    assert arn in aws_policies
    assert not any(
        p["Arn"].startswith("arn:aws:iam::aws:") for p in iam.list_policies(Scope="Local")["Policies"]
    )
    iam.create_user(UserName=f"m-{unique}")
    iam.attach_user_policy(UserName=f"m-{unique}", PolicyArn="arn:aws:iam::aws:policy/AdministratorAccess")
    key = iam.create_access_key(UserName=f"m-{unique}")["AccessKey"]
    as_user = client_for("iam", key["AccessKeyId"], key["SecretAccessKey"])
    as_user.create_role(RoleName=f"made-by-admin-{unique}", AssumeRolePolicyDocument=TRUST_ACCOUNT)
    with pytest.raises(ClientError) as exc:
        iam.delete_policy(PolicyArn=arn)
    assert _error(exc) == ("UnmodifiableEntity", 400)


def test_trust_naming_a_role_grants_its_sessions(admin: Any, client_for: ClientFactory, unique: str) -> None:
    """Role chaining in one account: the second role's trust names the first role; the first role's
    sessions need no sts:AssumeRole permission of their own."""
    iam = admin("iam")
    first, second = f"first-{unique}", f"second-{unique}"
    iam.create_role(RoleName=first, AssumeRolePolicyDocument=TRUST_ACCOUNT)
    iam.create_role(RoleName=second, AssumeRolePolicyDocument=_trust(f"arn:aws:iam::{ACCOUNT}:role/{first}"))
    session = admin("sts").assume_role(RoleArn=f"arn:aws:iam::{ACCOUNT}:role/{first}", RoleSessionName="s1")
    creds = session["Credentials"]
    sts = client_for("sts", creds["AccessKeyId"], creds["SecretAccessKey"], creds["SessionToken"])
    chained = sts.assume_role(RoleArn=f"arn:aws:iam::{ACCOUNT}:role/{second}", RoleSessionName="s2")
    assert chained["AssumedRoleUser"]["Arn"] == f"arn:aws:sts::{ACCOUNT}:assumed-role/{second}/s2"
