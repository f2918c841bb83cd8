"""The authorizer's caches and the generation: no change is lost to a race, and a storm reads once."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
from collections.abc import AsyncIterator, Sequence
from datetime import UTC, datetime

from bastion.clock import SystemClock
from bastion.sealing import Sealer
from bastion.services.authorizer import Authorizer
from bastion.services.connection_authz import ConnectionFacts
from bastion.services.iam.service import IamService
from bastion.services.identity import Principal, PrincipalKind
from bastion.storage.interfaces import OwnerKind
from bastion.storage.memory import MemoryStore

ACCOUNT = "123456789012"
REGION = "us-east-1"
TOPIC = f"arn:aws:iot:{REGION}:{ACCOUNT}:topic/dev1/temp"
FACTS = ConnectionFacts(client_id="dev1", source_ip="127.0.0.1", secure_transport=False)
POLICY = json.dumps(
    {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "iot:Publish", "Resource": TOPIC}]}
)


class CountingIam(IamService):
    """IamService that counts policy reads and can hold them until released."""

    reads = 0
    gate: asyncio.Event | None = None
    read = asyncio.Event()  # replaced per instance in _setup

    async def effective_documents(self, kind: OwnerKind, owner: str) -> Sequence[tuple[str, str]]:
        self.reads += 1
        documents = await super().effective_documents(kind, owner)
        self.read.set()
        if self.gate is not None:
            await self.gate.wait()
        return documents


async def _setup() -> tuple[CountingIam, Authorizer, Principal]:
    store = MemoryStore()
    iam = CountingIam(store, account_id=ACCOUNT, sealer=Sealer(os.urandom(32)), clock=SystemClock())
    iam.read = asyncio.Event()
    authorizer = Authorizer(iam, store.meta, region=REGION, account_id=ACCOUNT)
    user = await iam.create_user("device")
    await iam.put_inline_policy("user", "device", "pub", POLICY)
    await authorizer.sync_generation()
    principal = Principal(
        kind=PrincipalKind.IAM_USER,
        account_id=ACCOUNT,
        arn=user.arn,
        user_id=user.user_id,
        user_name="device",
    )
    return iam, authorizer, principal


@contextlib.asynccontextmanager
async def _watching(authorizer: Authorizer) -> AsyncIterator[None]:
    watch = asyncio.create_task(authorizer.watch_generation(interval=0.01))
    try:
        yield
    finally:
        watch.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await watch


async def _until(check: object, seconds: float = 1.0) -> bool:
    assert callable(check)
    for _ in range(int(seconds / 0.01)):
        if check():
            return True
        await asyncio.sleep(0.01)
    return bool(check())


async def test_a_change_an_api_write_noticed_first_still_reaches_open_views() -> None:
    iam, authorizer, principal = await _setup()
    view = await authorizer.for_connection(principal, FACTS, now=datetime.now(UTC))
    assert view.allows("iot:Publish", TOPIC)
    async with _watching(authorizer):
        await asyncio.sleep(0.05)
        await iam.delete_inline_policy("user", "device", "pub")
        # The API refreshes the generation after the write it served, before the watch polls.
        assert await authorizer.sync_generation()
        decision = await authorizer.decide(principal, "iot:Publish", TOPIC, {})
        assert not decision.allowed
        assert await _until(lambda: not view.allows("iot:Publish", TOPIC))
    view.close()


async def test_a_view_whose_read_raced_a_change_gets_the_change() -> None:
    iam, authorizer, principal = await _setup()
    iam.gate = asyncio.Event()
    connecting = asyncio.ensure_future(authorizer.for_connection(principal, FACTS, now=datetime.now(UTC)))
    iam.read.clear()
    await iam.read.wait()
    # The policy is read (still allowing); then it is deleted and the watch reloads the live views,
    # before the connecting view is one of them.
    await iam.delete_inline_policy("user", "device", "pub")
    assert await authorizer.sync_generation()
    await authorizer.reload_views()
    iam.gate.set()
    view = await connecting
    assert not view.allows("iot:Publish", TOPIC)
    view.close()


async def test_a_connection_storm_reads_the_policies_once() -> None:
    iam, authorizer, principal = await _setup()
    iam.gate = asyncio.Event()
    storm = [
        asyncio.ensure_future(authorizer.for_connection(principal, FACTS, now=datetime.now(UTC)))
        for _ in range(100)
    ]
    iam.read.clear()
    await iam.read.wait()
    iam.gate.set()
    views = await asyncio.gather(*storm)
    assert iam.reads == 1
    assert all(view.allows("iot:Publish", TOPIC) for view in views)
    # One change: one read again, for every connection.
    iam.gate = None
    await iam.put_inline_policy("user", "device", "pub", POLICY.replace("Allow", "Deny"))
    async with _watching(authorizer):
        assert await _until(lambda: not any(view.allows("iot:Publish", TOPIC) for view in views))
    assert iam.reads == 2
    for view in views:
        view.close()
