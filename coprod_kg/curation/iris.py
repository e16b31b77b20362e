"""Canonical IRIs (RFC 3986, section 6.2.2-6.2.3): one spelling per resource.

Two spellings of one IRI (``HTTPS://W3ID.org:443/coprod/./case/x`` and
``https://w3id.org/coprod/case/x``) name the same web resource but are different RDF terms, so a
submission could pass one off as a new resource. Submissions must therefore write every IRI in
its canonical form: lower-case scheme and host, no default port, no dot-segments, percent-
encoding only for characters that need it, with upper-case hex digits.
"""

from __future__ import annotations

import re
import string

from coprod_kg.rdf.namespaces import BASE

_IRI = re.compile(r"([A-Za-z][A-Za-z0-9+.\-]*):(?://([^/?#]*))?([^?#]*)(\?[^#]*)?(#.*)?",
                  re.DOTALL)
_PERCENT = re.compile(r"%([0-9A-Fa-f]{2})")
_UNRESERVED = frozenset(string.ascii_letters + string.digits + "-._~")
DEFAULT_PORTS = {"http": "80", "https": "443", "ftp": "21", "ws": "80", "wss": "443"}


def _percent(text: str) -> str:
    """Decode percent-encoded unreserved characters; upper-case the hex of the others."""
    def one(match: re.Match[str]) -> str:
        char = chr(int(match.group(1), 16))
        return char if char in _UNRESERVED else "%" + match.group(1).upper()
    return _PERCENT.sub(one, text)


def remove_dot_segments(path: str) -> str:
    """A path without ``.`` and ``..`` segments (RFC 3986, section 5.2.4).

    >>> remove_dot_segments("/coprod/x/../case/./a")
    '/coprod/case/a'
    """
    if "." not in path:
        return path
    segments = path.split("/")
    out: list[str] = []
    for index, segment in enumerate(segments):
        last = index == len(segments) - 1
        if segment in (".", ".."):
            if segment == ".." and len(out) > 1:
                out.pop()
            if last:
                out.append("")
            continue
        out.append(segment)
    return "/".join(out)


def _authority(scheme: str, authority: str) -> str:
    userinfo, at, hostport = authority.rpartition("@")
    host, port = hostport, ""
    if not hostport.endswith("]"):  # an IPv6 literal holds colons of its own
        host, _, port = hostport.rpartition(":") if ":" in hostport else (hostport, "", "")
    host = host.lower().rstrip(".")
    if port == DEFAULT_PORTS.get(scheme):
        port = ""
    return f"{_percent(userinfo)}{at}{host}{':' + port if port else ''}"


def canonical_iri(iri: str) -> str | None:
    """The canonical spelling of absolute ``iri``, or None if it is not an absolute IRI.

    >>> canonical_iri("HTTPS://W3ID.org:443/coprod/case/../case/%61b%2f")
    'https://w3id.org/coprod/case/ab%2F'
    """
    match = _IRI.fullmatch(iri)
    if match is None:
        return None
    scheme, authority, path, query, fragment = match.groups()
    scheme = scheme.lower()
    path = _percent(path)
    if authority is not None or path.startswith("/"):
        path = remove_dot_segments(path)
    text = scheme + ":"
    if authority is not None:
        text += "//" + _authority(scheme, authority)
    return text + path + _percent(query or "") + _percent(fragment or "")


def iri_offence(iri: str) -> str | None:
    """Why a submission may not spell an IRI so (None if canonical).

    IRIs under our base take no percent-encoding at all: their names are plain slugs.

    >>> iri_offence("HTTPS://w3id.org/coprod/case/x")
    'it is not in canonical form; write <https://w3id.org/coprod/case/x>'
    """
    canonical = canonical_iri(iri)
    if canonical is None:
        return "it is not an absolute IRI"
    if canonical != iri:
        return f"it is not in canonical form; write <{canonical}>"
    if iri.startswith(BASE) and "%" in iri:
        return f"IRIs under {BASE} take no percent-encoding"
    return None
