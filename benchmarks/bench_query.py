"""Faceted full-text query latency over a large lead index (one node).

Loads N synthetic but realistic Chinese leads (titles, descriptions and shop names built from
per-family vocabularies, 31 provinces, 6 platforms, skewed severities/statuses, 180 days of
sightings) into a fresh index with the production mapping (`search.templates`), then runs the
queries staff actually run: 1-2 Chinese terms, 0-2 filters, all facets, highlighting, sorted by
recency or priority, 20 per page (and some deep pages via search_after). Reports client-side and
server-side (`took`) p50/p95/p99.

    python benchmarks/bench_query.py --size 1000000 --queries 500

Needs SWEEP_SEARCH_URL (or --url). Writes benchmarks/out/bench_query.json.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
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

from repeat import MIN_RUNS, Series, machine, machine_line  # noqa: E402

from adapters.store.searchengine import (  # noqa: E402
    admin,
    open_search_store,
    queries,
)
from adapters.store.searchengine.base import SearchEngineStore  # noqa: E402
from sweep.models import FAMILIES, Evidence, Finding, LeadEvent, ListingSummary  # noqa: E402
from sweep.settings import Settings  # noqa: E402
from sweep.store.base import LeadQuery  # noqa: E402

OUT = ROOT / "benchmarks" / "out"


def _w(text: str) -> list[str]:
    """Word lists are written space-separated: easier for analysts to edit than quoted lists."""
    return text.split()


console = Console()

REGIONS = _w(
    "北京 天津 河北 山西 内蒙古 辽宁 吉林 黑龙江 上海 江苏 浙江 安徽 福建 江西 山东 河南 湖北 湖南 广东 广西 海南 "
    "重庆 四川 贵州 云南 西藏 陕西 甘肃 青海 宁夏 新疆"
)
CITIES = _w("广州 深圳 杭州 义乌 苏州 南京 成都 武汉 郑州 临沂 石家庄 西安 长沙 青岛 宁波 东莞 佛山 厦门 合肥 济南")
PLATFORMS = ("demomall", "taobao", "jd", "pinduoduo", "1688", "douyin")
SHOP_KINDS = ("化工", "商贸", "贸易", "科技", "生物科技", "食品", "土特产", "服饰", "数码", "百货")
SHOP_SUFFIX = ("旗舰店", "专营店", "有限公司", "经营部", "批发部", "工厂店", "直销店")

VOCAB: dict[str, tuple[list[str], list[str], str]] = {
    "chem.toxic": (
        _w("氰化钠 氰化钾 砒霜 三氧化二砷 升汞 氯化汞 毒鼠强 氟乙酸钠 硫酸铊 叠氮化钠"),
        _w("工业级 高纯度 99% 现货 厂家直销 量大从优 可开票 包邮"),
        "high",
    ),
    "chem.explosive_precursor": (
        _w("硝酸铵 高锰酸钾 硝酸钾 氯酸钾 过氧化氢 硝化甘油 镁粉 铝粉"),
        _w("分析纯 实验室 化学试剂 500g 瓶装 现货"),
        "high",
    ),
    "chem.drug_precursor": (
        _w("麻黄碱 羟亚胺 邻氯苯基环戊酮 1-苯基-2-丙酮 胡椒醛 黄樟素 醋酸酐 三氯甲烷 乙醚"),
        _w("试剂级 高含量 散装 实验 科研 不问用途"),
        "high",
    ),
    "chem.unlicensed": (
        _w("甲醇 乙酸乙酯 丙酮 甲苯 二甲苯 盐酸 硫酸 氢氧化钠 次氯酸钠"),
        _w("桶装 25kg 工业用 清洗剂 原料 批发"),
        "medium",
    ),
    "food.medical_claim": (
        _w("苦瓜茶 桑叶茶 蜂胶 灵芝孢子粉 黑枸杞 酵素 辣木籽 牛蒡茶"),
        _w("降血糖 治疗糖尿病 降血压 抗癌 根治痛风 替代药物 三高克星 包治百病"),
        "high",
    ),
    "ad.absolute_terms": (
        _w("面霜 洗发水 电饭煲 空气净化器 蚕丝被 茶叶 手机壳"),
        _w("国家级 最高级 最佳 第一品牌 顶级 全网销量第一 史上最强 绝无仅有"),
        "low",
    ),
    "origin.gi_mismatch": (
        _w("柴达木枸杞 中宁枸杞 那曲牦牛肉 西藏藏香 五常大米 阳澄湖大闸蟹 西湖龙井 赣南脐橙"),
        _w("正宗 原产地 产地直发 新货 特级 礼盒装"),
        "medium",
    ),
    "food.sanwu": (
        _w("手工辣条 自制香肠 散装糕点 农家腊肉 手工酸菜 自酿米酒"),
        _w("无添加 家庭作坊 纯手工 农家自制 散装称重"),
        "medium",
    ),
    "ip.counterfeit": (
        _w("运动鞋 手提包 手表 太阳镜 羽绒服 耳机 香水"),
        _w("高仿 1:1复刻 A货 原单 莆田纯原 同款高仿 专柜品质"),
        "medium",
    ),
    "privacy.personal_data_sale": (
        _w("手机号码 快递单号 业主名单 学生家长信息 车主信息 贷款客户资料"),
        _w("精准 实时更新 按地区 批量出售 可试用 最新"),
        "high",
    ),
    "shop.licence_missing": (
        _w("纸巾 拖鞋 数据线 保温杯 收纳盒 雨伞"),
        _w("特价 清仓 包邮 新款 厂家"),
        "low",
    ),
    "shop.licence_invalid": (
        _w("洗衣液 牙膏 沐浴露 洗洁精 毛巾"),
        _w("家庭装 实惠 促销 批发 正品"),
        "low",
    ),
}
assert set(VOCAB) == set(FAMILIES)

QUERY_TERMS = [w for words, _, _ in VOCAB.values() for w in words[:4]] + [
    "高仿",
    "治疗糖尿病",
    "工业级",
    "全网销量第一",
    "原产地",
    "业主名单",
    "现货",
]
NOW = datetime(2026, 11, 20, tzinfo=UTC)


def synthetic_events(n: int, *, seed: int = 7, start: int = 0) -> Iterator[LeadEvent]:
    """n distinct leads' first sightings (lead i is deterministic in i, so producers can repeat it)."""
    for i in range(start, start + n):
        yield synthetic_event(i, seed=seed)


