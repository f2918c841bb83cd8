"""Self-service sign-up and password recovery (unsigned operations, authorized by the app client).

SignUp → (code by e-mail or SMS) → ConfirmSignUp; ResendConfirmationCode; ForgotPassword →
ConfirmForgotPassword. Under PreventUserExistenceErrors an unknown user gets the answer a real one would
(a simulated delivery, or "wrong code") instead of UserNotFoundException.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass

from bastion.services.cognito_idp import codes, ids, schema
from bastion.services.cognito_idp.core import Client, Core, Delivery, Pool
from bastion.services.cognito_idp.errors import CodeMismatchError, UsernameExistsError, UserNotFoundError
from bastion.services.cognito_idp.passwords import check_password
from bastion.services.cognito_idp.users import new_username, set_password
from bastion.services.errors import InvalidInputError, NotAuthorizedError
from bastion.storage.cognito_idp import PoolUserRecord

NOT_FOUND = "Username/client id combination not found."


@dataclass(frozen=True, slots=True)
class SignUpResult:
    sub: str
    confirmed: bool
    delivery: Delivery | None


class Registration:
    def __init__(self, core: Core) -> None:
        self._core = core

    async def _context(self, client_id: str) -> tuple[Client, Pool]:
        client = await self._core.client(client_id)
        return client, await self._core.pool(client.pool_id)

    async def _user_or_none(
        self, client: Client, pool: Pool, username: str, secret_hash: str | None
    ) -> PoolUserRecord | None:
        user = await self._core.find_user(pool, username)
        names = (username,) if user is None else (username, user.username)
        self._core.check_secret_hash(client, secret_hash, *names)
        return user

    def _missing(self, client: Client) -> None:
        if not client.settings.prevents_user_existence_errors:
            raise UserNotFoundError(NOT_FOUND)

    def _exists_error(self, pool: Pool) -> UsernameExistsError:
        kinds = pool.settings.username_attributes
        if kinds:
            return UsernameExistsError(f"An account with the given {kinds[0]} already exists.")
        return UsernameExistsError("User already exists")

    async def sign_up(
        self,
        client_id: str,
        *,
        username: str,
        password: str | None,
        attributes: Mapping[str, str],
        secret_hash: str | None,
    ) -> SignUpResult:
        core = self._core
        client, pool = await self._context(client_id)
        core.check_secret_hash(client, secret_hash, username)
        if pool.settings.allow_admin_create_user_only:
            raise NotAuthorizedError("SignUp is not permitted for this user pool")
        if password is None:
            raise InvalidInputError("A password is required to sign up.")
        attrs = dict(attributes)
        sub = ids.sub()
        stored = new_username(pool, username, attrs, sub)
        schema.check_values(pool.settings.schema, attrs, creating=True)
        allowed = schema.writable(pool.settings.schema, client.settings.write_attributes)
        if any(name not in allowed for name in attributes):
            raise NotAuthorizedError("A client attempted to write unauthorized attribute")
        check_password(pool.settings.password_policy, password)
        if await core.find_user(pool, username) is not None:
            raise self._exists_error(pool)
        now = core.now()
        user = PoolUserRecord(
            pool_id=pool.id,
            sub=sub,
            username=stored,
            username_key=pool.key(stored),
            status="UNCONFIRMED",
            enabled=True,
            created=now,
            updated=now,
            attributes=attrs,
        )
        user = await core.create_user(
            pool, await set_password(pool, user, password, status="UNCONFIRMED", now=now)
        )
        target = core.code_target(user, _auto_verified(pool))
        delivery = None
        if target is not None:
            delivery = await core.send_code(
                pool, user, kind="SIGN_UP", purpose=codes.SIGN_UP, attribute=target
            )
        return SignUpResult(sub, False, delivery)

    async def confirm_sign_up(
        self, client_id: str, username: str, code: str, *, secret_hash: str | None, force_alias: bool = False
    ) -> None:
        client, pool = await self._context(client_id)
        user = await self._user_or_none(client, pool, username, secret_hash)
        if user is None:
            self._missing(client)
            raise CodeMismatchError(codes.MISMATCH)
        if user.status != "UNCONFIRMED":
            raise NotAuthorizedError(f"User cannot be confirmed. Current status is {user.status}")
        await self._core.codes.consume(pool.id, user.sub, codes.SIGN_UP, code)
        attributes = dict(user.attributes)
        # The code went to the first auto-verified attribute the user has; receiving it verifies that.
        target = self._core.code_target(user, _auto_verified(pool))
        if target is not None:
            attributes[schema.VERIFIED_FLAGS[target]] = "true"
        confirmed = dataclasses.replace(user, status="CONFIRMED", attributes=attributes)
        await self._core.save_user(pool, confirmed, force_alias=force_alias)

    async def resend_confirmation_code(
        self, client_id: str, username: str, *, secret_hash: str | None
    ) -> Delivery:
        client, pool = await self._context(client_id)
        user = await self._user_or_none(client, pool, username, secret_hash)
        if user is None:
            self._missing(client)
            return self._core.simulated_delivery(pool, username)
        if user.status != "UNCONFIRMED":
            raise InvalidInputError("User is already confirmed.")
        target = self._core.code_target(user, _auto_verified(pool))
        if target is None:
            raise InvalidInputError("Cannot resend codes. Auto verification not turned on.")
        return await self._core.send_code(pool, user, kind="SIGN_UP", purpose=codes.SIGN_UP, attribute=target)

    async def forgot_password(self, client_id: str, username: str, *, secret_hash: str | None) -> Delivery:
        client, pool = await self._context(client_id)
        user = await self._user_or_none(client, pool, username, secret_hash)
        if user is None:
            self._missing(client)
            return self._core.simulated_delivery(pool, username)
        if not user.enabled:
            raise NotAuthorizedError("User is disabled.")
        verified = tuple(
            name
            for name in ("email", "phone_number")
            if user.attributes.get(schema.VERIFIED_FLAGS[name]) == "true"
        )
        # A user whose password an administrator reset may not have verified anything yet.
        candidates = verified or (("email", "phone_number") if user.status == "RESET_REQUIRED" else ())
        target = self._core.code_target(user, candidates)
        if target is None:
            raise InvalidInputError(
                "Cannot reset password for the user as there is no registered/verified email or phone_number"
            )
        return await self._core.send_code(
            pool, user, kind="FORGOT_PASSWORD", purpose=codes.FORGOT_PASSWORD, attribute=target
        )

    async def confirm_forgot_password(
        self, client_id: str, username: str, code: str, password: str, *, secret_hash: str | None
    ) -> None:
        client, pool = await self._context(client_id)
        user = await self._user_or_none(client, pool, username, secret_hash)
        if user is None:
            self._missing(client)
            raise CodeMismatchError(codes.MISMATCH)
        check_password(pool.settings.password_policy, password)
        await self._core.codes.consume(pool.id, user.sub, codes.FORGOT_PASSWORD, code)
        status = "CONFIRMED" if user.status in ("RESET_REQUIRED", "FORCE_CHANGE_PASSWORD") else user.status
        updated = await set_password(pool, user, password, status=status, now=self._core.now())
        await self._core.save_user(pool, updated)
        await self._core.repo.clear_failed_sign_ins(pool.id, user.sub)


def _auto_verified(pool: Pool) -> tuple[str, ...]:
    """Where sign-up codes go: e-mail first, then phone, among the pool's auto-verified attributes."""
    return tuple(a for a in ("email", "phone_number") if a in pool.settings.auto_verified_attributes)
