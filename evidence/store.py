"""The content-addressed evidence store on the filesystem (`evidence_dir`; a volume in docker-compose).

    warc/ab/<sha256>.warc.gz              one capture's records; named by the SHA-256 of the file
    payloads/ab/<sha256>.json             where a payload's bytes were stored first (uri, date, WARC)
    manifests/<platform>/<listing>/<n>.json  the custody chain of one listing (evidence.custody)

The same bytes are stored once: before writing, each payload's SHA-256 is looked up in `payloads/`;
a known one is written as a WARC revisit record pointing at the first capture (WARC-Refers-To-*), so a
recrawl of unchanged pages adds only headers. Files are written under a temporary name and renamed, so
a crash leaves no half file under a content address; a listing's chain is appended under an exclusive
lock (several crawler processes may share the store).

Embedded and production deployments differ only in where the folder is (a local path or a shared
volume): there is no server to talk to, hence no port and no second adapter.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from evidence.custody import ANCHOR, FORMAT, canonical, listing_dir, manifest_name, self_hash
from evidence.warc import CapturedPage, Payload, sha256_hex, warc_date, write_capture


@dataclass(slots=True)
class CaptureResult:
    manifest: dict[str, Any]
    manifest_path: Path
    warc_bytes: int
    stored_payload_bytes: int
    revisits: int


class _HashingWriter:
    """A file wrapper that hashes what passes through, so a WARC's name costs no second read."""

    def __init__(self, fh: Any) -> None:
        self.fh = fh
        self.digest = hashlib.sha256()
        self.size = 0

    def write(self, data: bytes) -> int:
        self.digest.update(data)
        self.size += len(data)
        return self.fh.write(data)

    def flush(self) -> None:
        self.fh.flush()


def _sharded(folder: str, hex_digest: str, suffix: str) -> Path:
    return Path(folder) / hex_digest[:2] / f"{hex_digest}{suffix}"


