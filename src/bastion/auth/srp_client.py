"""Client side of Cognito SRP, for Bastion's own tools, examples and tests.

Written apart from the server on purpose: numbers are encoded with ``int.to_bytes`` in the form of
Java's ``BigInteger.toByteArray`` rather than through hex strings, the SALT is re-padded from its value
as amazon-cognito-identity-js does, and the key derivation uses ``cryptography``'s HKDF. Only the group
(N, g) is shared. Real clients (pycognito, amazon-cognito-identity-js) check both sides in the tests.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

from cryptography.hazmat.primitives import hashes, hmac
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from bastion.auth.srp_group import N, g

_SECRET_BITS = 1024  # what the AWS clients draw for ``a``
_WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def _signed_bytes(value: int) -> bytes:
    """Minimal big-endian two's-complement bytes of a non-negative int (Java ``toByteArray``)."""
    return value.to_bytes(value.bit_length() // 8 + 1, "big")


def _hash_to_int(*parts: bytes) -> int:
    return int.from_bytes(hashlib.sha256(b"".join(parts)).digest(), "big")


_K = _hash_to_int(_signed_bytes(N), _signed_bytes(g))


@dataclass(frozen=True, slots=True)
class ClientEphemeral:
    """The client's secret ``a`` and public ``A = g^a mod N`` for one sign-in."""

    a: int
    big_a: int

    def __repr__(self) -> str:
        return f"ClientEphemeral(srp_a_hex={self.srp_a_hex[:16]!r}...)"

    @property
    def srp_a_hex(self) -> str:
        """SRP_A as the AWS clients send it: lower-case hex without padding."""
        return format(self.big_a, "x")


def new_ephemeral(a: int | None = None) -> ClientEphemeral:
    """A fresh ``a`` (1024 random bits) and its ``A``; pass ``a`` only for reproducible tests.

    N is prime, so g^a mod N is never 0 and the safety check on A cannot fail here.
    """
    secret = secrets.randbits(_SECRET_BITS) if a is None else a
    return ClientEphemeral(a=secret, big_a=pow(g, secret, N))


def format_timestamp(moment: datetime) -> str:
    """TIMESTAMP as the AWS clients write it: ``Tue Jan 2 03:04:05 UTC 2024`` (day not zero-padded)."""
    t = moment.astimezone(UTC)
    return (
        f"{_WEEKDAYS[t.weekday()]} {_MONTHS[t.month - 1]} {t.day} "
        f"{t.hour:02d}:{t.minute:02d}:{t.second:02d} UTC {t.year}"
    )


def password_claim_signature(
    ephemeral: ClientEphemeral,
    *,
    pool_name: str,
    user_id_for_srp: str,
    password: str,
    salt_hex: str,
    srp_b_hex: str,
    secret_block_b64: str,
    timestamp: str,
) -> str:
    """PASSWORD_CLAIM_SIGNATURE (base64) for the server's challenge. Raises ValueError on a bad B or u."""
    big_b = int(srp_b_hex, 16)
    if big_b % N == 0:
        raise ValueError("server sent B mod N == 0")
    u = _hash_to_int(_signed_bytes(ephemeral.big_a), _signed_bytes(big_b))
    if u == 0:
        raise ValueError("u == 0")
    identity = hashlib.sha256(f"{pool_name}{user_id_for_srp}:{password}".encode()).digest()
    x = _hash_to_int(_signed_bytes(int(salt_hex, 16)), identity)
    big_s = pow((big_b - _K * pow(g, x, N)) % N, ephemeral.a + u * x, N)
    key = HKDF(
        algorithm=hashes.SHA256(), length=16, salt=_signed_bytes(u), info=b"Caldera Derived Key"
    ).derive(_signed_bytes(big_s))
    mac = hmac.HMAC(key, hashes.SHA256())
    for part in (
        pool_name.encode(),
        user_id_for_srp.encode(),
        base64.b64decode(secret_block_b64),
        timestamp.encode(),
    ):
        mac.update(part)
    return base64.b64encode(mac.finalize()).decode()


def password_verifier_responses(
    ephemeral: ClientEphemeral,
    *,
    pool_name: str,
    password: str,
    challenge_parameters: Mapping[str, str],
    now: datetime,
) -> dict[str, str]:
    """ChallengeResponses for RespondToAuthChallenge(PASSWORD_VERIFIER), as Amplify builds them.

    Add SECRET_HASH (computed over the returned USERNAME) when the app client has a secret.
    """
    user = challenge_parameters["USER_ID_FOR_SRP"]
    timestamp = format_timestamp(now)
    signature = password_claim_signature(
        ephemeral,
        pool_name=pool_name,
        user_id_for_srp=user,
        password=password,
        salt_hex=challenge_parameters["SALT"],
        srp_b_hex=challenge_parameters["SRP_B"],
        secret_block_b64=challenge_parameters["SECRET_BLOCK"],
        timestamp=timestamp,
    )
    return {
        "USERNAME": user,
        "PASSWORD_CLAIM_SECRET_BLOCK": challenge_parameters["SECRET_BLOCK"],
        "TIMESTAMP": timestamp,
        "PASSWORD_CLAIM_SIGNATURE": signature,
    }
