"""What an authenticated MQTT CONNECT costs Bastion, without the network: one core, a real SQLite store.

Run: ``python bench/bench_connect.py`` (prints a table, writes bench/results/connect.json).

Two kinds of credentials, as the broker meets them on a WebSocket upgrade (or a TCP ``sigv4`` password):

* ``iam``: an IAM user's long-term access key (the secret is sealed in the store);
* ``cognito``: temporary credentials of an authenticated Cognito identity (a role session whose sealed
  session token carries everything), with an AWS IoT policy attached to its identity id, so that its
  decisions take both the role's policies and the IoT policy (the two-policy rule).

Measured per CPU second (best of five), each step on its own and then the whole path:

* ``authenticate``: ``Authenticator.presigned`` on a presigned ``GET /mqtt`` (parse, time and scope
  checks, the access key's secret and principal, the signature). Every URL is signed at a different
  second, so no two signatures are alike;
* ``authorize``: ``Authorizer.for_connection`` (the connection's view) and its first two decisions,
  ``iot:Connect`` on the client id and ``iot:Subscribe`` on the connection's own topic filter;
* ``connect``: both, as one CONNECT does them.

The background generation watch is not running: nothing changes during the measurement, as in a storm.
"""

from __future__ import annotations

import asyncio
import json
import platform
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from bastion.auth.sigv4_presign import presign_websocket_url
from bastion.broker.authentication import Authenticator
from bastion.clock import SystemClock
from bastion.sealing import Sealer, load_or_create_master_key
from bastion.services.authorizer import Authorizer
from bastion.services.connection_authz import ConnectionFacts
from bastion.services.iam.service import IamService
from bastion.services.identity import CachingCredentialResolver, CredentialResolver, Principal, WebIdentity
from bastion.services.iot.policies import IotPolicyService
from bastion.services.sts.service import StsService
from bastion.storage.factory import open_store

ACCOUNT = "123456789012"
REGION = "us-east-1"
ARN = f"arn:aws:iot:{REGION}:{ACCOUNT}"
HOST = "127.0.0.1:4580"
POOL = f"{REGION}:11111111-2222-3333-4444-555555555555"
IDENTITY = f"{REGION}:00000001-aaaa-4bbb-8ccc-dddddddddddd"
URLS = 2000  # distinct presigned URLs per kind, used round-robin


def _doc(*statements: dict[str, Any]) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


POLICY = _doc(
    {"Effect": "Allow", "Action": "iot:Connect", "Resource": f"{ARN}:client/*"},
    {"Effect": "Allow", "Action": ["iot:Publish", "iot:Receive"], "Resource": f"{ARN}:topic/bench/*"},
    {"Effect": "Allow", "Action": "iot:Subscribe", "Resource": f"{ARN}:topicfilter/bench/*"},
    {
        "Effect": "Deny",
        "Action": ["iot:Publish", "iot:Receive", "iot:Subscribe"],
        "Resource": [f"{ARN}:topic/bench/forbidden/*", f"{ARN}:topicfilter/bench/forbidden/*"],
    },
)
TRUST = _doc(
    {
        "Effect": "Allow",
        "Principal": {"Federated": "cognito-identity.amazonaws.com"},
        "Action": "sts:AssumeRoleWithWebIdentity",
    }
)


