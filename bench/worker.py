"""A load-generating process: ``python -m bench.worker '<json spec>'``.

Protocol with the harness, one JSON object per line: the worker prints ``{"event": "ready"}`` once its
connections are up (``"warm"`` first for the idle role), then reads one line from stdin: a timeline
``{"start": t, "from": t1, "to": t2}`` in CLOCK_MONOTONIC seconds (the same clock in every process on
the machine), or ``{}`` when the role only waits for a go. It ends with ``{"event": "result", ...}``.
Every loop is bounded by the timeline and by ``deadline`` seconds of wall time.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import resource
import sys
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from bench import wire
from bench.link import Endpoint, Link, mqtt_connect, mqtt_subscribe, open_link

PAYLOAD = bytes(64)


# Where to connect and as whom


@dataclass(frozen=True, slots=True)
class Target:
    host: str
    port: int
    ws_path: str | None
    auth: dict[str, Any]

    @classmethod
    def from_json(cls, raw: dict[str, Any]) -> Target:
        return cls(raw["host"], raw["port"], raw.get("ws_path"), raw.get("auth") or {"kind": "none"})

    def endpoint(self, serial: int) -> Endpoint:
        if self.ws_path is None:
            return Endpoint(self.host, self.port)
        if self.auth["kind"] == "sigv4":
            return Endpoint(self.host, self.port, self._presigned_target(serial))
        return Endpoint(self.host, self.port, self.ws_path)

    def credentials(self, serial: int = 0) -> tuple[str | None, bytes | None]:
        if self.auth["kind"] == "password":
            return self.auth["username"], self.auth["password"].encode()
        if self.auth["kind"] == "sigv4" and self.ws_path is None:
            # Bastion's TCP form: user name "sigv4", the presigned URL as password.
            return "sigv4", self._presigned_url(serial).encode()
        return None, None

    def _presigned_target(self, serial: int) -> str:
        parts = urlsplit(self._presigned_url(serial))
        return f"{parts.path}?{parts.query}"

    def _presigned_url(self, serial: int) -> str:
        from bastion.auth.sigv4_presign import presign_websocket_url

        # A different signing second per connection (within the allowed skew), so the broker verifies
        # every signature for real and can never reuse a previous result.
        now = datetime.now(UTC) - timedelta(seconds=serial % 240)
        return presign_websocket_url(
            f"{self.host}:{self.port}",
            self.auth["region"],
            self.auth["access_key_id"],
            self.auth["secret_access_key"],
            self.auth.get("session_token"),
            now,
            path=self.ws_path or "/mqtt",
            scheme="ws",
        )


async def connect_client(
    target: Target, client_id: str, serial: int, factory: type[Link] = Link, **kwargs: Any
) -> Link:
    link = await open_link(target.endpoint(serial), factory, **kwargs)
    username, password = target.credentials(serial)
    await mqtt_connect(link, client_id, username, password)
    return link


# Links with role behaviour


class CountingLink(Link):
    """Counts PUBLISHes; acknowledges QoS 1 ones, one batched write per received chunk."""

    def __init__(self, endpoint: Endpoint) -> None:
        super().__init__(endpoint)
        self.count = 0
        self._acks: list[bytes] = []

    def on_publish(self, first: int, body: memoryview) -> None:
        self.count += 1
        if first & 0x06:
            at = 2 + ((body[0] << 8) | body[1])
            self._acks.append(b"\x40\x02" + body[at : at + 2])

    def on_strided(self, buffer: bytes, count: int, size: int) -> None:
        self.count += count
        if buffer[0] & 0x06:
            # Every packet identifier sits at the same offset: build all PUBACKs with strided copies.
            at = 2 + 2 + ((buffer[2] << 8) | buffer[3])
            whole = count * size
            acks = bytearray(4 * count)
            acks[0::4] = b"\x40" * count
            acks[1::4] = b"\x02" * count
            acks[2::4] = buffer[at:whole:size]
            acks[3::4] = buffer[at + 1 : whole : size]
            self._acks.append(bytes(acks))

    def after_batch(self) -> None:
        if self._acks:
            self.send(b"".join(self._acks))
            self._acks.clear()


class LatencyLink(CountingLink):
    def __init__(self, endpoint: Endpoint) -> None:
        super().__init__(endpoint)
        self.samples: list[tuple[int, int]] = []  # (sent at, received at), ns

    def on_publish(self, first: int, body: memoryview) -> None:
        now = time.monotonic_ns()
        super().on_publish(first, body)
        _, _, payload = wire.publish_parts(first, body)
        self.samples.append((wire.read_stamp(payload), now))


class Qos1Publisher(Link):
    """Keeps ``window`` QoS 1 PUBLISHes in flight, topping up on every received chunk of PUBACKs."""

    def __init__(self, endpoint: Endpoint, cycle: list[bytes], window: int) -> None:
        super().__init__(endpoint)
        self.cycle = cycle
        self.window = window
        self.inflight = 0
        self.sent = 0
        self.acked = 0
        self.running = False
        self._next = 0

    def on_puback(self, body: memoryview) -> None:
        self.inflight -= 1
        self.acked += 1

    def on_strided(self, buffer: bytes, count: int, size: int) -> None:
        self.inflight -= count
        self.acked += count

    def after_batch(self) -> None:
        if self.running:
            self.pump()

    def pump(self) -> None:
        room = self.window - self.inflight
        if room <= 0 or self.closed:
            return
        start = self._next
        stop = start + room
        if stop <= len(self.cycle):
            chunk = self.cycle[start:stop]
        else:
            stop -= len(self.cycle)
            chunk = self.cycle[start:] + self.cycle[:stop]
        self._next = stop % len(self.cycle)
        self.send(b"".join(chunk))
        self.inflight += room
        self.sent += room


# Coordination with the harness


def emit(event: str, **fields: Any) -> None:
    print(json.dumps({"event": event, **fields}), flush=True)


async def read_go() -> dict[str, float]:
    loop = asyncio.get_running_loop()
    line = await loop.run_in_executor(None, sys.stdin.readline)
    if not line:
        raise SystemExit("harness went away")
    go: dict[str, float] = json.loads(line)
    return go


async def sleep_until(moment: float) -> None:
    delay = moment - time.monotonic()
    if delay > 0:
        await asyncio.sleep(delay)


def cpu_now() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


async def gather_bounded(
    job: Callable[[int], Awaitable[Link]], serials: range, concurrency: int
) -> list[Link | None]:
    """``job(i)`` for every ``i``, at most ``concurrency`` at a time; a failure gives ``None``."""
    gate = asyncio.Semaphore(concurrency)

    async def run(serial: int) -> Link | None:
        async with gate:
            try:
                return await job(serial)
            except (TimeoutError, OSError, RuntimeError) as exc:
                print(f"connection {serial} failed: {exc!r}", file=sys.stderr)
                return None

    return list(await asyncio.gather(*(run(i) for i in serials)))


def close_all(links: Sequence[Link | None]) -> None:
    for link in links:
        if link is not None and not link.closed:
            with contextlib.suppress(Exception):
                link.send(wire.DISCONNECT)
            link.close()


# Roles


async def role_subscribe(spec: dict[str, Any], target: Target) -> dict[str, Any]:
    """``connections`` subscribers counting deliveries inside each step's measurement window."""
    n = spec["connections"]
    qos = spec["qos"]
    filters: list[str] = spec["filters"]
    payload = bytes(spec.get("payload_size", len(PAYLOAD)))

    async def one(i: int) -> Link:
        link = await connect_client(target, f"{spec['client_prefix']}{i}", i, CountingLink)
        await mqtt_subscribe(link, [filters[i % len(filters)]], qos)
        link.expect_stride(wire.publish_packet(spec["sample_topic"], payload, qos, 1 if qos else None))
        return link

    links = await gather_bounded(one, range(n), spec.get("concurrency", 50))
    live = [link for link in links if isinstance(link, CountingLink)]
    if len(live) != n:
        return {"error": f"only {len(live)} of {n} subscribers connected"}
    batching = asyncio.ensure_future(_batch_reads(live, spec.get("read_every_s", READ_EVERY_S)))
    emit("ready")
    step: dict[str, Any] = {}
    while (go := await read_go()) and not go.get("stop"):
        await sleep_until(go["from"])
        before, cpu_before = sum(link.count for link in live), cpu_now()
        await sleep_until(go["to"])
        after, cpu_after = sum(link.count for link in live), cpu_now()
        window = go["to"] - go["from"]
        step = {
            "received": after - before,
            "window_s": window,
            "rate": (after - before) / window,
            "cpu_share": (cpu_after - cpu_before) / window,
            "lost_connections": sum(1 for link in live if link.lost.done()),
        }
        emit("step", **step)
    batching.cancel()
    close_all(live)
    return step


