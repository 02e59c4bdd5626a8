"""Query builders and response parsing, without a server."""

from __future__ import annotations

from datetime import UTC, datetime

from adapters.store.searchengine import detect_flavor, queries, templates
from sweep.models import Finding, Lead, LeadEvent, ListingSummary
from sweep.store.base import LeadQuery

T0 = datetime(2026, 11, 1, 8, 0, tzinfo=UTC)


def _lead() -> Lead:
    f = Finding(platform="p", listing_id="1", family="chem.toxic", rule_id="r", severity="high")
    return Lead.from_event(LeadEvent(lead_id=f.lead_id, observed_at=T0, finding=f, listing=ListingSummary(title="t")))


def test_match_all_without_criteria() -> None:
    body = queries.build_search(LeadQuery())
    assert body["query"] == {"match_all": {}}
    assert body["sort"][-1] == {"lead_id": {"order": "asc"}}
    assert "highlight" not in body
    assert set(body["aggs"]) == {"family", "severity", "status", "platform", "region", "shop", "category"}


def _phrase(query: str) -> dict:
    """The clause one word becomes: a phrase over the normalised search text or the note."""
    return {
        "bool": {
            "should": [
                {"match_phrase": {"search.text": {"query": query}}},
                {"match_phrase": {"note": {"query": query}}},
            ],
            "minimum_should_match": 1,
        }
    }


def test_text_terms_are_phrases_and_minus_excludes() -> None:
    body = queries.build_search(LeadQuery(text="氰化钠  -检测仪"))
    assert body["query"]["bool"]["must"] == [_phrase("氰化钠")]
    assert body["query"]["bool"]["must_not"] == [_phrase("检测仪")]
    hl = body["highlight"]
    assert hl["encoder"] == "html" and "listing.title" in hl["fields"]


def test_search_text_is_normalised_like_the_embedded_store() -> None:
    """Traditional, full-width and dodge separators are folded before the engine sees them."""
    must = queries.build_query(LeadQuery(text="氰化鈉 ＮａＣＮ 氰*化-钾"))["bool"]["must"]
    assert must == [_phrase("氰化钠"), _phrase("nacn"), _phrase("氰化钾")]


def test_or_phrases_exclusion_only_and_ignored_words() -> None:
    query = queries.build_query(LeadQuery(text='氰化钠 OR "高纯 氰化钾" % -检测'))
    assert query == {
        "bool": {
            "must": [{"bool": {"should": [_phrase("氰化钠"), _phrase("高纯氰化钾")], "minimum_should_match": 1}}],
            "must_not": [_phrase("检测")],
        }
    }
    assert queries.build_query(LeadQuery(text="-检测")) == {"bool": {"must_not": [_phrase("检测")]}}
    assert queries.build_query(LeadQuery(text="% OR")) == {"match_all": {}}
    assert "highlight" not in queries.build_search(LeadQuery(text="-检测"))


def test_field_filters_of_the_search_text() -> None:
    text = "family:chem.toxic family:food.sanwu -region:上海 shop:华东化工 -shop:S9"
    query = queries.build_query(LeadQuery(text=text, families=["chem.toxic"]))["bool"]
    assert query["filter"] == [
        {"terms": {"family": ["chem.toxic"]}},
        {"terms": {"family": ["chem.toxic", "food.sanwu"]}},
        {
            "bool": {
                "should": [
                    {"term": {"listing.shop_id": "华东化工"}},
                    {"match_phrase": {"search.shop": {"query": "华东化工"}}},
                ],
                "minimum_should_match": 1,
            }
        },
    ]
    assert query["must_not"] == [
        {"terms": {"listing.region": ["上海"]}},
        {
            "bool": {
                "should": [{"term": {"listing.shop_id": "S9"}}, {"match_phrase": {"search.shop": {"query": "s9"}}}],
                "minimum_should_match": 1,
            }
        },
    ]


