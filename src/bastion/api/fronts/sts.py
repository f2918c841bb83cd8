"""STS over the query protocol."""

from __future__ import annotations

from bastion.api.fronts.base import CallContext, Front, Operation, Output, Params
from bastion.services.authorizer import Authorizer, request_context
from bastion.services.errors import AccessDeniedError
from bastion.services.sts.service import RoleSession, StsService, caller_identity


def _session_out(session: RoleSession) -> Output:
    creds = session.credentials
    return {
        "Credentials": {
            "AccessKeyId": creds.access_key_id,
            "SecretAccessKey": creds.secret_access_key,
            "SessionToken": creds.session_token,
            "Expiration": creds.expiration,
        },
        "AssumedRoleUser": {"AssumedRoleId": session.assumed_role_id, "Arn": session.principal.arn},
        "PackedPolicySize": 0,
    }


def build_sts_front(sts: StsService, authorizer: Authorizer) -> Front:
    async def get_caller_identity(ctx: CallContext, _p: Params) -> Output:
        return caller_identity(ctx.require_principal())

    async def assume_role(ctx: CallContext, p: Params) -> Output:
        caller = ctx.require_principal()
        context = request_context(
            caller, source_ip=ctx.source_ip, secure=ctx.secure_transport, now=ctx.now, region=ctx.region
        )
        # The caller's own policies are asked first: their explicit deny always wins. Whether their allow
        # is needed depends on how the trust policy names the caller (StsService.assume_role).
        decision = await authorizer.decide(caller, "sts:AssumeRole", p["RoleArn"], context)
        if decision.outcome == "EXPLICIT_DENY":
            raise AccessDeniedError(
                f"User: {caller.arn} is not authorized to perform: sts:AssumeRole on resource: {p['RoleArn']}"
                " with an explicit deny"
            )
        session = await sts.assume_role(
            caller,
            p["RoleArn"],
            p["RoleSessionName"],
            identity_allows=decision.allowed,
            duration=p.get("DurationSeconds"),
            session_policy=p.get("Policy"),
            source_identity=p.get("SourceIdentity"),
            context=context,
        )
        out = _session_out(session)
        if p.get("SourceIdentity"):
            out["SourceIdentity"] = p["SourceIdentity"]
        return out

    async def assume_role_with_web_identity(_ctx: CallContext, p: Params) -> Output:
        session, claims = await sts.assume_role_with_web_identity(
            p["RoleArn"],
            p["RoleSessionName"],
            p["WebIdentityToken"],
            duration=p.get("DurationSeconds"),
            session_policy=p.get("Policy"),
        )
        out = _session_out(session)
        out.update(
            {
                "SubjectFromWebIdentityToken": claims.subject,
                "Provider": claims.provider,
                "Audience": claims.audience,
            }
        )
        return out

    return Front(
        "sts",
        {
            # AWS answers GetCallerIdentity for any valid credentials; no permission is needed.
            "GetCallerIdentity": Operation(get_caller_identity, None),
            # Authorized inside (identity policy and trust policy together).
            "AssumeRole": Operation(assume_role, None),
            "AssumeRoleWithWebIdentity": Operation(assume_role_with_web_identity, None, public=True),
        },
    )
