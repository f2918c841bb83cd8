"""Shared fixtures."""

from __future__ import annotations

import os

import pytest

# Tests never read the developer's AWS configuration.
for _name in (
    "AWS_PROFILE",
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_CONFIG_FILE",
    "AWS_SHARED_CREDENTIALS_FILE",
):
    os.environ.pop(_name, None)
os.environ["AWS_CONFIG_FILE"] = os.devnull
os.environ["AWS_SHARED_CREDENTIALS_FILE"] = os.devnull
os.environ.setdefault("AWS_EC2_METADATA_DISABLED", "true")
# awscrt (installed for the AWS IoT Device SDK tests) would make botocore sign with the CRT signer,
# which ignores the clock the tests move; keep botocore on its own Python signer.
os.environ.setdefault("BOTO_DISABLE_CRT", "true")

POSTGRES_URL = os.environ.get("BASTION_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"
