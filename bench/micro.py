"""Run the single-process micro-benchmarks (policy engine, MQTT codec, SRP, the CONNECT credential and
policy path) and collect their figures."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
RESULTS = BENCH / "results"

# "decode_packet   PUBLISH QoS1        v3.1.1            480,468 /s      2.08 us"
_CODEC_LINE = re.compile(r"^(?P<name>.+?)\s+(?P<rate>[\d,]+) /s\s+(?P<us>[\d.]+) us$")


def parse_codec_output(text: str) -> dict[str, float]:
    """Operations per second by case name, from bench_mqtt_codec.py's printed table."""
    out: dict[str, float] = {}
    for line in text.splitlines():
        match = _CODEC_LINE.match(line.strip())
        if match:
            name = " ".join(match["name"].split())
            out[name] = float(match["rate"].replace(",", ""))
    return out


def _run(script: str, *args: str, timeout: float = 300) -> str:
    done = subprocess.run(
        [sys.executable, str(BENCH / script), *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=True,
        cwd=BENCH.parent,
    )
    return done.stdout


def run_all(quick: bool) -> dict[str, Any]:
    """Each micro-benchmark in its own process, printed as it finishes (they time their own CPU)."""
    results: dict[str, Any] = {}
    print("== micro-benchmarks (one core each, CPU time) ==", flush=True)
    text = _run("bench_policy.py")
    print(text.rstrip(), flush=True)
    results["policy"] = json.loads((RESULTS / "policy.json").read_text())
    text = _run("bench_mqtt_codec.py", *(["--quick"] if quick else []))
    print(text.rstrip(), flush=True)
    codec = {"benchmark": "bastion.mqtt", "ops_per_s": parse_codec_output(text)}
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "mqtt_codec.json").write_text(json.dumps(codec, indent=2) + "\n")
    results["mqtt_codec"] = codec
    text = _run("bench_srp.py")
    print(text.rstrip(), flush=True)
    results["srp"] = json.loads((RESULTS / "srp.json").read_text())
    text = _run("bench_connect.py")
    print(text.rstrip(), flush=True)
    results["connect"] = json.loads((RESULTS / "connect.json").read_text())
    return results
