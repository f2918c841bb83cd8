"""Laws of policy evaluation over randomly generated policies and requests:
a matching Deny always wins; no statements means implicit deny; statement order and
policy grouping do not change the outcome; adding a Deny never allows more."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from bastion.policy import CompiledPolicy, Outcome, Request, evaluate, parse_policy

ARN = "arn:aws:iot:us-east-1:123456789012:topic/"
segments = st.text(alphabet="ab+#", min_size=1, max_size=3)
resource_patterns = st.builds(
    lambda parts, tail: ARN + "/".join(parts) + tail,
    st.lists(segments, min_size=1, max_size=3),
    st.sampled_from(["", "*", "?", "/*"]),
) | st.just("*")
actions = st.sampled_from(["iot:Publish", "iot:Subscribe", "iot:Receive", "iot:Connect"])
action_patterns = actions | st.sampled_from(["iot:*", "*", "iot:?ublish", "IOT:PUBLISH"])
conditions = st.sampled_from(
    [
        None,
        {"StringEquals": {"iot:ClientId": "c1"}},
        {"StringNotEquals": {"iot:ClientId": "c1"}},
        {"Bool": {"aws:SecureTransport": "true"}},
        {"ForAnyValue:StringLike": {"iot:ConnectAttributes": "Persist*"}},
        {"IpAddress": {"aws:SourceIp": "10.0.0.0/8"}},
    ]
)


@st.composite
def statements(draw: st.DrawFn, effect: str | None = None) -> dict[str, Any]:
    statement: dict[str, Any] = {
        "Effect": effect or draw(st.sampled_from(["Allow", "Deny"])),
        draw(st.sampled_from(["Action", "NotAction"])): draw(
            st.lists(action_patterns, min_size=1, max_size=2)
        ),
        draw(st.sampled_from(["Resource", "Resource", "NotResource"])): draw(
            st.lists(resource_patterns, min_size=1, max_size=2)
        ),
    }
    condition = draw(conditions)
    if condition is not None:
        statement["Condition"] = condition
    return statement


def compile_statements(items: list[dict[str, Any]], label: str = "p") -> CompiledPolicy:
    result = parse_policy(json.dumps({"Version": "2012-10-17", "Statement": items}), label=label)
    assert result.policy is not None, result.error_message
    return result.policy


requests = st.builds(
    lambda action, parts, context: Request(action, ARN + "/".join(parts), context),
    actions,
    st.lists(segments, min_size=1, max_size=4),
    st.fixed_dictionaries(
        {},
        optional={
            "iot:ClientId": st.sampled_from(["c1", "c2"]),
            "aws:SecureTransport": st.booleans(),
            "iot:ConnectAttributes": st.lists(st.sampled_from(["PersistentConnect", "LastWill"]), max_size=2),
            "aws:SourceIp": st.sampled_from(["10.1.1.1", "192.168.0.1", "::1"]),
        },
    ),
)


@settings(max_examples=150, deadline=None)
@given(st.lists(statements(), min_size=1, max_size=6), requests)
def test_deny_wins_whenever_a_deny_statement_matches(items: list[dict[str, Any]], request: Request) -> None:
    decision = evaluate([compile_statements(items)], request)
    # Judge each statement on its own, as a one-statement policy.
    matched = [evaluate([compile_statements([item])], request) for item in items]
    deny_matches = any(
        item["Effect"] == "Deny" and d.outcome is Outcome.EXPLICIT_DENY
        for item, d in zip(items, matched, strict=True)
    )
    allow_matches = any(
        item["Effect"] == "Allow" and d.allowed for item, d in zip(items, matched, strict=True)
    )
    if deny_matches:
        assert decision.outcome is Outcome.EXPLICIT_DENY
    elif allow_matches:
        assert decision.outcome is Outcome.ALLOW
    else:
        assert decision.outcome is Outcome.IMPLICIT_DENY
    assert decision.allowed is (decision.outcome is Outcome.ALLOW)
    assert bool(decision.deciding) is (decision.outcome is not Outcome.IMPLICIT_DENY)


@settings(max_examples=60, deadline=None)
@given(requests)
def test_no_statements_is_implicit_deny(request: Request) -> None:
    assert evaluate([], request).outcome is Outcome.IMPLICIT_DENY


@settings(max_examples=100, deadline=None)
@given(st.lists(statements(), min_size=1, max_size=6), requests, st.randoms(use_true_random=False))
def test_order_and_grouping_do_not_matter(items: list[dict[str, Any]], request: Request, rng: Any) -> None:
    one = evaluate([compile_statements(items)], request)
    shuffled = list(items)
    rng.shuffle(shuffled)
    assert evaluate([compile_statements(shuffled)], request).outcome is one.outcome
    split = [compile_statements([item], label=f"p{i}") for i, item in enumerate(items)]
    assert evaluate(split, request).outcome is one.outcome


@settings(max_examples=100, deadline=None)
@given(st.lists(statements(), min_size=1, max_size=5), statements(effect="Deny"), requests)
def test_adding_a_deny_never_allows_more(
    items: list[dict[str, Any]], deny: dict[str, Any], request: Request
) -> None:
    before = evaluate([compile_statements(items)], request)
    after = evaluate([compile_statements([*items, deny])], request)
    if not before.allowed:
        assert not after.allowed
    if before.outcome is Outcome.EXPLICIT_DENY:
        assert after.outcome is Outcome.EXPLICIT_DENY
