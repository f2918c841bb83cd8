"""The whole AWS IoT + Cognito story against Bastion, with the AWS clients an app uses (boto3, paho-mqtt).

Only the endpoint is Bastion's: against AWS the same calls go to each service's endpoint, and MQTT to the
account's iot:Data-ATS endpoint (wss://…/mqtt). The SRP arithmetic of the sign-in comes from Bastion's
client module; pycognito's AWSSRP or Amplify compute the same numbers in an app.

1. The operator (admin keys) creates a user pool and app client, an identity pool with guest access, the
   two roles the identity pool hands out, and an AWS IoT policy scoped to each user's identity id.
2. A user signs up, is confirmed by the operator and signs in with SRP.
3. The user trades the ID token for an identity id and temporary AWS credentials.
4. MQTT over WebSocket is refused: a signed-in identity needs its role *and* an IoT policy.
5. The user attaches the IoT policy to their own identity (as AWS's sample app does).
6. Now MQTT works on the user's own topics, and another identity's topic is refused.
7. A guest identity gets what the guest role allows and nothing else, with no IoT policy at all.

Run it against a running server (``scripts/serve``) with ``scripts/example``, or
``python examples/seed_flow.py --help``. Exit status 0 when every step behaved as expected.
"""

from __future__ import annotations

import argparse
import configparser
import json
import os
import secrets
import socket
import sys
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import boto3
from botocore import UNSIGNED
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError
from mqtt_websocket import Connection, Message, MqttError, presigned_mqtt_url

# The SRP-6a arithmetic of Cognito's USER_SRP_AUTH: math only, the calls below are boto3's.
from bastion.auth import srp_client

DEFAULT_ENDPOINT = "http://127.0.0.1:4580"  # `bastion serve` on its default API port
DEFAULT_DATA_DIR = "./bastion-data"  # where `bastion serve` writes admin-credentials by default
# The per-user pattern of AWS's docs: a policy variable that is the caller's own identity id.
SUB = "${cognito-identity.amazonaws.com:sub}"
NOT_AUTHORIZED = 0x87


class NotAsExpected(Exception):
    """A step did not behave as the story says it should."""


class UsageError(Exception):
    """The example cannot start: no endpoint or no admin credentials."""


@dataclass(frozen=True, slots=True)
class Keys:
    access_key_id: str
    secret: str = field(repr=False)
    token: str | None = field(default=None, repr=False)


@dataclass
class Aws:
    """boto3 clients for one endpoint: signed with some keys, or unsigned for Cognito's public calls."""

    endpoint: str
    region: str
    # For an https endpoint: the CA to verify Bastion with (None: the system's trust store).
    ca_file: str | None = None

    def client(self, service: str, keys: Keys | None = None) -> Any:
        if keys is None:
            session = boto3.session.Session(region_name=self.region)
            return session.client(
                service,
                endpoint_url=self.endpoint,
                config=Config(signature_version=UNSIGNED),
                verify=self.ca_file,
            )
        session = boto3.session.Session(
            aws_access_key_id=keys.access_key_id,
            aws_secret_access_key=keys.secret,
            aws_session_token=keys.token,
            region_name=self.region,
        )
        return session.client(service, endpoint_url=self.endpoint, verify=self.ca_file)


@dataclass
class Setup:
    """What the operator made in step 1."""

    user_pool_id: str
    app_client_id: str
    provider: str  # the identity pool's name for the user pool: the ID token's issuer without https://
    identity_pool_id: str
    iot_policy: str


def say(step: str, who: str, text: str) -> None:
    print(f"{step}. {who:<9} {text}", flush=True)


def expect(condition: bool, failure: str) -> None:
    if not condition:
        raise NotAsExpected(failure)


def policy(*statements: dict[str, Any]) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def allow(actions: str | list[str], resources: str | list[str]) -> dict[str, Any]:
    return {"Effect": "Allow", "Action": actions, "Resource": resources}


def trust_policy(identity_pool_id: str, amr: str) -> str:
    """The trust policy the Cognito console writes: only this identity pool, only this kind of identity."""
    return policy(
        {
            "Effect": "Allow",
            "Principal": {"Federated": "cognito-identity.amazonaws.com"},
            "Action": "sts:AssumeRoleWithWebIdentity",
            "Condition": {
                "StringEquals": {"cognito-identity.amazonaws.com:aud": identity_pool_id},
                "ForAnyValue:StringLike": {"cognito-identity.amazonaws.com:amr": amr},
            },
        }
    )


