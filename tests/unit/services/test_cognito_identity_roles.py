"""Choosing the role of an identity's credentials: defaults, Token and Rules mappings."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from bastion.services.cognito_identity.errors import InvalidPoolConfigurationError
from bastion.services.cognito_identity.logins import VerifiedLogin
from bastion.services.cognito_identity.roles import choose_role, rule_matches
from bastion.services.errors import NotAuthorizedError
from bastion.storage.cognito_identity import IdentityPool, MappingRule, RoleMapping

PROVIDER = "cognito-idp.us-east-1.amazonaws.com/us-east-1_Abc123"
AUTH = "arn:aws:iam::123456789012:role/auth"
UNAUTH = "arn:aws:iam::123456789012:role/unauth"
ADMIN = "arn:aws:iam::123456789012:role/admin"
EDITOR = "arn:aws:iam::123456789012:role/editor"


def pool(*mappings: RoleMapping, roles: dict[str, str] | None = None) -> IdentityPool:
    chosen = {"authenticated": AUTH, "unauthenticated": UNAUTH} if roles is None else roles
    return IdentityPool(
        pool_id="us-east-1:11111111-2222-3333-4444-555555555555",
        name="p",
        allow_unauthenticated=True,
        created=datetime(2024, 1, 1, tzinfo=UTC),
        roles=tuple(sorted(chosen.items())),
        role_mappings=mappings,
    )


def login(claims: dict[str, Any] | None = None, *, client: str = "app1") -> VerifiedLogin:
    return VerifiedLogin(PROVIDER, "sub-1", client, {"sub": "sub-1", "aud": client, **(claims or {})})


def rules(*rules: MappingRule, ambiguous: str = "AuthenticatedRole", client: str = "app1") -> RoleMapping:
    return RoleMapping(f"{PROVIDER}:{client}", "Rules", ambiguous, rules)


def token_mapping(ambiguous: str = "AuthenticatedRole", client: str = "app1") -> RoleMapping:
    return RoleMapping(f"{PROVIDER}:{client}", "Token", ambiguous)


def test_guests_get_the_unauthenticated_role_and_users_the_authenticated_one() -> None:
    assert choose_role(pool(), []) == UNAUTH
    assert choose_role(pool(), [login()]) == AUTH


@pytest.mark.parametrize("kind", ["authenticated", "unauthenticated"])
def test_a_missing_role_is_an_invalid_pool_configuration(kind: str) -> None:
    other = "unauthenticated" if kind == "authenticated" else "authenticated"
    logins = [login()] if kind == "authenticated" else []
    with pytest.raises(InvalidPoolConfigurationError, match="Check assigned IAM roles"):
        choose_role(pool(roles={other: AUTH}), logins)


@pytest.mark.parametrize(
    ("match_type", "value", "claim", "expected"),
    [
        ("Equals", "paid", "paid", True),
        ("Equals", "paid", "paid2", False),
        ("Contains", "adm", "sysadmin", True),
        ("Contains", "xyz", "sysadmin", False),
        ("StartsWith", "sys", "sysadmin", True),
        ("StartsWith", "admin", "sysadmin", False),
        ("NotEqual", "free", "paid", True),
        ("NotEqual", "paid", "paid", False),
        ("Equals", "admins", ["users", "admins"], True),
        ("Contains", "dmi", ["users", "admins"], True),
        ("NotEqual", "admins", ["users", "admins"], False),
        ("Equals", "true", True, True),
        ("Equals", "42", 42, True),
    ],
)
def test_rule_match_types(match_type: str, value: str, claim: object, expected: bool) -> None:
    rule = MappingRule("custom:tier", match_type, value, ADMIN)
    assert rule_matches(rule, {"custom:tier": claim}) is expected


def test_not_equal_on_an_absent_claim_does_not_match() -> None:
    assert not rule_matches(MappingRule("custom:tier", "NotEqual", "free", ADMIN), {})


def test_rules_are_evaluated_in_order_and_the_first_match_wins() -> None:
    mapping = rules(
        MappingRule("custom:dept", "Equals", "ops", EDITOR),
        MappingRule("cognito:groups", "Contains", "admin", ADMIN),
    )
    assert choose_role(pool(mapping), [login({"cognito:groups": ["admins"]})]) == ADMIN
    both = login({"custom:dept": "ops", "cognito:groups": ["admins"]})
    assert choose_role(pool(mapping), [both]) == EDITOR


def test_custom_role_arn_picks_among_the_matching_rules_and_is_denied_otherwise() -> None:
    mapping = rules(
        MappingRule("custom:dept", "Equals", "ops", EDITOR),
        MappingRule("cognito:groups", "Contains", "admin", ADMIN),
    )
    both = login({"custom:dept": "ops", "cognito:groups": ["admins"]})
    assert choose_role(pool(mapping), [both], custom_role_arn=ADMIN) == ADMIN
    with pytest.raises(NotAuthorizedError):
        choose_role(pool(mapping), [login({"custom:dept": "ops"})], custom_role_arn=ADMIN)


def test_no_matching_rule_resolves_as_the_mapping_says() -> None:
    rule = MappingRule("custom:dept", "Equals", "ops", EDITOR)
    assert choose_role(pool(rules(rule)), [login()]) == AUTH
    with pytest.raises(NotAuthorizedError, match="ambiguous role mapping rules denied"):
        choose_role(pool(rules(rule, ambiguous="Deny")), [login()])


def test_a_mapping_applies_only_to_tokens_of_its_app_client() -> None:
    mapping = rules(MappingRule("custom:dept", "Equals", "ops", EDITOR), client="app2")
    assert choose_role(pool(mapping), [login({"custom:dept": "ops"}, client="app1")]) == AUTH
    assert choose_role(pool(mapping), [login({"custom:dept": "ops"}, client="app2")]) == EDITOR


def test_token_mapping_uses_the_preferred_role() -> None:
    claims = {"cognito:roles": [ADMIN, EDITOR], "cognito:preferred_role": EDITOR}
    assert choose_role(pool(token_mapping()), [login(claims)]) == EDITOR


def test_token_mapping_custom_role_must_be_in_the_token_roles() -> None:
    claims = {"cognito:roles": [ADMIN, EDITOR], "cognito:preferred_role": EDITOR}
    assert choose_role(pool(token_mapping()), [login(claims)], custom_role_arn=ADMIN) == ADMIN
    with pytest.raises(NotAuthorizedError):
        choose_role(pool(token_mapping()), [login(claims)], custom_role_arn=AUTH)


def test_token_mapping_without_a_preferred_role_is_ambiguous() -> None:
    claims = {"cognito:roles": [ADMIN, EDITOR]}
    assert choose_role(pool(token_mapping()), [login(claims)]) == AUTH
    with pytest.raises(NotAuthorizedError, match="denied"):
        choose_role(pool(token_mapping("Deny")), [login(claims)])
    with pytest.raises(NotAuthorizedError, match="denied"):
        choose_role(pool(token_mapping("Deny")), [login()])


def test_token_roles_given_as_a_comma_separated_string_are_understood() -> None:
    claims = {"cognito:roles": f"{ADMIN}, {EDITOR}"}
    assert choose_role(pool(token_mapping()), [login(claims)], custom_role_arn=EDITOR) == EDITOR
