"""The node's identity: 16 random bytes made once and kept in ``<data dir>/cluster-node-id``.

It tags every message the node sends (so it never routes its own twice) and names its durable
JetStream consumer, so a restarted node resumes where it stopped consuming. Two nodes must never
share a data directory.
"""

from __future__ import annotations

import secrets
from pathlib import Path

from bastion.sealing import write_private_file

FILE_NAME = "cluster-node-id"


def load_or_create(data_dir: Path) -> bytes:
    path = data_dir / FILE_NAME
    if path.exists():
        text = path.read_text().strip()
        try:
            node_id = bytes.fromhex(text)
        except ValueError:
            node_id = b""
        if len(node_id) != 16:
            raise ValueError(f"{path} does not hold a 32-hex-digit node id")
        return node_id
    node_id = secrets.token_bytes(16)
    write_private_file(path, node_id.hex() + "\n")
    return node_id