# Step 1 ------------------------------------------------------------------------------------------------


def operator_setup(aws: Aws, admin: Keys, run: str) -> Setup:
    iam, idp = aws.client("iam", admin), aws.client("cognito-idp", admin)
    identity, iot = aws.client("cognito-identity", admin), aws.client("iot", admin)
    account = aws.client("sts", admin).get_caller_identity()["Account"]
    arn = f"arn:aws:iot:{aws.region}:{account}"

    # Codes (sign-up confirmation) go by e-mail; without an SMTP server Bastion keeps them in its outbox.
    pool = idp.create_user_pool(PoolName=f"seed-{run}", AutoVerifiedAttributes=["email"])["UserPool"]
    app = idp.create_user_pool_client(
        UserPoolId=pool["Id"],
        ClientName="app",
        ExplicitAuthFlows=["ALLOW_USER_SRP_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"],
    )["UserPoolClient"]
    say("1", "operator", f"user pool {pool['Id']}, app client {app['ClientId']} (USER_SRP_AUTH allowed)")

    provider = f"cognito-idp.{pool['Id'].split('_')[0]}.amazonaws.com/{pool['Id']}"
    identity_pool_id = identity.create_identity_pool(
        IdentityPoolName=f"seed_{run}",
        AllowUnauthenticatedIdentities=True,
        CognitoIdentityProviders=[{"ProviderName": provider, "ClientId": app["ClientId"]}],
    )["IdentityPoolId"]
    say("1", "operator", f"identity pool {identity_pool_id} (guest access on), linked to the user pool")

    # Signed-in users: the role allows the MQTT actions everywhere, as AWS's sample app does; the IoT
    # policy below narrows them to the user's own topics. iot:AttachPolicy lets the app attach that policy
    # from the device; production apps usually do it from a backend instead (any signed-in user could
    # attach any policy of the account to any identity with this grant).
    signed_in = iam.create_role(
        RoleName=f"seed-{run}-signed-in",
        AssumeRolePolicyDocument=trust_policy(identity_pool_id, "authenticated"),
    )["Role"]
    iam.put_role_policy(
        RoleName=signed_in["RoleName"],
        PolicyName="iot",
        PolicyDocument=policy(
            allow(["iot:Connect", "iot:Publish", "iot:Subscribe", "iot:Receive"], "*"),
            allow("iot:AttachPolicy", "*"),
        ),
    )
    # Guests: connect under their own identity id, read public/* — no IoT policy is consulted for them.
    guest = iam.create_role(
        RoleName=f"seed-{run}-guest",
        AssumeRolePolicyDocument=trust_policy(identity_pool_id, "unauthenticated"),
    )["Role"]
    iam.put_role_policy(
        RoleName=guest["RoleName"],
        PolicyName="iot",
        PolicyDocument=policy(
            allow("iot:Connect", f"{arn}:client/{SUB}"),
            allow("iot:Subscribe", f"{arn}:topicfilter/public/*"),
            allow("iot:Receive", f"{arn}:topic/public/*"),
        ),
    )
    identity.set_identity_pool_roles(
        IdentityPoolId=identity_pool_id,
        Roles={"authenticated": signed_in["Arn"], "unauthenticated": guest["Arn"]},
    )
    say("1", "operator", f"roles {signed_in['RoleName']} and {guest['RoleName']}, set on the identity pool")

    # Each user: their identity id as client id, users/<identity id>/* to themselves, may post to public/*.
    iot_policy = f"seed-{run}-per-user"
    iot.create_policy(
        policyName=iot_policy,
        policyDocument=policy(
            allow("iot:Connect", f"{arn}:client/{SUB}"),
            allow("iot:Subscribe", f"{arn}:topicfilter/users/{SUB}/*"),
            allow("iot:Receive", f"{arn}:topic/users/{SUB}/*"),
            allow("iot:Publish", [f"{arn}:topic/users/{SUB}/*", f"{arn}:topic/public/*"]),
        ),
    )
    say("1", "operator", f"IoT policy {iot_policy}: topics users/{SUB}/*, publish to public/*")
    return Setup(pool["Id"], app["ClientId"], provider, identity_pool_id, iot_policy)


# Step 2 ------------------------------------------------------------------------------------------------


