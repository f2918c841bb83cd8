"""Records for the storage tests, with deterministic ids and times."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bastion.storage.interfaces import AccessKey, ManagedPolicy, PolicyVersion, Role, Tag, User

ACCOUNT = "123456789012"
T0 = datetime(2024, 1, 2, 3, 4, 5, 678901, tzinfo=UTC)


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def role(
    name: str, *, path: str = "/", tags: tuple[Tag, ...] = (), created: datetime = T0, **extra: object
) -> Role:
    return Role(
        role_id=f"AROA{name.upper()}",
        name=name,
        path=path,
        arn=f"arn:aws:iam::{ACCOUNT}:role{path}{name}",
        trust_policy='{"Version":"2012-10-17","Statement":[]}',
        created=created,
        tags=tags,
        **extra,  # type: ignore[arg-type]
    )


def user(name: str, *, path: str = "/", tags: tuple[Tag, ...] = (), created: datetime = T0) -> User:
    return User(
        user_id=f"AIDA{name.upper()}",
        name=name,
        path=path,
        arn=f"arn:aws:iam::{ACCOUNT}:user{path}{name}",
        created=created,
        tags=tags,
    )


def policy_arn(name: str, *, path: str = "/", account: str = ACCOUNT) -> str:
    return f"arn:aws:iam::{account}:policy{path}{name}"


def policy(
    name: str, *, path: str = "/", account: str = ACCOUNT, created: datetime = T0, tags: tuple[Tag, ...] = ()
) -> tuple[ManagedPolicy, PolicyVersion]:
    arn = policy_arn(name, path=path, account=account)
    record = ManagedPolicy(
        policy_id=f"ANPA{account}{name.upper()}",
        name=name,
        path=path,
        arn=arn,
        default_version_id="v1",
        created=created,
        updated=created,
        description=f"about {name}",
        tags=tags,
    )
    return record, version(arn, "v1", created=created)


def version(arn: str, version_id: str, *, created: datetime = T0) -> PolicyVersion:
    document = f'{{"Version":"2012-10-17","Statement":[],"Id":"{version_id}"}}'
    return PolicyVersion(
        policy_arn=arn, version_id=version_id, document=document, created=created, is_default=False
    )


def access_key(key_id: str, user_name: str, *, created: datetime = T0) -> AccessKey:
    # Not valid UTF-8 on purpose: sealed secrets are arbitrary bytes.
    return AccessKey(key_id, user_name, b"\x00\xffsealed-" + key_id.encode(), "Active", created)
