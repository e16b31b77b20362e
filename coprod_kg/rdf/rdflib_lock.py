"""One lock around rdflib's SPARQL machinery, which is not thread-safe.

rdflib parses SPARQL with a module-level pyparsing grammar whose state concurrent parses corrupt
(rdflib issue #1282); once corrupted, even later single-threaded parses fail. The server runs
requests in threads, so every in-process use of that parser, and of pySHACL, which drives it,
holds this lock. The query read path does not: SPARQL queries are parsed in the query worker
processes, each single-threaded (:mod:`coprod_kg.storage.embedded.query_worker`).
"""

from __future__ import annotations

import threading

SPARQL_PARSER_LOCK = threading.RLock()
