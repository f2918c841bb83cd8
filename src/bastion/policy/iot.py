"""The AWS IoT policy vocabulary and the lint rules for the classic IoT policy mistakes.

AWS IoT policies share IAM's grammar (the engine parses and evaluates them unchanged); what this module
adds is what AWS IoT requires of them and what experience says goes wrong with them:

* the size rule: at most 2,048 characters **excluding whitespace** (an error, as AWS refuses it);
* warnings for actions AWS IoT policies do not govern and ARNs that are not AWS IoT resources;
* warnings for MQTT wildcards in resources (``+`` and ``#`` are literal characters in a policy), for a
  statement whose resources can never be the resource type its action is checked against (Subscribe is
  checked against ``topicfilter/``, Receive against ``topic/``), for ``iot:*`` on ``*``, and for a policy
  that lets a client subscribe but never receive;
* with ``unauthenticated=True``: notes about policies meant for guest (unauthenticated) Cognito identities.

The same rules run for IAM policies that govern ``iot:`` actions (``lint_policy(..., iot_policy=False)``),
minus the rules that only hold for IoT policies (size, foreign actions and resources).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from bastion.policy.document import Effect, Statement
from bastion.policy.evaluate import ParseResult, parse_policy
from bastion.policy.findings import Finding, Severity, quote
from bastion.policy.glob import Glob, GlobSet
from bastion.policy.vocabulary import IamVocabulary, Vocabulary

MAX_IOT_POLICY_CHARS = 2048  # non-whitespace characters (CreatePolicy / CreatePolicyVersion)
# What the API accepts at all (botocore's PolicyDocument max); the 2,048 rule applies after.
MAX_IOT_POLICY_TEXT = 404_600

COGNITO_PREFIX = "cognito-identity.amazonaws.com:"

# Data-plane actions an AWS IoT policy governs, spelled as AWS documents them.
DATA_PLANE_ACTIONS: tuple[str, ...] = (
    "iot:Connect",
    "iot:Publish",
    "iot:RetainPublish",
    "iot:Subscribe",
    "iot:Receive",
    "iot:GetRetainedMessage",
    "iot:ListRetainedMessages",
    "iot:GetThingShadow",
    "iot:UpdateThingShadow",
    "iot:DeleteThingShadow",
    "iot:ListNamedShadowsForThing",
    "iot:AssumeRoleWithCertificate",
    "iot:DescribeJobExecution",
    "iot:GetPendingJobExecutions",
    "iot:StartNextPendingJobExecution",
    "iot:UpdateJobExecution",
)
_ACTION_KEYS = {action.lower(): action for action in DATA_PLANE_ACTIONS}
# Services whose actions also appear in AWS IoT policies (Greengrass core devices, Jobs over HTTPS).
_OTHER_VENDORS = frozenset({"iot", "greengrass", "iotjobsdata"})

# The resource type (first segment after the fifth colon) each action is checked against.
RESOURCE_TYPE: dict[str, str] = {
    "iot:connect": "client",
    "iot:publish": "topic",
    "iot:retainpublish": "topic",
    "iot:receive": "topic",
    "iot:getretainedmessage": "topic",
    "iot:subscribe": "topicfilter",
    "iot:getthingshadow": "thing",
    "iot:updatethingshadow": "thing",
    "iot:deletethingshadow": "thing",
    "iot:assumerolewithcertificate": "rolealias",
}
DATA_PLANE_RESOURCE_TYPES = frozenset({"client", "topic", "topicfilter", "thing", "rolealias"})

# code -> (severity, message template); every finding this module emits is listed here.
IOT_CATALOGUE: dict[str, tuple[Severity, str]] = {
    "IOT_DOCUMENT_TOO_LARGE": (
        Severity.ERROR,
        "policy document has {length} characters besides whitespace; AWS IoT allows at most {limit}",
    ),
    "IOT_UNKNOWN_ACTION": (
        Severity.WARNING,
        "{action} is not an action AWS IoT policies govern ({known}); it has no effect here",
    ),
    "IOT_FOREIGN_ACTION": (
        Severity.WARNING,
        "{action} belongs to another service; an AWS IoT policy only governs iot: actions",
    ),
    "IOT_FOREIGN_RESOURCE": (
        Severity.WARNING,
        "{resource} is not an AWS IoT resource (arn:aws:iot:region:account:...), so it never matches",
    ),
    "IOT_UNKNOWN_RESOURCE_TYPE": (
        Severity.WARNING,
        "{resource} names resource type {type}; AWS IoT checks data-plane actions against "
        "client/, topic/, topicfilter/, thing/ and rolealias/ ARNs",
    ),
    "IOT_MQTT_WILDCARD_IN_TOPIC": (
        Severity.WARNING,
        "{resource}: + and # are literal characters in a policy, and MQTT topic names cannot contain "
        "them, so this never matches a message; use * (any characters, across levels) instead",
    ),
    "IOT_MQTT_WILDCARD_IN_TOPIC_FILTER": (
        Severity.WARNING,
        "{resource}: + and # are literal characters in a policy: this matches only a SUBSCRIBE whose "
        "filter is exactly that text; to allow every filter under a prefix, use *",
    ),
    "IOT_ALLOWS_EVERYTHING": (
        Severity.WARNING,
        "this statement allows {action} on every resource: any client can connect with any client id "
        "and publish, subscribe and receive on every topic",
    ),
    "IOT_RESOURCE_TYPE_MISMATCH": (
        Severity.WARNING,
        "{action} is checked against {type}/ ARNs, but no resource of this statement is one, so it "
        "never {effect} {action}",
    ),
    "IOT_SUBSCRIBE_WITHOUT_RECEIVE": (
        Severity.WARNING,
        "the policy allows iot:Subscribe but never iot:Receive: subscriptions succeed and no message "
        "is ever delivered (each delivery is checked with iot:Receive on topic/...)",
    ),
    "IOT_POLICY_IGNORED_FOR_GUESTS": (
        Severity.WARNING,
        "AWS IoT policies attached to unauthenticated Cognito identities are ignored: guests are "
        "authorized by their identity pool role's IAM policy alone",
    ),
    "IOT_COGNITO_VARIABLE_FOR_GUESTS": (
        Severity.WARNING,
        "{variable} is a guest's identity id, which anyone can obtain anew at any time: it keeps guests "
        "apart from each other but does not identify a user",
    ),
}


def iot_finding(code: str, location: str = "", **values: object) -> Finding:
    severity, template = IOT_CATALOGUE[code]
    return Finding(severity, code, template.format(**values), location)


def non_whitespace_length(text: str) -> int:
    """The length AWS IoT's 2,048 limit counts: every character except whitespace."""
    return len(text) - sum(1 for char in text if char.isspace())


