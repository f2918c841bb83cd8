"""A subscription index: topic filters -> subscriber values, queried with a topic name.

Filters without wildcards live in a plain dict, so the common AWS IoT case (devices subscribing to their
own exact topics) costs one lookup per published message; only wildcard filters go into the level trie.
The trie walk visits at most the nodes on paths that can still match, so its cost depends on the
topic's depth and the wildcards along it, not on the number of subscriptions.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterator
from typing import Generic, TypeVar

from bastion.mqtt.topics import has_wildcard, is_valid_topic_filter

__all__ = ["SubscriptionTrie"]

V = TypeVar("V", bound=Hashable)


class _Node(Generic[V]):
    __slots__ = ("children", "filter", "values")

    def __init__(self) -> None:
        self.children: dict[str, _Node[V]] = {}
        # Values of the filter that ends at this node, in insertion order (a dict used as an ordered set).
        self.values: dict[V, None] = {}
        self.filter = ""


class SubscriptionTrie(Generic[V]):
    """Maps valid, non-shared topic filters to sets of hashable values.

    Strip ``$share/<name>/`` before adding a shared subscription (see
    :func:`~bastion.mqtt.topics.parse_shared_filter`) and keep the group in the value.

    Args:
        hash_matches_parent: False (AWS IoT Core) means ``a/#`` does not match ``a``; True follows the
            MQTT specifications.
    """

    __slots__ = ("_count", "_exact", "_hash_matches_parent", "_root")

    def __init__(self, *, hash_matches_parent: bool = False) -> None:
        self._hash_matches_parent = hash_matches_parent
        self._exact: dict[str, dict[V, None]] = {}
        self._root: _Node[V] = _Node()
        self._count = 0

    @property
    def hash_matches_parent(self) -> bool:
        return self._hash_matches_parent

    def __len__(self) -> int:
        """Number of (filter, value) pairs."""
        return self._count

    def add(self, topic_filter: str, value: V) -> bool:
        """Subscribe ``value`` to ``topic_filter``; False if it was already subscribed."""
        if not is_valid_topic_filter(topic_filter, allow_shared=False):
            raise ValueError(f"invalid topic filter {topic_filter!r}")
        if has_wildcard(topic_filter):
            node = self._root
            for level in topic_filter.split("/"):
                child = node.children.get(level)
                if child is None:
                    child = node.children[level] = _Node()
                node = child
            node.filter = topic_filter
            values = node.values
        else:
            values = self._exact.setdefault(topic_filter, {})
        if value in values:
            return False
        values[value] = None
        self._count += 1
        return True

    def remove(self, topic_filter: str, value: V) -> bool:
        """Unsubscribe ``value`` from ``topic_filter``; False if it was not subscribed."""
        if not has_wildcard(topic_filter):
            values = self._exact.get(topic_filter)
            if values is None or value not in values:
                return False
            del values[value]
            if not values:
                del self._exact[topic_filter]
            self._count -= 1
            return True
        path: list[tuple[_Node[V], str]] = []
        node = self._root
        for level in topic_filter.split("/"):
            child = node.children.get(level)
            if child is None:
                return False
            path.append((node, level))
            node = child
        if value not in node.values:
            return False
        del node.values[value]
        self._count -= 1
        # Prune the branch back up to the first node still in use.
        for parent, level in reversed(path):
            child = parent.children[level]
            if child.values or child.children:
                break
            del parent.children[level]
        return True

    def values(self, topic_filter: str) -> tuple[V, ...]:
        """The values subscribed to exactly this filter."""
        if not has_wildcard(topic_filter):
            return tuple(self._exact.get(topic_filter, ()))
        node = self._root
        for level in topic_filter.split("/"):
            child = node.children.get(level)
            if child is None:
                return ()
            node = child
        return tuple(node.values)

    def filters(self) -> Iterator[str]:
        """Every filter with at least one value."""
        yield from self._exact
        stack = [self._root]
        while stack:
            node = stack.pop()
            if node.values:
                yield node.filter
            stack.extend(node.children.values())

    def match(self, topic: str) -> list[tuple[str, V]]:
        """Every (filter, value) whose filter matches the topic name ``topic``.

        Raises ValueError if ``topic`` contains a wildcard (it would be a filter, not a topic name).
        """
        if has_wildcard(topic):
            raise ValueError(f"topic names have no wildcards: {topic!r}")
        found: list[tuple[str, V]] = []
        exact = self._exact.get(topic)
        if exact:
            found.extend((topic, value) for value in exact)
        root = self._root
        if not root.children:
            return found
        levels = topic.split("/")
        depth = len(levels)
        # Section 4.7.2: wildcards at the first level do not match topics starting with "$".
        dollar = topic.startswith("$")
        stack: list[tuple[_Node[V], int]] = [(root, 0)]
        while stack:
            node, index = stack.pop()
            children = node.children
            if index == depth:
                if node.values:
                    found.extend((node.filter, value) for value in node.values)
                if self._hash_matches_parent:
                    hash_node = children.get("#")
                    if hash_node is not None:
                        found.extend((hash_node.filter, value) for value in hash_node.values)
                continue
            if not (dollar and index == 0):
                hash_node = children.get("#")
                if hash_node is not None:
                    found.extend((hash_node.filter, value) for value in hash_node.values)
                plus_node = children.get("+")
                if plus_node is not None:
                    stack.append((plus_node, index + 1))
            child = children.get(levels[index])
            if child is not None:
                stack.append((child, index + 1))
        return found
