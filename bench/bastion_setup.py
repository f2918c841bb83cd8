"""Bastion under benchmark: ``bastion serve`` with authorization on for every client.

* TCP clients connect without credentials and become the operator-configured **anonymous principal**,
  bound to :data:`ANONYMOUS_POLICY` (``BASTION_MQTT_ANONYMOUS_POLICY``): every CONNECT, PUBLISH,
  SUBSCRIBE and delivery is decided by that policy (through the broker's per-connection decision cache,
  as in production), and a probe checks that a topic outside it is refused before any figure counts.
* WebSocket clients use SigV4-presigned URLs signed with an IAM user's access key; the user's inline
  IAM policy grants the same actions (:data:`IAM_USER_POLICY`). The same URL is the password of the
  TCP ``sigv4`` storm.
* The Cognito storm signs with the temporary credentials of a signed-in identity-pool identity (a user
  of a Bastion user pool): its role's policy and the AWS IoT policy attached to its identity id both
  grant the same actions, so every decision takes both sets (the two-policy rule).

Settings go through ``BASTION_*`` environment variables: a temporary data directory (SQLite store),
free ports, the TLS listeners off, log level WARNING (per-connection INFO lines are not what is
measured).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import json
import os
import secrets
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from bench import procs
from bench.brokers import Broker
from bench.link import Endpoint, LinkError, mqtt_connect, mqtt_subscribe, open_link

REGION = "us-east-1"
ACCOUNT = "000000000000"
_ARN = f"arn:aws:iot:{REGION}:{ACCOUNT}"


def _policy() -> dict[str, Any]:
    return {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Action": "iot:Connect", "Resource": f"{_ARN}:client/*"},
            {
                "Effect": "Allow",
                "Action": ["iot:Publish", "iot:Receive"],
                "Resource": f"{_ARN}:topic/bench/*",
            },
            {"Effect": "Allow", "Action": "iot:Subscribe", "Resource": f"{_ARN}:topicfilter/bench/*"},
            # An explicit deny that the benchmark topics never match: evaluation has to look at it.
            {
                "Effect": "Deny",
                "Action": ["iot:Publish", "iot:Receive", "iot:Subscribe"],
                "Resource": [f"{_ARN}:topic/bench/forbidden/*", f"{_ARN}:topicfilter/bench/forbidden/*"],
            },
        ],
    }


ANONYMOUS_POLICY = _policy()
IAM_USER_POLICY = _policy()
PROBE_FILTER = "not-bench/probe"


def _serve_help() -> str:
    done = subprocess.run(
        [sys.executable, "-m", "bastion.cli.main", "serve", "--help"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    return done.stdout


def why_unavailable() -> str | None:
    """Why Bastion cannot be benchmarked in this tree, or None when it can."""
    text = _serve_help().lower()
    if "mqtt" not in text:
        return "`bastion serve` has no MQTT listener yet (the broker is not wired in)"
    return None


def _environment(data_dir: Path, api_port: int, mqtt_port: int, admin: tuple[str, str]) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("BASTION_", "AWS_"))}
    env.update(
        {
            "BASTION_HOST": procs.LOOPBACK,
            "BASTION_API_PORT": str(api_port),
            "BASTION_MQTT_PORT": str(mqtt_port),
            "BASTION_MQTT_TLS_PORT": "off",
            "BASTION_API_TLS_PORT": "off",
            "BASTION_DATA_DIR": str(data_dir),
            "BASTION_REGION": REGION,
            "BASTION_ACCOUNT_ID": ACCOUNT,
            "BASTION_LOG_LEVEL": "WARNING",
            "BASTION_MQTT_ANONYMOUS_POLICY": json.dumps(ANONYMOUS_POLICY),
            "BASTION_ADMIN_ACCESS_KEY_ID": admin[0],
            "BASTION_ADMIN_SECRET_ACCESS_KEY": admin[1],
        }
    )
    return env


def _iam_user(endpoint: str, admin: tuple[str, str]) -> dict[str, str]:
    """An IAM user allowed the benchmark's IoT actions, and its access key."""
    import boto3

    iam = boto3.session.Session(
        aws_access_key_id=admin[0], aws_secret_access_key=admin[1], region_name=REGION
    ).client("iam", endpoint_url=endpoint)
    iam.create_user(UserName="bench")
    iam.put_user_policy(UserName="bench", PolicyName="bench-iot", PolicyDocument=json.dumps(IAM_USER_POLICY))
    key = iam.create_access_key(UserName="bench")["AccessKey"]
    return {"access_key_id": key["AccessKeyId"], "secret_access_key": key["SecretAccessKey"]}


