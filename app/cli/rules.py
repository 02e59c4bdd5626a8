"""`sweep rules ...`: analyst tools for the rulebook.

The commands are thin: loading, linting, backtesting and diffing live in importable modules
(`rules.loader`, `rules.lint`, `rules.backtest`) so notebooks and tests use the same code.

Explain, backtest, diff and test print listing text, which is crawled and hostile: every value that is
not a literal of this file reaches Rich as a cleaned `rich.text.Text` (`app.cli.display.cell`), never as
markup, so `[/]` in a title prints as itself instead of crashing the command, and escape sequences in it
never reach the terminal. A listing file that cannot be read is reported as `file:line: field ...`,
cleaned too, with exit code 1.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import orjson
import typer
from pydantic import ValidationError
from rich.console import Console
from rich.table import Table
from rich.text import Text

from app.cli.display import cell, json_line, message
from app.cli.scan import describe_validation_error
from rules.errors import RulebookError
from sweep.text import safe_text

app = typer.Typer(help="规则库工具 — lint, test, explain, backtest and diff the rulebook.", no_args_is_help=True)

BookOpt = Annotated[
    Path | None,
    typer.Option("--book", "-b", help="规则库目录（含 book/ 与 catalogs/）或 YAML 目录；默认为内置规则库"),
]


def _console() -> Console:
    """Rich console; wide when writing to a file or pipe so rule ids and evidence stay readable."""
    return Console(highlight=False, soft_wrap=False, width=None if sys.stdout.isatty() else 220)


def _load(book: Path | None):  # type: ignore[no-untyped-def]
    from rules import load_rulebook

    try:
        return load_rulebook(book)
    except RulebookError as exc:
        _console().print(message("规则库加载失败", exc))
        raise typer.Exit(2) from exc


class BadListingFile(Exception):
    """A listing file line that is not a listing; the message names file:line and the field."""


@contextmanager
def _reading(path: Path) -> Iterator[None]:
    """Turn a malformed listing file into one cleaned error line and exit code 1 instead of a traceback
    (a traceback would quote the hostile input raw)."""
    from rules.backtest import BadJsonLine

    try:
        yield
    except (BadListingFile, BadJsonLine) as exc:
        _console().print(message("商品文件无法读取", exc))
        raise typer.Exit(1) from None
    except orjson.JSONDecodeError as exc:
        _console().print(message("商品文件无法读取", f"{path}: not valid JSON ({exc})"))
        raise typer.Exit(1) from None
    except ValidationError as exc:
        _console().print(message("商品文件无法读取", f"{path}: {describe_validation_error(exc)}"))
        raise typer.Exit(1) from None


@app.command("lint")
def lint_cmd(book: BookOpt = None, strict: Annotated[bool, typer.Option(help="警告也视为失败")] = False) -> None:
    """检查规则库：模式校验、重复 id、不可达/从未起作用的排除条件、目录引用。"""
    from rules.lint import lint

    con = _console()
    try:
        problems = lint(book)
    except RulebookError as exc:
        con.print(message("错误", exc))
        raise typer.Exit(1) from exc
    if not problems:
        con.print(Text("规则库检查通过", style="green"))
        return
    table = Table(title="规则库检查")
    for col in ("级别", "位置", "规则", "问题"):
        table.add_column(col)
    for p in problems:
        table.add_row(
            cell("错误", "red") if p.level == "error" else cell("警告", "yellow"),
            cell(p.where),
            cell(p.rule_id),
            cell(p.message),
        )
    con.print(table)
    if any(p.level == "error" for p in problems) or strict:
        raise typer.Exit(1)


@app.command("test")
def test_cmd(book: BookOpt = None, verbose: Annotated[bool, typer.Option("--verbose", "-v")] = False) -> None:
    """运行所有规则内嵌的正反例；失败时显示文本与原因，退出码 1。"""
    rb = _load(book)
    con = _console()
    results = rb.run_examples()
    failed = [r for r in results if not r.ok]
    if failed or verbose:
        table = Table(title="规则样例" + ("（失败）" if failed and not verbose else ""))
        for col in ("结果", "规则", "位置", "期望", "文本", "原因"):
            table.add_column(col, overflow="fold")
        for r in results if verbose else failed:
            table.add_row(
                cell("通过", "green") if r.ok else cell("失败", "red"),
                cell(r.rule_id),
                cell(f"{Path(r.file).name}:{r.line}"),
                cell("命中" if r.expect == "match" else "不命中"),
                cell(r.text),
                cell(r.why),
            )
        con.print(table)
    con.print(f"{len(results)} 个样例，{len(results) - len(failed)} 通过，{len(failed)} 失败")
    if failed:
        raise typer.Exit(1)


@app.command("explain")
def explain_cmd(
    listing_file: Annotated[Path, typer.Argument(help="一条商品 JSON，或 JSONL（默认第一行，--id 指定）")],
    book: BookOpt = None,
    as_json: Annotated[bool, typer.Option("--json", help="输出 JSON")] = False,
    all_rules: Annotated[bool, typer.Option("--all/--hits", help="--hits 只列出有命中的规则")] = True,
    listing_id: Annotated[str | None, typer.Option("--id", help="JSONL 中要解释的 listing_id")] = None,
) -> None:
    """逐条说明每个规则对该商品的判断：命中了什么、被什么排除、为何未报告。"""
    from sweep.models import Listing

    rb = _load(book)
    raw = listing_file.read_bytes().strip()
    lines = raw.splitlines() if raw.startswith(b"{") and b"\n{" in raw else [raw]
    data = None
    with _reading(listing_file):
        for lineno, line in enumerate(lines, start=1):
            try:
                row = orjson.loads(line)
            except orjson.JSONDecodeError as exc:
                raise BadListingFile(f"{listing_file}:{lineno}: not valid JSON ({exc})") from None
            if not isinstance(row, dict):
                raise BadListingFile(f"{listing_file}:{lineno}: expected a JSON object, got {type(row).__name__}")
            if listing_id is None or row.get("listing_id") == listing_id:
                data = row
                break
        if data is None:
            _console().print(cell(f"找不到 listing_id={listing_id}", "red"))
            raise typer.Exit(1)
        data.pop("families", None)
        listing = Listing.model_validate(data)
    exp = rb.explain(listing)
    if as_json:
        json_line(exp, indent=True)
        return
    con = _console()
    con.print(Text.assemble(cell(f"{listing.platform}:{listing.listing_id}", "bold"), " ", cell(listing.title)))
    table = Table(title="规则判断")
    for col in ("规则", "类别", "状态", "命中", "排除", "说明"):
        table.add_column(col, overflow="fold")
    colors = {
        "reported": "bold green",
        "suppressed": "yellow",
        "superseded": "yellow",
        "excluded": "magenta",
        "blocked": "cyan",
        "no_match": "dim",
        "out_of_scope": "dim",
    }
    for row in exp["rules"]:
        if not all_rules and row["status"] in ("no_match", "out_of_scope"):
            continue
        matched = "；".join(f"{_q(m['field'])}「{_q(m['text'])}」" for m in row["matched"][:4])
        excluded = "；".join(f"「{_q(m['text'])}」{_q(m['reason'])}" for m in row["excluded"][:3])
        table.add_row(
            cell(row["rule_id"]),
            cell(row["family"]),
            cell(row["status"], colors.get(row["status"], "")),
            cell(matched),
            cell(excluded),
            cell(row["why"]),
        )
    con.print(table)
    reported = "，".join(f"{f['family']}（{f['rule_id']}）" for f in exp["findings"]) or "无"
    con.print(Text.assemble(("报告：", "bold"), " ", cell(reported)))


@app.command("backtest")
def backtest_cmd(
    labelled: Annotated[Path, typer.Argument(help="带标注的 JSONL（商品 + families），或配合 --truth 的商品 JSONL")],
    truth: Annotated[Path | None, typer.Option("--truth", help="真值 JSONL：{platform, listing_id, families}")] = None,
    book: BookOpt = None,
    as_json: Annotated[bool, typer.Option("--json", help="输出 JSON（供程序使用）")] = False,
    show: Annotated[int, typer.Option(help="显示的误判条数")] = 30,
) -> None:
    """回测：逐类别的精确率、召回率、F1，混淆表与误判商品。"""
    from rules.backtest import backtest, labelled_rows

    rb = _load(book)
    with _reading(labelled):
        report = backtest(rb, labelled_rows(labelled, truth))
    if as_json:
        json_line(report.to_dict(), indent=True)
        return
    con = _console()
    table = Table(title=f"回测（{report.n_listings} 条商品）")
    for col in ("类别", "精确率", "召回率", "F1", "TP", "FP", "FN", "真值数"):
        table.add_column(col, justify="right" if col != "类别" else "left")
    for fam, s in report.scores.items():
        table.add_row(
            *map(cell, (fam, f"{s.precision:.3f}", f"{s.recall:.3f}", f"{s.f1:.3f}", s.tp, s.fp, s.fn, s.support))
        )
    micro = report.micro()
    table.add_row(
        cell("合计(micro)", "bold"),
        cell(f"{micro['precision']:.3f}"),
        cell(f"{micro['recall']:.3f}"),
        cell(f"{micro['f1']:.3f}"),
        "",
        "",
        "",
        "",
    )
    con.print(table)
    conf = Table(title="混淆表（行：真值类别，列：预测类别，单元：商品数）")
    fams = sorted({p for row in report.confusion.values() for p in row})
    conf.add_column("真值\\预测")
    for f in fams:  # families come from the labels file as well as the book
        conf.add_column(cell(f.split(".")[-1][:10]), justify="right")
    for t in sorted(report.confusion):
        conf.add_row(cell(t), *[cell(report.confusion[t].get(p, "")) for p in fams])
    con.print(conf)
    if report.mistakes:
        mt = Table(title=f"误判（前 {show} 条，共 {len(report.mistakes)} 条）")
        for col in ("类型", "类别", "商品", "标题", "规则", "证据"):
            mt.add_column(col, overflow="fold")
        for m in report.mistakes[:show]:
            mt.add_row(
                cell("误报" if m.kind == "fp" else "漏报"),
                cell(m.family),
                cell(m.listing_id),
                cell(m.title),
                cell(m.rule_id),
                cell("；".join(f"{_q(e['field'])}「{_q(e['text'])}」" for e in m.evidence[:3])),
            )
        con.print(mt)


@app.command("diff")
def diff_cmd(
    old_book: Annotated[Path, typer.Argument(help="旧规则库")],
    new_book: Annotated[Path, typer.Argument(help="新规则库")],
    corpus: Annotated[Path, typer.Argument(help="商品 JSONL")],
    as_json: Annotated[bool, typer.Option("--json")] = False,
    examples: Annotated[int, typer.Option(help="每类显示的样例数")] = 3,
) -> None:
    """比较两个规则库在同一语料上的发现：新增、消失与改由其他规则报告的。"""
    from rules.backtest import diff, iter_jsonl
    from sweep.models import Listing

    old, new = _load(old_book), _load(new_book)

    def listings():  # type: ignore[no-untyped-def]
        for row in iter_jsonl(corpus):
            row.pop("families", None)
            yield Listing.model_validate(row)

    with _reading(corpus):
        report = diff(old, new, listings())
    if as_json:
        json_line(report.to_dict(), indent=True)
        return
    con = _console()
    table = Table(title=f"规则库差异（{report.n_listings} 条商品）")
    for col in ("类别", "新增", "消失", "改由其他规则"):
        table.add_column(col)
    for fam, c in sorted(report.summary().items()):
        table.add_row(cell(fam), cell(c["added"]), cell(c["removed"]), cell(c["changed_rule"]))
    con.print(table)
    for title, items in (("新增", report.added), ("消失", report.removed)):
        by_fam: dict[str, list[dict]] = {}
        for it in items:
            by_fam.setdefault(it["family"], []).append(it)
        for fam, its in sorted(by_fam.items()):
            for it in its[:examples]:
                ev = "；".join(f"{_q(e['field'])}「{_q(e['text'])}」" for e in it.get("evidence", [])[:2])
                con.print(
                    Text.assemble(
                        ("  " + title, "green" if title == "新增" else "red"),
                        " ",
                        cell(f"{fam} {_q(it['listing_id'])} {_q(it['title'])} {ev}", limit=None),
                    )
                )
    if not report.added and not report.removed and not report.changed_rule:
        con.print(Text("无差异", style="green"))


@app.command("rescan")
def rescan_cmd(
    since: Annotated[
        str, typer.Option("--since", help="重新判断多久以来抓取的商品：30d、12h、2w，或日期 2026-01-31")
    ] = "30d",
    rulebook: Annotated[
        Path | None,
        typer.Option("--rulebook", "--book", "-b", help="规则库目录；默认 SWEEP_RULEBOOK，否则为内置规则库"),
    ] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="只统计会发生的变化，不发布、不退役")] = False,
    index: Annotated[
        bool | None,
        typer.Option("--index/--no-index", help="发布后在本进程运行索引器直到空闲；默认仅在内嵌总线（无 Kafka）时"),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="输出 JSON（含线索编号）")] = False,
) -> None:
    """规则修改后重新判断已保存的商品：新规则命中的生成线索，不再命中的线索标记为“规则已退役”（保留，研判状态不变）。"""
    from adapters import open_bus, open_lead_store
    from rules.rescan import parse_since, rescan
    from sweep.models import FAMILY_LABELS_ZH
    from sweep.publishing import Publisher
    from sweep.settings import get_settings

    settings = get_settings()
    try:
        window = parse_since(since)
    except ValueError as exc:
        _console().print(message("参数错误", exc))
        raise typer.Exit(2) from exc
    rb = _load(rulebook or settings.rulebook)
    with open_bus(settings) as bus, open_lead_store(settings) as store:
        report = rescan(rb, store, None if dry_run else Publisher(bus, settings.topics), since=window)
        indexed = None
        if not dry_run and (index if index is not None else not settings.kafka):
            from consumers.indexer import Indexer

            indexed = Indexer(bus, store, topics=[settings.topics.leads, settings.topics.listings]).run(
                stop_when_idle=True, idle_s=1.0
            )
    if as_json:
        json_line(report.to_dict(), indent=True)
        return
    con = _console()
    mode = "演练，未写入" if dry_run else "已发布"
    title = f"规则重新判断（{mode}；规则库版本 {rb.version}；{report.listings} 条商品）"
    table = Table(title=cell(title))
    for col in ("类别", "名称", "新增", "恢复", "退役", "未变", "仍退役", "有更新的发现"):
        table.add_column(col, justify="left" if col in ("类别", "名称") else "right")
    for fam, c in report.families.items():
        if c.new or c.restored or c.retired or c.unchanged or c.still_retired or c.kept_newer:
            table.add_row(
                *map(cell, (fam, FAMILY_LABELS_ZH.get(fam, ""), c.new, c.restored, c.retired)),
                *map(cell, (c.unchanged, c.still_retired, c.kept_newer)),
            )
    t = report.totals()
    table.add_row(
        cell("合计", "bold"),
        "",
        *map(cell, (t.new, t.restored, t.retired, t.unchanged, t.still_retired, t.kept_newer)),
    )
    con.print(table)
    notes = [f"起始时间 {report.since.isoformat() if report.since else '全部'}"]
    if report.skipped_no_time:
        notes.append(f"{report.skipped_no_time} 条商品无抓取时间，未判断")
    if not dry_run:
        notes.append(f"发布 {report.lead_events} 条线索事件，退役 {report.retired_written} 条线索")
        if indexed is not None:
            notes.append(f"索引器：新建 {indexed.created}，更新 {indexed.updated}")
        else:
            notes.append("新增与恢复的线索在索引器消费线索主题后出现（sweep consume indexer）")
    con.print(cell("；".join(notes)))


def _q(value: object) -> str:
    """A short quote of listing text inside a composed cell (evidence, a title in a sentence)."""
    return safe_text(value, limit=80)
