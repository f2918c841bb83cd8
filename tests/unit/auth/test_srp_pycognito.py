"""Oracle 1: pycognito's SRP client (the math boto3 users sign in with) against Bastion's server.

pycognito's ``AWSSRP`` is used without any network: it is given a placeholder boto client it never
calls, ``get_auth_params`` supplies SRP_A, Bastion's server answers with challenge parameters, and
``process_challenge`` produces the claim that ``check_claim`` must accept exactly for the right password.
pycognito hashes the SALT string verbatim where amazon-cognito-identity-js re-pads it, so this oracle is
the one that notices a SALT that is not in canonical form.
"""

from __future__ import annotations

import base64
import random
import secrets
import string
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

import pytest
from pycognito import aws_srp

from bastion.auth import srp, srp_client

# pycognito stamps TIMESTAMP with datetime.utcnow(), which Python 3.12 deprecates.
pytestmark = pytest.mark.filterwarnings("ignore:datetime.datetime.utcnow:DeprecationWarning")

POOL_ID = "us-east-1_AbCdEf123"
POOL_NAME = "AbCdEf123"
CLIENT_ID = "5e8t0kvd2hq3b4hc1bqhehr1ab"


@dataclass(frozen=True)
class Case:
    username: str  # what the user types (alias)
    user_id: str  # USER_ID_FOR_SRP
    password: str
    salt: bytes


def salt_for(rng: random.Random, n: int) -> bytes:
    """Cycles through the SALT shapes where clients differ; the rest are plain random."""
    body = rng.randbytes(16)
    shape = n % 6
    if shape == 0:  # first byte >= 0x80: canonical form gains "00"
        return bytes([rng.randint(0x80, 0xFF)]) + body[1:]
    if shape == 1:  # one leading zero byte: canonical form loses it
        return b"\x00" + body[1:]
    if shape == 2:  # two leading zero bytes
        return b"\x00\x00" + body[2:]
    if shape == 3:  # leading zero byte, then a high byte
        return b"\x00" + bytes([rng.randint(0x80, 0xFF)]) + body[2:]
    if shape == 4:  # leading zero nibble: odd-length hex
        return bytes([rng.randint(0x01, 0x0F)]) + body[1:]
    return body


PASSWORD_ALPHABETS = (
    string.ascii_letters + string.digits + string.punctuation + " ",
    "äöüßéèñçÅØ€£¥§°",
    "пароль密码パスワード비밀번호كلمةσ",
    "😀🔐🦊👩‍💻\u0301\u00a0",
)


def random_case(rng: random.Random, n: int) -> Case:
    alphabet = "".join(rng.sample(PASSWORD_ALPHABETS, k=rng.randint(1, len(PASSWORD_ALPHABETS))))
    password = "".join(rng.choice(alphabet) for _ in range(rng.randint(6, 40)))
    user_id = str(uuid.UUID(int=rng.getrandbits(128), version=4))
    if n % 4 == 1:
        user_id = "jürgen.müller_" + str(n)  # pools without username attributes use the name itself
    return Case(username=f"user{n}@example.com", user_id=user_id, password=password, salt=salt_for(rng, n))


@pytest.fixture(autouse=True)
def shorter_client_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    """pycognito draws a 1024-bit ``a``; 256 bits keeps each sign-in several times cheaper.

    Only the randomness source changes: A is still a full 3072-bit group element and every hashing,
    padding and key-derivation step is pycognito's own.
    """
    monkeypatch.setattr(aws_srp, "get_random", lambda nbytes: secrets.randbits(256))


def pycognito_claim(
    case: Case, verifier: srp.Verifier, password: str
) -> tuple[srp.ChallengeState, dict[str, str]]:
    """One USER_SRP_AUTH round: pycognito computes A, Bastion answers, pycognito signs."""
    client = aws_srp.AWSSRP(
        username=case.username, password=password, pool_id=POOL_ID, client_id=CLIENT_ID, client=object()
    )
    auth_params = client.get_auth_params()
    challenge = srp.start_challenge(verifier, auth_params["SRP_A"], user_id_for_srp=case.user_id, issued_at=0)
    secret_block = base64.b64encode(b"sealed:" + challenge.state.to_bytes()).decode()
    responses = client.process_challenge(challenge.challenge_parameters(secret_block), auth_params)
    return challenge.state, responses


def server_accepts(state: srp.ChallengeState, verifier: srp.Verifier, responses: dict[str, str]) -> bool:
    return srp.check_claim(
        state,
        verifier,
        pool_name=POOL_NAME,
        user_id_for_srp=responses["USERNAME"],
        secret_block_b64=responses["PASSWORD_CLAIM_SECRET_BLOCK"],
        timestamp=responses["TIMESTAMP"],
        signature_b64=responses["PASSWORD_CLAIM_SIGNATURE"],
    )


