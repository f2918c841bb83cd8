"""Sign-in flows of the user-pool service: SRP, password, refresh, NEW_PASSWORD_REQUIRED, lockout,
PreventUserExistenceErrors and SECRET_HASH."""

from __future__ import annotations

import json
import re
import secrets

import jwt
import pytest

from bastion.auth import srp_client
from bastion.services.cognito_idp.errors import (
    InvalidPasswordError,
    PasswordResetRequiredError,
    UserNotConfirmedError,
    UserNotFoundError,
)
from bastion.services.cognito_idp.hashing import secret_hash
from bastion.services.errors import InvalidInputError, NotAuthorizedError, NotFoundError
from tests.unit.services.cognito_idp_fixtures import PASSWORD, Harness, harness

INCORRECT = "Incorrect username or password."


@pytest.fixture
async def h() -> Harness:
    return harness()


async def test_srp_sign_in_issues_tokens_and_the_server_never_sees_the_password(h: Harness) -> None:
    pool = await h.pool()
    client, _ = await h.client(pool)
    sub = await h.confirmed_user(pool, "alice", {"email": "alice@example.com", "email_verified": "true"})
    result = await h.srp_sign_in(client, pool, "alice")
    assert result.challenge is None and result.tokens is not None
    claims = jwt.decode(result.tokens.id_token, options={"verify_signature": False})
    assert (claims["sub"], claims["cognito:username"], claims["email_verified"]) == (sub, "alice", True)
    stored = await h.store.cognito_idp.find_user(pool, "alice")
    assert stored is not None and stored.verifier is not None and PASSWORD not in stored.verifier


async def test_srp_wrong_password_is_refused(h: Harness) -> None:
    pool = await h.pool()
    client, _ = await h.client(pool)
    await h.confirmed_user(pool, "bob")
    with pytest.raises(NotAuthorizedError, match=INCORRECT):
        await h.srp_sign_in(client, pool, "bob", password="Wr0ng-Password")


async def test_srp_challenge_is_bound_to_client_and_expires(h: Harness) -> None:
    pool = await h.pool()
    client, _ = await h.client(pool)
    other, _ = await h.client(pool)
    await h.confirmed_user(pool, "carol")
    ephemeral = srp_client.new_ephemeral(secrets.randbits(256))
    started = await h.svc.signin.initiate(
        client, "USER_SRP_AUTH", {"USERNAME": "carol", "SRP_A": ephemeral.srp_a_hex}
    )
    params = started.parameters
    assert set(params) == {"SALT", "SECRET_BLOCK", "SRP_B", "USERNAME", "USER_ID_FOR_SRP"}
    responses = srp_client.password_verifier_responses(
        ephemeral,
        pool_name=pool.split("_")[1],
        password=PASSWORD,
        challenge_parameters=params,
        now=h.clock.now(),
    )
    with pytest.raises(NotAuthorizedError, match=INCORRECT):  # another client cannot open the state
        await h.svc.signin.respond(other, "PASSWORD_VERIFIER", responses, None)
    h.clock.advance(minutes=3, seconds=1)
    with pytest.raises(NotAuthorizedError, match="session is expired"):
        await h.svc.signin.respond(client, "PASSWORD_VERIFIER", responses, None)


async def test_password_flow_must_be_enabled_on_the_client(h: Harness) -> None:
    pool = await h.pool()
    client, _ = await h.client(pool, explicit_auth_flows=("ALLOW_USER_SRP_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"))
    await h.confirmed_user(pool, "dan")
    with pytest.raises(InvalidInputError, match="USER_PASSWORD_AUTH flow not enabled for this client"):
        await h.password_sign_in(client, "dan")
    with pytest.raises(InvalidInputError, match="not supported"):
        await h.svc.signin.initiate(client, "ADMIN_USER_PASSWORD_AUTH", {})
    with pytest.raises(InvalidInputError, match="not enabled"):
        await h.svc.signin.initiate(client, "ADMIN_USER_PASSWORD_AUTH", {}, pool_id=pool)
    with pytest.raises(NotFoundError):
        await h.svc.signin.initiate(client, "USER_SRP_AUTH", {}, pool_id="eu-west-1_Other0000")


