"""``coprod-kg serve --workers N`` on the embedded store: one writer process, N-1 readers.

Three levels: the two middlewares on their own (who may vouch for a client address; what a reader
passes on to the writer process), the real app as reader and writer in one test process (the
writer on a Unix socket), and the real command: a group of processes, one of them killed.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from conftest import ServerThread, free_port
from fastapi.testclient import TestClient
from http_helpers import TURTLE, Users, bearer, record, writable_store
from starlette.routing import Match, Route
from starlette.types import Message, Receive, Scope, Send

from api.app import create_app
from api.forwarding import ReaderPeers, WriterForwarding
from api.routers import curation
from coprod_kg.config import Settings

COPROD = Path(sys.executable).with_name("coprod-kg")
TOKEN = "s3cret-token-of-this-group"
VISITOR = ("198.51.100.7", 51000)


# -- who may vouch for a client address (the writer's side) ---------------------------------


def _seen(headers: list[tuple[bytes, bytes]], client: tuple[str, int] | None,
          token: str = TOKEN) -> Scope:
    """The scope the app behind :class:`ReaderPeers` receives for a request with ``headers``
    from ``client`` (None: over the Unix socket)."""
    seen: dict[str, Scope] = {}

    async def inner(scope: Scope, receive: Receive, send: Send) -> None:
        seen["scope"] = scope

    async def receive() -> Message:
        return {"type": "http.request", "body": b""}

    async def send(message: Message) -> None:
        return None

    scope = {"type": "http", "method": "GET", "path": "/", "headers": headers, "client": client}
    asyncio.run(ReaderPeers(inner, token)(scope, receive, send))
    return seen["scope"]


GENUINE = [(b"x-coprod-reader", TOKEN.encode()), (b"x-coprod-peer", b"203.0.113.9")]
#: Many spellings of "believe me, I am 203.0.113.9": none of them may be believed.
SPOOFS: dict[str, list[tuple[bytes, bytes]]] = {
    "no token": [(b"x-coprod-peer", b"203.0.113.9")],
    "empty token": [(b"x-coprod-reader", b""), (b"x-coprod-peer", b"203.0.113.9")],
    "wrong token": [(b"x-coprod-reader", b"guess"), (b"x-coprod-peer", b"203.0.113.9")],
    "token prefix": [(b"x-coprod-reader", TOKEN[:-1].encode()),
                     (b"x-coprod-peer", b"203.0.113.9")],
    "token and more": [(b"x-coprod-reader", TOKEN.encode() + b"x"),
                       (b"x-coprod-peer", b"203.0.113.9")],
    "token in other case": [(b"x-coprod-reader", TOKEN.upper().encode()),
                            (b"x-coprod-peer", b"203.0.113.9")],
    "token with spaces": [(b"x-coprod-reader", b" " + TOKEN.encode() + b" "),
                          (b"x-coprod-peer", b"203.0.113.9")],
    "two tokens": [(b"x-coprod-reader", b"guess"), *GENUINE],
    "two peers": [*GENUINE, (b"x-coprod-peer", b"192.0.2.1")],
    "peer list": [(b"x-coprod-reader", TOKEN.encode()),
                  (b"x-coprod-peer", b"203.0.113.9, 192.0.2.1")],
    "peer not an address": [(b"x-coprod-reader", TOKEN.encode()), (b"x-coprod-peer", b"evil")],
    "peer a host name": [(b"x-coprod-reader", TOKEN.encode()),
                         (b"x-coprod-peer", b"localhost")],
    "peer with a port": [(b"x-coprod-reader", TOKEN.encode()),
                         (b"x-coprod-peer", b"203.0.113.9:80")],
    "peer not ascii": [(b"x-coprod-reader", TOKEN.encode()),
                       (b"x-coprod-peer", "203.0.113.\uff19".encode())],
    "peer empty": [(b"x-coprod-reader", TOKEN.encode()), (b"x-coprod-peer", b"")],
}


@pytest.mark.parametrize("spoof", sorted(SPOOFS))
def test_a_forged_vouching_is_not_believed(spoof: str) -> None:
    for client in (None, VISITOR):
        scope = _seen(SPOOFS[spoof], client)
        assert scope["client"] == client
        assert not [h for h in scope["headers"] if h[0].startswith(b"x-coprod-")]


@pytest.mark.parametrize("name", [b"X-Coprod-Reader", b"X-COPROD-READER", b"x-coprod-reader"])
def test_the_private_headers_are_removed_in_any_spelling(name: bytes) -> None:
    headers = [(name, TOKEN.encode()), (name.replace(b"Reader", b"Peer").replace(
        b"READER", b"PEER").replace(b"reader", b"peer"), b"203.0.113.9"), (b"accept", b"*/*")]
    assert _seen(headers, VISITOR)["headers"] == [(b"accept", b"*/*")]


def test_the_genuine_vouching_counts_only_over_the_private_socket() -> None:
    assert _seen(GENUINE, None)["client"] == ("203.0.113.9", 0)
    assert _seen([(b"x-coprod-reader", TOKEN.encode()), (b"x-coprod-peer", b"2001:DB8::1")],
                 None)["client"] == ("2001:db8::1", 0)
    # over TCP (a peer address) the same headers are someone's attempt: not believed
    assert _seen(GENUINE, VISITOR)["client"] == VISITOR
    # a group without a secret believes nobody
    assert _seen([(b"x-coprod-reader", b""), (b"x-coprod-peer", b"203.0.113.9")], None,
                 token="")["client"] is None


# -- what a reader passes on (the reader's side), against an echoing writer -----------------


def _unix_server(app: Any, path: Path) -> ServerThread:
    """A uvicorn server of ``app`` on the Unix socket ``path``, in a thread."""
    return ServerThread(uvicorn.Config(app, uds=str(path), log_level="warning", lifespan="on"))


async def _echo(scope: Scope, receive: Receive, send: Send) -> None:
    """A writer that answers what it received: method, target, headers, client and body."""
    if scope["type"] == "lifespan":
        await _lifespan(receive, send)
        return
    body = b""
    more = True
    while more:
        message = await receive()
        body += message.get("body", b"")
        more = message.get("more_body", False)
    answer = json.dumps({"method": scope["method"], "path": scope["raw_path"].decode(),
                         "query": scope["query_string"].decode(),
                         "headers": [[k.decode(), v.decode()] for k, v in scope["headers"]],
                         "client": scope["client"], "body": body.decode()}).encode()
    await send({"type": "http.response.start", "status": 207,
                "headers": [(b"content-type", b"application/json"), (b"x-from", b"writer")]})
    await send({"type": "http.response.body", "body": answer})


async def _lifespan(receive: Receive, send: Send) -> None:
    while (await receive())["type"] != "lifespan.shutdown":
        await send({"type": "lifespan.startup.complete"})
    await send({"type": "lifespan.shutdown.complete"})


async def _local(scope: Scope, receive: Receive, send: Send) -> None:
    if scope["type"] == "lifespan":
        await _lifespan(receive, send)
        return
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b"local"})


LIMIT = 400_000


def _reader(path: Path) -> WriterForwarding:
    return WriterForwarding(_local, str(path), TOKEN,
                            [Route("/submissions/{rest:path}", _local, methods=["GET", "POST"])],
                            max_body=LIMIT)


CURATION_PATHS = ["/submissions", "/submissions/", "/submissions/a/1", "/submissions/a/1/accept",
                  "/submissions/a/1/reject", "/submissions/a/1/other", "/cases/a", "/cases/a/",
                  "/cases/a/history", "/cases/a/versions/2", "/cases/a/versions/x/y", "/cases",
                  "/cases/", "/casesx", "/case/a", "/submission", "/submissionsx", "/", "/sparql",
                  "/concepts/x", "/Cases/a", "//cases/a", "/cases%2Fa", "/cases/a%2Fb"]


@pytest.mark.parametrize("method", ["GET", "HEAD", "POST", "PUT", "DELETE", "OPTIONS"])
@pytest.mark.parametrize("path", CURATION_PATHS)
def test_the_path_filter_decides_as_the_routes_do(method: str, path: str) -> None:
    """The reader's literal-prefix filter only skips paths that no curation route matches."""
    reader = WriterForwarding(_local, "/nowhere.sock", TOKEN, curation.router.routes,
                              max_body=LIMIT)
    scope: dict[str, Any] = {"type": "http", "method": method, "path": path, "root_path": "",
                             "headers": [], "query_string": b""}
    full = any(route.matches(scope)[0] is Match.FULL for route in curation.router.routes)
    assert reader._needs_writer(scope) is full
    assert reader._needs_writer({**scope, "root_path": "/kg", "path": "/kg" + path}) is any(
        route.matches({**scope, "root_path": "/kg", "path": "/kg" + path})[0] is Match.FULL
        for route in curation.router.routes)


