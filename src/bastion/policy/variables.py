"""Policy variables (``${aws:username}``, ``${iot:ClientId}``, ``${key, 'default'}``) and the
patterns that carry them.

A :class:`Pattern` is a Resource entry or a condition value after parsing: a tuple of
literal text, wildcards and variables. Substituted values are always literal (a client id
of ``*`` does not become a wildcard), and so are the escapes ``${*}``, ``${?}`` and
``${$}``. Variables exist only in documents whose Version is 2012-10-17; elsewhere
``${...}`` is plain text.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field

from bastion.policy.glob import Part, Wild, parse_wildcards

# Characters that cannot appear in a variable's key: they would make the ``${...}`` syntax
# ambiguous (``}`` ends it, ``,`` starts a default, ``'`` quotes the default).
_KEY_FORBIDDEN = frozenset("${}',")
_ESCAPES = {"*": "*", "?": "?", "$": "$"}


@dataclass(frozen=True)
class Var:
    """A reference to a request-context key, with an optional default value."""

    name: str
    default: str | None = None
    key: str = field(init=False, compare=False, repr=False)

    def __post_init__(self) -> None:
        # Context keys are case-insensitive, so lookups use the lower-cased name.
        object.__setattr__(self, "key", self.name.lower())

    def render(self) -> str:
        if self.default is None:
            return "${" + self.name + "}"
        return "${" + self.name + ", '" + self.default + "'}"


Token = str | Wild | Var
Lookup = Callable[[str], "str | None"]


def _merge(tokens: Iterable[Token]) -> tuple[Token, ...]:
    out: list[Token] = []
    for token in tokens:
        if isinstance(token, str):
            if not token:
                continue
            if out and isinstance(out[-1], str):
                out[-1] = out[-1] + token
                continue
        elif token is Wild.STAR and out and out[-1] is Wild.STAR:
            continue
        out.append(token)
    return tuple(out)


def _variable(body: str) -> str | Var | None:
    """Interpret the text between ``${`` and ``}``: an escape, a variable, or nothing valid."""
    if body in _ESCAPES:
        return _ESCAPES[body]
    name, comma, rest = body.partition(",")
    name = name.strip()
    if not name or any(char in _KEY_FORBIDDEN for char in name):
        return None
    if not comma:
        return Var(name)
    rest = rest.strip()
    if len(rest) < 2 or rest[0] != "'" or rest[-1] != "'" or "'" in rest[1:-1] or "}" in rest:
        return None
    return Var(name, rest[1:-1])


def _raw(text: str, wildcards: bool) -> tuple[Part, ...]:
    if not text:
        return ()
    return parse_wildcards(text) if wildcards else (text,)


@dataclass(frozen=True)
class Pattern:
    """A parsed Resource entry or condition value.

    ``wildcards``: ``*`` and ``?`` written in the policy are wildcards here (Resource,
    ``StringLike``, ``Arn*``); elsewhere they are literal. ``variables``: ``${...}`` is
    interpreted (Version 2012-10-17 and an element where AWS substitutes variables).
    """

    parts: tuple[Token, ...]
    wildcards: bool = False
    variables: bool = False

    @classmethod
    def parse(
        cls, text: str, *, wildcards: bool, variables: bool, problems: list[str] | None = None
    ) -> Pattern:
        """Parse policy text; malformed ``${...}`` stays literal and is reported in ``problems``."""
        if not variables or "${" not in text:
            return cls(_merge(_raw(text, wildcards)), wildcards, variables)
        tokens: list[Token] = []
        pending = 0  # start of text not yet emitted
        cursor = 0
        while True:
            start = text.find("${", cursor)
            if start < 0:
                break
            close = text.find("}", start + 2)
            if close < 0:
                if problems is not None:
                    problems.append(text[start:])
                break
            item = _variable(text[start + 2 : close])
            if item is None:
                if problems is not None:
                    problems.append(text[start : close + 1])
                cursor = start + 2
                continue
            tokens.extend(_raw(text[pending:start], wildcards))
            tokens.append(item)
            pending = cursor = close + 1
        tokens.extend(_raw(text[pending:], wildcards))
        return cls(_merge(tokens), wildcards, variables)

    @property
    def has_variables(self) -> bool:
        return any(isinstance(token, Var) for token in self.parts)

    @property
    def has_wildcards(self) -> bool:
        return any(isinstance(token, Wild) for token in self.parts)

    def variable_keys(self) -> frozenset[str]:
        return frozenset(token.key for token in self.parts if isinstance(token, Var))

    def literal(self) -> str | None:
        """The text this pattern stands for, if it is plain literal text."""
        if all(isinstance(token, str) for token in self.parts):
            return "".join(token for token in self.parts if isinstance(token, str))
        return None

    def resolve(self, lookup: Lookup) -> tuple[Part, ...] | None:
        """Substitute every variable; ``None`` if one has neither a value nor a default."""
        out: list[Part] = []
        for token in self.parts:
            if isinstance(token, Var):
                value = lookup(token.key)
                if value is None:
                    value = token.default
                    if value is None:
                        return None
                out.append(value)
            else:
                out.append(token)
        return tuple(out)

    def resolve_text(self, lookup: Lookup) -> str | None:
        """Like :meth:`resolve` for patterns without wildcards, joined into one string."""
        out: list[str] = []
        for token in self.parts:
            if isinstance(token, Var):
                value = lookup(token.key)
                if value is None:
                    value = token.default
                    if value is None:
                        return None
                out.append(value)
            elif isinstance(token, str):
                out.append(token)
            else:
                out.append(token.value)
        return "".join(out)

    def bind(self, values: Mapping[str, str]) -> Pattern:
        """Substitute the variables whose lower-cased key is in ``values``; keep the rest."""
        if not self.has_variables:
            return self
        tokens: list[Token] = []
        for token in self.parts:
            if isinstance(token, Var) and token.key in values:
                tokens.append(values[token.key])
            else:
                tokens.append(token)
        return Pattern(_merge(tokens), self.wildcards, self.variables)

    def render(self) -> str:
        """Policy text that parses back to this pattern (in the same element and Version)."""
        out: list[str] = []
        parts = self.parts
        for index, token in enumerate(parts):
            if isinstance(token, Var):
                out.append(token.render())
            elif isinstance(token, Wild):
                out.append(token.value)
            else:
                following = parts[index + 1] if index + 1 < len(parts) else None
                out.append(self._escape(token, following))
        return "".join(out)

    def _escape(self, text: str, following: Token | None) -> str:
        if not self.variables:
            # Without variables nothing can be escaped, and parsing never produces a literal
            # wildcard character in a wildcard context, so the text is already exact.
            return text
        if isinstance(following, Var):
            after_last = "$"
        elif isinstance(following, Wild):
            after_last = following.value
        else:
            after_last = ""
        out: list[str] = []
        for index, char in enumerate(text):
            if self.wildcards and (char == "*" or char == "?"):
                out.append("${" + char + "}")
            elif char == "$":
                next_char = text[index + 1] if index + 1 < len(text) else after_last
                out.append("${$}" if next_char == "{" else "$")
            else:
                out.append(char)
        return "".join(out)


def text_resolver(parts: tuple[Token, ...]) -> Callable[[Lookup], str | None]:
    """A function that substitutes the variables of ``parts`` and joins the text.

    The common shapes (``prefix${var}`` and ``prefix${var}suffix``) get closures without a
    loop, since resolving resource templates is the cold path's main cost.
    """
    texts = [token.value if isinstance(token, Wild) else token for token in parts]
    variables = [token for token in texts if isinstance(token, Var)]
    if len(variables) == 1 and len(texts) <= 3:
        var = variables[0]
        index = texts.index(var)
        head = "".join(t for t in texts[:index] if isinstance(t, str))
        tail = "".join(t for t in texts[index + 1 :] if isinstance(t, str))
        key, default = var.key, var.default

        def one(lookup: Lookup) -> str | None:
            value = lookup(key)
            if value is None:
                value = default
                if value is None:
                    return None
            return head + value + tail

        return one
    pattern = Pattern(tuple(parts))
    return pattern.resolve_text
