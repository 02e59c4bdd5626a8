"""`sweep evidence verify`: every custody chain and every hash under an evidence store, re-computed.

Kept apart from `evidence.custody` (the manifest format) because it reads the store, which itself
writes manifests in that format: format → store → verification, one direction.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from evidence.custody import ANCHOR, canonical, manifest_name, self_hash, sha256_file
from evidence.store import EvidenceStore


def verify(root: Path) -> tuple[int, list[tuple[str, str]]]:
    """Check every chain and every hash under `root`. Returns (manifests checked, problems), each
    problem being (file relative to root, what is wrong). Streams every WARC once."""
    store = EvidenceStore(root)
    problems: list[tuple[str, str]] = []
    checked = 0
    warc_ok: dict[str, bool] = {}

    def rel(path: Path) -> str:
        return str(path.relative_to(root))

    for folder in store.listing_folders():
        files = store.chain_files(folder)
        anchor_path = folder / ANCHOR
        expected_seq, expected_prev = 1, None
        if anchor_path.exists():
            try:
                anchor = json.loads(anchor_path.read_text(encoding="utf-8"))
                expected_seq, expected_prev = int(anchor["sequence"]), anchor["previous_sha256"]
            except (ValueError, KeyError, TypeError) as exc:
                problems.append((rel(anchor_path), f"unreadable anchor: {exc}"))
                continue
        for path in files:
            checked += 1
            raw = path.read_bytes()
            sequence = int(path.stem)
            if sequence != expected_seq:
                for missing in range(expected_seq, sequence):
                    problems.append((rel(folder / manifest_name(missing)), "manifest missing from the chain"))
            try:
                doc = json.loads(raw)
            except ValueError as exc:
                problems.append((rel(path), f"manifest is not JSON: {exc}"))
                expected_seq, expected_prev = sequence + 1, hashlib.sha256(raw).hexdigest()
                continue
            if canonical(doc) != raw or doc.get("self_sha256") != self_hash(doc):
                problems.append((rel(path), "manifest altered (its content does not match its own hash)"))
            if doc.get("sequence") != sequence:
                problems.append((rel(path), f"sequence {doc.get('sequence')} in a file named {path.name}"))
            if sequence == expected_seq and doc.get("previous_sha256") != expected_prev:
                problems.append((rel(path), "chain broken: previous_sha256 is not the hash of the previous manifest"))
            expected_seq, expected_prev = sequence + 1, hashlib.sha256(raw).hexdigest()
            problems += _check_warcs(store, doc, warc_ok)
    return checked, problems


def _check_warcs(store: Any, doc: dict[str, Any], warc_ok: dict[str, bool]) -> list[tuple[str, str]]:
    """The manifest's WARC: present, its SHA-256 as recorded and as named, each record's payload hash
    as recorded; a revisit's first copy: present and its file intact."""
    problems: list[tuple[str, str]] = []
    warc = doc.get("warc") or {}
    path = str(warc.get("path", ""))
    if path not in warc_ok:
        problems += _check_one_warc(store, path, warc.get("sha256"), doc.get("records") or [])
        warc_ok[path] = not problems
    for entry in doc.get("records") or []:
        ref = entry.get("refers_to")
        if ref and ref.get("warc") not in warc_ok:
            found = _check_one_warc(store, ref["warc"], Path(ref["warc"]).name.split(".")[0], [])
            warc_ok[ref["warc"]] = not found
            problems += found
    return problems


def _check_one_warc(store: Any, path: str, sha256: str | None, entries: list[dict[str, Any]]) -> list[tuple[str, str]]:
    from warcio.archiveiterator import ArchiveIterator

    full = store.root / path
    if not full.is_file():
        return [(path, "WARC file missing")]
    actual = sha256_file(full)
    problems = []
    if actual != sha256 or not full.name.startswith(actual):
        problems.append((path, f"WARC altered: SHA-256 is {actual}, recorded {sha256}"))
    wanted = {e["record_id"]: e for e in entries if e.get("record_id") and not e.get("revisit")}
    try:
        with full.open("rb") as fh:
            for record in ArchiveIterator(fh):
                entry = wanted.pop(record.rec_headers.get_header("WARC-Record-ID"), None)
                if entry is None:
                    continue
                digest = hashlib.sha256()
                stream = record.content_stream()
                while block := stream.read(1 << 16):
                    digest.update(block)
                if digest.hexdigest() != entry["payload_sha256"]:
                    problems.append((path, f"payload of {entry['kind']} record altered ({entry['uri']})"))
    except Exception as exc:  # a flipped byte in a gzip member surfaces here
        problems.append((path, f"WARC unreadable: {type(exc).__name__}: {exc}"))
        return problems
    problems += [(path, f"{e['kind']} record {e['record_id']} missing") for e in wanted.values()]
    return problems
