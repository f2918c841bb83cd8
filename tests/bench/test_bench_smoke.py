"""``bench/run --quick`` end to end: real brokers, real load processes, numbers in the JSON.

Not a speed test (speed targets are checked by the benchmark itself): it only proves the harness
starts each broker, drives every kind of scenario and reports a figure for each.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from bench import bastion_setup, brokers

ROOT = Path(__file__).resolve().parents[2]
SCENARIOS = "qos0_1to1,latency_qos0,storm_ws,idle_memory"

pytestmark = pytest.mark.skipif(brokers.which_mosquitto() is None, reason="mosquitto is not installed")


def test_quick_run_reports_a_number_for_every_scenario(tmp_path: Path) -> None:
    names = ["mosquitto"] + ([] if bastion_setup.why_unavailable() else ["bastion"])
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "bench",
            "--quick",
            "--skip-micro",
            "--no-install",
            "--brokers",
            ",".join(names),
            "--scenarios",
            SCENARIOS,
            "--output",
            str(tmp_path),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    document = json.loads((tmp_path / "brokers.json").read_text())
    assert document["errors"] == []
    for scenario in SCENARIOS.split(","):
        for name in names:
            entry = document["scenarios"][scenario][name]
            assert entry["value"] > 0, (scenario, name, entry)
    assert document["scenarios"]["latency_qos0"]["mosquitto"]["samples"] > 0
    assert document["scenarios"]["idle_memory"]["mosquitto"]["still_open_at_measurement"] > 0
    # The table names every broker that ran.
    assert all(title in done.stdout for title in ("Mosquitto", *(["Bastion"] if "bastion" in names else [])))
