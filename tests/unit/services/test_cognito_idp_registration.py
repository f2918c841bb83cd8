"""Sign-up, confirmation codes and password recovery."""

from __future__ import annotations

import re

import pytest

from bastion.services.cognito_idp.errors import (
    AliasExistsError,
    CodeDeliveryFailureError,
    CodeMismatchError,
    ExpiredCodeError,
    InvalidPasswordError,
    UsernameExistsError,
    UserNotFoundError,
)
from bastion.services.errors import InvalidInputError, LimitExceededError, NotAuthorizedError
from tests.unit.services.cognito_idp_fixtures import PASSWORD, Harness, harness


@pytest.fixture
async def h() -> Harness:
    return harness()


async def _sign_up(h: Harness, client: str, username: str, email: str | None = None, **kw: str) -> str:
    attributes = {} if email is None else {"email": email}
    result = await h.svc.registration.sign_up(
        client,
        username=username,
        password=kw.get("password", PASSWORD),
        attributes=attributes,
        secret_hash=None,
    )
    return result.sub


async def test_sign_up_sends_a_code_and_confirming_verifies_the_email(h: Harness) -> None:
    pool = await h.pool(auto_verified_attributes=("email",))
    client, _ = await h.client(pool)
    result = await h.svc.registration.sign_up(
        client, username="amy", password=PASSWORD, attributes={"email": "amy@example.com"}, secret_hash=None
    )
    assert not result.confirmed
    assert result.delivery is not None
    assert (result.delivery.destination, result.delivery.medium, result.delivery.attribute) == (
        "a***@e***",
        "EMAIL",
        "email",
    )
    message = h.sender.sent[-1]
    assert message.kind == "SIGN_UP" and message.destination == "amy@example.com"
    assert message.secret in message.body and len(message.secret) == 6 and message.secret.isdigit()
    user = await h.svc.users.admin_get_user(pool, "amy")
    assert user.status == "UNCONFIRMED" and "email_verified" not in user.attributes
    stored = await h.store.cognito_idp.get_code(pool, user.sub, "SIGN_UP")
    assert stored is not None and message.secret.encode() not in stored.code_hash
    await h.svc.registration.confirm_sign_up(client, "amy", message.secret, secret_hash=None)
    user = await h.svc.users.admin_get_user(pool, "amy")
    assert user.status == "CONFIRMED" and user.attributes["email_verified"] == "true"
    with pytest.raises(NotAuthorizedError, match="Current status is CONFIRMED"):
        await h.svc.registration.confirm_sign_up(client, "amy", message.secret, secret_hash=None)


async def test_email_username_pool_stores_the_sub_and_refuses_a_second_account(h: Harness) -> None:
    pool = await h.pool(username_attributes=("email",), auto_verified_attributes=("email",))
    client, _ = await h.client(pool)
    sub = await _sign_up(h, client, "Bea@Example.com")
    user = await h.svc.users.admin_get_user(pool, "Bea@Example.com")
    assert user.username == sub and user.attributes["email"] == "Bea@Example.com"
    with pytest.raises(
        UsernameExistsError, match=re.escape("An account with the given email already exists.")
    ):
        await _sign_up(h, client, "Bea@Example.com")
    with pytest.raises(InvalidInputError, match=re.escape("Username should be an email.")):
        await _sign_up(h, client, "bea")


async def test_case_insensitive_pool(h: Harness) -> None:
    pool = await h.pool(case_sensitive=False)
    client, _ = await h.client(pool)
    await _sign_up(h, client, "Cleo")
    with pytest.raises(UsernameExistsError, match="User already exists"):
        await _sign_up(h, client, "cLEO")
    await h.svc.users.admin_confirm_sign_up(pool, "CLEO")
    assert (await h.password_sign_in(client, "cleo")).tokens is not None


