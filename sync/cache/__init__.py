"""The device's local SQLite cache. Nothing outside this package writes SQL."""

from .db import Cache, CacheError, CacheFull, open_cache

__all__ = ["Cache", "CacheError", "CacheFull", "open_cache"]
