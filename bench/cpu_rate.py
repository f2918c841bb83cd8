"""Operations per CPU second, for the micro-benchmarks that run as scripts (``bench_policy.py``,
``bench_authorizer.py``): CPU time, not wall time, so other work on a shared machine moves it less."""

from __future__ import annotations

import time
from collections.abc import Callable


def best_rate(run: Callable[[], int], seconds: float = 1.0, repeats: int = 5) -> float:
    """Best-of-``repeats`` operations per CPU second of ``run`` (which returns its op count)."""
    best = 0.0
    for _ in range(repeats):
        count = 0
        start = time.process_time()
        while True:
            count += run()
            elapsed = time.process_time() - start
            if elapsed >= seconds / repeats:
                break
        best = max(best, count / elapsed)
    return best
