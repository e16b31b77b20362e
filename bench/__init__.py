"""Benchmarks of coprod-kg against its peers (``make bench``)."""
