"""Errors of the SRP handshake, independent of any wire protocol.

The Cognito front decides what the client sees; AWS answers these conditions as follows:

==========================  ==================================================================
class                       cognito-idp error
==========================  ==================================================================
MalformedSrpA               InvalidParameterException (SRP_A is not a hex number of sane size)
IllegalSrpA                 NotAuthorizedException (A mod N == 0, the SRP safety check)
MalformedChallengeState     NotAuthorizedException (PASSWORD_CLAIM_SECRET_BLOCK is not ours)
==========================  ==================================================================

A wrong password is not an exception: ``check_claim`` and ``verify_password`` return False.
"""

from __future__ import annotations

from typing import ClassVar


class SrpError(ValueError):
    """Base class: ``code`` names the condition, the message says what was wrong."""

    code: ClassVar[str] = "srp_error"


class MalformedSrpA(SrpError):
    """SRP_A is empty, not plain hex digits, or longer than any value of the group can be."""

    code = "malformed_srp_a"


class IllegalSrpA(SrpError):
    """A is 0 modulo N (or not below N): a client sending it could sign in without the password."""

    code = "illegal_srp_a"


class MalformedChallengeState(SrpError):
    """Bytes handed to ``ChallengeState.from_bytes`` are not a challenge state this module wrote."""

    code = "malformed_challenge_state"
