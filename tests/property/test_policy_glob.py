"""The IAM glob matcher agrees with a slow reference (a regex built with re.escape here, in
the test only) on every pattern and text over a small alphabet."""

from __future__ import annotations

import re

from hypothesis import given, settings
from hypothesis import strategies as st

from bastion.policy.glob import Glob, GlobSet, glob_match

ALPHABET = "ab/+#:$"
patterns = st.text(alphabet=ALPHABET + "*?", max_size=12)
texts = st.text(alphabet=ALPHABET + "*?", max_size=16)


def reference(pattern: str, text: str) -> bool:
    regex = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.fullmatch(regex, text, flags=re.DOTALL) is not None


def dynamic(pattern: str, text: str) -> bool:
    """Independent oracle: the textbook dynamic-programming matcher."""
    rows, cols = len(pattern), len(text)
    table = [[False] * (cols + 1) for _ in range(rows + 1)]
    table[0][0] = True
    for i in range(1, rows + 1):
        table[i][0] = table[i - 1][0] and pattern[i - 1] == "*"
        for j in range(1, cols + 1):
            p = pattern[i - 1]
            if p == "*":
                table[i][j] = table[i - 1][j] or table[i][j - 1]
            else:
                table[i][j] = table[i - 1][j - 1] and (p == "?" or p == text[j - 1])
    return table[rows][cols]


@settings(max_examples=600, deadline=None)
@given(patterns, texts)
def test_agrees_with_reference(pattern: str, text: str) -> None:
    expected = reference(pattern, text)
    assert dynamic(pattern, text) is expected
    assert glob_match(pattern, text) is expected


@settings(max_examples=200, deadline=None)
@given(patterns, st.data())
def test_pattern_matches_its_own_instances(pattern: str, data: st.DataObject) -> None:
    # Build a text the pattern must match by filling each wildcard.
    text = "".join(
        data.draw(st.text(alphabet=ALPHABET, max_size=3))
        if c == "*"
        else data.draw(st.sampled_from(ALPHABET))
        if c == "?"
        else c
        for c in pattern
    )
    assert glob_match(pattern, text)


@settings(max_examples=150, deadline=None)
@given(st.lists(patterns, max_size=5), texts)
def test_glob_set_is_any_of_its_patterns(pattern_list: list[str], text: str) -> None:
    globs = GlobSet(Glob.from_text(p) for p in pattern_list)
    assert globs.match(text) is any(reference(p, text) for p in pattern_list)