async def test_unknown_user_legacy_and_prevented(h: Harness) -> None:
    pool = await h.pool(username_attributes=("email",))
    legacy, _ = await h.client(pool)
    prevented, _ = await h.client(pool, prevent_user_existence_errors="ENABLED")
    await h.confirmed_user(pool, "real@example.com")
    with pytest.raises(UserNotFoundError, match=re.escape("User does not exist.")):
        await h.password_sign_in(legacy, "ghost@example.com")
    with pytest.raises(NotAuthorizedError, match=INCORRECT):
        await h.password_sign_in(prevented, "ghost@example.com")
    # SRP: a decoy challenge of the same shape, stable per name, with a UUID like real users have.
    a = srp_client.new_ephemeral(secrets.randbits(256)).srp_a_hex
    ghost = await h.svc.signin.initiate(
        prevented, "USER_SRP_AUTH", {"USERNAME": "ghost@example.com", "SRP_A": a}
    )
    again = await h.svc.signin.initiate(
        prevented, "USER_SRP_AUTH", {"USERNAME": "ghost@example.com", "SRP_A": a}
    )
    real = await h.svc.signin.initiate(
        prevented, "USER_SRP_AUTH", {"USERNAME": "real@example.com", "SRP_A": a}
    )
    assert set(ghost.parameters) == set(real.parameters)
    assert ghost.parameters["SALT"] == again.parameters["SALT"]
    assert ghost.parameters["USER_ID_FOR_SRP"] == again.parameters["USER_ID_FOR_SRP"]
    assert len(ghost.parameters["USER_ID_FOR_SRP"]) == len(real.parameters["USER_ID_FOR_SRP"]) == 36
    with pytest.raises(NotAuthorizedError, match=INCORRECT):
        await h.srp_sign_in(prevented, pool, "ghost@example.com")
    with pytest.raises(UserNotFoundError):
        await h.svc.signin.initiate(legacy, "USER_SRP_AUTH", {"USERNAME": "ghost@example.com", "SRP_A": a})


async def test_status_is_reported_only_after_a_correct_password(h: Harness) -> None:
    pool = await h.pool(auto_verified_attributes=("email",))
    client, _ = await h.client(pool)
    await h.svc.registration.sign_up(
        client, username="erin", password=PASSWORD, attributes={"email": "e@example.com"}, secret_hash=None
    )
    with pytest.raises(NotAuthorizedError, match=INCORRECT):
        await h.password_sign_in(client, "erin", "Wr0ng-Password")
    with pytest.raises(UserNotConfirmedError, match=re.escape("User is not confirmed.")):
        await h.password_sign_in(client, "erin")
    with pytest.raises(UserNotConfirmedError):
        await h.srp_sign_in(client, pool, "erin")


async def test_disabled_user_is_refused_and_its_sessions_revoked(h: Harness) -> None:
    pool = await h.pool()
    client, _ = await h.client(pool)
    await h.confirmed_user(pool, "fay")
    tokens = (await h.password_sign_in(client, "fay")).tokens
    assert tokens is not None
    await h.svc.users.admin_set_enabled(pool, "fay", False)
    with pytest.raises(NotAuthorizedError, match=re.escape("User is disabled.")):
        await h.password_sign_in(client, "fay")
    with pytest.raises(NotAuthorizedError, match="revoked"):
        await h.svc.account.get_user(tokens.access_token)
    await h.svc.users.admin_set_enabled(pool, "fay", True)
    assert (await h.password_sign_in(client, "fay")).tokens is not None


async def test_lockout_after_five_failures_doubles_and_resets(h: Harness) -> None:
    pool = await h.pool()
    client, _ = await h.client(pool)
    await h.confirmed_user(pool, "gus")
    for _ in range(5):
        with pytest.raises(NotAuthorizedError, match=INCORRECT):
            await h.password_sign_in(client, "gus", "Wr0ng-Password")
    # Locked for 1 s: even the right password is refused, and the attempt is not counted.
    with pytest.raises(NotAuthorizedError, match="Password attempts exceeded"):
        await h.password_sign_in(client, "gus")
    with pytest.raises(NotAuthorizedError, match="Password attempts exceeded"):
        await h.srp_sign_in(client, pool, "gus")
    h.clock.advance(seconds=1)
    with pytest.raises(NotAuthorizedError, match=INCORRECT):  # sixth failure: locked for 2 s
        await h.password_sign_in(client, "gus", "Wr0ng-Password")
    h.clock.advance(seconds=1.5)
    with pytest.raises(NotAuthorizedError, match="Password attempts exceeded"):
        await h.password_sign_in(client, "gus")
    h.clock.advance(seconds=0.5)
    assert (await h.password_sign_in(client, "gus")).tokens is not None
    stored = await h.store.cognito_idp.find_user(pool, "gus")
    assert stored is not None and stored.failed_attempts == 0


