"""memo.memoized: what the engine remembers, and what it must not (results of hostile values)."""

from __future__ import annotations

import pytest

from mitmproxy_cors.engine.memo import key_chars, memoized


def test_memoized_remembers_results_of_short_arguments():
    calls = []

    @memoized(maxsize=8, max_key_chars=10)
    def double(value, times=2):
        calls.append(value)
        return value * times

    assert double("abc") == "abcabc" and double("abc") == "abcabc"
    assert double("abc", 3) == "abcabcabc"
    assert calls == ["abc", "abc"]
    assert double.cache_info().currsize == 2
    assert double.__name__ == "double" and double.__wrapped__("x") == "xx"


def test_memoized_keeps_at_most_one_result_of_long_arguments():
    calls = []

    @memoized(maxsize=8, max_key_chars=10)
    def joined(*parts):
        calls.append(parts)
        return "".join(parts)

    assert joined("ab") == "ab" and joined("ab") == "ab" and len(calls) == 1
    long = "x" * 11
    assert joined(long) == long
    assert joined.cache_info().currsize == 1  # the short result left with the rest of the table
    assert joined("x" * 6, "y" * 5) == "x" * 6 + "y" * 5  # 11 characters over two arguments
    assert joined.cache_info().currsize == 1
    for i in range(20):
        assert joined(str(i) * 11) == str(i) * 11
        assert joined.cache_info().currsize == 1
    assert joined("ab") == "ab" and joined.cache_info().currsize == 2


def test_memoized_stays_bounded():
    @memoized(maxsize=4)
    def ident(value):
        return value

    for i in range(100):
        ident(str(i))
    assert ident.cache_info().currsize == 4


def test_memoized_passes_exceptions_on_and_remembers_nothing():
    @memoized()
    def fails(value):
        raise ValueError(value)

    with pytest.raises(ValueError):
        fails("a")
    assert fails.cache_info().currsize == 0


def test_key_chars_counts_the_characters_an_argument_holds():
    class Measured:
        chars = 7

    assert key_chars("abc") == 3 and key_chars(b"ab") == 2
    assert key_chars(("ab", ("c", None), frozenset({"de"}))) == 5
    assert key_chars(None) == key_chars(True) == key_chars(12) == 0
    assert key_chars((Measured(), "x")) == 8
