"""The SellerDirectory port: one set of behavioural checks run on every adapter `open_seller_directory`
chooses: the embedded SQLite table, the sellers index in OpenSearch, and in the minimal Elasticsearch
(no analysis-common, no scripts). Expected values are written out by hand.

Each search-engine case has its own index prefix, removed afterwards.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from adapters import open_seller_directory
from adapters.store.complaints_sqlite import SqliteSellerDirectory
from adapters.store.searchengine.sellers import SearchSellerDirectory
from sweep.settings import get_settings
from sweep.store.complaints import Seller, SellerDirectory

pytestmark = pytest.mark.integration

USCC_A = "91110000600037341L"
USCC_B = "91330100MA27XK5Q3N"

Opener = Callable[[], SellerDirectory]


@pytest.fixture(params=["sqlite", "opensearch", "elasticsearch-minimal"])
def opener(
    request: pytest.FixtureRequest, run_prefix: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Opener]:
    """Opens a directory on the backend of the case (each call a new handle on the same data, as a
    second process would have)."""
    monkeypatch.setenv("SWEEP_DATA_DIR", str(tmp_path))
    if request.param == "sqlite":
        monkeypatch.delenv("SWEEP_SEARCH_URL", raising=False)
        get_settings.cache_clear()
        yield lambda: open_seller_directory()
        get_settings.cache_clear()
        return
    url = request.getfixturevalue("opensearch_url" if request.param == "opensearch" else "es_minimal_url")
    prefix = f"{run_prefix}-sel{uuid.uuid4().hex[:6]}"
    monkeypatch.setenv("SWEEP_SEARCH_URL", url)
    monkeypatch.setenv("SWEEP_INDEX_PREFIX", prefix)
    get_settings.cache_clear()
    yield lambda: open_seller_directory(refresh="wait_for")
    cleaner = open_seller_directory()
    assert isinstance(cleaner, SearchSellerDirectory)
    try:
        for name in cleaner.engine.get_indices(f"{prefix}-*"):
            cleaner.engine.delete_index(name)
    except Exception as exc:  # cleaning up must not hide the test's own outcome
        print(f"cleanup of {prefix}: {exc}")
    finally:
        cleaner.close()
        get_settings.cache_clear()


def test_the_backend_follows_the_settings(opener: Opener, request: pytest.FixtureRequest) -> None:
    with opener() as directory:
        embedded = request.node.callspec.params["opener"] == "sqlite"
        assert isinstance(directory, SqliteSellerDirectory if embedded else SearchSellerDirectory)


def test_an_empty_directory_answers_every_read(opener: Opener) -> None:
    with opener() as directory:
        assert directory.count() == 0
        assert directory.get("taobao", "S1") is None
        assert list(directory.iter_all()) == []
        assert directory.with_uscc(USCC_A) == []


def test_observe_returns_what_is_new_and_a_replay_changes_nothing(opener: Opener) -> None:
    first = [
        Seller("taobao", "S1", name="华东化工旗舰店", uscc=USCC_A, region="浙江省", urls=["u1"], lead_ids=["L1"]),
        Seller("jd", "J9", name="华东化工京东店", company="华东化工有限公司", uscc=USCC_A),
    ]
    with opener() as directory:
        changed = directory.observe(first)
        assert sorted(s.key for s in changed) == ["jd\x1fJ9", "taobao\x1fS1"]
        assert directory.count() == 2
        assert directory.get("taobao", "S1") == first[0]
        assert directory.get("jd", "J9") == first[1]
        assert directory.observe(first) == []
        assert directory.observe([]) == []
        assert directory.count() == 2
    with opener() as again:  # another process sees the same sellers
        assert again.get("jd", "J9") == first[1]
        assert again.observe([Seller("jd", "J9", name="华东化工京东店")]) == []


def test_a_later_observation_wins_where_it_says_something_and_lists_accumulate(opener: Opener) -> None:
    with opener() as directory:
        directory.observe([Seller("taobao", "S1", name="旧名", region="浙江省", urls=["u1"], lead_ids=["L1"])])
        changed = directory.observe([Seller("taobao", "S1", name="新名", urls=["u2", "u1"], lead_ids=["L2"])])
        expected = Seller("taobao", "S1", name="新名", region="浙江省", urls=["u2", "u1"], lead_ids=["L2", "L1"])
        assert changed == [expected]
        assert directory.get("taobao", "S1") == expected
        # a name-less sighting keeps the name; only the new lead id is news
        changed = directory.observe([Seller("taobao", "S1", lead_ids=["L3"])])
        assert changed == [
            Seller("taobao", "S1", name="新名", region="浙江省", urls=["u2", "u1"], lead_ids=["L3", "L2", "L1"])
        ]
        assert directory.count() == 1


def test_copies_of_one_shop_in_a_batch_are_merged_in_order(opener: Opener) -> None:
    with opener() as directory:
        changed = directory.observe(
            [
                Seller("pdd", "P1", name="甲", urls=["a"]),
                Seller("pdd", "P1", company="甲公司", urls=["b"]),
                Seller("pdd", "P1", name="乙"),
            ]
        )
        assert changed == [Seller("pdd", "P1", name="乙", company="甲公司", urls=["b", "a"])]
        assert directory.count() == 1


def test_urls_and_lead_ids_are_bounded_newest_first(opener: Opener) -> None:
    with opener() as directory:
        directory.observe([Seller("taobao", "S1", urls=[f"old{i}" for i in range(15)])])
        directory.observe([Seller("taobao", "S1", urls=[f"new{i}" for i in range(10)])])
        stored = directory.get("taobao", "S1")
        assert stored is not None
        assert stored.urls == [f"new{i}" for i in range(10)] + [f"old{i}" for i in range(10)]
        directory.observe([Seller("taobao", "S1", lead_ids=[f"L{i}" for i in range(250)])])
        stored = directory.get("taobao", "S1")
        assert stored is not None
        assert len(stored.lead_ids) == 200
        assert stored.lead_ids[0] == "L0" and stored.lead_ids[-1] == "L199"


def test_iter_all_pages_every_seller_in_key_order(opener: Opener) -> None:
    sellers = [Seller(platform, f"S{n}", name=f"店{n}") for platform in ("jd", "taobao") for n in (3, 1, 2)]
    with opener() as directory:
        directory.observe(sellers)
        pages = list(directory.iter_all(page_size=4))
        assert [len(p) for p in pages] == [4, 2]
        assert [s.key for p in pages for s in p] == [
            "jd\x1fS1",
            "jd\x1fS2",
            "jd\x1fS3",
            "taobao\x1fS1",
            "taobao\x1fS2",
            "taobao\x1fS3",
        ]
        assert pages[0][0] == Seller("jd", "S1", name="店1")


def test_with_uscc_finds_one_company_across_platforms(opener: Opener) -> None:
    with opener() as directory:
        directory.observe(
            [
                Seller("taobao", "S1", name="华东化工旗舰店", uscc=USCC_A),
                Seller("jd", "J9", name="华东化工京东店", uscc=USCC_A),
                Seller("pdd", "P4", name="华东化工拼多多店"),
                Seller("taobao", "S7", name="华东化学品商行", uscc=USCC_B),
            ]
        )
        assert [s.key for s in directory.with_uscc(USCC_A)] == ["jd\x1fJ9", "taobao\x1fS1"]
        assert [s.key for s in directory.with_uscc(USCC_A, limit=1)] == ["jd\x1fJ9"]
        assert [s.name for s in directory.with_uscc(USCC_B)] == ["华东化学品商行"]
        assert directory.with_uscc("91000000000000000X") == []
        # a code learnt later joins the company
        directory.observe([Seller("pdd", "P4", uscc=USCC_A)])
        assert [s.key for s in directory.with_uscc(USCC_A)] == ["jd\x1fJ9", "pdd\x1fP4", "taobao\x1fS1"]


def test_a_shop_known_only_by_a_long_name_is_kept(opener: Opener) -> None:
    shop_id = "name:" + "非常长的网店名称" * 40  # 325 characters, about 960 bytes of UTF-8
    with opener() as directory:
        assert directory.observe([Seller("taobao", shop_id, name=shop_id[5:])]) != []
        stored = directory.get("taobao", shop_id)
        assert stored is not None and stored.name == shop_id[5:]


# SQLite serialises `observe` in one transaction (BEGIN IMMEDIATE): there is no stale read to stage there
@pytest.mark.parametrize("opener", ["opensearch", "elasticsearch-minimal"], indirect=True)
def test_a_write_that_lost_a_race_is_merged_not_lost(opener: Opener) -> None:
    """Two processes observe the same shop at once: the one whose read is stale when it writes must not
    overwrite the other's URL (the search engine's writes are conditional on what was read)."""
    with opener() as a, opener() as b:
        assert isinstance(a, SearchSellerDirectory)
        a.observe([Seller("taobao", "S1", name="店", urls=["u1"])])
        stale = a._stored(["taobao\x1fS1"])  # what `a` reads before `b` writes
        b.observe([Seller("taobao", "S1", urls=["u2"])])
        reads = iter([stale])
        real = a._stored
        a._stored = lambda keys: next(reads, None) or real(keys)  # type: ignore[method-assign]
        changed = a.observe([Seller("taobao", "S1", urls=["u3"])])
        assert changed == [Seller("taobao", "S1", name="店", urls=["u3", "u2", "u1"])]
        assert b.get("taobao", "S1") == Seller("taobao", "S1", name="店", urls=["u3", "u2", "u1"])


def test_writes_without_refresh_are_read_back_by_searches(opener: Opener) -> None:
    """As deployed (no refresh on writes): a handle's searches see its own writes, and the matcher's full
    read (`iter_all`) sees what another handle wrote just before."""
    opener().close()  # the backend of the case chosen; the handles below use the production defaults
    with open_seller_directory() as writer, open_seller_directory() as other:
        writer.observe([Seller("taobao", "S1", uscc=USCC_A), Seller("jd", "J9", uscc=USCC_A)])
        assert [s.key for s in writer.with_uscc(USCC_A)] == ["jd\x1fJ9", "taobao\x1fS1"]
        assert [s.key for page in other.iter_all() for s in page] == ["jd\x1fJ9", "taobao\x1fS1"]
        other.observe([Seller("pdd", "P4", uscc=USCC_A)])
        assert [s.key for page in writer.iter_all() for s in page] == ["jd\x1fJ9", "pdd\x1fP4", "taobao\x1fS1"]
