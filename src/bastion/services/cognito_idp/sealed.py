"""Values handed to clients that only this server can read: SRP state, challenge sessions, refresh tokens.

Each is sealed (AES-GCM with the master key, ``bastion.sealing``) under its own purpose, which also names
the pool and app client, so a value issued to one client is refused by another. Nothing is stored between
InitiateAuth and RespondToAuthChallenge; every node sharing the master key can continue a sign-in.
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass

from bastion.auth.srp import ChallengeState, MalformedChallengeState
from bastion.sealing import Sealer, UnsealError

_SRP = "bastion/cognito-idp/srp-state/v1"
_SESSION = "bastion/cognito-idp/challenge-session/v1"
_REFRESH = "bastion/cognito-idp/refresh-token/v1"


def _purpose(kind: str, *parts: str) -> bytes:
    return "\x00".join((kind, *parts)).encode()


@dataclass(frozen=True, slots=True)
class ChallengeSession:
    """The Session of a NEW_PASSWORD_REQUIRED challenge: who proved the password, and when."""

    sub: str
    challenge: str
    issued_at: int  # Unix seconds


@dataclass(frozen=True, slots=True)
class RefreshTokenContent:
    pool_id: str
    client_id: str
    session_id: str


class Seals:
    def __init__(self, sealer: Sealer) -> None:
        self._sealer = sealer

    # SECRET_BLOCK: standard base64, because clients decode it with the standard alphabet.
    def srp_block(self, state: ChallengeState, *, pool_id: str, client_id: str) -> str:
        sealed = self._sealer.seal(state.to_bytes(), purpose=_purpose(_SRP, pool_id, client_id))
        return base64.b64encode(sealed).decode()

    def open_srp_block(self, block: str, *, pool_id: str, client_id: str) -> ChallengeState | None:
        try:
            raw = base64.b64decode(block, validate=True)
            opened = self._sealer.unseal(raw, purpose=_purpose(_SRP, pool_id, client_id))
            return ChallengeState.from_bytes(opened)
        except (binascii.Error, ValueError, UnsealError, MalformedChallengeState):
            return None

    def challenge_session(self, session: ChallengeSession, *, pool_id: str, client_id: str) -> str:
        body = json.dumps([session.sub, session.challenge, session.issued_at], separators=(",", ":"))
        return self._sealer.seal_text(body, purpose=_purpose(_SESSION, pool_id, client_id))

    def open_challenge_session(self, text: str, *, pool_id: str, client_id: str) -> ChallengeSession | None:
        try:
            sub, challenge, issued_at = json.loads(
                self._sealer.unseal_text(text, purpose=_purpose(_SESSION, pool_id, client_id))
            )
            return ChallengeSession(str(sub), str(challenge), int(issued_at))
        except (UnsealError, ValueError, TypeError):
            return None

    def refresh_token(self, content: RefreshTokenContent) -> str:
        body = json.dumps([content.pool_id, content.client_id, content.session_id], separators=(",", ":"))
        return self._sealer.seal_text(body, purpose=_purpose(_REFRESH))

    def open_refresh_token(self, token: str) -> RefreshTokenContent | None:
        try:
            pool_id, client_id, session_id = json.loads(
                self._sealer.unseal_text(token, purpose=_purpose(_REFRESH))
            )
            return RefreshTokenContent(str(pool_id), str(client_id), str(session_id))
        except (UnsealError, ValueError, TypeError):
            return None
