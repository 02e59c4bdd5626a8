"""Workspace benchmark: the lead-queue page with facets (server time, p50/p95) and a bulk action over a
whole search, on the embedded stores (SQLite lead store + SQLite people's store).

    python benchmarks/bench_workspace.py --leads 100000 --bulk 10000 --runs 3

Server time is the time the application takes to answer `GET /leads?…` in-process (FastAPI's test
client: routing, authentication, the jurisdiction-restricted store search with its seven facets, the
decisions' versions and the rendering of 50 rows), so network and browser time are not in it. Three
pages are measured as a supervisor of 540000 (the jurisdiction filter applies): the landing page,
a text search, and a text search narrowed by a facet. The bulk action assigns every lead of a
10,000-lead search and writes 10,000 audit records; its time and rate are reported, and the audit is
checked to hold exactly one record per lead.

Every figure is the median of at least three runs with min and max (`repeat.Series`), printed beside
the machine's load average.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from repeat import MIN_RUNS, Series, machine, machine_line

PASSWORD = "benchmark password"
REGIONS = [
    ("西藏自治区拉萨市城关区", 4),
    ("西藏自治区拉萨市堆龙德庆区", 2),
    ("西藏自治区那曲市", 1),
    ("青海省西宁市城中区", 2),
    ("广东省深圳市", 3),
    ("山东省淄博市", 3),
    ("浙江省杭州市", 3),
]
WORDS = ["氰化钠", "氰化钾", "高锰酸钾", "硝酸铵", "降三高", "最低价", "藏香", "牦牛肉干", "电镀", "试剂"]
FAMILIES = ["chem.toxic", "chem.drug_precursor", "chem.explosive_precursor", "food.medical_claim", "ad.absolute_terms"]


def events(n: int, bulk: int, seed: int = 7):
    """`n` leads; the first `bulk` are 三无食品 in Lhasa (the bulk action's search), the rest spread."""
    from sweep.models import Evidence, Finding, LeadEvent, Listing, Shop

    rng = random.Random(seed)
    regions = [r for r, w in REGIONS for _ in range(w)]
    t0 = datetime(2026, 10, 1, tzinfo=UTC)
    for i in range(n):
        if i < bulk:
            family, region, word = "food.sanwu", "西藏自治区拉萨市城关区", "三无"
        else:
            family, region, word = rng.choice(FAMILIES), rng.choice(regions), rng.choice(WORDS)
        shop = rng.randrange(2000)
        title = f"{word} 商品{i} 现货 {rng.choice(WORDS)}"
        listing = Listing(
            platform=rng.choice(["taobao", "jd", "pdd", "1688"]),
            listing_id=f"B{i}",
            title=title,
            description=f"{title}，量大从优，{rng.choice(WORDS)}。",
            category=rng.choice(["化工原料", "食品", "工艺品"]),
            price=round(rng.uniform(10, 900), 1),
            shop=Shop(shop_id=f"S{shop}", name=f"店铺{shop}", region=region),
        )
        finding = Finding(
            platform=listing.platform,
            listing_id=listing.listing_id,
            family=family,
            rule_id=f"{family}.bench",
            severity=rng.choice(["high", "medium", "low"]),
            evidence=[Evidence(field="title", text=word, start=0, end=len(word))],
            legal_basis="基准测试",
            title_zh="基准",
        )
        yield LeadEvent.of(finding, listing, t0 + timedelta(minutes=i))


def open_store(root: Path, kind: str, search_url: str | None):
    """The lead store under test: embedded SQLite, or OpenSearch under an index prefix of its own."""
    if kind == "sqlite":
        from adapters.store.sqlite import SqliteLeadStore

        return SqliteLeadStore(root / "leads.sqlite")
    import uuid

    from adapters.store.searchengine import open_search_store
    from sweep.settings import Settings

    if not search_url:
        raise SystemExit("--store opensearch needs SWEEP_SEARCH_URL (services/up.sh opensearch)")
    prefix = f"bench-ws-{uuid.uuid4().hex[:8]}"
    return open_search_store(Settings(search_url=search_url), prefix=prefix, refresh=False, ensure=True)


def build(root: Path, n: int, bulk: int, kind: str = "sqlite", search_url: str | None = None):
    from adapters.people.sql import SqlPeopleStore
    from app.web import create_app
    from sweep.settings import Settings
    from workspace.auth import add_user

    store = open_store(root, kind, search_url)
    people = SqlPeopleStore(f"sqlite:///{root / 'people.sqlite'}")
    add_user(people, "supervisor", PASSWORD, "supervisor", "540000")
    add_user(people, "officer", PASSWORD, "officer", "540100")
    t0 = time.perf_counter()
    batch = []
    for i, e in enumerate(events(n, bulk), 1):
        batch.append(e)
        if len(batch) == 2000:
            store.apply_events(batch)
            batch = []
        if i % 20000 == 0:
            print(f"  loaded {i:,} leads ({i / (time.perf_counter() - t0):,.0f}/s)", flush=True)
    if batch:
        store.apply_events(batch)
    if hasattr(store, "refresh"):
        store.refresh()
    print(f"  loaded {n:,} leads in {time.perf_counter() - t0:,.0f} s", flush=True)
    app = create_app(Settings(data_dir=root), store=store, people=people)
    return app, store, people


def reopen(root: Path):
    """The application over stores `build` left in `root` (`--data`)."""
    from adapters.people.sql import SqlPeopleStore
    from adapters.store.sqlite import SqliteLeadStore
    from app.web import create_app
    from sweep.settings import Settings

    store = SqliteLeadStore(root / "leads.sqlite")
    people = SqlPeopleStore(f"sqlite:///{root / 'people.sqlite'}")
    return create_app(Settings(data_dir=root), store=store, people=people), store, people


def client_for(app, username: str):
    import re

    from fastapi.testclient import TestClient

    client = TestClient(app)
    token = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/login").text).group(1)
    assert (
        client.post("/login", data={"username": username, "password": PASSWORD, "csrf_token": token}).status_code == 200
    )
    return client


PAGES = {
    "landing page": "/leads",
    "text search": "/leads?q=氰化钠",
    "text + facet": "/leads?q=氰化钠&family=chem.toxic&region=西藏自治区拉萨市城关区",
}


def measure_pages(client, requests: int) -> dict[str, tuple[float, float]]:
    out = {}
    for name, url in PAGES.items():
        client.get(url)  # warm caches once
        times = []
        for _ in range(requests):
            t = time.perf_counter()
            response = client.get(url)
            times.append((time.perf_counter() - t) * 1000)
            assert response.status_code == 200
        times.sort()
        out[name] = (statistics.median(times), times[min(len(times) - 1, int(len(times) * 0.95))])
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--leads", type=int, default=100_000)
    parser.add_argument("--bulk", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=MIN_RUNS)
    parser.add_argument("--requests", type=int, default=40, help="requests per page per run")
    parser.add_argument("--store", choices=("sqlite", "opensearch"), default="sqlite")
    parser.add_argument("--out", type=Path, default=Path("benchmarks/out/workspace.json"))
    parser.add_argument(
        "--data",
        type=Path,
        help="keep the built stores in this folder and reuse them when it already holds them (SQLite only; "
        "building 100,000 leads takes minutes, so before/after comparisons measure the same data)",
    )
    parser.add_argument(
        "--only", choices=("queue", "bulk"), help="measure only the queue pages, or only the bulk action"
    )
    args = parser.parse_args()
    if args.runs < MIN_RUNS:
        parser.error(f"--runs must be at least {MIN_RUNS}")

    from argon2 import PasswordHasher

    import workspace.auth as auth

    auth._hasher = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)  # logins are not measured

    print(machine_line(), flush=True)
    pages = {name: (Series("ms"), Series("ms")) for name in PAGES}
    bulk_s, bulk_rate = Series("s"), Series("leads/s")
    from sweep.people import Actor, Role
    from sweep.store.base import LeadQuery
    from workspace.service import QueueParams

    with tempfile.TemporaryDirectory() as tmp:
        import os

        root = Path(tmp)
        if args.data is not None and args.store == "sqlite":
            root = args.data / f"{args.leads}-{args.bulk}"
        if (root / "leads.sqlite").exists() and (root / "people.sqlite").exists():
            print(f"reusing {args.leads:,} leads in {root}", flush=True)
            app, store, people = reopen(root)
        else:
            print(f"building {args.leads:,} leads ...", flush=True)
            root.mkdir(parents=True, exist_ok=True)
            app, store, people = build(root, args.leads, args.bulk, args.store, os.environ.get("SWEEP_SEARCH_URL"))
        try:
            client = client_for(app, "supervisor")
            ws = app.state.workspace
            actor = Actor("supervisor", Role.supervisor, ("540000",))
            params = QueueParams(families=["food.sanwu"])
            assert ws.bulk_count(actor, params) == args.bulk or not args.bulk
            for run in range(args.runs):
                print(f"run {run + 1}:", flush=True)
                cpu = time.process_time()
                for name, (p50, p95) in ({} if args.only == "bulk" else measure_pages(client, args.requests)).items():
                    pages[name][0].add(p50)
                    pages[name][1].add(p95)
                    print(f"  {name}: p50 {p50:,.0f} ms, p95 {p95:,.0f} ms", flush=True)
                if args.only != "bulk":
                    print(f"  pages: {time.process_time() - cpu:,.1f} s of CPU; {machine_line()}", flush=True)
                if not args.bulk or args.only == "queue":
                    continue
                # each run reassigns the same 10,000 leads (alternating assignee): a real change every time
                assignee = "officer" if run % 2 == 0 else "supervisor"
                before = people.audit_count()
                t = time.perf_counter()
                job = ws.bulk_start(
                    actor, source="bench", action="assign", params=params, assignee=assignee, background=False
                )
                elapsed = time.perf_counter() - t
                done = people.get_job(job.id)
                assert done is not None and done.state == "done" and done.done == args.bulk, done
                assert people.audit_count() - before == args.bulk
                if hasattr(store, "refresh"):
                    store.refresh()
                assert all(
                    lead.assignee == assignee
                    for lead in store.search(LeadQuery(families=["food.sanwu"], size=200)).leads
                )
                bulk_s.add(elapsed)
                bulk_rate.add(args.bulk / elapsed)
                print(
                    f"  bulk assign of {args.bulk:,}: {elapsed:,.1f} s ({args.bulk / elapsed:,.0f} leads/s), "
                    f"audit +{args.bulk:,}",
                    flush=True,
                )
        finally:
            client.close()
            if args.store == "opensearch":
                from adapters.store.searchengine import admin

                admin.delete_all(store)
            store.close()
            people.close()
    print(machine_line(), flush=True)
    print()
    print(f"| workspace, {args.leads:,} leads on {args.store} (median, min–max of {args.runs} runs) | p50 | p95 |")
    print("|---|---:|---:|")
    for name, (p50, p95) in pages.items():
        if not p50.values:
            continue
        print(f"| queue: {name} | {p50.summary()} | {p95.summary()} |")
    if bulk_s.values:
        print(
            f"| bulk assign {args.bulk:,} leads (+{args.bulk:,} audit records) | {bulk_s.summary('{:,.1f}')} | "
            f"{bulk_rate.summary()} |"
        )
    report = {
        "machine": machine(),
        "leads": args.leads,
        "store": args.store,
        "bulk": args.bulk,
        "pages": {name: {"p50": p50.stats(), "p95": p95.stats()} for name, (p50, p95) in pages.items() if p50.values},
        "bulk_seconds": bulk_s.stats() if bulk_s.values else None,
        "bulk_rate": bulk_rate.stats() if bulk_rate.values else None,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, ensure_ascii=False, indent=2))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