def test_lead_document_carries_normalised_search_text() -> None:
    f = Finding(platform="p", listing_id="1", family="chem.toxic", rule_id="r", severity="high")
    listing = ListingSummary(title="出售氰化鈉 ＮａＣＮ", shop_name="華東化工", description="氰 * 化-钠")
    lead = Lead.from_event(LeadEvent(lead_id=f.lead_id, observed_at=T0, finding=f, listing=listing))
    search = queries.lead_document(lead)["search"]
    assert search == {"text": ["出售氰化钠 nacn", "氰化钠", "华东化工"], "shop": "华东化工"}


def test_filters_and_date_range() -> None:
    q = LeadQuery(
        families=["chem.toxic"],
        severities=["high"],
        statuses=["new"],
        platforms=["demomall"],
        regions=["上海"],
        categories=["chem"],
        shop="化工旗舰店",
        seen_from=T0,
        seen_to=T0,
    )
    filters = queries.build_query(q)["bool"]["filter"]
    assert {"terms": {"family": ["chem.toxic"]}} in filters
    assert {"terms": {"listing.region": ["上海"]}} in filters
    assert {"terms": {"listing.category": ["chem"]}} in filters
    assert {"range": {"last_seen": {"gte": T0.isoformat(), "lte": T0.isoformat()}}} in filters
    assert any("bool" in f and f["bool"]["should"][0] == {"term": {"listing.shop_id": "化工旗舰店"}} for f in filters)


def test_priority_sort_and_cursor() -> None:
    body = queries.build_search(LeadQuery(sort="priority", search_after=[7.5, "x"]))
    assert [next(iter(s)) for s in body["sort"]] == ["priority_key", "lead_id"]  # the stored priority, then the id
    assert body["search_after"] == [7.5, "x"]


def test_parse_search_cursor_facets_highlight() -> None:
    lead = _lead()
    response = {
        "hits": {
            "total": {"value": 7, "relation": "eq"},
            "hits": [
                {
                    "_source": queries.lead_document(lead),
                    "sort": [1, lead.lead_id],
                    "highlight": {"listing.title": ["出售<em>氰化</em><em>钠</em>&lt;script&gt;"]},
                }
            ],
        },
        "aggregations": {"family": {"buckets": [{"key": "chem.toxic", "doc_count": 7}]}},
    }
    result = queries.parse_search(response, LeadQuery(size=1, text="氰化钠"))
    assert result.total == 7 and result.leads[0] == lead
    assert result.next_cursor == [1, lead.lead_id]
    assert result.facets == {"family": {"chem.toxic": 7}}
    assert result.highlights[lead.lead_id]["title"] == ["出售<em>氰化钠</em>&lt;script&gt;"]
    # a short page is the last page
    assert queries.parse_search(response, LeadQuery(size=2)).next_cursor is None


def test_lead_document_round_trips_and_has_rank() -> None:
    lead = _lead()
    doc = queries.lead_document(lead)
    assert doc["severity_rank"] == 3
    assert queries.lead_from_source(doc) == lead


def test_templates_and_names() -> None:
    body = templates.template_body("sweep", "leads", "fallback")
    assert body["index_patterns"] == ["sweep-leads-v*"]
    analyzer = body["template"]["settings"]["analysis"]["analyzer"][templates.TEXT_ANALYZER]
    assert analyzer["type"] == "standard"
    cjk = templates.index_body("leads", "cjk")["settings"]["analysis"]["analyzer"][templates.TEXT_ANALYZER]
    assert cjk["filter"] == ["cjk_width", "lowercase", "cjk_bigram"]
    props = templates.LEADS_MAPPING["properties"]
    for field in ("family", "severity", "status", "platform", "rule_id"):
        assert props[field]["type"] == "keyword"
    assert props["listing"]["properties"]["shop_name"]["fields"]["keyword"]["type"] == "keyword"
    assert props["search"]["properties"]["text"]["analyzer"] == templates.TEXT_ANALYZER
    assert templates.index_version("sweep", "leads", "sweep-leads-v12") == 12
    assert templates.index_version("sweep", "leads", "sweep-listings-v1") is None


def test_detect_flavor() -> None:
    assert detect_flavor({"version": {"distribution": "opensearch", "number": "2.19.1"}}) == "opensearch"
    assert (
        detect_flavor({"version": {"number": "9.1.0", "build_flavor": "default"}, "tagline": "You Know, for Search"})
        == "elasticsearch"
    )
