"""Cognito user pools over JSON 1.1 (``AWSCognitoIdentityProviderService.<Op>``).

End-user operations are public (unsigned, as AWS serves them; they authorize by app client, code or
access token); administration is SigV4-signed and IAM-authorized as ``cognito-idp:<Op>`` on the pool's
ARN. Also the two well-known documents, served on ``GET /<poolId>/.well-known/...``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from aiohttp import web

from bastion.api.fronts.base import CallContext, Front, Handler, Operation, Output, Params, any_resource
from bastion.services.cognito_idp import schema
from bastion.services.cognito_idp.core import Client, Delivery
from bastion.services.cognito_idp.ids import pool_arn
from bastion.services.cognito_idp.pools import PoolView
from bastion.services.cognito_idp.service import CognitoIdpService
from bastion.services.cognito_idp.settings import (
    DEFAULT_AUTH_FLOWS,
    ClientSettings,
    MessageTemplates,
    PasswordPolicy,
    PoolSettings,
    SchemaAttribute,
    TokenValidity,
)
from bastion.services.cognito_idp.signin import AuthResult
from bastion.services.errors import NotFoundError
from bastion.storage.cognito_idp import PoolUserRecord

_MAX_PAGE = 60

# ---- wire -> settings ------------------------------------------------------------------------------


def _attrs_in(items: Iterable[Mapping[str, str]] | None) -> dict[str, str]:
    return {a["Name"]: a.get("Value", "") for a in items or ()}


def _schema_in(items: Iterable[Mapping[str, Any]]) -> tuple[SchemaAttribute, ...]:
    out = []
    for item in items:
        strings = item.get("StringAttributeConstraints") or {}
        numbers = item.get("NumberAttributeConstraints") or {}
        out.append(
            SchemaAttribute(
                name=item.get("Name", ""),
                data_type=item.get("AttributeDataType", "String"),
                developer_only=bool(item.get("DeveloperOnlyAttribute", False)),
                mutable=bool(item.get("Mutable", True)),
                required=bool(item.get("Required", False)),
                min_length=strings.get("MinLength"),
                max_length=strings.get("MaxLength"),
                min_value=numbers.get("MinValue"),
                max_value=numbers.get("MaxValue"),
            )
        )
    return tuple(out)


def _policy_in(p: Params) -> PasswordPolicy:
    given = (p.get("Policies") or {}).get("PasswordPolicy")
    if given is None:
        return PasswordPolicy()
    # A policy that is sent is taken as it is: requirements it leaves out are off.
    return PasswordPolicy(
        minimum_length=given.get("MinimumLength", 8),
        require_uppercase=bool(given.get("RequireUppercase", False)),
        require_lowercase=bool(given.get("RequireLowercase", False)),
        require_numbers=bool(given.get("RequireNumbers", False)),
        require_symbols=bool(given.get("RequireSymbols", False)),
        temporary_password_validity_days=given.get("TemporaryPasswordValidityDays", 7),
        password_history_size=given.get("PasswordHistorySize"),
    )


def _templates_in(p: Params) -> MessageTemplates:
    base = MessageTemplates()
    template = p.get("VerificationMessageTemplate") or {}
    invite = (p.get("AdminCreateUserConfig") or {}).get("InviteMessageTemplate") or {}
    return MessageTemplates(
        email_subject=template.get("EmailSubject") or p.get("EmailVerificationSubject") or base.email_subject,
        email_message=template.get("EmailMessage") or p.get("EmailVerificationMessage") or base.email_message,
        sms_message=template.get("SmsMessage") or p.get("SmsVerificationMessage") or base.sms_message,
        invite_email_subject=invite.get("EmailSubject") or base.invite_email_subject,
        invite_email_message=invite.get("EmailMessage") or base.invite_email_message,
        invite_sms_message=invite.get("SMSMessage") or base.invite_sms_message,
    )


def pool_settings_in(p: Params) -> PoolSettings:
    email = p.get("EmailConfiguration") or {}
    recovery = (p.get("AccountRecoverySetting") or {}).get("RecoveryMechanisms") or []
    username_config = p.get("UsernameConfiguration")
    return PoolSettings(
        password_policy=_policy_in(p),
        username_attributes=tuple(p.get("UsernameAttributes") or ()),
        alias_attributes=tuple(p.get("AliasAttributes") or ()),
        auto_verified_attributes=tuple(p.get("AutoVerifiedAttributes") or ()),
        schema=_schema_in(p.get("Schema") or ()),
        mfa=p.get("MfaConfiguration", "OFF"),
        allow_admin_create_user_only=bool(
            (p.get("AdminCreateUserConfig") or {}).get("AllowAdminCreateUserOnly")
        ),
        case_sensitive=None if username_config is None else bool(username_config.get("CaseSensitive")),
        deletion_protection=p.get("DeletionProtection", "INACTIVE"),
        templates=_templates_in(p),
        tags=dict(p.get("UserPoolTags") or {}),
        recovery_mechanisms=tuple((m["Name"], int(m["Priority"])) for m in recovery),
        email_from=email.get("From"),
        email_reply_to=email.get("ReplyToEmailAddress"),
        email_sending_account=email.get("EmailSendingAccount", "COGNITO_DEFAULT"),
        attributes_require_verification_before_update=tuple(
            (p.get("UserAttributeUpdateSettings") or {}).get("AttributesRequireVerificationBeforeUpdate")
            or ()
        ),
        tier=p.get("UserPoolTier", "ESSENTIALS"),
    )


def client_settings_in(p: Params) -> ClientSettings:
    units = dict(p.get("TokenValidityUnits") or {})

    def validity(member: str, unit_key: str, default_unit: str) -> TokenValidity | None:
        amount = p.get(member)
        return None if not amount else TokenValidity(int(amount), units.get(unit_key, default_unit))

    flows = p.get("ExplicitAuthFlows")
    return ClientSettings(
        explicit_auth_flows=DEFAULT_AUTH_FLOWS if flows is None else tuple(flows),
        access_token_validity=validity("AccessTokenValidity", "AccessToken", "hours"),
        id_token_validity=validity("IdTokenValidity", "IdToken", "hours"),
        # 0 or absent: AWS's default of 30 days.
        refresh_token_validity=validity("RefreshTokenValidity", "RefreshToken", "days")
        or TokenValidity(30, "days"),
        units_given=units,
        read_attributes=None if p.get("ReadAttributes") is None else tuple(p["ReadAttributes"]),
        write_attributes=None if p.get("WriteAttributes") is None else tuple(p["WriteAttributes"]),
        prevent_user_existence_errors=p.get("PreventUserExistenceErrors", "LEGACY"),
        enable_token_revocation=bool(p.get("EnableTokenRevocation", True)),
        auth_session_validity_minutes=p.get("AuthSessionValidity", 3),
        enable_propagate_additional_user_context_data=bool(
            p.get("EnablePropagateAdditionalUserContextData", False)
        ),
        supported_identity_providers=tuple(p.get("SupportedIdentityProviders") or ()),
        callback_urls=tuple(p.get("CallbackURLs") or ()),
        logout_urls=tuple(p.get("LogoutURLs") or ()),
        default_redirect_uri=p.get("DefaultRedirectURI"),
        allowed_oauth_flows=tuple(p.get("AllowedOAuthFlows") or ()),
        allowed_oauth_scopes=tuple(p.get("AllowedOAuthScopes") or ()),
        allowed_oauth_flows_user_pool_client=bool(p.get("AllowedOAuthFlowsUserPoolClient", False)),
    )


# ---- values -> wire ------------------------------------------------------------------------------


def _schema_out(attr: SchemaAttribute) -> Output:
    out: Output = {
        "Name": attr.name,
        "AttributeDataType": attr.data_type,
        "DeveloperOnlyAttribute": attr.developer_only,
        "Mutable": attr.mutable,
        "Required": attr.required,
    }
    if attr.data_type == "String" and (attr.min_length is not None or attr.max_length is not None):
        out["StringAttributeConstraints"] = {
            k: v for k, v in (("MinLength", attr.min_length), ("MaxLength", attr.max_length)) if v is not None
        }
    if attr.data_type == "Number" and (attr.min_value is not None or attr.max_value is not None):
        out["NumberAttributeConstraints"] = {
            k: v for k, v in (("MinValue", attr.min_value), ("MaxValue", attr.max_value)) if v is not None
        }
    return out


def pool_out(view: PoolView) -> Output:
    pool, s = view.pool, view.pool.settings
    policy = s.password_policy
    password_policy: Output = {
        "MinimumLength": policy.minimum_length,
        "RequireUppercase": policy.require_uppercase,
        "RequireLowercase": policy.require_lowercase,
        "RequireNumbers": policy.require_numbers,
        "RequireSymbols": policy.require_symbols,
        "TemporaryPasswordValidityDays": policy.temporary_password_validity_days,
    }
    if policy.password_history_size is not None:
        password_policy["PasswordHistorySize"] = policy.password_history_size
    t = s.templates
    email: Output = {"EmailSendingAccount": s.email_sending_account}
    if s.email_from:
        email["From"] = s.email_from
    if s.email_reply_to:
        email["ReplyToEmailAddress"] = s.email_reply_to
    out: Output = {
        "Id": pool.id,
        "Name": pool.record.name,
        "Arn": view.arn,
        "Policies": {
            "PasswordPolicy": password_policy,
            "SignInPolicy": {"AllowedFirstAuthFactors": ["PASSWORD"]},
        },
        "DeletionProtection": s.deletion_protection,
        "LambdaConfig": {},
        "LastModifiedDate": pool.record.updated,
        "CreationDate": pool.record.created,
        "SchemaAttributes": [_schema_out(a) for a in schema.full_schema(s.schema)],
        "AutoVerifiedAttributes": list(s.auto_verified_attributes),
        "VerificationMessageTemplate": {
            "SmsMessage": t.sms_message,
            "EmailMessage": t.email_message,
            "EmailSubject": t.email_subject,
            "DefaultEmailOption": "CONFIRM_WITH_CODE",
        },
        "SmsVerificationMessage": t.sms_message,
        "EmailVerificationMessage": t.email_message,
        "EmailVerificationSubject": t.email_subject,
        "UserAttributeUpdateSettings": {
            "AttributesRequireVerificationBeforeUpdate": list(s.attributes_require_verification_before_update)
        },
        "MfaConfiguration": s.mfa,
        "EstimatedNumberOfUsers": view.estimated_users,
        "EmailConfiguration": email,
        "UserPoolTags": dict(s.tags),
        "AdminCreateUserConfig": {
            "AllowAdminCreateUserOnly": s.allow_admin_create_user_only,
            "UnusedAccountValidityDays": policy.temporary_password_validity_days,
            "InviteMessageTemplate": {
                "SMSMessage": t.invite_sms_message,
                "EmailMessage": t.invite_email_message,
                "EmailSubject": t.invite_email_subject,
            },
        },
        "UserPoolTier": s.tier,
    }
    if s.alias_attributes:
        out["AliasAttributes"] = list(s.alias_attributes)
    if s.username_attributes:
        out["UsernameAttributes"] = list(s.username_attributes)
    if s.case_sensitive is not None:
        out["UsernameConfiguration"] = {"CaseSensitive": s.case_sensitive}
    if s.recovery_mechanisms:
        out["AccountRecoverySetting"] = {
            "RecoveryMechanisms": [{"Priority": p, "Name": n} for n, p in s.recovery_mechanisms]
        }
    return out


def client_out(client: Client) -> Output:
    s = client.settings
    record = client.record
    out: Output = {
        "UserPoolId": record.pool_id,
        "ClientName": record.name,
        "ClientId": record.client_id,
        "LastModifiedDate": record.updated,
        "CreationDate": record.created,
        "RefreshTokenValidity": s.refresh_token_validity.amount,
        "TokenValidityUnits": {
            "AccessToken": s.access_token_validity.unit if s.access_token_validity else "hours",
            "IdToken": s.id_token_validity.unit if s.id_token_validity else "hours",
            "RefreshToken": s.refresh_token_validity.unit,
        },
        "ExplicitAuthFlows": list(s.explicit_auth_flows),
        "AllowedOAuthFlowsUserPoolClient": s.allowed_oauth_flows_user_pool_client,
        "PreventUserExistenceErrors": s.prevent_user_existence_errors,
        "EnableTokenRevocation": s.enable_token_revocation,
        "EnablePropagateAdditionalUserContextData": s.enable_propagate_additional_user_context_data,
        "AuthSessionValidity": s.auth_session_validity_minutes,
    }
    if client.secret is not None:
        out["ClientSecret"] = client.secret
    if s.access_token_validity:
        out["AccessTokenValidity"] = s.access_token_validity.amount
    if s.id_token_validity:
        out["IdTokenValidity"] = s.id_token_validity.amount
    for member, value in (
        ("ReadAttributes", s.read_attributes),
        ("WriteAttributes", s.write_attributes),
        ("SupportedIdentityProviders", s.supported_identity_providers or None),
        ("CallbackURLs", s.callback_urls or None),
        ("LogoutURLs", s.logout_urls or None),
        ("AllowedOAuthFlows", s.allowed_oauth_flows or None),
        ("AllowedOAuthScopes", s.allowed_oauth_scopes or None),
    ):
        if value is not None:
            out[member] = list(value)
    if s.default_redirect_uri:
        out["DefaultRedirectURI"] = s.default_redirect_uri
    return out


def attributes_out(user: PoolUserRecord, shown: Callable[[str], bool] = lambda _n: True) -> list[Output]:
    pairs = [("sub", user.sub), *((k, v) for k, v in user.attributes.items() if k != "sub")]
    return [{"Name": k, "Value": v} for k, v in pairs if shown(k)]


def user_out(user: PoolUserRecord, attributes_to_get: Sequence[str] | None = None) -> Output:
    wanted = None if attributes_to_get is None else set(attributes_to_get)
    return {
        "Username": user.username,
        "Attributes": attributes_out(user, lambda n: wanted is None or n in wanted),
        "UserCreateDate": user.created,
        "UserLastModifiedDate": user.updated,
        "Enabled": user.enabled,
        "UserStatus": user.status,
    }


def delivery_out(delivery: Delivery) -> Output:
    return {
        "Destination": delivery.destination,
        "DeliveryMedium": delivery.medium,
        "AttributeName": delivery.attribute,
    }


def auth_out(result: AuthResult) -> Output:
    out: Output = {"ChallengeParameters": dict(result.parameters)}
    if result.challenge is not None:
        out["ChallengeName"] = result.challenge
    if result.session is not None:
        out["Session"] = result.session
    if result.tokens is not None:
        tokens = result.tokens
        auth: Output = {
            "AccessToken": tokens.access_token,
            "ExpiresIn": tokens.expires_in,
            "TokenType": tokens.token_type,
            "IdToken": tokens.id_token,
        }
        if tokens.refresh_token is not None:
            auth["RefreshToken"] = tokens.refresh_token
        out["AuthenticationResult"] = auth
    return out


# ---- the front -----------------------------------------------------------------------------------


def _pool_resource(ctx: CallContext, params: Params) -> str:
    return pool_arn(ctx.region, ctx.account_id, params.get("UserPoolId", ""))


def _page_size(value: int | None) -> int:
    return min(value or _MAX_PAGE, _MAX_PAGE)


def build_cognito_idp_front(svc: CognitoIdpService) -> Front:
    pools, users, reg, signin, account = svc.pools, svc.users, svc.registration, svc.signin, svc.account

    # -- pools and clients
    async def create_user_pool(_c: CallContext, p: Params) -> Output:
        return {"UserPool": pool_out(await pools.create_pool(p["PoolName"], pool_settings_in(p)))}

    async def describe_user_pool(_c: CallContext, p: Params) -> Output:
        return {"UserPool": pool_out(await pools.describe_pool(p["UserPoolId"]))}

    async def list_user_pools(_c: CallContext, p: Params) -> Output:
        found, token = await pools.list_pools(_page_size(p.get("MaxResults")), p.get("NextToken"))
        items = [
            {
                "Id": pool.id,
                "Name": pool.record.name,
                "LambdaConfig": {},
                "LastModifiedDate": pool.record.updated,
                "CreationDate": pool.record.created,
            }
            for pool in found
        ]
        return {"UserPools": items, "NextToken": token}

    async def update_user_pool(_c: CallContext, p: Params) -> Output:
        await pools.update_pool(p["UserPoolId"], pool_settings_in(p), p.get("PoolName"))
        return {}

    async def delete_user_pool(_c: CallContext, p: Params) -> Output:
        await pools.delete_pool(p["UserPoolId"])
        return {}

    async def create_user_pool_client(_c: CallContext, p: Params) -> Output:
        client = await pools.create_client(
            p["UserPoolId"],
            p["ClientName"],
            client_settings_in(p),
            generate_secret=bool(p.get("GenerateSecret")),
            secret=p.get("ClientSecret"),
        )
        return {"UserPoolClient": client_out(client)}

    async def describe_user_pool_client(_c: CallContext, p: Params) -> Output:
        return {"UserPoolClient": client_out(await pools.describe_client(p["UserPoolId"], p["ClientId"]))}

    async def list_user_pool_clients(_c: CallContext, p: Params) -> Output:
        found, token = await pools.list_clients(
            p["UserPoolId"], _page_size(p.get("MaxResults")), p.get("NextToken")
        )
        items = [{"ClientId": c.id, "UserPoolId": c.pool_id, "ClientName": c.record.name} for c in found]
        return {"UserPoolClients": items, "NextToken": token}

    async def update_user_pool_client(_c: CallContext, p: Params) -> Output:
        client = await pools.update_client(
            p["UserPoolId"], p["ClientId"], p.get("ClientName"), client_settings_in(p)
        )
        return {"UserPoolClient": client_out(client)}

    async def delete_user_pool_client(_c: CallContext, p: Params) -> Output:
        await pools.delete_client(p["UserPoolId"], p["ClientId"])
        return {}

    # -- users (administration)
    async def admin_create_user(_c: CallContext, p: Params) -> Output:
        user = await users.admin_create_user(
            p["UserPoolId"],
            p["Username"],
            _attrs_in(p.get("UserAttributes")),
            temporary=p.get("TemporaryPassword"),
            message_action=p.get("MessageAction"),
            mediums=tuple(p.get("DesiredDeliveryMediums") or ("SMS",)),
        )
        return {"User": user_out(user)}

    async def admin_get_user(_c: CallContext, p: Params) -> Output:
        user = await users.admin_get_user(p["UserPoolId"], p["Username"])
        out = user_out(user)
        return {
            "Username": out["Username"],
            "UserAttributes": out["Attributes"],
            "UserCreateDate": out["UserCreateDate"],
            "UserLastModifiedDate": out["UserLastModifiedDate"],
            "Enabled": out["Enabled"],
            "UserStatus": out["UserStatus"],
        }

    def admin_call(method: Callable[..., Any], **fixed: Any) -> Handler:
        """A handler for the Admin* calls that take only UserPoolId and Username and answer {}."""

        async def handler(_c: CallContext, p: Params) -> Output:
            await method(p["UserPoolId"], p["Username"], **fixed)
            return {}

        return handler

    async def admin_set_user_password(_c: CallContext, p: Params) -> Output:
        await users.admin_set_user_password(
            p["UserPoolId"], p["Username"], p["Password"], bool(p.get("Permanent"))
        )
        return {}

    async def admin_update_user_attributes(_c: CallContext, p: Params) -> Output:
        await users.admin_update_user_attributes(
            p["UserPoolId"], p["Username"], _attrs_in(p["UserAttributes"])
        )
        return {}

    async def list_users(_c: CallContext, p: Params) -> Output:
        found, token = await users.list_users(
            p["UserPoolId"], p.get("Filter"), p.get("Limit"), p.get("PaginationToken")
        )
        wanted = p.get("AttributesToGet")
        return {"Users": [user_out(u, wanted) for u in found], "PaginationToken": token}

    # -- sign-up and recovery (public)
    async def sign_up(_c: CallContext, p: Params) -> Output:
        result = await reg.sign_up(
            p["ClientId"],
            username=p["Username"],
            password=p.get("Password"),
            attributes=_attrs_in(p.get("UserAttributes")),
            secret_hash=p.get("SecretHash"),
        )
        out: Output = {"UserConfirmed": result.confirmed, "UserSub": result.sub}
        if result.delivery is not None:
            out["CodeDeliveryDetails"] = delivery_out(result.delivery)
        return out

    async def confirm_sign_up(_c: CallContext, p: Params) -> Output:
        await reg.confirm_sign_up(
            p["ClientId"],
            p["Username"],
            p["ConfirmationCode"],
            secret_hash=p.get("SecretHash"),
            force_alias=bool(p.get("ForceAliasCreation")),
        )
        return {}

    async def resend_confirmation_code(_c: CallContext, p: Params) -> Output:
        delivery = await reg.resend_confirmation_code(
            p["ClientId"], p["Username"], secret_hash=p.get("SecretHash")
        )
        return {"CodeDeliveryDetails": delivery_out(delivery)}

    async def forgot_password(_c: CallContext, p: Params) -> Output:
        delivery = await reg.forgot_password(p["ClientId"], p["Username"], secret_hash=p.get("SecretHash"))
        return {"CodeDeliveryDetails": delivery_out(delivery)}

    async def confirm_forgot_password(_c: CallContext, p: Params) -> Output:
        await reg.confirm_forgot_password(
            p["ClientId"],
            p["Username"],
            p["ConfirmationCode"],
            p["Password"],
            secret_hash=p.get("SecretHash"),
        )
        return {}

    # -- sign-in
    async def initiate_auth(_c: CallContext, p: Params) -> Output:
        result = await signin.initiate(p["ClientId"], p["AuthFlow"], p.get("AuthParameters") or {})
        return auth_out(result)

    async def admin_initiate_auth(_c: CallContext, p: Params) -> Output:
        result = await signin.initiate(
            p["ClientId"], p["AuthFlow"], p.get("AuthParameters") or {}, pool_id=p["UserPoolId"]
        )
        return auth_out(result)

    async def respond_to_auth_challenge(_c: CallContext, p: Params) -> Output:
        result = await signin.respond(
            p["ClientId"], p["ChallengeName"], p.get("ChallengeResponses") or {}, p.get("Session")
        )
        return auth_out(result)

    async def admin_respond_to_auth_challenge(_c: CallContext, p: Params) -> Output:
        result = await signin.respond(
            p["ClientId"],
            p["ChallengeName"],
            p.get("ChallengeResponses") or {},
            p.get("Session"),
            pool_id=p["UserPoolId"],
        )
        return auth_out(result)

    # -- the signed-in user (public, authorized by the access token)
    async def get_user(_c: CallContext, p: Params) -> Output:
        user, readable = await account.get_user(p["AccessToken"])
        return {"Username": user.username, "UserAttributes": attributes_out(user, readable.__contains__)}

    async def update_user_attributes(_c: CallContext, p: Params) -> Output:
        deliveries = await account.update_user_attributes(p["AccessToken"], _attrs_in(p["UserAttributes"]))
        return {"CodeDeliveryDetailsList": [delivery_out(d) for d in deliveries]}

    async def get_user_attribute_verification_code(_c: CallContext, p: Params) -> Output:
        delivery = await account.get_user_attribute_verification_code(p["AccessToken"], p["AttributeName"])
        return {"CodeDeliveryDetails": delivery_out(delivery)}

    async def verify_user_attribute(_c: CallContext, p: Params) -> Output:
        await account.verify_user_attribute(p["AccessToken"], p["AttributeName"], p["Code"])
        return {}

    async def delete_user(_c: CallContext, p: Params) -> Output:
        await account.delete_user(p["AccessToken"])
        return {}

    async def change_password(_c: CallContext, p: Params) -> Output:
        await account.change_password(p["AccessToken"], p.get("PreviousPassword"), p["ProposedPassword"])
        return {}

    async def global_sign_out(_c: CallContext, p: Params) -> Output:
        await account.global_sign_out(p["AccessToken"])
        return {}

    async def revoke_token(_c: CallContext, p: Params) -> Output:
        await account.revoke_token(p["ClientId"], p["Token"], p.get("ClientSecret"))
        return {}

    def signed(handler: Handler, op: str, *, on_pool: bool = True) -> Operation:
        return Operation(handler, f"cognito-idp:{op}", _pool_resource if on_pool else any_resource)

    def public(handler: Handler) -> Operation:
        return Operation(handler, None, public=True)

    return Front(
        "cognito-idp",
        {
            "CreateUserPool": signed(create_user_pool, "CreateUserPool", on_pool=False),
            "DescribeUserPool": signed(describe_user_pool, "DescribeUserPool"),
            "ListUserPools": signed(list_user_pools, "ListUserPools", on_pool=False),
            "UpdateUserPool": signed(update_user_pool, "UpdateUserPool"),
            "DeleteUserPool": signed(delete_user_pool, "DeleteUserPool"),
            "CreateUserPoolClient": signed(create_user_pool_client, "CreateUserPoolClient"),
            "DescribeUserPoolClient": signed(describe_user_pool_client, "DescribeUserPoolClient"),
            "ListUserPoolClients": signed(list_user_pool_clients, "ListUserPoolClients"),
            "UpdateUserPoolClient": signed(update_user_pool_client, "UpdateUserPoolClient"),
            "DeleteUserPoolClient": signed(delete_user_pool_client, "DeleteUserPoolClient"),
            "AdminCreateUser": signed(admin_create_user, "AdminCreateUser"),
            "AdminGetUser": signed(admin_get_user, "AdminGetUser"),
            "AdminDeleteUser": signed(admin_call(users.admin_delete_user), "AdminDeleteUser"),
            "AdminConfirmSignUp": signed(admin_call(users.admin_confirm_sign_up), "AdminConfirmSignUp"),
            "AdminSetUserPassword": signed(admin_set_user_password, "AdminSetUserPassword"),
            "AdminResetUserPassword": signed(
                admin_call(users.admin_reset_user_password), "AdminResetUserPassword"
            ),
            "AdminUpdateUserAttributes": signed(admin_update_user_attributes, "AdminUpdateUserAttributes"),
            "AdminDisableUser": signed(
                admin_call(users.admin_set_enabled, enabled=False), "AdminDisableUser"
            ),
            "AdminEnableUser": signed(admin_call(users.admin_set_enabled, enabled=True), "AdminEnableUser"),
            "AdminUserGlobalSignOut": signed(
                admin_call(users.admin_user_global_sign_out), "AdminUserGlobalSignOut"
            ),
            "ListUsers": signed(list_users, "ListUsers"),
            "AdminInitiateAuth": signed(admin_initiate_auth, "AdminInitiateAuth"),
            "AdminRespondToAuthChallenge": signed(
                admin_respond_to_auth_challenge, "AdminRespondToAuthChallenge"
            ),
            "SignUp": public(sign_up),
            "ConfirmSignUp": public(confirm_sign_up),
            "ResendConfirmationCode": public(resend_confirmation_code),
            "ForgotPassword": public(forgot_password),
            "ConfirmForgotPassword": public(confirm_forgot_password),
            "InitiateAuth": public(initiate_auth),
            "RespondToAuthChallenge": public(respond_to_auth_challenge),
            "GetUser": public(get_user),
            "UpdateUserAttributes": public(update_user_attributes),
            "GetUserAttributeVerificationCode": public(get_user_attribute_verification_code),
            "VerifyUserAttribute": public(verify_user_attribute),
            "DeleteUser": public(delete_user),
            "ChangePassword": public(change_password),
            "GlobalSignOut": public(global_sign_out),
            "RevokeToken": public(revoke_token),
        },
    )


# ---- well-known documents ---------------------------------------------------------------------------


def well_known_routes(svc: CognitoIdpService) -> list[web.RouteDef]:
    """``GET /<poolId>/.well-known/jwks.json`` and ``.../openid-configuration``, as AWS serves them."""

    def json_response(document: Mapping[str, Any]) -> web.Response:
        response = web.json_response(document)
        # Verifiers in browsers fetch these documents too.
        response.headers["Access-Control-Allow-Origin"] = "*"
        response.headers["Cache-Control"] = "max-age=300"
        return response

    def not_found(pool_id: str) -> web.Response:
        response = web.json_response({"message": f"User pool {pool_id} does not exist."}, status=404)
        response.headers["Access-Control-Allow-Origin"] = "*"
        return response

    async def jwks(request: web.Request) -> web.Response:
        pool_id = request.match_info["pool_id"]
        try:
            return json_response(await svc.jwks(pool_id))
        except NotFoundError:
            return not_found(pool_id)

    async def openid_configuration(request: web.Request) -> web.Response:
        pool_id = request.match_info["pool_id"]
        issuer = svc.issuer(pool_id)
        if issuer.startswith(svc.issuer_base) and svc.issuer_base.startswith("https://cognito-idp."):
            # The default issuer names AWS's host; the keys themselves are served here.
            jwks_uri = f"{request.scheme}://{request.host}/{pool_id}/.well-known/jwks.json"
        else:
            jwks_uri = f"{issuer}/.well-known/jwks.json"
        try:
            return json_response(await svc.openid_configuration(pool_id, jwks_uri=jwks_uri))
        except NotFoundError:
            return not_found(pool_id)

    pattern = "/{pool_id:[\\w-]+_[0-9A-Za-z]+}/.well-known"
    return [
        web.get(f"{pattern}/jwks.json", jwks, allow_head=False),
        web.get(f"{pattern}/openid-configuration", openid_configuration, allow_head=False),
    ]
