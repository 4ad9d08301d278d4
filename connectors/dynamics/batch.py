"""OData `$batch` bodies as Dataverse reads and writes them (multipart/mixed, change sets).

A batch is a list of parts; each part is one request, or a change set (a list of requests that
succeed or fail together). Both sides live here so the emulator and the connector agree:

    client:   encode_batch(parts) -> (body, content_type);   decode_batch_response(body, ct) -> [OperationResult]
    emulator: decode_batch(body, ct) -> parts;               encode_batch_response(results) -> (body, ct)

Wire shape (CRLF line ends), as in Microsoft's "Execute batch operations using the Web API":

    --batch_X
    Content-Type: multipart/mixed; boundary=changeset_Y

    --changeset_Y
    Content-Type: application/http
    Content-Transfer-Encoding: binary
    Content-ID: 1

    POST https://org.crm.dynamics.com/api/data/v9.2/contacts HTTP/1.1
    Content-Type: application/json; type=entry

    {"lastname": "Smith"}
    --changeset_Y--
    --batch_X--
"""

from __future__ import annotations

import json
import re
import uuid
from dataclasses import dataclass, field
from typing import Any

CRLF = "\r\n"
MAX_BATCH_OPERATIONS = 1000  # Dataverse: a $batch holds at most 1,000 requests (= limits.MAX_BATCH_OPERATIONS)


class BatchFormatError(ValueError):
    pass


@dataclass
class BatchRequest:
    method: str
    url: str  # absolute, or relative to the Web API root
    headers: dict[str, str] = field(default_factory=dict)
    body: Any = None  # dict -> JSON
    content_id: str | None = None


@dataclass
class ChangeSet:
    requests: list[BatchRequest]


Part = BatchRequest | ChangeSet


@dataclass
class OperationResult:
    status: int
    headers: dict[str, str] = field(default_factory=dict)  # lower-cased names
    body: Any = None
    content_id: str | None = None
    in_changeset: bool = False

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300


@dataclass
class ChangeSetResult:
    results: list[OperationResult]


ResultPart = OperationResult | ChangeSetResult

STATUS_TEXT = {
    200: "OK",
    201: "Created",
    204: "No Content",
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    405: "Method Not Allowed",
    409: "Conflict",
    412: "Precondition Failed",
    429: "Too Many Requests",
    500: "Internal Server Error",
    503: "Service Unavailable",
}


def operation_count(parts: list[Part]) -> int:
    return sum(len(p.requests) if isinstance(p, ChangeSet) else 1 for p in parts)


# --- encoding -------------------------------------------------------------------------------------
def _http_part(first_line: str, headers: dict[str, str], body: Any, content_id: str | None) -> str:
    lines = ["Content-Type: application/http", "Content-Transfer-Encoding: binary"]
    if content_id is not None:
        lines.append(f"Content-ID: {content_id}")
    lines += ["", first_line]
    payload = "" if body is None else body if isinstance(body, str) else json.dumps(body)
    lines += [f"{k}: {v}" for k, v in headers.items()]
    lines += ["", payload]
    return CRLF.join(lines)


def _multipart(boundary: str, chunks: list[str]) -> str:
    out = "".join(f"--{boundary}{CRLF}{chunk}{CRLF}" for chunk in chunks)
    return out + f"--{boundary}--{CRLF}"


def encode_batch(parts: list[Part], boundary: str | None = None) -> tuple[bytes, str]:
    boundary = boundary or f"batch_{uuid.uuid4()}"
    chunks = []
    for part in parts:
        if isinstance(part, ChangeSet):
            inner = f"changeset_{uuid.uuid4()}"
            requests = [_request_part(r) for r in part.requests]
            chunks.append(f"Content-Type: multipart/mixed; boundary={inner}{CRLF}{CRLF}" + _multipart(inner, requests))
        else:
            chunks.append(_request_part(part))
    return _multipart(boundary, chunks).encode(), f"multipart/mixed; boundary={boundary}"


def _request_part(request: BatchRequest) -> str:
    headers = dict(request.headers)
    if request.body is not None:
        headers.setdefault("Content-Type", "application/json; type=entry")
    return _http_part(f"{request.method} {request.url} HTTP/1.1", headers, request.body, request.content_id)


def _response_part(result: OperationResult) -> str:
    reason = STATUS_TEXT.get(result.status, "Status")
    headers = {"OData-Version": "4.0", **result.headers}
    if result.body is not None:
        headers.setdefault("Content-Type", "application/json; odata.metadata=minimal")
    return _http_part(f"HTTP/1.1 {result.status} {reason}", headers, result.body, result.content_id)


