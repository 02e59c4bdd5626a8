"""The evidence store on a real folder: content addressing and revisits, custody chains and their
verification (every altered or missing file named), bundles, retention that spares leads in cases,
and the workspace's downloads with permission and audit."""

from __future__ import annotations

import hashlib
import io
import json
import subprocess
import sys
import zipfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from warcio.archiveiterator import ArchiveIterator

from evidence.bundle import Subject, export, listing_text
from evidence.retention import prune
from evidence.store import EvidenceStore
from evidence.verify import verify
from evidence.warc import CapturedPage
from sweep.models import lead_id_for
from tests.unit.test_workspace_support import Env, make_env

BODY = b"<html><head><title>\xe6\xb0\xb0\xe5\x8c\x96\xe9\x92\xbe</title></head><body>abc</body></html>"
"""<title>氰化钾</title>"""
ABC_SHA256 = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
"""SHA-256 of b"abc" (FIPS 180-2, appendix B.1)."""
TZ8 = datetime(2026, 3, 1, 10, 0, tzinfo=UTC).astimezone(__import__("zoneinfo").ZoneInfo("Asia/Shanghai"))
LISTING = {"platform": "demo", "listing_id": "L1", "title": "氰化钾 分析纯", "price": 88.0, "url": "http://mall.test/1"}
FINDINGS = [{"rule_id": "chem.toxic.sale", "family": "chem.toxic", "severity": "high", "title_zh": "网售剧毒化学品"}]


def page(body: bytes = BODY, *, at: datetime = TZ8, screenshot: bytes | None = b"abc") -> CapturedPage:
    return CapturedPage(
        url="http://mall.test/1",
        method="GET",
        request_headers=[("User-Agent", "sweep/0.1"), ("Accept-Encoding", "gzip")],
        request_body=b"",
        status=200,
        protocol="HTTP/1.1",
        response_headers=[("Content-Type", "text/html; charset=utf-8"), ("Transfer-Encoding", "chunked")],
        body=body,
        requested_at=at - timedelta(seconds=1),
        captured_at=at,
        screenshot=screenshot,
        browser=screenshot is not None,
        job_id="J20260301-0001",
    )


def capture(store: EvidenceStore, p: CapturedPage, listing: dict | None = None, listing_id: str = "L1"):
    return store.capture(
        p,
        platform="demo",
        listing_id=listing_id,
        listing=(listing or LISTING) | {"listing_id": listing_id, "crawled_at": p.captured_at.isoformat()},
        findings=FINDINGS,
        crawler={"software": "sweep", "version": "0.1.0", "spider": "demo_mall"},
        rulebook_version="book-7",
    )


def records(path: Path) -> list[tuple[str, str]]:
    with path.open("rb") as fh:
        return [(r.rec_type, r.rec_headers.get_header("WARC-Target-URI") or "") for r in ArchiveIterator(fh)]


@pytest.fixture
def store(tmp_path: Path) -> EvidenceStore:
    return EvidenceStore(tmp_path / "evidence")


def test_a_capture_is_warc_records_named_by_their_hash_with_a_manifest(store: EvidenceStore) -> None:
    result = capture(store, page())
    m = result.manifest
    warc = store.path(m["warc"]["path"])
    assert warc.name == hashlib.sha256(warc.read_bytes()).hexdigest() + ".warc.gz"
    assert records(warc) == [
        ("warcinfo", ""),
        ("response", "http://mall.test/1"),
        ("request", "http://mall.test/1"),
        ("resource", "urn:view:http://mall.test/1"),
        ("metadata", "urn:listing:http://mall.test/1"),
    ]
    by_kind = {r["kind"]: r for r in m["records"]}
    assert by_kind["screenshot"]["payload_sha256"] == ABC_SHA256
    assert by_kind["response"]["payload_sha256"] == hashlib.sha256(BODY).hexdigest()
    assert m["captured_at"] == "2026-03-01T18:00:00+08:00"
    assert m["timezone"] == "CST"
    assert (m["job_id"], m["rulebook_version"], m["sequence"], m["previous_sha256"]) == (
        "J20260301-0001",
        "book-7",
        1,
        None,
    )
    assert result.manifest_path.relative_to(store.root) == Path("manifests/demo/L1/00000001.json")


