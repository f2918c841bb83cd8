"""The comparison table, target checks and the JSON written to bench/results/."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.scenarios import SCENARIOS, Scenario

BROKERS = ("bastion", "mosquitto", "amqtt")
TITLES = {"bastion": "Bastion", "mosquitto": "Mosquitto", "amqtt": "amqtt"}


@dataclass(frozen=True, slots=True)
class Target:
    """A requirement on a scenario's figure: against a reference broker, or absolute."""

    text: str
    reference: str | None = None
    ratio: float | None = None
    limit: float | None = None

    def check(self, figures: dict[str, float | None], higher_is_better: bool) -> bool | None:
        ours = figures.get("bastion")
        if ours is None:
            return None
        if self.reference is not None:
            theirs = figures.get(self.reference)
            if not theirs:
                return None
            assert self.ratio is not None
            return ours >= self.ratio * theirs
        assert self.limit is not None
        return ours >= self.limit if higher_is_better else ours <= self.limit


_X_MOSQUITTO = Target(">= 0.5x Mosquitto", "mosquitto", 0.5)
_X_AMQTT = Target(">= 10x amqtt", "amqtt", 10.0)
TARGETS: dict[str, list[Target]] = {
    "qos0_1to1": [_X_MOSQUITTO, _X_AMQTT],
    "fanout_1to100": [_X_MOSQUITTO, _X_AMQTT],
    "qos0_1to1_sustained": [_X_MOSQUITTO, _X_AMQTT],
    "fanout_1to100_sustained": [_X_MOSQUITTO, _X_AMQTT],
    "qos1_1to1": [_X_AMQTT],
    "fanin_100to1": [_X_AMQTT],
    "ws_qos0_1to1": [_X_AMQTT],
    "latency_qos0": [Target("p99 <= 2 ms", limit=2.0)],
    "idle_memory": [Target("<= 16 KB", limit=16.0)],
}


def figure(results: dict[str, dict[str, Any]], scenario: str, broker: str) -> float | None:
    entry = results.get(scenario, {}).get(broker)
    if not entry or "value" not in entry:
        return None
    value: float = entry["value"]
    return value


def _fmt(value: float | None) -> str:
    if value is None:
        return "-"
    if value >= 1000:
        return f"{value:,.0f}"
    if value >= 10:
        return f"{value:.1f}"
    return f"{value:.3g}"


def _ratio(ours: float | None, theirs: float | None) -> str:
    if ours is None or not theirs:
        return "-"
    return f"{ours / theirs:.2f}x"


def table(results: dict[str, dict[str, Any]], brokers: list[str]) -> str:
    header = f"{'scenario':40s} {'unit':>12s}"
    for name in brokers:
        header += f" {TITLES[name]:>11s}"
    if "bastion" in brokers:
        for name in brokers:
            if name != "bastion":
                header += f" {'B/' + TITLES[name][:5]:>8s}"
        header += "  targets"
    lines = [header, "-" * len(header)]
    for scenario in SCENARIOS:
        if scenario.key not in results:
            continue
        figures = {b: figure(results, scenario.key, b) for b in brokers}
        line = f"{scenario.label:40s} {scenario.unit:>12s}"
        for name in brokers:
            line += f" {_fmt(figures[name]):>11s}"
        if "bastion" in brokers:
            for name in brokers:
                if name != "bastion":
                    line += f" {_ratio(figures['bastion'], figures[name]):>8s}"
            line += "  " + _target_text(scenario, figures)
        lines.append(line)
    return "\n".join(lines)


def _target_text(scenario: Scenario, figures: dict[str, float | None]) -> str:
    parts = []
    for target in TARGETS.get(scenario.key, []):
        verdict = target.check(figures, scenario.higher_is_better)
        mark = "?" if verdict is None else ("ok" if verdict else "MISSED")
        parts.append(f"{target.text} {mark}")
    return "; ".join(parts)


def target_verdicts(results: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    out = []
    for scenario in SCENARIOS:
        for target in TARGETS.get(scenario.key, []):
            figures = {b: figure(results, scenario.key, b) for b in BROKERS}
            out.append(
                {
                    "scenario": scenario.key,
                    "target": target.text,
                    "met": target.check(figures, scenario.higher_is_better),
                }
            )
    return out


def bottlenecks(results: dict[str, dict[str, Any]], brokers: list[str]) -> str:
    """CPUs' worth used by the broker, the load processes and everything else, inside each window."""
    lines = [f"{'scenario':40s} " + " ".join(f"{TITLES[b] + ' broker/load/other':>28s}" for b in brokers)]
    for scenario in SCENARIOS:
        row = results.get(scenario.key, {})
        cells = []
        for name in brokers:
            entry = row.get(name) or {}
            if "broker_cpu" in entry and "load_cpu" in entry:
                cell = (
                    f"{entry['broker_cpu']:.2f} / {entry['load_cpu']:.2f} / {entry.get('other_cpu', 0):.2f}"
                )
                cells.append(f"{cell:>28s}")
            else:
                cells.append(f"{'-':>28s}")
        if any(c.strip() != "-" for c in cells):
            lines.append(f"{scenario.label:40s} " + " ".join(cells))
    return "\n".join(lines)


def write(path: Path, document: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(document, indent=2, sort_keys=False, default=str) + "\n")
