"""An in-process cache of serialised answers, bounded in bytes, keyed by published state.

Every published state of the graph is immutable and named by a digest of its public graphs
(:meth:`~coprod_kg.storage.manifest.Manifest.public_state`), so an answer computed for one state
stays exact for as long as that state is the published one. :func:`answer_key` digests the state
with everything else the answer depends on (the request's query, dataset, negotiated format,
language, who may see it); the same digest, quoted, is the answer's strong entity tag. A new
published state changes every key, so an older answer is never found again (it ages out of the
least-recently-used order). Answers larger than the per-entry limit are not kept.
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from dataclasses import dataclass

#: Bytes counted per entry beyond its body and headers (key, bookkeeping).
ENTRY_OVERHEAD = 256
#: The largest entry is this fraction of the whole cache.
ENTRY_FRACTION = 8


def answer_key(*parts: str) -> str:
    """A digest of ``parts`` (the state first, then what the answer depends on).

    >>> answer_key("s1", "q") == answer_key("s1", "q"), answer_key("s2", "q")[:8]
    (True, 'bd393d0f')
    """
    # each part followed by a NUL byte (UTF-8 encodes a joined text as the parts one by one)
    text = "\x00".join(parts) + "\x00"
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:40]


def entity_tag(key: str) -> str:
    """The strong entity tag (quoted) of the answer stored under ``key``."""
    return f'"{key}"'


@dataclass(frozen=True)
class CachedAnswer:
    """One complete answer: status 200, its header lines and its body."""

    headers: tuple[tuple[bytes, bytes], ...]
    body: bytes

    @property
    def size(self) -> int:
        """Bytes this entry holds (body, headers and overhead)."""
        return (len(self.body) + sum(len(k) + len(v) for k, v in self.headers)
                + ENTRY_OVERHEAD)


class AnswerCache:
    """A least-recently-used map of :class:`CachedAnswer`, at most ``max_bytes`` in all.

    ``max_bytes`` 0 disables it: nothing is kept, nothing is found. Thread-safe.

    >>> cache = AnswerCache(4096)
    >>> cache.put("k", CachedAnswer((), b"x" * 100)), cache.get("k").body[:3]
    (True, b'xxx')
    >>> cache.put("big", CachedAnswer((), b"x" * 1000)), cache.get("big")
    (False, None)
    """

    def __init__(self, max_bytes: int, entry_max: int | None = None) -> None:
        self.max_bytes = max(0, max_bytes)
        self.entry_max = (self.max_bytes // ENTRY_FRACTION if entry_max is None
                          else min(entry_max, self.max_bytes))
        self._entries: OrderedDict[str, CachedAnswer] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    @property
    def enabled(self) -> bool:
        """False when the cache is off (``max_bytes`` 0)."""
        return self.max_bytes > 0

    @property
    def body_limit(self) -> int:
        """The largest body an entry may have (callers stop buffering past it)."""
        return max(0, self.entry_max - ENTRY_OVERHEAD)

    def get(self, key: str) -> CachedAnswer | None:
        """The answer stored under ``key`` (now the most recently used), or ``None``."""
        if not self.enabled:
            return None
        with self._lock:
            found = self._entries.get(key)
            if found is None:
                self.misses += 1
                return None
            self._entries.move_to_end(key)
            self.hits += 1
            return found

    def put(self, key: str, answer: CachedAnswer) -> bool:
        """Keep ``answer`` under ``key``, evicting the least recently used entries to make room;
        False (nothing kept) when it is larger than the per-entry limit or the cache is off."""
        size = answer.size
        if not self.enabled or size > self.entry_max:
            return False
        with self._lock:
            old = self._entries.pop(key, None)
            if old is not None:
                self._bytes -= old.size
            self._entries[key] = answer
            self._bytes += size
            while self._bytes > self.max_bytes:
                _, evicted = self._entries.popitem(last=False)
                self._bytes -= evicted.size
        return True

    def clear(self) -> None:
        """Forget every answer."""
        with self._lock:
            self._entries.clear()
            self._bytes = 0

    @property
    def used(self) -> int:
        """Bytes held now."""
        return self._bytes

    def __len__(self) -> int:
        return len(self._entries)

    def __contains__(self, key: object) -> bool:
        return key in self._entries
