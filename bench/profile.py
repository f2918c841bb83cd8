"""Bastion scenarios under py-spy (``bench/run --profile``).

py-spy attaches to the running ``bastion serve`` process for the whole scenario, sampling without
pausing it (``--nonblocking``), and writes collapsed stacks. From those this module ranks functions by
self time (where the CPU actually is) and by inclusive time (which code paths it is spent under), and
writes ``bench/results/profile-<scenario>.txt`` (the summary) and ``profile-<scenario>.collapsed`` (the
raw stacks, which any flame graph tool, e.g. speedscope or inferno, renders).
"""

from __future__ import annotations

import asyncio
import dataclasses
import signal
import subprocess
from collections import Counter
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from bench import bastion_setup, procs, toolenv
from bench.scenarios import SCENARIOS, Plan, Run, paced_one_to_one

PACED_RATE = 50_000
#: QoS 0 one-to-one flooded (overload) and paced below Bastion's capacity (the normal path), QoS 1
#: one-to-one (PUBACK round trips), and the SigV4 WebSocket storms (an IAM user's key, Cognito
#: credentials): the scenarios furthest behind Mosquitto or amqtt's 10x.
PROFILED: dict[str, Callable[[Run], Awaitable[dict[str, Any]]]] = {
    "qos0_1to1": next(s.run for s in SCENARIOS if s.key == "qos0_1to1"),
    "qos0_1to1_paced": paced_one_to_one(PACED_RATE),
    "qos1_1to1": next(s.run for s in SCENARIOS if s.key == "qos1_1to1"),
    "storm_ws": next(s.run for s in SCENARIOS if s.key == "storm_ws"),
    "storm_ws_cognito": next(s.run for s in SCENARIOS if s.key == "storm_ws_cognito"),
}
RATE_HZ = 200


def summarize(collapsed: str, top: int = 25) -> dict[str, Any]:
    """Self and inclusive sample shares per function from py-spy's collapsed (``raw``) output."""
    self_time: Counter[str] = Counter()
    inclusive: Counter[str] = Counter()
    total = 0
    for line in collapsed.splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        count = int(count_text)
        frames = [_function(frame) for frame in stack.split(";")]
        if frames and frames[0].startswith("process "):
            frames = frames[1:]
        if not frames:
            continue
        total += count
        self_time[frames[-1]] += count
        for name in set(frames):
            inclusive[name] += count

    def share(counter: Counter[str]) -> list[dict[str, Any]]:
        return [{"function": name, "share": round(n / total, 4)} for name, n in counter.most_common(top)]

    return {"samples": total, "self": share(self_time), "inclusive": share(inclusive)}


def _function(frame: str) -> str:
    """``handle (bastion/broker/publish.py:42)`` -> ``handle (bastion/broker/publish.py)``."""
    name, sep, where = frame.partition(" (")
    if not sep:
        return frame
    path = where.rstrip(")").rsplit(":", 1)[0]
    for marker in ("site-packages/", "src/", "lib/python3"):
        if marker in path:
            path = path.split(marker, 1)[1]
            break
    return f"{name} ({path})"


def _render(key: str, summary: dict[str, Any], result: dict[str, Any]) -> str:
    lines = [
        f"Bastion, {key}, under py-spy ({RATE_HZ} Hz, nonblocking): value {result.get('value', '?')}, "
        f"broker CPU {result.get('broker_cpu', result.get('broker_cpu_s', '?'))}",
        f"{summary['samples']} samples of the broker's threads while busy",
        "",
        "Self time (where the CPU is):",
    ]
    lines += [f"  {e['share'] * 100:5.1f}%  {e['function']}" for e in summary["self"]]
    lines += ["", "Inclusive time (what it is spent under):"]
    lines += [f"  {e['share'] * 100:5.1f}%  {e['function']}" for e in summary["inclusive"]]
    return "\n".join(lines) + "\n"


def run(plan: Plan, cores: procs.Cores, logs: Path, output: Path, install: bool) -> dict[str, Any]:
    missing = bastion_setup.why_unavailable()
    if missing:
        print(f"profile skipped: {missing}", flush=True)
        return {"skipped": missing}
    tool = toolenv.ensure("py-spy", toolenv.PY_SPY, install)
    if tool.path is None:
        print(f"profile skipped: {tool.why_missing}", flush=True)
        return {"skipped": tool.why_missing}
    # A longer window than the plain run, for enough samples.
    longer = dataclasses.replace(plan, window_s=2.0 if plan.window_s < 2 else 10.0)
    return {key: _profile_one(key, longer, cores, logs, output, tool.path) for key in PROFILED}


def _profile_one(key: str, plan: Plan, cores: procs.Cores, logs: Path, output: Path, py_spy: Path) -> Any:
    scenario = PROFILED[key]
    raw = output / f"profile-{key}.collapsed"
    raw.unlink(missing_ok=True)
    print(f"== profile: Bastion {key} under py-spy ==", flush=True)
    with bastion_setup.bastion(cores, logs) as broker, (logs / "py-spy.log").open("ab") as spy_log:
        spy = subprocess.Popen(
            [
                str(py_spy),
                "record",
                "--pid",
                str(broker.pid),
                "--rate",
                str(RATE_HZ),
                "--nonblocking",
                "--format",
                "raw",
                "--output",
                str(raw),
            ],
            stdout=subprocess.DEVNULL,
            stderr=spy_log,
            preexec_fn=procs.preexec_pinned(cores.load),
        )
        run_ = Run(broker, plan, cores, logs)

        async def measure() -> dict[str, Any]:
            return await scenario(run_)

        try:
            result = asyncio.run(measure())
        finally:
            run_.close()
            # py-spy writes what it has recorded when interrupted.
            procs.stop(spy, signal.SIGINT, grace=30)
    if not raw.exists():
        return {"error": f"py-spy wrote no profile (see {logs / 'py-spy.log'})"}
    summary = summarize(raw.read_text())
    text = _render(key, summary, result)
    (output / f"profile-{key}.txt").write_text(text)
    print(text, flush=True)
    return {"result": result, **summary, "files": [str(raw), str(output / f"profile-{key}.txt")]}
