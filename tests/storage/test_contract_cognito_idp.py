"""Contract: the Cognito user-pool repository (every backend)."""

from __future__ import annotations

import asyncio
import dataclasses
from datetime import datetime

import pytest

from bastion.storage.cognito_idp import (
    CodeRecord,
    KeyUse,
    OutboxMessage,
    PoolUserRecord,
    SessionRecord,
    SigningKeyRecord,
    UserConflict,
    UserPoolClientRecord,
    UserPoolRecord,
)
from bastion.storage.interfaces import AlreadyExists, InvalidMarker, NotFound, Store
from tests.storage.builders import T0, at

POOL = "us-east-1_Pool00001"
OTHER = "us-east-1_Pool00002"


def pool(pool_id: str = POOL, name: str = "pool") -> UserPoolRecord:
    return UserPoolRecord(pool_id, name, T0, T0, '{"k":1}')


def client(client_id: str, pool_id: str = POOL, secret: bytes | None = None) -> UserPoolClientRecord:
    return UserPoolClientRecord(client_id, pool_id, f"name-{client_id}", T0, T0, "{}", secret)


def puser(username: str, *, pool_id: str = POOL, sub: str | None = None, **extra: object) -> PoolUserRecord:
    fields: dict[str, object] = {
        "pool_id": pool_id,
        "sub": sub or f"sub-{pool_id}-{username}",
        "username": username,
        "username_key": username.lower(),
        "status": "UNCONFIRMED",
        "enabled": True,
        "created": T0,
        "updated": T0,
        "attributes": {"email": f"{username}@example.com"},
        "verifier": "ab:cd",
        "password_set": T0,
    }
    fields.update(extra)
    return PoolUserRecord(**fields)  # type: ignore[arg-type]


async def _pool_with_users(store: Store, *names: str) -> list[PoolUserRecord]:
    await store.cognito_idp.create_pool(pool())
    users = [puser(n) for n in names]
    for u in users:
        await store.cognito_idp.create_user(u)
    return users


async def test_pools_round_trip_page_update_and_delete(store: Store) -> None:
    repo = store.cognito_idp
    for n in range(5):
        await repo.create_pool(pool(f"us-east-1_Pool{n:05d}", f"p{n}"))
    with pytest.raises(AlreadyExists):
        await repo.create_pool(pool("us-east-1_Pool00001"))
    got = await repo.get_pool("us-east-1_Pool00001")
    assert got is not None and got.created.tzinfo is not None
    assert got == pool("us-east-1_Pool00001", "p1")
    first = await repo.list_pools(None, 3)
    assert [p.pool_id for p in first.items] == [f"us-east-1_Pool{n:05d}" for n in range(3)]
    assert first.marker is not None
    rest = await repo.list_pools(first.marker, 3)
    assert [p.pool_id for p in rest.items] == ["us-east-1_Pool00003", "us-east-1_Pool00004"]
    assert rest.marker is None
    with pytest.raises(InvalidMarker):
        await repo.list_pools("bm90IGEgbWFya2Vy", 3)
    await repo.update_pool("us-east-1_Pool00001", "renamed", '{"k":2}', at(60))
    updated = await repo.get_pool("us-east-1_Pool00001")
    assert updated is not None and (updated.name, updated.settings, updated.updated) == (
        "renamed",
        '{"k":2}',
        at(60),
    )
    await repo.delete_pool("us-east-1_Pool00001")
    assert await repo.get_pool("us-east-1_Pool00001") is None
    with pytest.raises(NotFound):
        await repo.delete_pool("us-east-1_Pool00001")
    with pytest.raises(NotFound):
        await repo.update_pool("us-east-1_Pool00001", "x", "{}", T0)


async def test_naive_datetimes_are_refused(store: Store) -> None:
    with pytest.raises(ValueError, match="time zone"):
        await store.cognito_idp.create_pool(dataclasses.replace(pool(), created=datetime(2024, 1, 1)))


