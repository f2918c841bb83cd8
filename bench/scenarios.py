"""The broker scenarios: each starts load-generating worker processes against one running broker.

Workers run ``python -m bench.worker`` pinned to the load CPU; the broker runs pinned to its own CPU.
The harness hands every worker the same CLOCK_MONOTONIC timeline (start, measure from, measure to), so
publishers and subscribers in different processes measure the same window. The broker's CPU use over
the window is read from /proc and reported beside the load processes' own, which shows which side was
the bottleneck.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import sys
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench import procs
from bench.brokers import Broker

ROOT = Path(__file__).resolve().parents[1]


class ScenarioError(RuntimeError):
    pass


@dataclass(frozen=True, slots=True)
class Plan:
    """Sizes and durations; ``quick`` shrinks everything for a smoke run."""

    warmup_s: float
    window_s: float
    fanout: int
    fanin: int
    storm: int
    storm_concurrency: int
    idle: int
    latency_rate: int
    latency_window_s: float
    #: Pause before reading a broker's memory, so that it has finished reacting to the connections.
    settle_s: float
    #: Each step of a sustained-rate search.
    step_warmup_s: float
    step_window_s: float

    @classmethod
    def full(cls) -> Plan:
        return cls(1.0, 4.0, 100, 100, 1000, 100, 2000, 2000, 5.0, 2.0, 0.5, 1.5)

    @classmethod
    def quick(cls) -> Plan:
        return cls(0.2, 0.5, 100, 100, 100, 50, 200, 2000, 0.5, 0.5, 0.2, 0.3)


class Worker:
    """One ``bench.worker`` process and its line protocol."""

    def __init__(self, proc: asyncio.subprocess.Process, role: str) -> None:
        self.proc = proc
        self.role = role

    @classmethod
    async def spawn(cls, spec: dict[str, Any], cores: procs.Cores, log: Path) -> Worker:
        with log.open("ab") as err:
            proc = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "bench.worker",
                json.dumps(spec),
                stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.PIPE,
                stderr=err,
                cwd=ROOT,
                preexec_fn=procs.preexec_pinned(cores.load),
            )
        return cls(proc, spec["role"])

    async def expect(self, event: str, limit_s: float) -> dict[str, Any]:
        assert self.proc.stdout is not None
        deadline = time.monotonic() + limit_s
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise ScenarioError(f"{self.role} worker: no {event!r} within {limit_s} s")
            line = await asyncio.wait_for(self.proc.stdout.readline(), remaining)
            if not line:
                raise ScenarioError(f"{self.role} worker exited before {event!r} (see the worker log)")
            message: dict[str, Any] = json.loads(line)
            if "error" in message:
                raise ScenarioError(f"{self.role} worker: {message['error']}")
            if message.get("event") == event:
                return message

    def send(self, message: dict[str, Any]) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write((json.dumps(message) + "\n").encode())

    async def finish(self, limit_s: float) -> dict[str, Any]:
        result = await self.expect("result", limit_s)
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(self.proc.wait(), 5)
        return result

    def kill(self) -> None:
        if self.proc.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                self.proc.kill()


class Run:
    """Context for one scenario against one broker."""

    def __init__(self, broker: Broker, plan: Plan, cores: procs.Cores, logs: Path) -> None:
        self.broker = broker
        self.plan = plan
        self.cores = cores
        self.logs = logs
        self.workers: list[Worker] = []

    async def spawn(self, spec: dict[str, Any]) -> Worker:
        spec.setdefault("deadline", 180)
        worker = await Worker.spawn(spec, self.cores, self.logs / f"worker-{self.broker.name}.log")
        self.workers.append(worker)
        return worker

    def close(self) -> None:
        for worker in self.workers:
            worker.kill()

    def timeline(self, warmup: float, window: float) -> dict[str, float]:
        start = time.monotonic() + 0.3
        return {"start": start, "from": start + warmup, "to": start + warmup + window}

    async def window_cpu(self, timeline: dict[str, float]) -> tuple[float, float]:
        """CPUs' worth the broker, and the whole machine, used inside the window."""
        await asyncio.sleep(max(0.0, timeline["from"] - time.monotonic()))
        broker_before = procs.cpu_seconds(self.broker.pid)
        machine_before = procs.machine_busy_seconds()
        await asyncio.sleep(max(0.0, timeline["to"] - time.monotonic()))
        broker = procs.cpu_seconds(self.broker.pid) - broker_before
        machine = procs.machine_busy_seconds() - machine_before
        window = timeline["to"] - timeline["from"]
        return round(broker / window, 3), round(machine / window, 3)


