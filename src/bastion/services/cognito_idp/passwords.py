"""The pool's password policy (InvalidPasswordException texts as AWS writes them) and temporary passwords."""

from __future__ import annotations

import secrets
import string

from bastion.services.cognito_idp.errors import InvalidPasswordError
from bastion.services.cognito_idp.settings import PasswordPolicy

# The characters AWS counts as symbols (its documented list; the space counts too when not at an end).
SYMBOLS = "^$*.[]{}()?\"!@#%&/\\,><':;|_~`=+- "
_PREFIX = "Password did not conform with policy: "


def check_password(policy: PasswordPolicy, password: str) -> None:
    """Raise InvalidPasswordError with the first rule ``password`` breaks, in AWS's order."""
    if password != password.strip() or not password:
        raise InvalidPasswordError(_PREFIX + "Password must not begin or end with whitespace")
    if len(password) < policy.minimum_length:
        raise InvalidPasswordError(_PREFIX + "Password not long enough")
    if policy.require_lowercase and not any(c.islower() for c in password):
        raise InvalidPasswordError(_PREFIX + "Password must have lowercase characters")
    if policy.require_uppercase and not any(c.isupper() for c in password):
        raise InvalidPasswordError(_PREFIX + "Password must have uppercase characters")
    if policy.require_numbers and not any(c in string.digits for c in password):
        raise InvalidPasswordError(_PREFIX + "Password must have numeric characters")
    if policy.require_symbols and not any(c in SYMBOLS for c in password):
        raise InvalidPasswordError(_PREFIX + "Password must have symbol characters")


def temporary_password(policy: PasswordPolicy) -> str:
    """A random password that satisfies ``policy`` (AdminCreateUser without TemporaryPassword)."""
    length = max(policy.minimum_length, 12)
    required = [
        secrets.choice(string.ascii_lowercase),
        secrets.choice(string.ascii_uppercase),
        secrets.choice(string.digits),
        secrets.choice("^$*.!@#%&"),
    ]
    alphabet = string.ascii_letters + string.digits
    rest = [secrets.choice(alphabet) for _ in range(length - len(required))]
    chars = required + rest
    # Shuffle with a CSPRNG so the required characters are not always in front.
    for i in range(len(chars) - 1, 0, -1):
        j = secrets.randbelow(i + 1)
        chars[i], chars[j] = chars[j], chars[i]
    return "".join(chars)