async def test_clients_belong_to_a_pool(store: Store) -> None:
    repo = store.cognito_idp
    with pytest.raises(NotFound):
        await repo.create_client(client("c1"))
    await repo.create_pool(pool())
    await repo.create_pool(pool(OTHER))
    await repo.create_client(client("c2", secret=b"\x01sealed"))
    await repo.create_client(client("c1"))
    await repo.create_client(client("c3", OTHER))
    with pytest.raises(AlreadyExists):
        await repo.create_client(client("c1"))
    assert await repo.get_client("c2") == client("c2", secret=b"\x01sealed")
    page = await repo.list_clients(POOL, None, 1)
    assert [c.client_id for c in page.items] == ["c1"]
    assert page.marker is not None
    page = await repo.list_clients(POOL, page.marker, 1)
    assert [c.client_id for c in page.items] == ["c2"] and page.marker is None
    with pytest.raises(InvalidMarker):  # a marker of one pool's listing does not page another's
        await repo.list_clients(OTHER, (await repo.list_clients(POOL, None, 1)).marker, 1)
    with pytest.raises(NotFound):
        await repo.list_clients("us-east-1_Missing01", None, 5)
    await repo.update_client("c1", "new", '{"a":1}', at(5))
    changed = await repo.get_client("c1")
    assert changed is not None and (changed.name, changed.settings, changed.updated) == (
        "new",
        '{"a":1}',
        at(5),
    )
    await repo.delete_client("c1")
    assert await repo.get_client("c1") is None
    with pytest.raises(NotFound):
        await repo.delete_client("c1")
    await repo.delete_pool(POOL)
    assert await repo.get_client("c2") is None
    assert await repo.get_client("c3") is not None


async def test_users_are_found_by_sub_username_and_alias(store: Store) -> None:
    repo = store.cognito_idp
    (alice,) = await _pool_with_users(store, "Alice")
    alice = dataclasses.replace(alice, email_alias="alice@example.com")
    await repo.update_user(alice)
    got = await repo.get_user(POOL, alice.sub)
    assert got == alice
    assert await repo.find_user(POOL, "alice") == alice
    assert await repo.find_user(POOL, "Alice") is None  # keys are compared exactly
    assert await repo.find_user_by_alias(POOL, "email", "alice@example.com") == alice
    assert await repo.find_user_by_alias(POOL, "phone_number", "alice@example.com") is None
    assert await repo.get_user(OTHER, alice.sub) is None
    assert await repo.count_users(POOL) == 1


async def test_usernames_and_aliases_are_unique_per_pool(store: Store) -> None:
    repo = store.cognito_idp
    await _pool_with_users(store, "bob")
    await repo.create_pool(pool(OTHER))
    with pytest.raises(UserConflict) as exc:
        await repo.create_user(puser("BOB", sub="another-sub"))
    assert exc.value.field == "username"
    with pytest.raises(UserConflict) as exc:
        await repo.create_user(puser("bob2", sub=f"sub-{POOL}-bob"))
    assert exc.value.field == "sub"
    await repo.create_user(puser("bob", pool_id=OTHER))  # another pool may reuse the name
    carol = puser("carol", email_alias="shared@example.com")
    await repo.create_user(carol)
    with pytest.raises(UserConflict) as exc:
        await repo.create_user(puser("dave", email_alias="shared@example.com"))
    assert exc.value.field == "email_alias"
    dave = puser("dave", phone_alias="+15550100")
    await repo.create_user(dave)
    with pytest.raises(UserConflict) as exc:
        await repo.update_user(dataclasses.replace(dave, email_alias="shared@example.com"))
    assert exc.value.field == "email_alias"
    # NULL aliases never clash, and a user may keep its own alias when updated.
    await repo.create_user(puser("erin"))
    await repo.update_user(dataclasses.replace(carol, status="CONFIRMED"))
    await repo.create_user(puser("dave", pool_id=OTHER, phone_alias="+15550100"))


