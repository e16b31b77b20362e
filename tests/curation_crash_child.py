"""Child process of the crash test: submit records in a loop, print ``ack N`` after each.

Usage: ``python tests/curation_crash_child.py STORE_DIR`` (killed by the parent with SIGKILL).
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from coprod_kg.config import load_settings
from coprod_kg.curation import Curation
from tests.curation_helpers import ALICE, BOB, record


def main() -> None:
    settings = load_settings({}).with_overrides(store=Path(sys.argv[1]))
    service = Curation.open(settings)
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


if __name__ == "__main__":
    main()