async def _start_pair(
    run: Run, target: dict[str, Any], subscribers: list[dict[str, Any]], publishers: list[dict[str, Any]]
) -> tuple[list[Worker], list[Worker]]:
    """Subscriber processes first (all subscribed), then publishers (all connected)."""
    subs = [await run.spawn({"role": "subscribe", "target": target, **spec}) for spec in subscribers]
    for worker in subs:
        await worker.expect("ready", 120)
    pubs = [await run.spawn({"role": "publish", "target": target, **spec}) for spec in publishers]
    for worker in pubs:
        await worker.expect("ready", 120)
    return subs, pubs


async def _step(
    run: Run, subs: list[Worker], pubs: list[Worker], warmup: float, window: float, rate: float | None
) -> dict[str, Any]:
    """One measurement window shared by every worker; ``rate`` paces the publishers (None: flood)."""
    timeline: dict[str, Any] = dict(run.timeline(warmup, window), rate=rate)
    for worker in subs + pubs:
        worker.send(timeline)
    cpu, machine = await run.window_cpu(timeline)
    sub_results = [await w.expect("step", window + 30) for w in subs]
    pub_results = [await w.expect("step", window + 30) for w in pubs]
    delivered = sum(r["rate"] for r in sub_results)
    load_cpu = sum(r["cpu_share"] for r in sub_results + pub_results)
    return {
        "value": round(delivered),
        "delivered_per_s": round(delivered),
        "published_per_s": round(sum(r["rate"] for r in pub_results)),
        "broker_cpu": cpu,
        "load_cpu": round(load_cpu, 3),
        # Busy CPU on the machine that was neither the broker nor the load: other work sharing it.
        "other_cpu": round(max(0.0, machine - cpu - load_cpu), 3),
        "subscriber_cpu": [round(r["cpu_share"], 3) for r in sub_results],
        "publisher_cpu": [round(r["cpu_share"], 3) for r in pub_results],
        "window_s": window,
    }


async def _finish(subs: list[Worker], pubs: list[Worker]) -> None:
    for worker in subs + pubs:
        worker.send({"stop": True})
    for worker in subs + pubs:
        await worker.finish(30)


async def throughput(
    run: Run, target: dict[str, Any], subscribers: list[dict[str, Any]], publishers: list[dict[str, Any]]
) -> dict[str, Any]:
    """Publishers write as fast as the broker reads; count deliveries inside one shared window."""
    subs, pubs = await _start_pair(run, target, subscribers, publishers)
    result = await _step(run, subs, pubs, run.plan.warmup_s, run.plan.window_s, None)
    await _finish(subs, pubs)
    return result


#: A step is sustained when this share of what was offered arrived inside the window.
SUSTAINED = 0.98
BISECTIONS = 3