def sign_up_and_in(aws: Aws, admin: Keys, setup: Setup, run: str) -> str:
    """A new user, confirmed and signed in with SRP; their ID token."""
    public = aws.client("cognito-idp")  # SignUp and sign-in are unsigned calls, as from an app
    username, email = f"user-{run}", f"user-{run}@example.com"
    password = "Pw1!" + secrets.token_urlsafe(12)  # meets the default password policy
    signed_up = public.sign_up(
        ClientId=setup.app_client_id,
        Username=username,
        Password=password,
        UserAttributes=[{"Name": "email", "Value": email}],
    )
    expect(not signed_up["UserConfirmed"], "SignUp confirmed the user at once")
    # Without an SMTP server (BASTION_SMTP_HOST) the code waits in Bastion's outbox: `bastion codes`.
    medium = signed_up.get("CodeDeliveryDetails", {}).get("DeliveryMedium", "no")
    say("2", "user", f"signed up {username}: {medium} code sent (to the outbox: `bastion codes` shows it)")
    aws.client("cognito-idp", admin).admin_confirm_sign_up(UserPoolId=setup.user_pool_id, Username=username)
    say("2", "operator", f"confirmed {username} with AdminConfirmSignUp instead of reading the code")

    # USER_SRP_AUTH: the password never leaves the app; the server checks a proof computed from it.
    ephemeral = srp_client.new_ephemeral()
    challenge = public.initiate_auth(
        ClientId=setup.app_client_id,
        AuthFlow="USER_SRP_AUTH",
        AuthParameters={"USERNAME": username, "SRP_A": ephemeral.srp_a_hex},
    )
    expect(challenge.get("ChallengeName") == "PASSWORD_VERIFIER", f"InitiateAuth answered {challenge}")
    responses = srp_client.password_verifier_responses(
        ephemeral,
        pool_name=setup.user_pool_id.split("_", 1)[1],
        password=password,
        challenge_parameters=challenge["ChallengeParameters"],
        now=datetime.now(UTC),
    )
    result = public.respond_to_auth_challenge(
        ClientId=setup.app_client_id, ChallengeName="PASSWORD_VERIFIER", ChallengeResponses=responses
    )
    expect("AuthenticationResult" in result, f"RespondToAuthChallenge answered {result}")
    say("2", "user", "signed in with USER_SRP_AUTH: ID, access and refresh tokens")
    return str(result["AuthenticationResult"]["IdToken"])


# Step 3 ------------------------------------------------------------------------------------------------


def credentials_for(aws: Aws, pool_id: str, logins: dict[str, str] | None) -> tuple[str, Keys]:
    """GetId + GetCredentialsForIdentity (the enhanced flow): an identity id and its temporary keys."""
    identity = aws.client("cognito-identity")  # unsigned, as from an app
    extra = {"Logins": logins} if logins else {}
    identity_id = identity.get_id(IdentityPoolId=pool_id, **extra)["IdentityId"]
    creds = identity.get_credentials_for_identity(IdentityId=identity_id, **extra)["Credentials"]
    return identity_id, Keys(creds["AccessKeyId"], creds["SecretKey"], creds["SessionToken"])


# Steps 4–7 ---------------------------------------------------------------------------------------------


def short(identity_id: str) -> str:
    """An identity id cut for display: ``us-east-1:d34201b9…``."""
    region, _, uuid_text = identity_id.partition(":")
    return f"{region}:{uuid_text[:8]}…"


def connect(aws: Aws, keys: Keys, client_id: str) -> tuple[Connection, int]:
    """MQTT over WebSocket with these credentials: the connection and its CONNACK reason code."""
    url = presigned_mqtt_url(aws.endpoint, aws.region, keys.access_key_id, keys.secret, keys.token)
    connection = Connection(client_id, ca_file=aws.ca_file)
    try:
        return connection, connection.connect(url)
    except BaseException:
        connection.close()
        raise


def connect_when_attached(aws: Aws, keys: Keys, client_id: str) -> tuple[Connection, int, int]:
    """Connect, retrying a refused CONNECT for a few seconds: on AWS a new attachment takes effect within
    moments rather than at once (Bastion applies it at once on the node that served AttachPolicy, and on
    other nodes within a quarter of a second), and device SDKs reconnect with backoff the same way.
    The connection, its CONNACK reason code and the number of attempts."""
    deadline, attempts = time.monotonic() + 3, 1
    connection, code = connect(aws, keys, client_id)
    while code == NOT_AUTHORIZED and time.monotonic() < deadline:
        connection.close()
        time.sleep(0.2)
        connection, code = connect(aws, keys, client_id)
        attempts += 1
    return connection, code, attempts


