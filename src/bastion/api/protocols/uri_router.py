"""rest-json operation lookup: method + raw path (+ literal query keys) against each ``requestUri``.

Built once per service into a trie of path segments. Matching prefers, at every segment, a literal over
a ``{label}`` over a greedy ``{label+}``, backtracking when a branch dead-ends, so
``/things/{thingName}/shadow`` and ``/things/{thingName}`` never shadow each other. The raw path is split
on ``/`` *before* each segment is percent-decoded: ``/topics/a%2Fb`` has two segments and its topic label
is ``a/b``. A ``requestUri`` may carry literal query parts (Lambda ``/2018-10-31/layers?find=LayerVersion``);
they must be present in the request, and among routes ending at the same place the one requiring more of
them wins.
"""

from __future__ import annotations

import urllib.parse
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache

from bastion.api.models import service_model

# Labels the model declares plain that take the rest of the path, slashes included: botocore sends a
# topic percent-encoded (``/topics/a%2Fb``), curl users post to ``/topics/a/b``, and AWS accepts both.
GREEDY_LABELS: Mapping[str, Mapping[str, str]] = {
    "iot-data": {"Publish": "topic", "GetRetainedMessage": "topic"},
}


@dataclass(frozen=True, slots=True)
class Route:
    operation: str
    method: str
    # Label names in template order; a greedy label takes all segments between its neighbours.
    labels: tuple[str, ...]
    greedy_suffix: tuple[str, ...] | None  # literal segments after a greedy label; None: no greedy label
    query_literals: tuple[tuple[str, str | None], ...]


@dataclass
class _Node:
    literals: dict[str, _Node] = field(default_factory=dict)
    label: _Node | None = None
    routes: list[Route] = field(default_factory=list)  # routes whose template ends here
    greedy: list[Route] = field(default_factory=list)  # routes whose greedy label starts here


@dataclass(frozen=True, slots=True)
class Match:
    operation: str
    labels: dict[str, str]


class RestRouter:
    def __init__(self, routes: Sequence[tuple[str, str, str]]) -> None:
        """``routes``: (operation name, HTTP method, requestUri)."""
        self._root = _Node()
        for operation, method, request_uri in routes:
            self._add(operation, method.upper(), request_uri)
        self._sort(self._root)

    def _add(self, operation: str, method: str, request_uri: str) -> None:
        path, _, query = request_uri.partition("?")
        literals = tuple(
            (key, value if sep else None)
            for key, sep, value in (part.partition("=") for part in query.split("&") if part)
        )
        node = self._root
        labels: list[str] = []
        segments = path.split("/")[1:]
        for index, segment in enumerate(segments):
            if segment.startswith("{") and segment.endswith("+}"):
                labels.append(segment[1:-2])
                route = Route(operation, method, tuple(labels), tuple(segments[index + 1 :]), literals)
                node.greedy.append(route)
                return
            if segment.startswith("{") and segment.endswith("}"):
                labels.append(segment[1:-1])
                if node.label is None:
                    node.label = _Node()
                node = node.label
            else:
                node = node.literals.setdefault(segment, _Node())
        node.routes.append(Route(operation, method, tuple(labels), None, literals))

    def _sort(self, node: _Node) -> None:
        # More required query literals first: the most specific route wins among equals.
        node.routes.sort(key=lambda r: -len(r.query_literals))
        node.greedy.sort(key=lambda r: (-len(r.greedy_suffix or ()), -len(r.query_literals)))
        for child in node.literals.values():
            self._sort(child)
        if node.label is not None:
            self._sort(node.label)

    def match(self, method: str, raw_path: str, query: Mapping[str, Sequence[str]]) -> Match | None:
        """The operation for a request, or ``None``. Raises ``ValueError`` on undecodable segments."""
        raw_segments = (raw_path or "/").split("/")[1:]
        segments = [_decode_segment(segment) for segment in raw_segments]
        return self._walk(self._root, segments, 0, [], method.upper(), query)

    def _walk(
        self,
        node: _Node,
        segments: list[str],
        index: int,
        captured: list[str],
        method: str,
        query: Mapping[str, Sequence[str]],
    ) -> Match | None:
        if index == len(segments):
            return _pick(node.routes, captured, method, query)
        segment = segments[index]
        child = node.literals.get(segment)
        if child is not None:
            found = self._walk(child, segments, index + 1, captured, method, query)
            if found is not None:
                return found
        if node.label is not None and segment:
            found = self._walk(node.label, segments, index + 1, [*captured, segment], method, query)
            if found is not None:
                return found
        for route in node.greedy:
            suffix = route.greedy_suffix or ()
            end = len(segments) - len(suffix)
            if end <= index or tuple(segments[end:]) != suffix:
                continue
            taken = "/".join(segments[index:end])
            if taken and route.method == method and _query_matches(route, query):
                return Match(route.operation, dict(zip(route.labels, [*captured, taken], strict=True)))
        return None


def _pick(
    routes: Sequence[Route], captured: list[str], method: str, query: Mapping[str, Sequence[str]]
) -> Match | None:
    for route in routes:
        if route.method == method and _query_matches(route, query):
            return Match(route.operation, dict(zip(route.labels, captured, strict=True)))
    return None


def _query_matches(route: Route, query: Mapping[str, Sequence[str]]) -> bool:
    for key, value in route.query_literals:
        present = query.get(key)
        if present is None or (value is not None and value not in present):
            return False
    return True


def _decode_segment(segment: str) -> str:
    # Strict UTF-8: a label that is not text is not a valid request.
    return urllib.parse.unquote(segment, encoding="utf-8", errors="strict")


@cache
def router_for(service: str) -> RestRouter:
    model = service_model(service)
    greedy = GREEDY_LABELS.get(service, {})
    routes = []
    for name in model.operation_names:
        http = model.operation_model(name).http
        uri = http.get("requestUri", "/")
        label = greedy.get(name)
        if label is not None:
            uri = uri.replace(f"{{{label}}}", f"{{{label}+}}")
        routes.append((name, http.get("method", "POST"), uri))
    return RestRouter(routes)
