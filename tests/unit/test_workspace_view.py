"""Small pure pieces of the workspace: highlight fragments reduced to <em> only, evidence marks, link
targets, cursors from URLs, region codes and names, the priority formula, and the permission table."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from sweep import permissions as perm
from sweep import regions
from sweep.models import Evidence, Lead, ListingSummary
from sweep.people import Actor, Role
from workspace.priority import priority
from workspace.view import decode_cursor, encode_cursor, marked, safe_fragment, safe_url


@pytest.mark.parametrize(
    ("fragment", "html"),
    [
        ("出售<em>氰化钠</em>现货", "出售<em>氰化钠</em>现货"),
        (
            "&lt;script&gt;alert(1)&lt;/script&gt;<em>氰化钠</em>",
            "&lt;script&gt;alert(1)&lt;/script&gt;<em>氰化钠</em>",
        ),
        ("<script>alert(1)</script><em>氰化钠</em>", "&lt;script&gt;alert(1)&lt;/script&gt;<em>氰化钠</em>"),
        ('<em onmouseover="x()">氰化钠</em>', "&lt;em onmouseover=&#34;x()&#34;&gt;氰化钠"),
        ("<em>未闭合", "<em>未闭合</em>"),
        ("多余</em>闭合", "多余闭合"),
        ("<em><em>嵌套</em></em>", "<em>嵌套</em>"),
        ("&amp;lt;b&amp;gt;", "&amp;lt;b&amp;gt;"),
    ],
)
def test_safe_fragment_keeps_only_em(fragment: str, html: str) -> None:
    assert str(safe_fragment(fragment)) == html


def test_evidence_is_marked_by_offsets_and_everything_else_escaped() -> None:
    text = "<b>出售</b>氰化钠现货"
    evidence = [Evidence(field="title", text="氰化钠", start=9, end=12, matched="氰化钠 CAS 143-33-9")]
    assert str(marked(text, evidence, "title")) == (
        '&lt;b&gt;出售&lt;/b&gt;<mark title="氰化钠 CAS 143-33-9">氰化钠</mark>现货'
    )
    assert str(marked(text, evidence, "description")) == "&lt;b&gt;出售&lt;/b&gt;氰化钠现货"
    out_of_range = [Evidence(field="title", text="x", start=50, end=60)]
    assert str(marked(text, out_of_range, "title")) == "&lt;b&gt;出售&lt;/b&gt;氰化钠现货"


@pytest.mark.parametrize(
    ("url", "target"),
    [
        ("https://mall.example/item/1", "https://mall.example/item/1"),
        ("http://mall.example/item/1", "http://mall.example/item/1"),
        ("javascript:alert(1)", None),
        (" JavaScript:alert(1)", None),
        ("data:text/html,<script>alert(1)</script>", None),
        ("vbscript:x", None),
        ("/relative/path", None),
        (None, None),
    ],
)
def test_only_http_links_are_links(url: str | None, target: str | None) -> None:
    assert safe_url(url) == target


def test_cursors_round_trip_and_junk_starts_over() -> None:
    cursor = [-3, -2, -1700000000.5, "abc"]
    assert decode_cursor(encode_cursor(cursor)) == cursor
    for junk in ("", "!!!", encode_cursor([{"a": 1}]), encode_cursor([True]), "eyJhIjoxfQ"):
        assert decode_cursor(junk) is None


@pytest.mark.parametrize(
    ("name", "code"),
    [
        ("西藏自治区拉萨市城关区", "540102"),
        ("西藏自治区拉萨市", "540100"),
        ("西藏自治区", "540000"),
        ("青海省海西蒙古族藏族自治州格尔木市", "632801"),
        ("宁夏回族自治区中卫市中宁县", "640521"),
        ("上海市", "310000"),
        ("西藏 拉萨", "540100"),
        ("火星基地", None),
        (None, None),
    ],
)
def test_region_names_map_to_codes(name: str | None, code: str | None) -> None:
    assert regions.code_for(name) == code


def test_jurisdiction_is_the_code_and_below() -> None:
    assert regions.within("540102", "540100")
    assert regions.within("540102", "540000")
    assert not regions.within("630100", "540100")
    assert not regions.within("540100", "540102")
    assert not regions.within(None, "540100")
    assert regions.within(None, regions.NATIONAL)
    assert "西藏自治区拉萨市城关区" in regions.names_under("540100")
    assert all(n.startswith("西藏自治区拉萨市") for n in regions.names_under("540100"))
    assert regions.full_name("310101") == "上海市黄浦区"


def test_actor_jurisdiction_by_code() -> None:
    officer = Actor("o", Role.officer, ("540100",))
    assert officer.covers("西藏自治区拉萨市城关区")
    assert not officer.covers("青海省西宁市")
    assert not officer.covers(None)


def lead(severity: str, times_seen: int, last_seen: datetime) -> Lead:
    return Lead(
        lead_id="x",
        platform="p",
        listing_id="l",
        family="chem.toxic",
        rule_id="r",
        severity=severity,
        listing=ListingSummary(title="t"),
        first_seen=last_seen,
        last_seen=last_seen,
        times_seen=times_seen,
    )


def test_priority_formula_as_documented() -> None:
    now = datetime(2026, 12, 1, tzinfo=UTC)
    assert priority(lead("high", 1, now), now=now) == 3.0
    assert priority(lead("high", 8, now), now=now) == 12.0
    assert priority(lead("high", 8, now), complaints=2, now=now) == 36.0
    assert priority(lead("high", 8, now - timedelta(days=28)), complaints=2, now=now) == 9.0
    assert priority(lead("low", 1, now), now=now) == 1.0


AUDITOR = Actor("a", Role.auditor, ("全国",))


def test_auditors_read_and_audit_but_change_nothing() -> None:
    assert perm.allowed(AUDITOR, perm.AUDIT_VIEW)
    assert perm.allowed(AUDITOR, perm.AUDIT_EXPORT)
    assert perm.allowed(AUDITOR, perm.LEADS_VIEW)
    for action in (perm.LEADS_TRIAGE, perm.LEADS_BULK, perm.CASES_EDIT, perm.USERS_MANAGE, perm.LEADS_EXPORT):
        assert not perm.allowed(AUDITOR, action), action
