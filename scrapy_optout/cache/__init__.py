"""Caches of origin documents shared by the shells: in memory by default (a Redis store comes later)."""

from __future__ import annotations

from .memory import CacheEntry, MemoryStore

__all__ = ["CacheEntry", "MemoryStore"]
