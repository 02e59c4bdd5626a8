"""Hostile listing text through every command that prints listings or leads.

Titles, shop names and descriptions are written by whoever runs the shop. Whatever they contain —
escape sequences (screen clear, window title, OSC-8 links), Rich markup, bidi overrides, NULs, C1
controls, lone surrogates, 100 kB of text — the commands exit normally and what reaches the terminal
has no ESC, no control character other than a line feed, no bidi or invisible format character, and
lines no wider than the terminal. JSON outputs stay faithful: they decode to the crawled text itself.
"""

from __future__ import annotations

import io
import logging
import re
import shutil
import unicodedata
from datetime import UTC, datetime
from pathlib import Path

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from rich.cells import cell_len
from rich.console import Console
from typer.testing import CliRunner

from adapters import open_lead_store
from app.cli import leads as leads_cli
from app.cli.demo import crawl_table, mall_failure, summary_table
from app.cli.main import app
from rules.loader import DEFAULT_BOOK, DEFAULT_CATALOGS
from sweep.models import Evidence, Finding, Lead, LeadEvent, Listing, Shop
from sweep.settings import get_settings
from sweep.store import LeadSearchResult
from sweep.text import MESSAGE_LIMIT

WIDTH = 120
RULES_WIDTH = 220  # `sweep rules` prints 220 columns wide when not on a terminal

NASTY: dict[str, str] = {
    "screen clear": "\x1b[2J\x1b[H\x1b[3J清屏",
    "window title": "\x1b]0;伪造的窗口标题\x07窗口",
    "osc-8 link": "\x1b]8;;http://evil.example/\x1b\\官方旗舰店\x1b]8;;\x1b\\",
    "osc unterminated": "\x1b]8;;http://evil.example/未结束",
    "sgr and cursor": "\x1b[31;1m红\x1b[0m\x1b[10A\x1b[2K\x1b7\x1bc",
    "rich close": "[/]",
    "rich style": "[bold red]红字[/bold red]",
    "rich link": "[link=http://evil.example]链接[/link]",
    "rich unbalanced": "[/bold] [/link] [ [[]] \\[x]",
    "rich emoji code": ":warning: :thumbs_up:",
    "bidi override": "\u202e品牌正品\u202c \u202dLTR\u202c",
    "bidi isolates": "\u2066甲\u2069\u2067乙\u2069\u2068丙\u2069",
    "zero width": "氰\u200b化\u200d钠\u2060\ufeff\u00ad",
    "nul and c0": "N\x00U\x01L\x07L\x08\x0b\x0c\x7f",
    "c1 controls": "\x9b31mC1\x9d0;t\x9c\x85下一行\x90q\x9c",
    "line breaks": "第一行\n第二行\r\n第三行\r第四行\t制表\u2028\u2029",
    "zalgo": "Z" + "\u0301" * 200,
    "long cjk": "氰" * 100_000,
    "long ascii": "A" * 100_000,
    "long markup": "[/]" * 30_000,
    "long escapes": "\x1b[2J" * 20_000 + "尾",
}
NASTY["everything"] = "".join(v[:200] for v in NASTY.values())
CASES = list(NASTY.items())

_ALLOWED_SGR = re.compile(r"\x1b\[[0-9;]*m")


def assert_terminal_safe(output: str, *, width: int | None = None) -> None:
    """No ESC, no control (Cc) other than LF, no format (Cf: bidi, zero-width) or surrogate (Cs)
    character, no line separator, and when `width` is given no line wider than it."""
    assert "\x1b" not in output
    bad = sorted(
        {
            f"U+{ord(c):04X}"
            for c in output
            if c != "\n" and (unicodedata.category(c) in ("Cc", "Cf", "Cs") or c in "\u2028\u2029")
        }
    )
    assert not bad, f"terminal-acting characters in the output: {bad}"
    if width is not None:
        widest = max((cell_len(line) for line in output.splitlines()), default=0)
        assert widest <= width, f"a line is {widest} columns wide"


def assert_faithful_json_line(line: str) -> dict:
    """A JSON line as scripts get it: it parses, and nothing in it acts on a terminal."""
    assert_terminal_safe(line)
    return orjson.loads(line)


