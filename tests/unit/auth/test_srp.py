"""Server side of Cognito SRP: verifiers, password checks, the handshake and its refusals.

Interoperability with real clients is in test_srp_pycognito.py and test_srp_js.py; here the client is
Bastion's own (bastion.auth.srp_client, written apart from the server) or hand-made values.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import UTC, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bastion.auth import srp, srp_client
from bastion.auth.srp import (
    ChallengeState,
    IllegalSrpA,
    MalformedSrpA,
    N,
    ServerChallenge,
    SrpError,
    Verifier,
    check_claim,
    g,
    k,
    make_verifier,
    start_challenge,
    verify_password,
)

POOL = "AbCdEf123"
USER = "7d9c5e2a-0b1f-4c3d-8e6a-5f4b3c2d1e0f"
PASSWORD = "Corréct-Horse-1"
SALT = bytes.fromhex("9f00112233445566778899aabbccddee")
VERIFIER = make_verifier(POOL, USER, PASSWORD, salt=SALT)
NOW = datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC)


def sequence(*values: int) -> Callable[[int], int]:
    """A ``randbits`` stand-in returning the given values in order."""
    it: Iterator[int] = iter(values)
    return lambda bits: next(it)


def sign_in(
    verifier: Verifier = VERIFIER, password: str = PASSWORD, user: str = USER
) -> tuple[ServerChallenge, str, dict[str, str]]:
    """Our client against our server; returns the challenge, the SECRET_BLOCK and the client's responses.

    The client's ``a`` has 256 bits rather than 1024 to keep the module fast.
    """
    client = srp_client.new_ephemeral(secrets.randbits(256))
    challenge = start_challenge(verifier, client.srp_a_hex, user_id_for_srp=user, issued_at=1_700_000_000)
    secret_block = base64.b64encode(challenge.state.to_bytes()).decode()
    responses = srp_client.password_verifier_responses(
        client,
        pool_name=POOL,
        password=password,
        challenge_parameters=challenge.challenge_parameters(secret_block),
        now=NOW,
    )
    return challenge, secret_block, responses


def claim(
    state: ChallengeState, responses: dict[str, str], verifier: Verifier = VERIFIER, pool: str = POOL
) -> bool:
    return check_claim(
        state,
        verifier,
        pool_name=pool,
        user_id_for_srp=responses["USERNAME"],
        secret_block_b64=responses["PASSWORD_CLAIM_SECRET_BLOCK"],
        timestamp=responses["TIMESTAMP"],
        signature_b64=responses["PASSWORD_CLAIM_SIGNATURE"],
    )


# --- verifiers ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("salt", "salt_hex"),
    [
        (bytes.fromhex("9f00112233445566778899aabbccddee"), "009f00112233445566778899aabbccddee"),
        (bytes.fromhex("00112233445566778899aabbccddeeff"), "112233445566778899aabbccddeeff"),
        (bytes.fromhex("0000a233445566778899aabbccddeeff"), "00a233445566778899aabbccddeeff"),
        (bytes.fromhex("0a112233445566778899aabbccddeeff"), "0a112233445566778899aabbccddeeff"),
        (bytes.fromhex("000a"), "0a"),
        (bytes(16), "00"),
    ],
)
def test_salt_is_sent_in_canonical_form(salt: bytes, salt_hex: str) -> None:
    verifier = make_verifier(POOL, USER, PASSWORD, salt=salt)
    assert verifier.salt_hex == salt_hex
    assert verify_password(verifier, POOL, USER, PASSWORD)


def test_verifier_is_g_to_the_x() -> None:
    inner = hashlib.sha256(f"{POOL}{USER}:{PASSWORD}".encode()).digest()
    salt = bytes.fromhex("009f00112233445566778899aabbccddee")
    x = int.from_bytes(hashlib.sha256(salt + inner).digest(), "big")
    assert pow(g, x, N) == VERIFIER.verifier


def test_random_salt_is_16_bytes_and_fresh() -> None:
    one = make_verifier(POOL, USER, PASSWORD)
    two = make_verifier(POOL, USER, PASSWORD)
    assert one.salt_hex != two.salt_hex and one.verifier != two.verifier
    assert len(bytes.fromhex(one.salt_hex)) <= 17


def test_empty_salt_is_refused() -> None:
    with pytest.raises(ValueError, match="salt"):
        make_verifier(POOL, USER, PASSWORD, salt=b"")


def test_unencodable_password_is_refused_at_set_time() -> None:
    with pytest.raises(ValueError):
        make_verifier(POOL, USER, "bad\ud800")


def test_verifier_depends_on_pool_user_and_password() -> None:
    base = make_verifier(POOL, USER, PASSWORD, salt=SALT).verifier
    assert make_verifier("Other", USER, PASSWORD, salt=SALT).verifier != base
    assert make_verifier(POOL, USER + "x", PASSWORD, salt=SALT).verifier != base
    assert make_verifier(POOL, USER, PASSWORD + "x", salt=SALT).verifier != base
    # The ":" separator sits between user id and password; moving characters across it changes x.
    moved = make_verifier(POOL, "a", "bc", salt=SALT).verifier
    assert make_verifier(POOL, "ab", "c", salt=SALT).verifier != moved


@pytest.mark.parametrize(
    ("salt_hex", "verifier"),
    [
        ("9f00", 5),  # salt not canonical: needs a leading 00
        ("0011", 5),  # salt not canonical: leading zero byte
        ("", 5),
        ("0x11", 5),
        ("11", 0),
        ("11", 1),  # would make S predictable
        ("11", N),
    ],
)
def test_verifier_refuses_non_canonical_or_unsafe_values(salt_hex: str, verifier: int) -> None:
    with pytest.raises(ValueError):
        Verifier(salt_hex=salt_hex, verifier=verifier)


def test_verifier_text_round_trip_and_repr() -> None:
    text = VERIFIER.to_text()
    assert text == f"{VERIFIER.salt_hex}:{srp.pad_hex(VERIFIER.verifier)}"
    assert Verifier.from_text(text) == VERIFIER
    assert VERIFIER.verifier_hex not in repr(VERIFIER)
    for bad in ("", "11", "11:", ":11", "11:zz", "0011:" + VERIFIER.verifier_hex):
        with pytest.raises(ValueError):
            Verifier.from_text(bad)


def test_verify_password() -> None:
    assert verify_password(VERIFIER, POOL, USER, PASSWORD)
    assert not verify_password(VERIFIER, POOL, USER, PASSWORD.lower())
    assert not verify_password(VERIFIER, POOL, USER, PASSWORD + " ")
    assert not verify_password(VERIFIER, POOL, "someone", PASSWORD)
    assert not verify_password(VERIFIER, "OtherPool", USER, PASSWORD)
    assert not verify_password(VERIFIER, POOL, USER, "bad\ud800")


@settings(max_examples=25, deadline=None)
@given(
    user=st.text(min_size=1, max_size=40),
    password=st.text(max_size=60),
    salt=st.binary(min_size=1, max_size=20),
)
def test_verify_password_accepts_exactly_the_password(user: str, password: str, salt: bytes) -> None:
    try:
        verifier = make_verifier(POOL, user, password, salt=salt)
    except UnicodeEncodeError:  # lone surrogates cannot be a password
        return
    assert verify_password(verifier, POOL, user, password)
    assert not verify_password(verifier, POOL, user, password + "\x00")


def test_decoy_verifier_is_stable_per_user_and_key() -> None:
    key = b"k" * 32
    one = srp.decoy_verifier(key, POOL, "nobody")
    assert srp.decoy_verifier(key, POOL, "nobody") == one
    assert srp.decoy_verifier(key, POOL, "nobody2").salt_hex != one.salt_hex
    assert srp.decoy_verifier(b"j" * 32, POOL, "nobody").salt_hex != one.salt_hex
    challenge, _, responses = sign_in(one, password="")
    assert not claim(challenge.state, responses, one)


# --- SRP_A ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "srp_a",
    ["", "0x12", " 12", "12 ", "12\n", "1_2", "-12", "+12", "１２", "g1", "12.0", "f" * 1025],
    ids=repr,
)
def test_malformed_srp_a_is_refused(srp_a: str) -> None:
    with pytest.raises(MalformedSrpA):
        start_challenge(VERIFIER, srp_a, user_id_for_srp=USER, issued_at=0)


@pytest.mark.parametrize(
    "big_a",
    [0, N, 2 * N, N + 1, (1 << 4000) // N * N],
    ids=["zero", "N", "2N", "N+1", "huge-multiple-of-N"],
)
def test_illegal_srp_a_is_refused(big_a: int) -> None:
    text = format(big_a, "x")
    if len(text) > 1024:
        with pytest.raises(MalformedSrpA):
            start_challenge(VERIFIER, text, user_id_for_srp=USER, issued_at=0)
        return
    with pytest.raises(IllegalSrpA):
        start_challenge(VERIFIER, text, user_id_for_srp=USER, issued_at=0)


def test_a_mod_n_zero_error_is_typed() -> None:
    with pytest.raises(SrpError) as info:
        start_challenge(VERIFIER, srp.N_HEX, user_id_for_srp=USER, issued_at=0)
    assert isinstance(info.value, IllegalSrpA) and info.value.code == "illegal_srp_a"


def test_srp_a_accepts_case_and_leading_zeros() -> None:
    client = srp_client.new_ephemeral()
    for text in (client.srp_a_hex.upper(), "000" + client.srp_a_hex, format(N - 1, "x"), "1"):
        start_challenge(VERIFIER, text, user_id_for_srp=USER, issued_at=0)


# --- the handshake -------------------------------------------------------------------------------------


def test_challenge_parameters_and_b() -> None:
    client = srp_client.new_ephemeral()
    challenge = start_challenge(
        VERIFIER, client.srp_a_hex, user_id_for_srp=USER, issued_at=42, randbits=sequence(0xB0B)
    )
    state = challenge.state
    assert state.b == 0xB0B and state.big_a == client.big_a and state.issued_at == 42
    assert state.big_b == (k * VERIFIER.verifier + pow(g, 0xB0B, N)) % N
    assert challenge.challenge_parameters("U0VDUkVU") == {
        "SALT": VERIFIER.salt_hex,
        "SECRET_BLOCK": "U0VDUkVU",
        "SRP_B": format(state.big_b, "x"),
        "USERNAME": USER,
        "USER_ID_FOR_SRP": USER,
    }


def test_secret_exponent_is_drawn_with_256_bits() -> None:
    asked: list[int] = []

    def randbits(bits: int) -> int:
        asked.append(bits)
        return (1 << bits) - 3

    start_challenge(
        VERIFIER, srp_client.new_ephemeral().srp_a_hex, user_id_for_srp=USER, issued_at=0, randbits=randbits
    )
    assert asked == [256]
    two = [sign_in()[0].state.b for _ in range(2)]
    assert two[0] != two[1]


def test_b_giving_b_zero_is_replaced() -> None:
    """Craft v so that k*v + g^b1 = 0 mod N: the first B is 0 and must be drawn again."""
    b1, b2 = 0x1111, 0x2222
    v = (-pow(g, b1, N) * pow(k, -1, N)) % N
    verifier = Verifier(salt_hex="01", verifier=v)
    challenge = start_challenge(
        verifier,
        srp_client.new_ephemeral().srp_a_hex,
        user_id_for_srp=USER,
        issued_at=0,
        randbits=sequence(b1, b2),
    )
    assert challenge.state.b == b2
    assert challenge.state.big_b == (k * v + pow(g, b2, N)) % N != 0


def test_zero_b_is_replaced() -> None:
    challenge = start_challenge(
        VERIFIER,
        srp_client.new_ephemeral().srp_a_hex,
        user_id_for_srp=USER,
        issued_at=0,
        randbits=sequence(0, 7),
    )
    assert challenge.state.b == 7


def test_b_giving_u_zero_is_replaced(monkeypatch: pytest.MonkeyPatch) -> None:
    """u == 0 cannot be produced with SHA-256; a compute_u that answers 0 once shows b is drawn again."""
    real = srp.compute_u
    seen: list[int] = []

    def zero_first(big_a: int, big_b: int) -> int:
        seen.append(big_b)
        return 0 if len(seen) == 1 else real(big_a, big_b)

    monkeypatch.setattr(srp, "compute_u", zero_first)
    challenge = start_challenge(
        VERIFIER,
        srp_client.new_ephemeral().srp_a_hex,
        user_id_for_srp=USER,
        issued_at=0,
        randbits=sequence(5, 6),
    )
    assert challenge.state.b == 6
    assert seen == [(k * VERIFIER.verifier + pow(g, 5, N)) % N, challenge.state.big_b]


def test_claim_from_own_client_is_accepted() -> None:
    challenge, secret_block, responses = sign_in()
    assert responses["PASSWORD_CLAIM_SECRET_BLOCK"] == secret_block
    assert responses["TIMESTAMP"] == "Tue Jan 2 03:04:05 UTC 2024"
    assert claim(challenge.state, responses)


def test_claim_survives_sealing_round_trip() -> None:
    _, _, responses = sign_in()
    state = ChallengeState.from_bytes(base64.b64decode(responses["PASSWORD_CLAIM_SECRET_BLOCK"]))
    assert claim(state, responses)


def test_wrong_password_is_refused() -> None:
    challenge, _, responses = sign_in(password=PASSWORD + "!")
    assert not claim(challenge.state, responses)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("TIMESTAMP", "Tue Jan 2 03:04:06 UTC 2024"),
        ("TIMESTAMP", "Tue Jan 02 03:04:05 UTC 2024"),
        ("PASSWORD_CLAIM_SECRET_BLOCK", base64.b64encode(b"other").decode()),
        ("PASSWORD_CLAIM_SECRET_BLOCK", "not base64!"),
        ("PASSWORD_CLAIM_SECRET_BLOCK", "bad\ud800"),
        ("PASSWORD_CLAIM_SIGNATURE", base64.b64encode(bytes(32)).decode()),
        ("PASSWORD_CLAIM_SIGNATURE", ""),
        ("PASSWORD_CLAIM_SIGNATURE", "é"),
        ("PASSWORD_CLAIM_SIGNATURE", "\ud800"),
        ("USERNAME", "alice@example.com"),
        ("USERNAME", USER.upper()),
        ("TIMESTAMP", "\udfff"),
    ],
)
def test_tampered_responses_are_refused(field: str, value: str) -> None:
    challenge, _, responses = sign_in()
    assert claim(challenge.state, responses)
    assert not claim(challenge.state, {**responses, field: value})


def test_signature_in_another_base64_spelling_is_refused() -> None:
    challenge, _, responses = sign_in()
    signature = responses["PASSWORD_CLAIM_SIGNATURE"]
    assert signature.endswith("=")
    assert not claim(challenge.state, {**responses, "PASSWORD_CLAIM_SIGNATURE": signature.rstrip("=")})


def test_claim_for_another_pool_or_state_is_refused() -> None:
    challenge, _, responses = sign_in()
    assert not claim(challenge.state, responses, pool="OtherPool")
    other, _, _ = sign_in()
    assert not claim(other.state, responses)
    assert not claim(replace(challenge.state, b=challenge.state.b + 1), responses)
    assert not claim(challenge.state, responses, verifier=make_verifier(POOL, USER, PASSWORD))


def test_u_zero_guard(monkeypatch: pytest.MonkeyPatch) -> None:
    """u == 0 cannot be reached with SHA-256, so the guard is checked by making compute_u return 0."""
    challenge, _, responses = sign_in()
    assert claim(challenge.state, responses)
    monkeypatch.setattr(srp, "compute_u", lambda big_a, big_b: 0)
    assert not claim(challenge.state, responses)


# --- TIMESTAMP ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Tue Jan 2 03:04:05 UTC 2024", datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC)),
        ("Tue Jan 02 03:04:05 UTC 2024", datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC)),
        ("Sun Dec 31 23:59:59 UTC 2023", datetime(2023, 12, 31, 23, 59, 59, tzinfo=UTC)),
        ("Tue Feb 30 03:04:05 UTC 2024", None),
        ("Tue Jan 2 3:04:05 UTC 2024", None),
        ("Tue Jan 2 03:04:05 GMT 2024", None),
        ("2024-01-02T03:04:05Z", None),
        ("Tue Jan ２ 03:04:05 UTC 2024", None),
        ("", None),
    ],
)
def test_parse_claim_timestamp(text: str, expected: datetime | None) -> None:
    assert srp.parse_claim_timestamp(text) == expected


def test_client_timestamp_format_round_trips() -> None:
    for moment in (NOW, datetime(2031, 10, 19, 12, 0, 9, tzinfo=UTC)):
        assert srp.parse_claim_timestamp(srp_client.format_timestamp(moment)) == moment
    stamp = srp_client.format_timestamp(datetime(2031, 10, 19, 12, 0, 9, tzinfo=UTC))
    assert stamp == "Sun Oct 19 12:00:09 UTC 2031"
