"""First-start provisioning of the data directory: the admin (account root) credentials.

The admin keys come from ``BASTION_ADMIN_ACCESS_KEY_ID``/``BASTION_ADMIN_SECRET_ACCESS_KEY`` when set,
otherwise from ``<data dir>/admin-credentials``, created on first start with mode 0600 in the AWS shared
credentials file format, so ``AWS_SHARED_CREDENTIALS_FILE`` can point at it directly.
"""

from __future__ import annotations

import configparser
from dataclasses import dataclass, field
from pathlib import Path

from bastion import ids
from bastion.sealing import write_private_file

ADMIN_CREDENTIALS_FILE = "admin-credentials"
PROFILE = "default"


@dataclass(frozen=True, slots=True)
class AdminCredentials:
    access_key_id: str
    secret_access_key: str = field(repr=False)
    # Where the keys live, or None when they came from the environment.
    path: Path | None = None


def load_or_create_admin_credentials(
    data_dir: Path, access_key_id: str | None, secret_access_key: str | None
) -> AdminCredentials:
    if access_key_id and secret_access_key:
        return AdminCredentials(access_key_id, secret_access_key, None)
    path = data_dir / ADMIN_CREDENTIALS_FILE
    if path.exists():
        parser = configparser.ConfigParser()
        parser.read(path)
        section = parser[PROFILE]
        return AdminCredentials(section["aws_access_key_id"], section["aws_secret_access_key"], path)
    creds = AdminCredentials(ids.long_term_access_key_id(), ids.secret_access_key(), path)
    write_private_file(
        path,
        "# Bastion admin (account root) credentials. Keep this file private.\n"
        f"[{PROFILE}]\n"
        f"aws_access_key_id = {creds.access_key_id}\n"
        f"aws_secret_access_key = {creds.secret_access_key}\n",
    )
    return creds
