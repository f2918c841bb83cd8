"""Cognito identity pools over JSON 1.1 (``AWSCognitoIdentityService.<Op>``).

GetId, GetCredentialsForIdentity, GetOpenIdToken and UnlinkIdentity are public, as AWS serves them
(they authorize by the identity id and the presented logins). Every other operation is signed and
authorized as ``cognito-identity:<Op>`` on the identity pool's ARN; the two that name identities rather
than a pool (DescribeIdentity, DeleteIdentities) are authorized inside, once the pool is known.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from bastion.api.fronts.base import CallContext, Front, Operation, Output, Params
from bastion.services.authorizer import Authorizer, request_context
from bastion.services.cognito_identity.pools import PoolSettings
from bastion.services.cognito_identity.service import CognitoIdentityService
from bastion.services.errors import AccessDeniedError
from bastion.storage.cognito_identity import CognitoProvider, Identity, IdentityPool, MappingRule, RoleMapping
from bastion.storage.interfaces import Tag


def _settings(p: Params, *, tags_default: tuple[Tag, ...] | None) -> PoolSettings:
    tags = p.get("IdentityPoolTags")
    return PoolSettings(
        name=p["IdentityPoolName"],
        allow_unauthenticated=p["AllowUnauthenticatedIdentities"],
        allow_classic_flow=bool(p.get("AllowClassicFlow", False)),
        cognito_providers=tuple(
            CognitoProvider(
                c.get("ProviderName", ""), c.get("ClientId", ""), bool(c.get("ServerSideTokenCheck", False))
            )
            for c in p.get("CognitoIdentityProviders", [])
        ),
        supported_login_providers=tuple(p.get("SupportedLoginProviders", {}).items()),
        developer_provider_name=p.get("DeveloperProviderName"),
        open_id_connect_provider_arns=tuple(p.get("OpenIdConnectProviderARNs", [])),
        saml_provider_arns=tuple(p.get("SamlProviderARNs", [])),
        tags=tags_default if tags is None else tuple(Tag(k, v) for k, v in tags.items()),
    )


def pool_out(pool: IdentityPool) -> Output:
    out: Output = {
        "IdentityPoolId": pool.pool_id,
        "IdentityPoolName": pool.name,
        "AllowUnauthenticatedIdentities": pool.allow_unauthenticated,
        "AllowClassicFlow": pool.allow_classic_flow,
        "CognitoIdentityProviders": [
            {
                "ProviderName": c.provider_name,
                "ClientId": c.client_id,
                "ServerSideTokenCheck": c.server_side_token_check,
            }
            for c in pool.cognito_providers
        ],
        "OpenIdConnectProviderARNs": list(pool.open_id_connect_provider_arns),
        "SamlProviderARNs": list(pool.saml_provider_arns),
        "IdentityPoolTags": {t.key: t.value for t in pool.tags},
    }
    if pool.supported_login_providers:
        out["SupportedLoginProviders"] = dict(pool.supported_login_providers)
    if pool.developer_provider_name:
        out["DeveloperProviderName"] = pool.developer_provider_name
    return out


def _mappings_in(raw: Mapping[str, Any]) -> list[RoleMapping]:
    return [
        RoleMapping(
            provider=key,
            type=m["Type"],
            ambiguous_role_resolution=m.get("AmbiguousRoleResolution"),
            rules=tuple(
                MappingRule(r["Claim"], r["MatchType"], r["Value"], r["RoleARN"])
                for r in m.get("RulesConfiguration", {}).get("Rules", [])
            ),
        )
        for key, m in raw.items()
    ]


def _mapping_out(mapping: RoleMapping) -> Output:
    out: Output = {"Type": mapping.type}
    if mapping.ambiguous_role_resolution:
        out["AmbiguousRoleResolution"] = mapping.ambiguous_role_resolution
    if mapping.type == "Rules":
        out["RulesConfiguration"] = {
            "Rules": [
                {"Claim": r.claim, "MatchType": r.match_type, "Value": r.value, "RoleARN": r.role_arn}
                for r in mapping.rules
            ]
        }
    return out


def identity_out(identity: Identity) -> Output:
    out: Output = {
        "IdentityId": identity.identity_id,
        "CreationDate": identity.created,
        "LastModifiedDate": identity.last_modified,
    }
    if identity.logins:
        out["Logins"] = [login.provider for login in identity.logins]
    return out


def build_cognito_identity_front(service: CognitoIdentityService, authorizer: Authorizer) -> Front:
    admin, flows = service.admin, service.flows

    def pool_arn(_ctx: CallContext, p: Params) -> str:
        return admin.pool_arn(p["IdentityPoolId"])

    async def allowed(ctx: CallContext, action: str, resource: str) -> bool:
        principal = ctx.require_principal()
        context = request_context(
            principal, source_ip=ctx.source_ip, secure=ctx.secure_transport, now=ctx.now, region=ctx.region
        )
        return (await authorizer.decide(principal, action, resource, context)).allowed

    async def authorize(ctx: CallContext, action: str, resource: str) -> None:
        if not await allowed(ctx, action, resource):
            raise AccessDeniedError(
                f"User: {ctx.require_principal().arn} is not authorized to perform: {action} "
                f"on resource: {resource}"
            )

    # ---- pools
    async def create_identity_pool(_ctx: CallContext, p: Params) -> Output:
        return pool_out(await admin.create_pool(_settings(p, tags_default=())))

    async def describe_identity_pool(_ctx: CallContext, p: Params) -> Output:
        return pool_out(await admin.pool(p["IdentityPoolId"]))

    async def list_identity_pools(_ctx: CallContext, p: Params) -> Output:
        page = await admin.list_pools(p.get("NextToken"), p["MaxResults"])
        out: Output = {
            "IdentityPools": [{"IdentityPoolId": x.pool_id, "IdentityPoolName": x.name} for x in page.items]
        }
        if page.marker:
            out["NextToken"] = page.marker
        return out

    async def update_identity_pool(_ctx: CallContext, p: Params) -> Output:
        return pool_out(await admin.update_pool(p["IdentityPoolId"], _settings(p, tags_default=None)))

    async def delete_identity_pool(_ctx: CallContext, p: Params) -> Output:
        await admin.delete_pool(p["IdentityPoolId"])
        return {}

    async def set_identity_pool_roles(_ctx: CallContext, p: Params) -> Output:
        await admin.set_roles(p["IdentityPoolId"], p["Roles"], _mappings_in(p.get("RoleMappings", {})))
        return {}

    async def get_identity_pool_roles(_ctx: CallContext, p: Params) -> Output:
        pool = await admin.pool(p["IdentityPoolId"])
        out: Output = {"IdentityPoolId": pool.pool_id, "Roles": dict(pool.roles)}
        if pool.role_mappings:
            out["RoleMappings"] = {m.provider: _mapping_out(m) for m in pool.role_mappings}
        return out

    # ---- identities (signed)
    async def describe_identity(ctx: CallContext, p: Params) -> Output:
        identity = await admin.identity(p["IdentityId"])
        await authorize(ctx, "cognito-identity:DescribeIdentity", admin.pool_arn(identity.pool_id))
        return identity_out(identity)

    async def list_identities(_ctx: CallContext, p: Params) -> Output:
        page = await admin.list_identities(
            p["IdentityPoolId"], p.get("NextToken"), p["MaxResults"], bool(p.get("HideDisabled", False))
        )
        out: Output = {
            "IdentityPoolId": p["IdentityPoolId"],
            "Identities": [identity_out(i) for i in page.items],
        }
        if page.marker:
            out["NextToken"] = page.marker
        return out

    async def delete_identities(ctx: CallContext, p: Params) -> Output:
        requested: list[str] = p["IdentityIdsToDelete"]
        pools = await admin.pools_of(requested)
        denied = []
        for pool_id in sorted(set(pools.values())):
            if not await allowed(ctx, "cognito-identity:DeleteIdentities", admin.pool_arn(pool_id)):
                denied.append(pool_id)
        refused = [i for i, pool_id in pools.items() if pool_id in denied]
        await admin.delete_identities([i for i in pools if i not in refused])
        return {"UnprocessedIdentityIds": [{"IdentityId": i, "ErrorCode": "AccessDenied"} for i in refused]}

    # ---- end-user calls (unsigned)
    async def get_id(_ctx: CallContext, p: Params) -> Output:
        identity_id = await flows.get_id(p["IdentityPoolId"], p.get("Logins", {}), p.get("AccountId"))
        return {"IdentityId": identity_id}

    async def get_credentials_for_identity(_ctx: CallContext, p: Params) -> Output:
        identity_id, session = await flows.get_credentials(
            p["IdentityId"], p.get("Logins", {}), p.get("CustomRoleArn")
        )
        creds = session.credentials
        return {
            "IdentityId": identity_id,
            "Credentials": {
                "AccessKeyId": creds.access_key_id,
                "SecretKey": creds.secret_access_key,
                "SessionToken": creds.session_token,
                "Expiration": creds.expiration,
            },
        }

    async def get_open_id_token(_ctx: CallContext, p: Params) -> Output:
        identity_id, token = await flows.get_open_id_token(p["IdentityId"], p.get("Logins", {}))
        return {"IdentityId": identity_id, "Token": token}

    async def unlink_identity(_ctx: CallContext, p: Params) -> Output:
        await flows.unlink(p["IdentityId"], p["Logins"], p["LoginsToRemove"])
        return {}

    def signed(handler: Any, op: str) -> Operation:
        return Operation(handler, f"cognito-identity:{op}", pool_arn)

    def signed_any(handler: Any, op: str) -> Operation:
        return Operation(handler, f"cognito-identity:{op}")

    def public(handler: Any) -> Operation:
        return Operation(handler, None, public=True)

    return Front(
        "cognito-identity",
        {
            # No resource type in IAM for these two: they are authorized on "*".
            "CreateIdentityPool": signed_any(create_identity_pool, "CreateIdentityPool"),
            "ListIdentityPools": signed_any(list_identity_pools, "ListIdentityPools"),
            "DescribeIdentityPool": signed(describe_identity_pool, "DescribeIdentityPool"),
            "UpdateIdentityPool": signed(update_identity_pool, "UpdateIdentityPool"),
            "DeleteIdentityPool": signed(delete_identity_pool, "DeleteIdentityPool"),
            "SetIdentityPoolRoles": signed(set_identity_pool_roles, "SetIdentityPoolRoles"),
            "GetIdentityPoolRoles": signed(get_identity_pool_roles, "GetIdentityPoolRoles"),
            "ListIdentities": signed(list_identities, "ListIdentities"),
            # Signed, authorized inside on the pool of each identity.
            "DescribeIdentity": Operation(describe_identity, None),
            "DeleteIdentities": Operation(delete_identities, None),
            "GetId": public(get_id),
            "GetCredentialsForIdentity": public(get_credentials_for_identity),
            "GetOpenIdToken": public(get_open_id_token),
            "UnlinkIdentity": public(unlink_identity),
        },
    )
