"""The SRP-6a group and the hashing conventions Amazon Cognito's clients use.

Every Cognito client (amazon-cognito-identity-js, Amplify, the AWS SDKs, pycognito) hashes big
integers in the form of Java's ``BigInteger.toByteArray``: big-endian, minimal length, with one extra
zero byte when the top bit is set so the number reads as positive. Written in hex that is ``pad_hex``.
A server that hashes any other form computes a different ``k``, ``u`` or ``x`` and no client can sign in.
"""

from __future__ import annotations

import hashlib

try:  # GMP's modular exponentiation is about six times faster than CPython's on 3072-bit numbers.
    from gmpy2 import powmod as _gmp_powmod
except ImportError:  # pragma: no cover - gmpy2 is a dependency; this keeps the module usable without it
    _gmp_powmod = None

# RFC 3526, section 4: the 3072-bit MODP group (group 15). Cognito uses it with generator 2.
N_HEX = (
    "FFFFFFFFFFFFFFFFC90FDAA22168C234C4C6628B80DC1CD129024E088A67CC74020BBEA63B139B22514A08798E3404DD"
    "EF9519B3CD3A431B302B0A6DF25F14374FE1356D6D51C245E485B576625E7EC6F44C42E9A637ED6B0BFF5CB6F406B7ED"
    "EE386BFB5A899FA5AE9F24117C4B1FE649286651ECE45B3DC2007CB8A163BF0598DA48361C55D39A69163FA8FD24CF5F"
    "83655D23DCA3AD961C62F356208552BB9ED529077096966D670C354E4ABC9804F1746C08CA18217C32905E462E36CE3B"
    "E39E772C180E86039B2783A2EC07A28FB5C55DF06F4C52C9DE2BCBF6955817183995497CEA956AE515D2261898FA0510"
    "15728E5A8AAAC42DAD33170D04507A33A85521ABDF1CBA64ECFB850458DBEF0A8AEA71575D060C7DB3970F85A6E1E4C7"
    "ABF5AE8CDB0933D71E8C94E04A25619DCEE3D2261AD2EE6BF12FFA06D98A0864D87602733EC86A64521F2B18177B200C"
    "BBE117577A615D6C770988C0BAD946E208E24FA074E5AB3143DB5BFCE0FD108E4B82D120A93AD2CAFFFFFFFFFFFFFFFF"
)
N = int(N_HEX, 16)
g = 2
N_BYTES = (N.bit_length() + 7) // 8  # 384


def modpow(base: int, exponent: int, modulus: int) -> int:
    """``pow(base, exponent, modulus)``, through GMP when available (the cost of every SRP sign-in)."""
    if _gmp_powmod is None:
        return pow(base, exponent, modulus)
    return int(_gmp_powmod(base, exponent, modulus))


def pad_hex(value: int) -> str:
    """Lower-case hex of a non-negative integer as Cognito clients hash it.

    Even length, and ``00`` in front when the first nibble is 8-f (the sign byte of a Java BigInteger),
    so 0 -> ``"00"``, 0x80 -> ``"0080"``, 0x123 -> ``"0123"``.
    """
    if value < 0:
        raise ValueError("SRP values are never negative")
    text = format(value, "x")
    if len(text) % 2:
        text = "0" + text
    if text[0] in "89abcdef":
        text = "00" + text
    return text


def hash_hex(data: bytes) -> str:
    """SHA-256 of ``data`` as 64 lower-case hex digits."""
    return hashlib.sha256(data).hexdigest()


def hex_hash(hex_text: str) -> str:
    """SHA-256 of the bytes a hex string spells, as 64 hex digits (``hexHash`` in the JS client)."""
    return hash_hex(bytes.fromhex(hex_text))


# k = H(N | g) over the padded forms: H("00" + N_HEX + "02").
k = int(hex_hash(pad_hex(N) + pad_hex(g)), 16)


def password_hash_hex(pool_name: str, user_id_for_srp: str, password: str) -> str:
    """The inner hash of ``x``: H(utf8(poolName + userIdForSrp + ":" + password))."""
    return hash_hex(f"{pool_name}{user_id_for_srp}:{password}".encode())


def compute_x(salt_hex: str, pool_name: str, user_id_for_srp: str, password: str) -> int:
    """The private key ``x`` = H(SALT_HEX | inner hash), ``salt_hex`` taken verbatim as the client sees it."""
    return int(hex_hash(salt_hex + password_hash_hex(pool_name, user_id_for_srp, password)), 16)


def compute_u(big_a: int, big_b: int) -> int:
    """The scrambling parameter ``u`` = H(padHex(A) | padHex(B))."""
    return int(hex_hash(pad_hex(big_a) + pad_hex(big_b)), 16)


def pool_name_from_pool_id(pool_id: str) -> str:
    """The part of a pool id after ``_`` (``us-east-1_AbCdEf123`` -> ``AbCdEf123``), as clients split it."""
    region, sep, name = pool_id.partition("_")
    if not sep or not region or not name or "_" in name:
        raise ValueError(f"not a user pool id: {pool_id!r}")
    return name