def hostile_listing(listing_id: str, nasty: str) -> Listing:
    """A listing that the rulebook reports (氰化钠) with `nasty` in every free-text field."""
    return Listing(
        platform="demo-mall",
        listing_id=listing_id,
        title=f"出售高纯氰化钠 98% {nasty}",
        description=f"{nasty} 现货供应氰化钠",
        category=nasty[:300],
        shop=Shop(shop_id=f"S-{listing_id}", name=nasty, region=nasty[:300], licence_no=nasty[:300]),
        attributes={"品名": nasty},
    )


def hostile_event(listing_id: str, nasty: str) -> LeadEvent:
    listing = hostile_listing(listing_id, nasty)
    finding = Finding(
        platform=listing.platform,
        listing_id=listing_id,
        family="chem.toxic",
        rule_id="chem.toxic/catalog",
        severity="high",
        evidence=[
            Evidence(field="title", text="氰化钠", start=4, end=7, matched="氰化钠 CAS 143-33-9"),
            Evidence(field="description", text=nasty, start=0, end=len(nasty), matched=nasty[:100]),
        ],
        legal_basis="危险化学品安全管理条例",
        title_zh="剧毒化学品",
    )
    return LeadEvent.of(finding, listing, datetime(2026, 11, 1, tzinfo=UTC))


def _invoke(args: list[str], **kw):  # type: ignore[no-untyped-def]
    return CliRunner().invoke(app, args, env={"COLUMNS": str(WIDTH)}, **kw)


def _jsonl(path: Path, docs: list[dict]) -> Path:
    path.write_bytes(b"\n".join(orjson.dumps(d) for d in docs) + b"\n")
    return path


# --- sweep leads -------------------------------------------------------------------------------------


@pytest.mark.parametrize(("name", "nasty"), CASES, ids=[name for name, _ in CASES])
def test_leads_search_show_and_triage(name: str, nasty: str) -> None:
    event = hostile_event("H1", nasty)
    with open_lead_store(get_settings()) as store:
        store.apply_events([event])

    for args in (["leads", "search"], ["leads", "search", "氰化钠"]):  # the second one highlights the title
        result = _invoke(args)
        assert result.exit_code == 0, result.output
        assert_terminal_safe(result.output, width=WIDTH)
        assert event.lead_id in result.output

    as_json = _invoke(["leads", "search", "--json"])
    assert as_json.exit_code == 0, as_json.output
    (row,) = [assert_faithful_json_line(line) for line in as_json.stdout.splitlines()]
    with open_lead_store(get_settings()) as store:
        stored = store.get(event.lead_id)
    assert stored is not None and nasty.startswith(stored.listing.shop_name[:20])
    assert row["listing"]["shop_name"] == stored.listing.shop_name  # faithful: the stored text, escaped as JSON

    shown = _invoke(["leads", "show", event.lead_id])
    assert shown.exit_code == 0, shown.output
    assert_terminal_safe(shown.output, width=WIDTH)

    note = nasty.replace("\x00", "")[:5000]  # an argv cannot carry NUL
    triaged = _invoke(["leads", "triage", event.lead_id, "--status", "confirmed", "--note", note])
    assert triaged.exit_code == 0, triaged.output
    assert_terminal_safe(triaged.output, width=WIDTH)


def test_what_staff_see_of_a_hostile_lead() -> None:
    """Hand-written expectation: the cleaned text is shown, markup as its own characters."""
    nasty = "\x1b]8;;http://evil.example/\x1b\\官方\u202e旗舰店\x1b]8;;\x1b\\ [bold]正品[/]\x1b[2J"
    event = hostile_event("H2", nasty)
    with open_lead_store(get_settings()) as store:
        store.apply_events([event])
    shown = _invoke(["leads", "show", event.lead_id])
    assert "官方旗舰店 [bold]正品[/]" in shown.output
    assert "evil.example" not in shown.output