class EvidenceStore:
    def __init__(self, root: Path | str) -> None:
        self.root = Path(root)
        self._made: set[Path] = set()
        """Folders known to exist: on a busy filesystem a mkdir costs as much as writing a small file."""

    def _mkdir(self, folder: Path) -> Path:
        if folder not in self._made:
            folder.mkdir(parents=True, exist_ok=True)
            self._made.add(folder)
        return folder

    # -- paths --------------------------------------------------------------------------------
    def path(self, relative: str | Path) -> Path:
        return self.root / relative

    def payload_index(self, hex_digest: str) -> Path:
        return self.root / _sharded("payloads", hex_digest, ".json")

    def original(self, hex_digest: str) -> dict[str, Any] | None:
        """Where these bytes were stored first, if they were and that WARC is still there."""
        index = self.payload_index(hex_digest)
        try:
            ref = json.loads(index.read_text(encoding="utf-8"))
        except (FileNotFoundError, ValueError):
            return None
        return ref if (self.root / ref["warc"]).exists() else None

    # -- capture ------------------------------------------------------------------------------
    def capture(
        self,
        page: CapturedPage,
        *,
        platform: str,
        listing_id: str,
        listing: dict[str, Any] | None = None,
        findings: list[dict[str, Any]] | None = None,
        crawler: dict[str, Any] | None = None,
        rulebook_version: str | None = None,
        rendered_from: dict[str, Any] | None = None,
        recrawl: str | None = None,
    ) -> CaptureResult:
        """Store one capture of a listing's page and append its manifest to the listing's chain.
        `rendered_from` names the earlier capture whose response an on-demand screenshot rendered;
        `recrawl` is the crawler's verdict on the listing (new, changed, unchanged: judged before)."""
        payloads = self._payloads(page, listing)
        tmp_dir = self._mkdir(self.root / "tmp")
        fd, tmp_name = tempfile.mkstemp(dir=tmp_dir, suffix=".warc.gz")
        try:
            with os.fdopen(fd, "wb") as fh:
                hashing = _HashingWriter(fh)
                ids = write_capture(hashing, page, payloads, filename=f"{listing_id}.warc.gz")
                fh.flush()
                os.fsync(fh.fileno())
            warc_hex = hashing.digest.hexdigest()
            warc_rel = _sharded("warc", warc_hex, ".warc.gz")
            self._mkdir((self.root / warc_rel).parent)
            os.replace(tmp_name, self.root / warc_rel)
        except BaseException:
            Path(tmp_name).unlink(missing_ok=True)
            raise
        date = warc_date(page.captured_at)
        stored = 0
        records = []
        for kind, payload in payloads.items():
            entry: dict[str, Any] = {
                "kind": kind,
                "uri": payload.uri,
                "record_id": ids.get(kind),
                "content_type": payload.content_type,
                "payload_sha256": payload.sha256,
                "payload_bytes": len(payload.data),
                "revisit": payload.original is not None,
            }
            if payload.original is not None:
                entry["refers_to"] = payload.original
            else:
                stored += len(payload.data)
                if kind != "request":  # requests are never written as revisits: nothing looks them up
                    ref = {"uri": payload.uri, "date": date, "warc": str(warc_rel), "record_id": ids.get(kind)}
                    self._index(payload.sha256, ref)
            records.append(entry)
        doc: dict[str, Any] = {
            "format": FORMAT,
            "listing": {"platform": platform, "listing_id": listing_id, "title": (listing or {}).get("title")},
            "url": page.url,
            "requested_at": page.requested_at.isoformat(),
            "captured_at": page.captured_at.isoformat(),
            "timezone": page.captured_at.tzname(),
            "http": {"method": page.method, "status": page.status, "protocol": page.protocol},
            "browser": page.browser,
            "warc": {"path": str(warc_rel), "sha256": warc_hex, "bytes": hashing.size},
            "records": records,
            "crawler": crawler or {},
            "rulebook_version": rulebook_version,
            "job_id": page.job_id,
            "findings": findings or [],
        }
        if rendered_from is not None:
            doc["rendered_from"] = rendered_from
        if recrawl is not None:
            doc["recrawl"] = recrawl
        path, doc = self._append(platform, listing_id, doc)
        revisits = sum(1 for p in payloads.values() if p.original is not None)
        return CaptureResult(doc, path, hashing.size, stored, revisits)

    def _payloads(self, page: CapturedPage, listing: dict[str, Any] | None) -> dict[str, Payload]:
        out: dict[str, Payload] = {}

        def add(kind: str, uri: str, data: bytes, content_type: str) -> None:
            digest = sha256_hex(data)
            # requests are tiny and differ little; always stored whole, never as revisits
            original = None if kind == "request" else self.original(digest)
            out[kind] = Payload(kind, uri, data, content_type, digest, original)

        if page.body is not None and page.status is not None:
            content_type = next((v for k, v in page.response_headers if k.lower() == "content-type"), "")
            add("response", page.url, page.body, content_type or "application/octet-stream")
            add("request", page.url, page.request_body, "application/http; msgtype=request")
        if page.dom is not None:
            add("dom", f"urn:dom:{page.url}", page.dom, "text/html; charset=utf-8")
        if page.screenshot is not None:
            add("screenshot", f"urn:view:{page.url}", page.screenshot, "image/png")
        if listing is not None:
            # the capture time is the manifest's and the WARC's; without it an unchanged listing
            # is the same bytes and becomes a revisit
            doc = {k: v for k, v in listing.items() if k != "crawled_at"}
            data = json.dumps(doc, ensure_ascii=False, sort_keys=True, indent=1).encode("utf-8")
            add("listing", f"urn:listing:{page.url}", data, "application/json")
        return out

    def _index(self, hex_digest: str, ref: dict[str, Any]) -> None:
        """Called for bytes not found in the index a moment ago. Two writers racing on the same new bytes
        both store them whole, and the index keeps the last: either copy is a valid original."""
        path = self.payload_index(hex_digest)
        self._mkdir(path.parent)
        tmp = path.with_suffix(f".{os.getpid()}-{threading.get_ident()}.tmp")
        tmp.write_text(json.dumps(ref, ensure_ascii=False), encoding="utf-8")
        os.replace(tmp, path)

    @contextmanager
    def locked(self, platform: str, listing_id: str) -> Iterator[Path]:
        folder = self._mkdir(self.root / listing_dir(platform, listing_id))
        with (folder / ".lock").open("a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                yield folder
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)

    def _append(self, platform: str, listing_id: str, doc: dict[str, Any]) -> tuple[Path, dict[str, Any]]:
        with self.locked(platform, listing_id) as folder:
            chain = self.chain_files(folder)
            if chain:
                last = chain[-1]
                sequence = int(last.stem) + 1
                previous = hashlib.sha256(last.read_bytes()).hexdigest()
            else:
                anchor = self._anchor(folder)
                sequence = anchor["sequence"] if anchor else 1
                previous = anchor["previous_sha256"] if anchor else None
            doc = doc | {"sequence": sequence, "previous_sha256": previous}
            doc["self_sha256"] = self_hash(doc)
            path = folder / manifest_name(sequence)
            tmp = folder / f".{manifest_name(sequence)}.tmp"
            tmp.write_bytes(canonical(doc))
            os.replace(tmp, path)
            return path, doc

    # -- reading ------------------------------------------------------------------------------
    @staticmethod
    def chain_files(folder: Path) -> list[Path]:
        return sorted(p for p in folder.glob("*.json") if p.stem.isdigit())

    @staticmethod
    def _anchor(folder: Path) -> dict[str, Any] | None:
        try:
            return json.loads((folder / ANCHOR).read_text(encoding="utf-8"))
        except FileNotFoundError:
            return None

    def listing_folders(self) -> Iterator[Path]:
        base = self.root / "manifests"
        if not base.is_dir():
            return
        for platform in sorted(p for p in base.iterdir() if p.is_dir()):
            yield from sorted(p for p in platform.iterdir() if p.is_dir())

    def has_chain(self, platform: str, listing_id: str) -> bool:
        """Whether this listing was ever captured (one stat): such a listing stays under capture."""
        return (self.root / listing_dir(platform, listing_id)).is_dir()

    def manifests(self, platform: str, listing_id: str) -> list[tuple[Path, dict[str, Any]]]:
        """A listing's manifests, oldest first."""
        folder = self.root / listing_dir(platform, listing_id)
        if not folder.is_dir():
            return []
        return [(p, json.loads(p.read_bytes())) for p in self.chain_files(folder)]

    def record_bytes(self, warc_rel: str, record_id: str) -> bytes | None:
        """The payload of one record (streamed through the file until it is found)."""
        from warcio.archiveiterator import ArchiveIterator

        with (self.root / warc_rel).open("rb") as fh:
            for record in ArchiveIterator(fh):
                if record.rec_headers.get_header("WARC-Record-ID") == record_id:
                    return record.content_stream().read()
        return None

    def payload_of(self, entry: dict[str, Any], manifest: dict[str, Any]) -> bytes | None:
        """A manifest record's payload, following a revisit to the first stored copy."""
        ref = entry.get("refers_to")
        if ref:
            return self.record_bytes(ref["warc"], ref["record_id"]) if (self.root / ref["warc"]).exists() else None
        return self.record_bytes(manifest["warc"]["path"], entry["record_id"])

    def http_response(self, manifest: dict[str, Any]) -> tuple[int, list[tuple[str, str]], bytes] | None:
        """(status, headers, body) of a capture's HTTP response: headers from its own record (a revisit
        keeps them), the body from wherever it is stored. None for a capture without a response."""
        from warcio.archiveiterator import ArchiveIterator

        entry = next((r for r in manifest["records"] if r["kind"] == "response"), None)
        if entry is None:
            return None
        with (self.root / manifest["warc"]["path"]).open("rb") as fh:
            for record in ArchiveIterator(fh):
                if record.rec_headers.get_header("WARC-Record-ID") == entry["record_id"]:
                    status = int(record.http_headers.get_statuscode() or 0)
                    headers = list(record.http_headers.headers)
                    break
            else:
                return None
        body = self.payload_of(entry, manifest)
        return None if body is None else (status, headers, body)

    def size_bytes(self) -> int:
        return sum(p.stat().st_size for p in self.root.rglob("*") if p.is_file())


def now_local() -> datetime:
    """The crawler's clock with its time zone (what a manifest records as capture time)."""
    return datetime.now().astimezone()
