"""The AWS CLI, unmodified, against a started server: only ``--endpoint-url`` changes.

The CLI (v1, from PyPI) lives in ``.venv-cli`` because it pins its own botocore; ``scripts/test`` makes
it. Without it these tests are skipped with the reason.
"""

from __future__ import annotations

import base64
import json
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest

from bastion.testing.server import ServerThread

from .conftest import ACCOUNT, REGION

AWS = Path(__file__).resolve().parents[2] / ".venv-cli" / "bin" / "aws"

pytestmark = pytest.mark.skipif(not AWS.exists(), reason="the AWS CLI is not installed: run scripts/test")


def _aws(server: ServerThread, *args: str) -> subprocess.CompletedProcess[str]:
    key, secret = server.admin_keys
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "BASTION_"))}
    env.update(
        AWS_ACCESS_KEY_ID=key,
        AWS_SECRET_ACCESS_KEY=secret,
        AWS_DEFAULT_REGION=REGION,
        AWS_CONFIG_FILE=os.devnull,
        AWS_SHARED_CREDENTIALS_FILE=os.devnull,
        AWS_MAX_ATTEMPTS="1",
    )
    return subprocess.run(
        [str(AWS), "--endpoint-url", server.endpoint_url, "--output", "json", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )


def _ok(server: ServerThread, *args: str) -> Any:
    done = _aws(server, *args)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout) if done.stdout.strip() else None


def _fails_with(server: ServerThread, code: str, *args: str) -> None:
    done = _aws(server, *args)
    assert done.returncode != 0
    assert f"({code})" in done.stderr, done.stderr


def test_sts_and_iam(server: ServerThread, unique: str) -> None:
    assert _ok(server, "sts", "get-caller-identity")["Arn"] == f"arn:aws:iam::{ACCOUNT}:root"
    trust = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"},
                "Action": "sts:AssumeRole",
            }
        ],
    }
    name = f"cli-{unique}"
    created = _ok(
        server, "iam", "create-role", "--role-name", name, "--assume-role-policy-document", json.dumps(trust)
    )
    assert created["Role"]["Arn"] == f"arn:aws:iam::{ACCOUNT}:role/{name}"
    # The CLI url-decodes and parses the policy document IAM returns, as against AWS.
    assert _ok(server, "iam", "get-role", "--role-name", name)["Role"]["AssumeRolePolicyDocument"] == trust
    _fails_with(
        server,
        "EntityAlreadyExists",
        "iam",
        "create-role",
        "--role-name",
        name,
        "--assume-role-policy-document",
        json.dumps(trust),
    )


def test_iot_policies_and_the_http_data_plane(server: ServerThread, unique: str) -> None:
    document = {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": "iot:*", "Resource": "*"}],
    }
    name = f"cli-{unique}"
    created = _ok(
        server, "iot", "create-policy", "--policy-name", name, "--policy-document", json.dumps(document)
    )
    assert created["policyArn"] == f"arn:aws:iot:{REGION}:{ACCOUNT}:policy/{name}"
    _fails_with(
        server,
        "MalformedPolicyException",
        "iot",
        "create-policy",
        "--policy-name",
        f"bad-{unique}",
        "--policy-document",
        "{",
    )

    topic = f"cli/{unique}/state"
    _ok(
        server, "iot-data", "publish", "--topic", topic, "--qos", "1", "--retain", "--payload", '{"on": true}'
    )
    got = _ok(server, "iot-data", "get-retained-message", "--topic", topic)
    assert got["topic"] == topic and got["qos"] == 1
    assert base64.b64decode(got["payload"]) == b'{"on": true}'
    listed = _ok(server, "iot-data", "list-retained-messages")["retainedTopics"]
    assert any(item["topic"] == topic and item["payloadSize"] == 12 for item in listed)
    _fails_with(
        server, "InvalidRequestException", "iot-data", "publish", "--topic", "bad/#", "--payload", "x"
    )
    _fails_with(
        server, "ResourceNotFoundException", "iot-data", "get-connection", "--client-id", f"nobody-{unique}"
    )


def test_cognito_user_pools(server: ServerThread, unique: str) -> None:
    pool = _ok(server, "cognito-idp", "create-user-pool", "--pool-name", f"cli-{unique}")["UserPool"]
    assert pool["Id"].startswith(f"{REGION}_")
    client = _ok(
        server, "cognito-idp", "create-user-pool-client", "--user-pool-id", pool["Id"], "--client-name", "app"
    )["UserPoolClient"]
    assert client["UserPoolId"] == pool["Id"]
    _fails_with(
        server,
        "ResourceNotFoundException",
        "cognito-idp",
        "describe-user-pool",
        "--user-pool-id",
        f"{REGION}_nothere",
    )
