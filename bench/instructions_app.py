"""The in-process side of ``python -m bench.instructions --mode app`` (run under callgrind).

``instructions_app.py REQUESTS READY GO``: builds the app from the ``COPROD_*`` variables, runs
its lifespan, sends the first requests of the tab-separated file ``REQUESTS`` (Accept, path) to
warm it up, creates ``READY`` and waits for ``GO`` (the parent switches instrumentation on in
between), sends the rest, prints the status codes and exits at once (no teardown counted).
Run as a script, not as a module: ``PYTHONPATH`` then decides which checkout's app is measured.
"""

from __future__ import annotations

import asyncio
import os
import sys
import time
from pathlib import Path
from typing import Any

WARMUP = 50


def _scope(accept: str, path: str) -> dict[str, Any]:
    route, _, query = path.partition("?")
    return {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1",
            "method": "GET", "scheme": "http", "path": route, "raw_path": route.encode(),
            "query_string": query.encode(), "root_path": "",
            "headers": [(b"host", b"127.0.0.1:8000"), (b"user-agent", b"bench"),
                        (b"accept", accept.encode())],
            "client": ("127.0.0.1", 50000), "server": ("127.0.0.1", 8000), "state": {}}


async def _run(listing: Path, ready: Path, go: Path) -> None:
    from api.app import create_app
    from coprod_kg.config import load_settings

    requests = [line.split("\t") for line in listing.read_text(encoding="utf-8").splitlines()]
    codes: dict[int, int] = {}

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: Any) -> None:
        if message["type"] == "http.response.start" and counting:
            codes[message["status"]] = codes.get(message["status"], 0) + 1

    app = create_app(load_settings(), warm_validation=False)
    async with app.router.lifespan_context(app):
        counting = False
        for accept, path in requests[:WARMUP]:
            await app(_scope(accept, path), receive, send)
        scopes = [_scope(accept, path) for accept, path in requests[WARMUP:]]
        ready.touch()
        while not go.exists():
            time.sleep(0.05)
        counting = True
        for scope in scopes:
            await app(scope, receive, send)
        print("CODES", *(f"{code}:{count}" for code, count in sorted(codes.items())), flush=True)
        os._exit(0)


if __name__ == "__main__":
    asyncio.run(_run(Path(sys.argv[1]), Path(sys.argv[2]), Path(sys.argv[3])))
