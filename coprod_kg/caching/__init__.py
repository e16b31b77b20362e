"""Exact caching of answers by published state (keys, entity tags and the in-process cache)."""
