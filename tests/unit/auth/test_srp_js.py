"""Oracle 2: amazon-cognito-identity-js (the SRP client inside Amplify) against Bastion's server.

The Node side is tests/interop/srp/srp_client.js, one process for the whole module, spoken to in JSON
lines. Mode "user" runs the library's complete CognitoUser.authenticateUser flow with its HTTP client
replaced by the pipe; mode "helper" uses AuthenticationHelper directly. The library parses SALT into a
BigInteger and re-pads it, so it is the oracle that disagrees with pycognito on a non-canonical SALT.
The script is started with --short-client-secret (a 256-bit ``a`` instead of 1024 bits) to keep the
module fast; A is still a full group element and every other step is the library's own.

Needs ``node`` and ``npm ci --prefix tests/interop/srp``; skipped when either is missing.
"""

from __future__ import annotations

import base64
import json
import secrets
import select
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from bastion.auth import srp, srp_client

INTEROP = Path(__file__).resolve().parents[2] / "interop" / "srp"
POOL_ID = "eu-west-1_Zx9Yw8Vu7"
POOL_NAME = "Zx9Yw8Vu7"
USER_ID = "3f2c7a9e-1b4d-4e8a-9c61-0d5b7e2f4a10"  # the user's sub, used as internal username
TIMEOUT_S = 30.0


class NodeClient:
    def __init__(self, process: subprocess.Popen[str]) -> None:
        self._process = process
        self._next_id = 0

    def _ask(self, message: dict[str, Any]) -> dict[str, Any]:
        assert self._process.stdin is not None and self._process.stdout is not None
        self._process.stdin.write(json.dumps(message) + "\n")
        self._process.stdin.flush()
        ready, _, _ = select.select([self._process.stdout], [], [], TIMEOUT_S)
        line = self._process.stdout.readline() if ready else ""
        if not line:
            raise AssertionError(f"no answer from node to {message['op']}")
        answer: dict[str, Any] = json.loads(line)
        assert answer["id"] == message["id"], answer
        if "error" in answer:
            raise AssertionError(f"node client failed: {answer['error']}")
        return answer

    def start(
        self, mode: str, *, username: str, password: str, small_a: int | None = None
    ) -> tuple[str, str]:
        """Begin a sign-in; returns its id and the client's SRP_A."""
        self._next_id += 1
        request: dict[str, Any] = {
            "op": "start",
            "id": str(self._next_id),
            "mode": mode,
            "poolId": POOL_ID,
            "username": username,
            "password": password,
        }
        if small_a is not None:
            request["smallA"] = format(small_a, "x")
        auth = self._ask(request)["AuthParameters"]
        assert auth["USERNAME"] == username
        return request["id"], auth["SRP_A"]

    def answer(
        self, request_id: str, parameters: dict[str, str], timestamp: str | None = None
    ) -> dict[str, str]:
        """Hand the client its challenge; returns its ChallengeResponses."""
        request: dict[str, Any] = {"op": "challenge", "id": request_id, "ChallengeParameters": parameters}
        if timestamp is not None:
            request["timestamp"] = timestamp
        responses: dict[str, str] = self._ask(request)["ChallengeResponses"]
        return responses

    def sign_in(self, mode: str, *, username: str, password: str, verifier: srp.Verifier) -> SignIn:
        """One USER_SRP_AUTH round trip; returns what the server needs for check_claim."""
        request_id, srp_a = self.start(mode, username=username, password=password)
        challenge = srp.start_challenge(verifier, srp_a, user_id_for_srp=USER_ID, issued_at=0)
        secret_block = base64.b64encode(b"opaque:" + challenge.state.to_bytes()).decode()
        responses = self.answer(request_id, challenge.challenge_parameters(secret_block))
        return SignIn(state=challenge.state, responses=responses)


@dataclass(frozen=True)
class SignIn:
    state: srp.ChallengeState
    responses: dict[str, str]

    def accepted_by(self, verifier: srp.Verifier) -> bool:
        return srp.check_claim(
            self.state,
            verifier,
            pool_name=POOL_NAME,
            user_id_for_srp=self.responses["USERNAME"],
            secret_block_b64=self.responses["PASSWORD_CLAIM_SECRET_BLOCK"],
            timestamp=self.responses["TIMESTAMP"],
            signature_b64=self.responses["PASSWORD_CLAIM_SIGNATURE"],
        )


