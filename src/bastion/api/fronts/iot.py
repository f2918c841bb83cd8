"""AWS IoT control plane over rest-json: policies, versions, attachments, TestAuthorization, endpoints.

IAM authorization per operation follows AWS's table of IoT actions and resources (docs/authorization.md):
policy operations act on the policy's ARN; attach, detach and listing what is attached act on the
*target* as the caller wrote it (a Cognito identity id is not an ARN, so only ``"*"`` or a pattern that
matches the id covers it, as on AWS: "not authorized to perform: iot:AttachPolicy on resource:
us-east-1:…"); ListPolicies and DescribeEndpoint act on ``*``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from bastion.api.fronts.base import CallContext, Front, Operation, Output, Params
from bastion.services.authorizer import COGNITO_PROVIDER, PolicyRef
from bastion.services.errors import InvalidInputError
from bastion.services.iot.endpoint import Endpoints
from bastion.services.iot.policies import IotPolicyService, generation_id
from bastion.services.iot.simulation import AuthResult, IotAuthorizationService
from bastion.storage import interfaces as st
from bastion.storage.iot import IotPolicy, IotPolicyVersion, decode_iot_marker, encode_iot_marker

_ATTACHED_ALL = 250  # more than a target can hold (10), so one read lists them all


def _policy_item(policy: IotPolicy) -> Output:
    return {"policyName": policy.name, "policyArn": policy.arn}


def _ref_item(ref: PolicyRef) -> Output:
    out: Output = {"policyName": ref.name}
    if ref.arn is not None:
        out["policyArn"] = ref.arn
    return out


def _refs(refs: Sequence[PolicyRef]) -> Output:
    return {"policies": [_ref_item(r) for r in refs]}


def _page(key: str, items: list[Any], marker: str | None) -> Output:
    out: Output = {key: items}
    if marker is not None:
        out["nextMarker"] = marker
    return out


def _auth_result(result: AuthResult) -> Output:
    return {
        "authInfo": {"actionType": result.action_type, "resources": list(result.resources)},
        "allowed": _refs(result.allowed),
        "denied": {"implicitDeny": _refs(result.implicit_deny), "explicitDeny": _refs(result.explicit_deny)},
        "authDecision": result.outcome.value,
        "missingContextValues": list(result.missing_context_values),
    }


def _version_out(version: IotPolicyVersion) -> Output:
    return {
        "versionId": version.version_id,
        "isDefaultVersion": version.is_default,
        "createDate": version.created,
    }


def _caller_identity(ctx: CallContext) -> str | None:
    """The caller's own Cognito identity id: the principal GetEffectivePolicies and TestAuthorization use
    when the request names none."""
    web = None if ctx.principal is None else ctx.principal.web_identity
    return web.subject if web is not None and web.provider == COGNITO_PROVIDER else None


def build_iot_front(
    policies: IotPolicyService, authorization: IotAuthorizationService, endpoints: Endpoints
) -> Front:
    def policy_arn(_ctx: CallContext, p: Params) -> str:
        return policies.policy_arn(p["policyName"])

    def target(_ctx: CallContext, p: Params) -> str:
        return str(p["target"])

    def principal(_ctx: CallContext, p: Params) -> str:
        return str(p["principal"])

    def simulated(ctx: CallContext, p: Params) -> str:
        return str(p.get("principal") or _caller_identity(ctx) or "*")

    def subject(ctx: CallContext, p: Params) -> str:
        found = p.get("principal") or _caller_identity(ctx)
        if not found:
            raise InvalidInputError("principal is required: a Cognito identity id or a certificate ARN.")
        return str(found)

    # ---- policies
    async def create_policy(_ctx: CallContext, p: Params) -> Output:
        tags = [st.Tag(t["Key"], t.get("Value", "")) for t in p.get("tags", [])]
        created = await policies.create_policy(p["policyName"], p["policyDocument"], tags)
        return {
            "policyName": created.policy.name,
            "policyArn": created.policy.arn,
            "policyDocument": created.version.document,
            "policyVersionId": created.version.version_id,
        }

    async def get_policy(_ctx: CallContext, p: Params) -> Output:
        found = await policies.get_policy(p["policyName"])
        return {
            "policyName": found.policy.name,
            "policyArn": found.policy.arn,
            "policyDocument": found.version.document,
            "defaultVersionId": found.policy.default_version_id,
            "creationDate": found.policy.created,
            "lastModifiedDate": found.policy.updated,
            "generationId": found.generation_id,
        }

    async def list_policies(_ctx: CallContext, p: Params) -> Output:
        page = await policies.list_policies(p.get("marker"), p.get("pageSize"), bool(p.get("ascendingOrder")))
        return _page("policies", [_policy_item(x) for x in page.items], page.marker)

    async def delete_policy(_ctx: CallContext, p: Params) -> Output:
        await policies.delete_policy(p["policyName"])
        return {}

    # ---- versions
    async def create_policy_version(_ctx: CallContext, p: Params) -> Output:
        version = await policies.create_policy_version(
            p["policyName"], p["policyDocument"], bool(p.get("setAsDefault"))
        )
        return {
            "policyArn": policies.policy_arn(p["policyName"]),
            "policyDocument": version.document,
            "policyVersionId": version.version_id,
            "isDefaultVersion": version.is_default,
        }

    async def get_policy_version(_ctx: CallContext, p: Params) -> Output:
        found = await policies.get_policy_version(p["policyName"], p["policyVersionId"])
        return {
            "policyArn": found.policy.arn,
            "policyName": found.policy.name,
            "policyDocument": found.version.document,
            "policyVersionId": found.version.version_id,
            "isDefaultVersion": found.version.is_default,
            "creationDate": found.version.created,
            "lastModifiedDate": found.policy.updated,
            "generationId": generation_id(found.policy),
        }

    async def list_policy_versions(_ctx: CallContext, p: Params) -> Output:
        versions = await policies.list_policy_versions(p["policyName"])
        return {"policyVersions": [_version_out(v) for v in versions]}

    async def delete_policy_version(_ctx: CallContext, p: Params) -> Output:
        await policies.delete_policy_version(p["policyName"], p["policyVersionId"])
        return {}

    async def set_default_policy_version(_ctx: CallContext, p: Params) -> Output:
        await policies.set_default_policy_version(p["policyName"], p["policyVersionId"])
        return {}

    # ---- attachments
    async def attach_policy(_ctx: CallContext, p: Params) -> Output:
        await policies.attach(p["policyName"], p["target"])
        return {}

    async def detach_policy(_ctx: CallContext, p: Params) -> Output:
        await policies.detach(p["policyName"], p["target"])
        return {}

    async def list_attached_policies(_ctx: CallContext, p: Params) -> Output:
        page = await policies.list_attached(p["target"], p.get("marker"), p.get("pageSize"))
        return _page("policies", [_policy_item(x) for x in page.items], page.marker)

    async def list_targets_for_policy(_ctx: CallContext, p: Params) -> Output:
        page = await policies.list_targets(p["policyName"], p.get("marker"), p.get("pageSize"))
        return _page("targets", list(page.items), page.marker)

    # ---- the deprecated principal-policy operations (older SDKs still call them)
    async def attach_principal_policy(_ctx: CallContext, p: Params) -> Output:
        await policies.attach(p["policyName"], p["principal"])
        return {}

    async def detach_principal_policy(_ctx: CallContext, p: Params) -> Output:
        await policies.detach(p["policyName"], p["principal"], policy_must_exist=True)
        return {}

    async def list_principal_policies(_ctx: CallContext, p: Params) -> Output:
        attached = await policies.list_attached(p["principal"], None, _ATTACHED_ALL)
        # A target holds at most 10 policies: read them all, order as asked, page here.
        ordered = sorted(attached.items, key=lambda x: x.name, reverse=not p.get("ascendingOrder"))
        items, marker = _page_names("iot-principal-policies", ordered, p.get("marker"), p.get("pageSize"))
        return _page("policies", [_policy_item(x) for x in items], marker)

    async def list_policy_principals(_ctx: CallContext, p: Params) -> Output:
        page = await policies.list_targets(p["policyName"], p.get("marker"), p.get("pageSize"))
        return _page("principals", list(page.items), page.marker)

    # ---- effective policies, simulation, endpoint
    async def get_effective_policies(ctx: CallContext, p: Params) -> Output:
        found = await authorization.effective_policies(subject(ctx, p))
        return {
            "effectivePolicies": [
                {"policyName": e.policy.name, "policyArn": e.policy.arn, "policyDocument": e.version.document}
                for e in found
            ]
        }

    async def test_authorization(ctx: CallContext, p: Params) -> Output:
        infos: list[tuple[str, Sequence[str]]] = []
        for info in p["authInfos"]:
            if "actionType" not in info:
                raise InvalidInputError("actionType is required in each authInfo.")
            infos.append((info["actionType"], info.get("resources", [])))
        results = await authorization.test_authorization(
            subject(ctx, p),
            infos,
            client_id=p.get("clientId"),
            pool_id=p.get("cognitoIdentityPoolId"),
            add=p.get("policyNamesToAdd", []),
            skip=p.get("policyNamesToSkip", []),
            now=ctx.now,
        )
        return {"authResults": [_auth_result(r) for r in results]}

    async def describe_endpoint(ctx: CallContext, p: Params) -> Output:
        return {"endpointAddress": endpoints.describe(p.get("endpointType"), ctx.headers.get("host"))}

    def op(handler: Any, action: str, resource: Any = None) -> Operation:
        if resource is None:
            return Operation(handler, action)
        return Operation(handler, action, resource)

    return Front(
        service="iot",
        operations={
            "CreatePolicy": op(create_policy, "iot:CreatePolicy", policy_arn),
            "GetPolicy": op(get_policy, "iot:GetPolicy", policy_arn),
            "ListPolicies": op(list_policies, "iot:ListPolicies"),
            "DeletePolicy": op(delete_policy, "iot:DeletePolicy", policy_arn),
            "CreatePolicyVersion": op(create_policy_version, "iot:CreatePolicyVersion", policy_arn),
            "GetPolicyVersion": op(get_policy_version, "iot:GetPolicyVersion", policy_arn),
            "ListPolicyVersions": op(list_policy_versions, "iot:ListPolicyVersions", policy_arn),
            "DeletePolicyVersion": op(delete_policy_version, "iot:DeletePolicyVersion", policy_arn),
            "SetDefaultPolicyVersion": op(
                set_default_policy_version, "iot:SetDefaultPolicyVersion", policy_arn
            ),
            "AttachPolicy": op(attach_policy, "iot:AttachPolicy", target),
            "DetachPolicy": op(detach_policy, "iot:DetachPolicy", target),
            "ListAttachedPolicies": op(list_attached_policies, "iot:ListAttachedPolicies", target),
            "ListTargetsForPolicy": op(list_targets_for_policy, "iot:ListTargetsForPolicy", policy_arn),
            "AttachPrincipalPolicy": op(attach_principal_policy, "iot:AttachPrincipalPolicy", principal),
            "DetachPrincipalPolicy": op(detach_principal_policy, "iot:DetachPrincipalPolicy", principal),
            "ListPrincipalPolicies": op(list_principal_policies, "iot:ListPrincipalPolicies", principal),
            "ListPolicyPrincipals": op(list_policy_principals, "iot:ListPolicyPrincipals", policy_arn),
            "GetEffectivePolicies": op(get_effective_policies, "iot:GetEffectivePolicies", simulated),
            "TestAuthorization": op(test_authorization, "iot:TestAuthorization", simulated),
            "DescribeEndpoint": op(describe_endpoint, "iot:DescribeEndpoint"),
        },
    )


def _page_names(
    listing: str, items: list[IotPolicy], marker: str | None, page_size: int | None
) -> tuple[list[IotPolicy], str | None]:
    """Page a short in-memory list; the marker is the name of the last item handed out."""
    if marker is not None:
        try:
            (after,) = decode_iot_marker(listing, marker, 1)
        except st.InvalidMarker as exc:
            raise InvalidInputError("The marker is not valid.") from exc
        names = [x.name for x in items]
        items = items[names.index(after) + 1 :] if after in names else []
    size = page_size or 25
    chosen = items[:size]
    next_marker = encode_iot_marker(listing, chosen[-1].name) if len(items) > size else None
    return chosen, next_marker