async def test_weak_passwords_get_aws_messages(h: Harness) -> None:
    pool = await h.pool()
    client, _ = await h.client(pool)
    cases = {
        "Sh0rt!": "Password not long enough",
        "ALLUPPER1!": "Password must have lowercase characters",
        "alllower1!": "Password must have uppercase characters",
        "NoNumbers!": "Password must have numeric characters",
        "NoSymbols1": "Password must have symbol characters",
    }
    for password, text in cases.items():
        with pytest.raises(InvalidPasswordError, match=f"Password did not conform with policy: {text}"):
            await _sign_up(h, client, "dora", password=password)
    assert await h.store.cognito_idp.find_user(pool, "dora") is None


async def test_schema_and_write_permissions(h: Harness) -> None:
    from bastion.services.cognito_idp.settings import SchemaAttribute

    pool = await h.pool(schema=(SchemaAttribute("email", required=True), SchemaAttribute("tier")))
    client, _ = await h.client(pool, write_attributes=("email", "custom:tier"))
    limited, _ = await h.client(pool, write_attributes=("email",))
    with pytest.raises(InvalidInputError, match="email: The attribute is required"):
        await _sign_up(h, client, "eve")
    with pytest.raises(InvalidInputError, match="does not exist in the schema"):
        await h.svc.registration.sign_up(
            client,
            username="eve",
            password=PASSWORD,
            attributes={"email": "e@x.io", "custom:nope": "1"},
            secret_hash=None,
        )
    with pytest.raises(NotAuthorizedError, match="unauthorized attribute"):
        await h.svc.registration.sign_up(
            limited,
            username="eve",
            password=PASSWORD,
            attributes={"email": "e@x.io", "custom:tier": "gold"},
            secret_hash=None,
        )
    await h.svc.registration.sign_up(
        client,
        username="eve",
        password=PASSWORD,
        attributes={"email": "e@x.io", "custom:tier": "gold"},
        secret_hash=None,
    )
    assert (await h.svc.users.admin_get_user(pool, "eve")).attributes["custom:tier"] == "gold"


async def test_wrong_codes_are_limited_and_codes_expire(h: Harness) -> None:
    pool = await h.pool(auto_verified_attributes=("email",))
    client, _ = await h.client(pool)
    await _sign_up(h, client, "finn", "finn@example.com")
    code = h.sender.last_code("finn@example.com")
    wrong = f"{(int(code) + 1) % 1_000_000:06d}"
    for _ in range(5):
        with pytest.raises(CodeMismatchError, match="Invalid verification code provided"):
            await h.svc.registration.confirm_sign_up(client, "finn", wrong, secret_hash=None)
    with pytest.raises(LimitExceededError, match="Attempt limit exceeded"):
        await h.svc.registration.confirm_sign_up(client, "finn", code, secret_hash=None)
    delivery = await h.svc.registration.resend_confirmation_code(client, "finn", secret_hash=None)
    assert delivery.medium == "EMAIL"
    fresh = h.sender.last_code("finn@example.com")
    h.clock.advance(hours=24)
    with pytest.raises(
        ExpiredCodeError, match=re.escape("Invalid code provided, please request a code again.")
    ):
        await h.svc.registration.confirm_sign_up(client, "finn", fresh, secret_hash=None)


async def test_forgot_password_needs_a_verified_contact(h: Harness) -> None:
    pool = await h.pool(auto_verified_attributes=("email",))
    client, _ = await h.client(pool)
    await h.confirmed_user(pool, "gwen", {"email": "gwen@example.com"})
    with pytest.raises(InvalidInputError, match="no registered/verified email or phone_number"):
        await h.svc.registration.forgot_password(client, "gwen", secret_hash=None)
    await h.svc.users.admin_update_user_attributes(pool, "gwen", {"email_verified": "true"})
    delivery = await h.svc.registration.forgot_password(client, "gwen", secret_hash=None)
    assert delivery.destination == "g***@e***"
    code = h.sender.last_code("gwen@example.com")
    with pytest.raises(InvalidPasswordError):
        await h.svc.registration.confirm_forgot_password(client, "gwen", code, "weak", secret_hash=None)
    with pytest.raises(CodeMismatchError):
        await h.svc.registration.confirm_forgot_password(
            client, "gwen", "000000" if code != "000000" else "111111", "N3w-Password", secret_hash=None
        )
    await h.svc.registration.confirm_forgot_password(client, "gwen", code, "N3w-Password", secret_hash=None)
    assert (await h.password_sign_in(client, "gwen", "N3w-Password")).tokens is not None
    with pytest.raises(CodeMismatchError):  # a code works once
        await h.svc.registration.confirm_forgot_password(
            client, "gwen", code, "An0ther-Password", secret_hash=None
        )
    h.sender.sent.clear()
    await h.svc.registration.forgot_password(client, "gwen", secret_hash=None)
    h.clock.advance(hours=1)
    with pytest.raises(ExpiredCodeError):
        await h.svc.registration.confirm_forgot_password(
            client, "gwen", h.sender.last_code(), "An0ther-Password", secret_hash=None
        )