def synthetic_event(i: int, *, seed: int = 7, minutes_later: int = 0) -> LeadEvent:
    rnd = random.Random(seed * 1_000_003 + i)
    family = (
        FAMILIES[min(int(rnd.paretovariate(1.2)) - 1, len(FAMILIES) - 1)]
        if rnd.random() < 0.6
        else rnd.choice(FAMILIES)
    )
    products, modifiers, severity = VOCAB[family]
    product = rnd.choice(products)
    mods = rnd.sample(modifiers, k=min(len(modifiers), rnd.randint(1, 3)))
    city = rnd.choice(CITIES)
    title = f"{rnd.choice(mods)} {product} {' '.join(mods[1:])} {city}发货"
    region = rnd.choice(REGIONS)
    shop = f"{rnd.choice(CITIES)}{rnd.choice(['鑫', '华', '盛', '金', '恒', '瑞', '宏'])}{rnd.choice(SHOP_KINDS)}"
    shop += rnd.choice(SHOP_SUFFIX)
    description = (
        f"本店常年供应{product}，{'、'.join(mods)}。质量保证，欢迎来电咨询，{city}仓库当天发货。"
        f"{'支持货到付款。' if rnd.random() < 0.3 else ''}"
    )
    finding = Finding(
        platform=rnd.choice(PLATFORMS),
        listing_id=f"{i:09d}",
        family=family,
        rule_id=f"{family}/{rnd.randint(1, 12)}",
        severity=severity,  # type: ignore[arg-type]
        evidence=[
            Evidence(field="title", text=product, start=title.find(product), end=title.find(product) + len(product))
        ],
        legal_basis="危险化学品安全管理条例" if family.startswith("chem") else "电子商务法",
    )
    observed = NOW - timedelta(minutes=rnd.randint(0, 180 * 24 * 60)) + timedelta(minutes=minutes_later)
    return LeadEvent(
        lead_id=finding.lead_id,
        observed_at=observed,
        finding=finding,
        listing=ListingSummary(
            title=title,
            url=f"https://{finding.platform}.example/item/{i}",
            category=family.split(".")[0],
            price=round(rnd.uniform(5, 2000), 2),
            description=description,
            shop_id=f"shop{rnd.randint(0, 20000)}",
            shop_name=shop,
            region=region,
        ),
    )


