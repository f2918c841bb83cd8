"""SubscriptionTrie: add/remove/match bookkeeping and both '#' semantics."""

from __future__ import annotations

import pytest

from bastion.mqtt import SubscriptionTrie


def matched(trie: SubscriptionTrie[str], topic: str) -> set[tuple[str, str]]:
    found = trie.match(topic)
    assert len(found) == len(set(found)), "a (filter, value) pair was reported twice"
    return set(found)


def test_exact_and_wildcard_filters() -> None:
    trie: SubscriptionTrie[str] = SubscriptionTrie()
    for topic_filter, client in [
        ("a/b", "c1"),
        ("a/b", "c2"),
        ("a/+", "c3"),
        ("a/#", "c4"),
        ("#", "c5"),
        ("+/b", "c6"),
        ("a/b/c", "c7"),
    ]:
        assert trie.add(topic_filter, client)
    assert len(trie) == 7
    assert matched(trie, "a/b") == {
        ("a/b", "c1"),
        ("a/b", "c2"),
        ("a/+", "c3"),
        ("a/#", "c4"),
        ("#", "c5"),
        ("+/b", "c6"),
    }
    assert matched(trie, "a") == {("#", "c5")}
    assert matched(trie, "a/") == {("a/+", "c3"), ("a/#", "c4"), ("#", "c5")}
    assert matched(trie, "a/b/c") == {("a/#", "c4"), ("#", "c5"), ("a/b/c", "c7")}
    assert matched(trie, "x/y") == {("#", "c5")}


def test_hash_matches_parent_is_a_choice() -> None:
    aws: SubscriptionTrie[int] = SubscriptionTrie()
    spec: SubscriptionTrie[int] = SubscriptionTrie(hash_matches_parent=True)
    for trie in (aws, spec):
        trie.add("sensor/#", 1)
        trie.add("+/#", 2)
    assert aws.match("sensor") == []
    assert set(spec.match("sensor")) == {("sensor/#", 1), ("+/#", 2)}
    assert set(aws.match("sensor/")) == {("sensor/#", 1), ("+/#", 2)}
    assert aws.hash_matches_parent is False
    assert spec.hash_matches_parent is True


def test_dollar_topics_skip_leading_wildcards() -> None:
    trie: SubscriptionTrie[str] = SubscriptionTrie()
    trie.add("#", "all")
    trie.add("+/x", "plus")
    trie.add("$aws/#", "aws")
    trie.add("$aws/+", "aws-plus")
    assert set(trie.match("$aws/x")) == {("$aws/#", "aws"), ("$aws/+", "aws-plus")}
    assert set(trie.match("aws/x")) == {("#", "all"), ("+/x", "plus")}


def test_duplicates_and_removal() -> None:
    trie: SubscriptionTrie[str] = SubscriptionTrie()
    assert trie.add("a/+/c", "v")
    assert not trie.add("a/+/c", "v")
    assert trie.add("a/+/c", "w")
    assert trie.add("a/b", "v")
    assert len(trie) == 3
    assert trie.values("a/+/c") == ("v", "w")
    assert trie.remove("a/+/c", "v")
    assert not trie.remove("a/+/c", "v")
    assert not trie.remove("a/+/x", "w")
    assert not trie.remove("nope", "w")
    assert trie.remove("a/b", "v")
    assert trie.match("a/b") == []
    assert trie.match("a/z/c") == [("a/+/c", "w")]
    assert trie.remove("a/+/c", "w")
    assert len(trie) == 0
    assert list(trie.filters()) == []
    # The branch is pruned, not left behind empty.
    assert trie._root.children == {}


def test_removing_a_prefix_filter_keeps_longer_ones() -> None:
    trie: SubscriptionTrie[int] = SubscriptionTrie()
    trie.add("a/+", 1)
    trie.add("a/+/c/#", 2)
    assert trie.remove("a/+", 1)
    assert trie.match("a/b/c/d") == [("a/+/c/#", 2)]
    assert sorted(trie.filters()) == ["a/+/c/#"]


def test_values_and_filters() -> None:
    trie: SubscriptionTrie[str] = SubscriptionTrie()
    trie.add("x", "1")
    trie.add("y/#", "2")
    assert sorted(trie.filters()) == ["x", "y/#"]
    assert trie.values("x") == ("1",)
    assert trie.values("y/#") == ("2",)
    assert trie.values("z/#") == ()
    assert trie.values("z") == ()


@pytest.mark.parametrize("bad", ["", "a/#/b", "a+", "\x00", "$share/g/a"])
def test_invalid_filters_are_refused(bad: str) -> None:
    with pytest.raises(ValueError, match="invalid topic filter"):
        SubscriptionTrie[str]().add(bad, "v")


def test_match_refuses_wildcard_topics() -> None:
    with pytest.raises(ValueError, match="wildcards"):
        SubscriptionTrie[str]().match("a/+")
