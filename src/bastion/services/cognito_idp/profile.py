"""Changing a user's attributes (AdminUpdateUserAttributes, UpdateUserAttributes) and verifying them.

A new e-mail address or phone number is unverified until its code is confirmed (unless an administrator
marks it verified in the same call); when the pool auto-verifies that attribute a code is sent right away.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping

from bastion.services.cognito_idp import codes, schema
from bastion.services.cognito_idp.core import Core, Delivery, Pool
from bastion.services.errors import InvalidInputError
from bastion.storage.cognito_idp import PoolUserRecord


async def update_attributes(
    core: Core, pool: Pool, user: PoolUserRecord, changes: Mapping[str, str]
) -> tuple[PoolUserRecord, list[Delivery]]:
    """Apply ``changes`` (already checked against the caller's write permissions); send codes as needed."""
    schema.check_values(pool.settings.schema, changes, creating=False)
    attributes = dict(user.attributes)
    resend: list[str] = []
    for name, value in changes.items():
        flag = schema.VERIFIED_FLAGS.get(name)
        if flag is not None and attributes.get(name) != value:
            if flag not in changes:
                attributes[flag] = "false"
            if name in pool.settings.auto_verified_attributes and changes.get(flag) != "true":
                resend.append(name)
        if value == "" and name not in schema.VERIFIED_FLAGS.values():
            attributes.pop(name, None)  # an empty value clears the attribute
        else:
            attributes[name] = value
    for kind in pool.settings.username_attributes:
        if not attributes.get(kind) and user.attributes.get(kind):
            raise InvalidInputError(f"Cannot remove {kind}: users of this pool sign in with it.")
    updated = await core.save_user(pool, dataclasses.replace(user, attributes=attributes))
    deliveries = []
    for name in resend:
        if updated.attributes.get(name):
            deliveries.append(
                await core.send_code(
                    pool, updated, kind="VERIFY_ATTRIBUTE", purpose=codes.verify_purpose(name), attribute=name
                )
            )
    return updated, deliveries


async def send_verification_code(core: Core, pool: Pool, user: PoolUserRecord, attribute: str) -> Delivery:
    if attribute not in schema.VERIFIED_FLAGS or not user.attributes.get(attribute):
        raise InvalidInputError(f"The user has no {attribute} to verify.")
    return await core.send_code(
        pool, user, kind="VERIFY_ATTRIBUTE", purpose=codes.verify_purpose(attribute), attribute=attribute
    )


async def verify_attribute(core: Core, pool: Pool, user: PoolUserRecord, attribute: str, code: str) -> None:
    flag = schema.VERIFIED_FLAGS.get(attribute)
    if flag is None:
        raise InvalidInputError(f"Attribute {attribute} cannot be verified.")
    await core.codes.consume(pool.id, user.sub, codes.verify_purpose(attribute), code)
    attributes = {**user.attributes, flag: "true"}
    await core.save_user(pool, dataclasses.replace(user, attributes=attributes))
