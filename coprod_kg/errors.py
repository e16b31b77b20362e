"""The project's domain errors. The API maps them to HTTP status codes in one place."""

from __future__ import annotations


class CoprodError(Exception):
    """Base of every error this package raises on purpose."""

    status = 500


class BadInput(CoprodError):
    """The caller sent something we cannot use (malformed RDF, malformed query...)."""

    status = 400


class NotFound(CoprodError):
    """The requested resource does not exist."""

    status = 404


class NotAcceptable(CoprodError):
    """No representation matches the client's Accept header."""

    status = 406


class PayloadTooLarge(CoprodError):
    """The request body exceeds the configured limit."""

    status = 413


class UnsupportedMediaType(CoprodError):
    """The request body's media type is not one we read."""

    status = 415


class Unprocessable(CoprodError):
    """The input parses but is refused (it does not conform, or breaks a policy)."""

    status = 422


class TooManyRequests(CoprodError):
    """A client is past its query time budget or its cap on concurrent queries."""

    status = 429

    def __init__(self, message: str, retry_after: int) -> None:
        self.retry_after = retry_after  # seconds, sent as ``Retry-After``
        super().__init__(message)


class QueryTimeout(CoprodError):
    """A query ran past the configured timeout and was stopped."""

    status = 503


class ParseError(BadInput):
    """RDF that cannot be parsed; carries the position when the parser gives one."""

    def __init__(self, message: str, line: int | None = None, column: int | None = None,
                 source: str | None = None) -> None:
        self.message = message
        self.line = line
        self.column = column
        self.source = source
        where = ""
        if source:
            where += f"{source}"
        if line is not None:
            where += f"{':' if where else ''}line {line}"
            if column is not None:
                where += f", column {column}"
        super().__init__(f"{where}: {message}" if where else message)

    def __reduce__(self) -> tuple[type[ParseError], tuple[str, int | None, int | None,
                                                           str | None]]:
        # keeps the position when the error crosses from a validation worker process
        return (ParseError, (self.message, self.line, self.column, self.source))


class Unauthorized(CoprodError):
    """No valid credentials were sent (missing, unknown or revoked token)."""

    status = 401


class Forbidden(CoprodError):
    """The account is known but its role does not allow this action."""

    status = 403


class Conflict(CoprodError):
    """The request conflicts with the current state (e.g. POST of a case that already exists)."""

    status = 409


class Gone(CoprodError):
    """The resource was withdrawn on purpose; ``tombstone`` says what it was, when and why."""

    status = 410

    def __init__(self, message: str, tombstone: dict[str, str | int | None]) -> None:
        super().__init__(message)
        self.tombstone = tombstone


class PreconditionFailed(CoprodError):
    """``If-Match`` names a version that is no longer the latest one (a concurrent edit)."""

    status = 412


class PreconditionRequired(CoprodError):
    """A write to an existing case came without ``If-Match``."""

    status = 428


class ValidationBusy(CoprodError):
    """Every validation worker stayed busy while the upload waited for one."""

    status = 503


class ValidationTimeout(CoprodError):
    """The validation of an upload ran past its time limit and its worker was stopped."""

    status = 503


class StoreBusy(CoprodError):
    """The store is opened read-write by another process (a running server)."""

    status = 503


class WriterElsewhere(StoreBusy):
    """The store's writer is another process: a running server, or (in a reader process of
    ``coprod-kg serve --workers N``) the writer process, to which the request is forwarded."""


class WriterUnreachable(StoreBusy):
    """A reader process could not reach the writer process, or lost it before its answer."""


class SlowRequest(CoprodError):
    """The client did not send its request's body in time."""

    status = 408


class LoadUnfinished(StoreBusy):
    """A load stopped part-way while replacing the ontology: the main store's ontology is not
    the published one, and curation's entailments would read it. Until a load finishes,
    curation neither writes nor recovers (what is published stays as it is)."""


class QueryOutOfMemory(CoprodError):
    """A query needed more memory than a query worker may use, and was stopped."""

    status = 503


class OutsideCase(Unprocessable):
    """A submission says something about resources other than its own case (or what it mints).

    ``offences`` lists each refused triple (N-Triples, entailed ones marked) with the reason.
    """

    def __init__(self, case: str, offences: list[str]) -> None:
        self.case = case
        self.offences = offences
        shown = offences[:MAX_OFFENCES_SHOWN]
        more = len(offences) - len(shown)
        super().__init__(
            f"the submission reaches beyond its case {case}: {len(offences)} triple(s) "
            "refused; nothing was stored\n" + "\n".join(f"  {line}" for line in shown)
            + (f"\n  ... and {more} more" if more > 0 else ""))


#: How many refused triples the message of :class:`OutsideCase` lists.
MAX_OFFENCES_SHOWN = 20
