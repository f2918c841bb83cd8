"""The AWS SDK for JavaScript v2 calling AttachPolicy exactly as the AWS sample app does.

The script is tests/interop/iot/attach_policy.js; it needs ``node`` and
``npm ci --prefix tests/interop/iot`` (skipped, with the reason, when either is missing).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from bastion.testing.server import ServerThread

from .conftest import REGION, ClientFactory
from .test_iot_authorization import OWN, Cognito, allow, document, identity

SCRIPT_DIR = Path(__file__).resolve().parents[1] / "interop" / "iot"


def run_script(server: ServerThread, credentials: Any, *args: str) -> dict[str, Any]:
    node = shutil.which("node")
    if node is None:
        pytest.skip("node is not installed")
    if not (SCRIPT_DIR / "node_modules" / "aws-sdk").is_dir():
        pytest.skip("aws-sdk is not installed: run npm ci --prefix tests/interop/iot")
    env = {
        "PATH": os.environ.get("PATH", ""),
        "HOME": str(SCRIPT_DIR),
        "BASTION_ENDPOINT": server.endpoint_url,
        "AWS_REGION": REGION,
        "AWS_ACCESS_KEY_ID": credentials.access_key_id,
        "AWS_SECRET_ACCESS_KEY": credentials.secret_access_key,
        "AWS_SESSION_TOKEN": credentials.session_token,
        "AWS_SDK_JS_SUPPRESS_MAINTENANCE_MODE_MESSAGE": "1",
    }
    done = subprocess.run(
        [node, str(SCRIPT_DIR / "attach_policy.js"), *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    result: dict[str, Any] = json.loads(done.stdout)
    return result


@pytest.fixture(scope="module")
def cognito(server: ServerThread, admin: Callable[[str], Any], client_for: ClientFactory) -> Cognito:
    return Cognito(server, admin, client_for)


def test_the_sample_attach_policy_function_succeeds_every_time(
    server: ServerThread, cognito: Cognito, admin: Callable[[str], Any], unique: str
) -> None:
    role = f"js-{unique}"
    cognito.role(role, document(allow(["iot:AttachPolicy", "iot:ListAttachedPolicies"])))
    policy = f"amplify-{unique}"
    admin("iot").create_policy(policyName=policy, policyDocument=OWN)
    me = identity(unique, 7)
    credentials = cognito.credentials(role, me)

    result = run_script(server, credentials, me, policy, f"missing-{unique}")
    assert result["first"] == {"ok": True, "data": {}}
    assert result["second"] == {"ok": True, "data": {}}  # attaching again is harmless
    assert result["other"]["ok"] is False
    assert (result["other"]["code"], result["other"]["statusCode"]) == ("ResourceNotFoundException", 404)
    assert result["attached"] == [policy]


def test_the_sdk_sees_the_iam_layer_denial(
    server: ServerThread, cognito: Cognito, admin: Callable[[str], Any], unique: str
) -> None:
    role = f"js-deny-{unique}"
    cognito.role(role, document(allow("iot:Connect")))
    policy = f"amplify-deny-{unique}"
    admin("iot").create_policy(policyName=policy, policyDocument=OWN)
    me = identity(unique, 8)
    result = run_script(server, cognito.credentials(role, me), me, policy)
    assert result["first"]["ok"] is False
    assert (result["first"]["code"], result["first"]["statusCode"]) == ("AccessDeniedException", 403)
    assert "is not authorized to perform: iot:AttachPolicy" in result["first"]["message"]
    assert result["attached"] == {"error": "AccessDeniedException"}
