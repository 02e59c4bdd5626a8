"""Evidence end to end: the demo mall crawled with capture on (the real spider in a subprocess, Chromium
for client-rendered pages), leads indexed from the embedded bus; every lead has a bundle, the store
verifies, one flipped byte is named, the bundle's WARC passes `warcio check` and replays in pywb,
where Chromium finds the listing's title; a recrawl of the unchanged mall stores revisit records."""

from __future__ import annotations

import io
import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from demomall.generator import generate
from demomall.server import run_in_thread
from evidence.bundle import export
from evidence.store import EvidenceStore
from evidence.subjects import lead_subject
from spiders.browser import find_chromium
from sweep.settings import Settings

pytestmark = [pytest.mark.integration, pytest.mark.browser]

N = 60


def chromium_or_fail() -> str:
    path = find_chromium(os.environ.get("SWEEP_CHROMIUM"))
    if not path:
        if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
            pytest.fail("CI=true but no Chromium: `make install-browser` installs Debian's", pytrace=False)
        pytest.skip("no Chromium (set SWEEP_CHROMIUM)")
    return path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def env_for(data_dir: Path) -> dict[str, str]:
    env = os.environ | {"SWEEP_DATA_DIR": str(data_dir), "SWEEP_EVIDENCE_CAPTURE": "findings"}
    for name in ("SWEEP_KAFKA", "SWEEP_SEARCH_URL", "SWEEP_EVIDENCE_DIR", "SWEEP_PEOPLE_URL"):
        env.pop(name, None)
    return env


def crawl(url: str, data_dir: Path) -> dict:
    proc = subprocess.run(
        [sys.executable, "-m", "spiders.run", "demo_mall", "--base-url", url, "-o", str(data_dir / "out.jsonl")],
        capture_output=True,
        text=True,
        timeout=300,
        env=env_for(data_dir),
        check=False,
    )
    assert proc.returncode == 0, proc.stderr[-4000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


def sweep(data_dir: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "app.cli.main", *args],
        capture_output=True,
        text=True,
        timeout=300,
        env=env_for(data_dir) | {"COLUMNS": "200"},
        check=False,
    )


def folder_size(root: Path) -> int:
    return sum(p.stat().st_size for p in root.rglob("*") if p.is_file())


def index(settings: Settings) -> list:
    """Leads from the embedded bus into the lead store (listing states too: the recrawl reads them)."""
    from adapters import open_bus, open_lead_store
    from consumers.indexer import Indexer
    from sweep.store import LeadQuery

    with open_bus(settings) as bus, open_lead_store(settings) as store:
        Indexer(bus, store, group="sweep-indexer").run(stop_when_idle=True, idle_s=1.0)
        leads, cursor = [], None
        while True:
            page = store.search(LeadQuery(size=200, search_after=cursor))
            leads += page.leads
            if (cursor := page.next_cursor) is None:
                return leads


@pytest.fixture(scope="module")
def crawled(tmp_path_factory) -> Iterator[dict]:
    """Crawl, index, crawl the unchanged mall again (its listings now known to the recrawl: unchanged
    ones skip the rulebook), index again."""
    chromium_or_fail()
    mall = generate(N, 2024)
    url, stop = run_in_thread(mall)
    data_dir = tmp_path_factory.mktemp("evidence-crawl")
    settings = Settings(data_dir=data_dir)
    try:
        first = crawl(url, data_dir)
        index(settings)
        evidence = data_dir / "evidence"
        size_first = folder_size(evidence)
        manifests_first = len(list(evidence.glob("manifests/*/*/0*.json")))
        second = crawl(url, data_dir)
    finally:
        stop()
    leads = index(settings)
    yield {
        "mall": mall,
        "url": url,
        "data_dir": data_dir,
        "evidence": evidence,
        "first": first,
        "second": second,
        "size_first": size_first,
        "size_second": folder_size(evidence),
        "manifests_first": manifests_first,
        "leads": leads,
        "settings": settings,
    }


def test_every_lead_has_a_bundle_with_its_capture(crawled: dict) -> None:
    leads = crawled["leads"]
    assert leads, "the demo mall should raise leads"
    store = EvidenceStore(crawled["evidence"])
    from adapters import open_lead_store

    with open_lead_store(crawled["settings"]) as lead_store:
        for lead in leads:
            subject, _ = lead_subject(lead_store, lead.lead_id)
            out = io.BytesIO()
            doc = export(store, subject, out, exported_by="test")
            assert doc["missing"] == [], lead.lead_id
            names = zipfile.ZipFile(io.BytesIO(out.getvalue())).namelist()
            assert "取证说明.txt" in names and "manifest.json" in names
            assert f"listings/{lead.platform}_{lead.listing_id}.txt" in names
            assert any(n.endswith(".warc.gz") for n in names)
            assert {c["listing"]["listing_id"] for c in doc["captures"]} == {lead.listing_id}


def test_browser_pages_carry_dom_and_screenshot(crawled: dict) -> None:
    js_ids = {i.listing.listing_id for i in crawled["mall"].items if i.client_rendered}
    store = EvidenceStore(crawled["evidence"])
    captured_js = [
        m
        for p, m in ((p, json.loads(p.read_bytes())) for p in crawled["evidence"].glob("manifests/*/*/0*.json"))
        if m["listing"]["listing_id"] in js_ids
    ]
    assert captured_js, "a client-rendered listing with a finding should be in this mall"
    for m in captured_js:
        assert m["browser"] is True
        kinds = {r["kind"] for r in m["records"]}
        assert {"response", "request", "dom", "screenshot", "listing"} <= kinds
        shot = next(r for r in m["records"] if r["kind"] == "screenshot")
        assert store.payload_of(shot, m)[:8] == b"\x89PNG\r\n\x1a\n"


