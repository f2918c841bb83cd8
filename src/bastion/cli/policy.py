"""``bastion policy``: lint policy documents and test policy sets offline.

``bastion policy lint FILE...`` reports what AWS would refuse (errors) and the classic AWS IoT policy
mistakes (warnings), the same findings the server logs when a policy or version is created.

``bastion policy test REQUESTS --iot FILE [--iam FILE] ...`` decides each request of a file with the
server's own decision point (the policy sets and the two-policy rule of ``bastion.services.authorizer``)
and explains each decision. A requests file is a JSON list, or JSON lines, of objects::

    {"action": "iot:Publish", "resource": "topic/room/1", "client_id": "dev-1",
     "context": {"aws:SourceIp": "10.0.0.7"}, "expect": "ALLOWED"}

``resource`` may be a full ARN or the part after ``arn:aws:iot:REGION:ACCOUNT:``; ``expect`` is
``ALLOWED``, ``DENIED``, ``EXPLICIT_DENY`` or ``IMPLICIT_DENY``. Exit status: 0 when every expectation
holds, 1 when one does not or a file is invalid, 2 for a usage error.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

from bastion.policy import CompiledPolicy, Request, Severity
from bastion.policy.iot import lint_policy
from bastion.services.authorizer import (
    COGNITO_PROVIDER,
    DUAL_CHECK,
    AuthzDecision,
    PolicyRef,
    PolicySet,
    decide_with_sets,
    iot_set,
)

PRINCIPAL_KINDS = ("iot", "cognito-authenticated", "cognito-unauthenticated", "iam")
# TestAuthorization's action types are accepted as action names too.
_ACTION_TYPES = {
    "CONNECT": "iot:Connect",
    "PUBLISH": "iot:Publish",
    "SUBSCRIBE": "iot:Subscribe",
    "RECEIVE": "iot:Receive",
}
DEFAULT_IDENTITY = "us-east-1:00000000-0000-0000-0000-000000000000"


class PolicyCommandError(Exception):
    """A file the command cannot use; the message says which and why."""


def add_parser(commands: Any) -> None:
    """Register ``policy lint`` and ``policy test`` on the ``bastion`` command's subparsers."""
    policy = commands.add_parser("policy", help="lint policy documents, test policy sets offline")
    actions = policy.add_subparsers(dest="policy_command", metavar="ACTION")
    lint = actions.add_parser("lint", help="report errors and classic mistakes in policy documents")
    lint.add_argument("files", nargs="+", type=Path, metavar="FILE")
    lint.add_argument("--iam", action="store_true", help="the files are IAM policies, not AWS IoT policies")
    lint.add_argument(
        "--unauthenticated", action="store_true", help="the policies are meant for guest Cognito identities"
    )
    lint.add_argument("--strict", action="store_true", help="warnings fail too (exit status 1)")
    lint.add_argument("--json", action="store_true", help="print findings as JSON")

    test = actions.add_parser("test", help="decide a file of requests against a set of policies")
    test.add_argument("requests", type=Path, metavar="REQUESTS")
    test.add_argument("--iot", action="append", type=Path, default=[], metavar="FILE", help="AWS IoT policy")
    test.add_argument("--iam", action="append", type=Path, default=[], metavar="FILE", help="IAM role policy")
    test.add_argument("--session", type=Path, metavar="FILE", help="session policy of the role session")
    test.add_argument(
        "--as",
        dest="principal",
        choices=PRINCIPAL_KINDS,
        default=None,
        help="who asks: the IoT policies alone (default without --iam), an authenticated Cognito "
        "identity (IAM and IoT; default with --iam and --iot), a guest (IAM only) or an IAM principal",
    )
    test.add_argument("--identity-id", default=DEFAULT_IDENTITY, help="the Cognito identity id (sub)")
    test.add_argument("--pool-id", help="the Cognito identity pool id (aud)")
    test.add_argument("--region", default="us-east-1")
    test.add_argument("--account-id", default="123456789012")
    test.add_argument("--json", action="store_true", help="print decisions as JSON lines")


def run(args: argparse.Namespace, out: TextIO | None = None) -> int:
    out = out or sys.stdout
    try:
        if args.policy_command == "lint":
            return _lint(args, out)
        if args.policy_command == "test":
            return _test(args, out)
    except PolicyCommandError as exc:
        print(f"bastion policy: {exc}", file=sys.stderr)
        return 1
    print("bastion policy: choose an action: lint or test", file=sys.stderr)
    return 2


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise PolicyCommandError(f"cannot read {path}: {exc}") from exc


# ---- lint ------------------------------------------------------------------------------------------------


