"""Take the README's screenshots: the explorer and a case page, in headless Chromium.

    python scripts/screenshots.py STORE_DIR docs/screenshots

STORE_DIR is a loaded store (``coprod-kg load --store DIR``). The server runs on a free port of
127.0.0.1; the browser may reach nothing else.
"""

from __future__ import annotations

import socket
import sys
import threading
import time
from pathlib import Path

SHOTS = {
    "explorer.png": "/browse/cases?level=https%3A%2F%2Fw3id.org%2Fcoprod%2Fconcept%2F"
                    "collective-level&q=parents",
    "case.png": "/case/swedish-parent-cooperative-preschools",
}
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync"]


def main() -> None:
    """Serve ``argv[1]`` and write one PNG per page of :data:`SHOTS` into ``argv[2]``."""
    import uvicorn
    from playwright.sync_api import Route, sync_playwright

    from api.app import create_app
    from coprod_kg.config import PROJECT_ROOT, load_settings

    store, out = Path(sys.argv[1]).resolve(), Path(sys.argv[2])
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    url = f"http://127.0.0.1:{port}"
    settings = load_settings({}).with_overrides(
        store=store, ontology_dir=PROJECT_ROOT / "ontology", data_dir=PROJECT_ROOT / "data",
        port=port, public_url=url)
    server = uvicorn.Server(uvicorn.Config(create_app(settings), host="127.0.0.1", port=port,
                                           log_level="warning"))
    threading.Thread(target=server.run, daemon=True).start()
    while not server.started:
        time.sleep(0.05)
    out.mkdir(parents=True, exist_ok=True)

    def only_here(route: Route) -> None:
        if route.request.url.startswith(url):
            route.continue_()
        else:
            route.abort()

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path="/usr/bin/chromium", args=ARGS)
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.route("**/*", only_here)
        for name, path in SHOTS.items():
            page.goto(url + path)
            page.wait_for_load_state("networkidle")
            page.screenshot(path=str(out / name))
        browser.close()
    server.should_exit = True


if __name__ == "__main__":
    main()
