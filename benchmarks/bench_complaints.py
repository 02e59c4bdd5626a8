"""Import and match N complaints against M known shops: rows/s and peak memory, several runs.

Builds a seller directory of M shops (names from a syllable vocabulary, 31 provinces, 6 platforms,
valid USCCs on half of them, listing URLs), then writes a CSV of N complaints in 12315 export shape:
40 % about known shops by name and platform, 15 % by USCC, 10 % by URL, 5 % by shop id, 30 % about
shops sweep does not know; every complaint text carries a name and a phone number, a tenth an ID
number. Each run imports the file into a fresh store (a copy of the same directory) in its own
process: reading, header recognition, date parsing, personal-data detection and masking, Fernet
sealing, matching, SQLite writes with full-text indexing. Peak memory is the run's maximum RSS.

    python benchmarks/bench_complaints.py --complaints 1000000 --shops 100000 --runs 3

`--stream` times the streaming path instead: the import seals personal data and publishes the masked
records on the embedded (SQLite) bus, then the complaints consumer drains the topic into the store
(what `sweep complaints import` does without Kafka); rows/s is over both, each part's seconds beside.

Writes benchmarks/out/bench_complaints.json.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import random
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from repeat import Series, machine, machine_line  # noqa: E402

SYLLABLES = "鑫达远华永盛胜兴隆泰和丰源德福瑞祥安康宏新金银海天益利通顺嘉旺恒信诚佳美优品创博昌茂联鼎晟悦禾"
TRADES = ["化工", "五金", "枸杞", "茶叶", "电子", "食品", "服饰", "建材", "医疗器械", "日化", "农资", "家居"]
SUFFIXES = ["旗舰店", "专营店", "商行", "企业店", "官方旗舰店", "小店", "有限公司"]
PROVINCES = [
    "宁夏回族自治区银川市",
    "浙江省杭州市",
    "河北省石家庄市",
    "广东省深圳市",
    "江苏省苏州市",
    "山东省济南市",
    "四川省成都市",
]
PLATFORMS = ["demo-mall", "taobao", "jd", "pinduoduo", "douyin", "kuaishou"]
HEADER = [
    "登记编号",
    "登记日期",
    "网络平台",
    "网店名称",
    "被投诉人统一社会信用代码",
    "网址",
    "店铺ID",
    "投诉内容",
    "投诉人",
    "联系电话",
    "办理状态",
    "所属区域",
]


def _uscc(rng: random.Random) -> str:
    from sweep.identifiers import complete_uscc

    return complete_uscc("91" + f"{rng.randrange(110000, 660000):06d}" + f"{rng.randrange(10**8):08d}")


def make_sellers(n: int, seed: int = 7):
    from sweep.store.complaints import Seller

    rng = random.Random(seed)
    for i in range(n):
        name = "".join(rng.choices(SYLLABLES, k=rng.choice((2, 3)))) + rng.choice(TRADES) + f"{i:05d}"[-2:]
        platform = PLATFORMS[i % len(PLATFORMS)]
        yield Seller(
            platform=platform,
            shop_id=f"shop-{i}",
            name=name + rng.choice(SUFFIXES),
            uscc=_uscc(rng) if i % 2 == 0 else None,
            region=rng.choice(PROVINCES),
            urls=[f"https://{platform}.example/item/{i}"],
            lead_ids=[f"lead-{i}"],
        )


def write_complaints(path: Path, n: int, sellers: list, seed: int = 11) -> None:
    rng = random.Random(seed)
    with path.open("w", encoding="utf-8", newline="") as f:
        w = csv.writer(f)
        w.writerow(HEADER)
        for i in range(n):
            s = sellers[rng.randrange(len(sellers))]
            kind = rng.random()
            platform = shop = uscc = url = sid = ""
            if kind < 0.40:
                platform, shop = s.platform, s.name
            elif kind < 0.55 and s.uscc:
                uscc, shop = s.uscc, s.name
            elif kind < 0.65:
                url = s.urls[0] + "?spm=x"
            elif kind < 0.70:
                platform, sid = s.platform, s.shop_id
            else:
                platform, shop = rng.choice(PLATFORMS), "未知" + "".join(rng.choices(SYLLABLES, k=3)) + "小店"
            phone = f"13{rng.randrange(10**9):09d}"
            text = f"我叫王{rng.choice('五六七')}，电话{phone}，在该店购买商品质量有问题，要求退款。"
            if i % 10 == 0:
                text += "身份证11010519491231002X"
            date = f"2026-{rng.randrange(1, 13):02d}-{rng.randrange(1, 29):02d} 10:{rng.randrange(60):02d}"
            w.writerow([f"C{i:08d}", date, platform, shop, uscc, url, sid, text, "王五", phone, "处理中", s.region])


def one_run(data_dir: Path, csv_path: Path, stream: bool = False) -> dict:
    """Import the file once (in this process) and report rate, counts and peak RSS."""
    os.environ["SWEEP_DATA_DIR"] = str(data_dir)
    os.environ["SWEEP_CONFIG"] = str(data_dir / "none.toml")
    from adapters import open_audit_log, open_bus, open_complaint_store, open_seller_directory
    from complaints.readers import open_table
    from complaints.service import ComplaintService, Topics
    from sweep.people import Actor, Role
    from sweep.settings import get_settings

    names = get_settings().topics
    bus = open_bus() if stream else None
    topics = Topics(names.complaints, names.deadletter) if stream else None
    service = ComplaintService(open_complaint_store(), open_seller_directory(), open_audit_log(), bus, topics)
    t0 = time.perf_counter()
    index_size = len(service.index)
    t_index = time.perf_counter() - t0
    t1 = time.perf_counter()
    report = service.import_table(open_table(csv_path), Actor("bench", Role.operator))
    publish_s = time.perf_counter() - t1
    created, matched = report.created, report.matched
    if bus is not None:
        from consumers.complaints import drain

        stats = drain(bus, service.writer, topics=names, rematch=False)
        created, matched = stats.counts.created, stats.counts.matched
    elapsed = time.perf_counter() - t1
    return {
        "stream": stream,
        "publish_s": round(publish_s, 1),
        "consume_s": round(elapsed - publish_s, 1),
        "rows": report.rows,
        "created": created,
        "matched": matched,
        "errors": report.error_count,
        "seconds": round(elapsed, 1),
        "rows_per_s": report.rows / elapsed,
        "index_build_s": round(t_index, 1),
        "sellers": index_size,
        "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--complaints", type=int, default=1_000_000)
    ap.add_argument("--shops", type=int, default=100_000)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--work", type=Path, default=None, help="scratch folder (default: a temp dir)")
    ap.add_argument("--stream", action="store_true", help="publish on the embedded bus, then drain the consumer")
    ap.add_argument("--one-run", nargs=2, metavar=("DATA_DIR", "CSV"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.one_run:
        print(json.dumps(one_run(Path(args.one_run[0]), Path(args.one_run[1]), args.stream)))
        return
    work = args.work or Path(tempfile.mkdtemp(prefix="bench-complaints-"))
    work.mkdir(parents=True, exist_ok=True)
    os.environ["SWEEP_PII_KEY"] = (
        os.environ.get("SWEEP_PII_KEY") or __import__("cryptography.fernet").fernet.Fernet.generate_key().decode()
    )
    base = work / "base"
    os.environ["SWEEP_DATA_DIR"] = str(base)
    from adapters import open_seller_directory

    sellers = list(make_sellers(args.shops))
    with_dir = open_seller_directory()
    for start in range(0, len(sellers), 5000):
        with_dir.observe(sellers[start : start + 5000])
    with_dir.close()
    csv_path = work / f"complaints_{args.complaints}.csv"
    write_complaints(csv_path, args.complaints, sellers)
    del sellers
    rates, peaks, results = Series("rows/s"), Series("MiB"), []
    for run in range(args.runs):
        data = work / f"run{run}"
        shutil.rmtree(data, ignore_errors=True)
        shutil.copytree(base, data)
        out = subprocess.run(
            [sys.executable, __file__, "--one-run", str(data), str(csv_path), *(["--stream"] if args.stream else [])],
            capture_output=True, text=True, check=True, env=os.environ,
        )  # fmt: skip
        result = json.loads(out.stdout.strip().splitlines()[-1])
        results.append(result)
        rates.add(result["rows_per_s"])
        peaks.add(result["peak_rss_mib"])
        print(f"run {run + 1}: {result}", flush=True)
        shutil.rmtree(data, ignore_errors=True)
    summary = {
        "complaints": args.complaints,
        "shops": args.shops,
        "rows_per_s": rates.stats(),
        "peak_rss_mib": peaks.stats(),
        "runs": results,
        "machine": machine(),
    }
    print(
        f"{'streamed ' if args.stream else ''}import+match {args.complaints:,} complaints vs {args.shops:,} shops: "
        f"{rates.summary()}; peak RSS {peaks.summary()}"
    )
    print(machine_line())
    out_dir = ROOT / "benchmarks" / "out"
    out_dir.mkdir(exist_ok=True)
    name = f"bench_complaints_{args.complaints}{'_stream' if args.stream else ''}.json"
    (out_dir / name).write_text(json.dumps(summary, ensure_ascii=False, indent=2))
    if args.work is None:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
