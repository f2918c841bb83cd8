"""Cost of Cognito SRP on the server, one core.

Run: ``python bench/bench_srp.py`` (prints a table, writes bench/results/srp.json).

Measured, each as operations per second (best of several rounds):

* make_verifier: every password set (one 256-bit exponentiation);
* verify_password: USER_PASSWORD_AUTH (the same exponentiation, plus the comparison);
* start_challenge: InitiateAuth(USER_SRP_AUTH), without sealing the state;
* check_claim: RespondToAuthChallenge(PASSWORD_VERIFIER), on valid claims, without unsealing;
* sign_in: one start_challenge plus one check_claim, the server's whole SRP cost per sign-in;
* pow_256: one ``pow(x, e, N)`` with a 256-bit exponent, the unit all of the above are made of.

Claims are produced beforehand by bastion.auth.srp_client so that only server work is timed.
"""

from __future__ import annotations

import base64
import json
import platform
import secrets
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from bastion.auth import srp, srp_client

POOL = "AbCdEf123"
USER = "7d9c5e2a-0b1f-4c3d-8e6a-5f4b3c2d1e0f"
PASSWORD = "Corréct-Horse-1"  # noqa: S105 (a benchmark fixture)
CLAIMS = 24


def _rate(run: Callable[[], int], seconds: float = 1.5, repeats: int = 3) -> float:
    """Best-of-``repeats`` operations per second of ``run`` (which returns its op count)."""
    best = 0.0
    for _ in range(repeats):
        count = 0
        start = time.perf_counter()
        while True:
            count += run()
            elapsed = time.perf_counter() - start
            if elapsed >= seconds / repeats:
                break
        best = max(best, count / elapsed)
    return best


def _claims(verifier: srp.Verifier) -> list[tuple[srp.ChallengeState, dict[str, str]]]:
    out = []
    now = datetime.now(UTC)
    for _ in range(CLAIMS):
        client = srp_client.new_ephemeral()
        challenge = srp.start_challenge(verifier, client.srp_a_hex, user_id_for_srp=USER, issued_at=0)
        block = base64.b64encode(challenge.state.to_bytes()).decode()
        parameters = challenge.challenge_parameters(block)
        responses = srp_client.password_verifier_responses(
            client, pool_name=POOL, password=PASSWORD, challenge_parameters=parameters, now=now
        )
        out.append((challenge.state, responses))
    return out


def main() -> None:
    verifier = srp.make_verifier(POOL, USER, PASSWORD)
    srp_as = [srp_client.new_ephemeral().srp_a_hex for _ in range(CLAIMS)]
    claims = _claims(verifier)
    bases = [secrets.randbelow(srp.N) for _ in range(8)]
    exponents = [secrets.randbits(256) for _ in range(8)]

    def make() -> int:
        srp.make_verifier(POOL, USER, PASSWORD)
        return 1

    def verify() -> int:
        assert srp.verify_password(verifier, POOL, USER, PASSWORD)
        return 1

    def start() -> int:
        for srp_a in srp_as:
            srp.start_challenge(verifier, srp_a, user_id_for_srp=USER, issued_at=0)
        return len(srp_as)

    def check() -> int:
        for state, responses in claims:
            ok = srp.check_claim(
                state,
                verifier,
                pool_name=POOL,
                user_id_for_srp=responses["USERNAME"],
                secret_block_b64=responses["PASSWORD_CLAIM_SECRET_BLOCK"],
                timestamp=responses["TIMESTAMP"],
                signature_b64=responses["PASSWORD_CLAIM_SIGNATURE"],
            )
            assert ok
        return len(claims)

    def modexp() -> int:
        for base, exponent in zip(bases, exponents, strict=True):
            pow(base, exponent, srp.N)
        return len(bases)

    start_rate = _rate(start)
    check_rate = _rate(check)
    results = {
        "make_verifier_per_s": round(_rate(make), 1),
        "verify_password_per_s": round(_rate(verify), 1),
        "start_challenge_per_s": round(start_rate, 1),
        "check_claim_per_s": round(check_rate, 1),
        "sign_in_per_s": round(1 / (1 / start_rate + 1 / check_rate), 1),
        "pow_256_per_s": round(_rate(modexp), 1),
    }
    report = {
        "benchmark": "bastion.auth.srp",
        "python": platform.python_version(),
        "implementation": platform.python_implementation(),
        "machine": platform.machine(),
        "group_bits": srp.N.bit_length(),
        "secret_exponent_bits": srp.SECRET_EXPONENT_BITS,
        "results": results,
    }
    for name, value in results.items():
        print(f"{name:28s} {value:>10,.1f}")
    out = Path(__file__).resolve().parent / "results" / "srp.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=2) + "\n")
    print(f"written {out}")


if __name__ == "__main__":
    main()
