"""The daily report over N leads and N complaints on the search engine: how long `reports.figures.compute`
takes (four lead aggregations, two complaint aggregations, cases and jobs) nationwide and for one
province, plus rendering it to HTML and XLSX.

Loads N synthetic leads (`bench_query`'s generator: realistic Chinese titles, 180 days of sightings,
skewed statuses; regions written as full province names so jurisdictions filter them) and N synthetic
12315 complaints (masked records only: the report never reads personal data) into fresh indices with
the production mappings, then runs the report `--runs` times.

    python benchmarks/bench_report.py --size 1000000      # the target: < 10 s per report

Needs SWEEP_SEARCH_URL (or --url). Writes benchmarks/out/bench_report.json.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import tempfile
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from bench_query import CITIES, NOW, PLATFORMS, REGIONS, SHOP_KINDS, SHOP_SUFFIX, _bulk, synthetic_docs  # noqa: E402
from repeat import MIN_RUNS, Series, machine, machine_line  # noqa: E402

from adapters.people.operations_sql import SqlOperationsStore  # noqa: E402
from adapters.people.sql import SqlPeopleStore  # noqa: E402
from adapters.store.searchengine import admin, open_search_store  # noqa: E402
from adapters.store.searchengine.base import SearchEngineStore  # noqa: E402
from adapters.store.searchengine.complaints import SearchComplaintStore, complaint_document, personal_index  # noqa: E402
from reports import figures as fig  # noqa: E402
from reports import render  # noqa: E402
from sweep import regions as divisions  # noqa: E402
from sweep.models import Complaint  # noqa: E402
from sweep.settings import Settings  # noqa: E402

OUT = ROOT / "benchmarks" / "out"
console = Console()
FULL = {short: divisions.full_name(code) for short in REGIONS if (code := divisions.code_for(short))}
"""bench_query's short province names -> official names (浙江 -> 浙江省), as listings write them."""
STATUSES = ["已办结"] * 9 + ["处理中", "已受理", "待处理"]
PROVINCE = "330000"


def lead_docs(n: int) -> Iterator[dict[str, Any]]:
    for doc in synthetic_docs(n):
        region = doc["listing"].get("region")
        doc["listing"]["region"] = FULL.get(region, region)
        yield doc


def complaint_docs(n: int, seed: int = 13) -> Iterator[dict[str, Any]]:
    rnd = random.Random(seed)
    provinces = list(FULL.values())
    for i in range(n):
        received = NOW - timedelta(minutes=rnd.randint(0, 180 * 24 * 60))
        shop = f"{rnd.choice(CITIES)}{rnd.choice(['鑫', '华', '盛'])}{rnd.choice(SHOP_KINDS)}{rnd.choice(SHOP_SUFFIX)}"
        status = rnd.choice(STATUSES)
        c = Complaint(
            complaint_id=f"BC{i:09d}",
            received_at=received,
            platform=rnd.choice(PLATFORMS),
            shop_name=shop,
            seller_name=f"{shop[:4]}贸易有限公司",
            region=rnd.choice(provinces),
            status=status,
            closed_at=received + timedelta(days=rnd.randint(1, 20)) if status == "已办结" else None,
            text="商品与描述不符，要求退货退款。",
            category_code=rnd.choice(["0101", "0203", "0302", "0405"]),
        )
        yield complaint_document(c, [f"shop:{shop}"])