def test_an_unchanged_recapture_is_revisits_and_stores_no_payload_again(store: EvidenceStore) -> None:
    first = capture(store, page())
    second = capture(store, page(at=TZ8 + timedelta(days=1)))
    assert second.stored_payload_bytes == 0
    assert second.revisits == 3  # response, screenshot, listing (the request is always written whole)
    kinds = [t for t, _ in records(store.path(second.manifest["warc"]["path"]))]
    assert kinds == ["warcinfo", "revisit", "request", "revisit", "revisit"]
    refers = {r["kind"]: r["refers_to"] for r in second.manifest["records"] if r["revisit"]}
    assert refers["response"]["warc"] == first.manifest["warc"]["path"]
    assert refers["response"]["date"] == "2026-03-01T10:00:00.000000Z"
    assert second.manifest["previous_sha256"] == hashlib.sha256(first.manifest_path.read_bytes()).hexdigest()
    changed = capture(store, page(BODY.replace(b"abc", b"abd"), at=TZ8 + timedelta(days=2)))
    assert {r["kind"] for r in changed.manifest["records"] if not r["revisit"]} == {"response", "request"}


def test_stored_warcs_pass_warcio_check(store: EvidenceStore) -> None:
    capture(store, page())
    capture(store, page(at=TZ8 + timedelta(days=1)))
    files = sorted(str(p) for p in store.root.glob("warc/*/*.warc.gz"))
    assert len(files) == 2
    out = subprocess.run([sys.executable, "-m", "warcio.cli", "check", "-v", *files], capture_output=True, text=True)
    assert out.returncode == 0, out.stdout + out.stderr
    # first file: warcinfo, response, request, screenshot, listing; second: warcinfo, request (revisits unchecked)
    assert out.stdout.count("digest pass") == 7
    assert out.stdout.count("digest present but not checked (revisit)") == 3


