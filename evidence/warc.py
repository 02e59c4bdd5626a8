"""WARC records of one capture (ISO 28500 / WARC 1.1), written with warcio, streamed to a file.

One format concern only: turning a `CapturedPage` (what the crawler saw) into records. Digests are
SHA-256 (`sha256:` + base32, as warcio checks them) instead of warcio's default SHA-1, so the WARC
headers carry the same hash as the custody manifest. Whether a payload is new or a revisit is decided
by the caller (`evidence.store`), which knows what is already stored.

Records of a capture, in order: warcinfo; the HTTP response (or a revisit record when its payload is
stored already) and the request, concurrent to it; for browser pages the rendered DOM
(`urn:dom:URL`, text/html) and for any screenshot the PNG (`urn:view:URL`, the name Browsertrix uses),
each a resource record or a revisit; the listing as extracted (`urn:listing:URL`, JSON) likewise.
"""

from __future__ import annotations

import base64
import hashlib
import io
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import IO, Any

from warcio.statusandheaders import StatusAndHeaders
from warcio.utils import Digester
from warcio.warcwriter import WARCWriter

WARC_VERSION = "WARC/1.1"
HOP_BY_HOP = frozenset({"transfer-encoding", "connection", "keep-alive"})
"""Response headers that describe the wire, not the body Scrapy hands over (de-chunked): kept, they
would make replay tools read the stored body as chunked."""


@dataclass(slots=True)
class CapturedPage:
    """What the crawler saw of one page: the request as sent, the response as received (body as on the
    wire after de-chunking, Content-Encoding kept), and for browser pages the rendered DOM and a
    screenshot. Times are the crawler's clock, time-zone aware."""

    url: str
    method: str
    request_headers: list[tuple[str, str]]
    request_body: bytes
    status: int | None
    protocol: str
    response_headers: list[tuple[str, str]]
    body: bytes | None
    requested_at: datetime
    captured_at: datetime
    dom: bytes | None = None
    screenshot: bytes | None = None
    browser: bool = False
    job_id: str | None = None
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def size(self) -> int:
        return len(self.body or b"") + len(self.dom or b"") + len(self.screenshot or b"") + len(self.request_body)


@dataclass(slots=True)
class Payload:
    """One record to write: a payload and where it was stored first, if it was (then: revisit)."""

    kind: str
    """request | response | dom | screenshot | listing"""
    uri: str
    data: bytes
    content_type: str
    sha256: str
    original: dict[str, Any] | None = None
    """{"uri", "date", "warc", "record_id"} of the record that holds these bytes already."""


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def warc_digest(hex_digest: str) -> str:
    """`sha256:BASE32` — the form warcio (and `warcio check`) verifies."""
    return "sha256:" + base64.b32encode(bytes.fromhex(hex_digest)).decode("ascii")


def warc_date(moment: datetime) -> str:
    """WARC-Date is UTC by the standard; the local time with its zone lives in the manifest."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


class Sha256WARCWriter(WARCWriter):
    """warcio's writer with SHA-256 block and payload digests."""

    @staticmethod
    def _create_digester() -> Digester:
        return Digester("sha256")


def _reason(status: int) -> str:
    from http import HTTPStatus

    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return ""


def _request_headers(page: CapturedPage) -> StatusAndHeaders:
    from urllib.parse import urlsplit

    parts = urlsplit(page.url)
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    headers = list(page.request_headers)
    if not any(k.lower() == "host" for k, _ in headers):
        headers.insert(0, ("Host", parts.netloc))
    return StatusAndHeaders(f"{page.method} {target} {page.protocol}", headers, is_http_request=True)


def _response_headers(page: CapturedPage) -> StatusAndHeaders:
    status = page.status or 200
    headers = [(k, v) for k, v in page.response_headers if k.lower() not in HOP_BY_HOP]
    return StatusAndHeaders(f"{status} {_reason(status)}".strip(), headers, protocol=page.protocol)


def write_capture(out: IO[bytes], page: CapturedPage, payloads: dict[str, Payload], filename: str) -> dict[str, str]:
    """Write the records of `page` to `out` (gzip per record). `payloads` maps kind -> Payload, with
    `original` set for those to write as revisits. Returns kind -> WARC-Record-ID of what was written."""
    writer = Sha256WARCWriter(out, gzip=True, warc_version=WARC_VERSION)
    date = warc_date(page.captured_at)
    info = {
        "software": "sweep evidence (warcio)",
        "format": "WARC File Format 1.1",
        "conformsTo": "http://iipc.github.io/warc-specifications/specifications/warc-format/warc-1.1/",
        "isPartOf": page.job_id or "",
    }
    writer.write_record(writer.create_warcinfo_record(filename, info))
    ids: dict[str, str] = {}
    response = payloads.get("response")
    response_id: str | None = None
    if response is not None:
        record = _record(writer, response, date, http_headers=_response_headers(page))
        writer.write_record(record)
        response_id = record.rec_headers.get_header("WARC-Record-ID")
        ids["response"] = response_id
    request = payloads.get("request")
    if request is not None:
        headers = {"WARC-Date": date}
        if response_id:
            headers["WARC-Concurrent-To"] = response_id
        record = writer.create_warc_record(
            request.uri,
            "request",
            payload=io.BytesIO(request.data),
            length=len(request.data),
            warc_headers_dict=headers | {"WARC-Payload-Digest": warc_digest(request.sha256)},
            http_headers=_request_headers(page),
        )
        writer.write_record(record)
        ids["request"] = record.rec_headers.get_header("WARC-Record-ID")
    for kind in ("dom", "screenshot", "listing"):
        payload = payloads.get(kind)
        if payload is None:
            continue
        record = _record(writer, payload, date, concurrent_to=response_id)
        writer.write_record(record)
        ids[kind] = record.rec_headers.get_header("WARC-Record-ID")
    return ids


def _record(
    writer: Sha256WARCWriter,
    payload: Payload,
    date: str,
    *,
    http_headers: StatusAndHeaders | None = None,
    concurrent_to: str | None = None,
) -> Any:
    headers = {"WARC-Date": date}
    if concurrent_to:
        headers["WARC-Concurrent-To"] = concurrent_to
    if payload.original is not None:  # warcio adds WARC-Profile (identical-payload-digest, 1.1)
        return writer.create_revisit_record(
            payload.uri,
            warc_digest(payload.sha256),
            payload.original["uri"],
            payload.original["date"],
            http_headers=http_headers,
            warc_headers_dict=headers,
        )
    record_type = "response" if http_headers is not None else ("metadata" if payload.kind == "listing" else "resource")
    headers["WARC-Payload-Digest"] = warc_digest(payload.sha256)
    return writer.create_warc_record(
        payload.uri,
        record_type,
        payload=io.BytesIO(payload.data),
        length=len(payload.data),
        warc_content_type="" if http_headers is not None else payload.content_type,
        warc_headers_dict=headers,
        http_headers=http_headers,
    )