async def test_old_failures_are_forgotten(h: Harness) -> None:
    pool = await h.pool()
    client, _ = await h.client(pool)
    await h.confirmed_user(pool, "hal")
    for _ in range(5):
        with pytest.raises(NotAuthorizedError):
            await h.password_sign_in(client, "hal", "Wr0ng-Password")
    h.clock.advance(minutes=16)
    with pytest.raises(NotAuthorizedError, match=INCORRECT):
        await h.password_sign_in(client, "hal", "Wr0ng-Password")
    # Counting started again: one failure does not lock.
    assert (await h.password_sign_in(client, "hal")).tokens is not None


async def test_admin_created_user_must_choose_a_new_password(h: Harness) -> None:
    pool = await h.pool(schema=())
    client, _ = await h.client(pool)
    user = await h.svc.users.admin_create_user(
        pool,
        "ivy",
        {"email": "ivy@example.com", "email_verified": "true"},
        temporary="Temp-Passw0rd",
        message_action="SUPPRESS",
    )
    assert user.status == "FORCE_CHANGE_PASSWORD"
    challenge = await h.password_sign_in(client, "ivy", "Temp-Passw0rd")
    assert challenge.challenge == "NEW_PASSWORD_REQUIRED" and challenge.session is not None
    assert challenge.parameters["USER_ID_FOR_SRP"] == "ivy"
    assert json.loads(challenge.parameters["userAttributes"]) == {
        "email": "ivy@example.com",
        "email_verified": "true",
    }
    assert json.loads(challenge.parameters["requiredAttributes"]) == []
    with pytest.raises(InvalidPasswordError, match="Password not long enough"):
        await h.svc.signin.respond(
            client, "NEW_PASSWORD_REQUIRED", {"USERNAME": "ivy", "NEW_PASSWORD": "Sh0rt!"}, challenge.session
        )
    with pytest.raises(NotAuthorizedError, match="Invalid session"):
        await h.svc.signin.respond(
            client, "NEW_PASSWORD_REQUIRED", {"USERNAME": "ivy", "NEW_PASSWORD": "N3w-Password"}, "x" * 40
        )
    done = await h.svc.signin.respond(
        client,
        "NEW_PASSWORD_REQUIRED",
        {"USERNAME": "ivy", "NEW_PASSWORD": "N3w-Password", "userAttributes.name": "Ivy"},
        challenge.session,
    )
    assert done.tokens is not None
    stored = await h.svc.users.admin_get_user(pool, "ivy")
    assert stored.status == "CONFIRMED" and stored.attributes["name"] == "Ivy"
    assert (await h.srp_sign_in(client, pool, "ivy", "N3w-Password")).tokens is not None


async def test_new_password_session_expires(h: Harness) -> None:
    pool = await h.pool()
    client, _ = await h.client(pool)
    await h.svc.users.admin_create_user(pool, "jo", {}, temporary="Temp-Passw0rd", message_action="SUPPRESS")
    challenge = await h.srp_sign_in(client, pool, "jo", "Temp-Passw0rd")
    assert challenge.challenge == "NEW_PASSWORD_REQUIRED"
    h.clock.advance(minutes=4)
    with pytest.raises(NotAuthorizedError, match="session is expired"):
        await h.svc.signin.respond(
            client,
            "NEW_PASSWORD_REQUIRED",
            {"USERNAME": "jo", "NEW_PASSWORD": "N3w-Password"},
            challenge.session,
        )


async def test_temporary_password_expires(h: Harness) -> None:
    pool = await h.pool()
    client, _ = await h.client(pool)
    await h.svc.users.admin_create_user(pool, "kim", {}, temporary="Temp-Passw0rd", message_action="SUPPRESS")
    h.clock.advance(days=8)
    with pytest.raises(NotAuthorizedError, match="Temporary password has expired"):
        await h.password_sign_in(client, "kim", "Temp-Passw0rd")


async def test_reset_required_user_must_reset(h: Harness) -> None:
    pool = await h.pool()
    client, _ = await h.client(pool)
    await h.confirmed_user(pool, "lee", {"email": "lee@example.com", "email_verified": "true"})
    await h.svc.users.admin_reset_user_password(pool, "lee")
    with pytest.raises(PasswordResetRequiredError):
        await h.password_sign_in(client, "lee")
    code = h.sender.last_code("lee")
    await h.svc.registration.confirm_forgot_password(client, "lee", code, "N3w-Password", secret_hash=None)
    assert (await h.password_sign_in(client, "lee", "N3w-Password")).tokens is not None


