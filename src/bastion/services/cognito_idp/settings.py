"""Typed settings of a user pool and of an app client, their AWS defaults and their stored JSON form.

The front turns wire parameters into these values and back; storage keeps them as JSON it never reads.
Fields the service does not act on (OAuth URLs, e-mail configuration) are kept so Describe* echoes them.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, fields, replace
from datetime import timedelta
from typing import Any, TypeVar

# ---- pools -------------------------------------------------------------------------------------------

DEFAULT_EMAIL_SUBJECT = "Your verification code"
DEFAULT_EMAIL_MESSAGE = "Your verification code is {####}. "
DEFAULT_SMS_MESSAGE = "Your verification code is {####}. "
DEFAULT_INVITE_SUBJECT = "Your temporary password"
DEFAULT_INVITE_MESSAGE = "Your username is {username} and temporary password is {####}. "


@dataclass(frozen=True, slots=True)
class PasswordPolicy:
    minimum_length: int = 8
    require_uppercase: bool = True
    require_lowercase: bool = True
    require_numbers: bool = True
    require_symbols: bool = True
    temporary_password_validity_days: int = 7
    password_history_size: int | None = None


@dataclass(frozen=True, slots=True)
class SchemaAttribute:
    """One attribute of the pool's schema; custom ones are named ``custom:<name>``."""

    name: str
    data_type: str = "String"  # String, Number, DateTime, Boolean
    developer_only: bool = False
    mutable: bool = True
    required: bool = False
    min_length: str | None = None
    max_length: str | None = None
    min_value: str | None = None
    max_value: str | None = None


@dataclass(frozen=True, slots=True)
class MessageTemplates:
    email_subject: str = DEFAULT_EMAIL_SUBJECT
    email_message: str = DEFAULT_EMAIL_MESSAGE
    sms_message: str = DEFAULT_SMS_MESSAGE
    invite_email_subject: str = DEFAULT_INVITE_SUBJECT
    invite_email_message: str = DEFAULT_INVITE_MESSAGE
    invite_sms_message: str = DEFAULT_INVITE_MESSAGE


@dataclass(frozen=True, slots=True)
class PoolSettings:
    password_policy: PasswordPolicy = field(default_factory=PasswordPolicy)
    # UsernameAttributes: users sign in with these instead of a username (the username becomes the sub).
    username_attributes: tuple[str, ...] = ()
    # AliasAttributes: users may also sign in with these once verified.
    alias_attributes: tuple[str, ...] = ()
    auto_verified_attributes: tuple[str, ...] = ()
    # Custom attributes and standard ones the pool redefined (e.g. email required); the rest are defaults.
    schema: tuple[SchemaAttribute, ...] = ()
    mfa: str = "OFF"
    allow_admin_create_user_only: bool = False
    # AWS's API default is case-sensitive; None means the caller did not set UsernameConfiguration.
    case_sensitive: bool | None = None
    deletion_protection: str = "INACTIVE"
    templates: MessageTemplates = field(default_factory=MessageTemplates)
    tags: dict[str, str] = field(default_factory=dict)
    # (name, priority) pairs of AccountRecoverySetting, as given.
    recovery_mechanisms: tuple[tuple[str, int], ...] = ()
    email_from: str | None = None
    email_reply_to: str | None = None
    email_sending_account: str = "COGNITO_DEFAULT"
    attributes_require_verification_before_update: tuple[str, ...] = ()
    tier: str = "ESSENTIALS"

    @property
    def ignores_case(self) -> bool:
        return self.case_sensitive is False


# ---- app clients -------------------------------------------------------------------------------------

DEFAULT_AUTH_FLOWS = ("ALLOW_REFRESH_TOKEN_AUTH", "ALLOW_USER_SRP_AUTH", "ALLOW_CUSTOM_AUTH")
_UNIT_SECONDS = {"seconds": 1, "minutes": 60, "hours": 3600, "days": 86400}


@dataclass(frozen=True, slots=True)
class TokenValidity:
    """One token lifetime as the client was configured: an amount and AWS's unit name."""

    amount: int
    unit: str

    @property
    def duration(self) -> timedelta:
        return timedelta(seconds=self.amount * _UNIT_SECONDS[self.unit])


