"""Shared pieces of the Cognito user-pool service tests: a service over the memory store, a clock the
tests move, a sender that records what it would deliver, and an SRP sign-in driven by Bastion's client."""

from __future__ import annotations

import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from bastion.auth import srp_client
from bastion.sealing import Sealer
from bastion.services.cognito_idp import CognitoIdpService
from bastion.services.cognito_idp.delivery import CodeMessage, DeliveryError
from bastion.services.cognito_idp.hashing import secret_hash
from bastion.services.cognito_idp.settings import ClientSettings, PoolSettings
from bastion.services.cognito_idp.signin import AuthResult
from bastion.storage.memory import MemoryStore

REGION = "eu-west-1"
ACCOUNT = "123456789012"
PASSWORD = "Corr3ct-Horse"
T0 = datetime(2030, 5, 6, 7, 8, 9, tzinfo=UTC)


class ManualClock:
    def __init__(self, start: datetime = T0) -> None:
        self.moment = start

    def now(self) -> datetime:
        return self.moment

    def advance(self, **delta: float) -> None:
        self.moment += timedelta(**delta)


@dataclass
class RecordingSender:
    sent: list[CodeMessage] = field(default_factory=list)
    fail: bool = False

    async def send(self, message: CodeMessage) -> None:
        if self.fail:
            raise DeliveryError("mail server unreachable")
        self.sent.append(message)

    def last_code(self, username: str | None = None) -> str:
        for message in reversed(self.sent):
            if username is None or message.username == username or message.destination == username:
                return message.secret
        raise AssertionError(f"no code was sent to {username}")


@dataclass
class Harness:
    svc: CognitoIdpService
    clock: ManualClock
    sender: RecordingSender
    store: MemoryStore

    async def pool(self, **settings: Any) -> str:
        view = await self.svc.pools.create_pool("pool", PoolSettings(**settings))
        return view.pool.id

    async def client(self, pool_id: str, *, secret: bool = False, **settings: Any) -> tuple[str, str | None]:
        flows = settings.pop(
            "explicit_auth_flows",
            (
                "ALLOW_USER_SRP_AUTH",
                "ALLOW_USER_PASSWORD_AUTH",
                "ALLOW_REFRESH_TOKEN_AUTH",
                "ALLOW_ADMIN_USER_PASSWORD_AUTH",
            ),
        )
        client = await self.svc.pools.create_client(
            pool_id, "app", ClientSettings(explicit_auth_flows=flows, **settings), generate_secret=secret
        )
        return client.id, client.secret

    async def confirmed_user(
        self,
        pool_id: str,
        username: str,
        attributes: Mapping[str, str] | None = None,
        password: str = PASSWORD,
    ) -> str:
        user = await self.svc.users.admin_create_user(
            pool_id, username, dict(attributes or {}), temporary=password, message_action="SUPPRESS"
        )
        await self.svc.users.admin_set_user_password(pool_id, username, password, True)
        return user.sub

    async def password_sign_in(
        self, client_id: str, username: str, password: str = PASSWORD, **extra: str
    ) -> AuthResult:
        params = {"USERNAME": username, "PASSWORD": password, **extra}
        return await self.svc.signin.initiate(client_id, "USER_PASSWORD_AUTH", params)

    async def srp_sign_in(
        self,
        client_id: str,
        pool_id: str,
        username: str,
        password: str = PASSWORD,
        *,
        secret: str | None = None,
    ) -> AuthResult:
        """USER_SRP_AUTH then PASSWORD_VERIFIER; with ``secret``, SECRET_HASH over the name each step uses."""
        # A 256-bit client secret keeps the tests fast; A is still a full group element.
        ephemeral = srp_client.new_ephemeral(secrets.randbits(256))
        params = {"USERNAME": username, "SRP_A": ephemeral.srp_a_hex}
        if secret is not None:
            params["SECRET_HASH"] = secret_hash(secret, username, client_id)
        started = await self.svc.signin.initiate(client_id, "USER_SRP_AUTH", params)
        assert started.challenge == "PASSWORD_VERIFIER"
        responses = srp_client.password_verifier_responses(
            ephemeral,
            pool_name=pool_id.split("_", 1)[1],
            password=password,
            challenge_parameters=started.parameters,
            now=self.clock.now(),
        )
        if secret is not None:
            responses["SECRET_HASH"] = secret_hash(secret, responses["USERNAME"], client_id)
        return await self.svc.signin.respond(client_id, "PASSWORD_VERIFIER", responses, None)


def harness() -> Harness:
    store = MemoryStore()
    clock = ManualClock()
    sender = RecordingSender()
    master = os.urandom(32)
    svc = CognitoIdpService(
        store.cognito_idp,
        sealer=Sealer(master),
        master_key=master,
        clock=clock,
        region=REGION,
        account_id=ACCOUNT,
        sender=sender,
    )
    return Harness(svc, clock, sender, store)
