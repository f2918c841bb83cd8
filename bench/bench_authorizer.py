"""Decision-point throughput for broker-shaped requests, on one core.

Run: ``python bench/bench_authorizer.py`` (prints a table, writes bench/results/authorizer.json).

The principal is what the AWS sample apps produce: an authenticated Cognito identity whose role allows
AWS IoT actions on its own client id and topics, with an AWS IoT policy attached to the identity that
scopes them down further (the two-policy rule: both sets are evaluated for every data-plane action).
1,000 connections, each a ``ConnectionView`` from ``Authorizer.for_connection``, ask the questions a broker
asks: Connect once, Publish and Subscribe on their own topics, and Receive for every delivery (own
topics, a shared broadcast topic, someone else's topic, a denied admin topic).

Measured (CPU time, best of five):

* ``cached_decisions_per_s``: ``view.allows`` once every view has seen the mix (the broker's steady state);
* ``cold_decisions_per_s``: ``view.allows`` with each view's cache emptied first (every call evaluates
  both policy sets: what the first messages after a policy change cost);
* ``unrelated_change_all_views_ms``: wall time for a change that concerns none of the connections (a
  policy attached to another identity) to pass through every view: each re-reads its sets, finds them
  equal, and keeps its bound policies and cached answers;
* ``shared_change_reload_all_views_ms`` / ``shared_change_until_all_views_decide_ms``: a new default
  version of the AWS IoT policy every connection has (the AWS samples attach one policy to every
  identity): wall time until every view has reloaded, and until every view has answered with the new
  version (its first decision binds the new policies) — ``sync_generation`` + ``reload_views`` as the
  background watch runs them, which adds at most its 0.25 s poll interval;
* ``first_decisions_after_change_per_s``: a view's first decision after its policies changed (variables
  resolved from the connection's context, nothing bound yet);
* ``view_bindings_per_s``: binding a view's sets once it has made ``BIND_AFTER_EVALUATIONS`` evaluations
  since its policies last changed (then evaluating one request);
* ``api_decisions_per_s``: ``Authorizer.decide`` (the HTTP API's path: a generation check, then both sets
  evaluated, no decision cache).
"""

from __future__ import annotations

import asyncio
import json
import os
import platform
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from bastion.clock import SystemClock
from bastion.sealing import Sealer
from bastion.services.authorizer import BIND_AFTER_EVALUATIONS, Authorizer, ConnectionView
from bastion.services.connection_authz import ConnectionFacts
from bastion.services.iam.service import IamService
from bastion.services.identity import Principal, PrincipalKind, WebIdentity
from bastion.services.iot.policies import IotPolicyService
from bastion.storage.memory import MemoryStore
from cpu_rate import best_rate  # bench/, the script's own directory

ACCOUNT = "123456789012"
REGION = "us-east-1"
ARN = f"arn:aws:iot:{REGION}:{ACCOUNT}"
POOL = f"{REGION}:11111111-2222-3333-4444-555555555555"
SUB = "${cognito-identity.amazonaws.com:sub}"
CONNECTIONS = 1000


def _doc(*statements: dict[str, Any]) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


ROLE_POLICY = _doc(
    {"Effect": "Allow", "Action": "iot:Connect", "Resource": f"{ARN}:client/{SUB}"},
    {
        "Effect": "Allow",
        "Action": ["iot:Publish", "iot:Receive"],
        "Resource": [f"{ARN}:topic/users/{SUB}/*", f"{ARN}:topic/broadcast/*"],
    },
    {
        "Effect": "Allow",
        "Action": "iot:Subscribe",
        "Resource": [f"{ARN}:topicfilter/users/{SUB}/*", f"{ARN}:topicfilter/broadcast/*"],
    },
    {"Effect": "Allow", "Action": ["iot:AttachPolicy", "iot:ListAttachedPolicies"], "Resource": "*"},
)
IOT_POLICY = _doc(
    {
        "Sid": "Connect",
        "Effect": "Allow",
        "Action": "iot:Connect",
        "Resource": f"{ARN}:client/${{iot:ClientId}}",
    },
    {
        "Sid": "Own",
        "Effect": "Allow",
        "Action": ["iot:Publish", "iot:Receive", "iot:Subscribe"],
        "Resource": [f"{ARN}:topic/users/{SUB}/*", f"{ARN}:topicfilter/users/{SUB}/*"],
    },
    {
        "Sid": "Broadcast",
        "Effect": "Allow",
        "Action": ["iot:Receive", "iot:Subscribe"],
        "Resource": [f"{ARN}:topic/broadcast/*", f"{ARN}:topicfilter/broadcast/*"],
    },
    {
        "Sid": "NoAdmin",
        "Effect": "Deny",
        "Action": ["iot:Publish", "iot:Receive"],
        "Resource": f"{ARN}:topic/broadcast/admin/*",
    },
    {
        "Sid": "Networks",
        "Effect": "Deny",
        "Action": "iot:*",
        "Resource": "*",
        "Condition": {"NotIpAddress": {"aws:SourceIp": ["10.0.0.0/8", "192.168.0.0/16"]}},
    },
)
TRUST = _doc(
    {
        "Effect": "Allow",
        "Principal": {"Federated": "cognito-identity.amazonaws.com"},
        "Action": "sts:AssumeRoleWithWebIdentity",
    }
)


