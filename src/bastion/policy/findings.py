"""Findings: what validation reports instead of raising.

Every code the engine can emit is listed in :data:`CATALOGUE` with its severity and message
template, so the full set of diagnostics can be reviewed (and documented) in one place.
An ``error`` makes a document invalid; a ``warning`` does not.
"""

from __future__ import annotations

import enum
import json
from dataclasses import dataclass
from typing import Any


class Severity(enum.Enum):
    ERROR = "error"
    WARNING = "warning"


@dataclass(frozen=True)
class Finding:
    """One diagnostic about a policy document.

    ``location`` is a JSON-path-like string such as ``Statement[1].Condition.StringLike``;
    it is empty for findings about the whole text.
    """

    severity: Severity
    code: str
    message: str
    location: str = ""

    @classmethod
    def error(cls, code: str, message: str, location: str = "") -> Finding:
        return cls(Severity.ERROR, code, message, location)

    @classmethod
    def warning(cls, code: str, message: str, location: str = "") -> Finding:
        return cls(Severity.WARNING, code, message, location)

    @property
    def is_error(self) -> bool:
        return self.severity is Severity.ERROR

    def __str__(self) -> str:
        return f"{self.location}: {self.message}" if self.location else self.message


_E = Severity.ERROR
_W = Severity.WARNING

CATALOGUE: dict[str, tuple[Severity, str]] = {
    # the text as a whole
    "INVALID_INPUT": (_E, "policy document must be a string, not {type}"),
    "DOCUMENT_TOO_LARGE": (_E, "policy document is {length} characters long; the limit is {limit}"),
    "INVALID_JSON": (_E, "policy document is not valid JSON: {detail}"),
    "DUPLICATE_KEY": (_E, "element {key} appears more than once"),
    "INVALID_STRING": (_E, "string contains an unpaired surrogate code point"),
    "NOT_AN_OBJECT": (_E, "policy document must be a JSON object"),
    "TOO_MANY_FINDINGS": (_W, "too many findings; only the first {count} are listed"),
    "INTERNAL_ERROR": (_E, "policy could not be processed ({detail})"),
    # top level
    "UNKNOWN_ELEMENT": (_E, "unknown element {name}"),
    "INVALID_TYPE": (_E, "{name} must be {expected}"),
    "INVALID_VERSION": (_E, 'Version must be "2012-10-17" or "2008-10-17", not {value}'),
    "MISSING_VERSION": (
        _W,
        "no Version element: the 2008-10-17 language applies and ${{...}} is literal text",
    ),
    "ID_IN_IDENTITY_POLICY": (_W, "Id is meant for resource-based policies"),
    "MISSING_STATEMENT": (_E, "missing required element Statement"),
    "EMPTY_LIST": (_E, "{name} must not be empty"),
    # statements
    "INVALID_SID": (_E, "Sid {sid} must contain only ASCII letters and digits"),
    "DUPLICATE_SID": (_E, "Sid {sid} is used by more than one statement"),
    "MISSING_EFFECT": (_E, "missing required element Effect"),
    "INVALID_EFFECT": (_E, 'Effect must be "Allow" or "Deny", not {value}'),
    "MISSING_ACTION": (_E, "statement needs Action or NotAction"),
    "CONFLICTING_ELEMENTS": (_E, "{first} and {second} cannot both appear in one statement"),
    "INVALID_ACTION": (_E, 'action {value} must be "*" or service:action with a literal service prefix'),
    "MISSING_RESOURCE": (_E, "statement needs Resource or NotResource"),
    "RESOURCE_NOT_ALLOWED": (_E, "{name} is not allowed in a trust policy"),
    "INVALID_RESOURCE": (
        _E,
        'resource {value} must be "*" or an ARN (arn:partition:service:region:account:resource)',
    ),
    "VARIABLE_OUTSIDE_RESOURCE_PART": (
        _W,
        "policy variables only belong in the resource part of an ARN (after the fifth colon)",
    ),
    "PRINCIPAL_NOT_ALLOWED": (_E, "{name} is not allowed in an identity-based policy"),
    "MISSING_PRINCIPAL": (_E, "a trust policy statement needs Principal or NotPrincipal"),
    "INVALID_PRINCIPAL": (_E, "invalid principal {value}: {reason}"),
    "UNKNOWN_PRINCIPAL_TYPE": (
        _E,
        "unknown principal type {name}; expected AWS, Federated, Service or CanonicalUser",
    ),
    # conditions
    "UNKNOWN_OPERATOR": (_E, "unknown condition operator {name}"),
    "INVALID_CONDITION_KEY": (_E, "condition key {key} must have the form vendor:name"),
    "INVALID_CONDITION_VALUE": (_E, "{value} is not a valid value for {operator}: {reason}"),
    "EMPTY_CONDITION_BLOCK": (_W, "condition operator {name} lists no keys"),
    "NOT_AN_ARN_PATTERN": (
        _W,
        "{value} does not have the six colon-separated parts of an ARN, so {operator} never matches it",
    ),
    # policy variables
    "INVALID_VARIABLE": (_W, "{text} is not a well-formed policy variable and is kept as literal text"),
    "VARIABLES_NOT_SUBSTITUTED": (
        _W,
        "{text} looks like a policy variable, but only Version 2012-10-17 substitutes variables",
    ),
}

MAX_FINDINGS = 100


def quote(value: object, limit: int = 80) -> str:
    """User input as it appears in messages: JSON-quoted and shortened."""
    try:
        text = json.dumps(value, ensure_ascii=False)
    except (TypeError, ValueError):
        text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def make_finding(code: str, location: str = "", **values: Any) -> Finding:
    """A finding for a catalogued code, with its severity and message template filled in."""
    severity, template = CATALOGUE[code]
    return Finding(severity, code, template.format(**values), location)


class FindingSink:
    """Collects findings for one document, capped so hostile input cannot flood the caller."""

    def __init__(self, limit: int = MAX_FINDINGS) -> None:
        self.findings: list[Finding] = []
        self._limit = limit
        self.errors = 0  # counted even past the limit, so validity never depends on the cap

    @property
    def has_errors(self) -> bool:
        return self.errors > 0

    @property
    def full(self) -> bool:
        return len(self.findings) > self._limit

    def add(self, code: str, location: str = "", **values: Any) -> None:
        self.append(make_finding(code, location, **values))

    def append(self, finding: Finding) -> None:
        if finding.is_error:
            self.errors += 1
        if len(self.findings) < self._limit:
            self.findings.append(finding)
        elif len(self.findings) == self._limit:
            severity, template = CATALOGUE["TOO_MANY_FINDINGS"]
            self.findings.append(Finding(severity, "TOO_MANY_FINDINGS", template.format(count=self._limit)))
