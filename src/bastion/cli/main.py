"""The ``bastion`` command."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import logging
import signal
import sys
from collections.abc import Sequence

from bastion import __version__
from bastion.cli import codes, policy
from bastion.config import (
    DEFAULT_API_PORT,
    DEFAULT_API_TLS_PORT,
    DEFAULT_DATA_DIR,
    DEFAULT_MQTT_PORT,
    DEFAULT_MQTT_TLS_PORT,
    ConfigError,
    Settings,
    StartupError,
    parse_port,
    settings_from,
)
from bastion.server import BastionServer

DESCRIPTION = """\
Bastion: AWS IoT Core identity-based authorization on your own machine.

One process serves AWS-compatible IAM, STS, Cognito user and identity pools and the AWS IoT
control plane on one endpoint, and an MQTT broker that authorizes every message against IAM and AWS
IoT policies. Point boto3, the AWS CLI or an AWS SDK at it with endpoint_url and the admin
credentials printed at start.

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
    _mqtt_arguments(serve)
    cluster = serve.add_argument_group("scale-out (docs/scaling.md)")
    cluster.add_argument(
        "--cluster",
        dest="cluster_url",
        help="NATS server(s) the nodes share, e.g. nats://127.0.0.1:4222; needs --database postgresql://... "
        "[BASTION_CLUSTER_URL, default: a single node]",
    )
    cluster.add_argument(
        "--cluster-name",
        help="subject prefix and JetStream stream name of this cluster "
        "[BASTION_CLUSTER_NAME, default bastion]",
    )
    policy.add_parser(commands)
    codes.add_parser(commands)
    return parser


def _mqtt_arguments(serve: argparse.ArgumentParser) -> None:
    mqtt = serve.add_argument_group("MQTT broker (docs/broker.md)")
    add = mqtt.add_argument
    add(
        "--mqtt-port",
        type=parse_port,
        help=f"MQTT over TCP, or 'off' [BASTION_MQTT_PORT, default {DEFAULT_MQTT_PORT}]",
    )
    add(
        "--mqtt-tls-port",
        type=parse_port,
        help=f"MQTT over TLS, or 'off' [BASTION_MQTT_TLS_PORT, default {DEFAULT_MQTT_TLS_PORT}]",
    )
    add(
        "--api-tls-port",
        type=parse_port,
        help=f"HTTPS API and WSS /mqtt, or 'off' [BASTION_API_TLS_PORT, default {DEFAULT_API_TLS_PORT}]",
    )
    add(
        "--tls-cert",
        help="PEM certificate chain for the TLS listeners [BASTION_TLS_CERT, default: generated]",
    )
    add("--tls-key", help="PEM private key of --tls-cert [BASTION_TLS_KEY]")
    add(
        "--mqtt-session-expiry",
        type=int,
        help="seconds a persistent session outlives its connection "
        "[BASTION_MQTT_SESSION_EXPIRY, default 3600]",
    )
    add(
        "--mqtt-anonymous-policy",
        help="admit TCP/TLS clients without credentials, bound to this policy: IAM policy ARN, AWS IoT "
        "policy name, JSON document or @file [BASTION_MQTT_ANONYMOUS_POLICY, default: refused]",
    )
    add("--mqtt-max-connections", type=int, help="[BASTION_MQTT_MAX_CONNECTIONS, default 100000]")
    add(
        "--mqtt-max-queued-messages",
        type=int,
        help="QoS 1 messages kept per session [BASTION_MQTT_MAX_QUEUED_MESSAGES, default 1000]",
    )
    add(
        "--mqtt-connect-interval",
        type=float,
        help="seconds between CONNECTs of one client id, 0 = no limit "
        "[BASTION_MQTT_CONNECT_INTERVAL, default 1]",
    )


def _mqtt_banner(server: BastionServer) -> str:
    mqtt = server.mqtt
    if mqtt is None:
        return ""
    host = server.settings.host
    shown = f"[{host}]" if ":" in host else host
    lines = []
    if mqtt.tcp_port is not None:
        lines.append(
            f"  mqtt:        mqtt://{shown}:{mqtt.tcp_port} (user name 'sigv4', presigned URL as password)"
        )
    if mqtt.tls_port is not None:
        lines.append(f"  mqtt tls:    mqtts://{shown}:{mqtt.tls_port}")
    lines.append(
        f"  websocket:   ws://{shown}:{server.port}/mqtt (SigV4-presigned, service iotdevicegateway)"
    )
    if server.tls_endpoint_url is not None:
        wss = server.tls_endpoint_url.replace("https://", "wss://", 1)
        lines.append(f"  https:       {server.tls_endpoint_url} (WebSocket: {wss}/mqtt)")
    if server.tls is not None and server.tls.ca_file is not None:
        lines.append(f"  tls ca:      {server.tls.ca_file} (generated; clients verify the server with it)")
    return "".join(line + "\n" for line in lines)


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
        f"{_mqtt_banner(server)}"
        f"{_cluster_banner(server)}"
    )


def _cluster_banner(server: BastionServer) -> str:
    cluster = server.cluster
    if cluster is None:
        return ""
    url = server.settings.cluster_url or ""
    return f"  cluster:     {cluster.subjects.name} on {_redact(url)} (node {cluster.node_id.hex()})\n"


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
    try:
        await server.start()
    except BaseException:
        await server.stop()  # whatever did start (store, listeners) is closed again
        raise
    # Everything made while starting (modules, botocore's models, compiled policies) lives as long as
    # the process: keep it out of the collector's full passes, which otherwise walk it on every one.
    gc.freeze()
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
    if args.command == "policy":
        return policy.run(args)
    if args.command == "codes":
        return codes.run(args)
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
    try:
        _run(settings)
    except (StartupError, OSError) as exc:  # a NATS server away, a port taken: one line, no traceback
        print(f"bastion: cannot start: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
