"""Building the user-pool service from the process settings (the only place it reads them)."""

from __future__ import annotations

from typing import cast

from bastion.clock import Clock
from bastion.config import Settings
from bastion.sealing import Sealer
from bastion.services.cognito_idp.delivery import (
    CodeSender,
    OutboxSender,
    RoutedSender,
    SmtpConfig,
    SmtpSecurity,
    SmtpSender,
)
from bastion.services.cognito_idp.service import CognitoIdpService
from bastion.storage.cognito_idp import CognitoIdpRepository


def code_sender(settings: Settings, repo: CognitoIdpRepository, sealer: Sealer, clock: Clock) -> CodeSender:
    """SMTP for e-mail when a mail server is configured, else the outbox; text messages always go to the
    outbox (Bastion has no SMS gateway)."""
    outbox = OutboxSender(repo, sealer, clock)
    if settings.smtp_host is None or settings.smtp_from is None:
        return outbox
    smtp = SmtpSender(
        SmtpConfig(
            host=settings.smtp_host,
            port=settings.smtp_port,
            sender=settings.smtp_from,
            security=cast(SmtpSecurity, settings.smtp_security),
            username=settings.smtp_username,
            password=settings.smtp_password,
        )
    )
    return RoutedSender(email=smtp, sms=outbox)


def build_cognito_idp(
    repo: CognitoIdpRepository, *, settings: Settings, sealer: Sealer, master_key: bytes, clock: Clock
) -> CognitoIdpService:
    return CognitoIdpService(
        repo,
        sealer=sealer,
        master_key=master_key,
        clock=clock,
        region=settings.region,
        account_id=settings.account_id,
        issuer_base=settings.cognito_issuer_base,
        sender=code_sender(settings, repo, sealer, clock),
    )
