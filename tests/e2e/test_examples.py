"""examples/seed_flow.py, run as a user runs it: a separate process against a started server, talking to
it only through boto3 and paho-mqtt over real sockets."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from bastion.testing.server import ServerThread

SEED_FLOW = Path(__file__).resolve().parents[2] / "examples" / "seed_flow.py"


def _run(args: list[str], cwd: Path, **env: str) -> subprocess.CompletedProcess[str]:
    # Only the admin keys and region the test chooses: nothing from the developer's own AWS setup.
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "BASTION_"))}
    return subprocess.run(
        [sys.executable, str(SEED_FLOW), *args],
        cwd=cwd,
        env={**clean, "AWS_DEFAULT_REGION": "us-east-1", **env},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def _lines(output: str, step: str) -> str:
    return "\n".join(line for line in output.splitlines() if line.startswith(f"{step}. "))


def test_seed_flow_shows_each_step_as_aws_would_behave(server: ServerThread, tmp_path: Path) -> None:
    key, secret = server.admin_keys
    done = _run(
        ["--endpoint", server.endpoint_url],
        tmp_path,
        BASTION_ADMIN_ACCESS_KEY_ID=key,
        BASTION_ADMIN_SECRET_ACCESS_KEY=secret,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    out = done.stdout
    assert "user pool us-east-1_" in _lines(out, "1")
    assert "IoT policy" in _lines(out, "1") and "${cognito-identity.amazonaws.com:sub}" in _lines(out, "1")
    assert "signed in with USER_SRP_AUTH" in _lines(out, "2")
    assert "temporary credentials ASIA" in _lines(out, "3")
    assert "MQTT CONNECT before AttachPolicy: refused (not authorized)" in _lines(out, "4")
    assert "AttachPolicy" in _lines(out, "5") and "with the user's own credentials" in _lines(out, "5")
    step6 = _lines(out, "6")
    assert "MQTT CONNECT accepted" in step6
    assert "received back: 'hello from the seed flow'" in step6
    assert "(another identity's): refused" in step6
    step7 = _lines(out, "7")
    assert "MQTT CONNECT accepted with no IoT policy" in step7
    assert "SUBSCRIBE public/# granted" in step7 and "/# refused" in step7
    assert "PUBLISH public/chat refused" in step7
    assert "received the user's 'welcome, guests' on public/announcements" in step7
    assert out.rstrip().endswith("Every step behaved as expected.")
    assert done.stderr == ""


def test_seed_flow_over_https_and_wss_verifies_bastions_generated_ca(
    server: ServerThread, tmp_path: Path
) -> None:
    """Against the TLS listener, the example verifies the server with the CA Bastion generated in its data
    directory (boto3 over HTTPS, paho over WSS); with no way to verify it, it refuses to go on."""
    https = server.server.tls_endpoint_url
    assert https is not None
    key, secret = server.admin_keys
    keys = {"BASTION_ADMIN_ACCESS_KEY_ID": key, "BASTION_ADMIN_SECRET_ACCESS_KEY": secret}
    data_dir = str(server.server.settings.data_dir)
    done = _run(["--endpoint", https, "--data-dir", data_dir], tmp_path, **keys)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "received back: 'hello from the seed flow'" in done.stdout
    # Another data directory has no CA: the system trust store does not know Bastion's.
    refused = _run(["--endpoint", https, "--data-dir", str(tmp_path)], tmp_path, **keys)
    assert refused.returncode == 1 and "CERTIFICATE_VERIFY_FAILED" in refused.stderr


def test_seed_flow_reads_the_admin_keys_from_the_data_directory(server: ServerThread, tmp_path: Path) -> None:
    """Without keys in flags or the environment it reads <data dir>/admin-credentials, as written by
    `bastion serve`; keys the server does not know end the run with a clear message."""
    key, _secret = server.admin_keys
    (tmp_path / "admin-credentials").write_text(
        f"[default]\naws_access_key_id = {key}\naws_secret_access_key = not-the-secret\n"
    )
    done = _run(["--endpoint", server.endpoint_url, "--data-dir", str(tmp_path)], tmp_path)
    assert done.returncode == 1
    assert "FAILED: GetCallerIdentity: SignatureDoesNotMatch" in done.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--data-dir", "nowhere"], "no admin credentials: nowhere/admin-credentials does not exist"),
        (["--access-key-id", "AKIAEXAMPLE"], "give both --access-key-id and --secret-access-key"),
    ],
)
def test_seed_flow_without_admin_keys_says_what_is_missing(
    tmp_path: Path, args: list[str], message: str
) -> None:
    done = _run(args, tmp_path)
    assert done.returncode == 2 and message in done.stderr and done.stdout == ""


def test_seed_flow_without_a_server_says_how_to_start_one(tmp_path: Path) -> None:
    with socket.socket() as free:  # a port nothing listens on
        free.bind(("127.0.0.1", 0))
        port = free.getsockname()[1]
    done = _run(
        [
            "--endpoint",
            f"http://127.0.0.1:{port}",
            "--access-key-id",
            "AKIAEXAMPLE",
            "--secret-access-key",
            "x",
        ],
        tmp_path,
    )
    assert done.returncode == 2
    assert f"nothing answers at http://127.0.0.1:{port}" in done.stderr and "scripts/serve" in done.stderr