async def sustained(
    run: Run,
    target: dict[str, Any],
    subscribers: list[dict[str, Any]],
    publishers: list[dict[str, Any]],
    first_rate: float,
    fan: int,
) -> dict[str, Any]:
    """The highest paced publish rate whose deliveries (``fan`` per message) all arrive.

    Rates double from ``first_rate`` until a step loses more than 2%, then :data:`BISECTIONS` steps
    bisect (in ratio) between the last good and the first bad rate, which pins the limit within about
    9%. Reported: the best sustained step's delivery rate, with every step.
    """
    subs, pubs = await _start_pair(run, target, subscribers, publishers)
    warmup, window = run.plan.step_warmup_s, run.plan.step_window_s
    steps: list[dict[str, Any]] = []

    async def attempt(rate: float) -> bool:
        step = await _step(run, subs, pubs, warmup, window, rate)
        offered = rate * fan
        step["offered_per_s"] = round(offered)
        # A step only counts when the publishers really sent the offered rate (the load kept up). Two
        # messages of slack absorb the millisecond ticks at the window's edges.
        slack = 2 / window
        step["ok"] = (
            step["published_per_s"] >= SUSTAINED * rate - slack
            and step["delivered_per_s"] >= SUSTAINED * offered - slack * fan
        )
        steps.append(step)
        return bool(step["ok"])

    good: float | None = None
    bad: float | None = None
    rate = first_rate
    while rate <= first_rate * 2**8:
        if await attempt(rate):
            good = rate
            rate *= 2
        else:
            bad = rate
            break
    for _ in range(BISECTIONS):
        if good is None or bad is None:
            break
        middle = (good * bad) ** 0.5
        if await attempt(middle):
            good = middle
        else:
            bad = middle
    await _finish(subs, pubs)
    ok_steps = [step for step in steps if step["ok"]]
    if not ok_steps:
        return {"value": 0, "steps": steps, "note": f"not even {first_rate:.0f} msg/s was sustained"}
    best = dict(max(ok_steps, key=lambda step: step["delivered_per_s"]))
    best["steps"] = [
        {k: step[k] for k in ("offered_per_s", "delivered_per_s", "published_per_s", "broker_cpu", "ok")}
        for step in steps
    ]
    return best


def _one_to_one(qos: int, ws: bool) -> Callable[[Run], Awaitable[dict[str, Any]]]:
    async def scenario(run: Run) -> dict[str, Any]:
        target = run.broker.ws if ws else run.broker.tcp
        if target is None:
            raise ScenarioError(f"{run.broker.name} has no WebSocket listener here")
        topic = "bench/one/to-one"
        sub = {
            "connections": 1,
            "qos": qos,
            "filters": [topic],
            "sample_topic": topic,
            "client_prefix": "sub-",
        }
        pub = {"connections": 1, "qos": qos, "topics": [topic], "client_prefix": "pub-", "window": 100}
        return await throughput(run, target, [sub], [pub])

    return scenario


def _one_to_one_sustained(run: Run) -> Awaitable[dict[str, Any]]:
    topic = "bench/one/to-one"
    sub = {"connections": 1, "qos": 0, "filters": [topic], "sample_topic": topic, "client_prefix": "sub-"}
    pub = {"connections": 1, "qos": 0, "topics": [topic], "client_prefix": "pub-"}
    return sustained(run, run.broker.tcp, [sub], [pub], first_rate=1000, fan=1)


def paced_one_to_one(rate: float) -> Callable[[Run], Awaitable[dict[str, Any]]]:
    """QoS 0 one-to-one at a fixed offered rate (for profiling the normal path below overload)."""

    async def scenario(run: Run) -> dict[str, Any]:
        topic = "bench/one/to-one"
        sub = {"connections": 1, "qos": 0, "filters": [topic], "sample_topic": topic, "client_prefix": "sub-"}
        pub = {"connections": 1, "qos": 0, "topics": [topic], "client_prefix": "pub-"}
        subs, pubs = await _start_pair(run, run.broker.tcp, [sub], [pub])
        result = await _step(run, subs, pubs, run.plan.warmup_s, run.plan.window_s, rate)
        await _finish(subs, pubs)
        result["offered_per_s"] = rate
        return result

    return scenario


