"""Cognito user-pool sign-ins per second: SRP (USER_SRP_AUTH + PASSWORD_VERIFIER), password
(USER_PASSWORD_AUTH) and refresh (REFRESH_TOKEN_AUTH).

Run: ``python bench/bench_signin.py`` (prints a table, writes bench/results/signin.json).

Two measurements:

* ``service``: the user-pool service in this process over the embedded SQLite store, one sign-in at a
  time; only the server's calls are timed (the client's SRP math happens between them, untimed). This is
  the server's CPU cost per sign-in on one core: SRP big-number math, token signing (two RS256
  signatures), sealing, and the store's writes (a session row per sign-in).
* ``http``: a real ``bastion serve`` process, driven over HTTP by ``CONCURRENCY`` concurrent clients.
  The clients' SRP math (256-bit ``a``; AWS clients use 1024 bits) runs in a separate worker process,
  so on a small machine client and server compete for cores: read these as end-to-end figures.
"""

from __future__ import annotations

import asyncio
import json
import os
import platform
import secrets
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from concurrent.futures import ProcessPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from bastion.auth import srp_client
from bastion.clock import SystemClock
from bastion.sealing import Sealer
from bastion.services.cognito_idp import CognitoIdpService
from bastion.services.cognito_idp.settings import ClientSettings, PoolSettings
from bastion.storage import open_store

PASSWORD = "Bench-Passw0rd!"  # noqa: S105 (a benchmark fixture)
FLOWS = ("ALLOW_USER_SRP_AUTH", "ALLOW_USER_PASSWORD_AUTH", "ALLOW_REFRESH_TOKEN_AUTH")
SECONDS = float(os.environ.get("BENCH_SECONDS", "4"))
CONCURRENCY = int(os.environ.get("BENCH_CONCURRENCY", "4"))
USERS = 16


def _client_answer(a: int, pool_name: str, parameters: dict[str, str]) -> dict[str, str]:
    """The client's half of SRP (run in a worker process for the HTTP measurement)."""
    ephemeral = srp_client.new_ephemeral(a)
    return srp_client.password_verifier_responses(
        ephemeral,
        pool_name=pool_name,
        password=PASSWORD,
        challenge_parameters=parameters,
        now=datetime.now(UTC),
    )


# ---- in-process service ------------------------------------------------------------------------------


async def _service_rates() -> dict[str, float]:
    with tempfile.TemporaryDirectory() as folder:
        store = await open_store(f"sqlite:///{folder}/bastion.db")
        master = os.urandom(32)
        svc = CognitoIdpService(
            store.cognito_idp,
            sealer=Sealer(master),
            master_key=master,
            clock=SystemClock(),
            region="us-east-1",
            account_id="000000000000",
        )
        try:
            pool = (await svc.pools.create_pool("bench", PoolSettings())).pool.id
            client = (
                await svc.pools.create_client(pool, "bench", ClientSettings(explicit_auth_flows=FLOWS))
            ).id
            for n in range(USERS):
                await svc.users.admin_create_user(
                    pool, f"user{n}", {}, temporary=PASSWORD, message_action="SUPPRESS"
                )
                await svc.users.admin_set_user_password(pool, f"user{n}", PASSWORD, True)
            pool_name = pool.split("_", 1)[1]

            async def srp_once(n: int) -> float:
                ephemeral = srp_client.new_ephemeral(secrets.randbits(256))
                start = time.perf_counter()
                started = await svc.signin.initiate(
                    client, "USER_SRP_AUTH", {"USERNAME": f"user{n % USERS}", "SRP_A": ephemeral.srp_a_hex}
                )
                spent = time.perf_counter() - start
                answer = srp_client.password_verifier_responses(
                    ephemeral,
                    pool_name=pool_name,
                    password=PASSWORD,
                    challenge_parameters=started.parameters,
                    now=datetime.now(UTC),
                )
                start = time.perf_counter()
                result = await svc.signin.respond(client, "PASSWORD_VERIFIER", answer, None)
                assert result.tokens is not None
                return spent + time.perf_counter() - start

            async def password_once(n: int) -> float:
                start = time.perf_counter()
                result = await svc.signin.initiate(
                    client, "USER_PASSWORD_AUTH", {"USERNAME": f"user{n % USERS}", "PASSWORD": PASSWORD}
                )
                assert result.tokens is not None
                return time.perf_counter() - start

            seed = (
                await svc.signin.initiate(
                    client, "USER_PASSWORD_AUTH", {"USERNAME": "user0", "PASSWORD": PASSWORD}
                )
            ).tokens
            assert seed is not None and seed.refresh_token is not None
            refresh_token = seed.refresh_token

            async def refresh_once(_n: int) -> float:
                start = time.perf_counter()
                result = await svc.signin.initiate(
                    client, "REFRESH_TOKEN_AUTH", {"REFRESH_TOKEN": refresh_token}
                )
                assert result.tokens is not None
                return time.perf_counter() - start

            return {
                "srp": await _server_rate(srp_once),
                "password": await _server_rate(password_once),
                "refresh": await _server_rate(refresh_once),
            }
        finally:
            await store.close()


async def _server_rate(once: Callable[[int], Awaitable[float]]) -> float:
    """Operations per second of server time, over about SECONDS of server time."""
    spent, count = 0.0, 0
    await once(0)  # warm caches (keys, pool, client)
    while spent < SECONDS:
        spent += await once(count)
        count += 1
    return count / spent


