"""Assembly of the identity pool service from its parts, and its hook into STS."""

from __future__ import annotations

from dataclasses import dataclass

from bastion.clock import Clock
from bastion.sealing import Sealer
from bastion.services.cognito_identity.flows import IdentityFlows
from bastion.services.cognito_identity.logins import LoginVerifier
from bastion.services.cognito_identity.openid import ISSUER, OpenIdTokens
from bastion.services.cognito_identity.pools import IdentityPoolAdmin
from bastion.services.cognito_identity.user_pool_tokens import (
    NoUserPools,
    UserPoolDirectory,
    UserPoolIdTokens,
)
from bastion.services.cognito_identity.web_identity import WebIdentityByIssuer
from bastion.services.iam.service import IamService
from bastion.services.sts.service import StsService
from bastion.storage.cognito_identity import CognitoIdentityRepository


@dataclass(frozen=True, slots=True)
class CognitoIdentityService:
    admin: IdentityPoolAdmin
    flows: IdentityFlows
    openid: OpenIdTokens
    user_pool_tokens: UserPoolIdTokens

    def use_user_pools(self, directory: UserPoolDirectory) -> None:
        """Verify user pool ID tokens with ``directory`` from now on (wired once user pools exist)."""
        self.user_pool_tokens.directory = directory


def build_cognito_identity(
    repo: CognitoIdentityRepository,
    *,
    iam: IamService,
    sts: StsService,
    sealer: Sealer,
    clock: Clock,
    region: str,
    account_id: str,
    user_pools: UserPoolDirectory | None = None,
) -> CognitoIdentityService:
    """The service, with STS set to accept its OpenID tokens (the basic flow's AssumeRoleWithWebIdentity)."""
    admin = IdentityPoolAdmin(repo, region=region, account_id=account_id, clock=clock)
    openid = OpenIdTokens(repo, sealer, clock)
    tokens = UserPoolIdTokens(user_pools or NoUserPools(), clock)
    flows = IdentityFlows(
        repo=repo, admin=admin, logins=LoginVerifier(tokens), openid=openid, sts=sts, iam=iam, clock=clock
    )
    sts.web_identity = WebIdentityByIssuer({ISSUER: openid}, fallback=sts.web_identity)
    return CognitoIdentityService(admin=admin, flows=flows, openid=openid, user_pool_tokens=tokens)