class Bench:
    """The services one ``bastion serve`` assembles for the broker's CONNECT, over one SQLite store."""

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir
        self.clock = SystemClock()

    async def start(self) -> None:
        sealer = Sealer(load_or_create_master_key(self.data_dir, None))
        self.store = await open_store(f"sqlite:///{self.data_dir / 'bastion.db'}")
        self.iam = IamService(self.store, account_id=ACCOUNT, sealer=sealer, clock=self.clock)
        self.resolver = CredentialResolver(
            account_id=ACCOUNT,
            admin_access_key_id="AKIAADMINADMINADMIN0",
            admin_secret_access_key="admin-secret",  # noqa: S106 - never used to sign here
            iam=self.store.iam,
            sealer=sealer,
            clock=self.clock,
        )
        iot = IotPolicyService(self.store.iot, region=REGION, account_id=ACCOUNT, clock=self.clock)
        self.authorizer = Authorizer(self.iam, self.store.meta, region=REGION, account_id=ACCOUNT, iot=iot)
        # As the broker has it (bastion.broker.server): credentials cached for the current generation.
        cached = CachingCredentialResolver(self.resolver, lambda: self.authorizer.generation)
        self.authenticator = Authenticator(cached, self.clock, region=REGION)
        self.sts = StsService(iam=self.iam, tokens=self.resolver.tokens, account_id=ACCOUNT, clock=self.clock)

        await self.iam.create_user("bench")
        await self.iam.put_inline_policy("user", "bench", "bench-iot", POLICY)
        key = await self.iam.create_access_key("bench")
        self.iam_keys = (key.key.access_key_id, key.secret_access_key, None)

        role = await self.iam.create_role("bench-cognito", TRUST)
        await self.iam.put_inline_policy("role", "bench-cognito", "bench-iot", POLICY)
        await iot.create_policy("bench-iot", POLICY)
        await iot.attach("bench-iot", IDENTITY)
        web = WebIdentity("cognito-identity.amazonaws.com", IDENTITY, POOL, ("authenticated",), True)
        session = self.sts.issue(role, "CognitoIdentityCredentials", 3600, web_identity=web)
        creds = session.credentials
        self.cognito_keys = (creds.access_key_id, creds.secret_access_key, creds.session_token)
        await self.authorizer.sync_generation()

    async def close(self) -> None:
        await self.store.close()

    def urls(self, keys: tuple[str, str, str | None]) -> list[tuple[str, str]]:
        """(raw path, raw query) of presigned URLs, each signed at a different second."""
        now = datetime.now(UTC)
        out = []
        for n in range(URLS):
            url = presign_websocket_url(
                HOST, REGION, keys[0], keys[1], keys[2], now - timedelta(seconds=n % 240), scheme="ws"
            )
            parts = urlsplit(url)
            out.append((parts.path, parts.query))
        return out

    async def authenticate(self, url: tuple[str, str]) -> Principal:
        return await self.authenticator.presigned(url[0], url[1], [("Host", HOST)])

    async def authorize(self, principal: Principal, n: int) -> None:
        facts = ConnectionFacts(f"storm-{n}", "127.0.0.1", False, "127.0.0.1")
        view = await self.authorizer.for_connection(principal, facts, now=self.clock.now())
        assert view.allows("iot:Connect", self.authorizer.client_arn(f"storm-{n}"))
        assert view.allows("iot:Subscribe", self.authorizer.topic_filter_arn(f"bench/storm/{n}"))
        view.close()


async def _rate(step: Callable[[int], Awaitable[None]], seconds: float = 1.0, repeats: int = 5) -> float:
    """Best-of-``repeats`` calls per CPU second of ``step(n)``."""
    best = 0.0
    n = 0
    for _ in range(repeats):
        count = 0
        start = time.process_time()
        while True:
            for _ in range(20):
                await step(n)
                n += 1
            count += 20
            elapsed = time.process_time() - start
            if elapsed >= seconds / repeats:
                break
        best = max(best, count / elapsed)
    return best


async def _measure() -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="bench-connect-") as tmp:
        bench = Bench(Path(tmp))
        await bench.start()
        try:
            results: dict[str, Any] = {}
            for kind, keys in (("iam", bench.iam_keys), ("cognito", bench.cognito_keys)):
                urls = bench.urls(keys)
                principal = await bench.authenticate(urls[0])

                async def authenticate(n: int, urls: list[tuple[str, str]] = urls) -> None:
                    await bench.authenticate(urls[n % URLS])

                async def authorize(n: int, principal: Principal = principal) -> None:
                    await bench.authorize(principal, n)

                async def connect(n: int, urls: list[tuple[str, str]] = urls) -> None:
                    await bench.authorize(await bench.authenticate(urls[n % URLS]), n)

                for name, step in (
                    ("authenticate", authenticate),
                    ("authorize", authorize),
                    ("connect", connect),
                ):
                    await step(0)  # warm: compiled statements, policies
                    results[f"{kind}_{name}_per_s"] = round(await _rate(step))
            return results
        finally:
            await bench.close()


def main() -> None:
    results = asyncio.run(_measure())
    report = {
        "benchmark": "bastion CONNECT authentication and authorization",
        "python": platform.python_version(),
        "implementation": platform.python_implementation(),
        "machine": platform.machine(),
        "results": results,
    }
    for name, value in results.items():
        print(f"{name:30s} {value:>10,} /s {1e6 / value:>9.1f} us")
    out = Path(__file__).resolve().parent / "results" / "connect.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=2) + "\n")
    print(f"written {out}")


if __name__ == "__main__":
    main()