async def test_update_user_replaces_mutable_fields_only(store: Store) -> None:
    repo = store.cognito_idp
    (frank,) = await _pool_with_users(store, "frank")
    assert await repo.record_failed_sign_in(POOL, frank.sub, at(1)) == 1
    changed = dataclasses.replace(
        frank,
        username="ignored",
        status="CONFIRMED",
        enabled=False,
        attributes={"email": "f@example.com", "custom:tier": "gold"},
        verifier=None,
        password_set=None,
        preferred_alias="frankie",
        updated=at(9),
    )
    await repo.update_user(changed)
    got = await repo.get_user(POOL, frank.sub)
    assert got is not None
    assert got.username == "frank"
    assert (got.status, got.enabled, got.verifier, got.password_set, got.preferred_alias) == (
        "CONFIRMED",
        False,
        None,
        None,
        "frankie",
    )
    assert got.attributes == {"email": "f@example.com", "custom:tier": "gold"}
    assert got.updated == at(9)
    assert (got.failed_attempts, got.last_failure) == (1, at(1))  # not touched by update_user
    with pytest.raises(NotFound):
        await repo.update_user(dataclasses.replace(frank, sub="missing"))


async def test_failed_sign_ins_count_atomically(store: Store) -> None:
    repo = store.cognito_idp
    (gina,) = await _pool_with_users(store, "gina")
    counts = await asyncio.gather(*(repo.record_failed_sign_in(POOL, gina.sub, at(i)) for i in range(6)))
    assert sorted(counts) == [1, 2, 3, 4, 5, 6]
    got = await repo.get_user(POOL, gina.sub)
    assert got is not None and got.failed_attempts == 6 and got.last_failure is not None
    await repo.clear_failed_sign_ins(POOL, gina.sub)
    got = await repo.get_user(POOL, gina.sub)
    assert got is not None and (got.failed_attempts, got.last_failure) == (0, None)
    assert await repo.record_failed_sign_in(POOL, "missing", T0) == 0


async def test_users_page_by_username_key(store: Store) -> None:
    repo = store.cognito_idp
    await _pool_with_users(store, "delta", "Alpha", "charlie", "Bravo", "echo")
    seen: list[str] = []
    marker: str | None = None
    while True:
        page = await repo.list_users(POOL, marker, 2)
        seen += [u.username for u in page.items]
        if page.marker is None:
            break
        marker = page.marker
    assert seen == ["Alpha", "Bravo", "charlie", "delta", "echo"]
    with pytest.raises(NotFound):
        await repo.list_users(OTHER, None, 2)


async def test_codes_replace_count_and_vanish_with_the_user(store: Store) -> None:
    repo = store.cognito_idp
    (hank,) = await _pool_with_users(store, "hank")
    code = CodeRecord(POOL, hank.sub, "signup", b"h1", T0, at(3600))
    with pytest.raises(NotFound):
        await repo.put_code(dataclasses.replace(code, sub="missing"))
    await repo.put_code(code)
    assert await repo.get_code(POOL, hank.sub, "signup") == code
    assert await repo.count_code_failure(POOL, hank.sub, "signup") == 1
    assert await repo.count_code_failure(POOL, hank.sub, "signup") == 2
    assert await repo.count_code_failure(POOL, hank.sub, "forgot") == 0
    await repo.put_code(dataclasses.replace(code, code_hash=b"h2", created=at(5)))
    replaced = await repo.get_code(POOL, hank.sub, "signup")
    assert replaced is not None and (replaced.code_hash, replaced.attempts) == (b"h2", 0)
    await repo.put_code(dataclasses.replace(code, purpose="forgot"))
    await repo.delete_code(POOL, hank.sub, "forgot")
    await repo.delete_code(POOL, hank.sub, "forgot")  # idempotent
    assert await repo.get_code(POOL, hank.sub, "forgot") is None
    await repo.delete_user(POOL, hank.sub)
    assert await repo.get_code(POOL, hank.sub, "signup") is None
    with pytest.raises(NotFound):
        await repo.delete_user(POOL, hank.sub)


