"""Admin user operations, ListUsers filters and paging."""

from __future__ import annotations

import re

import pytest

from bastion.services.cognito_idp.errors import InvalidPasswordError, UsernameExistsError, UserNotFoundError
from bastion.services.cognito_idp.filters import parse_filter
from bastion.services.errors import InvalidInputError, NotAuthorizedError
from tests.unit.services.cognito_idp_fixtures import PASSWORD, Harness, harness


@pytest.fixture
async def h() -> Harness:
    return harness()


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('email = "a@b.c"', ("email", False, "a@b.c")),
        ('given_name^="Jo"', ("given_name", True, "Jo")),
        ('family_name = "say \\"hi\\""', ("family_name", False, 'say "hi"')),
        ('cognito:user_status = "CONFIRMED"', ("cognito:user_status", False, "CONFIRMED")),
        ('  status = "Enabled"  ', ("status", False, "Enabled")),
    ],
)
def test_filters_parse(text: str, expected: tuple[str, bool, str]) -> None:
    parsed = parse_filter(text)
    assert parsed is not None and (parsed.attribute, parsed.prefix, parsed.value) == expected


@pytest.mark.parametrize("text", ["email = a@b.c", 'email == "x"', 'email = "x" and name = "y"', '"x"'])
def test_bad_filters_are_refused(text: str) -> None:
    with pytest.raises(InvalidInputError, match=re.escape("Error while parsing filter.")):
        parse_filter(text)


def test_unsearchable_attributes_are_refused() -> None:
    with pytest.raises(InvalidInputError, match="custom:tier"):
        parse_filter('custom:tier = "gold"')
    assert parse_filter("") is None and parse_filter(None) is None


async def test_list_users_filters_and_pages(h: Harness) -> None:
    pool = await h.pool()
    for n in range(7):
        await h.confirmed_user(
            pool, f"user{n}", {"email": f"u{n}@{'corp' if n % 2 else 'home'}.example", "given_name": f"N{n}"}
        )
    await h.svc.users.admin_set_enabled(pool, "user3", False)
    found, token = await h.svc.users.list_users(pool, None, 3, None)
    assert [u.username for u in found] == ["user0", "user1", "user2"] and token is not None
    found, token = await h.svc.users.list_users(pool, None, 3, token)
    assert [u.username for u in found] == ["user3", "user4", "user5"]
    found, token = await h.svc.users.list_users(pool, None, 3, token)
    assert [u.username for u in found] == ["user6"] and token is None
    # Filtered pages resume after the last user returned, not after the last one looked at.
    names: list[str] = []
    token = None
    while True:
        page, token = await h.svc.users.list_users(pool, 'email ^= "u"', 2, token)
        names += [u.username for u in page]
        if token is None:
            break
    assert names == [f"user{n}" for n in range(7)]
    corp, _ = await h.svc.users.list_users(pool, 'email ^= "u3@corp"', None, None)
    assert [u.username for u in corp] == ["user3"]
    disabled, _ = await h.svc.users.list_users(pool, 'status = "Disabled"', None, None)
    assert [u.username for u in disabled] == ["user3"]
    confirmed, _ = await h.svc.users.list_users(pool, 'cognito:user_status = "confirmed"', None, None)
    assert len(confirmed) == 7
    by_sub, _ = await h.svc.users.list_users(pool, f'sub = "{corp[0].sub}"', None, None)
    assert [u.username for u in by_sub] == ["user3"]
    exact, token = await h.svc.users.list_users(pool, 'given_name = "N6"', 1, None)
    assert [u.username for u in exact] == ["user6"] and token is None
    with pytest.raises(InvalidInputError, match="pagination token"):
        await h.svc.users.list_users(pool, None, 3, "not-a-token")


