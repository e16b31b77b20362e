"""``coprod-kg serve --workers N`` on the embedded back end: one writer process, N-1 readers.

Only one process can hold the embedded store's writer. So the group is:

- the **writer process**, which opens the writer (recovering from a crash first), serves like
  any other, and also listens on a private Unix socket;
- N-1 **reader processes**, which answer queries, documents and pages from the published
  snapshot (every process sees a newly published state at its next request: the manifest is
  checked per request) and forward to the writer process, over that socket, what needs the
  writer (``api.forwarding``).

All of them accept on the one TCP socket bound here. The Unix socket lives in a folder only this
user can enter (mode 0700, the socket itself 0600); the writer process takes the client address
a reader vouches for only over that socket and with a secret drawn here for this group
(``COPROD_READER_TOKEN``), which no client can learn: the operating system's permissions and a
check in code.

This process only supervises: a child that dies is started again in its role (at most once a
second); one that fails to start, or dies within :data:`QUICK` seconds :data:`QUICK_FAILURES`
times in a row, stops the group; SIGINT or SIGTERM stop the children gracefully (uvicorn's own
shutdown), then the group's folder is removed. A child ends itself when this process is gone
(Linux: the parent-death signal), so that no orphan keeps the port and the store.
"""

from __future__ import annotations

import ctypes
import logging
import multiprocessing
import os
import secrets
import shutil
import signal
import socket
import tempfile
import time
from dataclasses import dataclass, field
from multiprocessing.connection import wait
from multiprocessing.process import BaseProcess
from pathlib import Path
from types import FrameType

import uvicorn

from coprod_kg.config import load_settings
from coprod_kg.runtime import prestart_store

log = logging.getLogger("uvicorn.error")  # configured by uvicorn.Config, here as in the children

#: uvicorn's exit status for a server that could not start.
STARTUP_FAILURE = 3
#: Seconds between two starts of the same role; seconds a child has to stop before it is killed.
RESTART_GAP, STOP_GRACE = 1.0, 30.0
#: A child that ends within QUICK seconds of its start, QUICK_FAILURES times in a row, stops
#: the group (it cannot start: a broken environment, not a crash to recover from).
QUICK, QUICK_FAILURES = 10.0, 5
#: The longest Unix socket path (``sun_path`` holds 108 bytes on Linux, with its final NUL).
MAX_SOCKET_PATH = 100
#: ``prctl(PR_SET_PDEATHSIG, ...)``.
PR_SET_PDEATHSIG = 1


@dataclass
class Role:
    """One child's place in the group: its name, sockets and environment."""

    name: str
    sockets: list[socket.socket]
    environ: dict[str, str]
    process: BaseProcess | None = None
    started: float = field(default=0.0)
    quick_failures: int = 0


def serve_group(config: uvicorn.Config, workers: int) -> int:
    """Serve ``config``'s app with one writer and ``workers - 1`` reader processes until
    interrupted; 0 after an interruption, 1 if a child could not start."""
    tcp = config.bind_socket()
    folder = Path(tempfile.mkdtemp(prefix="coprod-serve-"))  # 0700: this user only
    if len(str(folder / "writer.sock")) > MAX_SOCKET_PATH:  # a long TMPDIR
        folder.rmdir()
        folder = Path(tempfile.mkdtemp(prefix="coprod-serve-", dir="/tmp"))
    private = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        path = folder / "writer.sock"
        private.bind(str(path))
        path.chmod(0o600)
        private.listen(config.backlog)
        token = secrets.token_urlsafe(32)
        roles = [Role("writer", [tcp, private], {"COPROD_WRITER_SOCKET": "",
                                                 "COPROD_READER_TOKEN": token})]
        roles += [Role(f"reader {n}", [tcp], {"COPROD_WRITER_SOCKET": str(path),
                                              "COPROD_READER_TOKEN": token})
                  for n in range(1, workers)]
        log.info("serving on http://%s:%d with %d processes: one writer, %d reader(s)",
                 config.host, config.port, workers, workers - 1)
        return _supervise(config, roles)
    finally:
        private.close()
        tcp.close()
        shutil.rmtree(folder, ignore_errors=True)


def _supervise(config: uvicorn.Config, roles: list[Role]) -> int:
    stopping: list[int] = []

    def stop(signum: int, frame: FrameType | None) -> None:
        stopping.append(signum)

    previous = {sig: signal.signal(sig, stop) for sig in (signal.SIGINT, signal.SIGTERM)}
    context = multiprocessing.get_context("spawn")
    try:
        while not stopping:
            for role in roles:
                process = role.process
                if process is not None and process.exitcode is None:
                    continue
                if process is not None:
                    quick = time.monotonic() - role.started < QUICK
                    role.quick_failures = role.quick_failures + 1 if quick else 0
                    if process.exitcode == STARTUP_FAILURE \
                            or role.quick_failures >= QUICK_FAILURES:
                        log.error("the %s process could not start (exit %s): stopping",
                                  role.name, process.exitcode)
                        return 1
                    log.warning("the %s process ended (exit %s): starting it again",
                                role.name, process.exitcode)
                    time.sleep(max(0.0, role.started + RESTART_GAP - time.monotonic()))
                role.started = time.monotonic()
                role.process = context.Process(target=_child, name=f"coprod-kg {role.name}",
                                               args=(config, role.sockets, role.environ,
                                                     os.getpid()))
                role.process.start()
            wait([r.process.sentinel for r in roles if r.process is not None], timeout=0.5)
        return 0
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        _stop(roles)


def _stop(roles: list[Role]) -> None:
    running = [r.process for r in roles if r.process is not None and r.process.is_alive()]
    for process in running:
        process.terminate()  # SIGTERM: uvicorn finishes what it serves, then the lifespan
    deadline = time.monotonic() + STOP_GRACE
    for process in running:
        process.join(max(0.0, deadline - time.monotonic()))
        if process.is_alive():
            log.warning("%s did not stop in %.0f s: killing it", process.name, STOP_GRACE)
            process.kill()
            process.join()


def _child(config: uvicorn.Config, sockets: list[socket.socket],
           environ: dict[str, str], parent: int) -> None:
    """A child process: its role's settings, its read side started early, then uvicorn."""
    _end_with(parent)
    os.environ.update(environ)
    config.configure_logging()
    prestart_store(load_settings())  # the query workers start while uvicorn imports the app
    server = uvicorn.Server(config)
    server.run(sockets=sockets)
    if not server.started:
        raise SystemExit(STARTUP_FAILURE)


def _end_with(parent: int) -> None:
    """Have the kernel send SIGTERM to this process when ``parent`` ends (Linux); if it has
    ended already, end now."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
    except (OSError, AttributeError):  # not Linux: the parent's SIGTERM handler still stops us
        log.debug("no parent-death signal on this system")
    if os.getppid() != parent:
        raise SystemExit(0)
