"""`bastion serve` as a user runs it: a real process, its banner, its files, state across restarts."""

from __future__ import annotations

import configparser
import json
import stat
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import boto3

from tests.e2e.serve_process import clean_env, serve_command, serving


@contextmanager
def _serve(data_dir: Path, *extra: str) -> Iterator[str]:
    """``bastion serve`` running; its endpoint. It must then stop cleanly on SIGTERM."""
    with serving(data_dir, *extra) as served:
        yield served.banner["endpoint"]
    assert served.process.returncode == 0, "bastion serve did not stop cleanly on SIGTERM"


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
        done = subprocess.run(
            serve_command(tmp_path, "--port", str(port), "--mqtt-tls-port", "-1", "--api-tls-port", "-1"),
            capture_output=True,
            text=True,
            env=clean_env(),
            timeout=60,
            check=False,
        )
    assert done.returncode == 1
    assert "bastion: cannot start:" in done.stderr and "address already in use" in done.stderr
    assert "Traceback" not in done.stderr
