from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta

import pytest

from bastion.sealing import Sealer
from bastion.services.identity import (
    CredentialError,
    Principal,
    PrincipalKind,
    SessionTokens,
    WebIdentity,
)


def _principal() -> Principal:
    return Principal(
        kind=PrincipalKind.ROLE_SESSION,
        account_id="123456789012",
        arn="arn:aws:sts::123456789012:assumed-role/r/CognitoIdentityCredentials",
        user_id="AROAEXAMPLE:CognitoIdentityCredentials",
        access_key_id="ASIAEXAMPLE",
        role_name="r",
        role_arn="arn:aws:iam::123456789012:role/r",
        expires=datetime(2030, 1, 1, tzinfo=UTC) + timedelta(seconds=5),
        web_identity=WebIdentity(
            "cognito-identity.amazonaws.com", "us-east-1:abc", "us-east-1:pool", ("authenticated",), True
        ),
        session_policy='{"Version":"2012-10-17","Statement":[]}',
    )


def test_token_carries_the_whole_session() -> None:
    tokens = SessionTokens(Sealer(os.urandom(32)))
    token = tokens.mint(_principal(), "s3cr3t")
    assert "s3cr3t" not in token
    principal, secret = tokens.open(token)
    assert principal == _principal()
    assert secret == "s3cr3t"


def test_forged_token_is_unknown() -> None:
    tokens = SessionTokens(Sealer(os.urandom(32)))
    other = SessionTokens(Sealer(os.urandom(32)))
    with pytest.raises(CredentialError) as exc:
        tokens.open(other.mint(_principal(), "x"))
    assert exc.value.reason == CredentialError.UNKNOWN_KEY