def _identity(n: int) -> str:
    return f"{REGION}:{n:08d}-aaaa-4bbb-8ccc-dddddddddddd"


def _principal(identity: str) -> Principal:
    return Principal(
        kind=PrincipalKind.ROLE_SESSION,
        account_id=ACCOUNT,
        arn=f"arn:aws:sts::{ACCOUNT}:assumed-role/CognitoAuth/CognitoIdentityCredentials",
        user_id="AROABENCH:CognitoIdentityCredentials",
        role_name="CognitoAuth",
        role_arn=f"arn:aws:iam::{ACCOUNT}:role/CognitoAuth",
        session_name="CognitoIdentityCredentials",
        web_identity=WebIdentity(
            "cognito-identity.amazonaws.com", identity, POOL, ("authenticated",), authenticated=True
        ),
    )


def _mix(identity: str) -> list[tuple[str, str]]:
    return [
        ("iot:Connect", f"{ARN}:client/{identity}"),
        ("iot:Publish", f"{ARN}:topic/users/{identity}/telemetry"),
        ("iot:Subscribe", f"{ARN}:topicfilter/users/{identity}/#"),
        ("iot:Subscribe", f"{ARN}:topicfilter/broadcast/#"),
        ("iot:Receive", f"{ARN}:topic/users/{identity}/commands"),
        ("iot:Receive", f"{ARN}:topic/broadcast/news"),
        ("iot:Receive", f"{ARN}:topic/broadcast/weather/today"),
        ("iot:Receive", f"{ARN}:topic/broadcast/admin/reset"),
        ("iot:Receive", f"{ARN}:topic/users/someone-else/commands"),
        ("iot:Publish", f"{ARN}:topic/users/someone-else/commands"),
    ]


async def _setup() -> tuple[Authorizer, IotPolicyService, list[tuple[ConnectionView, list[tuple[str, str]]]]]:
    store = MemoryStore()
    clock = SystemClock()
    iam = IamService(store, account_id=ACCOUNT, sealer=Sealer(os.urandom(32)), clock=clock)
    iot = IotPolicyService(store.iot, region=REGION, account_id=ACCOUNT, clock=clock)
    authorizer = Authorizer(iam, store.meta, region=REGION, account_id=ACCOUNT, iot=iot)
    await iam.create_role("CognitoAuth", TRUST)
    await iam.put_inline_policy("role", "CognitoAuth", "iot", ROLE_POLICY)
    await iot.create_policy("Devices", IOT_POLICY)
    views = []
    for n in range(CONNECTIONS):
        identity = _identity(n)
        await iot.attach("Devices", identity)
        facts = ConnectionFacts(client_id=identity, source_ip=f"10.0.{n % 256}.7", secure_transport=True)
        view = await authorizer.for_connection(_principal(identity), facts, now=datetime.now(UTC))
        views.append((view, _mix(identity)))
    await authorizer.sync_generation()
    return authorizer, iot, views