def _fan_out_subscribers(run: Run, topic: str) -> list[dict[str, Any]]:
    # Two subscriber processes so that one process's event loop does not cap the receiving side.
    half = run.plan.fanout // 2
    return [
        {"connections": count, "qos": 0, "filters": [topic], "sample_topic": topic, "client_prefix": prefix}
        for count, prefix in ((half, "sub-a-"), (run.plan.fanout - half, "sub-b-"))
    ]


async def fan_out_sustained(run: Run) -> dict[str, Any]:
    topic = "bench/fan/out"
    pub = {"connections": 1, "qos": 0, "topics": [topic], "client_prefix": "pub-"}
    subs = _fan_out_subscribers(run, topic)
    result = await sustained(run, run.broker.tcp, subs, [pub], first_rate=50, fan=run.plan.fanout)
    result["subscribers"] = run.plan.fanout
    return result


async def fan_out(run: Run) -> dict[str, Any]:
    topic = "bench/fan/out"
    subs = _fan_out_subscribers(run, topic)
    pub = {"connections": 1, "qos": 0, "topics": [topic], "client_prefix": "pub-"}
    result = await throughput(run, run.broker.tcp, subs, [pub])
    result["subscribers"] = run.plan.fanout
    return result


async def fan_in(run: Run) -> dict[str, Any]:
    n = run.plan.fanin
    topics = [f"bench/fan-in/{i:04d}" for i in range(n)]
    sub = {
        "connections": 1,
        "qos": 0,
        "filters": ["bench/fan-in/+"],
        "sample_topic": topics[0],
        "client_prefix": "sub-",
    }
    pub = {"connections": n, "qos": 0, "topics": topics, "client_prefix": "pub-"}
    result = await throughput(run, run.broker.tcp, [sub], [pub])
    result["publishers"] = n
    return result


def _latency(qos: int) -> Callable[[Run], Awaitable[dict[str, Any]]]:
    async def scenario(run: Run) -> dict[str, Any]:
        plan = run.plan
        spec = {
            "role": "latency",
            "target": run.broker.tcp,
            "qos": qos,
            "topic": "bench/latency",
            "rate": plan.latency_rate,
            "client_prefix": "lat-",
        }
        worker = await run.spawn(spec)
        await worker.expect("ready", 60)
        timeline = run.timeline(plan.warmup_s, plan.latency_window_s)
        worker.send(timeline)
        cpu, machine = await run.window_cpu(timeline)
        result = await worker.finish(30)
        result.pop("event", None)
        load = result.pop("cpu_share", 0.0)
        return {
            "value": round(result["p99_ms"], 3),
            **result,
            "broker_cpu": cpu,
            "load_cpu": round(load, 3),
            "other_cpu": round(max(0.0, machine - cpu - load), 3),
        }

    return scenario


def _storm(ws: bool, sigv4: str = "iam") -> Callable[[Run], Awaitable[dict[str, Any]]]:
    """Bastion's clients authenticate with SigV4 (``sigv4``: "iam" for an IAM user's key, "cognito" for
    identity pool credentials, "" for none over TCP); the other brokers take the same clients anonymously."""

    def pick(broker: Broker) -> dict[str, Any] | None:
        if not ws:
            return (broker.tcp_sigv4 if sigv4 else None) or broker.tcp
        if sigv4 == "cognito":
            return broker.ws_cognito or broker.ws
        return broker.ws_sigv4 or broker.ws

    async def scenario(run: Run) -> dict[str, Any]:
        broker = run.broker
        target = pick(broker)
        if target is None:
            raise ScenarioError(f"{broker.name} has no WebSocket listener here")
        spec = {
            "role": "storm",
            "target": target,
            "connections": run.plan.storm,
            "concurrency": run.plan.storm_concurrency,
            "client_prefix": "storm-",
            "topic_prefix": "bench/storm/",
            "deadline": 120,
        }
        worker = await run.spawn(spec)
        await worker.expect("ready", 120)
        before = procs.cpu_seconds(broker.pid)
        worker.send({})
        result = await worker.finish(150)
        used = procs.cpu_seconds(broker.pid) - before
        result.pop("event", None)
        result["auth"] = target["auth"]["kind"]
        return {"value": round(result["rate"], 1), **result, "broker_cpu_s": round(used, 3)}

    return scenario