def test_a_100kb_title_is_one_bounded_cell() -> None:
    event = hostile_event("H3", "氰" * 100_000)
    with open_lead_store(get_settings()) as store:
        store.apply_events([event])
    result = _invoke(["leads", "show", event.lead_id])
    assert result.exit_code == 0
    assert "（另有 " in result.output  # the visible truncation marker (the table may fold it)
    assert result.output.count("氰") < 2_000


def test_styled_output_on_a_colour_terminal_carries_only_colour_codes(monkeypatch: pytest.MonkeyPatch) -> None:
    """On a real terminal Rich writes its own SGR colour codes; nothing else may come through."""
    event = hostile_event("H4", NASTY["everything"])
    with open_lead_store(get_settings()) as store:
        store.apply_events([event])
    monkeypatch.setattr(leads_cli, "console", Console(force_terminal=True, color_system="truecolor", width=WIDTH))
    for args in (["leads", "search", "氰化钠"], ["leads", "show", event.lead_id]):
        result = _invoke(args)
        assert result.exit_code == 0, result.output
        assert "\x1b[" in result.output  # colours are on
        assert_terminal_safe(_ALLOWED_SGR.sub("", result.output), width=WIDTH)


def _render(renderable: object) -> str:
    out = io.StringIO()
    Console(file=out, width=WIDTH, color_system=None).print(renderable)
    return out.getvalue()


@pytest.mark.parametrize("surrogate", ["\ud800", "\udfff", "a\udc80b", "\ud83d"])
def test_lone_surrogates_from_a_search_engine_render(surrogate: str) -> None:
    """orjson and the SQLite store refuse lone surrogates, but a search engine's JSON client may decode
    `"\\ud800"` into one; printing it would raise UnicodeEncodeError. It is shown as U+FFFD."""
    lead = Lead.from_event(hostile_event("H6", "x"))
    listing = lead.listing.model_copy(update={"title": f"出售氰化钠{surrogate}", "shop_name": surrogate})
    lead = lead.model_copy(update={"listing": listing, "note": surrogate})
    result = LeadSearchResult(total=1, leads=[lead], facets={"shop": {surrogate: 1}}, highlights={})
    for renderable in (leads_cli.lead_detail(lead), leads_cli.leads_table(result, "t"), leads_cli.facets_table(result)):
        text = _render(renderable)
        text.encode("utf-8")  # would raise on a surrogate
        assert_terminal_safe(text, width=WIDTH)
    assert "出售氰化钠" + re.sub("[\ud800-\udfff]", "\ufffd", surrogate) in _render(leads_cli.lead_detail(lead))


_FRAGMENTS = st.sampled_from([v[:300] for v in NASTY.values()] + ["氰化钠", "<em>", "</em>", "&lt;", "&amp;"])
_ANY_CHAR = st.characters(exclude_categories=())  # every code point, lone surrogates included
hostile_strings = st.lists(st.one_of(_FRAGMENTS, st.text(_ANY_CHAR, max_size=30)), max_size=12).map("".join)


@settings(max_examples=150, deadline=None, database=None, derandomize=True)
@given(title=hostile_strings, shop=hostile_strings, evidence=hostile_strings, highlight=hostile_strings)
def test_leads_rendering_property(title: str, shop: str, evidence: str, highlight: str) -> None:
    """Any text at all in any field of a lead (and in the store's highlight fragment) renders safely."""
    lead = Lead.from_event(hostile_event("P1", "x"))
    listing = lead.listing.model_copy(update={"title": title, "shop_name": shop, "region": evidence})
    ev = [Evidence(field=evidence[:20], text=evidence, start=0, end=1, matched=shop)]
    lead = lead.model_copy(update={"listing": listing, "evidence": ev, "note": title})
    result = LeadSearchResult(
        total=1,
        leads=[lead],
        facets={"shop": {shop: 1}, "region": {evidence: 2}},
        highlights={lead.lead_id: {"title": [highlight]}},
    )
    for renderable in (
        leads_cli.lead_detail(lead),
        leads_cli.leads_table(result, title),
        leads_cli.facets_table(result),
    ):
        assert_terminal_safe(_render(renderable), width=WIDTH)


# --- sweep scan --------------------------------------------------------------------------------------


