"""IAM over the query protocol: wire params to IamService calls and back."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from bastion.api.fronts.base import CallContext, Front, Operation, Output, Params
from bastion.services.errors import InvalidInputError
from bastion.services.iam.aws_managed import is_aws_managed
from bastion.services.iam.service import IamService
from bastion.storage import interfaces as st

_DEFAULT_MAX_ITEMS = 100


def _tags_in(params: Params) -> list[st.Tag]:
    return [st.Tag(t["Key"], t["Value"]) for t in params.get("Tags", [])]


def _tags_out(tags: Sequence[st.Tag]) -> list[dict[str, str]]:
    return [{"Key": t.key, "Value": t.value} for t in tags]


def role_out(role: st.Role) -> Output:
    out: Output = {
        "Path": role.path,
        "RoleName": role.name,
        "RoleId": role.role_id,
        "Arn": role.arn,
        "CreateDate": role.created,
        "AssumeRolePolicyDocument": role.trust_policy,
        "MaxSessionDuration": role.max_session_duration,
    }
    if role.description is not None:
        out["Description"] = role.description
    if role.tags:
        out["Tags"] = _tags_out(role.tags)
    return out


def user_out(user: st.User) -> Output:
    out: Output = {
        "Path": user.path,
        "UserName": user.name,
        "UserId": user.user_id,
        "Arn": user.arn,
        "CreateDate": user.created,
    }
    if user.tags:
        out["Tags"] = _tags_out(user.tags)
    return out


def policy_out(policy: st.ManagedPolicy) -> Output:
    out: Output = {
        "PolicyName": policy.name,
        "PolicyId": policy.policy_id,
        "Arn": policy.arn,
        "Path": policy.path,
        "DefaultVersionId": policy.default_version_id,
        "AttachmentCount": policy.attachment_count,
        "PermissionsBoundaryUsageCount": 0,
        "IsAttachable": True,
        "CreateDate": policy.created,
        "UpdateDate": policy.updated,
    }
    if policy.description is not None:
        out["Description"] = policy.description
    if policy.tags:
        out["Tags"] = _tags_out(policy.tags)
    return out


def version_out(version: st.PolicyVersion, with_document: bool = True) -> Output:
    out: Output = {
        "VersionId": version.version_id,
        "IsDefaultVersion": version.is_default,
        "CreateDate": version.created,
    }
    if with_document:
        out["Document"] = version.document
    return out


def _page(items_key: str, items: list[Any], marker: str | None) -> Output:
    out: Output = {items_key: items, "IsTruncated": marker is not None}
    if marker is not None:
        out["Marker"] = marker
    return out


def build_iam_front(iam: IamService, account_id: str) -> Front:
    def role_arn(_ctx: CallContext, p: Params) -> str:
        return f"arn:aws:iam::{account_id}:role/{p['RoleName']}"

    def user_arn(_ctx: CallContext, p: Params) -> str:
        return f"arn:aws:iam::{account_id}:user/{p['UserName']}"

    def key_owner_arn(ctx: CallContext, p: Params) -> str:
        # Without UserName, access-key operations act on the calling user (AWS rule).
        name = p.get("UserName") or _caller_user_name(ctx)
        return f"arn:aws:iam::{account_id}:user/{name}"

    def policy_arn(_ctx: CallContext, p: Params) -> str:
        return str(p["PolicyArn"])

    def new_policy_arn(_ctx: CallContext, p: Params) -> str:
        return f"arn:aws:iam::{account_id}:policy{p.get('Path', '/')}{p['PolicyName']}"

    def max_items(p: Params) -> int:
        return int(p.get("MaxItems", _DEFAULT_MAX_ITEMS))

    # ---- roles
    async def create_role(_ctx: CallContext, p: Params) -> Output:
        role = await iam.create_role(
            p["RoleName"],
            p["AssumeRolePolicyDocument"],
            path=p.get("Path", "/"),
            description=p.get("Description"),
            max_session_duration=p.get("MaxSessionDuration", 3600),
            tags=_tags_in(p),
        )
        return {"Role": role_out(role)}

    async def get_role(_ctx: CallContext, p: Params) -> Output:
        return {"Role": role_out(await iam.get_role(p["RoleName"]))}

    async def list_roles(_ctx: CallContext, p: Params) -> Output:
        page = await iam.list_roles(p.get("PathPrefix", "/"), p.get("Marker"), max_items(p))
        return _page("Roles", [role_out(r) for r in page.items], page.marker)

    async def delete_role(_ctx: CallContext, p: Params) -> Output:
        await iam.delete_role(p["RoleName"])
        return {}

    async def update_assume_role_policy(_ctx: CallContext, p: Params) -> Output:
        await iam.update_trust_policy(p["RoleName"], p["PolicyDocument"])
        return {}

    async def update_role(_ctx: CallContext, p: Params) -> Output:
        await iam.update_role(p["RoleName"], p.get("Description"), p.get("MaxSessionDuration"))
        return {}

    # ---- inline policies (roles and users share the shape)
    def inline_ops(kind: st.OwnerKind, noun: str, owner_key: str, arn_of: Any) -> dict[str, Operation]:
        async def put(_ctx: CallContext, p: Params) -> Output:
            await iam.put_inline_policy(kind, p[owner_key], p["PolicyName"], p["PolicyDocument"])
            return {}

        async def get(_ctx: CallContext, p: Params) -> Output:
            policy = await iam.get_inline_policy(kind, p[owner_key], p["PolicyName"])
            return {
                owner_key: policy.owner_name,
                "PolicyName": policy.policy_name,
                "PolicyDocument": policy.document,
            }

        async def list_(_ctx: CallContext, p: Params) -> Output:
            names = await iam.list_inline_policies(kind, p[owner_key])
            return _page("PolicyNames", names, None)

        async def delete(_ctx: CallContext, p: Params) -> Output:
            await iam.delete_inline_policy(kind, p[owner_key], p["PolicyName"])
            return {}

        async def attach(_ctx: CallContext, p: Params) -> Output:
            await iam.attach_policy(kind, p[owner_key], p["PolicyArn"])
            return {}

        async def detach(_ctx: CallContext, p: Params) -> Output:
            await iam.detach_policy(kind, p[owner_key], p["PolicyArn"])
            return {}

        async def list_attached(_ctx: CallContext, p: Params) -> Output:
            policies = await iam.list_attached_policies(kind, p[owner_key])
            items = [{"PolicyName": x.name, "PolicyArn": x.arn} for x in policies]
            return _page("AttachedPolicies", items, None)

        return {
            f"Put{noun}Policy": Operation(put, f"iam:Put{noun}Policy", arn_of),
            f"Get{noun}Policy": Operation(get, f"iam:Get{noun}Policy", arn_of),
            f"List{noun}Policies": Operation(list_, f"iam:List{noun}Policies", arn_of),
            f"Delete{noun}Policy": Operation(delete, f"iam:Delete{noun}Policy", arn_of),
            f"Attach{noun}Policy": Operation(attach, f"iam:Attach{noun}Policy", arn_of),
            f"Detach{noun}Policy": Operation(detach, f"iam:Detach{noun}Policy", arn_of),
            f"ListAttached{noun}Policies": Operation(
                list_attached, f"iam:ListAttached{noun}Policies", arn_of
            ),
        }

    # ---- managed policies
    async def create_policy(_ctx: CallContext, p: Params) -> Output:
        policy = await iam.create_managed_policy(
            p["PolicyName"],
            p["PolicyDocument"],
            path=p.get("Path", "/"),
            description=p.get("Description"),
            tags=_tags_in(p),
        )
        return {"Policy": policy_out(policy)}

    async def get_policy(_ctx: CallContext, p: Params) -> Output:
        return {"Policy": policy_out(await iam.get_managed_policy(p["PolicyArn"]))}

    async def list_policies(_ctx: CallContext, p: Params) -> Output:
        page = await iam.list_managed_policies(p.get("PathPrefix", "/"), p.get("Marker"), max_items(p))
        # Filters apply within the page, so a page may come back shorter than MaxItems (still truncated
        # correctly: the marker continues after the last policy looked at).
        items = list(page.items)
        scope = p.get("Scope", "All")
        if scope != "All":
            items = [x for x in items if is_aws_managed(x.arn) == (scope == "AWS")]
        if p.get("OnlyAttached"):
            items = [x for x in items if x.attachment_count]
        return _page("Policies", [policy_out(x) for x in items], page.marker)

    async def delete_policy(_ctx: CallContext, p: Params) -> Output:
        await iam.delete_managed_policy(p["PolicyArn"])
        return {}

    async def create_policy_version(_ctx: CallContext, p: Params) -> Output:
        version = await iam.create_policy_version(
            p["PolicyArn"], p["PolicyDocument"], bool(p.get("SetAsDefault", False))
        )
        return {"PolicyVersion": version_out(version, with_document=False)}

    async def get_policy_version(_ctx: CallContext, p: Params) -> Output:
        version = await iam.get_policy_version(p["PolicyArn"], p["VersionId"])
        return {"PolicyVersion": version_out(version)}

    async def list_policy_versions(_ctx: CallContext, p: Params) -> Output:
        versions = await iam.list_policy_versions(p["PolicyArn"])
        return _page("Versions", [version_out(v, with_document=False) for v in versions], None)

    async def delete_policy_version(_ctx: CallContext, p: Params) -> Output:
        await iam.delete_policy_version(p["PolicyArn"], p["VersionId"])
        return {}

    async def set_default_policy_version(_ctx: CallContext, p: Params) -> Output:
        await iam.set_default_policy_version(p["PolicyArn"], p["VersionId"])
        return {}

    # ---- users and keys
    async def create_user(_ctx: CallContext, p: Params) -> Output:
        user = await iam.create_user(p["UserName"], path=p.get("Path", "/"), tags=_tags_in(p))
        return {"User": user_out(user)}

    async def get_user(ctx: CallContext, p: Params) -> Output:
        return {"User": user_out(await iam.get_user(p.get("UserName") or _caller_user_name(ctx)))}

    async def list_users(_ctx: CallContext, p: Params) -> Output:
        page = await iam.list_users(p.get("PathPrefix", "/"), p.get("Marker"), max_items(p))
        return _page("Users", [user_out(u) for u in page.items], page.marker)

    async def delete_user(_ctx: CallContext, p: Params) -> Output:
        await iam.delete_user(p["UserName"])
        return {}

    async def create_access_key(ctx: CallContext, p: Params) -> Output:
        new = await iam.create_access_key(p.get("UserName") or _caller_user_name(ctx))
        return {
            "AccessKey": {
                "UserName": new.key.user_name,
                "AccessKeyId": new.key.access_key_id,
                "Status": new.key.status,
                "SecretAccessKey": new.secret_access_key,
                "CreateDate": new.key.created,
            }
        }

    async def list_access_keys(ctx: CallContext, p: Params) -> Output:
        keys = await iam.list_access_keys(p.get("UserName") or _caller_user_name(ctx))
        items = [
            {
                "UserName": k.user_name,
                "AccessKeyId": k.access_key_id,
                "Status": k.status,
                "CreateDate": k.created,
            }
            for k in keys
        ]
        return _page("AccessKeyMetadata", items, None)

    async def update_access_key(ctx: CallContext, p: Params) -> Output:
        await iam.update_access_key(
            p.get("UserName") or _caller_user_name(ctx), p["AccessKeyId"], p["Status"]
        )
        return {}

    async def delete_access_key(ctx: CallContext, p: Params) -> Output:
        await iam.delete_access_key(p.get("UserName") or _caller_user_name(ctx), p["AccessKeyId"])
        return {}

    operations: dict[str, Operation] = {
        "CreateRole": Operation(create_role, "iam:CreateRole", role_arn),
        "GetRole": Operation(get_role, "iam:GetRole", role_arn),
        "ListRoles": Operation(list_roles, "iam:ListRoles"),
        "DeleteRole": Operation(delete_role, "iam:DeleteRole", role_arn),
        "UpdateAssumeRolePolicy": Operation(
            update_assume_role_policy, "iam:UpdateAssumeRolePolicy", role_arn
        ),
        "UpdateRole": Operation(update_role, "iam:UpdateRole", role_arn),
        "CreatePolicy": Operation(create_policy, "iam:CreatePolicy", new_policy_arn),
        "GetPolicy": Operation(get_policy, "iam:GetPolicy", policy_arn),
        "ListPolicies": Operation(list_policies, "iam:ListPolicies"),
        "DeletePolicy": Operation(delete_policy, "iam:DeletePolicy", policy_arn),
        "CreatePolicyVersion": Operation(create_policy_version, "iam:CreatePolicyVersion", policy_arn),
        "GetPolicyVersion": Operation(get_policy_version, "iam:GetPolicyVersion", policy_arn),
        "ListPolicyVersions": Operation(list_policy_versions, "iam:ListPolicyVersions", policy_arn),
        "DeletePolicyVersion": Operation(delete_policy_version, "iam:DeletePolicyVersion", policy_arn),
        "SetDefaultPolicyVersion": Operation(
            set_default_policy_version, "iam:SetDefaultPolicyVersion", policy_arn
        ),
        "CreateUser": Operation(create_user, "iam:CreateUser", user_arn),
        "GetUser": Operation(get_user, "iam:GetUser", key_owner_arn),
        "ListUsers": Operation(list_users, "iam:ListUsers"),
        "DeleteUser": Operation(delete_user, "iam:DeleteUser", user_arn),
        "CreateAccessKey": Operation(create_access_key, "iam:CreateAccessKey", key_owner_arn),
        "ListAccessKeys": Operation(list_access_keys, "iam:ListAccessKeys", key_owner_arn),
        "UpdateAccessKey": Operation(update_access_key, "iam:UpdateAccessKey", key_owner_arn),
        "DeleteAccessKey": Operation(delete_access_key, "iam:DeleteAccessKey", key_owner_arn),
    }
    operations.update(inline_ops("role", "Role", "RoleName", role_arn))
    operations.update(inline_ops("user", "User", "UserName", user_arn))
    return Front("iam", operations)


def _caller_user_name(ctx: CallContext) -> str:
    principal = ctx.require_principal()
    if principal.user_name is None:
        raise InvalidInputError("Must specify userName when calling with non-User credentials")
    return principal.user_name
