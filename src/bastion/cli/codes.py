"""``bastion codes``: show the sign-up and password-reset codes waiting in the development outbox.

Without an SMTP server configured, Cognito codes (and temporary passwords of AdminCreateUser) are not
sent anywhere: they are kept in the store, sealed with the master key, so a developer can finish a
sign-up on a laptop. This command opens them. It reads the same store and master key as
``bastion serve`` (``--data-dir`` / ``--database`` or ``BASTION_DATA_DIR`` / ``BASTION_DATABASE_URL`` /
``BASTION_MASTER_KEY``) and works while the server runs.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any, TextIO

from bastion.config import ConfigError, Settings, settings_from
from bastion.sealing import Sealer, UnsealError, load_or_create_master_key
from bastion.services.cognito_idp.delivery import OutboxEntry, read_outbox
from bastion.storage.factory import open_store

DEFAULT_LIMIT = 20


def add_parser(commands: Any) -> None:
    codes = commands.add_parser(
        "codes",
        help="show Cognito codes waiting in the development outbox",
        description="Show the newest Cognito codes (sign-up, password reset, attribute verification) and "
        "temporary passwords kept in the development outbox, newest first.",
    )
    codes.add_argument("--data-dir", help="data directory of the server [BASTION_DATA_DIR]")
    codes.add_argument("--database", dest="database_url", help="store URL [BASTION_DATABASE_URL]")
    codes.add_argument("--pool", dest="pool_id", help="only this user pool")
    codes.add_argument("--limit", type=int, default=DEFAULT_LIMIT, help=f"how many (default {DEFAULT_LIMIT})")
    codes.add_argument("--json", action="store_true", help="JSON lines instead of a table")


def _master_key(settings: Settings) -> bytes:
    """The server's master key; never creates one (codes sealed with another key could not be opened)."""
    from_env = os.environ.get("BASTION_MASTER_KEY")
    if not from_env and not (settings.data_dir / "master.key").exists():
        raise ConfigError(
            f"no master key in {settings.data_dir} and BASTION_MASTER_KEY is not set; "
            "point --data-dir at the server's data directory"
        )
    return load_or_create_master_key(settings.data_dir, from_env)


async def _read(settings: Settings, pool_id: str | None, limit: int) -> list[OutboxEntry]:
    sealer = Sealer(_master_key(settings))
    store = await open_store(settings.effective_database_url)
    try:
        return await read_outbox(store.cognito_idp, sealer, pool_id, limit)
    finally:
        await store.close()


def _when(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%d %H:%M:%S")


def print_entries(entries: Sequence[OutboxEntry], out: TextIO, *, as_json: bool, now: datetime) -> None:
    if as_json:
        for e in entries:
            record = {
                "created": e.created.isoformat(),
                "expires": e.expires.isoformat(),
                "pool_id": e.pool_id,
                "username": e.username,
                "kind": e.kind,
                "medium": e.medium,
                "destination": e.destination,
                "code": e.code,
                "expired": e.expires <= now,
            }
            out.write(json.dumps(record) + "\n")
        return
    if not entries:
        out.write("No codes are waiting in the outbox.\n")
        return
    header = ("CREATED (UTC)", "POOL", "USER", "KIND", "TO", "CODE", "EXPIRES (UTC)")
    rows = [
        (
            _when(e.created),
            e.pool_id,
            e.username,
            e.kind,
            e.destination,
            e.code,
            _when(e.expires) + (" (expired)" if e.expires <= now else ""),
        )
        for e in entries
    ]
    widths = [max(len(r[i]) for r in (header, *rows)) for i in range(len(header))]
    for row in (header, *rows):
        out.write(
            "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip() + "\n"
        )


def run(args: argparse.Namespace, out: TextIO = sys.stdout) -> int:
    try:
        settings = settings_from({"data_dir": args.data_dir, "database_url": args.database_url})
        if args.limit < 1:
            raise ConfigError("--limit must be at least 1")
        entries = asyncio.run(_read(settings, args.pool_id, args.limit))
    except (ConfigError, UnsealError, ValueError) as exc:
        reason = "codes were sealed with another master key" if isinstance(exc, UnsealError) else str(exc)
        print(f"bastion codes: {reason}", file=sys.stderr)
        return 1
    print_entries(entries, out, as_json=args.json, now=datetime.now(UTC))
    return 0
