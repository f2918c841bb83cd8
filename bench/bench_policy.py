"""Policy engine throughput on one core.

Run: ``python bench/bench_policy.py`` (prints a table, writes bench/results/policy.json).

The policy is a 10-statement AWS IoT-style policy with conditions and policy variables.
Measured:

* cold: ``evaluate`` on the unbound policy, variables resolved from each request's context,
  no decision caching (with the Request built per call; with requests built beforehand;
  and with a new source address on every request, so the address-parse cache never hits);
* bound: the policy bound once per connection (``CompiledPolicy.bind``), no caching;
* cached: what the broker does per connection after the first evaluation: a dict lookup of
  ``(action, resource)``, falling back to ``evaluate`` on a miss.
"""

from __future__ import annotations

import json
import platform
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from bastion.policy import ContextValue, Decision, Request, evaluate, parse_policy
from bastion.policy.values import clear_address_cache
from cpu_rate import best_rate  # bench/, the script's own directory

ARN = "arn:aws:iot:us-east-1:123456789012"
POOL = "us-east-1:11111111-2222-3333-4444-555555555555"
SUB = "${cognito-identity.amazonaws.com:sub}"

POLICY = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Sid": "Connect",
            "Effect": "Allow",
            "Action": "iot:Connect",
            "Resource": f"{ARN}:client/${{iot:ClientId}}",
            "Condition": {
                "ForAllValues:StringEquals": {"iot:ConnectAttributes": ["PersistentConnect", "LastWill"]}
            },
        },
        {
            "Sid": "PublishOwn",
            "Effect": "Allow",
            "Action": ["iot:Publish", "iot:RetainPublish"],
            "Resource": [f"{ARN}:topic/users/{SUB}/*", f"{ARN}:topic/public/*"],
        },
        {
            "Sid": "SubscribeOwn",
            "Effect": "Allow",
            "Action": "iot:Subscribe",
            "Resource": [f"{ARN}:topicfilter/users/{SUB}/*", f"{ARN}:topicfilter/public/*"],
        },
        {
            "Sid": "ReceiveOwn",
            "Effect": "Allow",
            "Action": "iot:Receive",
            "Resource": [f"{ARN}:topic/users/{SUB}/*", f"{ARN}:topic/public/*"],
        },
        {
            "Sid": "DenyAdmin",
            "Effect": "Deny",
            "Action": ["iot:Publish", "iot:Receive"],
            "Resource": f"{ARN}:topic/public/admin/*",
        },
        {
            "Sid": "Shadow",
            "Effect": "Allow",
            "Action": ["iot:GetThingShadow", "iot:UpdateThingShadow"],
            "Resource": f"{ARN}:thing/${{iot:Connection.Thing.ThingName}}",
            "Condition": {"Bool": {"iot:Connection.Thing.IsAttached": "true"}},
        },
        {
            "Sid": "OnlyFromNetworks",
            "Effect": "Deny",
            "Action": "iot:*",
            "Resource": "*",
            "Condition": {
                "NotIpAddress": {"aws:SourceIp": ["10.0.0.0/8", "192.168.0.0/16", "2001:db8::/32"]}
            },
        },
        {
            "Sid": "ShadowTopics",
            "Effect": "Allow",
            "Action": ["iot:Publish", "iot:Subscribe", "iot:Receive"],
            "Resource": [
                f"{ARN}:topic/$aws/things/${{iot:ClientId}}/shadow/*",
                f"{ARN}:topicfilter/$aws/things/${{iot:ClientId}}/shadow/*",
            ],
            "Condition": {"StringEquals": {"cognito-identity.amazonaws.com:aud": POOL}},
        },
        {
            "Sid": "Expiry",
            "Effect": "Deny",
            "Action": "iot:Connect",
            "Resource": "*",
            "Condition": {"DateGreaterThan": {"aws:CurrentTime": "2099-01-01T00:00:00Z"}},
        },
        {
            "Sid": "AuthenticatedReceive",
            "Effect": "Allow",
            "Action": "iot:Receive",
            "Resource": f"{ARN}:topic/broadcast/?/*",
            "Condition": {"ForAnyValue:StringLike": {"cognito-identity.amazonaws.com:amr": "authenticated"}},
        },
    ],
}


