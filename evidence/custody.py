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
