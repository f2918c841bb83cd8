"""Migration 2: AWS IoT policies, versions and attachments.

Frozen once released: declare the tables here as they are at version 2 (not imported from a live
tables module), so a fresh database replays history exactly.
"""

from __future__ import annotations

from sqlalchemy import Connection


def apply(conn: Connection, dialect: str) -> None:
    """Reserved for this step; its tables arrive with the feature."""
