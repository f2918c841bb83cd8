"""Plain HTTP values the protocol layer reads and writes; no web framework reaches below this line."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

HeaderInput = Iterable[tuple[str, str]] | Mapping[str, str]


def _pairs(headers: HeaderInput) -> tuple[tuple[str, str], ...]:
    if isinstance(headers, Mapping):
        return tuple((str(k), str(v)) for k, v in headers.items())
    return tuple((str(k), str(v)) for k, v in headers)


@dataclass(frozen=True)
class HttpRequest:
    """One request exactly as received.

    ``raw_path`` is still percent-encoded (``/topics/a%2Fb``): routing splits it on ``/`` before decoding,
    and SigV4 canonicalizes the encoded form. ``headers`` keeps every header in arrival order (SigV4 needs
    repeated headers); ``header_map`` is the lower-cased lookup view, repeated values joined by ``", "``.
    """

    method: str
    raw_path: str
    raw_query: str = ""
    headers: tuple[tuple[str, str], ...] = ()
    body: bytes = b""
    header_map: Mapping[str, str] = field(init=False, repr=False, compare=False)

    def __init__(
        self,
        method: str,
        raw_path: str,
        raw_query: str = "",
        headers: HeaderInput = (),
        body: bytes = b"",
    ) -> None:
        pairs = _pairs(headers)
        joined: dict[str, str] = {}
        for name, value in pairs:
            key = name.lower()
            joined[key] = f"{joined[key]}, {value}" if key in joined else value
        object.__setattr__(self, "method", method.upper())
        object.__setattr__(self, "raw_path", raw_path or "/")
        object.__setattr__(self, "raw_query", raw_query)
        object.__setattr__(self, "headers", pairs)
        object.__setattr__(self, "body", bytes(body))
        object.__setattr__(self, "header_map", joined)

    def header(self, name: str) -> str | None:
        return self.header_map.get(name.lower())


@dataclass(frozen=True, slots=True)
class HttpResponse:
    status: int
    headers: list[tuple[str, str]]
    body: bytes

    def header(self, name: str) -> str | None:
        wanted = name.lower()
        for key, value in self.headers:
            if key.lower() == wanted:
                return value
        return None