@dataclass(frozen=True, slots=True)
class ClientSettings:
    explicit_auth_flows: tuple[str, ...] = DEFAULT_AUTH_FLOWS
    # None: not configured (AWS omits it from Describe* and uses the default lifetime).
    access_token_validity: TokenValidity | None = None
    id_token_validity: TokenValidity | None = None
    refresh_token_validity: TokenValidity = field(default_factory=lambda: TokenValidity(30, "days"))
    units_given: dict[str, str] = field(default_factory=dict)  # TokenValidityUnits as the caller sent it
    read_attributes: tuple[str, ...] | None = None  # None: every readable attribute
    write_attributes: tuple[str, ...] | None = None  # None: every mutable attribute
    prevent_user_existence_errors: str = "LEGACY"
    enable_token_revocation: bool = True
    auth_session_validity_minutes: int = 3
    enable_propagate_additional_user_context_data: bool = False
    supported_identity_providers: tuple[str, ...] = ()
    callback_urls: tuple[str, ...] = ()
    logout_urls: tuple[str, ...] = ()
    default_redirect_uri: str | None = None
    allowed_oauth_flows: tuple[str, ...] = ()
    allowed_oauth_scopes: tuple[str, ...] = ()
    allowed_oauth_flows_user_pool_client: bool = False

    @property
    def access_lifetime(self) -> timedelta:
        return (self.access_token_validity or TokenValidity(1, "hours")).duration

    @property
    def id_lifetime(self) -> timedelta:
        return (self.id_token_validity or TokenValidity(1, "hours")).duration

    @property
    def refresh_lifetime(self) -> timedelta:
        return self.refresh_token_validity.duration

    @property
    def prevents_user_existence_errors(self) -> bool:
        return self.prevent_user_existence_errors == "ENABLED"

    def allows(self, flow: str) -> bool:
        """Whether the client accepts ``flow`` (an AuthFlow value), with the legacy flow names honoured.

        Clients configured with the old names (no ``ALLOW_`` prefix) always allow SRP and refresh; the new
        names list every flow explicitly. AWS refuses a mix of both when the client is written.
        """
        flows = set(self.explicit_auth_flows)
        if any(f.startswith("ALLOW_") for f in flows):
            wanted = {
                "USER_SRP_AUTH": "ALLOW_USER_SRP_AUTH",
                "USER_PASSWORD_AUTH": "ALLOW_USER_PASSWORD_AUTH",
                "ADMIN_USER_PASSWORD_AUTH": "ALLOW_ADMIN_USER_PASSWORD_AUTH",
                "ADMIN_NO_SRP_AUTH": "ALLOW_ADMIN_USER_PASSWORD_AUTH",
                "REFRESH_TOKEN_AUTH": "ALLOW_REFRESH_TOKEN_AUTH",
                "REFRESH_TOKEN": "ALLOW_REFRESH_TOKEN_AUTH",
                "CUSTOM_AUTH": "ALLOW_CUSTOM_AUTH",
            }.get(flow)
            return wanted in flows
        if flow in ("USER_SRP_AUTH", "REFRESH_TOKEN_AUTH", "REFRESH_TOKEN"):
            return "CUSTOM_AUTH_FLOW_ONLY" not in flows
        if flow == "USER_PASSWORD_AUTH":
            return "USER_PASSWORD_AUTH" in flows
        if flow in ("ADMIN_USER_PASSWORD_AUTH", "ADMIN_NO_SRP_AUTH"):
            return "ADMIN_NO_SRP_AUTH" in flows
        return False


# ---- JSON ------------------------------------------------------------------------------------------

_D = TypeVar("_D")


def to_json(settings: PoolSettings | ClientSettings) -> str:
    return json.dumps(asdict(settings), separators=(",", ":"), sort_keys=True)


def _build(cls: type[_D], data: Mapping[str, Any], nested: Mapping[str, Any]) -> _D:
    """``cls`` from its asdict() form: lists back to tuples, nested dataclasses rebuilt by ``nested``."""
    known = {f.name for f in fields(cls)}  # type: ignore[arg-type]
    values: dict[str, Any] = {}
    for name, value in data.items():
        if name not in known:
            continue  # written by a newer Bastion; ignore rather than fail
        if name in nested:
            values[name] = nested[name](value)
        elif isinstance(value, list):
            values[name] = tuple(tuple(v) if isinstance(v, list) else v for v in value)
        else:
            values[name] = value
    return cls(**values)


def pool_settings_from_json(text: str) -> PoolSettings:
    data = json.loads(text)
    return _build(
        PoolSettings,
        data,
        {
            "password_policy": lambda v: _build(PasswordPolicy, v, {}),
            "schema": lambda v: tuple(_build(SchemaAttribute, a, {}) for a in v),
            "templates": lambda v: _build(MessageTemplates, v, {}),
            "tags": dict,
        },
    )


def _validity(value: Mapping[str, Any] | None) -> TokenValidity | None:
    return None if value is None else TokenValidity(int(value["amount"]), str(value["unit"]))


def client_settings_from_json(text: str) -> ClientSettings:
    data = json.loads(text)
    return _build(
        ClientSettings,
        data,
        {
            "access_token_validity": _validity,
            "id_token_validity": _validity,
            "refresh_token_validity": _validity,
            "units_given": dict,
        },
    )


__all__ = [
    "DEFAULT_AUTH_FLOWS",
    "ClientSettings",
    "MessageTemplates",
    "PasswordPolicy",
    "PoolSettings",
    "SchemaAttribute",
    "TokenValidity",
    "client_settings_from_json",
    "pool_settings_from_json",
    "replace",
    "to_json",
]