def _cognito_identity(endpoint: str, admin: tuple[str, str]) -> dict[str, str]:
    """Temporary credentials of a signed-in Cognito identity, allowed the benchmark's IoT actions by its
    authenticated role and by an AWS IoT policy attached to its identity id."""
    import boto3
    from botocore import UNSIGNED
    from botocore.config import Config

    session = boto3.session.Session(
        aws_access_key_id=admin[0], aws_secret_access_key=admin[1], region_name=REGION
    )
    idp = session.client("cognito-idp", endpoint_url=endpoint)
    pool = idp.create_user_pool(PoolName="bench")["UserPool"]["Id"]
    client = idp.create_user_pool_client(
        UserPoolId=pool, ClientName="bench", ExplicitAuthFlows=["ALLOW_ADMIN_USER_PASSWORD_AUTH"]
    )["UserPoolClient"]["ClientId"]
    password = "Bench-" + secrets.token_urlsafe(12) + "1!"
    idp.admin_create_user(UserPoolId=pool, Username="bench", MessageAction="SUPPRESS")
    idp.admin_set_user_password(UserPoolId=pool, Username="bench", Password=password, Permanent=True)
    signed_in = idp.admin_initiate_auth(
        UserPoolId=pool,
        ClientId=client,
        AuthFlow="ADMIN_USER_PASSWORD_AUTH",
        AuthParameters={"USERNAME": "bench", "PASSWORD": password},
    )["AuthenticationResult"]
    provider = f"cognito-idp.{REGION}.amazonaws.com/{pool}"
    identity = session.client("cognito-identity", endpoint_url=endpoint)
    pool_id = identity.create_identity_pool(
        IdentityPoolName="bench",
        AllowUnauthenticatedIdentities=False,
        CognitoIdentityProviders=[{"ProviderName": provider, "ClientId": client}],
    )["IdentityPoolId"]
    trust = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Federated": "cognito-identity.amazonaws.com"},
                "Action": "sts:AssumeRoleWithWebIdentity",
                "Condition": {
                    "StringEquals": {"cognito-identity.amazonaws.com:aud": pool_id},
                    "ForAnyValue:StringLike": {"cognito-identity.amazonaws.com:amr": "authenticated"},
                },
            }
        ],
    }
    iam = session.client("iam", endpoint_url=endpoint)
    role = iam.create_role(RoleName="bench-cognito", AssumeRolePolicyDocument=json.dumps(trust))["Role"]
    iam.put_role_policy(
        RoleName="bench-cognito", PolicyName="bench-iot", PolicyDocument=json.dumps(IAM_USER_POLICY)
    )
    identity.set_identity_pool_roles(IdentityPoolId=pool_id, Roles={"authenticated": role["Arn"]})
    public = boto3.session.Session(region_name=REGION).client(
        "cognito-identity", endpoint_url=endpoint, config=Config(signature_version=UNSIGNED)
    )
    logins = {provider: signed_in["IdToken"]}
    identity_id = public.get_id(IdentityPoolId=pool_id, Logins=logins)["IdentityId"]
    credentials = public.get_credentials_for_identity(IdentityId=identity_id, Logins=logins)["Credentials"]
    iot = session.client("iot", endpoint_url=endpoint)
    iot.create_policy(policyName="bench-iot", policyDocument=json.dumps(IAM_USER_POLICY))
    iot.attach_policy(policyName="bench-iot", target=identity_id)
    return {
        "access_key_id": credentials["AccessKeyId"],
        "secret_access_key": credentials["SecretKey"],
        "session_token": credentials["SessionToken"],
    }


async def _probe(port: int) -> None:
    """Authorization must be on: the anonymous principal may not subscribe outside ``bench/``."""
    link = await open_link(Endpoint(procs.LOOPBACK, port))
    try:
        await mqtt_connect(link, "bench-probe")
        try:
            await mqtt_subscribe(link, [PROBE_FILTER], 0)
        except LinkError:
            return
        raise RuntimeError(f"Bastion granted a subscription to {PROBE_FILTER!r}: authorization is off")
    finally:
        link.close()


@contextlib.contextmanager
def bastion(cores: procs.Cores, logs: Path) -> Iterator[Broker]:
    with tempfile.TemporaryDirectory(prefix="bench-bastion-") as tmp:
        api_port = procs.free_port()
        mqtt_port = procs.free_port()
        admin = ("AKIA" + secrets.token_hex(8).upper(), secrets.token_urlsafe(30))
        log = logs / "bastion.log"
        argv = [sys.executable, "-m", "bastion.cli.main", "serve"]
        env = _environment(Path(tmp) / "data", api_port, mqtt_port, admin)
        proc = procs.start(argv, cores.broker, log, env=env)
        try:
            procs.wait_for_port(api_port, 60, lambda: proc.poll() is None)
            procs.wait_for_port(mqtt_port, 30, lambda: proc.poll() is None)
            endpoint = f"http://{procs.LOOPBACK}:{api_port}"
            keys = _iam_user(endpoint, admin)
            cognito = _cognito_identity(endpoint, admin)
            # The harness may be inside an event loop already: probe from a thread with its own.
            with concurrent.futures.ThreadPoolExecutor(1) as pool:
                pool.submit(asyncio.run, _probe(mqtt_port)).result(timeout=60)
            tcp = {"host": procs.LOOPBACK, "port": mqtt_port, "ws_path": None, "auth": {"kind": "none"}}
            ws = {
                "host": procs.LOOPBACK,
                "port": api_port,
                "ws_path": "/mqtt",
                "auth": {"kind": "sigv4", "region": REGION, **keys},
            }
            ws_cognito = {**ws, "auth": {"kind": "sigv4", "region": REGION, **cognito}}
            tcp_sigv4 = {**tcp, "auth": {"kind": "sigv4", "region": REGION, **keys}}
            broker = Broker(
                "bastion", proc, tcp, ws, ws_sigv4=ws, ws_cognito=ws_cognito, tcp_sigv4=tcp_sigv4, log=log
            )
            yield broker
        finally:
            procs.stop(proc)