async def test_sessions_revoke_one_or_all_and_expire(store: Store) -> None:
    repo = store.cognito_idp
    ivy, jim = await _pool_with_users(store, "ivy", "jim")

    def session(sid: str, sub: str, expires: datetime) -> SessionRecord:
        return SessionRecord(sid, POOL, sub, "client", T0, T0, expires)

    await repo.create_session(session("s1", ivy.sub, at(100)))
    await repo.create_session(session("s2", ivy.sub, at(100)))
    await repo.create_session(session("s3", jim.sub, at(10)))
    with pytest.raises(AlreadyExists):
        await repo.create_session(session("s1", ivy.sub, at(100)))
    with pytest.raises(NotFound):
        await repo.create_session(session("s4", "missing", at(100)))
    assert await repo.get_session("s1") == session("s1", ivy.sub, at(100))
    assert await repo.revoke_session("s1", at(1)) is True
    assert await repo.revoke_session("s1", at(2)) is True  # already revoked: keeps the first time
    got = await repo.get_session("s1")
    assert got is not None and got.revoked == at(1)
    assert await repo.revoke_session("nope", at(1)) is False
    assert await repo.revoke_user_sessions(POOL, ivy.sub, at(3)) == 1
    s2 = await repo.get_session("s2")
    assert s2 is not None and s2.revoked == at(3)
    assert await repo.delete_expired_sessions(at(50)) == 1
    assert await repo.get_session("s3") is None
    await repo.delete_user(POOL, ivy.sub)
    assert await repo.get_session("s2") is None


async def test_signing_keys_rotate_per_use(store: Store) -> None:
    repo = store.cognito_idp
    await repo.create_pool(pool())

    def key(kid: str, use: KeyUse, seconds: int) -> SigningKeyRecord:
        return SigningKeyRecord(kid, POOL, use, at(seconds), b"sealed-" + kid.encode(), f'{{"kid":"{kid}"}}')

    await repo.add_signing_key(key("id-1", "id", 0))
    await repo.add_signing_key(key("acc-1", "access", 1))
    await repo.add_signing_key(key("id-2", "id", 2))
    with pytest.raises(AlreadyExists):
        await repo.add_signing_key(key("id-2", "id", 3))
    with pytest.raises(NotFound):
        await repo.add_signing_key(dataclasses.replace(key("x", "id", 3), pool_id=OTHER))
    keys = await repo.list_signing_keys(POOL)
    assert [(k.kid, k.retired) for k in keys] == [("id-1", at(2)), ("acc-1", None), ("id-2", None)]
    assert keys[2].sealed_private_key == b"sealed-id-2" and keys[2].public_jwk == '{"kid":"id-2"}'
    await repo.delete_pool(POOL)
    assert await repo.list_signing_keys(POOL) == []


async def test_outbox_lists_newest_first_and_purges(store: Store) -> None:
    repo = store.cognito_idp
    await repo.create_pool(pool())
    await repo.create_pool(pool(OTHER))

    def message(pool_id: str, username: str, expires: datetime) -> OutboxMessage:
        return OutboxMessage(pool_id, username, "SIGN_UP", "EMAIL", "a@example.com", b"sealed", T0, expires)

    first = await repo.add_outbox_message(message(POOL, "u1", at(10)))
    second = await repo.add_outbox_message(message(OTHER, "u2", at(1000)))
    third = await repo.add_outbox_message(message(POOL, "u3", at(1000)))
    assert first < second < third
    listed = await repo.list_outbox(None, 10)
    assert [m.username for m in listed] == ["u3", "u2", "u1"]
    assert listed[0] == dataclasses.replace(message(POOL, "u3", at(1000)), seq=third)
    assert [m.username for m in await repo.list_outbox(POOL, 1)] == ["u3"]
    assert await repo.purge_outbox(at(100)) == 1
    assert [m.username for m in await repo.list_outbox(POOL, 10)] == ["u3"]
    await repo.delete_pool(OTHER)
    assert [m.username for m in await repo.list_outbox(None, 10)] == ["u3"]
    with pytest.raises(NotFound):
        await repo.add_outbox_message(message(OTHER, "u4", at(1000)))


async def test_deleting_a_pool_removes_its_users(store: Store) -> None:
    repo = store.cognito_idp
    (kate,) = await _pool_with_users(store, "kate")
    await repo.put_code(CodeRecord(POOL, kate.sub, "signup", b"h", T0, at(60)))
    await repo.create_session(SessionRecord("sk", POOL, kate.sub, "c", T0, T0, at(60)))
    await repo.delete_pool(POOL)
    assert await repo.get_user(POOL, kate.sub) is None
    assert await repo.get_session("sk") is None
    assert await repo.get_code(POOL, kate.sub, "signup") is None
    # The same sub may be used again once its user is gone.
    await repo.create_pool(pool())
    await repo.create_user(kate)
    assert await repo.get_user(POOL, kate.sub) == kate
