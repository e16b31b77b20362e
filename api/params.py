"""Query strings and form bodies (``a=b&c=d``), percent-decoded once, as strict UTF-8.

:func:`decode_params` gives what :func:`urllib.parse.parse_qsl` gives with
``keep_blank_values=True`` and ``errors="strict"`` (``tests/test_params.py`` compares the two
over a generated corpus): fields split on ``&``, empty ones skipped, a field without ``=`` kept
with an empty value, ``+`` read as a space before the escapes are decoded, and the bytes then
read as UTF-8. The input is ASCII, as a query string on the wire is (anything else is refused,
as it was). It calls the standard library's :func:`~urllib.parse.unquote_to_bytes` directly,
without ``parse_qsl``'s and ``unquote``'s generic layers (which split the text into ASCII and
other runs, among others): a third less work on a lookup's query string.
"""

from __future__ import annotations

from urllib.parse import unquote_to_bytes

Params = list[tuple[str, str]]


def _decoded(text: str) -> str:
    """``text`` (ASCII) with ``+`` as a space and its ``%XX`` escapes decoded, read as UTF-8;
    :class:`UnicodeDecodeError` when the bytes are not UTF-8."""
    spaced = text.replace("+", " ")
    return unquote_to_bytes(spaced).decode("utf-8") if "%" in spaced else spaced


def decode_params(raw: bytes) -> Params:
    """The ``(name, value)`` pairs of ``raw``, in order; :class:`UnicodeDecodeError` when it
    is not ASCII or an escaped value is not UTF-8.

    >>> decode_params(b"query=ASK%20%7B%7D&format=json&x&a+b=%C3%A9%2B")
    [('query', 'ASK {}'), ('format', 'json'), ('x', ''), ('a b', 'é+')]
    """
    pairs: Params = []
    for field in raw.decode("ascii").split("&"):
        if field:
            name, _, value = field.partition("=")
            pairs.append((_decoded(name), _decoded(value)))
    return pairs
