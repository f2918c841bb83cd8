"""Signing in: InitiateAuth / AdminInitiateAuth and RespondToAuthChallenge / AdminRespondToAuthChallenge.

Flows: USER_SRP_AUTH (+ PASSWORD_VERIFIER, the password never reaches the server), USER_PASSWORD_AUTH,
ADMIN_USER_PASSWORD_AUTH (ADMIN_NO_SRP_AUTH), REFRESH_TOKEN_AUTH (REFRESH_TOKEN); the NEW_PASSWORD_REQUIRED
challenge for users an administrator created. The order of checks follows AWS: app client and flow,
SECRET_HASH, the user, lockout, the password; status (unconfirmed, temporary password) only after a
correct password, so a wrong password never reveals more than "Incorrect username or password.".

With PreventUserExistenceErrors=ENABLED an unknown user is answered like a known one: a PASSWORD_VERIFIER
challenge from a decoy verifier, then "Incorrect username or password."; the same verifier work is done
for known users of such a client, so the time taken does not tell them apart either.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta

from bastion.auth import srp
from bastion.services.cognito_idp import schema, throttle
from bastion.services.cognito_idp.core import Client, Core, Pool
from bastion.services.cognito_idp.errors import (
    InvalidPasswordError,
    PasswordResetRequiredError,
    UserNotConfirmedError,
    UserNotFoundError,
)
from bastion.services.cognito_idp.passwords import check_password
from bastion.services.cognito_idp.sealed import ChallengeSession, RefreshTokenContent
from bastion.services.cognito_idp.tokens import IssuedTokens
from bastion.services.cognito_idp.users import set_password
from bastion.services.errors import InvalidInputError, NotAuthorizedError
from bastion.storage.cognito_idp import PoolUserRecord, SessionRecord

INCORRECT = "Incorrect username or password."
DISABLED = "User is disabled."
SESSION_EXPIRED = "Invalid session for the user, session is expired."
INVALID_SESSION = "Invalid session for the user."
INVALID_REFRESH = "Invalid Refresh Token"
# Challenge names, not secrets.
NEW_PASSWORD_REQUIRED = "NEW_PASSWORD_REQUIRED"  # noqa: S105
PASSWORD_VERIFIER = "PASSWORD_VERIFIER"  # noqa: S105


@dataclass(frozen=True, slots=True)
class AuthResult:
    """Either tokens, or a challenge (name, parameters and, for some challenges, a Session)."""

    tokens: IssuedTokens | None = None
    challenge: str | None = None
    session: str | None = None
    parameters: dict[str, str] = field(default_factory=dict)


def _required(params: Mapping[str, str], *names: str) -> list[str]:
    values = []
    for name in names:
        value = params.get(name)
        if not value:
            raise InvalidInputError(f"Missing required parameter {name}")
        values.append(value)
    return values


class SignIn:
    def __init__(self, core: Core) -> None:
        self._core = core
        self._repo = core.repo

    def _epoch(self) -> int:
        return int(self._core.now().timestamp())

    # ---- entry points --------------------------------------------------------------------------------

    async def initiate(
        self, client_id: str, flow: str, params: Mapping[str, str], *, pool_id: str | None = None
    ) -> AuthResult:
        """InitiateAuth, or AdminInitiateAuth when ``pool_id`` is given."""
        admin = pool_id is not None
        client = await self._core.client(client_id, pool_id)
        pool = await self._core.pool(client.pool_id)
        if flow == "CUSTOM_AUTH":
            raise InvalidInputError("Custom auth lambda trigger is not configured for the user pool.")
        supported = {"USER_SRP_AUTH", "REFRESH_TOKEN_AUTH", "REFRESH_TOKEN"}
        supported |= {"ADMIN_USER_PASSWORD_AUTH", "ADMIN_NO_SRP_AUTH"} if admin else {"USER_PASSWORD_AUTH"}
        if flow not in supported:
            raise InvalidInputError("Initiate Auth method not supported.")
        if not client.settings.allows(flow):
            raise InvalidInputError(f"{flow} flow not enabled for this client")
        if flow == "USER_SRP_AUTH":
            return await self._srp_start(pool, client, params)
        if flow in ("REFRESH_TOKEN_AUTH", "REFRESH_TOKEN"):
            return await self._refresh(pool, client, params)
        return await self._password(pool, client, params)

    async def respond(
        self,
        client_id: str,
        challenge: str,
        responses: Mapping[str, str],
        session: str | None,
        *,
        pool_id: str | None = None,
    ) -> AuthResult:
        """RespondToAuthChallenge, or AdminRespondToAuthChallenge when ``pool_id`` is given."""
        client = await self._core.client(client_id, pool_id)
        pool = await self._core.pool(client.pool_id)
        if challenge == PASSWORD_VERIFIER:
            return await self._srp_finish(pool, client, responses)
        if challenge == NEW_PASSWORD_REQUIRED:
            return await self._new_password(pool, client, responses, session)
        raise InvalidInputError(f"Challenge {challenge} is not supported.")

    # ---- password checks -----------------------------------------------------------------------------

    async def _verifier(
        self, pool: Pool, client: Client, user_id: str, user: PoolUserRecord | None
    ) -> srp.Verifier:
        decoy = None
        if user is None or user.verifier is None or client.settings.prevents_user_existence_errors:
            decoy = await asyncio.to_thread(srp.decoy_verifier, self._core.hmac_key, pool.srp_name, user_id)
        if user is not None and user.verifier is not None:
            return srp.Verifier.from_text(user.verifier)
        assert decoy is not None
        return decoy

    def _check_usable(self, user: PoolUserRecord) -> None:
        if not user.enabled:
            raise NotAuthorizedError(DISABLED)
        if user.status == "RESET_REQUIRED":
            raise PasswordResetRequiredError("Password reset required for the user")

    async def _check_lockout(self, pool: Pool, user: PoolUserRecord) -> None:
        now = self._core.now()
        if throttle.is_stale(user, now):
            await self._repo.clear_failed_sign_ins(pool.id, user.sub)
        elif throttle.is_locked(user, now):
            raise NotAuthorizedError(throttle.EXCEEDED)

    async def _password_checked(
        self, pool: Pool, client: Client, user: PoolUserRecord, ok: bool
    ) -> AuthResult:
        """Count the attempt; on success, move on according to the user's status."""
        if not ok:
            await self._repo.record_failed_sign_in(pool.id, user.sub, self._core.now())
            raise NotAuthorizedError(INCORRECT)
        if user.failed_attempts:
            await self._repo.clear_failed_sign_ins(pool.id, user.sub)
        if user.status == "UNCONFIRMED":
            raise UserNotConfirmedError("User is not confirmed.")
        if user.status == "FORCE_CHANGE_PASSWORD":
            validity = timedelta(days=pool.settings.password_policy.temporary_password_validity_days)
            if user.password_set is not None and self._core.now() > user.password_set + validity:
                raise NotAuthorizedError(
                    "Temporary password has expired and must be reset by an administrator."
                )
            return self._new_password_challenge(pool, client, user)
        return await self._complete(pool, client, user)

    # ---- USER_PASSWORD_AUTH / ADMIN_USER_PASSWORD_AUTH ----------------------------------------------

    async def _password(self, pool: Pool, client: Client, params: Mapping[str, str]) -> AuthResult:
        username, password = _required(params, "USERNAME", "PASSWORD")
        user = await self._core.find_user(pool, username)
        names = (username,) if user is None else (username, user.username)
        self._core.check_secret_hash(client, params.get("SECRET_HASH"), *names)
        if user is None:
            if not client.settings.prevents_user_existence_errors:
                raise UserNotFoundError("User does not exist.")
            decoy = await self._verifier(pool, client, self._core.decoy_user_id(pool, username), None)
            await asyncio.to_thread(srp.verify_password, decoy, pool.srp_name, username, password)
            raise NotAuthorizedError(INCORRECT)
        self._check_usable(user)
        await self._check_lockout(pool, user)
        verifier = await self._verifier(pool, client, username, user)
        ok = await asyncio.to_thread(srp.verify_password, verifier, pool.srp_name, user.username, password)
        return await self._password_checked(pool, client, user, ok)

    # ---- USER_SRP_AUTH -------------------------------------------------------------------------------

    async def _srp_start(self, pool: Pool, client: Client, params: Mapping[str, str]) -> AuthResult:
        username, srp_a = _required(params, "USERNAME", "SRP_A")
        user = await self._core.find_user(pool, username)
        names = (username,) if user is None else (username, user.username)
        self._core.check_secret_hash(client, params.get("SECRET_HASH"), *names)
        if user is None:
            if not client.settings.prevents_user_existence_errors:
                raise UserNotFoundError("User does not exist.")
            user_id = self._core.decoy_user_id(pool, username)
        else:
            self._check_usable(user)
            user_id = user.username
        verifier = await self._verifier(pool, client, user_id, user)
        try:
            challenge = await asyncio.to_thread(
                srp.start_challenge, verifier, srp_a, user_id_for_srp=user_id, issued_at=self._epoch()
            )
        except srp.MalformedSrpA as exc:
            raise InvalidInputError("SRP_A is not a valid hexadecimal number.") from exc
        except srp.IllegalSrpA as exc:
            raise NotAuthorizedError(INCORRECT) from exc
        block = self._core.seals.srp_block(challenge.state, pool_id=pool.id, client_id=client.id)
        return AuthResult(challenge=PASSWORD_VERIFIER, parameters=challenge.challenge_parameters(block))

    async def _srp_finish(self, pool: Pool, client: Client, responses: Mapping[str, str]) -> AuthResult:
        username, block, signature, timestamp = _required(
            responses, "USERNAME", "PASSWORD_CLAIM_SECRET_BLOCK", "PASSWORD_CLAIM_SIGNATURE", "TIMESTAMP"
        )
        state = self._core.seals.open_srp_block(block, pool_id=pool.id, client_id=client.id)
        if state is None:
            raise NotAuthorizedError(INCORRECT)
        lifetime = client.settings.auth_session_validity_minutes * 60
        if not 0 <= self._epoch() - state.issued_at <= lifetime:
            raise NotAuthorizedError(SESSION_EXPIRED)
        user = await self._repo.find_user(pool.id, pool.key(state.user_id_for_srp))
        names = (username,) if user is None else (username, user.username)
        self._core.check_secret_hash(client, responses.get("SECRET_HASH"), *names)
        claimed = await self._core.find_user(pool, username)
        if user is None or claimed is None or claimed.sub != user.sub:
            verifier = await self._verifier(pool, client, state.user_id_for_srp, None)
            await asyncio.to_thread(self._check_claim, pool, state, verifier, block, timestamp, signature)
            if user is None and not client.settings.prevents_user_existence_errors:
                raise UserNotFoundError("User does not exist.")
            raise NotAuthorizedError(INCORRECT)
        self._check_usable(user)
        await self._check_lockout(pool, user)
        verifier = await self._verifier(pool, client, state.user_id_for_srp, user)
        ok = await asyncio.to_thread(self._check_claim, pool, state, verifier, block, timestamp, signature)
        return await self._password_checked(pool, client, user, ok)

    @staticmethod
    def _check_claim(
        pool: Pool,
        state: srp.ChallengeState,
        verifier: srp.Verifier,
        block: str,
        timestamp: str,
        signature: str,
    ) -> bool:
        return srp.check_claim(
            state,
            verifier,
            pool_name=pool.srp_name,
            user_id_for_srp=state.user_id_for_srp,
            secret_block_b64=block,
            timestamp=timestamp,
            signature_b64=signature,
        )

    # ---- NEW_PASSWORD_REQUIRED -----------------------------------------------------------------------

    def _new_password_challenge(self, pool: Pool, client: Client, user: PoolUserRecord) -> AuthResult:
        session = self._core.seals.challenge_session(
            ChallengeSession(user.sub, NEW_PASSWORD_REQUIRED, self._epoch()),
            pool_id=pool.id,
            client_id=client.id,
        )
        shown = {k: v for k, v in user.attributes.items() if k != "sub"}
        missing = [
            f"userAttributes.{a.name}"
            for a in schema.full_schema(pool.settings.schema)
            if a.required and a.name != "sub" and not user.attributes.get(a.name)
        ]
        parameters = {
            "USER_ID_FOR_SRP": user.username,
            "requiredAttributes": json.dumps(missing),
            "userAttributes": json.dumps(shown),
        }
        return AuthResult(challenge=NEW_PASSWORD_REQUIRED, session=session, parameters=parameters)

    async def _new_password(
        self, pool: Pool, client: Client, responses: Mapping[str, str], session_text: str | None
    ) -> AuthResult:
        opened = None
        if session_text:
            opened = self._core.seals.open_challenge_session(
                session_text, pool_id=pool.id, client_id=client.id
            )
        if opened is None or opened.challenge != NEW_PASSWORD_REQUIRED:
            raise NotAuthorizedError(INVALID_SESSION)
        if not 0 <= self._epoch() - opened.issued_at <= client.settings.auth_session_validity_minutes * 60:
            raise NotAuthorizedError(SESSION_EXPIRED)
        (username,) = _required(responses, "USERNAME")
        user = await self._repo.get_user(pool.id, opened.sub)
        claimed = await self._core.find_user(pool, username)
        if (
            user is None
            or claimed is None
            or claimed.sub != user.sub
            or user.status != "FORCE_CHANGE_PASSWORD"
        ):
            raise NotAuthorizedError(INVALID_SESSION)
        self._core.check_secret_hash(client, responses.get("SECRET_HASH"), username, user.username)
        password = responses.get("NEW_PASSWORD")
        if not password:
            raise InvalidPasswordError("Password did not conform with policy: Password not long enough")
        changes = {
            k.removeprefix("userAttributes."): v
            for k, v in responses.items()
            if k.startswith("userAttributes.")
        }
        allowed = schema.writable(pool.settings.schema, client.settings.write_attributes)
        if any(name not in allowed for name in changes):
            raise NotAuthorizedError("A client attempted to write unauthorized attribute")
        schema.check_values(pool.settings.schema, changes, creating=False)
        check_password(pool.settings.password_policy, password)
        attributes = {**user.attributes, **changes}
        for attr in schema.full_schema(pool.settings.schema):
            if attr.required and attr.name != "sub" and not attributes.get(attr.name):
                raise InvalidInputError(f"Missing required parameter userAttributes.{attr.name}")
        updated = dataclasses.replace(user, attributes=attributes)
        updated = await set_password(pool, updated, password, status="CONFIRMED", now=self._core.now())
        updated = await self._core.save_user(pool, updated)
        return await self._complete(pool, client, updated)

    # ---- REFRESH_TOKEN_AUTH --------------------------------------------------------------------------

    async def _refresh(self, pool: Pool, client: Client, params: Mapping[str, str]) -> AuthResult:
        (token,) = _required(params, "REFRESH_TOKEN")
        content = self._core.seals.open_refresh_token(token)
        if content is None or content.client_id != client.id or content.pool_id != pool.id:
            raise NotAuthorizedError(INVALID_REFRESH)
        session = await self._repo.get_session(content.session_id)
        if session is None:
            raise NotAuthorizedError(INVALID_REFRESH)
        if session.revoked is not None:
            raise NotAuthorizedError("Refresh Token has been revoked")
        if self._core.now() >= session.expires:
            raise NotAuthorizedError("Refresh Token has expired")
        user = await self._repo.get_user(pool.id, session.sub)
        if user is None:
            raise NotAuthorizedError("User does not exist.")
        # Clients compute this SECRET_HASH over different names (username, sub, the e-mail they typed).
        aliases = [user.attributes.get(k, "") for k in ("email", "phone_number", "preferred_username")]
        self._core.check_secret_hash(
            client, params.get("SECRET_HASH"), user.username, user.sub, *[a for a in aliases if a]
        )
        if not user.enabled:
            raise NotAuthorizedError(DISABLED)
        tokens = await self._issue(pool, client, user, session, refresh_token=None)
        return AuthResult(tokens=tokens)

    # ---- tokens --------------------------------------------------------------------------------------

    async def _complete(self, pool: Pool, client: Client, user: PoolUserRecord) -> AuthResult:
        now = self._core.now()
        session = SessionRecord(
            session_id=str(uuid.uuid4()),
            pool_id=pool.id,
            sub=user.sub,
            client_id=client.id,
            auth_time=now,
            created=now,
            expires=now + client.settings.refresh_lifetime,
        )
        await self._repo.create_session(session)
        await self._core.housekeeping()
        refresh = self._core.seals.refresh_token(RefreshTokenContent(pool.id, client.id, session.session_id))
        return AuthResult(tokens=await self._issue(pool, client, user, session, refresh_token=refresh))

    async def _issue(
        self,
        pool: Pool,
        client: Client,
        user: PoolUserRecord,
        session: SessionRecord,
        *,
        refresh_token: str | None,
    ) -> IssuedTokens:
        return await self._core.tokens.issue(
            pool_id=pool.id,
            client_id=client.id,
            user=user,
            readable=schema.readable(pool.settings.schema, client.settings.read_attributes),
            session=session,
            access_lifetime=client.settings.access_lifetime,
            id_lifetime=client.settings.id_lifetime,
            refresh_token=refresh_token,
        )