async def test_admin_create_user_invitation_and_duplicates(h: Harness) -> None:
    pool = await h.pool()
    user = await h.svc.users.admin_create_user(
        pool, "vic", {"email": "vic@example.com", "phone_number": "+15550100"}, mediums=("EMAIL", "SMS")
    )
    assert user.status == "FORCE_CHANGE_PASSWORD"
    invitations = [m for m in h.sender.sent if m.kind == "INVITATION"]
    assert {m.medium for m in invitations} == {"EMAIL", "SMS"}
    temporary = invitations[0].secret
    assert "vic" in invitations[0].body and temporary in invitations[0].body
    client, _ = await h.client(pool)
    assert (await h.password_sign_in(client, "vic", temporary)).challenge == "NEW_PASSWORD_REQUIRED"
    with pytest.raises(UsernameExistsError, match="User account already exists"):
        await h.svc.users.admin_create_user(pool, "vic", {})
    with pytest.raises(InvalidPasswordError):
        await h.svc.users.admin_create_user(pool, "wes", {}, temporary="weak")
    h.sender.sent.clear()
    await h.svc.users.admin_create_user(pool, "vic", {}, message_action="RESEND", mediums=("EMAIL",))
    resent = h.sender.sent[-1].secret
    assert resent != temporary
    assert (await h.password_sign_in(client, "vic", resent)).challenge == "NEW_PASSWORD_REQUIRED"
    with pytest.raises(NotAuthorizedError):
        await h.password_sign_in(client, "vic", temporary)


async def test_admin_operations_on_missing_users(h: Harness) -> None:
    pool = await h.pool()
    users = h.svc.users
    for call in (
        users.admin_get_user(pool, "ghost"),
        users.admin_delete_user(pool, "ghost"),
        users.admin_confirm_sign_up(pool, "ghost"),
        users.admin_set_user_password(pool, "ghost", PASSWORD, True),
        users.admin_set_enabled(pool, "ghost", False),
        users.admin_user_global_sign_out(pool, "ghost"),
    ):
        with pytest.raises(UserNotFoundError, match=re.escape("User does not exist.")):
            await call


async def test_admin_set_password_and_confirm(h: Harness) -> None:
    pool = await h.pool()
    client, _ = await h.client(pool)
    await h.svc.users.admin_create_user(
        pool, "xena", {}, temporary="Temp-Passw0rd", message_action="SUPPRESS"
    )
    await h.svc.users.admin_set_user_password(pool, "xena", "Perm-Passw0rd", False)
    assert (await h.svc.users.admin_get_user(pool, "xena")).status == "FORCE_CHANGE_PASSWORD"
    await h.svc.users.admin_set_user_password(pool, "xena", "Perm-Passw0rd", True)
    assert (await h.svc.users.admin_get_user(pool, "xena")).status == "CONFIRMED"
    assert (await h.password_sign_in(client, "xena", "Perm-Passw0rd")).tokens is not None
    with pytest.raises(NotAuthorizedError, match="Current status is CONFIRMED"):
        await h.svc.users.admin_confirm_sign_up(pool, "xena")
    await h.svc.users.admin_delete_user(pool, "xena")
    with pytest.raises(UserNotFoundError):
        await h.password_sign_in(client, "xena", "Perm-Passw0rd")


async def test_admin_update_attributes_checks_the_schema(h: Harness) -> None:
    pool = await h.pool()
    await h.confirmed_user(pool, "yan", {"email": "yan@example.com"})
    with pytest.raises(InvalidInputError, match="Invalid email address format"):
        await h.svc.users.admin_update_user_attributes(pool, "yan", {"email": "not-an-email"})
    with pytest.raises(InvalidInputError, match="does not exist in the schema"):
        await h.svc.users.admin_update_user_attributes(pool, "yan", {"sub": "x"})
    await h.svc.users.admin_update_user_attributes(pool, "yan", {"email": "yan2@example.com", "name": "Yan"})
    user = await h.svc.users.admin_get_user(pool, "yan")
    assert user.attributes["email"] == "yan2@example.com" and user.attributes["email_verified"] == "false"
    await h.svc.users.admin_update_user_attributes(pool, "yan", {"name": ""})
    assert "name" not in (await h.svc.users.admin_get_user(pool, "yan")).attributes
