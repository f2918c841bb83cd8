"""Policy text to :class:`PolicyDocument`, with findings instead of exceptions.

The walker checks the grammar that IAM and AWS IoT share and the rules that depend on the
document's kind (identity or trust); a :class:`Vocabulary` adds service-specific rules.
It only ever descends the fixed depth of the policy grammar, so no input can make it recurse.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from bastion.policy import jsonload
from bastion.policy.document import (
    PRINCIPAL_TYPES,
    VERSION_2012,
    VERSIONS,
    Condition,
    Effect,
    PolicyDocument,
    PolicyKind,
    PrincipalBlock,
    Statement,
)
from bastion.policy.findings import Finding, FindingSink, quote
from bastion.policy.operators import Family, Operator, parse_operator
from bastion.policy.values import parse_binary, parse_bool, parse_date, parse_network, parse_number
from bastion.policy.variables import Pattern, Var
from bastion.policy.vocabulary import Vocabulary

# IAM's API limit for a policy document parameter; callers apply tighter, per-use limits.
MAX_DOCUMENT_LENGTH = 131072

_TOP_LEVEL = ("Version", "Id", "Statement")
_STATEMENT_ELEMENTS = (
    "Sid", "Effect", "Principal", "NotPrincipal", "Action", "NotAction",
    "Resource", "NotResource", "Condition",
)  # fmt: skip
_PAIRS = (("Action", "NotAction"), ("Resource", "NotResource"), ("Principal", "NotPrincipal"))

_VALUE_CHECKS: dict[Family, tuple[Callable[[str], object], str]] = {
    Family.NUMERIC: (parse_number, "not a number"),
    Family.DATE: (parse_date, "not an ISO 8601 date/time or epoch seconds"),
    Family.BOOL: (parse_bool, "must be true or false"),
    Family.NULL: (parse_bool, "must be true or false"),
    Family.BINARY: (parse_binary, "not base64"),
    Family.IP: (parse_network, "not an IP address or CIDR block"),
}


def _key(key: str) -> str:
    return f"[{quote(key)}]"


class _Walker:
    def __init__(self, kind: PolicyKind, sink: FindingSink, vocabulary: Vocabulary | None) -> None:
        self.kind = kind
        self.sink = sink
        self.vocabulary = vocabulary
        self.variables = False

    def extend(self, findings: Iterable[Finding]) -> None:
        for finding in findings:
            self.sink.append(finding)

    # --- document -------------------------------------------------------------------

    def document(self, value: Any) -> PolicyDocument | None:
        if not isinstance(value, dict):
            self.sink.add("NOT_AN_OBJECT")
            return None
        for name in value:
            if name not in _TOP_LEVEL:
                self.sink.add("UNKNOWN_ELEMENT", name, name=quote(name))
        version = self.version(value.get("Version", jsonload.MISSING))
        self.variables = version == VERSION_2012
        policy_id = value.get("Id")
        if "Id" in value:
            if not isinstance(policy_id, str):
                self.sink.add("INVALID_TYPE", "Id", name="Id", expected="a string")
                policy_id = None
            elif self.kind is PolicyKind.IDENTITY:
                self.sink.add("ID_IN_IDENTITY_POLICY", "Id")
        if "Statement" not in value:
            self.sink.add("MISSING_STATEMENT")
            return None
        statements = self.statements(value["Statement"])
        if statements is None:
            return None
        return PolicyDocument(version, statements, policy_id)

    def version(self, value: Any) -> str | None:
        if value is jsonload.MISSING:
            self.sink.add("MISSING_VERSION", "Version")
            return None
        if isinstance(value, str) and value in VERSIONS:
            return value
        shown = quote(value.text if isinstance(value, jsonload.JsonNumber) else value)
        self.sink.add("INVALID_VERSION", "Version", value=shown)
        return None

    def statements(self, value: Any) -> tuple[Statement, ...] | None:
        items = [value] if isinstance(value, dict) else value
        if not isinstance(items, list):
            self.sink.add(
                "INVALID_TYPE", "Statement", name="Statement", expected="an object or a list of objects"
            )
            return None
        if not items:
            self.sink.add("EMPTY_LIST", "Statement", name="Statement")
            return None
        parsed: list[Statement] = []
        sids: set[str] = set()
        for index, item in enumerate(items):
            if self.sink.full:
                return None
            location = f"Statement[{index}]"
            statement = self.statement(item, location)
            if statement is None:
                continue
            if statement.sid:
                if statement.sid in sids:
                    self.sink.add("DUPLICATE_SID", f"{location}.Sid", sid=quote(statement.sid))
                sids.add(statement.sid)
            parsed.append(statement)
        return tuple(parsed) if len(parsed) == len(items) else None

    # --- statement ------------------------------------------------------------------

    def statement(self, value: Any, location: str) -> Statement | None:
        if not isinstance(value, dict):
            self.sink.add("INVALID_TYPE", location, name="a statement", expected="a JSON object")
            return None
        errors_before = self.sink.errors
        for name in value:
            if name not in _STATEMENT_ELEMENTS:
                self.sink.add("UNKNOWN_ELEMENT", f"{location}.{name}", name=quote(name))
        for first, second in _PAIRS:
            if first in value and second in value:
                self.sink.add("CONFLICTING_ELEMENTS", location, first=first, second=second)
        sid = self.sid(value, location)
        effect = self.effect(value, location)
        actions, not_action = self.actions(value, location)
        resources, not_resource = self.resources(value, location)
        principal, not_principal = self.principal(value, location)
        conditions = (
            self.conditions(value.get("Condition"), f"{location}.Condition") if "Condition" in value else ()
        )
        if self.sink.errors > errors_before or effect is None or conditions is None:
            return None
        statement = Statement(
            effect, sid, actions, not_action, resources, not_resource, principal, not_principal, conditions
        )
        if self.vocabulary is not None:
            self.extend(self.vocabulary.check_statement(statement, location))
        return statement

    def sid(self, value: dict[str, Any], location: str) -> str | None:
        if "Sid" not in value:
            return None
        sid = value["Sid"]
        if not isinstance(sid, str):
            self.sink.add("INVALID_TYPE", f"{location}.Sid", name="Sid", expected="a string")
            return None
        if self.vocabulary is not None:
            self.extend(self.vocabulary.check_sid(sid, f"{location}.Sid"))
        return sid

    def effect(self, value: dict[str, Any], location: str) -> Effect | None:
        if "Effect" not in value:
            self.sink.add("MISSING_EFFECT", location)
            return None
        effect = value["Effect"]
        if effect == "Allow":
            return Effect.ALLOW
        if effect == "Deny":
            return Effect.DENY
        shown = effect.text if isinstance(effect, jsonload.JsonNumber) else effect
        self.sink.add("INVALID_EFFECT", f"{location}.Effect", value=quote(shown))
        return None

    def strings(self, value: Any, location: str, name: str) -> list[str] | None:
        """A string or a non-empty list of strings."""
        if isinstance(value, str):
            return [value]
        if not isinstance(value, list):
            self.sink.add("INVALID_TYPE", location, name=name, expected="a string or a list of strings")
            return None
        if not value:
            self.sink.add("EMPTY_LIST", location, name=name)
            return None
        ok = True
        for index, item in enumerate(value):
            if not isinstance(item, str):
                self.sink.add(
                    "INVALID_TYPE", f"{location}[{index}]", name=f"{name} entry", expected="a string"
                )
                ok = False
        return list(value) if ok else None

    def actions(self, value: dict[str, Any], location: str) -> tuple[tuple[str, ...], bool]:
        name = "NotAction" if "NotAction" in value and "Action" not in value else "Action"
        if name not in value:
            self.sink.add("MISSING_ACTION", location)
            return (), False
        where = f"{location}.{name}"
        items = self.strings(value[name], where, name)
        if items is None:
            return (), False
        single = isinstance(value[name], str)
        for index, action in enumerate(items):
            item_location = where if single else f"{where}[{index}]"
            if not _valid_action(action):
                self.sink.add("INVALID_ACTION", item_location, value=quote(action))
            elif self.vocabulary is not None:
                self.extend(self.vocabulary.check_action(action, item_location))
        return tuple(items), name == "NotAction"

    def resources(self, value: dict[str, Any], location: str) -> tuple[tuple[Pattern, ...] | None, bool]:
        name = "NotResource" if "NotResource" in value and "Resource" not in value else "Resource"
        if self.kind is PolicyKind.TRUST:
            for element in ("Resource", "NotResource"):
                if element in value:
                    self.sink.add("RESOURCE_NOT_ALLOWED", f"{location}.{element}", name=element)
            return None, False
        if name not in value:
            self.sink.add("MISSING_RESOURCE", location)
            return None, False
        where = f"{location}.{name}"
        items = self.strings(value[name], where, name)
        if items is None:
            return None, False
        single = isinstance(value[name], str)
        patterns: list[Pattern] = []
        for index, resource in enumerate(items):
            item_location = where if single else f"{where}[{index}]"
            if resource != "*" and not (resource.startswith("arn:") and resource.count(":") >= 5):
                self.sink.add("INVALID_RESOURCE", item_location, value=quote(resource))
                continue
            pattern = self.pattern(resource, item_location, wildcards=True, variables=self.variables)
            if pattern.has_variables and _colons_before_first_variable(pattern) < 5:
                self.sink.add("VARIABLE_OUTSIDE_RESOURCE_PART", item_location)
            if self.vocabulary is not None:
                self.extend(self.vocabulary.check_resource(resource, item_location))
            patterns.append(pattern)
        return tuple(patterns), name == "NotResource"

    def pattern(self, text: str, location: str, *, wildcards: bool, variables: bool) -> Pattern:
        problems: list[str] = []
        pattern = Pattern.parse(text, wildcards=wildcards, variables=variables, problems=problems)
        for problem in problems:
            self.sink.add("INVALID_VARIABLE", location, text=quote(problem))
        if not self.variables and "${" in text:
            self.sink.add("VARIABLES_NOT_SUBSTITUTED", location, text=quote(text))
        return pattern

    # --- principals -----------------------------------------------------------------

    def principal(self, value: dict[str, Any], location: str) -> tuple[PrincipalBlock | None, bool]:
        name = "NotPrincipal" if "NotPrincipal" in value and "Principal" not in value else "Principal"
        if self.kind is PolicyKind.IDENTITY:
            for element in ("Principal", "NotPrincipal"):
                if element in value:
                    self.sink.add("PRINCIPAL_NOT_ALLOWED", f"{location}.{element}", name=element)
            return None, False
        if name not in value:
            self.sink.add("MISSING_PRINCIPAL", location)
            return None, False
        where = f"{location}.{name}"
        block = value[name]
        if block == "*":
            return PrincipalBlock(everyone=True), name == "NotPrincipal"
        if not isinstance(block, dict):
            self.sink.add("INVALID_TYPE", where, name=name, expected='"*" or an object of principal types')
            return None, False
        if not block:
            self.sink.add("EMPTY_LIST", where, name=name)
            return None, False
        entries: list[tuple[str, tuple[str, ...]]] = []
        for kind, ids in block.items():
            kind_location = f"{where}.{kind}"
            if kind not in PRINCIPAL_TYPES:
                self.sink.add("UNKNOWN_PRINCIPAL_TYPE", kind_location, name=quote(kind))
                continue
            items = self.strings(ids, kind_location, f"{name}.{kind}")
            if items is None:
                continue
            for index, identifier in enumerate(items):
                reason = _principal_problem(kind, identifier)
                if reason:
                    item_location = kind_location if isinstance(ids, str) else f"{kind_location}[{index}]"
                    self.sink.add("INVALID_PRINCIPAL", item_location, value=quote(identifier), reason=reason)
            entries.append((kind, tuple(items)))
        return PrincipalBlock(entries=tuple(entries)), name == "NotPrincipal"

    # --- conditions -----------------------------------------------------------------

    def conditions(self, value: Any, location: str) -> tuple[Condition, ...] | None:
        if not isinstance(value, dict):
            self.sink.add("INVALID_TYPE", location, name="Condition", expected="an object")
            return None
        out: list[Condition] = []
        for operator_text, block in value.items():
            where = f"{location}.{operator_text}"
            operator = parse_operator(operator_text)
            if operator is None:
                self.sink.add("UNKNOWN_OPERATOR", where, name=quote(operator_text))
                continue
            if not isinstance(block, dict):
                self.sink.add(
                    "INVALID_TYPE", where, name=operator_text, expected="an object of condition keys"
                )
                continue
            if not block:
                self.sink.add("EMPTY_CONDITION_BLOCK", where, name=operator_text)
            for key, raw in block.items():
                condition = self.condition(operator_text, operator, key, raw, f"{where}{_key(key)}")
                if condition is not None:
                    out.append(condition)
        return tuple(out)

    def condition(
        self, operator_text: str, operator: Operator, key: str, raw: Any, location: str
    ) -> Condition | None:
        vendor, colon, rest = key.partition(":")
        if not (vendor and colon and rest):
            self.sink.add("INVALID_CONDITION_KEY", location, key=quote(key))
            return None
        texts = self.condition_texts(raw, location)
        if texts is None:
            return None
        values: list[Pattern] = []
        for text, item_location in texts:
            check = _VALUE_CHECKS.get(operator.family)
            if check is not None and check[0](text) is None:
                self.sink.add(
                    "INVALID_CONDITION_VALUE",
                    item_location,
                    value=quote(text),
                    operator=operator.name,
                    reason=check[1],
                )
                continue
            variables = self.variables and operator.substitutes_variables
            pattern = self.pattern(text, item_location, wildcards=operator.wildcards, variables=variables)
            if operator.family is Family.ARN and text.count(":") < 5:
                self.sink.add("NOT_AN_ARN_PATTERN", item_location, value=quote(text), operator=operator.name)
            values.append(pattern)
        if self.vocabulary is not None:
            self.extend(self.vocabulary.check_condition(operator_text, key, location))
        return Condition(operator_text, key, tuple(values))

    def condition_texts(self, raw: Any, location: str) -> list[tuple[str, str]] | None:
        # An empty value list is valid: AWS IoT's own example limits a connect to default features with
        # ForAllValues over [] (no ConnectAttributes value may be present).
        items = raw if isinstance(raw, list) else [raw]
        out: list[tuple[str, str]] = []
        for index, item in enumerate(items):
            item_location = f"{location}[{index}]" if isinstance(raw, list) else location
            text = _scalar_text(item)
            if text is None:
                self.sink.add(
                    "INVALID_TYPE",
                    item_location,
                    name="a condition value",
                    expected="a string, number or boolean",
                )
                return None
            out.append((text, item_location))
        return out


def _scalar_text(value: Any) -> str | None:
    # IAM accepts JSON numbers and booleans as condition values and compares their text.
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, jsonload.JsonNumber):
        return value.text
    return None


def _valid_action(action: str) -> bool:
    if action == "*":
        return True
    vendor, colon, name = action.partition(":")
    return bool(vendor and colon and name) and "*" not in vendor and "?" not in vendor


def _colons_before_first_variable(pattern: Pattern) -> int:
    count = 0
    for token in pattern.parts:
        if isinstance(token, Var):
            break
        if isinstance(token, str):
            count += token.count(":")
    return count


def _principal_problem(kind: str, identifier: str) -> str:
    if identifier == "*":
        return ""
    if not identifier:
        return "empty"
    if "*" in identifier or "?" in identifier:
        return 'wildcards are only allowed as a bare "*"'
    if kind == "AWS" and not (
        (len(identifier) == 12 and identifier.isdigit())
        or (identifier.startswith("arn:") and identifier.count(":") >= 5)
    ):
        return "expected an account id or an ARN"
    return ""


def parse_document(
    text: object, *, kind: PolicyKind, vocabulary: Vocabulary | None, max_length: int
) -> tuple[PolicyDocument | None, list[Finding]]:
    """Parse and validate; the document is ``None`` when any error was found."""
    sink = FindingSink()
    if not isinstance(text, str):
        sink.add("INVALID_INPUT", type=type(text).__name__)
        return None, sink.findings
    if len(text) > max_length:
        sink.add("DOCUMENT_TOO_LARGE", length=len(text), limit=max_length)
        return None, sink.findings
    value = jsonload.load(text, sink)
    if value is jsonload.MISSING:
        return None, sink.findings
    if vocabulary is not None:
        for finding in vocabulary.check_text(text):
            sink.append(finding)
    document = _Walker(kind, sink, vocabulary).document(value)
    if sink.has_errors:
        return None, sink.findings
    return document, sink.findings
