"""Topic matching against a slow regex reference, and the trie against brute force."""

from __future__ import annotations

import re

from hypothesis import given, settings
from hypothesis import strategies as st

from bastion.mqtt import SubscriptionTrie, is_valid_topic_filter, is_valid_topic_name, topic_matches

FAST = settings(max_examples=300, deadline=1000)

first_levels = st.sampled_from(["a", "b", "", "$SYS", "$aws"])
levels = st.sampled_from(["a", "b", "", "c"])
topics = (
    st.tuples(first_levels, st.lists(levels, max_size=4)).map(lambda t: "/".join([t[0], *t[1]])).filter(bool)
)


@st.composite
def filters(draw: st.DrawFn) -> str:
    parts = [draw(st.sampled_from(["a", "b", "", "+", "$SYS", "$aws"]))]
    parts += draw(st.lists(st.sampled_from(["a", "b", "", "+"]), max_size=4))
    if draw(st.booleans()):
        parts.append("#")
        if draw(st.booleans()) and len(parts) > 1:
            parts = parts[-1:]  # the bare "#"
    return "/".join(parts) or "a"


def reference_match(topic_filter: str, topic: str, hash_matches_parent: bool) -> bool:
    """Translate the filter into a regular expression: slow, but each rule is visible."""
    if topic.startswith("$") and topic_filter[0] in "+#":
        return False
    parts = topic_filter.split("/")
    tail = ""
    if parts[-1] == "#":
        parts = parts[:-1]
        if not parts:
            return re.fullmatch(".*", topic, re.DOTALL) is not None
        tail = "(/.*)?" if hash_matches_parent else "/.*"
    body = "/".join("[^/]*" if part == "+" else re.escape(part) for part in parts)
    return re.fullmatch(body + tail, topic, re.DOTALL) is not None


@FAST
@given(filters(), topics, st.booleans())
def test_matching_agrees_with_reference(topic_filter: str, topic: str, hash_matches_parent: bool) -> None:
    assert is_valid_topic_filter(topic_filter)
    assert topic_matches(topic_filter, topic, hash_matches_parent=hash_matches_parent) == reference_match(
        topic_filter, topic, hash_matches_parent
    )


@FAST
@given(st.text(st.sampled_from("ab/+#$"), max_size=8))
def test_filter_validity_agrees_with_level_rule(candidate: str) -> None:
    parts = candidate.split("/")
    expected = bool(candidate) and all(
        (p == "#" and i == len(parts) - 1) or p == "+" or not ({"+", "#"} & set(p))
        for i, p in enumerate(parts)
    )
    if candidate.startswith("$share/"):
        return
    assert is_valid_topic_filter(candidate) == expected
    assert is_valid_topic_name(candidate) == (bool(candidate) and not ({"+", "#"} & set(candidate)))


operations = st.lists(
    st.tuples(st.sampled_from(["add", "add", "remove"]), filters() | topics, st.integers(0, 3)), max_size=40
)


@settings(max_examples=200, deadline=2000)
@given(operations, st.lists(topics, min_size=1, max_size=10), st.booleans())
def test_trie_equals_brute_force(
    ops: list[tuple[str, str, int]], probes: list[str], hash_matches_parent: bool
) -> None:
    trie: SubscriptionTrie[int] = SubscriptionTrie(hash_matches_parent=hash_matches_parent)
    current: set[tuple[str, int]] = set()
    for action, topic_filter, value in ops:
        if action == "add":
            assert trie.add(topic_filter, value) == ((topic_filter, value) not in current)
            current.add((topic_filter, value))
        else:
            assert trie.remove(topic_filter, value) == ((topic_filter, value) in current)
            current.discard((topic_filter, value))
    assert len(trie) == len(current)
    assert set(trie.filters()) == {f for f, _ in current}
    for topic in probes:
        found = trie.match(topic)
        assert len(found) == len(set(found))
        expected = {(f, v) for f, v in current if reference_match(f, topic, hash_matches_parent)}
        assert set(found) == expected