async def test_unknown_users_under_prevent_user_existence_errors(h: Harness) -> None:
    pool = await h.pool(auto_verified_attributes=("email",))
    legacy, _ = await h.client(pool)
    prevented, _ = await h.client(pool, prevent_user_existence_errors="ENABLED")
    reg = h.svc.registration
    with pytest.raises(UserNotFoundError, match=re.escape("Username/client id combination not found.")):
        await reg.forgot_password(legacy, "nobody", secret_hash=None)
    with pytest.raises(UserNotFoundError):
        await reg.confirm_sign_up(legacy, "nobody", "123456", secret_hash=None)
    with pytest.raises(UserNotFoundError):
        await reg.resend_confirmation_code(legacy, "nobody", secret_hash=None)
    simulated = await reg.forgot_password(prevented, "nobody@example.com", secret_hash=None)
    assert (simulated.destination, simulated.medium) == ("n***@e***", "EMAIL")
    assert (await reg.resend_confirmation_code(prevented, "nobody", secret_hash=None)).medium == "EMAIL"
    with pytest.raises(CodeMismatchError):
        await reg.confirm_sign_up(prevented, "nobody", "123456", secret_hash=None)
    with pytest.raises(CodeMismatchError):
        await reg.confirm_forgot_password(prevented, "nobody", "123456", "N3w-Password", secret_hash=None)
    assert h.sender.sent == []


async def test_admin_only_pools_refuse_sign_up(h: Harness) -> None:
    pool = await h.pool(allow_admin_create_user_only=True)
    client, _ = await h.client(pool)
    with pytest.raises(NotAuthorizedError, match="SignUp is not permitted for this user pool"):
        await _sign_up(h, client, "hank")


async def test_delivery_failure_is_reported(h: Harness) -> None:
    pool = await h.pool(auto_verified_attributes=("email",))
    client, _ = await h.client(pool)
    h.sender.fail = True
    with pytest.raises(CodeDeliveryFailureError):
        await _sign_up(h, client, "iris", "iris@example.com")


async def test_alias_pools_take_verified_aliases(h: Harness) -> None:
    pool = await h.pool(alias_attributes=("email", "preferred_username"), auto_verified_attributes=("email",))
    client, _ = await h.client(pool)
    with pytest.raises(InvalidInputError, match="cannot be of email format"):
        await _sign_up(h, client, "jack@example.com")
    await _sign_up(h, client, "jack", "shared@example.com")
    first_code = h.sender.last_code("shared@example.com")
    await _sign_up(h, client, "jill", "shared@example.com")  # unverified aliases do not clash
    second_code = h.sender.last_code("shared@example.com")
    await h.svc.registration.confirm_sign_up(client, "jack", first_code, secret_hash=None)
    assert (await h.password_sign_in(client, "shared@example.com")).tokens is not None
    with pytest.raises(AliasExistsError, match=re.escape("An account with the given email already exists.")):
        await h.svc.registration.confirm_sign_up(client, "jill", second_code, secret_hash=None)
    await h.svc.users.admin_update_user_attributes(pool, "jack", {"preferred_username": "jj"})
    assert (await h.password_sign_in(client, "jj")).tokens is not None