#: Throughput subscribers read every 2 ms rather than on every arrival (see _batch_reads).
READ_EVERY_S = 0.002


async def _batch_reads(links: Sequence[Link], every: float) -> None:
    """Let the kernel gather deliveries and read them in bulk, every ``every`` seconds.

    A broker that writes each delivery as its own segment would otherwise wake the subscriber once per
    message, and the load CPU, not the broker, would set the pace. Reading is paused between rounds;
    the kernel's socket buffer holds far more than a round's worth, so the broker never sees it.
    """
    if every <= 0:
        return
    transports = [link.transport for link in links if link.transport is not None]
    while True:
        for transport in transports:
            transport.pause_reading()
        await asyncio.sleep(every)
        for transport in transports:
            if not transport.is_closing():
                transport.resume_reading()
        # One loop iteration polls the sockets and runs their data_received callbacks.
        await asyncio.sleep(0)
        await asyncio.sleep(0)


async def role_publish(spec: dict[str, Any], target: Target) -> dict[str, Any]:
    """``connections`` publishers: flooding or paced (QoS 0), or keeping a window in flight (QoS 1).

    Each step's go message may carry ``rate`` (messages per second over all connections); without it
    QoS 0 publishers write as fast as the broker reads.
    """
    n = spec["connections"]
    qos = spec["qos"]
    topics: list[str] = spec["topics"]
    payload = bytes(spec.get("payload_size", len(PAYLOAD)))
    if qos == 0:
        factory: type[Link] = Link
        kwargs: dict[str, Any] = {}
    else:
        factory, kwargs = Qos1Publisher, {"window": spec.get("window", 100)}
    cycles = {t: wire.qos1_cycle(t, payload) for t in set(topics)} if qos else {}

    async def one(i: int) -> Link:
        topic = topics[i % len(topics)]
        extra = dict(kwargs, cycle=cycles[topic]) if qos else kwargs
        link = await connect_client(target, f"{spec['client_prefix']}{i}", i, factory, **extra)
        link.expect_stride(wire.puback(b"\x00\x01"))
        return link

    links = await gather_bounded(one, range(n), spec.get("concurrency", 50))
    live = [link for link in links if link is not None]
    if len(live) != n:
        return {"error": f"only {len(live)} of {n} publishers connected"}
    packets = [wire.publish_packet(topics[i % len(topics)], payload) for i in range(n)]
    sent = [0] * n
    emit("ready")
    step: dict[str, Any] = {}
    while (go := await read_go()) and not go.get("stop"):
        step = await _publish_step(go, live, packets, sent, qos)
        emit("step", **step)
    await asyncio.sleep(0.2)
    close_all(live)
    return step


