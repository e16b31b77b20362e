"""The line of requests waiting for a query worker (``coprod_kg.storage.embedded.handout``):
first come first served across threads and event loops, a waiter that gives up leaves the
line, and no worker is ever lost or handed to two requests, whatever the timing."""

from __future__ import annotations

import asyncio
import random
import threading
import time

from coprod_kg.storage.embedded.handout import Handout


def test_an_idle_item_is_taken_at_once_and_none_comes_after_the_timeout() -> None:
    handout: Handout[str] = Handout()
    handout.put("w")
    assert handout.take(5) == "w"
    started = time.monotonic()
    assert handout.take(0.05) is None
    assert time.monotonic() - started >= 0.05
    assert asyncio.run(handout.take_async(0.05)) is None


def test_waiters_are_served_in_the_order_they_came_threads_and_coroutines_alike() -> None:
    handout: Handout[int] = Handout()
    served: list[str] = []

    def in_thread(name: str) -> None:
        item = handout.take(10)
        served.append(name)
        assert item is not None

    async def run() -> None:
        async def on_loop(name: str) -> None:
            item = await handout.take_async(10)
            served.append(name)
            assert item is not None

        first = asyncio.ensure_future(on_loop("loop-1"))
        await asyncio.sleep(0.05)
        thread = threading.Thread(target=in_thread, args=("thread-2",))
        thread.start()
        await asyncio.sleep(0.05)
        third = asyncio.ensure_future(on_loop("loop-3"))
        await asyncio.sleep(0.05)
        for item in range(3):
            handout.put(item)
            await asyncio.sleep(0.05)  # each waiter runs before the next item comes
        await asyncio.gather(first, third)
        await asyncio.to_thread(thread.join)

    asyncio.run(run())
    assert served == ["loop-1", "thread-2", "loop-3"]
    assert len(handout) == 0


def test_a_waiter_that_timed_out_or_was_cancelled_leaves_the_line() -> None:
    handout: Handout[str] = Handout()

    async def run() -> str | None:
        assert await handout.take_async(0.02) is None  # timed out
        waiting = asyncio.ensure_future(handout.take_async(10))
        await asyncio.sleep(0.02)
        waiting.cancel()
        await asyncio.gather(waiting, return_exceptions=True)
        assert handout.take(0.01) is None  # timed out in a thread
        handout.put("w")  # nobody waits any more: it stays idle
        return handout.take_nowait()

    assert asyncio.run(run()) == "w"


def test_an_item_offered_as_its_waiter_is_cancelled_goes_to_the_next() -> None:
    """The item reaches the waiter as it is cancelled: the cancellation wins (the request is
    gone; ``asyncio.wait_for`` would have returned the item and dropped the cancellation), and
    the item goes to the next one in line."""
    handout: Handout[str] = Handout()

    async def run() -> list[object]:
        first = asyncio.ensure_future(handout.take_async(10))
        second = asyncio.ensure_future(handout.take_async(5))
        await asyncio.sleep(0.02)
        handout.put("w")
        first.cancel()
        return list(await asyncio.gather(first, second, return_exceptions=True))

    first, second = asyncio.run(run())
    assert isinstance(first, asyncio.CancelledError)
    assert second == "w"
    assert len(handout) == 0


def test_no_item_is_lost_or_shared_under_contention() -> None:
    """Threads and coroutines take with short timeouts, hold, give back, and are cancelled
    at random; at the end every item is idle exactly once, and no item was ever held twice."""
    handout: Handout[int] = Handout()
    items = list(range(3))
    for item in items:
        handout.put(item)
    held: set[int] = set()
    guard = threading.Lock()
    shared: list[int] = []

    def hold(item: int) -> None:
        with guard:
            if item in held:
                shared.append(item)
            held.add(item)

    def release(item: int) -> None:
        with guard:
            held.discard(item)
        handout.put(item)

    def in_thread(seed: int) -> None:
        chance = random.Random(seed)
        for _ in range(200):
            item = handout.take(chance.choice((0.0, 0.001, 0.01)))
            if item is not None:
                hold(item)
                time.sleep(chance.choice((0.0, 0.0005)))
                release(item)

    async def on_loop(seed: int) -> None:
        chance = random.Random(seed)

        async def once() -> None:
            item = await handout.take_async(chance.choice((0.0, 0.001, 0.01)))
            if item is not None:
                hold(item)
                try:
                    await asyncio.sleep(chance.choice((0.0, 0.0005)))
                finally:
                    release(item)

        for _ in range(200):
            attempt = asyncio.ensure_future(once())
            if chance.random() < 0.3:
                await asyncio.sleep(0)
                attempt.cancel()
            await asyncio.gather(attempt, return_exceptions=True)

    async def run() -> None:
        threads = [threading.Thread(target=in_thread, args=(seed,)) for seed in range(3)]
        for thread in threads:
            thread.start()
        await asyncio.gather(*(on_loop(seed) for seed in range(10, 14)))
        for thread in threads:
            await asyncio.to_thread(thread.join)

    asyncio.run(run())
    assert shared == []
    assert sorted(handout.take_nowait() for _ in items) == items  # type: ignore[type-var]
    assert handout.take_nowait() is None


def test_the_most_recently_given_back_item_is_taken_first() -> None:
    """A worker that just answered has warm caches: it takes the next query."""
    handout: Handout[str] = Handout()
    for item in ("long-idle", "just-back"):
        handout.put(item)
    assert handout.take(1) == "just-back"
    assert asyncio.run(handout.take_async(1)) == "long-idle"
