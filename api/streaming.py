"""Send a spooled query answer in small chunks, cut off slow readers, delete the file after.

The answer is complete on disk before the status line goes out (so a ``200`` is never followed
by an error); the API process holds one chunk per request, however large the answer. Each chunk
must be accepted by the client within ``send_timeout`` seconds, or the connection is closed.
The file is deleted when the answer is sent, when the client goes away, and when it is cut off.
"""

from __future__ import annotations

import anyio
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from coprod_kg.storage.store import QueryResult

CHUNK_BYTES = 64 * 1024


class SlowReader(Exception):
    """The client did not accept a chunk of the answer in time; the connection is dropped."""


class SpooledAnswer(Response):
    """A response streaming ``result``'s spool file, which it deletes in every case."""

    def __init__(self, result: QueryResult, send_timeout: float,
                 headers: dict[str, str] | None = None) -> None:
        super().__init__(None, media_type=result.media_type, headers=headers)
        assert result.path is not None
        self.result = result
        self.send_timeout = send_timeout
        self.headers["content-length"] = str(result.size)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await self._send(send)
        finally:
            self.result.discard()

    async def _send(self, send: Send) -> None:
        assert self.result.path is not None
        async with await anyio.open_file(self.result.path, "rb") as answer:
            await self._send_in_time(send, {"type": "http.response.start",
                                            "status": self.status_code,
                                            "headers": self.raw_headers})
            while chunk := await answer.read(CHUNK_BYTES):
                await self._send_in_time(send, {"type": "http.response.body", "body": chunk,
                                                "more_body": True})
            await self._send_in_time(send, {"type": "http.response.body", "body": b"",
                                            "more_body": False})

    async def _send_in_time(self, send: Send, message: dict[str, object]) -> None:
        with anyio.move_on_after(self.send_timeout) as scope:
            await send(message)
        if scope.cancelled_caught:
            raise SlowReader(f"the client took more than {self.send_timeout:g} s to accept "
                             "a chunk of the answer; connection closed")