async def _publish_step(
    go: dict[str, Any], live: list[Link], packets: list[bytes], sent: list[int], qos: int
) -> dict[str, Any]:
    await sleep_until(go["start"])
    stop_at = go["to"]
    rate = go.get("rate")

    async def flood(index: int, link: Link) -> None:
        batch_count = 32
        batch = packets[index] * batch_count
        while not link.closed:
            if not link.writable.is_set():
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(link.writable.wait(), max(0.001, stop_at - time.monotonic()))
            if time.monotonic() >= stop_at:
                return
            link.send(batch)
            sent[index] += batch_count
            await asyncio.sleep(0)

    async def paced(index: int, link: Link, share: float) -> None:
        # Millisecond ticks: each sends what the schedule says is due, in one write. While the broker
        # is not reading (flow control) the schedule moves on without it and at most 10 ms' worth is
        # sent on resuming, so "sent" falls behind "offered" instead of bursting.
        began = time.monotonic()
        scheduled = 0
        burst = max(1, int(share / 100))
        while not link.closed and (now := time.monotonic()) < stop_at:
            due = int((now - began) * share) - scheduled
            scheduled += due
            if due > 0 and link.writable.is_set():
                due = min(due, burst)
                link.send(packets[index] * due)
                sent[index] += due
            await asyncio.sleep(0.001)

    snapshots: list[tuple[int, float]] = []

    def total_sent() -> int:
        if qos:
            return sum(link.acked for link in live if isinstance(link, Qos1Publisher))
        return sum(sent)

    async def watch() -> None:
        await sleep_until(go["from"])
        snapshots.append((total_sent(), cpu_now()))
        await sleep_until(go["to"])
        snapshots.append((total_sent(), cpu_now()))

    watcher = asyncio.ensure_future(watch())
    if qos:
        for link in live:
            assert isinstance(link, Qos1Publisher)
            link.running = True
            link.pump()
        await sleep_until(stop_at)
        for link in live:
            assert isinstance(link, Qos1Publisher)
            link.running = False
    elif rate:
        await asyncio.gather(*(paced(i, link, rate / len(live)) for i, link in enumerate(live)))
    else:
        await asyncio.gather(*(flood(i, link) for i, link in enumerate(live)))
    await watcher
    window = go["to"] - go["from"]
    (sent_from, cpu_from), (sent_to, cpu_to) = snapshots
    return {
        "sent": sent_to - sent_from,
        "rate": (sent_to - sent_from) / window,
        "window_s": window,
        "cpu_share": (cpu_to - cpu_from) / window,
        "unit": "PUBACKs received" if qos else "PUBLISH written to the socket",
    }


