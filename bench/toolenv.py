"""The bench tools virtualenv: amqtt (the comparison broker) and py-spy (the profiler).

They live in their own virtualenv, outside the repository, so that amqtt's dependencies (pinned
websockets, transitions, typer, ...) never mix with the project's. ``bench/run`` creates it on first use
with the project's interpreter; ``BASTION_BENCH_TOOLS`` moves it.
"""

from __future__ import annotations

import os
import subprocess
import sys
import venv
from dataclasses import dataclass
from pathlib import Path

AMQTT = "amqtt==0.12.1"
PY_SPY = "py-spy==0.4.3"


def tools_dir() -> Path:
    override = os.environ.get("BASTION_BENCH_TOOLS")
    if override:
        return Path(override)
    return Path.home() / ".cache" / "bastion-bench" / "venv"


@dataclass(frozen=True, slots=True)
class Tool:
    path: Path | None
    why_missing: str = ""


def _installed(name: str) -> Path | None:
    candidate = tools_dir() / "bin" / name
    return candidate if candidate.exists() else None


def ensure(name: str, requirement: str, install: bool) -> Tool:
    """The tool's executable, installing it into the tools virtualenv first when allowed."""
    found = _installed(name)
    if found is not None:
        return Tool(found)
    if not install:
        return Tool(None, f"{name} is not in {tools_dir()} (run without --no-install to install it)")
    where = tools_dir()
    try:
        if not (where / "bin" / "python").exists():
            print(f"creating the bench tools virtualenv in {where}", flush=True)
            venv.EnvBuilder(with_pip=True).create(where)
        print(f"installing {requirement} into {where}", flush=True)
        subprocess.run(
            [str(where / "bin" / "python"), "-m", "pip", "install", "--quiet", requirement],
            check=True,
            timeout=600,
        )
    except (OSError, subprocess.SubprocessError) as exc:
        return Tool(None, f"could not install {requirement}: {exc}")
    found = _installed(name)
    if found is None:
        return Tool(None, f"{requirement} installed but {name} is missing from {where / 'bin'}")
    return Tool(found)


def project_python() -> str:
    return sys.executable
