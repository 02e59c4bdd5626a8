"""Seals: the head of every custody chain, fixed at a moment and vouched for by the audit log.

A chain proves that no manifest was changed *before* its newest one; the newest itself is protected only
by its own hash, which a forger can recompute. A seal closes that gap. `sweep evidence seal` (run it
daily, e.g. from cron or after each crawl) writes `seals/<time>.json` — canonical JSON naming every
listing's newest manifest by sequence and SHA-256, and the hash of the previous seal — and records the
seal file's SHA-256 in the hash-chained audit log, which lives in another database on another host. From
then on a manifest that a seal names cannot be rewritten unnoticed: `sweep evidence verify` recomputes
every sealed head and checks each seal file against the audit log.

Pruning (`evidence.retention`) may delete a sealed manifest; the chain's anchor then records the hash of
the last pruned one, and the seal is checked against that where it can be.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Collection
from datetime import UTC, datetime
from pathlib import Path

from evidence.custody import ANCHOR, canonical, manifest_name
from evidence.store import EvidenceStore

SEAL_FORMAT = "sweep-evidence-seal/1"
SEALS = "seals"
AUDIT_ACTION = "evidence.seal"


def seal_files(root: Path) -> list[Path]:
    """Every seal, oldest first (their names are UTC times)."""
    folder = root / SEALS
    return sorted(folder.glob("*.json")) if folder.is_dir() else []


def write_seal(store: EvidenceStore, now: datetime | None = None) -> tuple[Path, str, int]:
    """Seal the head of every chain. Returns (seal file, its SHA-256, chains sealed)."""
    now = now or datetime.now(UTC)
    heads: dict[str, list[int | str]] = {}
    for folder in store.listing_folders():
        files = store.chain_files(folder)
        if files:
            newest = files[-1]
            heads[str(folder.relative_to(store.root))] = [int(newest.stem), _sha256(newest)]
    previous = seal_files(store.root)
    doc = {
        "format": SEAL_FORMAT,
        "sealed_at": now.astimezone(UTC).isoformat(),
        "previous_seal_sha256": _sha256(previous[-1]) if previous else None,
        "heads": heads,
    }
    raw = canonical(doc)
    folder = store.root / SEALS
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{now.astimezone(UTC):%Y%m%dT%H%M%S%fZ}.json"
    tmp = folder / f".{path.name}.tmp"
    tmp.write_bytes(raw)
    os.replace(tmp, path)
    return path, hashlib.sha256(raw).hexdigest(), len(heads)


def verify_seals(root: Path, audited: Collection[str] | None = None) -> list[tuple[str, str]]:
    """Problems as (file relative to root, what is wrong): a sealed manifest changed or missing (not
    pruned), a seal file altered or out of its chain, and — with `audited`, the seal hashes the audit log
    holds — a seal the audit log does not know, or an audited seal whose file is gone."""
    problems: list[tuple[str, str]] = []
    seen: set[str] = set()
    previous: str | None = None
    for path in seal_files(root):
        rel = str(path.relative_to(root))
        raw = path.read_bytes()
        digest = hashlib.sha256(raw).hexdigest()
        seen.add(digest)
        try:
            doc = json.loads(raw)
        except ValueError as exc:
            problems.append((rel, f"seal is not JSON: {exc}"))
            previous = digest
            continue
        if audited is not None and digest not in audited:
            problems.append((rel, "seal altered or forged: its SHA-256 is not in the audit log"))
        if doc.get("previous_seal_sha256") != previous:
            problems.append((rel, "seal chain broken: previous_seal_sha256 is not the hash of the previous seal"))
        previous = digest
        for folder_rel, (sequence, sha256) in sorted((doc.get("heads") or {}).items()):
            problems += _check_head(root, folder_rel, int(sequence), str(sha256), rel)
    for digest in sorted(set(audited or ()) - seen):
        problems.append((SEALS, f"seal {digest} is in the audit log but its file is missing"))
    return problems


def _check_head(root: Path, folder_rel: str, sequence: int, sha256: str, seal: str) -> list[tuple[str, str]]:
    manifest = root / folder_rel / manifest_name(sequence)
    rel = str(manifest.relative_to(root))
    if manifest.is_file():
        if _sha256(manifest) != sha256:
            return [(rel, f"sealed manifest altered (sealed by {seal})")]
        return []
    try:
        anchor = json.loads((root / folder_rel / ANCHOR).read_text(encoding="utf-8"))
    except (FileNotFoundError, ValueError):
        anchor = None
    if anchor is not None and sequence < int(anchor.get("sequence", 0)):
        if sequence == int(anchor["sequence"]) - 1 and anchor.get("previous_sha256") != sha256:
            return [(rel, f"pruned, but the anchor's hash differs from the one sealed by {seal}")]
        return []  # pruned by the retention policy
    return [(rel, f"sealed manifest missing (sealed by {seal})")]


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()
