"""Amazon Cognito user pools: pools and app clients, users, sign-up, SRP and password sign-in, tokens.

See ``service.CognitoIdpService`` and docs/cognito-user-pools.md.
"""

from bastion.services.cognito_idp.service import CognitoIdpService, default_issuer_base

__all__ = ["CognitoIdpService", "default_issuer_base"]