def _lint(args: argparse.Namespace, out: TextIO) -> int:
    failed = False
    for path in args.files:
        result = lint_policy(_read(path), iot_policy=not args.iam, unauthenticated=args.unauthenticated)
        for finding in result.findings:
            if args.json:
                record = {
                    "file": str(path),
                    "severity": finding.severity.value,
                    "code": finding.code,
                    "location": finding.location,
                    "message": finding.message,
                }
                print(json.dumps(record), file=out)
            else:
                where = f"{path}: {finding.location}" if finding.location else str(path)
                print(f"{where}: {finding.severity.value}: {finding.message} [{finding.code}]", file=out)
        warned = any(f.severity is Severity.WARNING for f in result.findings)
        failed |= bool(result.errors) or (args.strict and warned)
        if not args.json and not result.findings:
            print(f"{path}: no findings", file=out)
    return 1 if failed else 0


# ---- test ------------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class RequestCase:
    action: str
    resource: str
    context: dict[str, object]
    expect: str | None


def _compile(path: Path, *, iot: bool) -> CompiledPolicy:
    result = lint_policy(_read(path), iot_policy=iot, label=path.name)
    if result.policy is None:
        raise PolicyCommandError(f"{path} is not a valid policy: {result.error_message}")
    return result.policy


def build_sets(args: argparse.Namespace) -> list[PolicySet]:
    """The policy sets the authorizer would build for the chosen kind of principal."""
    kind = args.principal
    if kind is None:
        kind = "cognito-authenticated" if args.iam and args.iot else "iot" if args.iot else "iam"
    iot = tuple(_compile(p, iot=True) for p in args.iot)
    iot_refs = {p.label: PolicyRef(p.label, None, "iot") for p in iot}
    if kind == "iot":
        return [iot_set(args.identity_id, (iot, iot_refs), actions=None)]
    iam = tuple(_compile(p, iot=False) for p in args.iam)
    sets = [PolicySet("the IAM policies", iam, refs={p.label: PolicyRef(p.label) for p in iam})]
    if args.session is not None:
        session = _compile(args.session, iot=False)
        refs = {session.label: PolicyRef("session policy")}
        sets.append(PolicySet("the session policy", (session,), refs=refs))
    if kind == "cognito-authenticated":
        sets.append(iot_set(args.identity_id, (iot, iot_refs), actions=DUAL_CHECK))
    return sets


def _expand(resource: str, region: str, account: str) -> str:
    if resource == "*" or resource.startswith("arn:"):
        return resource
    return f"arn:aws:iot:{region}:{account}:{resource}"


def load_cases(text: str, args: argparse.Namespace) -> list[RequestCase]:
    stripped = text.strip()
    try:
        if stripped.startswith("["):
            raw: list[Any] = json.loads(stripped)
        else:
            raw = [json.loads(line) for line in stripped.splitlines() if line.strip()]
    except json.JSONDecodeError as exc:
        raise PolicyCommandError(f"{args.requests} is not JSON or JSON lines: {exc}") from exc
    cases: list[RequestCase] = []
    for index, item in enumerate(raw):
        if not isinstance(item, dict) or not isinstance(item.get("action"), str):
            raise PolicyCommandError(f"{args.requests} request {index}: needs an object with an action")
        name: str = item["action"]
        action = _ACTION_TYPES.get(name, name)
        resource = _expand(str(item.get("resource", "*")), args.region, args.account_id)
        context: dict[str, object] = {f"{COGNITO_PROVIDER}:sub": args.identity_id}
        if args.pool_id:
            context[f"{COGNITO_PROVIDER}:aud"] = args.pool_id
        if "client_id" in item:
            context["iot:ClientId"] = str(item["client_id"])
        extra = item.get("context", {})
        if not isinstance(extra, dict):
            raise PolicyCommandError(f"{args.requests} request {index}: context must be an object")
        context.update(extra)
        expect = item.get("expect")
        cases.append(RequestCase(action, resource, context, None if expect is None else str(expect).upper()))
    return cases


def _meets(decision: AuthzDecision, expect: str | None) -> bool:
    if expect is None:
        return True
    if expect in ("ALLOWED", "ALLOW"):
        return decision.allowed
    if expect in ("DENIED", "DENY"):
        return not decision.allowed
    return decision.outcome.value == expect


def _test(args: argparse.Namespace, out: TextIO) -> int:
    sets = build_sets(args)
    cases = load_cases(_read(args.requests), args)
    failures = 0
    for case in cases:
        decision = decide_with_sets(sets, Request(case.action, case.resource, case.context))
        ok = _meets(decision, case.expect)
        failures += not ok
        if args.json:
            record = {
                "action": case.action,
                "resource": case.resource,
                "decision": decision.outcome.value,
                "reason": decision.reason,
                "statements": list(decision.deciding),
                "expected": case.expect,
                "ok": ok,
            }
            print(json.dumps(record), file=out)
            continue
        mark = "ok  " if ok else "FAIL"
        expected = "" if ok or case.expect is None else f" (expected {case.expect})"
        print(f"{mark} {decision.outcome.value:<13} {case.action} {case.resource}{expected}", file=out)
        print(f"     {decision.reason}", file=out)
        for statement in decision.deciding:
            print(f"     - {statement}", file=out)
    if not args.json:
        print(f"{len(cases)} requests: {len(cases) - failures} as expected, {failures} not", file=out)
    return 1 if failures else 0
