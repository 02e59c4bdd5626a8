"""Custody manifests: one per capture, chained by hash to the previous manifest of the same listing.

A manifest is canonical JSON (sorted keys, UTF-8, no spaces) so its SHA-256 is reproducible; it names
the WARC file (by path and SHA-256), every record's payload SHA-256, the times, the crawler and
rulebook versions and the job, `previous_sha256` (the hash of the listing's previous manifest file)
and `self_sha256` (its own content's hash, which protects the newest manifest of a chain from an edit
that does not recompute it; a deliberate forger who rewrites the newest manifest and its self-hash is
caught only by a hash kept elsewhere, e.g. one printed in a bundle already handed over).
Changing, removing or reordering any manifest breaks the chain at a named file; changing a stored
byte of a WARC breaks its hash. Manifests live at `manifests/<platform>/<listing_id>/<sequence>.json`.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any
from urllib.parse import quote

FORMAT = "sweep-evidence-manifest/1"
ANCHOR = "ANCHOR.json"
"""Written by retention when it prunes the front of a chain: where the kept chain starts and the hash
of the last pruned manifest, so the rest still verifies."""


def canonical(doc: dict[str, Any]) -> bytes:
    return json.dumps(doc, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode("utf-8")


def self_hash(doc: dict[str, Any]) -> str:
    """SHA-256 of the manifest without its own `self_sha256`: the last manifest of a chain has no
    successor to vouch for it, so it vouches for itself against an edit that does not know to update it."""
    return hashlib.sha256(canonical({k: v for k, v in doc.items() if k != "self_sha256"})).hexdigest()


def sha256_file(path: Path, chunk: int = 1 << 20) -> str:
    """Streamed: a WARC may be large and is never read whole."""
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        while block := fh.read(chunk):
            digest.update(block)
    return digest.hexdigest()


def listing_dir(platform: str, listing_id: str) -> Path:
    """Relative folder of a listing's chain; ids are quoted so no id can climb out of the store."""
    return Path("manifests") / _segment(platform) / _segment(listing_id)


def _segment(value: str) -> str:
    quoted = quote(value, safe="")
    # "." and ".." survive quoting and would name this folder or its parent
    return quoted.replace(".", "%2E") if quoted in ("", ".", "..") else quoted


def manifest_name(sequence: int) -> str:
    return f"{sequence:08d}.json"


def verify(root: Path) -> tuple[int, list[tuple[str, str]]]:
    """Check every chain and every hash under `root`. Returns (manifests checked, problems), each
    problem being (file relative to root, what is wrong). Streams every WARC once."""
    from evidence.store import EvidenceStore

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
