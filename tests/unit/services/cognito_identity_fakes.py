"""Test doubles for identity pools: a user pool directory with its own RSA keys, ID tokens signed by it,
and a fully wired service over the memory store.
"""

from __future__ import annotations

import functools
import json
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa

from bastion.clock import OffsetClock
from bastion.sealing import Sealer
from bastion.services.authorizer import Authorizer
from bastion.services.cognito_identity.service import CognitoIdentityService, build_cognito_identity
from bastion.services.cognito_identity.user_pool_tokens import UserPoolKeys
from bastion.services.iam.service import IamService
from bastion.services.identity import SessionTokens
from bastion.services.sts.service import StsService
from bastion.storage.memory import MemoryStore

REGION = "us-east-1"
ACCOUNT = "123456789012"
USER_POOL = "us-east-1_TestPool1"
PROVIDER = f"cognito-idp.{REGION}.amazonaws.com/{USER_POOL}"
CLIENT = "clientapp1"


@functools.cache
def rsa_key(name: str) -> rsa.RSAPrivateKey:
    """One key per name for the whole run (generating RSA keys is the slow part)."""
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def jwk_of(key: rsa.RSAPrivateKey, kid: str) -> dict[str, Any]:
    jwk = jwt.algorithms.RSAAlgorithm.to_jwk(key.public_key(), as_dict=True)
    return {**jwk, "kid": kid, "alg": "RS256", "use": "sig"}


@dataclass
class FakeUserPools:
    """A UserPoolDirectory: pools by id, each with one signing key; users signed out by sub."""

    pools: dict[str, str] = field(default_factory=lambda: {USER_POOL: "pool-key"})
    signed_out: set[str] = field(default_factory=set)
    checked: list[str] = field(default_factory=list)

    async def signing_keys(self, user_pool_id: str) -> UserPoolKeys | None:
        key_name = self.pools.get(user_pool_id)
        if key_name is None:
            return None
        issuer = f"https://cognito-idp.{REGION}.amazonaws.com/{user_pool_id}"
        return UserPoolKeys(issuer, [jwk_of(rsa_key(key_name), f"kid-{key_name}")])

    async def signed_in(self, user_pool_id: str, token: str, claims: Mapping[str, Any]) -> bool:
        self.checked.append(str(claims["sub"]))
        return claims["sub"] not in self.signed_out


def id_token(
    sub: str,
    *,
    client_id: str = CLIENT,
    user_pool: str = USER_POOL,
    key_name: str = "pool-key",
    lifetime: int = 3600,
    now: float | None = None,
    **claims: Any,
) -> str:
    issued = int(time.time() if now is None else now)
    body: dict[str, Any] = {
        "sub": sub,
        "aud": client_id,
        "iss": f"https://cognito-idp.{REGION}.amazonaws.com/{user_pool}",
        "token_use": "id",
        "cognito:username": sub,
        "auth_time": issued,
        "iat": issued,
        "exp": issued + lifetime,
        "event_id": str(uuid.uuid4()),
    }
    body.update(claims)
    body = {k: v for k, v in body.items() if v is not None}
    return jwt.encode(body, rsa_key(key_name), algorithm="RS256", headers={"kid": f"kid-{key_name}"})


def trust_policy(pool_id: str, amr: str) -> str:
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Principal": {"Federated": "cognito-identity.amazonaws.com"},
                    "Action": "sts:AssumeRoleWithWebIdentity",
                    "Condition": {
                        "StringEquals": {"cognito-identity.amazonaws.com:aud": pool_id},
                        "ForAnyValue:StringLike": {"cognito-identity.amazonaws.com:amr": amr},
                    },
                }
            ],
        }
    )


def allow(*actions: str, resource: str = "*") -> str:
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Action": list(actions), "Resource": resource}],
        }
    )


@dataclass
class Env:
    store: MemoryStore
    iam: IamService
    sts: StsService
    authorizer: Authorizer
    service: CognitoIdentityService
    clock: OffsetClock
    user_pools: FakeUserPools

    def advance(self, seconds: float) -> None:
        self.clock.advance(timedelta(seconds=seconds))

    async def role(self, name: str, trust: str, *permissions: str) -> str:
        role = await self.iam.create_role(name, trust)
        for i, document in enumerate(permissions):
            await self.iam.put_inline_policy("role", name, f"p{i}", document)
        return role.arn


def make_env(sealer_key: bytes = b"k" * 32) -> Env:
    store = MemoryStore()
    clock = OffsetClock()
    sealer = Sealer(sealer_key)
    iam = IamService(store, account_id=ACCOUNT, sealer=sealer, clock=clock)
    sts = StsService(iam=iam, tokens=SessionTokens(sealer), account_id=ACCOUNT, clock=clock)
    authorizer = Authorizer(iam, store.meta, region=REGION, account_id=ACCOUNT)
    user_pools = FakeUserPools()
    service = build_cognito_identity(
        store.cognito_identity,
        iam=iam,
        sts=sts,
        sealer=sealer,
        clock=clock,
        region=REGION,
        account_id=ACCOUNT,
        user_pools=user_pools,
    )
    return Env(store, iam, sts, authorizer, service, clock, user_pools)