def test_a_reader_forwards_the_writers_routes_whole(tmp_path: Path) -> None:
    path = tmp_path / "writer.sock"
    with _unix_server(_echo, path), TestClient(_reader(path), client=VISITOR) as client:
        assert client.get("/elsewhere").text == "local"  # not a route of the writer
        body = b"x" * 300_000
        answer = client.post("/submissions/a%2Fb/c?x=%20y&x=z", content=body, headers=[
            ("Content-Type", "text/turtle"), ("X-Coprod-Reader", "forged"),
            ("X-Coprod-Peer", "192.0.2.66"), ("Connection", "keep-alive, X-Drop"),
            ("X-Drop", "named by Connection"), ("Authorization", "Bearer abc")])
    assert answer.status_code == 207 and answer.headers["x-from"] == "writer"
    seen = answer.json()
    assert (seen["method"], seen["path"], seen["query"]) == ("POST", "/submissions/a%2Fb/c",
                                                           "x=%20y&x=z")
    assert seen["body"] == body.decode()
    headers = [(k, v) for k, v in seen["headers"]]
    assert ("x-coprod-reader", TOKEN) in headers and ("x-coprod-peer", VISITOR[0]) in headers
    assert ("x-coprod-reader", "forged") not in headers
    assert ("x-coprod-peer", "192.0.2.66") not in headers
    assert ("authorization", "Bearer abc") in headers
    assert not [k for k, _ in headers if k in ("connection", "x-drop", "transfer-encoding")]
    assert ("content-length", str(len(body))) in headers
    assert seen["client"] is None  # over the Unix socket
    # the writer's date and server headers are left to the reader's own server (uvicorn adds
    # them; the test client does not): a forwarded answer has one of each
    assert "date" not in answer.headers and "server" not in answer.headers


