"""Reports on the production backends and on paper: the hand-counted daily report of
`tests/unit/test_reports.py` with its leads on OpenSearch and on the minimal Elasticsearch, and the
PDF printed by Chromium, read back with pdftotext (poppler-utils, `make install-browser`)."""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from adapters import open_complaint_store
from adapters.people import open_people_store
from adapters.people.operations_sql import open_operations_store
from adapters.store.searchengine import admin, open_search_store
from adapters.store.searchengine.complaints import personal_index
from reports import figures as fig
from reports import render
from spiders.browser import find_chromium
from sweep.settings import Settings
from tests.unit.test_reports import DAY, NOW, ZHEJIANG, check_expected, load_world
from workspace.exports import html_to_pdf

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(params=["opensearch", "es_minimal"])
def backend_figures(
    request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, run_prefix: str
) -> Iterator[fig.Figures]:
    """The hand-built world with its leads and complaints in a search engine (cases and jobs embedded)."""
    from cryptography.fernet import Fernet

    monkeypatch.setenv("SWEEP_PII_KEY", Fernet.generate_key().decode())
    url = request.getfixturevalue(f"{request.param}_url")
    settings = Settings(data_dir=tmp_path, search_url=None, kafka=None, people_url=None)
    prefix = f"{run_prefix}-report-{request.param.replace('_', '')}-{uuid.uuid4().hex[:6]}"
    leads = open_search_store(Settings(search_url=url), prefix=prefix, ensure=True, refresh="wait_for")
    engine_settings = Settings(data_dir=tmp_path, search_url=url, index_prefix=prefix, people_url=None)
    complaints = open_complaint_store(engine_settings, refresh="wait_for")
    assert type(complaints).__name__ == "SearchComplaintStore"
    people, ops = open_people_store(settings), open_operations_store(settings)
    try:
        load_world(leads, complaints, people, ops)
        leads.refresh()
        yield fig.compute(
            "daily", DAY, ZHEJIANG, leads=leads, complaints=complaints, people=people, operations=ops, now=NOW
        )
    finally:
        admin.delete_all(leads)
        with contextlib.suppress(Exception):  # the sealed personal data lives beside the aliases
            leads.delete_index(personal_index(leads.prefix))
        for store in (leads, complaints, people, ops):
            store.close()


def test_the_daily_report_on_a_search_engine_equals_the_hand_count(backend_figures: fig.Figures) -> None:
    check_expected(backend_figures)


@pytest.mark.browser
def test_pdf_text_carries_the_chinese_headings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from cryptography.fernet import Fernet

    from adapters import open_lead_store

    chromium = find_chromium(os.environ.get("SWEEP_CHROMIUM"))
    assert chromium, "Chromium is part of the test environment (make install-browser)"
    assert shutil.which("pdftotext"), "pdftotext is part of the test environment (make install-browser)"
    monkeypatch.setenv("SWEEP_PII_KEY", Fernet.generate_key().decode())
    settings = Settings(data_dir=tmp_path / "data", search_url=None, kafka=None, people_url=None)
    stores = (
        open_lead_store(settings),
        open_complaint_store(settings),
        open_people_store(settings),
        open_operations_store(settings),
    )
    leads, complaints, people, ops = stores
    load_world(*stores)
    try:
        for kind, headings in (
            ("daily", ["网络交易监测日报", "浙江省", "一、总体情况", "每日新增线索", "办结率", "66.7%"]),
            ("campaign", ["专项治理工作报告", "专项治理工作漏斗", "核实下架"]),
        ):
            f = fig.compute(
                kind, DAY, ZHEJIANG, leads=leads, complaints=complaints, people=people, operations=ops, now=NOW
            )
            pdf = render.render(f, "pdf", printer=lambda page: html_to_pdf(page, chromium))
            assert pdf.startswith(b"%PDF")
            path = tmp_path / f"{kind}.pdf"
            path.write_bytes(pdf)
            text = subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True, check=True)
            for heading in headings:
                assert heading in text.stdout, f"{heading} missing from the {kind} PDF text"
            if shots := os.environ.get("SWEEP_SCREENSHOTS"):  # the README's pictures of each page
                out = ROOT / shots
                out.mkdir(parents=True, exist_ok=True)
                subprocess.run(["pdftoppm", "-png", "-r", "60", str(path), str(out / f"report-{kind}")], check=True)
    finally:
        for store in stores:
            store.close()