def load(
    store: SearchEngineStore, alias: str, docs: Iterator[dict[str, Any]], id_field: str, chunk: int = 5000
) -> float:
    store.update_index_settings(alias, {"index": {"refresh_interval": "-1"}})
    t0 = time.perf_counter()
    ops: list[dict[str, Any]] = []
    n = 0
    for doc in docs:
        ops += [{"index": {"_index": alias, "_id": doc[id_field]}}, doc]
        n += 1
        if len(ops) >= 2 * chunk:
            _bulk(store, ops)
            ops = []
            if n % 100_000 == 0:
                console.print(f"  {alias}: {n:,} ({n / (time.perf_counter() - t0):,.0f}/s)")
    if ops:
        _bulk(store, ops)
    elapsed = time.perf_counter() - t0
    store.update_index_settings(alias, {"index": {"refresh_interval": "1s"}})
    store.refresh_index(alias)
    return n / elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--url", default=None, help="search URL (default: SWEEP_SEARCH_URL)")
    parser.add_argument("--size", type=int, default=1_000_000, help="leads, and as many complaints")
    parser.add_argument("--runs", type=int, default=MIN_RUNS)
    parser.add_argument("--prefix", default="bench-report")
    parser.add_argument("--reuse", action="store_true", help="report over already loaded indices of this prefix")
    parser.add_argument("--keep", action="store_true", help="do not delete the indices afterwards")
    parser.add_argument(
        "--warm", action="store_true", help="keep the engine's caches between runs (default: cleared before each)"
    )
    args = parser.parse_args()
    settings = Settings(search_url=args.url) if args.url else Settings()
    if not settings.search_url:
        raise SystemExit("needs SWEEP_SEARCH_URL or --url")
    leads = open_search_store(settings, prefix=args.prefix, timeout_s=120)
    from cryptography.fernet import Fernet

    complaints = SearchComplaintStore(
        open_search_store(settings, prefix=args.prefix, timeout_s=120), Fernet.generate_key()
    )
    rates: dict[str, float] = {}
    if not args.reuse:
        admin.delete_all(leads)
        leads.ensure_indices()
        complaints.ensure()
        console.print(f"loading {args.size:,} leads and {args.size:,} complaints ({leads.flavor}) ...")
        rates["leads_per_s"] = load(leads, leads.leads_alias, lead_docs(args.size), "lead_id")
        rates["complaints_per_s"] = load(leads, complaints.alias, complaint_docs(args.size), "complaint_id")
    tmp = Path(tempfile.mkdtemp(prefix="bench-report-"))
    people = SqlPeopleStore(f"sqlite:///{tmp / 'people.sqlite'}")
    ops = SqlOperationsStore(f"sqlite:///{tmp / 'people.sqlite'}")
    day = (NOW - timedelta(days=1)).date()
    period = fig.Period(day, day)
    series = {
        "daily_national_s": Series("s"),
        "daily_province_s": Series("s"),
        "weekly_national_s": Series("s"),
        "render_html_xlsx_s": Series("s"),
    }
    figures = None
    for _ in range(max(args.runs, MIN_RUNS)):
        for name, kind, p, scope in (
            ("daily_national_s", "daily", period, fig.Scope()),
            ("daily_province_s", "daily", period, fig.Scope(PROVINCE)),
            ("weekly_national_s", "weekly", fig.Period(day - timedelta(days=6), day), fig.Scope()),
        ):
            if not args.warm:
                # cold: OpenSearch's request cache answers a repeated aggregation from memory in
                # milliseconds, which a report run once a day never meets
                leads.client.indices.clear_cache(index=f"{args.prefix}*")
            t0 = time.perf_counter()
            figures = fig.compute(
                kind, p, scope, leads=leads, complaints=complaints, people=people, operations=ops, now=NOW
            )  # type: ignore[arg-type]
            series[name].add(time.perf_counter() - t0)
        assert figures is not None
        t0 = time.perf_counter()
        render.html(figures)
        render.xlsx(figures)
        series["render_html_xlsx_s"].add(time.perf_counter() - t0)
    assert figures is not None
    info = leads.info()
    report = {
        "benchmark": "daily report over leads and complaints on the search engine",
        "machine": machine(),
        "engine": f"{leads.flavor} {info.get('version', {}).get('number')}",
        "leads": leads.count(),
        "complaints": complaints.count(),
        "period": str(period.start),
        "new_leads_in_period_national": figures.leads.total,
        "target_s": 10,
        "caches": "warm" if args.warm else "cleared before each report",
        "load": {k: round(v) for k, v in rates.items()},
        "summary": {name: s.stats() for name, s in series.items()},
        "at": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    table = Table(
        title=f"Reports over {report['leads']:,} leads and {report['complaints']:,} complaints ({report['engine']})"
    )
    table.add_column("what")
    table.add_column("median (min–max), s", justify="right")
    for name, s in series.items():
        table.add_row(name, f"{s.median:.2f} ({min(s.values):.2f}–{max(s.values):.2f})")
    console.print(table)
    console.print(machine_line())
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "bench_report.json").write_text(json.dumps(report, ensure_ascii=False, indent=2))
    console.print(f"wrote {OUT / 'bench_report.json'}")
    if not args.keep:
        admin.delete_all(leads)
        leads.delete_index(personal_index(args.prefix))
    people.close()
    ops.close()
    complaints.close()
    leads.close()


if __name__ == "__main__":
    main()
