"""Administration of a pool's users (the signed Admin* operations and ListUsers)."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta

from bastion.auth import srp
from bastion.services.cognito_idp import codes, ids, schema
from bastion.services.cognito_idp.core import DELIVERY_MEDIUM, Core, Pool
from bastion.services.cognito_idp.errors import UsernameExistsError, UserNotFoundError
from bastion.services.cognito_idp.filters import parse_filter
from bastion.services.cognito_idp.passwords import check_password, temporary_password
from bastion.services.cognito_idp.profile import update_attributes
from bastion.services.errors import InvalidInputError, NotAuthorizedError
from bastion.storage import interfaces as st
from bastion.storage.cognito_idp import PoolUserRecord, users_listing
from bastion.storage.paging import encode_marker

_MEDIUM_ATTRIBUTE = {medium: attribute for attribute, medium in DELIVERY_MEDIUM.items()}
MAX_LIST_USERS = 60
_SCAN_BATCH = 100


def new_username(pool: Pool, username: str, attributes: dict[str, str], sub: str) -> str:
    """The stored username for a new user; fills the sign-in attribute when the pool signs in with one.

    With UsernameAttributes the name given must be an e-mail address or phone number, and the user's
    username becomes its sub. With AliasAttributes the username must not look like an alias.
    """
    settings = pool.settings
    if settings.username_attributes:
        for kind in settings.username_attributes:
            matches = schema.looks_like_email if kind == "email" else schema.looks_like_phone
            if matches(username):
                if attributes.get(kind, username) != username:
                    raise InvalidInputError(f"The {kind} attribute must equal the username.")
                attributes[kind] = username
                return sub
        if settings.username_attributes == ("email",):
            raise InvalidInputError("Username should be an email.")
        if settings.username_attributes == ("phone_number",):
            raise InvalidInputError("Username should be a phone number.")
        raise InvalidInputError("Username should be either an email or a phone number.")
    if "email" in settings.alias_attributes and schema.looks_like_email(username):
        raise InvalidInputError(
            "Username cannot be of email format, since user pool is configured for email alias."
        )
    if "phone_number" in settings.alias_attributes and schema.looks_like_phone(username):
        raise InvalidInputError(
            "Username cannot be of phone number format, since user pool is configured for phone_number alias."
        )
    return username


async def set_password(
    pool: Pool, user: PoolUserRecord, password: str, *, status: str, now: datetime
) -> PoolUserRecord:
    """``user`` with a new SRP verifier (computed off the event loop: it is a big-number exponentiation)."""
    verifier = await asyncio.to_thread(srp.make_verifier, pool.srp_name, user.username, password)
    return dataclasses.replace(user, verifier=verifier.to_text(), status=status, password_set=now)


class UserAdmin:
    def __init__(self, core: Core) -> None:
        self._core = core
        self._repo = core.repo

    async def admin_create_user(
        self,
        pool_id: str,
        username: str,
        attributes: Mapping[str, str],
        *,
        temporary: str | None = None,
        message_action: str | None = None,
        mediums: Sequence[str] = ("SMS",),
    ) -> PoolUserRecord:
        core = self._core
        pool = await core.pool(pool_id)
        policy = pool.settings.password_policy
        if temporary is not None:
            check_password(policy, temporary)
        secret = temporary or temporary_password(policy)
        if message_action == "RESEND":
            user = await core.require_user(pool, username)
            if user.status != "FORCE_CHANGE_PASSWORD":
                raise InvalidInputError("Resend is only possible for a user that has not set a password yet.")
            user = await set_password(pool, user, secret, status="FORCE_CHANGE_PASSWORD", now=core.now())
            user = await core.save_user(pool, user)
        else:
            attrs = dict(attributes)
            sub = ids.sub()
            stored = new_username(pool, username, attrs, sub)
            schema.check_values(pool.settings.schema, attrs, creating=True)
            if await core.find_user(pool, username) is not None:
                raise UsernameExistsError("User account already exists")
            now = core.now()
            user = PoolUserRecord(
                pool_id=pool.id,
                sub=sub,
                username=stored,
                username_key=pool.key(stored),
                status="FORCE_CHANGE_PASSWORD",
                enabled=True,
                created=now,
                updated=now,
                attributes=attrs,
            )
            user = await set_password(pool, user, secret, status="FORCE_CHANGE_PASSWORD", now=now)
            user = await core.create_user(pool, user)
        if message_action != "SUPPRESS":
            expires = core.now() + timedelta(days=policy.temporary_password_validity_days)
            for medium in dict.fromkeys(mediums):
                attribute = _MEDIUM_ATTRIBUTE[medium]
                if user.attributes.get(attribute):
                    await core.send(
                        pool, user, kind="INVITATION", attribute=attribute, secret=secret, expires=expires
                    )
        return user

    async def admin_get_user(self, pool_id: str, username: str) -> PoolUserRecord:
        pool = await self._core.pool(pool_id)
        return await self._core.require_user(pool, username)

    async def admin_delete_user(self, pool_id: str, username: str) -> None:
        pool = await self._core.pool(pool_id)
        user = await self._core.require_user(pool, username)
        try:
            await self._repo.delete_user(pool.id, user.sub)
        except st.NotFound as exc:
            raise UserNotFoundError("User does not exist.") from exc

    async def admin_confirm_sign_up(self, pool_id: str, username: str) -> None:
        pool = await self._core.pool(pool_id)
        user = await self._core.require_user(pool, username)
        if user.status != "UNCONFIRMED":
            raise NotAuthorizedError(f"User cannot be confirmed. Current status is {user.status}")
        await self._core.save_user(pool, dataclasses.replace(user, status="CONFIRMED"))
        await self._repo.delete_code(pool.id, user.sub, codes.SIGN_UP)

    async def admin_set_user_password(
        self, pool_id: str, username: str, password: str, permanent: bool
    ) -> None:
        pool = await self._core.pool(pool_id)
        user = await self._core.require_user(pool, username)
        check_password(pool.settings.password_policy, password)
        status = "CONFIRMED" if permanent else "FORCE_CHANGE_PASSWORD"
        user = await set_password(pool, user, password, status=status, now=self._core.now())
        await self._core.save_user(pool, user)
        await self._repo.clear_failed_sign_ins(pool.id, user.sub)

    async def admin_reset_user_password(self, pool_id: str, username: str) -> None:
        """Require a new password: the current one stops working and a reset code is sent if possible."""
        pool = await self._core.pool(pool_id)
        user = await self._core.require_user(pool, username)
        user = await self._core.save_user(
            pool, dataclasses.replace(user, status="RESET_REQUIRED", verifier=None)
        )
        await self._repo.revoke_user_sessions(pool.id, user.sub, self._core.now())
        attribute = self._core.code_target(user, ("email", "phone_number"))
        if attribute is not None:
            await self._core.send_code(
                pool, user, kind="FORGOT_PASSWORD", purpose=codes.FORGOT_PASSWORD, attribute=attribute
            )

    async def admin_update_user_attributes(
        self, pool_id: str, username: str, attributes: Mapping[str, str]
    ) -> None:
        pool = await self._core.pool(pool_id)
        user = await self._core.require_user(pool, username)
        await update_attributes(self._core, pool, user, attributes)

    async def admin_set_enabled(self, pool_id: str, username: str, enabled: bool) -> None:
        pool = await self._core.pool(pool_id)
        user = await self._core.require_user(pool, username)
        await self._core.save_user(pool, dataclasses.replace(user, enabled=enabled))
        if not enabled:
            # AWS: disabling a user also revokes its tokens.
            await self._repo.revoke_user_sessions(pool.id, user.sub, self._core.now())

    async def admin_user_global_sign_out(self, pool_id: str, username: str) -> None:
        pool = await self._core.pool(pool_id)
        user = await self._core.require_user(pool, username)
        await self._repo.revoke_user_sessions(pool.id, user.sub, self._core.now())

    async def list_users(
        self, pool_id: str, filter_text: str | None, limit: int | None, token: str | None
    ) -> tuple[list[PoolUserRecord], str | None]:
        """One page of users matching the filter; filtered pages are found by scanning in name order."""
        pool = await self._core.pool(pool_id)
        wanted = parse_filter(filter_text)
        limit = limit or MAX_LIST_USERS
        found: list[PoolUserRecord] = []
        marker = token
        while True:
            batch = limit - len(found) if wanted is None else _SCAN_BATCH
            try:
                page = await self._repo.list_users(pool.id, marker, batch)
            except st.InvalidMarker as exc:
                raise InvalidInputError("Invalid pagination token.") from exc
            for index, user in enumerate(page.items):
                if wanted is not None and not wanted.matches(user, ignore_case=pool.settings.ignores_case):
                    continue
                found.append(user)
                if len(found) == limit:
                    last_of_all = index == len(page.items) - 1 and page.marker is None
                    next_token = (
                        None if last_of_all else encode_marker(users_listing(pool.id), user.username_key)
                    )
                    return found, next_token
            if page.marker is None:
                return found, None
            marker = page.marker