@dataclass(frozen=True, slots=True)
class _Arn:
    service: str
    resource_type: str
    rest: str  # after "type/", or "" when the resource part has no "/"


def _split_arn(resource: str) -> _Arn | None:
    parts = resource.split(":", 5)
    if len(parts) != 6 or parts[0] != "arn":
        return None
    resource_type, _, rest = parts[5].partition("/")
    return _Arn(parts[2], resource_type, rest)


def _has_wildcard(text: str) -> bool:
    return "*" in text or "?" in text


def _may_be_type(resource: str, resource_type: str) -> bool:
    """Whether a Resource entry could match some ARN of ``resource_type`` (loose: wildcards say yes)."""
    if resource == "*":
        return True
    arn = _split_arn(resource)
    if arn is None:
        return _has_wildcard(resource)
    head = resource.split(":", 5)[5]
    if head.startswith(resource_type + "/"):
        return True
    # A wildcard before the type ends ("*", "topic*", "t?pic/...") can stand for the type.
    wild = min((i for i in (head.find("*"), head.find("?")) if i >= 0), default=-1)
    return wild >= 0 and (resource_type + "/").startswith(head[:wild])


class IotVocabulary(Vocabulary):
    """AWS IoT's rules for its own policies (``iot_policy=True``) or the IoT lint rules for IAM policies.

    Sids: AWS IoT accepts more than IAM's letters and digits; for IAM policies IAM's rule applies.
    """

    def __init__(self, *, iot_policy: bool = True) -> None:
        self.iot_policy = iot_policy

    def check_text(self, text: str) -> Iterable[Finding]:
        if not self.iot_policy:
            return ()
        length = non_whitespace_length(text)
        if length > MAX_IOT_POLICY_CHARS:
            return (iot_finding("IOT_DOCUMENT_TOO_LARGE", length=length, limit=MAX_IOT_POLICY_CHARS),)
        return ()

    def check_sid(self, sid: str, location: str) -> Iterable[Finding]:
        return () if self.iot_policy else IamVocabulary().check_sid(sid, location)

    def check_action(self, action: str, location: str) -> Iterator[Finding]:
        if not self.iot_policy or action == "*":
            return
        vendor = action.partition(":")[0].lower()
        if vendor not in _OTHER_VENDORS:
            yield iot_finding("IOT_FOREIGN_ACTION", location, action=quote(action))
        elif vendor == "iot" and not _admits_known_action(action):
            known = "iot:Connect, iot:Publish, iot:Subscribe, iot:Receive, shadows, retained messages, jobs"
            yield iot_finding("IOT_UNKNOWN_ACTION", location, action=quote(action), known=known)

    def check_resource(self, resource: str, location: str) -> Iterator[Finding]:
        arn = _split_arn(resource)
        if arn is None:
            return
        if self.iot_policy and arn.service not in ("iot", "*") and not _has_wildcard(arn.service):
            yield iot_finding("IOT_FOREIGN_RESOURCE", location, resource=quote(resource))
            return
        if arn.service != "iot":
            return
        if (
            self.iot_policy
            and arn.resource_type not in DATA_PLANE_RESOURCE_TYPES
            and not _has_wildcard(arn.resource_type)
        ):
            yield iot_finding(
                "IOT_UNKNOWN_RESOURCE_TYPE", location, resource=quote(resource), type=quote(arn.resource_type)
            )
        if "+" in arn.rest or "#" in arn.rest:
            if arn.resource_type == "topic":
                yield iot_finding("IOT_MQTT_WILDCARD_IN_TOPIC", location, resource=quote(resource))
            elif arn.resource_type == "topicfilter":
                yield iot_finding("IOT_MQTT_WILDCARD_IN_TOPIC_FILTER", location, resource=quote(resource))

    def check_statement(self, statement: Statement, location: str) -> Iterator[Finding]:
        if statement.not_action or statement.resources is None:
            return
        resources = [pattern.render() for pattern in statement.resources]
        keys = {action.lower() for action in statement.actions}
        if (
            statement.effect is Effect.ALLOW
            and not statement.not_resource
            and "*" in resources
            and keys & {"*", "iot:*"}
        ):
            shown = "*" if "*" in keys else "iot:*"
            yield iot_finding("IOT_ALLOWS_EVERYTHING", location, action=shown)
        if statement.not_resource:
            return
        for action in statement.actions:
            resource_type = RESOURCE_TYPE.get(action.lower())
            if resource_type is None or any(_may_be_type(r, resource_type) for r in resources):
                continue
            effect = "allows" if statement.effect is Effect.ALLOW else "denies"
            yield iot_finding(
                "IOT_RESOURCE_TYPE_MISMATCH",
                location,
                action=_ACTION_KEYS.get(action.lower(), action),
                type=resource_type,
                effect=effect,
            )


