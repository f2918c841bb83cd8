"""ListUsers' Filter: ``name = "value"`` (exact) or ``name ^= "value"`` (prefix), one attribute.

Searchable: username, email, phone_number, name, given_name, family_name, preferred_username, sub,
``cognito:user_status`` (compared ignoring case) and ``status`` (Enabled / Disabled). Inside the quotes a
backslash escapes the next character. An empty filter matches everyone.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from bastion.services.errors import InvalidInputError
from bastion.storage.cognito_idp import PoolUserRecord

SEARCHABLE = frozenset(
    {
        "username",
        "email",
        "phone_number",
        "name",
        "given_name",
        "family_name",
        "preferred_username",
        "sub",
        "cognito:user_status",
        "status",
    }
)
_FILTER = re.compile(r'^\s*([\w:]+)\s*(\^=|=)\s*"((?:[^"\\]|\\.)*)"\s*$', re.DOTALL)


@dataclass(frozen=True, slots=True)
class UserFilter:
    attribute: str
    prefix: bool
    value: str

    def matches(self, user: PoolUserRecord, *, ignore_case: bool) -> bool:
        actual, fold = self._actual(user, ignore_case)
        if actual is None:
            return False
        wanted = self.value.lower() if fold else self.value
        actual = actual.lower() if fold else actual
        return actual.startswith(wanted) if self.prefix else actual == wanted

    def _actual(self, user: PoolUserRecord, ignore_case: bool) -> tuple[str | None, bool]:
        if self.attribute == "username":
            return user.username, ignore_case
        if self.attribute == "cognito:user_status":
            return user.status, True
        if self.attribute == "status":
            return ("Enabled" if user.enabled else "Disabled"), False
        if self.attribute == "sub":
            return user.sub, False
        fold = ignore_case and self.attribute in ("email", "preferred_username")
        return user.attributes.get(self.attribute), fold


def parse_filter(text: str | None) -> UserFilter | None:
    if text is None or not text.strip():
        return None
    match = _FILTER.match(text)
    if match is None:
        raise InvalidInputError("Error while parsing filter.")
    attribute, operator, raw = match.groups()
    if attribute not in SEARCHABLE:
        raise InvalidInputError(f"Invalid search attribute: {attribute}")
    value = re.sub(r"\\(.)", r"\1", raw, flags=re.DOTALL)
    return UserFilter(attribute, operator == "^=", value)