def received(connection: Connection, what: str) -> Message:
    message = connection.next_message()
    if message is None:
        raise NotAsExpected(f"{what}: nothing arrived")
    return message


def mqtt_before_attach(aws: Aws, user_id: str, user_keys: Keys) -> None:
    before, code = connect(aws, user_keys, user_id)
    before.close()
    # The role allows iot:Connect; the missing half is an AWS IoT policy on the identity.
    expect(code == NOT_AUTHORIZED, f"CONNECT before AttachPolicy answered 0x{code:02X}, expected 0x87")
    say("4", "user", "MQTT CONNECT before AttachPolicy: refused (not authorized), as expected")


def mqtt_after_attach(user: Connection, code: int, attempts: int, user_id: str, other_id: str) -> None:
    expect(code == 0, f"CONNECT after AttachPolicy answered 0x{code:02X}, expected success")
    after = f" (attempt {attempts}: the attachment took a moment to apply)" if attempts > 1 else ""
    say("6", "user", f"MQTT CONNECT accepted{after}")
    own = f"users/{user_id}"
    granted = user.subscribe(f"{own}/#")
    expect(granted == 1, f"SUBSCRIBE {own}/# answered 0x{granted:02X}, expected QoS 1 granted")
    say("6", "user", f"SUBSCRIBE users/{short(user_id)}/# granted")
    acked = user.publish(f"{own}/hello", b"hello from the seed flow")
    expect(acked == 0, f"PUBLISH {own}/hello answered 0x{acked:02X}")
    message = received(user, f"the message on {own}/hello")
    say(
        "6",
        "user",
        f"PUBLISH users/{short(user_id)}/hello accepted, received back: {message.payload.decode()!r}",
    )
    other = f"users/{other_id}/inbox"
    code = user.publish(other, b"not mine")
    expect(code == NOT_AUTHORIZED, f"PUBLISH to another identity's {other} answered 0x{code:02X}")
    say("6", "user", f"PUBLISH users/{short(other_id)}/inbox (another identity's): refused, as expected")


def guest_flow(aws: Aws, guest_id: str, guest_keys: Keys, user: Connection) -> None:
    say("7", "guest", f"identity {guest_id} → credentials without Logins")
    guest, code = connect(aws, guest_keys, guest_id)
    with guest:
        expect(code == 0, f"guest CONNECT answered 0x{code:02X}, expected success by the guest role")
        say("7", "guest", "MQTT CONNECT accepted with no IoT policy: the guest role alone decides")
        granted, private = guest.subscribe("public/#"), f"users/{guest_id}/#"
        expect(granted == 1, f"guest SUBSCRIBE public/# answered 0x{granted:02X}")
        code = guest.subscribe(private)
        expect(code == NOT_AUTHORIZED, f"guest SUBSCRIBE {private} answered 0x{code:02X}")
        say("7", "guest", f"SUBSCRIBE public/# granted; users/{short(guest_id)}/# refused, as expected")
        code = guest.publish("public/chat", b"hi")
        expect(code == NOT_AUTHORIZED, f"guest PUBLISH public/chat answered 0x{code:02X}")
        say("7", "guest", "PUBLISH public/chat refused (the guest role only reads), as expected")
        acked = user.publish("public/announcements", b"welcome, guests")
        expect(acked == 0, f"the user's PUBLISH public/announcements answered 0x{acked:02X}")
        message = received(guest, "the user's message on public/announcements")
        say("7", "guest", f"received the user's {message.payload.decode()!r} on {message.topic}")


def play(aws: Aws, admin: Keys, run: str) -> None:
    setup = operator_setup(aws, admin, run)
    id_token = sign_up_and_in(aws, admin, setup, run)

    user_id, user_keys = credentials_for(aws, setup.identity_pool_id, {setup.provider: id_token})
    say("3", "user", f"identity {user_id} → temporary credentials {user_keys.access_key_id[:8]}…")

    mqtt_before_attach(aws, user_id, user_keys)

    # With the user's own credentials: the role's iot:AttachPolicy grant allows it.
    aws.client("iot", user_keys).attach_policy(policyName=setup.iot_policy, target=user_id)
    say("5", "user", f"AttachPolicy {setup.iot_policy} to {short(user_id)}, with the user's own credentials")

    # Another identity of the pool, a guest's (step 7 uses it): its topics are not the user's.
    guest_id, guest_keys = credentials_for(aws, setup.identity_pool_id, None)
    user, code, attempts = connect_when_attached(aws, user_keys, user_id)
    with user:
        mqtt_after_attach(user, code, attempts, user_id, guest_id)
        guest_flow(aws, guest_id, guest_keys, user)


