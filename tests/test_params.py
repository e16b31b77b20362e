"""api.params.decode_params reads query strings and form bodies as urllib.parse.parse_qsl does.

A generated corpus of query strings, from an alphabet chosen to hit every rule (separators,
``=``, ``+``, escapes valid and not, escapes of non-UTF-8 bytes, multi-byte characters
escaped, upper and lower case hexadecimal), plus hand-written cases: the pairs, or the error
type, must be the standard library's.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from urllib.parse import parse_qsl, quote

import pytest
from fastapi.testclient import TestClient

from api.params import Params, decode_params

ALPHABET = ["a", "Z", "0", "9", "&", "=", "+", "%", ";", "#", "?", " ", "%20", "%2B", "%2b",
            "%26", "%3D", "%3d", "%25", "%C3%A9", "%c3%a9", "%E2%82%AC", "%F0%9F%98%80", "%FF",
            "%C3", "%80", "%G1", "%4", "%%", "%0", "%00", "%7F", "~", "-", ".", "_", "*", "\\",
            "'", '"', "<", ">", "{", "}", "\t"]
HAND = ["", "&", "&&", "=", "==", "a", "a=", "=b", "a=b=c", "a=b&a=c", "query=ASK%20%7B%7D",
        "query=SELECT+%3Fs+WHERE+%7B%7D", "%", "a%", "a%2", "%zz=%yy", "+=+", "a+b=c+d",
        "q=%E9", "q=%C3%28", "q=%ED%A0%80", "q=caf%C3%A9&format=json&output=xml",
        "query=" + quote("SELECT * { ?s ?p 'é€😀' }", safe=""), "a;b=c", "a=%2526"]


def _corpus(count: int, seed: int) -> list[str]:
    rng = random.Random(seed)
    return ["".join(rng.choice(ALPHABET) for _ in range(rng.randint(0, 24)))
            for _ in range(count)]


def _outcome(read: Callable[[str], Params], text: str) -> Params | type[Exception]:
    try:
        return read(text)
    except UnicodeDecodeError as exc:
        return type(exc)


def _library(text: str) -> Params:
    return parse_qsl(text, keep_blank_values=True, strict_parsing=False, encoding="utf-8",
                     errors="strict")


@pytest.mark.parametrize("text", HAND + _corpus(3000, 20261202))
def test_same_pairs_as_parse_qsl(text: str) -> None:
    assert _outcome(lambda t: decode_params(t.encode("ascii")), text) == _outcome(_library, text)


@pytest.mark.parametrize("raw", [b"q=\xc3\xa9", b"\xff", b"a=b&\x80=c"])
def test_bytes_outside_ascii_are_refused(raw: bytes) -> None:
    with pytest.raises(UnicodeDecodeError):
        decode_params(raw)


@pytest.mark.parametrize("query_string", ["query=ASK%20%7B%7D%FF", "query=%C3%28"])
def test_an_invalid_utf8_escape_is_a_400(app_client: TestClient, query_string: str) -> None:
    answer = app_client.get(f"/sparql?{query_string}")
    assert answer.status_code == 400
    assert "UTF-8" in answer.text
