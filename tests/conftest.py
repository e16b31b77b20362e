"""Shared fixtures: settings, loaded stores, an app client and a live HTTP server.

- ``mini_settings``: settings over the miniature ontology and data in ``tests/fixtures/mini``
  and a fresh store directory (not loaded);
- ``mini_store`` / ``real_store``: session-wide store directories loaded with the miniature,
  or with the real ontology and ``data/`` (the real one fails loudly if those do not load);
- ``settings_for(store_dir, **overrides)``: settings whose store is ``store_dir``;
- ``app_client`` / ``real_client``: a ``TestClient`` (lifespan running, worker pool open);
- ``live_server``: a real uvicorn server on a free 127.0.0.1 port, for real SPARQL clients.

With ``COPROD_TEST_BACKEND=remote`` every one of them uses the remote back end over Oxigraph
servers instead (see ``tests/backends.py``).
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, Self

import httpx
import pytest
import uvicorn
from backends import dedicated, settings_of, skip_embedded_only, stop_all
from fastapi.testclient import TestClient

from api.app import create_app
from coprod_kg.config import PROJECT_ROOT, Settings
from coprod_kg.loading import load_store

FIXTURES = Path(__file__).parent / "fixtures"
MINI = FIXTURES / "mini"

SettingsFactory = Callable[..., Settings]


#: The per-client query budget is off in the shared fixtures: a session-wide test client is one
#: client for the whole run, and a slow machine would spend its budget (tests/test_api_budget.py
#: turns it on).
UNMETERED: dict[str, Any] = {"client_query_seconds": 0.0, "client_concurrency": 0}


def _settings(store: Path, **overrides: Any) -> Settings:
    # defaults only: the tests ignore the caller's COPROD_* variables
    return settings_of(store, **{**UNMETERED, **overrides})


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    skip_embedded_only(items)


def pytest_sessionfinish() -> None:
    stop_all()


@pytest.fixture
def mini_settings(tmp_path: Path) -> Settings:
    """Settings over the miniature ontology/data, with an empty store under ``tmp_path``."""
    return _settings(tmp_path / "store", ontology_dir=MINI / "ontology", data_dir=MINI / "data")


@pytest.fixture(scope="session")
def settings_for() -> SettingsFactory:
    """Build settings for a store directory: ``settings_for(path, query_timeout=2)``."""
    return _settings


@pytest.fixture(scope="session")
def mini_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A store directory loaded with the miniature ontology and data (read it, do not load)."""
    store = tmp_path_factory.mktemp("mini-store")
    dedicated(store)
    load_store(_settings(store, ontology_dir=MINI / "ontology", data_dir=MINI / "data"))
    return store


@pytest.fixture(scope="session")
def real_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A store directory loaded with the real ontology and ``data/``."""
    store = tmp_path_factory.mktemp("real-store")
    dedicated(store)
    load_store(_settings(store, ontology_dir=PROJECT_ROOT / "ontology",
                         data_dir=PROJECT_ROOT / "data"))
    return store


def _client(settings: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(settings)) as client:
        yield client


@pytest.fixture(scope="session")
def app_client(mini_store: Path) -> Iterator[TestClient]:
    """A client of the app over the miniature store (two query workers)."""
    yield from _client(_settings(mini_store, ontology_dir=MINI / "ontology",
                                 data_dir=MINI / "data"))


@pytest.fixture(scope="session")
def real_client(real_store: Path) -> Iterator[TestClient]:
    """A client of the app over the real ontology and data."""
    yield from _client(_settings(real_store))


def free_port() -> int:
    """A TCP port nobody listens on at the moment, on 127.0.0.1."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class ServerThread:
    """A uvicorn server of ``config`` in a thread (``with``: started, then stopped)."""

    def __init__(self, config: uvicorn.Config) -> None:
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> Self:
        self.thread.start()
        deadline = time.monotonic() + 120
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("the test server did not start")
            time.sleep(0.05)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(30)


class LiveServer(ServerThread):
    """A uvicorn server running ``create_app(settings)`` in a thread."""

    def __init__(self, settings: Settings) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.settings = settings.with_overrides(port=self.port, public_url=self.url)
        super().__init__(uvicorn.Config(create_app(self.settings), host="127.0.0.1",
                                        port=self.port, log_level="warning", lifespan="on"))

    def get(self, path: str, **kwargs: Any) -> httpx.Response:
        return httpx.get(self.url + path, timeout=60, **kwargs)


@pytest.fixture(scope="session")
def live_server(mini_store: Path) -> Iterator[LiveServer]:
    """A real HTTP server over the miniature store on a free 127.0.0.1 port."""
    settings = _settings(mini_store, ontology_dir=MINI / "ontology", data_dir=MINI / "data")
    with LiveServer(settings) as server:
        yield server


#: Extra records of the web tests: a case with a quoted passage, Polish labels.
WEB_FIXTURES = FIXTURES / "web"


@pytest.fixture(scope="session")
def web_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The real ontology and ``data/`` plus ``tests/fixtures/web`` (a quoted case, Polish
    labels), loaded once for the explorer, page and browser tests (read it, do not write)."""
    store = tmp_path_factory.mktemp("web-store")
    dedicated(store)
    load_store(_settings(store, ontology_dir=PROJECT_ROOT / "ontology",
                         data_dir=PROJECT_ROOT / "data"),
               extra_files=sorted(WEB_FIXTURES.glob("*.ttl")))
    return store
