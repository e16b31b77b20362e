"""Read a submitted RDF document from a request: a raw body, an uploaded file or pasted text.

The size limit (``settings.max_request_bytes``) is enforced twice: on the declared
``Content-Length`` before reading, and on the bytes actually streamed (a client may lie or send
chunks). The media type comes from ``Content-Type`` for a raw body; for a form, from the
uploaded file's type or name, or from the ``format`` field sent with pasted text.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import PurePath

from fastapi import Request
from starlette.datastructures import UploadFile
from starlette.types import Message

from coprod_kg.errors import BadInput, PayloadTooLarge, UnsupportedMediaType
from coprod_kg.rdf.parsing import MEDIA_TYPES, SUFFIXES

FORM_TYPES = ("multipart/form-data", "application/x-www-form-urlencoded")
#: Media types a caller may send (also the ``format`` choices of the web form).
RDF_TYPES: tuple[str, ...] = ("text/turtle", "application/ld+json", "application/rdf+xml",
                              "application/n-triples")
#: The request body as the OpenAPI schema describes it (raw RDF, or the web form).
RDF_BODY_DOC: dict[str, object] = {
    "required": True,
    "content": {media: {"schema": {"type": "string"}} for media in RDF_TYPES} | {
        "multipart/form-data": {"schema": {"type": "object", "properties": {
            "file": {"type": "string", "format": "binary"},
            "text": {"type": "string"},
            "format": {"type": "string", "enum": list(RDF_TYPES)}}}}},
}


@dataclass(frozen=True)
class Document:
    """A submitted document: its bytes, media type and a name to show in reports."""

    data: bytes
    media_type: str
    name: str | None = None


def media_type_of(request: Request) -> str:
    """The body's media type, lower case, parameters removed (``""`` when absent)."""
    return request.headers.get("content-type", "").split(";")[0].strip().lower()


async def read_body(request: Request, limit: int) -> bytes:
    """The whole body, refused with 413 as soon as it passes ``limit`` bytes."""
    declared = request.headers.get("content-length", "").strip()
    if declared.isdigit() and int(declared) > limit:
        raise PayloadTooLarge(f"the request body ({declared} bytes) exceeds the limit of "
                              f"{limit} bytes")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise PayloadTooLarge(f"the request body exceeds the limit of {limit} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


def check_rdf_type(media_type: str) -> str:
    """``media_type`` if we can parse it, else 415 naming what we read."""
    if media_type not in MEDIA_TYPES:
        raise UnsupportedMediaType(
            f"cannot read a body of type {media_type or '(no Content-Type)'!r}; send one of "
            f"{', '.join(RDF_TYPES)}")
    return media_type


async def read_document(request: Request, limit: int, name: str | None = None) -> Document:
    """The RDF document of a raw-body request (``Content-Type`` must be an RDF type)."""
    media = check_rdf_type(media_type_of(request))
    return Document(await read_body(request, limit), media, name)


async def read_form_or_document(request: Request, limit: int) -> Document:
    """A raw RDF body, or a form with a ``file`` upload or pasted ``text`` (+ ``format``)."""
    media = media_type_of(request)
    if media not in FORM_TYPES:
        return await read_document(request, limit)
    body = await read_body(request, limit)

    async def replay() -> Message:
        return {"type": "http.request", "body": body, "more_body": False}

    replayed = Request(request.scope, replay)
    async with replayed.form(max_files=1, max_fields=10) as form:
        chosen = str(form.get("format") or "").strip().lower()
        upload = form.get("file")
        if isinstance(upload, UploadFile) and upload.filename:
            data = await upload.read()
            return Document(data, _upload_type(upload, chosen), upload.filename)
        text = form.get("text")
        if not isinstance(text, str) or not text.strip():
            raise BadInput("nothing to validate: paste a record in 'text' or upload a 'file'")
        return Document(text.encode("utf-8"), check_rdf_type(chosen or "text/turtle"), None)


def _upload_type(upload: UploadFile, chosen: str) -> str:
    """The type of an uploaded file: the form's choice, its suffix, or what the browser said."""
    if chosen:
        return check_rdf_type(chosen)
    suffix = PurePath(upload.filename or "").suffix.lower()
    if suffix in SUFFIXES:
        return SUFFIXES[suffix]
    declared = (upload.content_type or "").split(";")[0].strip().lower()
    return check_rdf_type(declared)