def _admits_known_action(action: str) -> bool:
    key = action.lower()
    if not _has_wildcard(key):
        return key in _ACTION_KEYS
    glob = Glob.from_text(key)
    return any(glob.match(known) for known in _ACTION_KEYS)


def _statements_allow(statements: Iterable[Statement], action: str) -> bool:
    """Whether some Allow statement's Action/NotAction admits ``action`` (ignoring resources)."""
    key = action.lower()
    for statement in statements:
        if statement.effect is not Effect.ALLOW:
            continue
        names = GlobSet(Glob.from_text(a.lower()) for a in statement.actions)
        if names.match(key) is not statement.not_action:
            return True
    return False


def _document_findings(result: ParseResult, *, iot_policy: bool, unauthenticated: bool) -> list[Finding]:
    policy = result.policy
    if policy is None:
        return []
    statements = policy.document.statements
    found: list[Finding] = []
    if _statements_allow(statements, "iot:Subscribe") and not _statements_allow(statements, "iot:Receive"):
        found.append(iot_finding("IOT_SUBSCRIBE_WITHOUT_RECEIVE"))
    if unauthenticated:
        if iot_policy:
            found.append(iot_finding("IOT_POLICY_IGNORED_FOR_GUESTS"))
        for key in sorted(policy.variable_keys):
            if key.startswith(COGNITO_PREFIX):
                found.append(iot_finding("IOT_COGNITO_VARIABLE_FOR_GUESTS", variable="${" + key + "}"))
    return found


def lint_policy(
    text: str, *, iot_policy: bool = True, unauthenticated: bool = False, label: str = ""
) -> ParseResult:
    """Parse ``text`` with the IoT rules and add the whole-document lint findings. Never raises.

    ``iot_policy``: an AWS IoT policy (True) or an IAM identity policy that may govern iot: actions.
    ``unauthenticated``: the policy is meant for guest Cognito identities (their role, or attached to them).
    """
    vocabulary = IotVocabulary(iot_policy=iot_policy)
    result = parse_policy(text, label=label, vocabulary=vocabulary, max_length=MAX_IOT_POLICY_TEXT)
    extra = _document_findings(result, iot_policy=iot_policy, unauthenticated=unauthenticated)
    if not extra:
        return result
    return ParseResult(result.policy, result.findings + tuple(extra))
