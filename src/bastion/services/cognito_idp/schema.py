"""User attributes: the standard schema, custom attributes, and which attributes a caller may read or write.

Values are strings everywhere (as on the wire); the ID token turns ``*_verified`` into booleans.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime

from bastion.services.cognito_idp.settings import SchemaAttribute
from bastion.services.errors import InvalidInputError

# The standard OpenID Connect attributes of every pool, as DescribeUserPool lists them.
_STANDARD: tuple[SchemaAttribute, ...] = (
    SchemaAttribute("profile", max_length="2048", min_length="0"),
    SchemaAttribute("address", max_length="2048", min_length="0"),
    SchemaAttribute("birthdate", max_length="10", min_length="10"),
    SchemaAttribute("gender", max_length="2048", min_length="0"),
    SchemaAttribute("preferred_username", max_length="2048", min_length="0"),
    SchemaAttribute("updated_at", data_type="Number", min_value="0"),
    SchemaAttribute("website", max_length="2048", min_length="0"),
    SchemaAttribute("picture", max_length="2048", min_length="0"),
    SchemaAttribute("identities", max_length="2048", min_length="0"),
    SchemaAttribute("sub", mutable=False, required=True, max_length="2048", min_length="1"),
    SchemaAttribute("phone_number", max_length="2048", min_length="0"),
    SchemaAttribute("phone_number_verified", data_type="Boolean"),
    SchemaAttribute("zoneinfo", max_length="2048", min_length="0"),
    SchemaAttribute("locale", max_length="2048", min_length="0"),
    SchemaAttribute("email", max_length="2048", min_length="0"),
    SchemaAttribute("email_verified", data_type="Boolean"),
    SchemaAttribute("given_name", max_length="2048", min_length="0"),
    SchemaAttribute("family_name", max_length="2048", min_length="0"),
    SchemaAttribute("middle_name", max_length="2048", min_length="0"),
    SchemaAttribute("name", max_length="2048", min_length="0"),
    SchemaAttribute("nickname", max_length="2048", min_length="0"),
)
STANDARD_NAMES = frozenset(a.name for a in _STANDARD)
VERIFIED_FLAGS = {"email": "email_verified", "phone_number": "phone_number_verified"}
# Attributes only Cognito writes.
_SYSTEM_ONLY = frozenset({"sub", "identities"})
_CUSTOM_NAME = re.compile(r"^[\w.:-]{1,20}$")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+$")
_PHONE = re.compile(r"^\+[0-9]{4,15}$")


def looks_like_email(value: str) -> bool:
    return bool(_EMAIL.match(value))


def looks_like_phone(value: str) -> bool:
    return bool(_PHONE.match(value))


def build_schema(given: Sequence[SchemaAttribute]) -> tuple[SchemaAttribute, ...]:
    """Validate CreateUserPool's Schema: custom names get ``custom:``; standard ones may be redefined."""
    out: dict[str, SchemaAttribute] = {}
    for attr in given:
        name = attr.name
        if name in STANDARD_NAMES:
            if name in _SYSTEM_ONLY:
                raise InvalidInputError(f"{name} cannot be modified or set in the schema.")
            stored = attr
        else:
            bare = name.removeprefix("custom:")
            if not _CUSTOM_NAME.match(bare):
                raise InvalidInputError(f"Invalid custom attribute name: {name}")
            if attr.required:
                raise InvalidInputError("Required custom attributes are not supported currently.")
            stored = SchemaAttribute(
                f"custom:{bare}",
                attr.data_type,
                attr.developer_only,
                attr.mutable,
                False,
                attr.min_length,
                attr.max_length,
                attr.min_value,
                attr.max_value,
            )
        if stored.name in out:
            raise InvalidInputError(f"Duplicate attribute in schema: {stored.name}")
        out[stored.name] = stored
    return tuple(out.values())


def full_schema(pool_schema: Iterable[SchemaAttribute]) -> list[SchemaAttribute]:
    """Every attribute of a pool: standard ones (with the pool's redefinitions), then custom ones."""
    redefined = {a.name: a for a in pool_schema}
    standard = [redefined.get(a.name, a) for a in _STANDARD]
    custom = [a for a in pool_schema if a.name not in STANDARD_NAMES]
    return standard + custom


