"""Takedown verification against the demo mall as a real HTTP server: confirm 5 leads, remove 3 of their
listings (404 and 下架 pages) and relist 1 under a new id in the same shop; the recheck job reports 3
removed, 1 relisted (with the new id), 1 still online, on the leads and on their case."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from adapters.people.operations_sql import SqlOperationsStore
from adapters.people.sql import SqlPeopleStore
from adapters.store.sqlite import SqliteLeadStore
from demomall.generator import absolutize, generate
from demomall.server import serve_in_thread
from operations import takedown
from operations.takedown import Page, TakedownOutcome
from sweep.audit import AuditEvent
from sweep.casework import Case
from sweep.models import Evidence, Finding, Lead, LeadEvent, Listing, Shop, TriageStatus
from sweep.store.operations import JobState, Trigger

DAY = timedelta(hours=24)


def lead_event(listing, family: str) -> LeadEvent:  # type: ignore[no-untyped-def]
    finding = Finding(
        platform=listing.platform,
        listing_id=listing.listing_id,
        family=family,
        rule_id=f"{family}/demo",
        severity="high",
        evidence=[Evidence(field="title", text=listing.title[:2], start=0, end=2)],
        legal_basis="测试",
    )
    return LeadEvent.of(finding, listing, datetime(2026, 11, 1, tzinfo=UTC))


@pytest.fixture
def world(tmp_path: Path):  # type: ignore[no-untyped-def]
    mall = generate(300, 7)
    server = serve_in_thread(mall)
    leads = SqliteLeadStore(tmp_path / "leads.sqlite")
    people = SqlPeopleStore(f"sqlite:///{tmp_path / 'people.sqlite'}")
    ops = SqlOperationsStore(f"sqlite:///{tmp_path / 'people.sqlite'}")
    yield mall, server, leads, people, ops
    server.stop()
    ops.close()


def test_recheck_reports_removed_relisted_and_online(world) -> None:  # type: ignore[no-untyped-def]
    mall, server, leads, people, ops = world
    chosen = [it for it in mall.items if it.families and not it.client_rendered][:5]
    ids = [it.listing.listing_id for it in chosen]
    events = [lead_event(absolutize(it.listing, server.base_url), sorted(it.families)[0]) for it in chosen]
    leads.apply_events(events)
    for e in events:
        leads.set_status(e.lead_id, TriageStatus.confirmed)
    by_listing = {e.finding.listing_id: e.lead_id for e in events}
    case = Case(
        title="剧毒化学品", owner="officer", region="540100", created_by="officer", created_at=datetime.now(UTC)
    )
    case.lead_ids = [by_listing[ids[3]], by_listing[ids[4]]]
    case = people.create_case(
        case,
        [AuditEvent(actor="officer", role="officer", action="case.create", resource_type="case", resource_id="new")],
    )

    # the shop takes down 3 listings and relists 1 under a new id
    later = mall.evolve(remove=ids[:3], relist=[ids[3]], seed=1)
    server.replace(later)
    new_id = later.changes.relisted[ids[3]]
    assert sorted(later.changes.removed.values()) == ["404", "404", "delisted"]

    decided = datetime.now(UTC)
    assert takedown.due_leads(leads, people, ops, now=decided + timedelta(hours=1), after=DAY) == []
    due = takedown.due_leads(leads, people, ops, now=decided + DAY + timedelta(minutes=1), after=DAY)
    assert sorted(lead.listing_id for lead in due) == sorted(ids)

    report = takedown.recheck(ops, due, people=people, requested_by="officer", now=decided + DAY)
    outcome = {c.listing_id: c.outcome for c in report.checks}
    assert outcome == {
        ids[0]: TakedownOutcome.REMOVED,
        ids[1]: TakedownOutcome.REMOVED,
        ids[2]: TakedownOutcome.REMOVED,
        ids[3]: TakedownOutcome.RELISTED,
        ids[4]: TakedownOutcome.ONLINE,
    }
    assert report.summary == {"online": 1, "removed": 3, "relisted": 1, "unreachable": 0}
    (relisted,) = [c for c in report.checks if c.outcome is TakedownOutcome.RELISTED]
    assert relisted.relisted_id == new_id
    assert relisted.relisted_url == f"{server.base_url}/item/{new_id}.html"
    assert relisted.similarity == 100.0

    # recorded on the leads ...
    stored = ops.takedown_checks([by_listing[i] for i in ids])
    assert {stored[by_listing[i]][0].outcome for i in ids[:3]} == {TakedownOutcome.REMOVED}
    assert stored[by_listing[ids[3]]][0].case_ids == [case.id]
    # ... on the case, as a note ...
    (note,) = people.get_case(case.id).notes
    assert ids[3] in note.text and new_id in note.text and "换链接重新上架" in note.text and "仍在售" in note.text
    # ... and as a finished job with the takedown trigger
    job = ops.get_job(report.job_id)
    assert (job.trigger, job.state, job.requested_by) == (Trigger.TAKEDOWN, JobState.FINISHED, "officer")
    assert job.stats.listings == 5 and job.stats.listings_removed == 4
    # one recheck per decision
    assert takedown.due_leads(leads, people, ops, now=decided + 3 * DAY, after=DAY) == []


def test_a_similar_listing_at_another_price_or_in_another_company_is_not_a_relisting() -> None:
    assert takedown.same_price(98.0, 100.0) is True  # within 5 %
    assert takedown.same_price(90.0, 100.0) is False
    assert takedown.same_price(None, None) is True
    assert takedown.same_price(None, 10.0) is False
    assert takedown.normalise("ＡＢ ，c 氰化钠！") == "abc氰化钠"
    assert takedown.similarity("氰化钠 500g", "剧毒 实验室用", "氰化钠500G", "剧毒，实验室用") == 100.0
    assert takedown.similarity("氰化钠 500g", None, "硝酸铵 25kg", None) < 50


def test_unreachable_pages_conclude_nothing(world) -> None:  # type: ignore[no-untyped-def]
    mall, server, leads, _people, ops = world
    item = next(it for it in mall.items if it.families and not it.client_rendered)
    event = lead_event(absolutize(item.listing, server.base_url), sorted(item.families)[0])
    leads.apply_events([event])
    lead = leads.set_status(event.lead_id, TriageStatus.confirmed)

    def down(url: str) -> Page:
        return Page(url, None, error="connection refused")

    report = takedown.recheck(ops, [lead], fetch=down, now=datetime.now(UTC) + DAY)
    assert report.summary["unreachable"] == 1
    assert ops.get_job(report.job_id).stats.errors == {"unreachable": 1}
    # still due: an unreachable page is no answer
    assert [x.lead_id for x in takedown.due_leads(leads, None, ops, now=datetime.now(UTC) + DAY, after=DAY)] == [
        lead.lead_id
    ]


def test_cli_recheck_and_show(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SWEEP_PEOPLE_URL", raising=False)  # this test's own data dir, not a shared server
    from typer.testing import CliRunner

    from adapters import open_lead_store
    from app.cli.main import app as cli
    from sweep.settings import get_settings

    mall = generate(300, 7)
    with serve_in_thread(mall) as server:
        store = open_lead_store(get_settings())
        chosen = [it for it in mall.items if it.families and not it.client_rendered][:2]
        events = [lead_event(absolutize(it.listing, server.base_url), sorted(it.families)[0]) for it in chosen]
        store.apply_events(events)
        for e in events:
            store.set_status(e.lead_id, TriageStatus.confirmed)
        store.close()
        gone, kept = (e.finding.listing_id for e in events)
        server.replace(mall.evolve(remove=[gone], removal="delisted", seed=2))
        runner = CliRunner()
        assert runner.invoke(cli, ["takedown", "recheck"]).exit_code == 2
        assert runner.invoke(cli, ["takedown", "recheck", "no-such-lead"]).exit_code == 1
        done = runner.invoke(cli, ["takedown", "recheck", *[e.lead_id for e in events], "--json"])
        assert done.exit_code == 0, done.output
        assert '"outcome":"removed"' in done.output and '"outcome":"online"' in done.output
        shown = runner.invoke(cli, ["takedown", "show", events[0].lead_id])
        assert shown.exit_code == 0 and '"outcome":"removed"' in shown.output and gone in shown.output
        assert kept not in shown.output
        # decided just now: nothing is due before the configured delay (24 h)
        assert runner.invoke(cli, ["takedown", "due"]).output.strip().endswith("0 due")
        watched = runner.invoke(cli, ["takedown", "watch", "--once"])
        assert watched.exit_code == 0 and "job " not in watched.output  # claimed the period, nothing due


def test_periodic_passes_are_claimed_once_per_period(world) -> None:  # type: ignore[no-untyped-def]
    mall, server, leads, people, ops = world
    item = next(it for it in mall.items if it.families and not it.client_rendered)
    event = lead_event(absolutize(item.listing, server.base_url), sorted(item.families)[0])
    leads.apply_events([event])
    leads.set_status(event.lead_id, TriageStatus.confirmed)
    now = datetime.now(UTC) + DAY + timedelta(minutes=5)
    hour = timedelta(hours=1)

    first = takedown.takedown_pass(ops, leads, people, now=now, after=DAY, every=hour, claimer="a")
    second = takedown.takedown_pass(ops, leads, people, now=now, after=DAY, every=hour, claimer="b")
    assert first is not None and first.summary["online"] == 1
    assert second is None  # the other watcher had this period
    (fire,) = ops.fires(takedown.TAKEDOWN_PASS_SCHEDULE)
    assert fire == (takedown.period_start(now, hour), "a", first.job_id)
    # the next period: claimed, but nothing is due any more (one recheck per decision)
    assert takedown.takedown_pass(ops, leads, people, now=now + hour, after=DAY, every=hour, claimer="b") is None
    assert len(ops.fires(takedown.TAKEDOWN_PASS_SCHEDULE)) == 2
    assert takedown.period_start(datetime(2026, 12, 1, 10, 59, 59, tzinfo=UTC), hour) == datetime(
        2026, 12, 1, 10, 0, tzinfo=UTC
    )


def _item_html(listing_id: str, title: str, desc: str, price: str, shop_id: str) -> str:
    return (
        f'<main class="item" data-listing-id="{listing_id}"><h1 class="item-title">{title}</h1>'
        f'<div class="price">¥<span class="price-value">{price}</span></div>'
        f'<a class="shop" href="/shop/{shop_id}.html" data-shop-id="{shop_id}">店</a>'
        f'<section class="desc"><h2>详情</h2><p>{desc}</p></section></main>'
    )


def _cards(cards: list[tuple[str, str, str]]) -> str:
    """Listing cards as the demo mall's shop and search pages show them: (listing id, title, shop id)."""
    return "".join(
        f'<li class="item-card" data-id="{lid}"><a class="item-link" href="/item/{lid}.html">'
        f'<span class="card-title">{title}</span></a><a class="card-shop" href="/shop/{shop}.html">进店</a></li>'
        for lid, title, shop in cards
    )


