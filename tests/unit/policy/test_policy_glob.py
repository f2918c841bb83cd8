"""IAM wildcard matching: `*` any run, `?` one character, everything else literal."""

from __future__ import annotations

import pytest

from bastion.policy.glob import Glob, GlobSet, Wild, glob_match, parse_wildcards


@pytest.mark.parametrize(
    ("pattern", "text", "expected"),
    [
        ("*", "", True),
        ("*", "anything/at:all", True),
        ("", "", True),
        ("", "a", False),
        ("abc", "abc", True),
        ("abc", "abcd", False),
        ("abc", "ABC", False),  # case-sensitive
        ("a?c", "abc", True),
        ("a?c", "ac", False),
        ("a?c", "a/c", True),  # ? is any one character, `/` included
        ("a*", "a", True),
        ("a*", "a/b/c", True),  # * spans levels
        ("*c", "abc", True),
        ("*c", "abd", False),
        ("a*c", "ac", True),
        ("a*c", "abbbc", True),
        ("a*c", "abbbd", False),
        ("a*b*c", "aXbYc", True),
        ("a*b*c", "acb", False),
        ("a*a*a", "aa", False),
        ("a*a*a", "aaa", True),
        ("*ab*ab*", "xxabyyab", True),
        ("*ab*ab*", "xxab", False),
        ("??", "ab", True),
        ("??", "a", False),
        ("*?", "", False),
        ("*?", "x", True),
        ("a*?b", "ab", False),
        ("a*?b", "axb", True),
        ("*a?c*", "zzabczz", True),
        ("*a?c*", "zzacz", False),
        ("x*y?z*", "xAAyBz", True),
        ("x*y?z*", "xAAyz", False),
        # MQTT characters are literal
        ("topic/a/+", "topic/a/b", False),
        ("topic/a/+", "topic/a/+", True),
        ("topic/#", "topic/#", True),
        ("topic/#", "topic/x", False),
        ("topic/a/*", "topic/a/#", True),
        ("$aws/*", "$aws/things/t/shadow/update", True),
    ],
)
def test_glob_match(pattern: str, text: str, expected: bool) -> None:
    assert glob_match(pattern, text) is expected


def test_literal_parts_keep_wildcard_characters_literal() -> None:
    glob = Glob(("a", "*", "b"))  # a literal run that happens to contain `*`
    assert glob.match("a*b")
    assert not glob.match("axb")
    assert glob.exact == "a*b"


def test_parse_wildcards_collapses_star_runs() -> None:
    assert parse_wildcards("a**b") == ("a", Wild.STAR, "b")
    assert parse_wildcards("?*") == (Wild.ONE, Wild.STAR)


def test_classification() -> None:
    assert Glob.from_text("abc").exact == "abc"
    assert Glob.from_text("abc*").prefix == "abc"
    assert Glob.from_text("abc*").exact is None
    assert Glob.from_text("**").matches_all
    assert Glob.from_text("a?c*").prefix is None
    assert Glob.from_text("*abc").prefix is None


def test_glob_set_routes_each_kind() -> None:
    patterns = ["exact", "pre*", "*suf", "a?c"]
    globs = GlobSet(Glob.from_text(p) for p in patterns)
    assert globs.exact == frozenset({"exact"})
    assert globs.prefixes == ("pre",)
    assert len(globs.globs) == 2
    for text, expected in [("exact", True), ("prefix", True), ("xsuf", True), ("abc", True), ("nope", False)]:
        assert globs.match(text) is expected
    assert not GlobSet([])
    assert not GlobSet([]).match("")
    assert GlobSet([Glob.from_text("*")]).match("whatever")


def test_long_adversarial_input_is_fast() -> None:
    # Classic backtracking bomb for naive matchers: many stars against a near miss.
    pattern = "a*" * 50 + "b"
    text = "a" * 20_000
    assert not glob_match(pattern, text)
