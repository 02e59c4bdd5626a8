"""Retention: captures older than `evidence_retention_days` may go, never those of a lead in a case.

Per listing chain: when any capture of the listing supports a lead that is in a case (its findings'
lead ids, `sweep.models.lead_id_for`, against the case membership of the people's store), the whole
chain is kept. Otherwise the captures older than the cutoff are pruned from the front of the chain,
always keeping the latest one, and an `ANCHOR.json` records where the kept chain starts and the hash of
the last pruned manifest, so `verify` still checks every link that remains. A WARC file is deleted only
when no remaining manifest names it, directly or as the first copy behind a revisit record; payload
index entries that pointed into a deleted file go with it (the next capture of those bytes stores them
again).
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from evidence.custody import ANCHOR
from evidence.store import EvidenceStore
from sweep.models import lead_id_for


@dataclass
class PruneReport:
    kept_in_case: int = 0
    """Listings whose chain is kept whole because a lead of theirs is in a case."""
    manifests_pruned: int = 0
    warcs_deleted: int = 0
    bytes_freed: int = 0
    dry_run: bool = False
    pruned: list[str] = field(default_factory=list)


def _lead_ids(manifest: dict[str, Any]) -> set[str]:
    listing = manifest["listing"]
    platform, listing_id = listing["platform"], listing["listing_id"]
    return {lead_id_for(platform, listing_id, f["family"]) for f in manifest.get("findings") or []}


def _captured(manifest: dict[str, Any]) -> datetime:
    return datetime.fromisoformat(manifest["captured_at"])


def prune(store: EvidenceStore, *, before: datetime, protected_leads: set[str], dry_run: bool = False) -> PruneReport:
    """Prune captures made before `before` (time-zone aware) outside cases; see the module doc."""
    report = PruneReport(dry_run=dry_run)
    doomed: list[tuple[Path, dict[str, Any]]] = []
    for folder in store.listing_folders():
        chain = [(p, json.loads(p.read_bytes())) for p in store.chain_files(folder)]
        if not chain:
            continue
        if any(_lead_ids(m) & protected_leads for _, m in chain):
            report.kept_in_case += 1
            continue
        old = [(p, m) for p, m in chain[:-1] if _captured(m) < before]
        # only a prefix: the kept chain must stay contiguous from its anchor
        prefix = []
        for (p, m), (q, _) in zip(old, chain, strict=False):
            if p != q:
                break
            prefix.append((p, m))
        if not prefix:
            continue
        doomed += prefix
        if not dry_run:
            last_path, last = prefix[-1]
            anchor = {
                "sequence": last["sequence"] + 1,
                "previous_sha256": hashlib.sha256(last_path.read_bytes()).hexdigest(),
                "pruned_at": datetime.now().astimezone().isoformat(),
                "pruned_before": before.isoformat(),
            }
            tmp = folder / f".{ANCHOR}.tmp"
            tmp.write_text(json.dumps(anchor, ensure_ascii=False, sort_keys=True), encoding="utf-8")
            os.replace(tmp, folder / ANCHOR)
            for p, _ in prefix:
                p.unlink()
    report.manifests_pruned = len(doomed)
    report.pruned = [str(p.relative_to(store.root)) for p, _ in doomed]
    if dry_run or not doomed:
        return report
    referenced: set[str] = set()
    for folder in store.listing_folders():
        for p in store.chain_files(folder):
            m = json.loads(p.read_bytes())
            referenced.add(m["warc"]["path"])
            referenced.update(r["refers_to"]["warc"] for r in m["records"] if r.get("refers_to"))
    for _, m in doomed:
        warc = m["warc"]["path"]
        full = store.path(warc)
        if warc in referenced or not full.exists():
            continue
        report.bytes_freed += full.stat().st_size
        full.unlink()
        report.warcs_deleted += 1
        for r in m["records"]:
            index = store.payload_index(r["payload_sha256"])
            try:
                if json.loads(index.read_text(encoding="utf-8")).get("warc") == warc:
                    index.unlink()
            except (FileNotFoundError, ValueError):
                pass
    return report