async def _measure() -> dict[str, Any]:
    authorizer, iot, views = await _setup()
    per_pass = sum(len(mix) for _, mix in views)
    allowed = sum(view.allows(action, resource) for view, mix in views for action, resource in mix)

    def cached() -> int:
        for view, mix in views:
            for action, resource in mix:
                view.allows(action, resource)
        return per_pass

    def cold() -> int:
        for view, mix in views:
            view._cache.clear()  # what a reload leaves: an empty cache over freshly bound policies
            for action, resource in mix:
                view.allows(action, resource)
        return per_pass

    results: dict[str, Any] = {
        "cached_decisions_per_s": round(best_rate(cached)),
        "cold_decisions_per_s": round(best_rate(cold)),
    }

    # A change that does not concern these connections (a policy attached to another identity): every
    # view re-reads its sets, finds them equal and keeps its bound policies and cached answers.
    await iot.create_policy("Unrelated", IOT_POLICY)
    start = time.perf_counter()
    await iot.attach("Unrelated", _identity(CONNECTIONS + 1))
    assert await authorizer.sync_generation()
    await authorizer.reload_views()
    results["unrelated_change_all_views_ms"] = round((time.perf_counter() - start) * 1000, 2)

    # A change to the policy every connection has (as in the AWS sample apps, one policy attached to
    # every identity): a new default version denying broadcast/news, until every view answers with it.
    probe = [(view, f"{ARN}:topic/broadcast/news") for view, _ in views]
    assert all(view.allows("iot:Receive", resource) for view, resource in probe)
    denying = json.loads(IOT_POLICY)
    denying["Statement"].append(
        {"Effect": "Deny", "Action": "iot:Receive", "Resource": f"{ARN}:topic/broadcast/news"}
    )
    start = time.perf_counter()
    await iot.create_policy_version("Devices", json.dumps(denying), set_as_default=True)
    assert await authorizer.sync_generation()
    await authorizer.reload_views()
    reloaded = time.perf_counter()
    assert not any(view.allows("iot:Receive", resource) for view, resource in probe)
    done = time.perf_counter()
    results["shared_change_reload_all_views_ms"] = round((reloaded - start) * 1000, 2)
    results["shared_change_until_all_views_decide_ms"] = round((done - start) * 1000, 2)

    # A view's first decision after its policies changed (what load() leaves: unbound sets, empty cache).
    def after_change() -> int:
        for view, mix in views:
            view._sets = view._source[0] if view._source else None
            view._unbound, view._evaluations = True, 0
            view._cache.clear()
            view.allows(*mix[0])
        return len(views)

    # Binding a view's sets once it has evaluated enough requests for that to pay.
    def bind() -> int:
        for view, mix in views:
            view._unbound, view._evaluations = True, BIND_AFTER_EVALUATIONS
            view._cache.clear()
            view.allows(*mix[0])
        return len(views)

    results["first_decisions_after_change_per_s"] = round(best_rate(after_change))
    results["view_bindings_per_s"] = round(best_rate(bind))

    # The HTTP API's path (async decide, no decision cache).
    view0, mix0 = views[0]
    principal = view0.principal
    context = authorizer.connection_context(principal, view0.facts, datetime.now(UTC))
    calls = 0
    start_cpu = time.process_time()
    while time.process_time() - start_cpu < 1.0:
        for action, resource in mix0:
            await authorizer.decide(principal, action, resource, context)
        calls += len(mix0)
    results["api_decisions_per_s"] = round(calls / (time.process_time() - start_cpu))
    for view, _ in views:
        view.close()
    return {"results": results, "decisions_in_mix": per_pass, "allowed_in_mix": allowed}


def main() -> None:
    measured = asyncio.run(_measure())
    results = measured["results"]
    report = {
        "benchmark": "bastion.services.authorizer",
        "python": platform.python_version(),
        "implementation": platform.python_implementation(),
        "machine": platform.machine(),
        "connections": CONNECTIONS,
        "decisions_in_mix": measured["decisions_in_mix"],
        "allowed_in_mix": measured["allowed_in_mix"],
        "targets": {"cached_decisions_per_s": 1_000_000, "shared_change_until_all_views_decide_ms": 1000},
        "results": results,
    }
    for name, value in results.items():
        print(f"{name:30s} {value:>14,}")
    out = Path(__file__).resolve().parent / "results" / "authorizer.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=2) + "\n")
    print(f"written {out}")


if __name__ == "__main__":
    main()
