from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from bastion.sealing import Sealer, UnsealError, load_or_create_master_key


def test_seal_round_trip_and_purpose_binding() -> None:
    sealer = Sealer(os.urandom(32))
    sealed = sealer.seal(b"secret", purpose=b"a")
    assert b"secret" not in sealed
    assert sealer.unseal(sealed, purpose=b"a") == b"secret"
    with pytest.raises(UnsealError):
        sealer.unseal(sealed, purpose=b"b")


def test_tampering_and_foreign_keys_are_detected() -> None:
    sealer = Sealer(os.urandom(32))
    sealed = bytearray(sealer.seal(b"secret", purpose=b"p"))
    sealed[-1] ^= 1
    with pytest.raises(UnsealError):
        sealer.unseal(bytes(sealed), purpose=b"p")
    other = Sealer(os.urandom(32))
    with pytest.raises(UnsealError):
        other.unseal(sealer.seal(b"x", purpose=b"p"), purpose=b"p")
    for junk in ("", "!!!", "AAAA", "x" * 500):
        with pytest.raises(UnsealError):
            sealer.unseal_text(junk, purpose=b"p")


def test_master_key_file_is_private_and_stable(tmp_path: Path) -> None:
    key = load_or_create_master_key(tmp_path, None)
    mode = stat.S_IMODE((tmp_path / "master.key").stat().st_mode)
    assert mode == 0o600
    assert load_or_create_master_key(tmp_path, None) == key


def test_master_key_from_environment(tmp_path: Path) -> None:
    import base64

    key = os.urandom(32)
    assert load_or_create_master_key(tmp_path, base64.b64encode(key).decode()) == key
    assert not (tmp_path / "master.key").exists()
    with pytest.raises(ValueError, match="32 bytes"):
        load_or_create_master_key(tmp_path, base64.b64encode(b"short").decode())
