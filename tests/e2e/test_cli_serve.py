"""`bastion serve` as a user runs it: a real process, its banner, its files, state across restarts."""

from __future__ import annotations

import configparser
import json
import os
import re
import signal
import stat
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import boto3

BANNER_ENDPOINT = re.compile(r"endpoint:\s+(http://\S+)")


@contextmanager
def _serve(data_dir: Path, *extra: str) -> Iterator[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("BASTION_")}
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "bastion.cli.main",
            "serve",
            "--port",
            "0",
            "--data-dir",
            str(data_dir),
            # MQTT and TLS listeners on free ports too: tests never take the fixed default ports.
            "--mqtt-port",
            "0",
            "--mqtt-tls-port",
            "0",
            "--api-tls-port",
            "0",
            *extra,
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env,
    )
    try:
        endpoint = None
        deadline = time.monotonic() + 30
        assert process.stdout is not None
        while endpoint is None and time.monotonic() < deadline:
            line = process.stdout.readline()
            if not line:
                break
            match = BANNER_ENDPOINT.search(line)
            if match:
                endpoint = match.group(1)
        assert endpoint, "bastion serve did not print its endpoint"
        yield endpoint
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            assert process.wait(15) == 0
        finally:
            if process.poll() is None:
                process.kill()
                process.wait()
            if process.stdout is not None:
                process.stdout.close()


def _admin_session(data_dir: Path) -> boto3.session.Session:
    parser = configparser.ConfigParser()
    parser.read(data_dir / "admin-credentials")
    section = parser["default"]
    return boto3.session.Session(
        aws_access_key_id=section["aws_access_key_id"],
        aws_secret_access_key=section["aws_secret_access_key"],
        region_name="us-east-1",
    )


def test_serve_creates_private_files_and_keeps_state_across_restarts(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    trust = json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Principal": {"AWS": "arn:aws:iam::000000000000:root"},
                    "Action": "sts:AssumeRole",
                }
            ],
        }
    )
    with _serve(data_dir) as endpoint:
        for name in ("admin-credentials", "master.key"):
            assert stat.S_IMODE((data_dir / name).stat().st_mode) == 0o600
        assert stat.S_IMODE(data_dir.stat().st_mode) == 0o700
        session = _admin_session(data_dir)
        assert session.client("sts", endpoint_url=endpoint).get_caller_identity()["Account"] == "000000000000"
        iam = session.client("iam", endpoint_url=endpoint)
        iam.create_role(RoleName="survivor", AssumeRolePolicyDocument=trust)
        iam.create_user(UserName="keeper")
        key = iam.create_access_key(UserName="keeper")["AccessKey"]

    # Secrets are stored sealed: neither the user's secret nor the admin's appears in the database.
    database = (data_dir / "bastion.db").read_bytes()
    assert key["SecretAccessKey"].encode() not in database

    with _serve(data_dir) as endpoint:
        session = _admin_session(data_dir)
        iam = session.client("iam", endpoint_url=endpoint)
        assert iam.get_role(RoleName="survivor")["Role"]["RoleName"] == "survivor"
        as_user = boto3.session.Session(
            aws_access_key_id=key["AccessKeyId"],
            aws_secret_access_key=key["SecretAccessKey"],
            region_name="us-east-1",
        )
        assert (
            as_user.client("sts", endpoint_url=endpoint).get_caller_identity()["Arn"].endswith(":user/keeper")
        )


def test_help_is_enough_to_start() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "bastion.cli.main", "serve", "--help"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    for flag in ("--port", "--data-dir", "--database", "--region", "--account-id", "BASTION_API_PORT"):
        assert flag in out


def test_a_port_already_taken_is_one_line_not_a_traceback(tmp_path: Path) -> None:
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        env = {k: v for k, v in os.environ.items() if not k.startswith("BASTION_")}
        done = subprocess.run(
            [
                sys.executable,
                "-m",
                "bastion.cli.main",
                "serve",
                "--port",
                str(port),
                "--data-dir",
                str(tmp_path),
                "--mqtt-port",
                "0",
                "--mqtt-tls-port",
                "-1",
                "--api-tls-port",
                "-1",
            ],
            capture_output=True,
            text=True,
            env=env,
            timeout=60,
            check=False,
        )
    assert done.returncode == 1
    assert "bastion: cannot start:" in done.stderr and "address already in use" in done.stderr
    assert "Traceback" not in done.stderr
