"""The ``bastion`` command."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import signal
import sys
from collections.abc import Sequence

from bastion import __version__
from bastion.config import DEFAULT_API_PORT, DEFAULT_DATA_DIR, ConfigError, Settings, settings_from
from bastion.server import BastionServer

DESCRIPTION = """\
Bastion: AWS IoT Core identity-based authorization on your own machine.

One process serves AWS-compatible IAM and STS (and, as they land, Cognito user and identity pools,
AWS IoT policies and an MQTT broker) on one endpoint. Point boto3, the AWS CLI or an AWS SDK at it
with endpoint_url and the admin credentials printed at start.

Quick start:
  bastion serve
  export AWS_SHARED_CREDENTIALS_FILE=./bastion-data/admin-credentials AWS_DEFAULT_REGION=us-east-1
  aws --endpoint-url http://127.0.0.1:4580 sts get-caller-identity
"""


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="bastion", description=DESCRIPTION, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--version", action="version", version=f"bastion {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    serve = commands.add_parser(
        "serve",
        help="run the server (embedded SQLite store by default)",
        description="Run Bastion. Every flag can also be set with the environment variable shown.",
    )
    serve.add_argument("--host", help="address to listen on [BASTION_HOST, default 127.0.0.1]")
    serve.add_argument(
        "--port",
        dest="api_port",
        type=int,
        help=f"HTTP API port [BASTION_API_PORT, default {DEFAULT_API_PORT}]",
    )
    serve.add_argument(
        "--data-dir",
        help=f"where the store, keys and credentials live [BASTION_DATA_DIR, default {DEFAULT_DATA_DIR}]",
    )
    serve.add_argument(
        "--database",
        dest="database_url",
        help="store URL, e.g. postgresql://user@host/db [BASTION_DATABASE_URL, default: SQLite in data dir]",
    )
    serve.add_argument("--region", help="AWS region the endpoint claims [BASTION_REGION, default us-east-1]")
    serve.add_argument("--account-id", help="12-digit account id [BASTION_ACCOUNT_ID, default 000000000000]")
    serve.add_argument("--log-level", help="DEBUG, INFO, WARNING, ERROR [BASTION_LOG_LEVEL, default INFO]")
    return parser


def _banner(server: BastionServer) -> str:
    settings = server.settings
    admin = server.admin
    assert admin is not None
    where = str(admin.path) if admin.path else "BASTION_ADMIN_ACCESS_KEY_ID / BASTION_ADMIN_SECRET_ACCESS_KEY"
    return (
        f"Bastion {__version__} is running\n"
        f"  endpoint:    {server.endpoint_url}\n"
        f"  region:      {settings.region}\n"
        f"  account id:  {settings.account_id}\n"
        f"  store:       {_redact(settings.effective_database_url)}\n"
        f"  admin keys:  {where} (access key id {admin.access_key_id})\n"
    )


def _redact(url: str) -> str:
    """Hide a password in a database URL."""
    scheme, sep, rest = url.partition("://")
    if not sep or "@" not in rest:
        return url
    credentials, _, host = rest.rpartition("@")
    user = credentials.split(":", 1)[0]
    return f"{scheme}://{user}:***@{host}" if ":" in credentials else url


async def _serve(settings: Settings) -> None:
    server = BastionServer(settings)
    await server.start()
    print(_banner(server), flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, stop.set)
    try:
        await stop.wait()
    finally:
        await server.stop()


def _run(coro_settings: Settings) -> None:
    try:
        import uvloop
    except ImportError:  # pragma: no cover - uvloop is a dependency except on Windows
        asyncio.run(_serve(coro_settings))
    else:
        uvloop.run(_serve(coro_settings))


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    if args.command != "serve":
        parser.print_help()
        return 0 if args.command is None else 2
    overrides = {k: v for k, v in vars(args).items() if k != "command"}
    try:
        settings = settings_from(overrides)
    except ConfigError as exc:
        print(f"bastion: {exc}", file=sys.stderr)
        return 2
    logging.basicConfig(
        level=settings.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    _run(settings)
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
