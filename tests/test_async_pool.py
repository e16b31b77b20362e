"""The query pool on the event loop (``PooledStore.query_async``): same answers as the thread
path, a timeout still replaces the worker, and a cancelled request never hands back a worker
that still owes an answer (the next query would get the old one's)."""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from coprod_kg.errors import QueryTimeout
from coprod_kg.storage.embedded.pooled_store import PooledStore
from coprod_kg.storage.store import AsyncQueries, prepare

ENDLESS = ("SELECT (COUNT(*) AS ?n) { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i . ?j ?k ?l . "
           "?m ?n1 ?o . ?p ?q ?r }")
COUNT = "SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }"


@pytest.fixture
def pooled(mini_store: Path) -> Iterator[PooledStore]:
    # ONE worker: every query meets the last; light lookups too (no answers in process)
    store = PooledStore(mini_store, 1, 3.0, 10_000, inline=False)
    yield store
    store.close()


def _value(body: bytes) -> object:
    data = json.loads(body)
    return data["boolean"] if "boolean" in data else data["results"]["bindings"]


def test_the_event_loop_path_answers_as_the_thread_path(pooled: PooledStore) -> None:
    assert isinstance(pooled, AsyncQueries)

    async def both() -> list[tuple[object, object]]:
        pairs = []
        for query in (COUNT, "ASK { ?s ?p ?o }", "SELECT ?s WHERE { ?s a ?c } LIMIT 3"):
            mine = await pooled.query_async(prepare(query, lane="public"))
            theirs = await asyncio.to_thread(pooled.query, prepare(query, lane="public"))
            pairs.append((_value(mine.body), _value(theirs.body)))
        return pairs

    for mine, theirs in asyncio.run(both()):
        assert mine == theirs


def test_a_timeout_on_the_event_loop_replaces_the_worker(pooled: PooledStore) -> None:
    async def run() -> object:
        with pytest.raises(QueryTimeout, match="stopped"):
            await pooled.query_async(prepare(ENDLESS, lane="public"))
        return _value((await pooled.query_async(prepare("ASK { ?s ?p ?o }",
                                                        lane="public"))).body)

    assert asyncio.run(run()) is True


def test_a_cancelled_request_does_not_hand_back_a_busy_worker(pooled: PooledStore) -> None:
    async def run() -> object:
        slow = asyncio.ensure_future(pooled.query_async(prepare(ENDLESS, lane="public")))
        await asyncio.sleep(0.5)  # the worker has the endless query
        slow.cancel()
        with pytest.raises(asyncio.CancelledError):
            await slow
        # The one worker is still busy until its timeout replaces it: only then is it idle
        # again (handed back at once, it would still owe the endless query's answer, and the
        # next query would time out or get that answer).
        pool = pooled.pools["public"]
        assert len(pool._idle) == 0
        for _ in range(300):
            if len(pool._idle):
                break
            await asyncio.sleep(0.1)
        return _value((await pooled.query_async(prepare(COUNT, lane="public"))).body)

    expected = _value(pooled.query(prepare(COUNT, lane="public")).body)
    assert asyncio.run(run()) == expected


LARGE = "SELECT * WHERE { ?a ?b ?c . ?d ?e ?f } LIMIT 5000"  # past INLINE_BYTES: a file


def test_a_cancelled_request_leaves_no_answer_file(pooled: PooledStore) -> None:
    """Cancelled while its worker computes, the request's answer file is deleted when the
    worker is done; cancelled while it waits for a worker, it never gets one. Either way the
    spool has nothing left to count."""
    request = prepare(LARGE, lane="public", spool=True)
    pool = pooled.pools["public"]

    async def run() -> None:
        kept = await pooled.query_async(request)
        assert kept.path is not None and kept.size > 64 * 1024  # the answer is a file
        kept.discard()
        running = asyncio.ensure_future(pooled.query_async(request))
        waiting = asyncio.ensure_future(pooled.query_async(request))
        await asyncio.sleep(0)  # the first has the one worker, the second waits for it
        assert len(pool._idle) == 0
        waiting.cancel()
        running.cancel()
        await asyncio.gather(running, waiting, return_exceptions=True)
        for _ in range(200):
            if len(pool._idle):
                break
            await asyncio.sleep(0.05)

    asyncio.run(run())
    assert len(pool._idle) == 1
    assert list(pooled.spool.directory.iterdir()) == []
    assert pooled.spool.used() == 0 and pooled.spool._kept == set()


def test_a_worker_busy_when_its_loop_shuts_down_is_replaced_not_given_back(
        pooled: PooledStore) -> None:
    """``asyncio.run`` cancels every task as it ends, the shielded exchange with a worker
    too: that worker still owes the endless query's answer, so it must not serve the next."""
    async def leave_it_running() -> None:
        running = asyncio.ensure_future(pooled.query_async(prepare(ENDLESS, lane="public")))
        await asyncio.sleep(0.5)  # the one worker has the endless query; the loop ends
        assert not running.done()

    asyncio.run(leave_it_running())
    pool = pooled.pools["public"]
    assert len(pool._idle) == 1

    async def count() -> object:
        return _value((await pooled.query_async(prepare(COUNT, lane="public"))).body)

    expected = _value(pooled.query(prepare(COUNT, lane="public")).body)
    assert asyncio.run(count()) == expected


def test_under_uvloop_a_workers_pipe_is_blocking_again_after_each_answer(
        pooled: PooledStore) -> None:
    """uvloop makes a watched pipe non-blocking: a reply that arrives in parts would then
    fail half-read (``BlockingIOError``). The server runs on uvloop, so the test does too."""
    uvloop = pytest.importorskip("uvloop")

    async def ask() -> object:
        return _value((await pooled.query_async(prepare(COUNT, lane="public"))).body)

    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        assert runner.run(ask()) == _value(pooled.query(prepare(COUNT, lane="public")).body)
    for worker in pooled.pools["public"]._workers.values():
        assert os.get_blocking(worker.conn.fileno())