async def idle_memory(run: Run) -> dict[str, Any]:
    n = run.plan.idle
    spec = {
        "role": "idle",
        "target": run.broker.tcp,
        "connections": n,
        "warm": 50,
        "client_prefix": "idle-",
        "topic_prefix": "bench/idle/",
        "deadline": 300,
    }
    worker = await run.spawn(spec)
    await worker.expect("warm", 120)
    await asyncio.sleep(run.plan.settle_s)
    before = procs.rss_bytes(run.broker.pid)
    worker.send({})
    ready = await worker.expect("ready", 240)
    await asyncio.sleep(run.plan.settle_s)
    after = procs.rss_bytes(run.broker.pid)
    worker.send({})
    result = await worker.finish(60)
    opened = ready["opened"]
    if opened != n:
        raise ScenarioError(f"only {opened} of {n} idle connections opened")
    per = (after - before) / n
    return {
        "value": round(per / 1024, 2),
        "connections": n,
        "rss_before_kb": before // 1024,
        "rss_after_kb": after // 1024,
        "per_connection_bytes": round(per),
        "still_open_at_measurement": result["still_open_at_measurement"],
    }


@dataclass(frozen=True, slots=True)
class Scenario:
    key: str
    label: str
    unit: str
    higher_is_better: bool
    run: Callable[[Run], Awaitable[dict[str, Any]]]


SCENARIOS: list[Scenario] = [
    Scenario("qos0_1to1", "QoS 0, 1 -> 1", "msg/s", True, _one_to_one(0, ws=False)),
    Scenario(
        "qos0_1to1_sustained", "QoS 0, 1 -> 1, sustained (<2% loss)", "msg/s", True, _one_to_one_sustained
    ),
    Scenario("qos1_1to1", "QoS 1, 1 -> 1 (100 in flight)", "msg/s", True, _one_to_one(1, ws=False)),
    Scenario("fanout_1to100", "fan-out 1 -> 100, QoS 0", "deliveries/s", True, fan_out),
    Scenario(
        "fanout_1to100_sustained",
        "fan-out 1 -> 100, sustained (<2% loss)",
        "deliveries/s",
        True,
        fan_out_sustained,
    ),
    Scenario("fanin_100to1", "fan-in 100 -> 1 (+ filter), QoS 0", "msg/s", True, fan_in),
    Scenario("latency_qos0", "latency p99 at 2,000 msg/s, QoS 0", "ms", False, _latency(0)),
    Scenario("latency_qos1", "latency p99 at 2,000 msg/s, QoS 1", "ms", False, _latency(1)),
    Scenario("storm_tcp", "connect + subscribe storm, TCP", "conn/s", True, _storm(ws=False, sigv4="")),
    Scenario("storm_ws", "connect + subscribe storm, WebSocket", "conn/s", True, _storm(ws=True)),
    Scenario(
        "storm_ws_cognito",
        "connect + subscribe storm, WS, Cognito",
        "conn/s",
        True,
        _storm(ws=True, sigv4="cognito"),
    ),
    Scenario(
        "storm_tcp_sigv4",
        "connect + subscribe storm, TCP sigv4",
        "conn/s",
        True,
        _storm(ws=False, sigv4="iam"),
    ),
    Scenario("idle_memory", "RSS per idle connection", "KB", False, idle_memory),
    Scenario("ws_qos0_1to1", "WebSocket QoS 0, 1 -> 1", "msg/s", True, _one_to_one(0, ws=True)),
]
