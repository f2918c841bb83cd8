"""Connection views: variables bound once, cached decisions, reloads when the generation moves."""

from __future__ import annotations

import asyncio
import json
import os
from datetime import UTC, datetime

from bastion.clock import SystemClock
from bastion.sealing import Sealer
from bastion.services.authorizer import Authorizer
from bastion.services.connection_authz import ConnectionFacts
from bastion.services.iam.service import IamService
from bastion.services.identity import Principal, PrincipalKind, root_principal
from bastion.storage.memory import MemoryStore

ACCOUNT = "123456789012"
REGION = "us-east-1"


def _policy() -> str:
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Action": "iot:Publish",
                    "Resource": f"arn:aws:iot:{REGION}:{ACCOUNT}:topic/${{iot:ClientId}}/*",
                }
            ],
        }
    )


async def _setup() -> tuple[IamService, Authorizer, Principal]:
    store = MemoryStore()
    iam = IamService(store, account_id=ACCOUNT, sealer=Sealer(os.urandom(32)), clock=SystemClock())
    authorizer = Authorizer(iam, store.meta, region=REGION, account_id=ACCOUNT)
    user = await iam.create_user("device")
    await iam.put_inline_policy("user", "device", "pub", _policy())
    principal = Principal(
        kind=PrincipalKind.IAM_USER,
        account_id=ACCOUNT,
        arn=user.arn,
        user_id=user.user_id,
        user_name="device",
    )
    return iam, authorizer, principal


async def test_variables_are_bound_per_connection() -> None:
    _, authorizer, principal = await _setup()
    facts = ConnectionFacts(client_id="dev1", source_ip="127.0.0.1", secure_transport=False)
    view = await authorizer.for_connection(principal, facts, now=datetime.now(UTC))
    assert view.allows("iot:Publish", authorizer.topic_arn("dev1/temp"))
    assert not view.allows("iot:Publish", authorizer.topic_arn("dev2/temp"))
    assert not view.allows("iot:Subscribe", authorizer.topic_filter_arn("dev1/temp"))
    # A literal "${iot:ClientId}" in a topic is not a wildcard.
    assert not view.allows("iot:Publish", authorizer.topic_arn("${iot:ClientId}/x"))


async def test_policy_change_reaches_open_views_through_the_watch() -> None:
    iam, authorizer, principal = await _setup()
    reloads: list[int] = []

    async def on_reload() -> None:
        reloads.append(1)

    facts = ConnectionFacts(client_id="dev1", source_ip="127.0.0.1", secure_transport=False)
    view = await authorizer.for_connection(principal, facts, on_reload, now=datetime.now(UTC))
    assert view.allows("iot:Publish", authorizer.topic_arn("dev1/temp"))
    watch = asyncio.create_task(authorizer.watch_generation(interval=0.01))
    try:
        await asyncio.sleep(0.05)
        await iam.delete_inline_policy("user", "device", "pub")
        for _ in range(100):
            if not view.allows("iot:Publish", authorizer.topic_arn("dev1/temp")):
                break
            await asyncio.sleep(0.01)
        assert not view.allows("iot:Publish", authorizer.topic_arn("dev1/temp"))
        assert reloads
    finally:
        watch.cancel()
    view.close()


async def test_root_view_allows_everything() -> None:
    _, authorizer, _ = await _setup()
    facts = ConnectionFacts(client_id="admin", source_ip="127.0.0.1", secure_transport=True)
    view = await authorizer.for_connection(root_principal(ACCOUNT, "AKIA"), facts, now=datetime.now(UTC))
    assert view.allows("iot:Connect", authorizer.client_arn("admin"))