def _by_name(pool_schema: Iterable[SchemaAttribute]) -> dict[str, SchemaAttribute]:
    return {a.name: a for a in full_schema(pool_schema)}


def check_values(
    pool_schema: Iterable[SchemaAttribute], values: Mapping[str, str], *, creating: bool
) -> None:
    """Attribute names must exist; values must fit their type; required ones must be given on creation.

    Messages follow AWS's "Attributes did not conform to the schema" family.
    """
    schema = _by_name(pool_schema)
    for name, value in values.items():
        attr = schema.get(name)
        if attr is None or name in _SYSTEM_ONLY:
            raise InvalidInputError(
                f"Attributes did not conform to the schema: {name}: Attribute does not exist in the schema."
            )
        if not creating and not attr.mutable:
            raise InvalidInputError(f"Attribute cannot be updated. (changing an immutable attribute): {name}")
        problem = _value_problem(attr, value)
        if problem:
            raise InvalidInputError(f"Attributes did not conform to the schema: {name}: {problem}")
    if creating:
        for attr in schema.values():
            if attr.required and attr.name not in _SYSTEM_ONLY and not values.get(attr.name):
                raise InvalidInputError(
                    f"Attributes did not conform to the schema: {attr.name}: The attribute is required"
                )


def _value_problem(attr: SchemaAttribute, value: str) -> str | None:
    if attr.data_type == "Boolean":
        return None if value in ("true", "false") else "Value must be true or false"
    if attr.data_type == "Number":
        try:
            number = float(value)
        except ValueError:
            return "Value must be a number"
        if attr.min_value is not None and number < float(attr.min_value):
            return "Number is less than the minimum value"
        if attr.max_value is not None and number > float(attr.max_value):
            return "Number exceeds the maximum value"
        return None
    if attr.data_type == "DateTime":
        try:
            datetime.fromisoformat(value)
        except ValueError:
            return "Value must be a date and time"
        return None
    if attr.min_length is not None and len(value) < int(attr.min_length):
        return "String is shorter than the minimum length"
    if attr.max_length is not None and len(value) > int(attr.max_length):
        return f"String must be no longer than {attr.max_length} characters"
    if attr.name == "email" and value and not looks_like_email(value):
        return "Invalid email address format."
    if attr.name == "phone_number" and value and not looks_like_phone(value):
        return "Invalid phone number format."
    return None


def check_permission_list(pool_schema: Iterable[SchemaAttribute], names: Sequence[str], what: str) -> None:
    """ReadAttributes / WriteAttributes of a client must name attributes of the pool."""
    schema = _by_name(pool_schema)
    for name in names:
        if name not in schema or (
            what == "write" and name in ("sub", "email_verified", "phone_number_verified")
        ):
            raise InvalidInputError(f"Invalid {what} attributes specified while creating a client")


def readable(pool_schema: Iterable[SchemaAttribute], read_attributes: Sequence[str] | None) -> frozenset[str]:
    """What an app client's tokens and GetUser may show (``sub`` always)."""
    if read_attributes is not None:
        return frozenset(read_attributes) | {"sub"}
    return frozenset(a.name for a in full_schema(pool_schema) if not a.developer_only)


def writable(
    pool_schema: Iterable[SchemaAttribute], write_attributes: Sequence[str] | None
) -> frozenset[str]:
    """What an end user may set through an app client (never sub, the verified flags, or immutable ones)."""
    schema = full_schema(pool_schema)
    names = frozenset(write_attributes) if write_attributes is not None else frozenset(a.name for a in schema)
    blocked = _SYSTEM_ONLY | {"email_verified", "phone_number_verified"}
    mutable = {a.name for a in schema if a.mutable and not a.developer_only}
    return frozenset(n for n in names if n not in blocked and n in mutable)


def check_writable(allowed: frozenset[str], names: Iterable[str]) -> None:
    for name in names:
        if name not in allowed:
            raise InvalidInputError("A client attempted to write unauthorized attribute")
