"""A Bloom filter of a registry file's keys, so that most lookups never touch the index.

Most URLs a crawler asks about are under no entry, yet each has about eight keys that could match
(``hashing.expressions``). The filter answers "certainly absent" for nearly all of them in memory,
and the file is queried only for the keys that may be present. It is built with the file and kept
in it (:func:`filter_bits`), so opening a registry reads it in one piece.

Sizing: :data:`BITS_PER_KEY` bits per key and :data:`HASHES` bit positions per key, from two CRC-32s
(of the key and of its reverse) combined as Kirsch and Mitzenmacher show ("Less hashing, same
performance", 2006): a false-positive rate of about 0.5 %, which costs only a query that finds
nothing. CRC-32 is not a cryptographic hash, and need not be: the filter only skips work, it never
decides an answer.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterable

BITS_PER_KEY = 16
"""Filter bits per key."""
HASHES = 3
"""Bit positions set (and tested) per key."""
_MIN_BITS = 64


def _positions(key: str, size: int) -> tuple[int, ...]:
    data = key.encode("utf-8")
    first = zlib.crc32(data)
    step = zlib.crc32(data[::-1]) | 1  # odd, so the positions differ
    return tuple((first + i * step) % size for i in range(HASHES))


def filter_bits(keys: Iterable[str], count: int) -> bytes:
    """The filter of *keys* (*count* of them, to size it), as bytes to store."""
    bits = bytearray(max(_MIN_BITS, count * BITS_PER_KEY) // 8 + 1)
    size = len(bits) * 8  # as KeyFilter reckons it
    for key in keys:
        for position in _positions(key, size):
            bits[position >> 3] |= 1 << (position & 7)
    return bytes(bits)


class KeyFilter:
    """Membership tests against stored filter bits: False means the key is certainly absent."""

    __slots__ = ("_bits", "_size")

    def __init__(self, bits: bytes) -> None:
        self._bits = bits
        self._size = len(bits) * 8

    def __contains__(self, key: str) -> bool:
        return bool(self.present((key,)))

    def present(self, keys: Iterable[str]) -> list[str]:
        """The *keys* that may be in the filter (the others are certainly absent), in order."""
        # _positions with HASHES = 3, unrolled in one loop (a lookup tests a dozen keys): most
        # absent keys fail the first bit, before the second CRC is computed.
        bits, size, crc32 = self._bits, self._size, zlib.crc32
        out = []
        for key in keys:
            data = key.encode("utf-8")
            first = crc32(data)
            at = first % size
            if not bits[at >> 3] >> (at & 7) & 1:
                continue
            step = crc32(data[::-1]) | 1
            at = (first + step) % size
            if not bits[at >> 3] >> (at & 7) & 1:
                continue
            at = (first + 2 * step) % size
            if bits[at >> 3] >> (at & 7) & 1:
                out.append(key)
        return out
