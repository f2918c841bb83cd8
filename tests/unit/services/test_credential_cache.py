"""CachingCredentialResolver: the broker's credentials, the same answers as CredentialResolver, from caches
that the authorization generation keeps current (tests/e2e/test_mqtt_key_revocation.py checks it end to
end through a started server)."""

from __future__ import annotations

import os
from datetime import timedelta

import pytest

from bastion.clock import OffsetClock
from bastion.sealing import Sealer
from bastion.services.authorizer import Authorizer
from bastion.services.iam.service import IamService
from bastion.services.identity import (
    CachingCredentialResolver,
    CredentialError,
    CredentialResolver,
    Principal,
    PrincipalKind,
)
from bastion.storage.memory import MemoryStore

ACCOUNT = "123456789012"
ADMIN = ("AKIAADMINEXAMPLE0001", "admin-secret")


class Setup:
    def __init__(self) -> None:
        self.clock = OffsetClock()
        store = MemoryStore()
        sealer = Sealer(os.urandom(32))
        self.iam = IamService(store, account_id=ACCOUNT, sealer=sealer, clock=self.clock)
        self.resolver = CredentialResolver(
            account_id=ACCOUNT,
            admin_access_key_id=ADMIN[0],
            admin_secret_access_key=ADMIN[1],
            iam=store.iam,
            sealer=sealer,
            clock=self.clock,
        )
        self.authorizer = Authorizer(self.iam, store.meta, region="us-east-1", account_id=ACCOUNT)
        self.cached = CachingCredentialResolver(
            self.resolver, lambda: self.authorizer.generation, token_limit=2
        )

    async def user_key(self) -> tuple[str, str]:
        await self.iam.create_user("device")
        created = await self.iam.create_access_key("device")
        await self.authorizer.sync_generation()
        return created.key.access_key_id, created.secret_access_key

    def session(
        self,
        secret: str = "temp-secret",  # noqa: S107 - a test value
        lifetime: timedelta = timedelta(hours=1),
    ) -> str:
        principal = Principal(
            kind=PrincipalKind.ROLE_SESSION,
            account_id=ACCOUNT,
            arn=f"arn:aws:sts::{ACCOUNT}:assumed-role/r/s",
            user_id="AROAEXAMPLE:s",
            access_key_id="ASIAEXAMPLE000000001",
            role_name="r",
            session_name="s",
            expires=self.clock.now() + lifetime,
        )
        return self.resolver.tokens.mint(principal, secret)


async def test_a_user_key_is_served_until_the_generation_moves() -> None:
    setup = Setup()
    key, secret = await setup.user_key()
    resolved = await setup.cached.resolve(key, None)
    assert resolved.secret_access_key == secret
    assert resolved.principal.kind is PrincipalKind.IAM_USER
    assert resolved.principal.user_name == "device"

    await setup.iam.update_access_key("device", key, "Inactive")
    # Until the change is noticed (the authorizer's watch, every 250 ms) the cached answer stands ...
    assert (await setup.cached.resolve(key, None)).secret_access_key == secret
    # ... and not a moment after.
    await setup.authorizer.sync_generation()
    with pytest.raises(CredentialError) as refused:
        await setup.cached.resolve(key, None)
    assert refused.value.reason == CredentialError.INACTIVE

    # Refusals are never cached: the key works again as soon as it is active.
    await setup.iam.update_access_key("device", key, "Active")
    assert (await setup.cached.resolve(key, None)).secret_access_key == secret

    await setup.iam.delete_access_key("device", key)
    await setup.authorizer.sync_generation()
    with pytest.raises(CredentialError) as unknown:
        await setup.cached.resolve(key, None)
    assert unknown.value.reason == CredentialError.UNKNOWN_KEY


async def test_same_answers_as_the_resolver() -> None:
    setup = Setup()
    key, _ = await setup.user_key()
    token = setup.session()
    for access_key_id, session_token in (
        (key, None),
        (ADMIN[0], None),
        (ADMIN[0], token),  # the admin key wins over any token, as in CredentialResolver
        ("ASIAEXAMPLE000000001", token),
    ):
        assert await setup.cached.resolve(access_key_id, session_token) == await setup.resolver.resolve(
            access_key_id, session_token
        )
    for access_key_id, session_token in (
        ("AKIAUNKNOWN000000001", None),
        ("ASIAEXAMPLE000000001", None),  # a temporary key without its token
        ("ASIAOTHERKEY00000001", token),  # someone else's token
        ("ASIAEXAMPLE000000001", "forged"),
    ):
        with pytest.raises(CredentialError):
            await setup.cached.resolve(access_key_id, session_token)


async def test_an_opened_session_token_still_expires() -> None:
    setup = Setup()
    token = setup.session(lifetime=timedelta(minutes=5))
    assert (await setup.cached.resolve("ASIAEXAMPLE000000001", token)).secret_access_key == "temp-secret"
    setup.clock.advance(timedelta(minutes=6))
    with pytest.raises(CredentialError) as expired:
        await setup.cached.resolve("ASIAEXAMPLE000000001", token)
    assert expired.value.reason == CredentialError.EXPIRED


async def test_opened_tokens_are_bounded() -> None:
    setup = Setup()
    tokens = [setup.session(secret=f"secret-{n}") for n in range(5)]
    for n, token in enumerate(tokens):
        resolved = await setup.cached.resolve("ASIAEXAMPLE000000001", token)
        assert resolved.secret_access_key == f"secret-{n}"
    assert len(setup.cached._tokens) == 2