def test_a_reader_refuses_an_oversized_body_itself(tmp_path: Path) -> None:
    # no writer at all: a 413 (not the 503 of an unreachable writer) comes from the reader
    with TestClient(_reader(tmp_path / "nobody.sock")) as client:
        streamed = client.post("/submissions/x", content=iter([b"x" * 300_000] * 2))
        declared = client.post("/submissions/x", content=b"x" * (LIMIT + 1))
    for answer in (streamed, declared):
        assert answer.status_code == 413, answer.text
        assert answer.json()["error"] == "PayloadTooLarge"


def test_a_slow_body_gets_408_before_the_writer_is_asked(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("api.forwarding.BODY_SECONDS", 0.2)
    sent: list[Message] = []

    async def trickle() -> Message:
        await asyncio.sleep(0.1)
        return {"type": "http.request", "body": b"x", "more_body": True}

    async def send(message: Message) -> None:
        sent.append(message)

    scope = {"type": "http", "method": "POST", "path": "/submissions/x", "headers": [],
             "raw_path": b"/submissions/x", "query_string": b"", "client": VISITOR}
    asyncio.run(_reader(tmp_path / "nobody.sock")(scope, trickle, send))
    assert sent[0]["status"] == 408


def test_a_reader_without_its_writer_says_so(tmp_path: Path) -> None:
    with TestClient(_reader(tmp_path / "nobody.sock")) as client:
        answer = client.post("/submissions/x", content=b"")
        assert client.get("/elsewhere").text == "local"
    assert answer.status_code == 503
    assert answer.headers["retry-after"]
    assert answer.json()["error"] == "WriterUnreachable"
    assert "try again" in answer.json()["message"]


# -- the real app: a reader in this process, the writer on a Unix socket --------------------


@contextmanager
def _pair(store: Path, settings_for: Any, path: Path) -> Iterator[TestClient]:
    base: Settings = settings_for(store, query_workers=1)
    writer = create_app(base.with_overrides(reader_token=TOKEN))
    reader = create_app(base.with_overrides(writer_socket=str(path), reader_token=TOKEN))
    with _unix_server(writer, path), TestClient(reader) as client:
        yield client


def test_group_a_reader_serves_the_whole_curation_workflow(
        real_store: Path, tmp_path: Path, settings_for: Any) -> None:
    store = writable_store(real_store, tmp_path / "store")
    users = Users.make(store)
    curator = bearer(users.curator)
    with _pair(store, settings_for, tmp_path / "writer.sock") as reader:
        submitted = reader.post("/submissions", content=record("group-case"),
                                headers=bearer(users.alice, **TURTLE))
        assert submitted.status_code == 201, submitted.text
        assert reader.get("/submissions", headers=curator).json()[0]["case"].endswith(
            "group-case")
        accepted = reader.post("/submissions/group-case/1/accept", headers=curator)
        assert accepted.status_code == 200, accepted.text
        assert reader.get("/case/group-case", headers={"Accept": "text/turtle"}).status_code \
            == 200  # the reader sees the state the writer published
        tag = reader.get("/cases/group-case").headers["etag"]
        gone = reader.delete("/cases/group-case", headers={**curator, "If-Match": tag})
        assert gone.status_code == 200, gone.text
        # the withdrawn case's tombstone is in the curation graph: the writer answers it
        page = reader.get("/case/group-case", headers={"Accept": "text/html"})
        assert page.status_code == 410 and "withdrawn" in page.text.lower()
        assert reader.get("/case/never-was").status_code == 404
        checked = reader.post("/validate", content=record("group-other"), headers=TURTLE)
        assert checked.status_code == 200, checked.text  # validation needs no writer


# -- the command: a group of processes -------------------------------------------------------


def _children(pid: int) -> list[int]:
    tasks = Path(f"/proc/{pid}/task")
    found: list[int] = []
    for task in tasks.iterdir():
        text = (task / "children").read_text().split()
        found += [int(child) for child in text]
    return found


def _holds_the_store(pid: int, store: Path) -> bool:
    lock = str(store / "LOCK")
    try:
        return any(os.readlink(fd) == lock for fd in Path(f"/proc/{pid}/fd").iterdir())
    except (FileNotFoundError, PermissionError):
        return False


def _wait(predicate: Any, what: str, seconds: float = 120) -> None:
    deadline = time.monotonic() + seconds
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting until {what}")
        time.sleep(0.2)


def _answers(url: str) -> bool:
    try:
        return httpx.get(url + "/ready", timeout=5).status_code == 200
    except httpx.TransportError:
        return False


def _start_group(store: Path, tmp_path: Path) -> tuple[subprocess.Popen[bytes], str, Path]:
    """``coprod-kg serve --workers 2`` on ``store``, answering, its writer holding the store."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = {**os.environ, "COPROD_QUERY_WORKERS": "1", "COPROD_PUBLIC_URL": url}
    log = tmp_path / "serve.log"
    with log.open("wb") as out:
        group = subprocess.Popen(
            [str(COPROD), "serve", "--workers", "2", "--host", "127.0.0.1", "--port", str(port),
             "--store", str(store)], env=env, stdout=out, stderr=subprocess.STDOUT,
            start_new_session=True)
    _wait(lambda: _answers(url) or group.poll() is not None, "the group answers")
    assert group.poll() is None, log.read_text()
    _wait(lambda: len([c for c in _children(group.pid)
                       if _holds_the_store(c, store)]) == 1, "the writer holds the store")
    return group, url, log


def test_group_children_end_with_a_killed_supervisor(real_store: Path, tmp_path: Path) -> None:
    store = writable_store(real_store, tmp_path / "store")
    group, url, _ = _start_group(store, tmp_path)
    children = _children(group.pid)
    try:
        os.kill(group.pid, signal.SIGKILL)
        group.wait(30)
        _wait(lambda: not [c for c in children if _alive(c)], "every orphan has ended", 60)
        assert not _answers(url)
    finally:
        with suppress(ProcessLookupError):  # whatever is left of its process group
            os.killpg(group.pid, signal.SIGKILL)


def test_group_serve_with_two_processes_loses_no_write(
        real_store: Path, tmp_path: Path) -> None:
    store = writable_store(real_store, tmp_path / "store")
    users = Users.make(store)
    group, url, log = _start_group(store, tmp_path)
    try:

        def submit_all(prefix: str, count: int) -> list[int]:
            statuses = []
            for n in range(count):  # a new connection each: the kernel spreads them
                with httpx.Client(base_url=url, timeout=120) as client:
                    answer = client.post("/submissions", content=record(f"{prefix}-{n}"),
                                         headers=bearer(users.bob, **TURTLE))
                    statuses.append(answer.status_code)
            return statuses

        assert submit_all("group-first", 16) == [201] * 16
        writer = next(c for c in _children(group.pid) if _holds_the_store(c, store))
        os.kill(writer, signal.SIGKILL)
        _wait(lambda: any(_holds_the_store(c, store) for c in _children(group.pid)
                          if c != writer), "a new writer process holds the store")
        _wait(lambda: _answers(url), "the group answers again")
        # every submission after the restart lands, whichever process took the connection
        _wait(lambda: submit_all("group-probe", 1) == [201], "the new writer takes writes", 60)
        assert submit_all("group-second", 16) == [201] * 16
        with httpx.Client(base_url=url, timeout=120) as client:
            pending = client.get("/submissions", headers=bearer(users.curator)).json()
        cases = {item["case"].rsplit("/", 1)[-1] for item in pending}
        assert {f"group-first-{n}" for n in range(16)} <= cases
        assert {f"group-second-{n}" for n in range(16)} <= cases
        children = _children(group.pid)
        assert len(children) >= 2
    finally:
        group.send_signal(signal.SIGTERM)
        assert group.wait(60) == 0, log.read_text()[-3000:]
    _wait(lambda: not [c for c in children if _alive(c)], "every child has ended", 20)


def _alive(pid: int) -> bool:
    try:
        return "zombie" not in Path(f"/proc/{pid}/status").read_text()
    except FileNotFoundError:
        return False
