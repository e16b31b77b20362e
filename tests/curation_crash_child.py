"""Child process of the crash tests (killed by the parent with SIGKILL, or by itself).

``python tests/curation_crash_child.py STORE_DIR``: submit records in a loop, print ``ack N``
after each (the parent kills it at a random moment).

``python tests/curation_crash_child.py STORE_DIR accept CASE_IRI K``: accept version 1 of
``CASE_IRI`` and kill itself (SIGKILL) at the K-th event of that write: every step of the
commit (:data:`coprod_kg.curation.base.STEP_HOOK`) and before and after every store update
and flush; prints ``events N`` when the accept ends before event K.
"""

from __future__ import annotations

import os
import signal
import sys
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from coprod_kg.config import load_settings
from coprod_kg.curation import Curation, base
from tests.curation_helpers import ALICE, BOB, record


def loop(service: Curation) -> None:
    number = 0
    while True:
        number += 1
        slug = f"crash-case-{number}"
        if number % 2:
            service.submit(record(slug), "text/turtle", BOB, publish=True)
        else:
            outcome = service.submit(record(slug), "text/turtle", ALICE)
            service.accept(outcome.version.case, 1, BOB)
        print(f"ack {slug}", flush=True)


def accept_and_die(service: Curation, case: str, kill_at: int) -> None:
    service.recover()  # start-up recovery is not counted
    events: list[str] = []

    def event(name: str) -> None:
        events.append(name)
        if len(events) == kill_at:
            print(f"killed at {name}", flush=True)
            os.kill(os.getpid(), signal.SIGKILL)

    writer = service.writer()

    def counted(name: str, call: Callable[..., None]) -> Callable[..., None]:
        def wrapper(*args: object) -> None:
            event(f"before {name}")
            call(*args)
            event(f"after {name}")
        return wrapper

    setattr(writer, "update", counted("update", writer.update))  # noqa: B010
    setattr(writer, "flush", counted("flush", writer.flush))  # noqa: B010
    base.STEP_HOOK = event
    service.accept(case, 1, BOB)
    print(f"events {len(events)}", flush=True)


def main() -> None:
    settings = load_settings({}).with_overrides(store=Path(sys.argv[1]))
    service = Curation.open(settings)
    if len(sys.argv) > 2 and sys.argv[2] == "accept":
        accept_and_die(service, sys.argv[3], int(sys.argv[4]))
    else:
        loop(service)


if __name__ == "__main__":
    main()
