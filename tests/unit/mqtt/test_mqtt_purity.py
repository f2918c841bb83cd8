"""bastion.mqtt stays sans-I/O: importing it must not pull in event loops, sockets or other layers."""

from __future__ import annotations

import subprocess
import sys

FORBIDDEN = [
    "asyncio",
    "socket",
    "selectors",
    "ssl",
    "aiohttp",
    "sqlalchemy",
    "bastion.broker",
    "bastion.api",
    "bastion.services",
    "bastion.storage",
]


def test_import_pulls_in_no_io() -> None:
    code = (
        "import sys, bastion.mqtt, bastion.mqtt.topics, bastion.mqtt.trie, bastion.mqtt.publish_frame\n"
        f"bad = [m for m in {FORBIDDEN!r} if any(k == m or k.startswith(m + '.') for k in sys.modules)]\n"
        "print(','.join(bad))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == ""
