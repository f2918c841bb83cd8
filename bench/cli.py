"""``bench/run`` / ``python -m bench``: every benchmark in one command.

Micro-benchmarks first (policy engine, MQTT codec, SRP), then every broker scenario against a fresh
private instance of each broker (Bastion, Mosquitto, amqtt), then the comparison table. Results go to
``bench/results/`` (git-ignored).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import platform
import resource
import subprocess
import sys
import time
import traceback
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench import bastion_setup, brokers, micro, procs, report, toolenv
from bench.scenarios import SCENARIOS, Plan, Run, Scenario

RESULTS = Path(__file__).resolve().parent / "results"

StartBroker = Callable[[], "contextlib.AbstractContextManager[brokers.Broker]"]


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="bench/run", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="smoke run: tiny sizes, sub-second windows")
    parser.add_argument(
        "--brokers",
        default="bastion,mosquitto,amqtt",
        help="comma-separated subset of bastion,mosquitto,amqtt (default: all)",
    )
    parser.add_argument(
        "--scenarios",
        default="all",
        help="comma-separated scenario keys, or all, or none: " + ",".join(s.key for s in SCENARIOS),
    )
    parser.add_argument(
        "--repeat",
        type=int,
        default=None,
        help="rounds of every scenario, brokers interleaved; the best trial counts (default 2, quick 1)",
    )
    parser.add_argument("--skip-micro", action="store_true", help="skip the micro-benchmarks")
    parser.add_argument(
        "--no-install",
        action="store_true",
        help="never install amqtt/py-spy into the bench tools virtualenv (skip what is missing)",
    )
    parser.add_argument(
        "--profile",
        action="store_true",
        help="also run Bastion's slowest scenarios under py-spy (writes bench/results/profile-*)",
    )
    parser.add_argument("--output", type=Path, default=RESULTS, help="results directory")
    return parser


def _raise_nofile() -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = 65536 if hard == resource.RLIM_INFINITY else hard
    if soft < wanted:
        resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, hard))


def _cpu_busy() -> tuple[int, int]:
    fields = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    idle = fields[3] + fields[4]
    return sum(fields) - idle, sum(fields)


def _environment(cores: procs.Cores) -> dict[str, Any]:
    return {
        "python": platform.python_version(),
        "implementation": platform.python_implementation(),
        "machine": platform.machine(),
        "cpus": procs.usable_cpus(),
        "pinning": cores.describe(),
        "load_average_at_start": procs.load_average(),
        "mosquitto": _mosquitto_version(),
    }


def _mosquitto_version() -> str | None:
    exe = brokers.which_mosquitto()
    if exe is None:
        return None
    done = subprocess.run([exe, "-h"], capture_output=True, text=True, timeout=10, check=False)
    first = (done.stdout or done.stderr).splitlines()
    return first[0] if first else None


def _broker_factories(
    names: list[str], cores: procs.Cores, logs: Path, install: bool, notes: dict[str, str]
) -> dict[str, StartBroker]:
    out: dict[str, StartBroker] = {}
    for name in names:
        if name == "mosquitto":
            if brokers.which_mosquitto() is None:
                notes[name] = "skipped: mosquitto is not installed"
                continue
            out[name] = lambda: brokers.mosquitto(cores, logs)
        elif name == "amqtt":
            tool = toolenv.ensure("amqtt", toolenv.AMQTT, install)
            if tool.path is None:
                notes[name] = f"skipped: {tool.why_missing}"
                continue
            exe = tool.path
            out[name] = lambda exe=exe: brokers.amqtt(cores, logs, exe)  # type: ignore[misc]
        elif name == "bastion":
            missing = bastion_setup.why_unavailable()
            if missing:
                notes[name] = f"skipped: {missing}"
                continue
            out[name] = lambda: bastion_setup.bastion(cores, logs)
        else:
            raise SystemExit(f"unknown broker {name!r}")
    return out


async def _run_scenario(
    scenario: Scenario, start: StartBroker, plan: Plan, cores: procs.Cores, logs: Path
) -> dict[str, Any]:
    with start() as broker:
        run = Run(broker, plan, cores, logs)
        try:
            result = await asyncio.wait_for(scenario.run(run), 600)
        finally:
            run.close()
        if not broker.alive():
            raise RuntimeError(f"{broker.name} exited during the scenario (see {broker.log})")
        if broker.notes:
            result["notes"] = list(broker.notes)
        return result


def _selected(spec: str) -> list[Scenario]:
    if spec == "all":
        return list(SCENARIOS)
    if spec == "none":
        return []
    keys = spec.split(",")
    unknown = set(keys) - {s.key for s in SCENARIOS}
    if unknown:
        raise SystemExit(f"unknown scenarios: {', '.join(sorted(unknown))}")
    return [s for s in SCENARIOS if s.key in keys]


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    _raise_nofile()
    cores = procs.Cores.split()
    environment = _environment(cores)
    procs.pin_self(cores.load)
    plan = Plan.quick() if args.quick else Plan.full()
    if args.repeat is None:
        args.repeat = 1 if args.quick else 2
    names = [n.strip() for n in args.brokers.split(",") if n.strip()]
    output: Path = args.output
    output.mkdir(parents=True, exist_ok=True)
    logs = output / "logs"
    logs.mkdir(exist_ok=True)
    for old in logs.glob("*.log"):
        old.unlink()

    busy_start = _cpu_busy()
    began = time.monotonic()
    print(
        f"Python {environment['python']} on {environment['machine']}, {environment['cpus']} CPUs; "
        f"{cores.describe()}; load average {environment['load_average_at_start']}",
        flush=True,
    )

    micro_results: dict[str, Any] = {}
    if not args.skip_micro:
        micro_results = micro.run_all(args.quick)

    notes: dict[str, str] = {}
    factories = _broker_factories(names, cores, logs, not args.no_install, notes)
    for name, note in notes.items():
        print(f"{name}: {note}", flush=True)
    errors: list[str] = []
    print(f"== broker scenarios ({'quick' if args.quick else 'full'}) ==", flush=True)
    trials: dict[str, dict[str, list[dict[str, Any]]]] = {}
    for round_no in range(1, args.repeat + 1):
        if args.repeat > 1:
            print(f"-- round {round_no} of {args.repeat}", flush=True)
        for scenario in _selected(args.scenarios):
            row = trials.setdefault(scenario.key, {})
            for name, start in factories.items():
                t0 = time.monotonic()
                try:
                    outcome = asyncio.run(_run_scenario(scenario, start, plan, cores, logs))
                except Exception as exc:
                    outcome = {"error": f"{type(exc).__name__}: {exc}"}
                    errors.append(f"{scenario.key} / {name}: {exc}")
                    with (logs / "harness.log").open("a") as out:
                        traceback.print_exc(file=out)
                row.setdefault(name, []).append(outcome)
                shown = outcome.get("value", outcome.get("error"))
                print(f"  {scenario.key:16s} {name:10s} {shown} ({time.monotonic() - t0:.1f} s)", flush=True)
    results = {
        scenario.key: {name: _best(scenario, runs) for name, runs in trials[scenario.key].items()}
        for scenario in _selected(args.scenarios)
    }

    profile: dict[str, Any] | None = None
    if args.profile:
        from bench import profile as profiling

        profile = profiling.run(plan, cores, logs, output, install=not args.no_install)

    busy_end = _cpu_busy()
    shown_brokers = [b for b in report.BROKERS if b in factories]
    print()
    print(report.table(results, shown_brokers))
    print()
    print(
        "CPUs' worth used inside each measurement window: broker / load processes / other work on the machine"
    )
    print(report.bottlenecks(results, shown_brokers))
    for name, note in notes.items():
        print(f"{name}: {note}")
    for line in errors:
        print(f"error: {line}")
    environment["load_average_at_end"] = procs.load_average()
    environment["machine_busy_share_during_run"] = round(
        (busy_end[0] - busy_start[0]) / max(1, busy_end[1] - busy_start[1]), 3
    )
    document = {
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "mode": "quick" if args.quick else "full",
        "duration_s": round(time.monotonic() - began, 1),
        "environment": environment,
        "plan": _plan_dict(plan),
        "skipped": notes,
        "scenarios": results,
        "targets": report.target_verdicts(results),
        "micro": micro_results,
        "profile": profile,
        "errors": errors,
    }
    report.write(output / "brokers.json", document)
    print(f"\nwritten {output / 'brokers.json'} (logs in {logs})")
    return 1 if errors else 0


def _best(scenario: Scenario, runs: list[dict[str, Any]]) -> dict[str, Any]:
    """The best trial (highest throughput, lowest latency or memory), with every trial's figure."""
    good = [r for r in runs if "value" in r]
    if not good:
        return runs[-1]
    pick = max if scenario.higher_is_better else min
    best = dict(pick(good, key=lambda r: r["value"]))
    best["trials"] = [r.get("value") for r in runs]
    return best


def _plan_dict(plan: Plan) -> dict[str, Any]:
    return {name: getattr(plan, name) for name in plan.__slots__}


if __name__ == "__main__":
    sys.exit(main())