@pytest.fixture(scope="module")
def node() -> Iterator[NodeClient]:
    executable = shutil.which("node")
    if executable is None:
        pytest.skip("node is not installed: the amazon-cognito-identity-js SRP oracle needs Node.js")
    if not (INTEROP / "node_modules" / "amazon-cognito-identity-js" / "package.json").is_file():
        pytest.skip("amazon-cognito-identity-js is not installed: run `npm ci --prefix tests/interop/srp`")
    process = subprocess.Popen(
        [executable, str(INTEROP / "srp_client.js"), "--short-client-secret"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        encoding="utf-8",
        cwd=INTEROP,
    )
    try:
        yield NodeClient(process)
    finally:
        assert process.stdin is not None
        process.stdin.close()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        if process.stdout is not None:
            process.stdout.close()


ACCEPTED = [
    # (mode, salt, password): each salt is a shape where clients read SALT differently.
    ("user", bytes.fromhex("c3a1b2c4d5e6f708192a3b4c5d6e7f80"), "Pässwörd-1"),  # first byte >= 0x80
    ("user", bytes.fromhex("004b9e2f7c1d3a5b6e8f90a1b2c3d4e5"), "correct horse staple"),  # one zero byte
    ("user", bytes.fromhex("0000e2f7c1d3a5b6e8f90a1b2c3d4e5f"), "🔐密码パスワード"),  # 2 zero bytes, high
    ("helper", bytes.fromhex("009e2f7c1d3a5b6e8f90a1b2c3d4e5f6"), "Ünïcödé ñ €"),  # zero byte, then high
    ("helper", bytes.fromhex("0a1b2c3d4e5f60718293a4b5c6d7e8f9"), "pa$$w0rd"),  # odd-length hex
    ("helper", bytes.fromhex("00000000000000000000000000000001"), "x"),  # almost all zero
]


@pytest.mark.parametrize(
    ("mode", "salt", "password"), ACCEPTED, ids=[f"{m}-{s.hex()[:6]}" for m, s, _ in ACCEPTED]
)
def test_js_claim_is_accepted(node: NodeClient, mode: str, salt: bytes, password: str) -> None:
    verifier = srp.make_verifier(POOL_NAME, USER_ID, password, salt=salt)
    sign_in = node.sign_in(mode, username="alice@example.com", password=password, verifier=verifier)
    # The library signs for, and answers with, USER_ID_FOR_SRP, not the alias the user typed.
    assert sign_in.responses["USERNAME"] == USER_ID
    assert sign_in.accepted_by(verifier)


@pytest.mark.parametrize("mode", ["user", "helper"])
def test_js_claim_with_wrong_password_is_refused(node: NodeClient, mode: str) -> None:
    verifier = srp.make_verifier(POOL_NAME, USER_ID, "Pässwörd-1", salt=ACCEPTED[0][1])
    sign_in = node.sign_in(mode, username="alice@example.com", password="Passwörd-1", verifier=verifier)
    assert not sign_in.accepted_by(verifier)


def test_js_timestamp_is_parsed_and_current(node: NodeClient) -> None:
    verifier = srp.make_verifier(POOL_NAME, USER_ID, "pw", salt=b"\x01" * 16)
    sign_in = node.sign_in("user", username=USER_ID, password="pw", verifier=verifier)
    stamp = srp.parse_claim_timestamp(sign_in.responses["TIMESTAMP"])
    assert stamp is not None
    assert abs(stamp - datetime.now(UTC)) < timedelta(minutes=1)
    # The signature covers the text verbatim: a different second must not verify.
    later = srp_client.format_timestamp(stamp + timedelta(seconds=1))
    assert not SignIn(sign_in.state, {**sign_in.responses, "TIMESTAMP": later}).accepted_by(verifier)
    assert sign_in.accepted_by(verifier)


@pytest.mark.parametrize("salt", [s for _, s, _ in ACCEPTED[:4]], ids=lambda s: s.hex()[:6])
def test_own_client_signs_like_the_library(node: NodeClient, salt: bytes) -> None:
    """bastion.auth.srp_client, given the library's ``a`` and TIMESTAMP, must produce its exact signature."""
    password = "Ünïcödé ñ €"
    small_a = secrets.randbits(256)
    own = srp_client.new_ephemeral(small_a)
    request_id, srp_a = node.start("helper", username=USER_ID, password=password, small_a=small_a)
    assert srp_a == own.srp_a_hex
    verifier = srp.make_verifier(POOL_NAME, USER_ID, password, salt=salt)
    challenge = srp.start_challenge(verifier, srp_a, user_id_for_srp=USER_ID, issued_at=0)
    parameters = challenge.challenge_parameters(base64.b64encode(b"block").decode())
    timestamp = "Tue Jan 2 03:04:05 UTC 2024"
    theirs = node.answer(request_id, parameters, timestamp)
    mine = srp_client.password_claim_signature(
        own,
        pool_name=POOL_NAME,
        user_id_for_srp=USER_ID,
        password=password,
        salt_hex=parameters["SALT"],
        srp_b_hex=parameters["SRP_B"],
        secret_block_b64=parameters["SECRET_BLOCK"],
        timestamp=timestamp,
    )
    assert theirs["TIMESTAMP"] == timestamp
    assert mine == theirs["PASSWORD_CLAIM_SIGNATURE"]
