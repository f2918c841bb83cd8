"""What every part of the user-pool service shares: dependencies, lookups and the rules about names.

* A pool compares usernames exactly unless it was created case-insensitive; ``Pool.key`` gives the
  comparison key. With ``UsernameAttributes`` the stored username is the user's sub and the e-mail or
  phone number is the sign-in name; with ``AliasAttributes`` a verified e-mail / phone number (or a
  preferred_username) also signs in. Both are kept as unique alias keys in storage.
* Client secrets are checked with SECRET_HASH; its texts are AWS's.
* Codes are rendered from the pool's templates and handed to the configured sender.
"""

from __future__ import annotations

import dataclasses
import hashlib
import hmac
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from bastion.auth.srp import pool_name_from_pool_id
from bastion.clock import Clock
from bastion.sealing import Sealer
from bastion.services.cognito_idp import schema
from bastion.services.cognito_idp.codes import Codes
from bastion.services.cognito_idp.delivery import CodeMessage, CodeSender, DeliveryError, mask_destination
from bastion.services.cognito_idp.errors import (
    AliasExistsError,
    CodeDeliveryFailureError,
    UsernameExistsError,
    UserNotFoundError,
)
from bastion.services.cognito_idp.hashing import secret_hash_matches
from bastion.services.cognito_idp.ids import pool_arn
from bastion.services.cognito_idp.keys import KeyRing
from bastion.services.cognito_idp.sealed import Seals
from bastion.services.cognito_idp.settings import (
    ClientSettings,
    PoolSettings,
    client_settings_from_json,
    pool_settings_from_json,
)
from bastion.services.cognito_idp.tokens import Tokens
from bastion.services.errors import NotAuthorizedError, NotFoundError, ServiceError
from bastion.storage.cognito_idp import (
    ALIAS_COLUMNS,
    CognitoIdpRepository,
    PoolUserRecord,
    UserConflict,
    UserField,
    UserPoolClientRecord,
    UserPoolRecord,
)

CLIENT_SECRET_PURPOSE = b"bastion/cognito-idp/client-secret/v1"
USER_NOT_FOUND = "User does not exist."
HOUSEKEEPING_EVERY = timedelta(hours=1)
DELIVERY_MEDIUM = {"email": "EMAIL", "phone_number": "SMS"}
_ALIAS_ATTRIBUTE: dict[UserField, str] = {column: kind for kind, column in ALIAS_COLUMNS.items()}


@dataclass(frozen=True, slots=True)
class Pool:
    record: UserPoolRecord
    settings: PoolSettings

    @property
    def id(self) -> str:
        return self.record.pool_id

    @property
    def srp_name(self) -> str:
        return pool_name_from_pool_id(self.id)

    def key(self, name: str) -> str:
        """How the pool compares a username (and e-mail / preferred_username aliases)."""
        return name.lower() if self.settings.ignores_case else name

    def alias_key(self, kind: str, value: str) -> str:
        return value if kind == "phone_number" else self.key(value)

    @property
    def sign_in_aliases(self) -> tuple[str, ...]:
        return self.settings.username_attributes + self.settings.alias_attributes


@dataclass(frozen=True, slots=True)
class Client:
    record: UserPoolClientRecord
    settings: ClientSettings
    secret: str | None

    @property
    def id(self) -> str:
        return self.record.client_id

    @property
    def pool_id(self) -> str:
        return self.record.pool_id


@dataclass(frozen=True, slots=True)
class Delivery:
    """CodeDeliveryDetails: where a code went, masked."""

    destination: str
    medium: str
    attribute: str


def alias_columns(pool: Pool, attributes: dict[str, str]) -> dict[str, str | None]:
    """The alias keys a user with ``attributes`` holds in ``pool``."""
    settings = pool.settings
    out: dict[str, str | None] = {column: None for column in ALIAS_COLUMNS.values()}
    for kind, column in ALIAS_COLUMNS.items():
        value = attributes.get(kind)
        if not value:
            continue
        if kind in settings.username_attributes:
            out[column] = pool.alias_key(kind, value)
        elif kind in settings.alias_attributes:
            verified = kind == "preferred_username" or attributes.get(schema.VERIFIED_FLAGS[kind]) == "true"
            if verified:
                out[column] = pool.alias_key(kind, value)
    return out


