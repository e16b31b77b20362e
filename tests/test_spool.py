"""The spool's bound on the answers waiting on disk (``coprod_kg.sparql.spool``), counted
from the files its users said they left, without listing the directory per request."""

from __future__ import annotations

import pytest

from coprod_kg.sparql.spool import Spool, SpoolFull


def test_the_bound_counts_the_complete_answers_waiting_to_be_sent() -> None:
    spool = Spool(max_total=90, max_bytes=40)
    try:
        first, second = spool.new_path(), spool.new_path()
        first.write_bytes(b"x" * 30)
        second.write_bytes(b"y" * 30)
        assert spool.used() == 0  # being written: not counted until complete
        spool.settled(first, kept=True)
        spool.settled(second, kept=True)
        assert spool.used() == 60
        with pytest.raises(SpoolFull):  # 60 + one whole answer (40) would pass 90
            spool.new_path()
        second.unlink()  # sent (or deleted by anyone): the space is free at once
        assert spool.used() == 30
        spool.new_path()
    finally:
        spool.close()


def test_an_answer_that_came_back_in_memory_or_failed_holds_nothing() -> None:
    spool = Spool(max_total=100, max_bytes=10)
    try:
        small = spool.new_path()
        spool.settled(small, kept=False)  # the answer came back in memory: no file
        spool.settled(None, kept=False)  # no file was asked for
        assert spool.used() == 0
        kept = spool.new_path()
        kept.write_bytes(b"z" * 7)
        spool.settled(kept, kept=True)
        assert spool.used() == 7
        kept.unlink()
        assert spool.used() == 0 and spool._kept == set()
    finally:
        spool.close()
