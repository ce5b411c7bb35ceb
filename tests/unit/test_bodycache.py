"""BodyCache: bounded in entries and in bytes, least recently used first out."""

from __future__ import annotations

from muster.bodycache import BodyCache


def test_bytes_are_bounded_whatever_the_number_of_keys() -> None:
    cache = BodyCache(max_entries=512, max_bytes=1000)

    for i in range(100):
        cache.put(("path", i), 1, b"x" * 100)

    assert cache.size <= 1000
    assert cache.get(("path", 99), 1) == b"x" * 100  # the newest stay
    assert cache.get(("path", 0), 1) is None


def test_replacing_a_key_counts_its_bytes_once() -> None:
    cache = BodyCache(max_entries=8, max_bytes=1000)
    for marker in range(10):
        cache.put("k", marker, b"y" * 300)

    assert (300, b"y" * 300) == (cache.size, cache.get("k", 9))


def test_an_answer_larger_than_the_cache_is_not_kept() -> None:
    cache = BodyCache(max_entries=8, max_bytes=100)
    cache.put("small", 1, b"s")
    cache.put("big", 1, b"b" * 101)

    assert (None, b"s", 1) == (cache.get("big", 1), cache.get("small", 1), cache.size)