async def role_latency(spec: dict[str, Any], target: Target) -> dict[str, Any]:
    """Publish at a fixed rate, each payload stamped with its send time; measure delivery delay."""
    qos = spec["qos"]
    topic = spec["topic"]
    rate = spec["rate"]
    sub = await connect_client(target, f"{spec['client_prefix']}sub", 0, LatencyLink)
    await mqtt_subscribe(sub, [topic], qos)
    pub = await connect_client(target, f"{spec['client_prefix']}pub", 1, Link)
    assert isinstance(sub, LatencyLink)
    emit("ready")
    go = await read_go()
    await sleep_until(go["start"])
    start = time.monotonic()
    cpu_start = cpu_now()
    sent = 0
    pid = 0
    # uvloop timers tick in milliseconds: every tick sends what the schedule says is due (2 per ms at
    # 2,000 msg/s), each payload stamped just before its own write.
    while True:
        now = time.monotonic()
        if now >= go["to"] or pub.closed:
            break
        due = int((now - start) * rate) - sent
        for _ in range(due):
            if qos:
                pid = pid % 65535 + 1
            payload = wire.stamped_payload(len(PAYLOAD), time.monotonic_ns())
            pub.send(wire.publish_packet(topic, payload, qos, pid if qos else None))
        sent += due
        await asyncio.sleep(0.001)
    cpu_share = (cpu_now() - cpu_start) / max(1e-9, time.monotonic() - start)
    await asyncio.sleep(0.3)
    from_ns = int(go["from"] * 1e9)
    delays = sorted(received - stamp for stamp, received in sub.samples if stamp >= from_ns)
    expected = int((go["to"] - go["from"]) * rate)
    close_all([sub, pub])
    if not delays:
        return {"error": "no message came back"}
    return {
        "rate": rate,
        "samples": len(delays),
        "expected": expected,
        "p50_ms": _percentile(delays, 50) / 1e6,
        "p90_ms": _percentile(delays, 90) / 1e6,
        "p99_ms": _percentile(delays, 99) / 1e6,
        "p999_ms": _percentile(delays, 99.9) / 1e6,
        "max_ms": delays[-1] / 1e6,
        "cpu_share": cpu_share,
    }