def _requests(clients: int) -> list[tuple[str, str, dict[str, ContextValue]]]:
    out: list[tuple[str, str, dict[str, ContextValue]]] = []
    for n in range(clients):
        sub = f"us-east-1:{n:08d}-aaaa-bbbb-cccc-dddddddddddd"
        client = f"device-{n}"
        context: dict[str, ContextValue] = {
            "iot:ClientId": client,
            "cognito-identity.amazonaws.com:sub": sub,
            "cognito-identity.amazonaws.com:aud": POOL,
            "cognito-identity.amazonaws.com:amr": [
                "authenticated",
                "cognito-idp.us-east-1.amazonaws.com/pool",
            ],
            "aws:SourceIp": f"10.0.{n % 256}.7",
            "aws:CurrentTime": "2025-06-01T12:00:00Z",
            "iot:ConnectAttributes": ["PersistentConnect"],
            "iot:Connection.Thing.ThingName": client,
            "iot:Connection.Thing.IsAttached": True,
        }
        out += [
            ("iot:Connect", f"{ARN}:client/{client}", context),
            ("iot:Publish", f"{ARN}:topic/users/{sub}/telemetry", context),
            ("iot:Publish", f"{ARN}:topic/public/admin/reset", context),
            ("iot:Subscribe", f"{ARN}:topicfilter/users/{sub}/#", context),
            ("iot:Receive", f"{ARN}:topic/public/news", context),
            ("iot:Receive", f"{ARN}:topic/broadcast/x/all", context),
            ("iot:Publish", f"{ARN}:topic/$aws/things/{client}/shadow/update", context),
            ("iot:Publish", f"{ARN}:topic/users/someone-else/x", context),
            ("iot:UpdateThingShadow", f"{ARN}:thing/{client}", context),
            ("iot:Receive", f"{ARN}:topic/other/topic", context),
        ]
    return out


def main() -> None:
    parsed = parse_policy(json.dumps(POLICY), label="bench")
    assert parsed.policy is not None, parsed.error_message
    policy = parsed.policy
    policies = [policy]
    raw = _requests(100)
    prebuilt = [Request(action, resource, context) for action, resource, context in raw]
    allowed = sum(evaluate(policies, request).allowed for request in prebuilt)

    def cold_with_request() -> int:
        for action, resource, context in raw:
            evaluate(policies, Request(action, resource, context))
        return len(raw)

    def cold_prebuilt() -> int:
        for request in prebuilt:
            evaluate(policies, request)
        return len(prebuilt)

    # Every request from a new source address, with the address cache emptied each pass,
    # so that no address parse is ever reused.
    fresh = [
        Request(action, resource, dict(context, **{"aws:SourceIp": f"10.{i // 256 % 256}.{i % 256}.9"}))
        for i, (action, resource, context) in enumerate(raw)
    ]

    def cold_fresh_addresses() -> int:
        clear_address_cache()
        for request in fresh:
            evaluate(policies, request)
        return len(fresh)

    # One connection's view: the policy bound to its identity, requests for that client.
    first = raw[0][2]
    bound = [
        policy.bind({key: str(first[key]) for key in ("iot:ClientId", "cognito-identity.amazonaws.com:sub")})
    ]
    own = prebuilt[:10]

    def bound_eval() -> int:
        for request in own:
            evaluate(bound, request)
        return len(own)

    cache: dict[tuple[str, str], Decision] = {}
    keys = [(request.action, request.resource, request) for request in own]

    def cached() -> int:
        for action, resource, request in keys:
            decision = cache.get((action, resource))
            if decision is None:
                decision = cache[(action, resource)] = evaluate(bound, request)
        return len(keys)

    results = {
        "cold_evaluations_per_s_with_request_build": round(best_rate(cold_with_request)),
        "cold_evaluations_per_s": round(best_rate(cold_prebuilt)),
        "cold_evaluations_per_s_fresh_addresses": round(best_rate(cold_fresh_addresses)),
        "bound_evaluations_per_s": round(best_rate(bound_eval)),
        "cached_decisions_per_s": round(best_rate(cached)),
    }
    report = {
        "benchmark": "bastion.policy",
        "python": platform.python_version(),
        "implementation": platform.python_implementation(),
        "machine": platform.machine(),
        "statements": len(POLICY["Statement"]),
        "requests_in_mix": len(raw),
        "allowed_in_mix": allowed,
        "targets": {"cold_evaluations_per_s": 50_000, "cached_decisions_per_s": 1_000_000},
        "results": results,
    }
    for name, value in results.items():
        print(f"{name:45s} {value:>12,d}")
    out = Path(__file__).resolve().parent / "results" / "policy.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=2) + "\n")
    print(f"written {out}")


if __name__ == "__main__":
    main()