CASES = [random_case(random.Random(20240501 + n), n) for n in range(18)]


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.salt.hex()[:6])
def test_pycognito_claim_is_accepted(case: Case) -> None:
    verifier = srp.make_verifier(POOL_NAME, case.user_id, case.password, salt=case.salt)
    state, responses = pycognito_claim(case, verifier, case.password)
    # pycognito echoes USER_ID_FOR_SRP, not what the user typed, as USERNAME.
    assert responses["USERNAME"] == case.user_id
    assert server_accepts(state, verifier, responses)


WRONG = [
    (CASES[0], CASES[0].password + "x"),
    (CASES[1], CASES[1].password[:-1]),
    (CASES[2], CASES[2].password.swapcase() + "ß"),
    (CASES[3], " " + CASES[3].password),
    (CASES[4], ""),
    (CASES[5], (CASES[5].password + "é").encode().decode("latin-1")),  # UTF-8 misread as Latin-1
]


@pytest.mark.parametrize(("case", "wrong"), WRONG, ids=[f"case{n}" for n in range(len(WRONG))])
def test_pycognito_claim_with_wrong_password_is_refused(case: Case, wrong: str) -> None:
    assert wrong != case.password
    verifier = srp.make_verifier(POOL_NAME, case.user_id, case.password, salt=case.salt)
    state, responses = pycognito_claim(case, verifier, wrong)
    assert not server_accepts(state, verifier, responses)


def test_pycognito_claim_for_another_user_id_is_refused() -> None:
    case = CASES[0]
    verifier = srp.make_verifier(POOL_NAME, "someone-else", case.password, salt=case.salt)
    state, responses = pycognito_claim(case, verifier, case.password)
    assert not server_accepts(state, verifier, responses)


@pytest.mark.parametrize("n", range(24))
def test_verifier_matches_pycognito_math(n: int) -> None:
    """x and v as pycognito's helpers compute them from the SALT it is sent (its pad_hex takes the string)."""
    case = random_case(random.Random(7000 + n), n)
    verifier = srp.make_verifier(POOL_NAME, case.user_id, case.password, salt=case.salt)
    inner = aws_srp.hash_sha256(f"{POOL_NAME}{case.user_id}:{case.password}".encode())
    x = aws_srp.hex_to_long(aws_srp.hex_hash(aws_srp.pad_hex(verifier.salt_hex) + inner))
    assert verifier.verifier == pow(2, x, aws_srp.hex_to_long(aws_srp.N_HEX))
    assert verifier.salt_hex == aws_srp.pad_hex(int.from_bytes(case.salt, "big"))


def test_group_constants_match_pycognito() -> None:
    assert int(aws_srp.N_HEX, 16) == srp.N
    assert (
        srp.k
        == aws_srp.AWSSRP(
            username="u", password="p", pool_id=POOL_ID, client_id=CLIENT_ID, client=object()
        ).val_k
    )


@pytest.mark.parametrize("case", CASES[:6], ids=lambda c: c.salt.hex()[:6])
def test_own_client_signs_like_pycognito(case: Case, monkeypatch: pytest.MonkeyPatch) -> None:
    """bastion.auth.srp_client, given pycognito's ``a`` and TIMESTAMP, must produce its exact responses."""
    timestamp = "Sun Oct 19 12:00:09 UTC 2031"
    monkeypatch.setattr(aws_srp.AWSSRP, "get_cognito_formatted_timestamp", staticmethod(lambda _: timestamp))
    theirs_client = aws_srp.AWSSRP(
        username=case.username, password=case.password, pool_id=POOL_ID, client_id=CLIENT_ID, client=object()
    )
    own = srp_client.new_ephemeral(theirs_client.small_a_value)
    auth_params = theirs_client.get_auth_params()
    assert auth_params["SRP_A"] == own.srp_a_hex
    verifier = srp.make_verifier(POOL_NAME, case.user_id, case.password, salt=case.salt)
    challenge = srp.start_challenge(verifier, own.srp_a_hex, user_id_for_srp=case.user_id, issued_at=0)
    parameters = challenge.challenge_parameters(base64.b64encode(b"block").decode())
    theirs = theirs_client.process_challenge(parameters, auth_params)
    mine = srp_client.password_verifier_responses(
        own,
        pool_name=POOL_NAME,
        password=case.password,
        challenge_parameters=parameters,
        now=datetime(2031, 10, 19, 12, 0, 9, tzinfo=UTC),
    )
    assert mine == theirs