def _percentile(ordered: list[int], pct: float) -> float:
    index = min(len(ordered) - 1, max(0, round(pct / 100 * len(ordered)) - 1))
    return float(ordered[index])


async def role_storm(spec: dict[str, Any], target: Target) -> dict[str, Any]:
    """``connections`` clients connect and subscribe, ``concurrency`` at a time, as fast as possible."""
    n = spec["connections"]
    setup: list[float] = []
    # Endpoints (presigned URLs for SigV4) are made before the clock starts: signing is the client's
    # cost, not the broker's.
    endpoints = [target.endpoint(i) for i in range(n)]
    credentials = [target.credentials(i) for i in range(n)]

    async def one(i: int) -> Link:
        began = time.monotonic()
        link = await open_link(endpoints[i])
        username, password = credentials[i]
        await mqtt_connect(link, f"{spec['client_prefix']}{i}", username, password)
        await mqtt_subscribe(link, [f"{spec['topic_prefix']}{i}"], 1)
        setup.append(time.monotonic() - began)
        return link

    emit("ready")
    await read_go()
    began = time.monotonic()
    links = await asyncio.wait_for(gather_bounded(one, range(n), spec["concurrency"]), spec["deadline"])
    elapsed = time.monotonic() - began
    ok = sum(1 for link in links if link is not None)
    close_all(links)
    await asyncio.sleep(0.2)
    setup.sort()
    return {
        "connections": n,
        "succeeded": ok,
        "elapsed_s": elapsed,
        "rate": ok / elapsed,
        "setup_p50_ms": 1e3 * setup[len(setup) // 2] if setup else None,
        "setup_p99_ms": 1e3 * setup[min(len(setup) - 1, int(len(setup) * 0.99))] if setup else None,
    }


async def role_idle(spec: dict[str, Any], target: Target) -> dict[str, Any]:
    """Hold ``connections`` idle subscribed clients while the harness reads the broker's memory."""
    prefix = spec["client_prefix"]

    async def one(i: int) -> Link:
        link = await connect_client(target, f"{prefix}{i}", i)
        await mqtt_subscribe(link, [f"{spec['topic_prefix']}{i}"], 1)
        return link

    warm = await gather_bounded(one, range(spec["warm"]), 50)
    emit("warm", opened=sum(1 for link in warm if link is not None))
    await read_go()
    start = spec["warm"]
    idle = await gather_bounded(one, range(start, start + spec["connections"]), spec.get("concurrency", 100))
    opened = sum(1 for link in idle if link is not None)
    emit("ready", opened=opened)
    await read_go()
    still_open = sum(1 for link in idle if link is not None and not link.closed)
    close_all(warm + idle)
    await asyncio.sleep(0.2)
    return {"opened": opened, "still_open_at_measurement": still_open}


ROLES: dict[str, Callable[[dict[str, Any], Target], Awaitable[dict[str, Any]]]] = {
    "subscribe": role_subscribe,
    "publish": role_publish,
    "latency": role_latency,
    "storm": role_storm,
    "idle": role_idle,
}


async def _main(spec: dict[str, Any]) -> None:
    target = Target.from_json(spec["target"])
    role = ROLES[spec["role"]]
    try:
        result = await asyncio.wait_for(role(spec, target), spec.get("deadline", 120))
    except Exception as exc:  # the harness reports it; one failing role must not hang the run
        emit("result", error=f"{type(exc).__name__}: {exc}")
        return
    if "error" in result:
        emit("result", error=result["error"])
    else:
        emit("result", **result)


def main() -> None:
    spec = json.loads(sys.argv[1])
    resource.setrlimit(resource.RLIMIT_NOFILE, _nofile_limit())
    try:
        import uvloop
    except ImportError:  # pragma: no cover
        asyncio.run(_main(spec))
    else:
        uvloop.run(_main(spec))


def _nofile_limit() -> tuple[int, int]:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = 65536 if hard == resource.RLIM_INFINITY else hard
    return (max(soft, wanted), hard)


if __name__ == "__main__":
    main()