def _shop_html(shop_id: str, uscc: str, cards: list[tuple[str, str]]) -> str:
    items = _cards([(lid, title, shop_id) for lid, title in cards])
    return (
        f'<main class="shop" data-shop-id="{shop_id}"><dl class="licence"><dd class="uscc">{uscc}</dd></dl>'
        f'<ul class="items">{items}</ul></main>'
    )


def test_relisting_in_another_shop_of_the_same_company_and_not_of_another_company() -> None:
    """Hand-made pages: the listing is gone from shop A; shop B of the same company (same USCC) offers it
    again as N1; shop C of another company offers the same text as N2 — a copy, not a relisting."""
    site = "http://mall.test"
    title, desc = "氰化钠 98% 500g 工业级", "电镀用，现货速发，量大从优，可开增值税发票。"
    uscc_a, uscc_other = "91540100MA6T000001", "91540100MA6T000002"
    pages = {
        f"{site}/item/OLD.html": Page(f"{site}/item/OLD.html", 404, "<h1>404 页面不存在</h1>"),
        f"{site}/shop/A.html": Page(f"{site}/shop/A.html", 200, _shop_html("A", uscc_a, [])),
        f"{site}/shop/B.html": Page(f"{site}/shop/B.html", 200, _shop_html("B", uscc_a, [("N1", title)])),
        f"{site}/shop/C.html": Page(f"{site}/shop/C.html", 200, _shop_html("C", uscc_other, [("N2", title)])),
        f"{site}/item/N1.html": Page(f"{site}/item/N1.html", 200, _item_html("N1", title, desc, "120.00", "B")),
        f"{site}/item/N2.html": Page(f"{site}/item/N2.html", 200, _item_html("N2", title, desc, "120.00", "C")),
    }
    search = f'<ul class="items">{_cards([("N2", title, "C"), ("N1", title, "B")])}</ul>'
    fetched: list[str] = []

    def fetch(url: str) -> Page:
        fetched.append(url)
        if url.startswith(f"{site}/search?q="):
            return Page(url, 200, search)
        return pages.get(url, Page(url, 404, ""))

    listing = Listing(
        platform="demo-mall",
        listing_id="OLD",
        title=title,
        description=desc,
        price=120.0,
        url=f"{site}/item/OLD.html",
        shop=Shop(shop_id="A", name="A店", licence_no=uscc_a),
    )
    lead = Lead.from_event(lead_event(listing, "chem.toxic"))
    check = takedown.check_lead(lead, fetch, takedown.DemoMallProfile(), now=datetime.now(UTC))
    assert check.outcome is TakedownOutcome.RELISTED
    assert (check.relisted_id, check.relisted_url) == ("N1", f"{site}/item/N1.html")
    assert f"{site}/item/N2.html" not in fetched  # another company's copy is not even fetched

    other_company = lead.model_copy(
        update={"listing": lead.listing.model_copy(update={"shop_licence_no": "91540100MA6T000009"})}
    )
    check = takedown.check_lead(other_company, fetch, takedown.DemoMallProfile(), now=datetime.now(UTC))
    assert check.outcome is TakedownOutcome.REMOVED  # neither B nor C is this company