def encode_batch_response(results: list[ResultPart], boundary: str | None = None) -> tuple[bytes, str]:
    boundary = boundary or f"batchresponse_{uuid.uuid4()}"
    chunks = []
    for part in results:
        if isinstance(part, ChangeSetResult):
            inner = f"changesetresponse_{uuid.uuid4()}"
            chunks.append(
                f"Content-Type: multipart/mixed; boundary={inner}{CRLF}{CRLF}"
                + _multipart(inner, [_response_part(r) for r in part.results])
            )
        else:
            chunks.append(_response_part(part))
    return _multipart(boundary, chunks).encode(), f"multipart/mixed; boundary={boundary}"


# --- decoding ---------------------------------------------------------------------------------------
_BOUNDARY = re.compile(r'boundary="?([^";]+)"?', re.IGNORECASE)


def boundary_of(content_type: str) -> str:
    m = _BOUNDARY.search(content_type or "")
    if not m or not content_type.lower().startswith("multipart/mixed"):
        raise BatchFormatError("The batch must be sent as multipart/mixed with a boundary.")
    return m.group(1)


def _split(text: str, boundary: str) -> list[str]:
    """The body parts between `--boundary` delimiters (preamble and epilogue dropped)."""
    delimiter = re.compile(r"(?:^|\r?\n)--" + re.escape(boundary) + r"(--)?[ \t]*(?:\r?\n|$)")
    parts, last, closed = [], None, False
    for m in delimiter.finditer(text):
        if last is not None:
            parts.append(text[last : m.start()])
        if m.group(1):
            closed = True
            break
        last = m.end()
    if not closed:
        raise BatchFormatError(f"The multipart body is not closed with --{boundary}--.")
    return parts


def _headers_and_rest(text: str) -> tuple[dict[str, str], str]:
    pieces = re.split(r"\r?\n\r?\n", text, maxsplit=1)
    head, rest = (pieces[0], pieces[1]) if len(pieces) == 2 else (pieces[0], "")
    headers = {}
    for line in filter(None, re.split(r"\r?\n", head)):
        name, colon, value = line.partition(":")
        if not colon:
            raise BatchFormatError(f"Malformed header line {line!r} in batch part.")
        headers[name.strip().lower()] = value.strip()
    return headers, rest


def _decode_http(text: str, in_changeset: bool) -> tuple[dict[str, str], str, dict[str, str], Any]:
    """(MIME headers, first line, HTTP headers, body) of one application/http part."""
    mime, rest = _headers_and_rest(text)
    if "application/http" not in mime.get("content-type", ""):
        raise BatchFormatError("Each batch operation must have Content-Type: application/http.")
    first, _, remainder = rest.partition("\n")
    http_headers, body_text = _headers_and_rest(remainder) if remainder.strip() else ({}, "")
    body_text = body_text.strip()
    body: Any = None
    if body_text:
        try:
            body = json.loads(body_text)
        except ValueError:
            body = body_text
    return mime, first.strip(), http_headers, body


def decode_batch(body: bytes, content_type: str) -> list[Part]:
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise BatchFormatError("The batch body is not UTF-8 text.") from None
    parts: list[Part] = []
    for chunk in _split(text, boundary_of(content_type)):
        mime, rest = _headers_and_rest(chunk)
        ctype = mime.get("content-type", "")
        if ctype.lower().startswith("multipart/mixed"):
            requests = [_decode_request(c, True) for c in _split(rest, boundary_of(ctype))]
            parts.append(ChangeSet(requests))
        else:
            parts.append(_decode_request(chunk, False))
    return parts


def _decode_request(text: str, in_changeset: bool) -> BatchRequest:
    mime, first, headers, body = _decode_http(text, in_changeset)
    bits = first.split()
    if len(bits) < 2:
        raise BatchFormatError(f"Malformed request line {first!r} in batch.")
    return BatchRequest(bits[0].upper(), bits[1], headers, body, mime.get("content-id"))


def decode_batch_response(body: bytes, content_type: str) -> list[ResultPart]:
    text = body.decode("utf-8")
    results: list[ResultPart] = []
    for chunk in _split(text, boundary_of(content_type)):
        mime, rest = _headers_and_rest(chunk)
        ctype = mime.get("content-type", "")
        if ctype.lower().startswith("multipart/mixed"):
            results.append(ChangeSetResult([_decode_result(c, True) for c in _split(rest, boundary_of(ctype))]))
        else:
            results.append(_decode_result(chunk, False))
    return results


def _decode_result(text: str, in_changeset: bool) -> OperationResult:
    mime, first, headers, body = _decode_http(text, in_changeset)
    m = re.match(r"HTTP/1\.[01] (\d{3})", first)
    if not m:
        raise BatchFormatError(f"Malformed status line {first!r} in batch response.")
    return OperationResult(int(m.group(1)), headers, body, mime.get("content-id"), in_changeset)
