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