def synthetic_docs(n: int, *, seed: int = 7) -> Iterator[dict[str, Any]]:
    """Lead documents as the store writes them, with some triage and repeat sightings mixed in."""
    from sweep.models import Lead

    statuses = ["new"] * 16 + ["triaged", "confirmed", "dismissed", "referred"]
    for i, event in enumerate(synthetic_events(n, seed=seed)):
        lead = Lead.from_event(event)
        doc = queries.lead_document(lead)
        r = (i * 2654435761) % 1000
        doc["times_seen"] = 1 + (r % 7 if r < 400 else 0)
        doc["status"] = statuses[r % len(statuses)]
        yield doc


def bulk_load(store: SearchEngineStore, n: int, chunk: int = 5000) -> float:
    """Load n docs into the store's leads alias; returns docs/s."""
    store.update_index_settings(store.leads_alias, {"index": {"refresh_interval": "-1"}})
    t0 = time.perf_counter()
    ops: list[dict[str, Any]] = []
    done = 0
    for doc in synthetic_docs(n):
        ops += [{"index": {"_index": store.leads_alias, "_id": doc["lead_id"]}}, doc]
        if len(ops) >= 2 * chunk:
            _bulk(store, ops)
            done += len(ops) // 2
            ops = []
            if done % 100_000 == 0:
                rate = done / (time.perf_counter() - t0)
                console.print(f"  loaded {done:,} ({rate:,.0f}/s)")
    if ops:
        _bulk(store, ops)
    elapsed = time.perf_counter() - t0
    store.update_index_settings(store.leads_alias, {"index": {"refresh_interval": "1s"}})
    store.refresh()
    return n / elapsed


def _bulk(store: SearchEngineStore, ops: list[dict[str, Any]]) -> None:
    for attempt in range(10):
        try:
            response = store.bulk(ops)
        except ConnectionError:
            time.sleep(2**attempt * 0.5)
            continue
        if response.get("errors"):
            bad = [i for i in response["items"] if next(iter(i.values()))["status"] >= 300]
            raise RuntimeError(f"{len(bad)} bulk errors, e.g. {bad[0]}")
        return
    raise RuntimeError("bulk kept failing")


def random_query(rnd: random.Random) -> LeadQuery:
    terms = rnd.sample(QUERY_TERMS, k=1 if rnd.random() < 0.8 else 2)
    q = LeadQuery(text=" ".join(terms), size=20, sort=rnd.choice(["recent", "priority"]))  # type: ignore[arg-type]
    if rnd.random() < 0.4:
        q.regions = [rnd.choice(REGIONS)]
    if rnd.random() < 0.3:
        q.statuses = ["new"]
    if rnd.random() < 0.2:
        q.severities = ["high"]
    if rnd.random() < 0.2:
        q.seen_from = NOW - timedelta(days=30)
    return q


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    k = max(0, min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1))))
    return ordered[k]


def run_queries(store: SearchEngineStore, count: int, seed: int = 11) -> dict[str, Any]:
    rnd = random.Random(seed)
    for _ in range(min(50, count)):  # warm-up: caches, JIT
        store.search(random_query(rnd))
    client_ms: list[float] = []
    took_ms: list[float] = []
    deep_ms: list[float] = []
    hits: list[int] = []
    for k in range(count):
        q = random_query(rnd)
        body = queries.build_search(q)
        t0 = time.perf_counter()
        raw = store.search_raw(store.leads_alias, body)
        result = queries.parse_search(raw, q)
        client_ms.append((time.perf_counter() - t0) * 1000)
        took_ms.append(float(raw.get("took", 0)))
        hits.append(result.total)
        if k % 10 == 0 and result.next_cursor:  # page 2..6 through search_after
            cursor = result.next_cursor
            for _page in range(5):
                q.search_after = cursor
                t1 = time.perf_counter()
                page = store.search(q)
                deep_ms.append((time.perf_counter() - t1) * 1000)
                if not (cursor := page.next_cursor):
                    break
    return {
        "queries": count,
        "client_ms": {p: round(pct(client_ms, p), 1) for p in (50, 95, 99)},
        "server_took_ms": {p: round(pct(took_ms, p), 1) for p in (50, 95, 99)},
        "search_after_pages_ms": {p: round(pct(deep_ms, p), 1) for p in (50, 95)} if deep_ms else {},
        "mean_client_ms": round(statistics.fmean(client_ms), 1),
        "median_hits": int(statistics.median(hits)),
    }


