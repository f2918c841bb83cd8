"""The canonical query's percent-encoding agrees with botocore's (the signer every AWS SDK follows)."""

from __future__ import annotations

from urllib.parse import quote

from botocore.utils import percent_encode
from hypothesis import given
from hypothesis import strategies as st

from bastion.auth.sigv4_canonical import query_encode


def test_every_byte_is_encoded_as_the_signer_encodes_it() -> None:
    for byte in range(256):
        raw = bytes([byte])
        assert query_encode(raw) == percent_encode(raw) == quote(raw, safe="-_.~")


def test_session_token_shaped_values() -> None:
    token = b"IQoJb3JpZ2luX2VjEO3//////////wEaCXVzLWVhc3QtMSJHMEUCIQ+/=" * 40
    assert query_encode(token) == percent_encode(token)
    assert query_encode(b"") == ""


@given(st.binary(max_size=300))
def test_agrees_with_botocore_on_any_bytes(raw: bytes) -> None:
    assert query_encode(raw) == percent_encode(raw)
