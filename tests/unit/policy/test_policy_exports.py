"""The public surface of bastion.policy is deliberate."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import bastion.policy


def test_all_matches_public_names() -> None:
    public = {name for name in vars(bastion.policy) if not name.startswith("_")}
    modules = {name for name in public if type(getattr(bastion.policy, name)).__name__ == "module"}
    assert set(bastion.policy.__all__) == public - modules


def test_engine_imports_no_io_modules() -> None:
    code = (
        "import sys; import bastion.policy; "
        "bad = {'asyncio', 'socket', 'sqlalchemy', 'aiohttp', 'bastion.storage', 'bastion.api', "
        "'bastion.services', 'bastion.broker'} & set(sys.modules); print(sorted(bad))"
    )
    # A fresh interpreter, so that modules imported by other tests do not count.
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_every_finding_code_is_documented() -> None:
    doc = (Path(__file__).resolve().parents[3] / "docs" / "policy-engine.md").read_text()
    missing = [code for code in bastion.policy.CATALOGUE if f"`{code}`" not in doc]
    assert missing == []