FIXED_QUERIES: dict[str, LeadQuery] = {
    "landing page: every lead, all facets, priority sort": LeadQuery(sort="priority"),
    "broad term 现货 + facets": LeadQuery(text="现货"),
    "term 包邮 + region filter": LeadQuery(text="包邮", regions=["广东"]),
}
"""Worst cases the random mix rarely draws: the triage landing page aggregates over every lead."""


def run_fixed(store: SearchEngineStore, repeat: int = 50) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, q in FIXED_QUERIES.items():
        for _ in range(5):
            store.search(q)
        ms = []
        total = 0
        for _ in range(repeat):
            t0 = time.perf_counter()
            total = store.search(q).total
            ms.append((time.perf_counter() - t0) * 1000)
        out[name] = {"hits": total, "p50": round(pct(ms, 50), 1), "p95": round(pct(ms, 95), 1)}
    return out


def run_once(store: SearchEngineStore, count: int, seed: int) -> dict[str, Any]:
    console.print(f"{count} faceted full-text queries (seed {seed}) and the fixed worst cases ...")
    result = run_queries(store, count, seed=seed)
    result["fixed"] = run_fixed(store)
    return result


def summarise(runs: list[dict[str, Any]]) -> dict[str, Series]:
    """One Series per reported percentile, across runs (each run draws its own random queries)."""
    series: dict[str, Series] = {}

    def add(name: str, value: float) -> None:
        series.setdefault(name, Series("ms")).add(value)

    for run in runs:
        for p in (50, 95, 99):
            add(f"random query p{p} (client)", run["client_ms"][p])
            add(f"random query p{p} (server took)", run["server_took_ms"][p])
        for p in (50, 95):
            if run["search_after_pages_ms"]:
                add(f"search_after page p{p}", run["search_after_pages_ms"][p])
        for name, row in run["fixed"].items():
            add(f"{name} p95", row["p95"])
    return series


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--url", default=None, help="search URL (default: SWEEP_SEARCH_URL)")
    parser.add_argument("--size", type=int, default=1_000_000)
    parser.add_argument("--queries", type=int, default=500)
    parser.add_argument("--runs", type=int, default=MIN_RUNS, help="query rounds over the loaded index (at least 3)")
    parser.add_argument("--prefix", default="bench-query")
    parser.add_argument("--reuse", action="store_true", help="query an already loaded index of this prefix")
    parser.add_argument("--keep", action="store_true", help="do not delete the index afterwards")
    args = parser.parse_args()
    settings = Settings(search_url=args.url) if args.url else Settings()
    store = open_search_store(settings, prefix=args.prefix, timeout_s=120)
    load_rate = None
    if not args.reuse:
        admin.delete_all(store)
        store.ensure_indices()
        console.print(f"loading {args.size:,} synthetic leads into {store.leads_alias} ({store.flavor}) ...")
        load_rate = bulk_load(store, args.size)
    docs = store.count()
    runs = [run_once(store, args.queries, seed=11 + r) for r in range(max(args.runs, MIN_RUNS))]
    info = store.info()
    series = summarise(runs)
    report = {
        "benchmark": "faceted full-text query latency",
        "machine": machine(),
        "engine": f"{store.flavor} {info.get('version', {}).get('number')}",
        "analysis": store.analysis_mode(),
        "docs": docs,
        "load_docs_per_s": round(load_rate) if load_rate else None,
        "target_p95_ms": 150,
        "runs": runs,
        "summary": {name: s.stats() for name, s in series.items()},
        "at": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    table = Table(
        title=f"Faceted full-text queries over {docs:,} leads ({report['engine']}, one node): "
        f"median (min–max) of {len(runs)} runs, ms"
    )
    table.add_column("metric")
    table.add_column("value", justify="right")
    for name, one in series.items():
        table.add_row(name, f"{one.median:.1f} ({min(one.values):.1f}–{max(one.values):.1f})")
    console.print(table)
    console.print(machine_line())
    if load_rate:
        console.print(f"bulk load: {load_rate:,.0f} docs/s · median hits/query: {runs[0]['median_hits']:,}")
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "bench_query.json").write_text(json.dumps(report, ensure_ascii=False, indent=2))
    console.print(f"wrote {OUT / 'bench_query.json'}")
    if not args.keep:
        admin.delete_all(store)
    store.close()


if __name__ == "__main__":
    main()