def test_recrawl_of_unchanged_pages_stores_revisits_not_payloads(crawled: dict) -> None:
    manifests = [json.loads(p.read_bytes()) for p in crawled["evidence"].glob("manifests/*/*/0*.json")]
    second = [m for m in manifests if m["sequence"] == 2]
    assert len(second) == crawled["manifests_first"]
    assert crawled["second"]["listings_unchanged"] > 0, crawled["second"]  # judged without the rulebook
    stored_again: dict[str, int] = {}
    for m in second:
        for r in m["records"]:
            if not r["revisit"]:
                stored_again[r["kind"]] = stored_again.get(r["kind"], 0) + r["payload_bytes"]
        kinds = {r["kind"]: r["revisit"] for r in m["records"]}
        # the server's bytes and the listing are the same: revisits; a browser's rendering may differ
        assert kinds["response"] is True and kinds["listing"] is True, m["url"]
    assert stored_again.get("response", 0) == 0
    growth = crawled["size_second"] - crawled["size_first"]
    print(
        f"\nevidence store: first crawl {crawled['size_first']} bytes for {crawled['manifests_first']} captures, "
        f"recrawl +{growth} bytes ({growth / crawled['size_first']:.1%}); payload bytes stored again: {stored_again}"
    )


def test_verify_passes_and_names_a_flipped_byte(crawled: dict) -> None:
    data_dir = crawled["data_dir"]
    ok = sweep(data_dir, "evidence", "verify")
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert "evidence OK" in ok.stdout
    warc = sorted(crawled["evidence"].glob("warc/*/*.warc.gz"))[0]
    original = warc.read_bytes()
    flipped = bytearray(original)
    flipped[len(flipped) // 2] ^= 0x01
    warc.write_bytes(bytes(flipped))
    try:
        bad = sweep(data_dir, "evidence", "verify")
    finally:
        warc.write_bytes(original)
    assert bad.returncode == 1
    assert f"FAILED {warc.relative_to(crawled['evidence'])}" in bad.stdout


def test_on_demand_screenshot_of_a_static_page(crawled: dict) -> None:
    store = EvidenceStore(crawled["evidence"])
    first = {
        m["listing"]["listing_id"]: m
        for m in (json.loads(p.read_bytes()) for p in crawled["evidence"].glob("manifests/*/*/00000001.json"))
    }
    lead = next(lead for lead in crawled["leads"] if not first[lead.listing_id]["browser"])
    done = sweep(crawled["data_dir"], "evidence", "screenshot", lead.lead_id)
    assert done.returncode == 0, done.stdout + done.stderr
    _, manifest = store.manifests(lead.platform, lead.listing_id)[-1]
    assert manifest["rendered_from"]["sequence"] == 2
    shot = next(r for r in manifest["records"] if r["kind"] == "screenshot")
    assert shot["revisit"] is False
    assert store.payload_of(shot, manifest)[:8] == b"\x89PNG\r\n\x1a\n"
    assert sweep(crawled["data_dir"], "evidence", "verify").returncode == 0


def test_cli_export_warcio_check_and_pywb_replay_in_chromium(crawled: dict, tmp_path: Path) -> None:
    from playwright.sync_api import sync_playwright

    manifests = {
        json.loads(p.read_bytes())["listing"]["listing_id"]: json.loads(p.read_bytes())
        for p in crawled["evidence"].glob("manifests/*/*/00000001.json")
    }
    lead = next(lead for lead in crawled["leads"] if not manifests[lead.listing_id]["browser"])
    title = manifests[lead.listing_id]["listing"]["title"]
    bundle = tmp_path / "bundle.zip"
    exported = sweep(crawled["data_dir"], "evidence", "export", lead.lead_id, "-o", str(bundle))
    assert exported.returncode == 0, exported.stdout + exported.stderr
    unpacked = tmp_path / "bundle"
    zipfile.ZipFile(bundle).extractall(unpacked)
    warcs = sorted(str(p) for p in unpacked.glob("warc/*/*.warc.gz"))
    assert warcs
    check = subprocess.run([sys.executable, "-m", "warcio.cli", "check", *warcs], capture_output=True, text=True)
    assert check.returncode == 0, check.stdout + check.stderr

    root = tmp_path / "pywb"
    root.mkdir()
    manager = "from pywb.manager.manager import main; main()"
    for args in (["init", "evidence"], ["add", "evidence", *warcs]):
        done = subprocess.run([sys.executable, "-c", manager, *args], cwd=root, capture_output=True, text=True)
        assert done.returncode == 0, done.stderr
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-c", "from pywb.apps.cli import wayback; wayback()", "-p", str(port), "-b", "127.0.0.1"],
        cwd=root,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        replay = f"http://127.0.0.1:{port}/evidence/{lead.listing.url}"  # pywb's framed replay
        deadline = time.monotonic() + 60
        while True:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=2)
                break
            except OSError:
                assert time.monotonic() < deadline, "pywb did not start"
                time.sleep(0.5)
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=chromium_or_fail(), args=["--no-sandbox"])
            try:
                page = browser.new_page()
                response = page.goto(replay)
                assert response is not None and response.status == 200
                replayed = page.frame_locator("#replay_iframe").locator("h1.item-title")
                assert replayed.inner_text() == title
            finally:
                browser.close()
    finally:
        server.terminate()
        server.wait(10)