# ---- over HTTP ---------------------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def _http_rates(
    endpoint: str, pool: str, client: str, workers: ProcessPoolExecutor
) -> dict[str, float]:
    import aiohttp

    pool_name = pool.split("_", 1)[1]
    loop = asyncio.get_running_loop()

    async def call(session: aiohttp.ClientSession, op: str, body: dict[str, Any]) -> dict[str, Any]:
        headers = {
            "Content-Type": "application/x-amz-json-1.1",
            "X-Amz-Target": f"AWSCognitoIdentityProviderService.{op}",
        }
        async with session.post(endpoint, data=json.dumps(body), headers=headers) as response:
            answer: dict[str, Any] = await response.json(content_type=None)
            assert response.status == 200, answer
            return answer

    async def srp(session: aiohttp.ClientSession, n: int) -> None:
        a = secrets.randbits(256)
        srp_a = format(pow(srp_client.g, a, srp_client.N), "x")
        started = await call(
            session,
            "InitiateAuth",
            {
                "AuthFlow": "USER_SRP_AUTH",
                "ClientId": client,
                "AuthParameters": {"USERNAME": f"user{n % USERS}", "SRP_A": srp_a},
            },
        )
        answer = await loop.run_in_executor(
            workers, _client_answer, a, pool_name, started["ChallengeParameters"]
        )
        done = await call(
            session,
            "RespondToAuthChallenge",
            {"ChallengeName": "PASSWORD_VERIFIER", "ClientId": client, "ChallengeResponses": answer},
        )
        assert "AuthenticationResult" in done

    async def password(session: aiohttp.ClientSession, n: int) -> None:
        done = await call(
            session,
            "InitiateAuth",
            {
                "AuthFlow": "USER_PASSWORD_AUTH",
                "ClientId": client,
                "AuthParameters": {"USERNAME": f"user{n % USERS}", "PASSWORD": PASSWORD},
            },
        )
        assert "AuthenticationResult" in done

    async def rate(flow: Callable[[aiohttp.ClientSession, int], Awaitable[None]]) -> float:
        async with aiohttp.ClientSession() as session:
            await flow(session, 0)
            deadline = time.perf_counter() + SECONDS
            counts = [0] * CONCURRENCY

            async def worker(index: int) -> None:
                while time.perf_counter() < deadline:
                    await flow(session, index * 1000 + counts[index])
                    counts[index] += 1

            start = time.perf_counter()
            await asyncio.gather(*(worker(i) for i in range(CONCURRENCY)))
            return sum(counts) / (time.perf_counter() - start)

    return {"srp": await rate(srp), "password": await rate(password)}


def _http_measurement() -> dict[str, float]:
    import boto3

    port = _free_port()
    key, secret = "AKIABENCHMARK0000000", "bench-secret-bench-secret-bench-secret00"
    with tempfile.TemporaryDirectory() as folder:
        env = {
            **os.environ,
            "BASTION_ADMIN_ACCESS_KEY_ID": key,
            "BASTION_ADMIN_SECRET_ACCESS_KEY": secret,
            "BASTION_LOG_LEVEL": "WARNING",
            "PYTHONPATH": str(Path(__file__).resolve().parents[1] / "src"),
        }
        command = [
            sys.executable,
            "-m",
            "bastion.cli.main",
            "serve",
            "--port",
            str(port),
            "--data-dir",
            folder,
        ]
        command += ["--mqtt-port", "off", "--mqtt-tls-port", "off", "--api-tls-port", "off"]
        server = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        try:
            assert server.stdout is not None
            for line in server.stdout:
                if b"is running" in line:
                    break
            endpoint = f"http://127.0.0.1:{port}/"
            idp = boto3.client(
                "cognito-idp",
                endpoint_url=endpoint,
                region_name="us-east-1",
                aws_access_key_id=key,
                aws_secret_access_key=secret,
            )
            pool = idp.create_user_pool(PoolName="bench")["UserPool"]["Id"]
            client = idp.create_user_pool_client(
                UserPoolId=pool, ClientName="bench", ExplicitAuthFlows=list(FLOWS)
            )["UserPoolClient"]["ClientId"]
            for n in range(USERS):
                idp.admin_create_user(UserPoolId=pool, Username=f"user{n}", MessageAction="SUPPRESS")
                idp.admin_set_user_password(
                    UserPoolId=pool, Username=f"user{n}", Password=PASSWORD, Permanent=True
                )
            with ProcessPoolExecutor(max_workers=1) as workers:
                return asyncio.run(_http_rates(endpoint, pool, client, workers))
        finally:
            server.terminate()
            server.wait(10)


def main() -> None:
    service = asyncio.run(_service_rates())
    http = _http_measurement()
    results = {
        "service_srp_sign_ins_per_s": round(service["srp"], 1),
        "service_password_sign_ins_per_s": round(service["password"], 1),
        "service_refresh_per_s": round(service["refresh"], 1),
        "http_srp_sign_ins_per_s": round(http["srp"], 1),
        "http_password_sign_ins_per_s": round(http["password"], 1),
    }
    report = {
        "benchmark": "cognito-idp sign-in",
        "python": platform.python_version(),
        "machine": platform.machine(),
        "cpus": os.cpu_count(),
        "store": "SQLite (embedded default)",
        "http_concurrency": CONCURRENCY,
        "seconds_per_measurement": SECONDS,
        "results": results,
    }
    for name, value in results.items():
        print(f"{name:34s} {value:>8,.1f}")
    out = Path(__file__).resolve().parent / "results" / "signin.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=2) + "\n")
    print(f"written {out}")


if __name__ == "__main__":
    main()