@pytest.mark.parametrize(("name", "nasty"), CASES, ids=[name for name, _ in CASES])
def test_scan_report_and_findings(tmp_path: Path, name: str, nasty: str) -> None:
    path = _jsonl(tmp_path / "listings.jsonl", [hostile_listing("S1", nasty).model_dump(mode="json")])
    result = _invoke(["scan", str(path)])
    assert result.exit_code == 0, result.output
    assert_terminal_safe(result.stderr, width=WIDTH)
    findings = [assert_faithful_json_line(line) for line in result.stdout.splitlines()]
    assert "chem.toxic" in {f["family"] for f in findings}
    listing = hostile_listing("S1", nasty)
    for f in findings:  # evidence still indexes the crawled text exactly
        for e in f["evidence"]:
            field = getattr(listing, e["field"], None)
            if isinstance(field, str):
                assert field[e["start"] : e["end"]] == e["text"]


def test_scan_bad_lines_quote_the_input_cleaned(tmp_path: Path) -> None:
    nasty = NASTY["everything"]
    lines = [
        orjson.dumps({"platform": "p", "listing_id": "B1", "title": "x", "attributes": {nasty: 1}}),  # key in loc
        orjson.dumps({"platform": "p", "listing_id": "B2", "title": "x", "price": nasty}),
        b'{"platform": "p", "listing_id": "B3", "title": "\\ud800"}',  # a lone surrogate: not valid JSON
        b"\x1b[2J\x1b]0;t\x07 not json",
        orjson.dumps({"platform": "p", "listing_id": "B4", "title": "A" * 100_000, "shop": {"name": 7}}),
    ]
    path = tmp_path / ("bad\x1b[2J.jsonl")
    path.write_bytes(b"\n".join(lines) + b"\n")
    result = _invoke(["scan", str(path)])
    assert result.exit_code == 1  # lines were skipped
    assert len(re.findall("^skipped ", result.stderr, flags=re.MULTILINE)) == 5
    assert "bad.jsonl:1: field attributes." in result.stderr
    assert "bad.jsonl:3: not valid JSON" in result.stderr
    assert_terminal_safe(result.stderr)
    for line in result.stderr.splitlines():  # soft-wrapped messages: bounded by the message limit
        assert cell_len(line) <= 2 * MESSAGE_LIMIT


# --- sweep rules -------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def book_without_chem(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("book")
    shutil.copytree(DEFAULT_BOOK, root / "book")
    shutil.copytree(DEFAULT_CATALOGS, root / "catalogs")
    (root / "book" / "chem.yaml").unlink()
    return root


@pytest.mark.parametrize(("name", "nasty"), CASES, ids=[name for name, _ in CASES])
def test_rules_explain_backtest_and_diff(tmp_path: Path, book_without_chem: Path, name: str, nasty: str) -> None:
    listing = hostile_listing("R1", nasty).model_dump(mode="json")
    one = tmp_path / "one.json"
    one.write_bytes(orjson.dumps(listing))
    labelled = _jsonl(tmp_path / "labelled.jsonl", [{**listing, "families": ["food.sanwu"]}])  # an FP and an FN
    runs = {
        "explain": ["rules", "explain", str(one)],
        "explain --hits": ["rules", "explain", str(one), "--hits"],
        "backtest": ["rules", "backtest", str(labelled)],
        "diff": ["rules", "diff", str(DEFAULT_BOOK.parent), str(book_without_chem), str(labelled)],
    }
    for what, args in runs.items():
        result = _invoke(args)
        assert result.exit_code == 0, f"{what}: {result.output}"
        assert_terminal_safe(result.output, width=RULES_WIDTH)
    backtest = _invoke(["rules", "backtest", str(labelled)])
    assert "误判" in backtest.output and "误报" in backtest.output and "漏报" in backtest.output
    diff = _invoke(runs["diff"])
    assert "消失" in diff.output

    for args in (["rules", "explain", str(one), "--json"], ["rules", "backtest", str(labelled), "--json"]):
        result = _invoke(args)
        assert result.exit_code == 0
        assert_terminal_safe(result.stdout)
    mistakes = orjson.loads(_invoke(["rules", "backtest", str(labelled), "--json"]).stdout)["mistakes"]
    assert {m["title"] for m in mistakes} == {listing["title"]}  # faithful