# Command line ------------------------------------------------------------------------------------------


def admin_keys(args: argparse.Namespace) -> Keys:
    """Flags, then BASTION_ADMIN_* (as `bastion serve` reads them), then <data dir>/admin-credentials."""
    if args.access_key_id or args.secret_access_key:
        if not (args.access_key_id and args.secret_access_key):
            raise UsageError("give both --access-key-id and --secret-access-key")
        return Keys(args.access_key_id, args.secret_access_key)
    key = os.environ.get("BASTION_ADMIN_ACCESS_KEY_ID")
    secret = os.environ.get("BASTION_ADMIN_SECRET_ACCESS_KEY")
    if key and secret:
        return Keys(key, secret)
    path = Path(args.data_dir) / "admin-credentials"
    parser = configparser.ConfigParser()
    if not parser.read(path) or "default" not in parser:
        raise UsageError(
            f"no admin credentials: {path} does not exist (start Bastion with scripts/serve, or pass "
            "--data-dir, or --access-key-id and --secret-access-key)"
        )
    section = parser["default"]
    return Keys(section["aws_access_key_id"], section["aws_secret_access_key"])


def ca_file(args: argparse.Namespace, endpoint: str) -> str | None:
    """The CA an https endpoint is verified with: --ca-file, else the one Bastion generated in its data
    directory, else None (the system's trust store, for a certificate from a public CA)."""
    if args.ca_file:
        return str(args.ca_file)
    generated = Path(args.data_dir) / "tls" / "ca.pem"
    return str(generated) if endpoint.startswith("https://") and generated.exists() else None


def check_reachable(endpoint: str) -> None:
    parts = urlsplit(endpoint)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise UsageError(f"the endpoint must be an http(s) URL, got {endpoint!r}")
    try:
        socket.create_connection(
            (parts.hostname, parts.port or (443 if parts.scheme == "https" else 80)), 3
        ).close()
    except OSError as exc:
        raise UsageError(f"nothing answers at {endpoint} ({exc}); start Bastion with scripts/serve") from exc


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="seed_flow", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--endpoint",
        default=os.environ.get("AWS_ENDPOINT_URL") or DEFAULT_ENDPOINT,
        help=f"Bastion's endpoint [AWS_ENDPOINT_URL, default {DEFAULT_ENDPOINT}]",
    )
    parser.add_argument(
        "--region",
        default=os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or "us-east-1",
        help="the region Bastion serves [AWS_REGION, AWS_DEFAULT_REGION, default us-east-1]",
    )
    parser.add_argument(
        "--data-dir",
        default=os.environ.get("BASTION_DATA_DIR") or DEFAULT_DATA_DIR,
        help=f"Bastion's data directory, for its admin-credentials file [default {DEFAULT_DATA_DIR}]",
    )
    parser.add_argument(
        "--ca-file",
        help="for an https endpoint, the CA to verify Bastion with [default: <data dir>/tls/ca.pem when it "
        "exists (the CA Bastion generates), else the system's trust store]",
    )
    parser.add_argument("--access-key-id", help="admin access key id [BASTION_ADMIN_ACCESS_KEY_ID]")
    parser.add_argument("--secret-access-key", help="admin secret key [BASTION_ADMIN_SECRET_ACCESS_KEY]")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    endpoint = args.endpoint.rstrip("/")
    try:
        admin = admin_keys(args)
        check_reachable(endpoint)
    except UsageError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    run = uuid.uuid4().hex[:8]  # in every name, so each run starts afresh
    print(f"Bastion seed flow against {endpoint} (run {run})", flush=True)
    try:
        play(Aws(endpoint, args.region, ca_file(args, endpoint)), admin, run)
    except NotAsExpected as exc:
        print(f"FAILED: {exc}", file=sys.stderr)
        return 1
    except ClientError as exc:
        error = exc.response.get("Error", {})
        print(f"FAILED: {exc.operation_name}: {error.get('Code')}: {error.get('Message')}", file=sys.stderr)
        return 1
    except (BotoCoreError, MqttError) as exc:
        print(f"FAILED: {exc}", file=sys.stderr)
        return 1
    print("Every step behaved as expected.", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
