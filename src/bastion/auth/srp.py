"""Server side of Amazon Cognito's SRP-6a password check (USER_SRP_AUTH / PASSWORD_VERIFIER).

Pure functions, no I/O and no clock. The Cognito service calls them in this order:

* at every password set: ``make_verifier`` -> store ``Verifier`` (salt and verifier, never the password);
* InitiateAuth(USER_SRP_AUTH): ``start_challenge`` -> seal ``challenge.state.to_bytes()`` into
  SECRET_BLOCK -> answer ``challenge.challenge_parameters(secret_block)``;
* RespondToAuthChallenge(PASSWORD_VERIFIER): unseal PASSWORD_CLAIM_SECRET_BLOCK ->
  ``ChallengeState.from_bytes`` -> ``check_claim``;
* USER_PASSWORD_AUTH / ADMIN_USER_PASSWORD_AUTH, where the password itself arrives: ``verify_password``;
* an unknown user under PreventUserExistenceErrors: ``decoy_verifier`` answers like a real user would.

The math and the canonical forms are described in docs/srp.md.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from bastion.auth.srp_errors import IllegalSrpA, MalformedChallengeState, MalformedSrpA, SrpError
from bastion.auth.srp_group import (
    N_HEX,
    N,
    compute_u,
    compute_x,
    g,
    hex_hash,
    k,
    modpow,
    pad_hex,
    pool_name_from_pool_id,
)
from bastion.auth.srp_state import ChallengeState

__all__ = [
    "N_HEX",
    "SALT_BYTES",
    "SECRET_EXPONENT_BITS",
    "ChallengeState",
    "IllegalSrpA",
    "MalformedChallengeState",
    "MalformedSrpA",
    "N",
    "ServerChallenge",
    "SrpError",
    "Verifier",
    "check_claim",
    "decoy_verifier",
    "g",
    "hex_hash",
    "k",
    "make_verifier",
    "pad_hex",
    "parse_claim_timestamp",
    "parse_srp_a",
    "pool_name_from_pool_id",
    "start_challenge",
    "verify_password",
]

SALT_BYTES = 16  # what Cognito's own clients generate for device verifiers
SECRET_EXPONENT_BITS = 256  # twice the 128-bit security level of the 3072-bit group
_MAX_SRP_A_DIGITS = 1024  # N has 768 hex digits; room for leading zeros, not for a denial of service
_HEX_DIGITS = re.compile(r"[0-9a-fA-F]+")
_DERIVED_KEY_INFO = b"Caldera Derived Key\x01"  # HKDF info followed by the block counter 1
_DERIVED_KEY_BYTES = 16


@dataclass(frozen=True, slots=True)
class Verifier:
    """What a user pool stores for a password: the canonical SALT hex and ``v = g^x mod N``."""

    salt_hex: str
    verifier: int

    def __post_init__(self) -> None:
        # A verifier of 0 or 1 would make S predictable for anyone, so it is never accepted.
        if not 1 < self.verifier < N:
            raise ValueError("SRP verifier is outside the group")
        if not _HEX_DIGITS.fullmatch(self.salt_hex) or pad_hex(int(self.salt_hex, 16)) != self.salt_hex:
            raise ValueError("SRP salt is not in canonical padHex form")

    def __repr__(self) -> str:
        # The verifier allows an offline guessing attack on the password: keep it out of logs.
        return f"Verifier(salt_hex={self.salt_hex!r})"

    @property
    def verifier_hex(self) -> str:
        return pad_hex(self.verifier)

    def to_text(self) -> str:
        """One storable string, ``salt_hex:verifier_hex``."""
        return f"{self.salt_hex}:{self.verifier_hex}"

    @classmethod
    def from_text(cls, text: str) -> Verifier:
        salt_hex, sep, verifier_hex = text.partition(":")
        if not sep or not _HEX_DIGITS.fullmatch(verifier_hex):
            raise ValueError("not a stored SRP verifier")
        return cls(salt_hex=salt_hex, verifier=int(verifier_hex, 16))


def make_verifier(pool_name: str, user_id_for_srp: str, password: str, salt: bytes | None = None) -> Verifier:
    """Derive the stored verifier for a new password; ``salt`` defaults to 16 random bytes.

    The salt is sent to clients as ``pad_hex(int(salt))``: leading zero bytes disappear and a high first
    byte gains a ``00``. Clients differ in whether they re-pad the SALT they receive, so only this form
    makes every client compute the same ``x``. Raises ValueError for an empty salt or a password that is
    not encodable as UTF-8 (a lone surrogate).
    """
    if salt is None:
        salt = secrets.token_bytes(SALT_BYTES)
    if not salt:
        raise ValueError("SRP salt must not be empty")
    salt_hex = pad_hex(int.from_bytes(salt, "big"))
    x = compute_x(salt_hex, pool_name, user_id_for_srp, password)
    return Verifier(salt_hex=salt_hex, verifier=modpow(g, x, N))


def verify_password(verifier: Verifier, pool_name: str, user_id_for_srp: str, password: str) -> bool:
    """True when ``password`` is the one ``verifier`` was made from (USER_PASSWORD_AUTH)."""
    try:
        x = compute_x(verifier.salt_hex, pool_name, user_id_for_srp, password)
    except UnicodeEncodeError:
        return False
    candidate = pad_hex(modpow(g, x, N)).encode()
    return hmac.compare_digest(candidate, verifier.verifier_hex.encode())


def decoy_verifier(key: bytes, pool_name: str, username: str) -> Verifier:
    """A stable verifier for a user that does not exist, derived from a server secret ``key``.

    Answering USER_SRP_AUTH for an unknown name with a real-looking challenge (the same SALT every time,
    the same cost) hides which users exist; no one knows the password behind it.
    """
    label = b"srp-decoy\x00" + pool_name.encode() + b"\x00" + username.encode()
    seed = hmac.new(key, label, hashlib.sha256).digest()
    return make_verifier(pool_name, username, seed[SALT_BYTES:].hex(), salt=seed[:SALT_BYTES])


def parse_srp_a(srp_a_hex: str) -> int:
    """The client's public value A from its SRP_A parameter.

    Raises MalformedSrpA for anything but plain hex digits of sane length, IllegalSrpA when A mod N is 0
    or A is not below N (no honest client sends that: A = g^a mod N).
    """
    if len(srp_a_hex) > _MAX_SRP_A_DIGITS or not _HEX_DIGITS.fullmatch(srp_a_hex):
        raise MalformedSrpA("SRP_A must be a hex number")
    big_a = int(srp_a_hex, 16)
    if big_a % N == 0:
        raise IllegalSrpA("SRP_A mod N must not be 0")
    if big_a >= N:
        raise IllegalSrpA("SRP_A must be below N")
    return big_a


@dataclass(frozen=True, slots=True)
class ServerChallenge:
    """The answer to InitiateAuth: ``state`` is to be sealed into SECRET_BLOCK, the rest goes out in clear."""

    state: ChallengeState
    salt_hex: str

    @property
    def srp_b_hex(self) -> str:
        return format(self.state.big_b, "x")

    def challenge_parameters(self, secret_block_b64: str) -> dict[str, str]:
        """ChallengeParameters of the PASSWORD_VERIFIER challenge, as Cognito sends them."""
        user = self.state.user_id_for_srp
        return {
            "SALT": self.salt_hex,
            "SECRET_BLOCK": secret_block_b64,
            "SRP_B": self.srp_b_hex,
            "USERNAME": user,
            "USER_ID_FOR_SRP": user,
        }


def start_challenge(
    verifier: Verifier,
    srp_a_hex: str,
    *,
    user_id_for_srp: str,
    issued_at: int,
    randbits: Callable[[int], int] = secrets.randbits,
) -> ServerChallenge:
    """Pick the secret ``b`` and compute B = (k*v + g^b) mod N for the client's SRP_A.

    ``issued_at`` is the caller's clock in Unix seconds, kept in the state so the caller can expire it.
    ``randbits`` exists for tests; production uses the default. A ``b`` that yields B = 0 or u = 0 is
    replaced (both happen with negligible probability, but each would break the proof).
    Raises MalformedSrpA / IllegalSrpA for a bad SRP_A.
    """
    big_a = parse_srp_a(srp_a_hex)
    kv = k * verifier.verifier % N
    while True:
        b = randbits(SECRET_EXPONENT_BITS)
        if b == 0:
            continue
        big_b = (kv + modpow(g, b, N)) % N
        if big_b != 0 and compute_u(big_a, big_b) != 0:
            break
    state = ChallengeState(
        user_id_for_srp=user_id_for_srp, b=b, big_b=big_b, big_a=big_a, issued_at=issued_at
    )
    return ServerChallenge(state=state, salt_hex=verifier.salt_hex)


def check_claim(
    state: ChallengeState,
    verifier: Verifier,
    *,
    pool_name: str,
    user_id_for_srp: str,
    secret_block_b64: str,
    timestamp: str,
    signature_b64: str,
) -> bool:
    """True when PASSWORD_CLAIM_SIGNATURE proves knowledge of the password behind ``verifier``.

    ``secret_block_b64`` is PASSWORD_CLAIM_SECRET_BLOCK as received (the caller has unsealed it into
    ``state``), ``timestamp`` is TIMESTAMP verbatim. The signature is compared in constant time. Any
    malformed input is simply a failed claim.
    """
    if user_id_for_srp != state.user_id_for_srp:
        return False
    try:
        secret_block = base64.b64decode(secret_block_b64, validate=True)
        prefix = pool_name.encode() + user_id_for_srp.encode()
        suffix = timestamp.encode()
        signature = signature_b64.encode()
    except (binascii.Error, ValueError):  # bad base64, or a lone surrogate in a str
        return False
    u = compute_u(state.big_a, state.big_b)
    if u == 0:
        return False
    # S = (A * v^u)^b; the client reaches the same value as (B - k*g^x)^(a + u*x).
    big_s = modpow(state.big_a * modpow(verifier.verifier, u, N) % N, state.b, N)
    key = _derived_key(u, big_s)
    expected = hmac.new(key, prefix + secret_block + suffix, hashlib.sha256).digest()
    return hmac.compare_digest(base64.b64encode(expected), signature)


def _derived_key(u: int, big_s: int) -> bytes:
    """HKDF-SHA256 with salt padHex(u), input padHex(S), one 16-byte block of "Caldera Derived Key"."""
    prk = hmac.new(bytes.fromhex(pad_hex(u)), bytes.fromhex(pad_hex(big_s)), hashlib.sha256).digest()
    return hmac.new(prk, _DERIVED_KEY_INFO, hashlib.sha256).digest()[:_DERIVED_KEY_BYTES]


_TIMESTAMP = re.compile(
    r"(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun) (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) "
    r"([0-9]{1,2}) ([0-9]{2}):([0-9]{2}):([0-9]{2}) UTC ([0-9]{4})"
)
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def parse_claim_timestamp(text: str) -> datetime | None:
    """TIMESTAMP (``Tue Jan 2 03:04:05 UTC 2024``; a zero-padded day is accepted) as aware UTC, or None.

    The signature covers TIMESTAMP verbatim, so parsing is only for a freshness check by the caller.
    """
    match = _TIMESTAMP.fullmatch(text)
    if match is None:
        return None
    month, day, hour, minute, second, year = match.groups()
    try:
        return datetime(
            int(year), _MONTHS.index(month) + 1, int(day), int(hour), int(minute), int(second), tzinfo=UTC
        )
    except ValueError:
        return None