def test_rules_explain_markup_in_a_title_prints_as_text(tmp_path: Path) -> None:
    one = tmp_path / "one.json"
    one.write_bytes(orjson.dumps({"platform": "p", "listing_id": "1", "title": "出售氰化钠 [/] [bold]现货[/bold]"}))
    result = _invoke(["rules", "explain", str(one), "--hits"])
    assert result.exit_code == 0, result.output
    assert "p:1 出售氰化钠 [/] [bold]现货[/bold]" in result.output


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (b'{"platform": "p", "listing_id": "1", "title": 5, "\\u001b[2J": 1}', "field title"),
        (b'{"platform": "p", "listing_id": "1", "attributes": {"\\u001b]0;t\\u0007": 1}, "title": "x"}', "attributes"),
        (b"\x1b]0;title\x07 not json", "not valid JSON"),
        (b"[1, 2]", "expected a JSON object"),
    ],
)
def test_rules_bad_listing_files_are_one_clean_error(tmp_path: Path, content: bytes, expected: str) -> None:
    path = tmp_path / "bad.json"
    path.write_bytes(content)
    for args in (["rules", "explain", str(path)], ["rules", "backtest", str(path)]):
        result = _invoke(args)
        assert result.exit_code == 1, result.output
        assert "商品文件无法读取" in result.output and expected in result.output
        assert "Traceback" not in result.output
        assert_terminal_safe(result.output, width=RULES_WIDTH)


# --- sweep demo (the summary, without a crawl) ---------------------------------------------------------


def test_demo_summary_and_failure_report(tmp_path: Path) -> None:
    truth = _jsonl(tmp_path / "truth.jsonl", [{"listing_id": NASTY["everything"], "families": ["chem.toxic"]}])
    log = tmp_path / "demo-mall.log"
    log.write_text("starting\n" + NASTY["everything"] + "\nTraceback: boom\x1b[2J\n", encoding="utf-8")

    class Stats:
        pages, browser_pages, listings, findings, invalid, errors, seconds = 3, 1, 2, 1, 0, 0, 1.25

    counts = {"chem.toxic": 1, NASTY["everything"]: 9}
    for renderable in (
        crawl_table(Stats()),
        summary_table(counts, truth),
        mall_failure(RuntimeError(NASTY["osc-8 link"]), log),
    ):
        assert_terminal_safe(_render(renderable), width=WIDTH)
    failure = _render(mall_failure(RuntimeError("exited with code 3"), log))
    assert "exited with code 3" in failure and "demo-mall.log" in failure and "Traceback: boom" in failure


# --- logs (the spider's, under `sweep crawl`/`sweep demo`; the indexer's, under `sweep consume`) ---------


def test_log_messages_quoting_crawled_text_are_cleaned() -> None:
    """Scrapy formats with its own handler; the cleaning sits in the log records themselves."""
    from app.cli.display import TerminalSafeFormatter, clean_log_messages

    out = io.StringIO()
    handler = logging.StreamHandler(out)
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))  # like Scrapy's
    log = logging.getLogger("sweep.test.hostile")
    log.addHandler(handler)
    log.propagate = False
    previous = logging.getLogRecordFactory()
    try:
        clean_log_messages()
        nasty = NASTY["everything"]
        log.warning("invalid listing dropped url=%s: %s", nasty, ValueError(nasty))
        log.warning(NASTY["long escapes"])
    finally:
        logging.setLogRecordFactory(previous)
        log.removeHandler(handler)
    assert_terminal_safe(out.getvalue())
    assert out.getvalue().startswith("WARNING sweep.test.hostile: invalid listing dropped url=清屏窗口官方旗舰店")
    assert out.getvalue().endswith("WARNING sweep.test.hostile: 尾\n")

    record = logging.LogRecord("x", logging.WARNING, __file__, 1, "dead-lettered: %s", (nasty,), None)
    assert_terminal_safe(TerminalSafeFormatter("%(message)s").format(record))