def with_aliases(pool: Pool, user: PoolUserRecord) -> PoolUserRecord:
    return dataclasses.replace(user, **alias_columns(pool, user.attributes))  # type: ignore[arg-type]


class Core:
    def __init__(
        self,
        *,
        repo: CognitoIdpRepository,
        sealer: Sealer,
        clock: Clock,
        region: str,
        account_id: str,
        hmac_key: bytes,
        sender: CodeSender,
        keys: KeyRing,
        tokens: Tokens,
    ) -> None:
        self.repo = repo
        self.sealer = sealer
        self.clock = clock
        self.region = region
        self.account_id = account_id
        self.hmac_key = hmac_key
        self.sender = sender
        self.keys = keys
        self.tokens = tokens
        self.seals = Seals(sealer)
        self.codes = Codes(repo, hmac_key, clock)
        self._last_housekeeping: datetime | None = None

    def now(self) -> datetime:
        return self.clock.now()

    async def housekeeping(self, *, force: bool = False) -> None:
        """Drop expired sign-in sessions and outbox messages, at most once an hour per process."""
        now = self.now()
        if (
            not force
            and self._last_housekeeping is not None
            and now - self._last_housekeeping < HOUSEKEEPING_EVERY
        ):
            return
        self._last_housekeeping = now
        await self.repo.delete_expired_sessions(now)
        await self.repo.purge_outbox(now)

    def pool_arn(self, pool_id: str) -> str:
        return pool_arn(self.region, self.account_id, pool_id)

    # ---- lookups -------------------------------------------------------------------------------------

    async def pool(self, pool_id: str) -> Pool:
        record = await self.repo.get_pool(pool_id)
        if record is None:
            raise NotFoundError(f"User pool {pool_id} does not exist.")
        return Pool(record, pool_settings_from_json(record.settings))

    def client_from(self, record: UserPoolClientRecord) -> Client:
        secret = None
        if record.sealed_secret is not None:
            secret = self.sealer.unseal(record.sealed_secret, purpose=CLIENT_SECRET_PURPOSE).decode()
        return Client(record, client_settings_from_json(record.settings), secret)

    async def client(self, client_id: str, pool_id: str | None = None) -> Client:
        record = await self.repo.get_client(client_id)
        if record is None or (pool_id is not None and record.pool_id != pool_id):
            raise NotFoundError(f"User pool client {client_id} does not exist.")
        return self.client_from(record)

    async def find_user(self, pool: Pool, name: str) -> PoolUserRecord | None:
        """The user ``name`` signs in as: its username, or a sign-in alias the pool allows."""
        user = await self.repo.find_user(pool.id, pool.key(name))
        if user is not None:
            return user
        for kind in pool.sign_in_aliases:
            if kind == "email" and not schema.looks_like_email(name):
                continue
            if kind == "phone_number" and not schema.looks_like_phone(name):
                continue
            user = await self.repo.find_user_by_alias(pool.id, kind, pool.alias_key(kind, name))  # type: ignore[arg-type]
            if user is not None:
                return user
        return None

    async def require_user(self, pool: Pool, name: str) -> PoolUserRecord:
        user = await self.find_user(pool, name)
        if user is None:
            raise UserNotFoundError(USER_NOT_FOUND)
        return user

    # ---- writing users -------------------------------------------------------------------------------

    def conflict_error(self, pool: Pool, conflict: UserConflict) -> ServiceError:
        attribute = _ALIAS_ATTRIBUTE.get(conflict.field)
        if attribute is None:
            return UsernameExistsError("User already exists")
        message = f"An account with the given {attribute} already exists."
        if attribute in pool.settings.username_attributes:
            return UsernameExistsError(message)
        return AliasExistsError(message)

    async def create_user(self, pool: Pool, user: PoolUserRecord) -> PoolUserRecord:
        user = with_aliases(pool, user)
        try:
            await self.repo.create_user(user)
        except UserConflict as conflict:
            raise self.conflict_error(pool, conflict) from None
        return user

    async def save_user(
        self, pool: Pool, user: PoolUserRecord, *, force_alias: bool = False
    ) -> PoolUserRecord:
        """Write ``user`` with its alias keys recomputed; with ``force_alias``, take a verified alias over
        from the user holding it (that user's attribute becomes unverified), as ForceAliasCreation does."""
        user = dataclasses.replace(with_aliases(pool, user), updated=self.now())
        try:
            await self.repo.update_user(user)
        except UserConflict as conflict:
            attribute = _ALIAS_ATTRIBUTE.get(conflict.field)
            if not force_alias or attribute is None or attribute in pool.settings.username_attributes:
                raise self.conflict_error(pool, conflict) from None
            value = getattr(user, conflict.field)
            holder = await self.repo.find_user_by_alias(pool.id, attribute, value)  # type: ignore[arg-type]
            if holder is not None and holder.sub != user.sub:
                flag = schema.VERIFIED_FLAGS.get(attribute)
                attrs = dict(holder.attributes)
                if flag:
                    attrs[flag] = "false"
                await self.save_user(pool, dataclasses.replace(holder, attributes=attrs))
            return await self.save_user(pool, user, force_alias=False)
        return user

    # ---- client secrets ------------------------------------------------------------------------------

    def check_secret_hash(self, client: Client, given: str | None, *usernames: str) -> None:
        if client.secret is None:
            return
        if not given:
            raise NotAuthorizedError(
                f"Client {client.id} is configured for secret but secret was not received"
            )
        if not secret_hash_matches(client.secret, tuple(dict.fromkeys(usernames)), client.id, given):
            raise NotAuthorizedError(f"Unable to verify secret hash for client {client.id}")

    # ---- codes ---------------------------------------------------------------------------------------

    def code_target(self, user: PoolUserRecord, prefer: tuple[str, ...]) -> str | None:
        """The first attribute of ``prefer`` (email / phone_number) the user has a value for."""
        for attribute in prefer:
            if user.attributes.get(attribute):
                return attribute
        return None

    async def send(
        self, pool: Pool, user: PoolUserRecord, *, kind: str, attribute: str, secret: str, expires: datetime
    ) -> Delivery:
        templates = pool.settings.templates
        medium = DELIVERY_MEDIUM[attribute]
        destination = user.attributes[attribute]
        if kind == "INVITATION":
            subject = templates.invite_email_subject
            text = templates.invite_email_message if medium == "EMAIL" else templates.invite_sms_message
        else:
            subject = templates.email_subject
            text = templates.email_message if medium == "EMAIL" else templates.sms_message
        body = text.replace("{username}", user.username).replace("{####}", secret)
        message = CodeMessage(
            pool_id=pool.id,
            username=user.username,
            kind=kind,
            medium=medium,
            destination=destination,
            subject=subject,
            expires=expires,
            secret=secret,
            body=body,
            from_address=pool.settings.email_from,
        )
        try:
            await self.sender.send(message)
        except DeliveryError as exc:
            raise CodeDeliveryFailureError("Unable to deliver the message. Please try again later.") from exc
        return Delivery(mask_destination(medium, destination), medium, attribute)

    async def send_code(
        self, pool: Pool, user: PoolUserRecord, *, kind: str, purpose: str, attribute: str
    ) -> Delivery:
        code, expires = await self.codes.issue(pool.id, user.sub, purpose)
        return await self.send(pool, user, kind=kind, attribute=attribute, secret=code, expires=expires)

    def simulated_delivery(self, pool: Pool, name: str) -> Delivery:
        """What PreventUserExistenceErrors answers for an unknown user: a plausible, stable destination."""
        digest = hmac.new(self.hmac_key, f"{pool.id}\x00{name}".encode(), hashlib.sha256).hexdigest()
        if schema.looks_like_phone(name):
            return Delivery(mask_destination("SMS", name), "SMS", "phone_number")
        email = name if schema.looks_like_email(name) else f"{digest[:1]}@{digest[1:2]}"
        return Delivery(mask_destination("EMAIL", email), "EMAIL", "email")

    def decoy_user_id(self, pool: Pool, name: str) -> str:
        """The USER_ID_FOR_SRP shown for an unknown user: a stable UUID where real ones are UUIDs."""
        if not pool.settings.username_attributes:
            return name
        digest = hmac.new(
            self.hmac_key, f"decoy-sub\x00{pool.id}\x00{name}".encode(), hashlib.sha256
        ).digest()
        return str(uuid.UUID(bytes=digest[:16], version=4))