async def test_refresh_keeps_auth_time_and_returns_no_refresh_token(h: Harness) -> None:
    pool = await h.pool()
    client, _ = await h.client(pool)
    other, _ = await h.client(pool)
    await h.confirmed_user(pool, "max")
    first = (await h.srp_sign_in(client, pool, "max")).tokens
    assert first is not None and first.refresh_token is not None
    h.clock.advance(minutes=30)
    refreshed = (
        await h.svc.signin.initiate(client, "REFRESH_TOKEN_AUTH", {"REFRESH_TOKEN": first.refresh_token})
    ).tokens
    assert refreshed is not None and refreshed.refresh_token is None
    old = jwt.decode(first.id_token, options={"verify_signature": False})
    new = jwt.decode(refreshed.id_token, options={"verify_signature": False})
    assert new["auth_time"] == old["auth_time"] and new["iat"] == old["iat"] + 1800
    assert new["origin_jti"] == old["origin_jti"]
    with pytest.raises(NotAuthorizedError, match="Invalid Refresh Token"):
        await h.svc.signin.initiate(other, "REFRESH_TOKEN_AUTH", {"REFRESH_TOKEN": first.refresh_token})
    with pytest.raises(NotAuthorizedError, match="Invalid Refresh Token"):
        await h.svc.signin.initiate(client, "REFRESH_TOKEN", {"REFRESH_TOKEN": "not-a-token"})
    await h.svc.account.global_sign_out(refreshed.access_token)
    with pytest.raises(NotAuthorizedError, match="Refresh Token has been revoked"):
        await h.svc.signin.initiate(client, "REFRESH_TOKEN_AUTH", {"REFRESH_TOKEN": first.refresh_token})


async def test_refresh_token_expires_with_the_client_validity(h: Harness) -> None:
    from bastion.services.cognito_idp.settings import TokenValidity

    pool = await h.pool()
    client, _ = await h.client(pool, refresh_token_validity=TokenValidity(2, "hours"))
    await h.confirmed_user(pool, "ned")
    tokens = (await h.password_sign_in(client, "ned")).tokens
    assert tokens is not None and tokens.refresh_token is not None
    h.clock.advance(hours=2)
    with pytest.raises(NotAuthorizedError, match="Refresh Token has expired"):
        await h.svc.signin.initiate(client, "REFRESH_TOKEN_AUTH", {"REFRESH_TOKEN": tokens.refresh_token})


async def test_secret_hash_is_required_and_checked(h: Harness) -> None:
    pool = await h.pool(username_attributes=("email",))
    client, secret = await h.client(pool, secret=True)
    assert secret is not None
    sub = await h.confirmed_user(pool, "olga@example.com")
    with pytest.raises(NotAuthorizedError, match="configured for secret but secret was not received"):
        await h.password_sign_in(client, "olga@example.com")
    with pytest.raises(NotAuthorizedError, match=f"Unable to verify secret hash for client {client}"):
        await h.password_sign_in(client, "olga@example.com", SECRET_HASH=secret_hash(secret, "other", client))
    good = secret_hash(secret, "olga@example.com", client)
    tokens = (await h.password_sign_in(client, "olga@example.com", SECRET_HASH=good)).tokens
    assert tokens is not None and tokens.refresh_token is not None
    # SRP: the second step's SECRET_HASH is over USER_ID_FOR_SRP (the sub here), as clients compute it.
    assert (await h.srp_sign_in(client, pool, "olga@example.com", secret=secret)).tokens is not None
    with pytest.raises(NotAuthorizedError, match="configured for secret"):
        await h.srp_sign_in(client, pool, "olga@example.com")
    refresh = {"REFRESH_TOKEN": tokens.refresh_token, "SECRET_HASH": secret_hash(secret, sub, client)}
    assert (await h.svc.signin.initiate(client, "REFRESH_TOKEN_AUTH", refresh)).tokens is not None


async def test_admin_password_flow(h: Harness) -> None:
    pool = await h.pool()
    client, _ = await h.client(pool)
    await h.confirmed_user(pool, "pat")
    result = await h.svc.signin.initiate(
        client, "ADMIN_USER_PASSWORD_AUTH", {"USERNAME": "pat", "PASSWORD": PASSWORD}, pool_id=pool
    )
    assert result.tokens is not None


async def test_malformed_and_illegal_srp_a(h: Harness) -> None:
    pool = await h.pool()
    client, _ = await h.client(pool)
    await h.confirmed_user(pool, "quinn")
    with pytest.raises(InvalidInputError, match="SRP_A"):
        await h.svc.signin.initiate(client, "USER_SRP_AUTH", {"USERNAME": "quinn", "SRP_A": "xyz"})
    with pytest.raises(NotAuthorizedError):
        await h.svc.signin.initiate(client, "USER_SRP_AUTH", {"USERNAME": "quinn", "SRP_A": "0"})
    with pytest.raises(InvalidInputError, match="Missing required parameter SRP_A"):
        await h.svc.signin.initiate(client, "USER_SRP_AUTH", {"USERNAME": "quinn"})