def test_verify_names_every_altered_or_missing_file(store: EvidenceStore) -> None:
    a = capture(store, page())
    b = capture(store, page(BODY + b" ", at=TZ8 + timedelta(days=1)))
    c = capture(store, page(BODY + b"  ", at=TZ8 + timedelta(days=2)))
    assert verify(store.root) == (3, [])

    warc = store.path(b.manifest["warc"]["path"])
    data = bytearray(warc.read_bytes())
    data[len(data) // 2] ^= 0x01
    warc.write_bytes(bytes(data))
    checked, problems = verify(store.root)
    assert checked == 3
    assert {path for path, _ in problems} == {b.manifest["warc"]["path"]}
    assert any("WARC altered" in what for _, what in problems)

    warc.unlink()
    c.manifest_path.write_bytes(c.manifest_path.read_bytes().replace(b'"status":200', b'"status":404'))
    a.manifest_path.unlink()
    _, problems = verify(store.root)
    named = {path: what for path, what in problems}
    assert named[b.manifest["warc"]["path"]] == "WARC file missing"
    assert named["manifests/demo/L1/00000001.json"] == "manifest missing from the chain"
    assert "altered" in named["manifests/demo/L1/00000003.json"]


def test_the_cli_exits_non_zero_naming_the_file(store: EvidenceStore) -> None:
    from typer.testing import CliRunner

    from app.cli.main import app

    result = capture(store, page())
    warc = store.path(result.manifest["warc"]["path"])
    runner = CliRunner()
    ok = runner.invoke(app, ["evidence", "verify", "--evidence-dir", str(store.root)])
    assert ok.exit_code == 0 and "evidence OK: 1 manifests" in ok.output
    data = bytearray(warc.read_bytes())
    data[-40] ^= 0xFF
    warc.write_bytes(bytes(data))
    bad = runner.invoke(app, ["evidence", "verify", "--evidence-dir", str(store.root)])
    assert bad.exit_code == 1
    assert f"FAILED {result.manifest['warc']['path']}: WARC altered" in bad.output


def test_a_seal_in_the_audit_log_catches_a_rewritten_newest_manifest(store: EvidenceStore) -> None:
    """The newest manifest of a chain is protected by its own hash only: a forger who rewrites it and
    recomputes that hash passes the chain check. Once sealed (its hash in the audit log), they do not."""
    from typer.testing import CliRunner

    from app.cli.main import app
    from evidence.custody import canonical, self_hash

    capture(store, page())
    newest = capture(store, page(BODY + b" ", at=TZ8 + timedelta(days=1)))
    runner = CliRunner()
    sealed = runner.invoke(app, ["evidence", "seal", "--evidence-dir", str(store.root)])
    assert sealed.exit_code == 0 and "sealed 1 chains" in sealed.output
    ok = runner.invoke(app, ["evidence", "verify", "--evidence-dir", str(store.root)])
    assert ok.exit_code == 0, ok.output

    doc = json.loads(newest.manifest_path.read_bytes())
    doc["status"] = 404  # the page "was already gone"
    doc["self_sha256"] = self_hash(doc)
    newest.manifest_path.write_bytes(canonical(doc))
    assert verify(store.root) == (2, [])  # the chain alone cannot tell
    bad = runner.invoke(app, ["evidence", "verify", "--evidence-dir", str(store.root)])
    assert bad.exit_code == 1
    assert "FAILED manifests/demo/L1/00000002.json: sealed manifest altered" in bad.output

    # re-sealing over the forgery does not help: the forger cannot put the new seal into the audit log
    seal_file = next((store.root / "seals").glob("*.json"))
    forged = json.loads(seal_file.read_bytes())
    forged["heads"]["manifests/demo/L1"][1] = hashlib.sha256(newest.manifest_path.read_bytes()).hexdigest()
    seal_file.write_bytes(canonical(forged))
    again = runner.invoke(app, ["evidence", "verify", "--evidence-dir", str(store.root)])
    assert again.exit_code == 1
    assert f"FAILED seals/{seal_file.name}: seal altered or forged" in again.output
    assert "is in the audit log but its file is missing" in again.output


def test_bundle_holds_warcs_screenshots_manifests_explanation_and_listing(store: EvidenceStore) -> None:
    first = capture(store, page())
    second = capture(store, page(at=TZ8 + timedelta(days=1)))
    out = io.BytesIO()
    subject = Subject("lead", "abc123", "氰化钾 分析纯", [("demo", "L1"), ("demo", "GONE")], [{"lead_id": "abc123"}])
    doc = export(store, subject, out, exported_by="officer", now=TZ8)
    zf = zipfile.ZipFile(io.BytesIO(out.getvalue()))
    names = set(zf.namelist())
    assert names == {
        first.manifest["warc"]["path"],
        second.manifest["warc"]["path"],
        "manifests/demo/L1/00000001.json",
        "manifests/demo/L1/00000002.json",
        "screenshots/demo_L1-1.png",
        "listings/demo_L1.txt",
        "取证说明.txt",
        "manifest.json",
    }
    assert zf.read("screenshots/demo_L1-1.png") == b"abc"
    assert zf.read("manifests/demo/L1/00000002.json") == second.manifest_path.read_bytes()
    manifest = json.loads(zf.read("manifest.json"))
    assert manifest["missing"] == ["demo:GONE"]
    for name, digest in manifest["files"].items():
        assert hashlib.sha256(zf.read(name)).hexdigest() == digest, name
    note = zf.read("取证说明.txt").decode("utf-8")
    assert "一、取证对象：线索 abc123" in note
    assert "http://mall.test/1" in note
    assert "2026-03-01T18:00:00+08:00" in note
    assert ABC_SHA256 in note
    assert "revisit" in note
    text = zf.read("listings/demo_L1.txt").decode("utf-8")
    assert text.startswith("商品名称：氰化钾 分析纯\n平台：demo\n商品编号：L1\n")
    assert doc["subject"]["id"] == "abc123"


def test_listing_text_strips_control_characters() -> None:
    text = listing_text({"title": "氰化钾\x1b[31m红\x07", "shop": {"name": "店\u202e铺"}})
    assert text == "商品名称：氰化钾红\n店铺名称：店铺\n"


def test_retention_prunes_old_captures_but_never_a_lead_in_a_case(store: EvidenceStore) -> None:
    old = TZ8 - timedelta(days=400)
    for listing_id in ("L1", "L2"):
        capture(store, page(at=old), listing_id=listing_id)
        capture(store, page(BODY + b"!", at=old + timedelta(days=1)), listing_id=listing_id)
        capture(store, page(at=TZ8), listing_id=listing_id)  # a revisit of the first capture's response
    in_case = {lead_id_for("demo", "L1", "chem.toxic")}
    report = prune(store, before=TZ8 - timedelta(days=365), protected_leads=in_case)
    assert report.kept_in_case == 1
    assert report.manifests_pruned == 2
    assert sorted(p.name for p in (store.root / "manifests/demo/L1").glob("0*.json")) == [
        "00000001.json",
        "00000002.json",
        "00000003.json",
    ]
    assert sorted(p.name for p in (store.root / "manifests/demo/L2").glob("0*.json")) == ["00000003.json"]
    # the first capture's WARC stays: the kept third capture's revisits point into it
    assert report.warcs_deleted == 1
    assert verify(store.root) == (4, [])


@pytest.fixture
def env(tmp_path: Path) -> Env:
    return make_env(tmp_path)


def test_workspace_downloads_a_leads_bundle_and_audits_it(env: Env) -> None:
    store = EvidenceStore(env.settings.evidence_path)
    capture(store, page())
    lead_id = env.ids["L1"]
    client, _ = env.client("officer")
    lead_page = client.get(f"/leads/{lead_id}")
    assert f'href="/leads/{lead_id}/evidence.zip"' in lead_page.text
    response = client.get(f"/leads/{lead_id}/evidence.zip")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/zip"
    assert "取证说明.txt" in zipfile.ZipFile(io.BytesIO(response.content)).namelist()
    record = env.people.audit_search(resource_id=lead_id, limit=1)[0]
    assert (record.event.action, record.event.actor, record.event.allowed) == ("evidence.export", "officer", True)


def test_workspace_refuses_outside_the_jurisdiction_and_without_evidence(env: Env) -> None:
    capture(EvidenceStore(env.settings.evidence_path), page())
    lead_id = env.ids["L1"]
    qinghai, _ = env.client("qh_officer")
    assert qinghai.get(f"/leads/{lead_id}/evidence.zip").status_code == 404
    refused = env.people.audit_search(resource_id=lead_id, limit=1)[0]
    assert (refused.event.actor, refused.event.allowed) == ("qh_officer", False)
    auditor, _ = env.client("auditor")  # may read leads, may not export them
    assert auditor.get(f"/leads/{lead_id}/evidence.zip").status_code == 403
    officer, _ = env.client("officer")
    assert officer.get(f"/leads/{env.ids['L2']}/evidence.zip").status_code == 404  # never captured


def test_workspace_downloads_a_cases_bundle(env: Env) -> None:
    from sweep.people import Actor, Role

    capture(EvidenceStore(env.settings.evidence_path), page())
    w = env.app.state.workspace
    case = w.create_case(Actor("officer", Role.officer, ("540100",)), [env.ids["L1"], env.ids["L2"]], source="t")
    client, _ = env.client("officer")
    assert f'href="/cases/{case.id}/evidence.zip"' in client.get(f"/cases/{case.id}").text
    response = client.get(f"/cases/{case.id}/evidence.zip")
    assert response.status_code == 200
    manifest = json.loads(zipfile.ZipFile(io.BytesIO(response.content)).read("manifest.json"))
    assert manifest["subject"]["kind"] == "case"
    assert manifest["missing"] == ["demo:L2"]
    assert [c["listing"]["listing_id"] for c in manifest["captures"]] == ["L1"]


def run_sweep(env: Env, *args: str) -> subprocess.CompletedProcess:
    import os

    environ = os.environ | {"SWEEP_DATA_DIR": str(env.settings.data_dir), "COLUMNS": "200"}
    for name in ("SWEEP_KAFKA", "SWEEP_SEARCH_URL", "SWEEP_EVIDENCE_DIR", "SWEEP_PEOPLE_URL"):
        environ.pop(name, None)
    return subprocess.run(
        [sys.executable, "-m", "app.cli.main", *args], capture_output=True, text=True, env=environ, timeout=120
    )


def test_cli_exports_a_case_for_an_allowed_actor_and_prune_spares_it(env: Env, tmp_path: Path) -> None:
    from sweep.people import Actor, Role

    store = EvidenceStore(env.settings.evidence_path)
    old = TZ8 - timedelta(days=800)
    capture(store, page(at=old), listing_id="L1")
    capture(store, page(at=old + timedelta(days=1)), listing_id="L1")
    capture(store, page(at=old), listing_id="L3")
    capture(store, page(at=old + timedelta(days=1)), listing_id="L3")
    w = env.app.state.workspace
    case = w.create_case(Actor("officer", Role.officer, ("540100",)), [env.ids["L1"]], source="t")
    out = tmp_path / "case.zip"
    done = run_sweep(env, "evidence", "export", case.number, "-o", str(out), "--user", "officer", "--region", "540100")
    assert done.returncode == 0, done.stdout + done.stderr
    manifest = json.loads(zipfile.ZipFile(out).read("manifest.json"))
    assert (manifest["subject"]["kind"], manifest["subject"]["id"]) == ("case", case.number)
    assert manifest["exported_by"] == "officer"
    refused = run_sweep(env, "evidence", "export", case.number, "-o", str(out), "--user", "ana", "--role", "analyst")
    assert refused.returncode == 3
    records = env.people.audit_search(resource_id=case.number, limit=5)
    assert [(r.event.actor, r.event.allowed) for r in records][:2] == [("ana", False), ("officer", True)]

    pruned = run_sweep(env, "evidence", "prune", "--days", "365")
    assert pruned.returncode == 0, pruned.stderr
    assert "pruned 1 capture(s)" in pruned.stdout and "1 listing(s) kept whole" in pruned.stdout
    assert len(store.manifests("demo", "L1")) == 2
    assert len(store.manifests("demo", "L3")) == 1


def test_hostile_listing_ids_cannot_leave_their_folder_in_a_bundle(store: EvidenceStore) -> None:
    capture(store, page(), listing_id="../../etc/passwd")
    out = io.BytesIO()
    export(store, Subject("lead", "x", "t", [("demo", "../../etc/passwd")]), out, exported_by="officer")
    names = zipfile.ZipFile(io.BytesIO(out.getvalue())).namelist()
    assert "listings/demo_..%2F..%2Fetc%2Fpasswd.txt" in names
    assert "screenshots/demo_..%2F..%2Fetc%2Fpasswd-1.png" in names
    assert "manifests/demo/..%2F..%2Fetc%2Fpasswd/00000001.json" in names
    assert not any(part == ".." for name in names for part in name.split("/"))
    capture(store, page(), listing_id="..")
    assert [p for p, _ in store.manifests("demo", "..")] == [store.root / "manifests/demo/%2E%2E/00000001.json"]


def test_workspace_fragment_says_what_is_captured(env: Env) -> None:
    capture(EvidenceStore(env.settings.evidence_path), page())
    capture(EvidenceStore(env.settings.evidence_path), page(at=TZ8 + timedelta(days=1)))
    client, _ = env.client("officer")
    assert 'hx-get="/leads/{}/evidence"'.format(env.ids["L1"]) in client.get(f"/leads/{env.ids['L1']}").text
    state = client.get(f"/leads/{env.ids['L1']}/evidence").text
    assert state == '<span id="evidence-count">已取证 2 次，最近一次 2026-03-02T18:00:00+08:00；整页截图 2 张</span>'
    none = client.get(f"/leads/{env.ids['L2']}/evidence").text
    assert none == '<span class="muted" id="evidence-none">尚无取证记录（该商品页面未被采集）</span>'
    qinghai, _ = env.client("qh_officer")
    assert qinghai.get(f"/leads/{env.ids['L1']}/evidence").status_code == 404
