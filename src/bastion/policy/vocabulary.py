"""Service-specific validation hooks.

The parser enforces the grammar shared by IAM and AWS IoT policies; a :class:`Vocabulary`
adds what one service requires on top (its size rule, its action names, its Sid rules).
Each hook sees an element only after it passed the grammar checks and returns findings;
an error finding makes the document invalid. The base class accepts everything.
"""

from __future__ import annotations

from collections.abc import Iterable

from bastion.policy.document import Statement
from bastion.policy.findings import Finding, make_finding, quote


class Vocabulary:
    """Accept-everything base; subclass and override the hooks you need."""

    def check_text(self, text: str) -> Iterable[Finding]:
        """The raw document text (for size rules such as IoT's non-whitespace limit)."""
        return ()

    def check_sid(self, sid: str, location: str) -> Iterable[Finding]:
        return ()

    def check_action(self, action: str, location: str) -> Iterable[Finding]:
        return ()

    def check_resource(self, resource: str, location: str) -> Iterable[Finding]:
        return ()

    def check_condition(self, operator: str, key: str, location: str) -> Iterable[Finding]:
        return ()

    def check_statement(self, statement: Statement, location: str) -> Iterable[Finding]:
        """A whole statement that parsed without errors (for lint rules across elements)."""
        return ()


class IamVocabulary(Vocabulary):
    """Rules IAM adds for its own policies: a Sid is plain ASCII letters and digits."""

    def check_sid(self, sid: str, location: str) -> Iterable[Finding]:
        if sid and not (sid.isascii() and sid.isalnum()):
            yield make_finding("INVALID_SID", location, sid=quote(sid))
