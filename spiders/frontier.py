"""A crawl frontier shared by worker processes over the bus (`{prefix}.crawl.requests`).

How a request travels, and why each step is where it is:

* A frontier message is one page to crawl for one job: ``{"job", "key", "parent", "spider", "request"}``
  (JSON), keyed on the bus by the page's host, so one host's requests stay in one partition and so in
  one worker at a time: per-host delays and AutoThrottle hold across workers without a shared clock.
  A target may split its host into N streams (setting ``frontier_shards``) when the site allows N
  parallel crawlers (the demo mall does; a real platform's politeness says 1, the default).
* A worker (`FrontierWorker`, a Scrapy extension) polls a batch of messages of one job, feeds them to
  its engine, and waits for Scrapy's idle signal: every page of the batch, every request derived from
  it in this process (shop pages, JavaScript re-renders) and every item through the pipelines is then
  done. Only then does it (1) record the navigation requests the batch discovered in the ledger and
  publish the new ones, (2) flush the bus (listings, leads and new requests confirmed), (3) mark the
  batch's requests done and add the batch's stats to the job in one transaction, (4) commit the
  offsets. A `kill -9` anywhere before (4) replays the batch; (3) makes the replay skip what was done.
* Which requests go to the frontier: those that Scrapy's duplicate filter would filter (navigation:
  categories, pagination, detail pages). Requests made with ``dont_filter=True`` are continuations of
  the page being processed (the shop page that carries a listing, a browser re-render) and stay local.
* De-duplication per job is the ledger's primary key (job, request key); a replay by the same parent
  publishes again (its first publish may have been lost), which is harmless: listings and leads are
  keyed, so a replay duplicates no lead.
* Any worker runs any job, whatever spider its worker was started with: a message names its spider and
  the spider's arguments (``args``: a site profile, a base URL...), and the worker builds one spider
  object per job from them (`JobSpiders`) whose callbacks parse the job's pages. Otherwise a worker of
  one spider would take, and have to drop, the requests of another spider's job (one consumer group).
  A job spider's ``allowed_domains`` filter what it discovers (the offsite middleware only knows the
  worker's own spider), and its politeness (``DOWNLOAD_DELAY``/``CONCURRENT_REQUESTS_PER_DOMAIN`` of
  its class, or the site profile's) becomes its hosts' download slot settings. Crawl state a spider
  keeps in attributes (``FRONTIER_STATE``: product_pages' "follow links now") travels in request meta,
  so the worker that replays a page knows it too.
"""

from __future__ import annotations

import functools
import hashlib
import logging
import time
import zlib
from collections import deque
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import orjson
from scrapy import Request, signals
from scrapy.exceptions import DontCloseSpider, NotConfigured
from scrapy.spidermiddlewares.base import BaseSpiderMiddleware
from scrapy.utils.request import request_from_dict
from w3lib.url import canonicalize_url

from sweep.bus.base import Bus, BusConsumer, Message
from sweep.store.operations import FrontierEntry, JobState, JobStats, OperationsStore

logger = logging.getLogger(__name__)

SEED_PARENT = "seed"
META_STATE = "sweep_state"
SITEMAPS = "sitemaps"
"""The target setting naming sitemaps to start from (spiders with a `parse_sitemap`: product_pages)."""
FRONTIER_STATE = ("crawling_links",)
"""Spider attributes that are crawl state (not configuration): carried in request meta between workers."""
JOB_HEADER = "sweep-job"
META_JOB = "sweep_job"
META_ROOT = "sweep_root"
DEFAULT_GROUP = "sweep-crawl-workers"


# ---- messages ---------------------------------------------------------------------------------------
def request_key(url: str, method: str = "GET", body: bytes | str = b"") -> str:
    """A request's identity inside a job: canonical URL (query sorted, fragment dropped), method, body."""
    raw = body.encode() if isinstance(body, str) else body
    h = hashlib.sha1(f"{method.upper()} {canonicalize_url(url)}".encode())
    if raw:
        h.update(b"\n" + raw)
    return h.hexdigest()[:32]


def partition_key(url: str, shards: int = 1) -> str:
    """The bus key of a request: its host, or host#i for a site crawled in `shards` parallel streams."""
    host = (urlsplit(url).hostname or "").lower()
    if shards <= 1:
        return host
    return f"{host}#{zlib.crc32(url.encode()) % shards}"


@dataclass(slots=True)
class FrontierRequest:
    job: str
    key: str
    parent: str
    spider: str
    request: dict[str, Any]
    shards: int = 1
    args: dict[str, Any] = field(default_factory=dict)
    """The spider's arguments for this job (`-a` of scrapy crawl), e.g. {"profile": ..., "base_url": ...};
    empty: the worker's own spider as it was started."""

    def encode(self) -> bytes:
        doc = {
            "job": self.job,
            "key": self.key,
            "parent": self.parent,
            "spider": self.spider,
            "shards": self.shards,
            "request": self.request,
        }
        if self.args:
            doc["args"] = self.args
        return orjson.dumps(doc)

    @classmethod
    def decode(cls, value: bytes) -> FrontierRequest:
        d = orjson.loads(value)
        args = dict(d.get("args") or {})
        return cls(d["job"], d["key"], d["parent"], d["spider"], d["request"], int(d.get("shards", 1)), args)

    @property
    def url(self) -> str:
        return str(self.request["url"])


def seed(
    job: str,
    spider: str,
    url: str,
    callback: str | None,
    *,
    shards: int = 1,
    args: dict[str, Any] | None = None,
    errback: str | None = None,
    meta: dict[str, Any] | None = None,
) -> FrontierRequest:
    """A job's first requests (from its target), with no parent page."""
    req = {
        "url": url,
        "callback": callback,
        "errback": errback,
        "method": "GET",
        "meta": dict(meta or {}),
        "cb_kwargs": {},
        "dont_filter": False,
    }
    return FrontierRequest(job, request_key(url), SEED_PARENT, spider, req, shards, dict(args or {}))


def _json_safe(value: Any) -> bool:
    try:
        orjson.dumps(value)
    except TypeError:
        return False
    return True


def request_to_dict(request: Request, spider: Any) -> dict[str, Any]:
    """Scrapy's own request dict, made JSON: callbacks by name, body as text, meta's JSON-able part."""
    d = request.to_dict(spider=spider)
    body = d.get("body") or b""
    d["body"] = body.decode("latin-1") if isinstance(body, bytes) else body
    d["headers"] = {}
    d["cookies"] = {}
    d["meta"] = {k: v for k, v in (d.get("meta") or {}).items() if not k.startswith("_") and _json_safe(v)}
    return d


def publish_requests(bus: Bus, topic: str, requests: Iterable[FrontierRequest]) -> int:
    n = 0
    for fr in requests:
        bus.publish(topic, partition_key(fr.url, fr.shards), fr.encode(), {JOB_HEADER: fr.job})
        n += 1
    return n


def enqueue(
    store: OperationsStore, bus: Bus, topic: str, requests: Sequence[FrontierRequest], *, flush: bool = True
) -> int:
    """Record requests in the ledger and publish the ones it lets through (new, or a replay of the same
    parent). Ledger first: a request published but not recorded could finish its job early."""
    by_key = {(fr.job, fr.key, fr.parent): fr for fr in requests}
    entries = [FrontierEntry(fr.job, fr.key, fr.parent) for fr in by_key.values()]
    allowed = store.enqueue(entries)
    n = publish_requests(bus, topic, (by_key[(e.job_id, e.key, e.parent)] for e in allowed))
    if flush:
        bus.flush()
    return n


# ---- offsets ----------------------------------------------------------------------------------------
class OffsetTracker:
    """Commits only below the oldest unfinished message of each partition: a worker that finishes
    message 9 before message 5 must not commit 9, or a crash would skip 5."""

    def __init__(self) -> None:
        self._open: dict[tuple[str, int], dict[int, Message | None]] = {}

    def polled(self, messages: Iterable[Message]) -> None:
        for m in messages:
            self._open.setdefault((m.topic, m.partition), {})[m.offset] = m

    def done(self, messages: Iterable[Message]) -> list[Message]:
        """Mark messages finished; returns, per partition, the newest message that may be committed."""
        touched: set[tuple[str, int]] = set()
        finished: dict[tuple[str, int], Message] = {}
        for m in messages:
            tp = (m.topic, m.partition)
            slots = self._open.get(tp)
            if slots is not None and m.offset in slots:
                slots[m.offset] = None
                touched.add(tp)
                finished[tp] = m if tp not in finished or finished[tp].offset < m.offset else finished[tp]
        out: list[Message] = []
        for tp in touched:
            slots = self._open[tp]
            upto: Message | None = None
            for offset in sorted(slots):
                if slots[offset] is not None:
                    break
                upto = Message(tp[0], tp[1], offset, None, b"")
                del slots[offset]
            if upto is not None:
                out.append(upto)
        return out

    def pending(self) -> int:
        return sum(1 for slots in self._open.values() for m in slots.values() if m is not None)


# ---- stats --------------------------------------------------------------------------------------------
def stats_snapshot(s: dict[str, Any]) -> dict[str, int]:
    return {k: int(v) for k, v in s.items() if isinstance(v, int | float) and not isinstance(v, bool)}


def stats_delta(before: dict[str, int], after: dict[str, int]) -> JobStats:
    """A batch's JobStats from the crawler's counters before and after it."""

    def d(key: str) -> int:
        return after.get(key, 0) - before.get(key, 0)

    errors: dict[str, int] = {}
    for key in after:
        n = d(key)
        if n <= 0:
            continue
        if key.startswith("downloader/response_status_count/"):
            status = key.rsplit("/", 1)[-1]
            if status[:1] in ("4", "5"):
                errors[f"http_{status}"] = n
        elif key.startswith("downloader/exception_type_count/"):
            errors[key.rsplit("/", 1)[-1].rsplit(".", 1)[-1]] = n
    for key, kind in (
        ("sweep/malformed", "malformed"),
        ("sweep/invalid", "invalid"),
        ("sweep/detect_errors", "detection"),
        ("spider_exceptions/count", "spider_exception"),
    ):
        if d(key) > 0:
            errors[kind] = d(key)
    return JobStats(
        pages=max(0, d("response_received_count") - d("sweep/shop_waits") - d("robotstxt/response_count")),
        listings=d("item_scraped_count"),
        findings=d("sweep/findings"),
        bytes=d("downloader/response_bytes"),
        leads_new=d("sweep/leads_new"),
        leads_updated=d("sweep/leads_updated"),
        leads_unchanged=d("sweep/leads_unchanged"),
        listings_removed=d("sweep/listings_removed"),
        errors=errors,
    )


# ---- the bus seen by the pipelines -------------------------------------------------------------------
class JobTaggingBus(Bus):
    """The worker's bus as the publish pipeline sees it: every listing and lead event published during
    a batch carries the job's id in a header (`sweep-job`), and closing is left to the worker."""

    def __init__(self, bus: Bus) -> None:
        self.inner = bus
        self.job: str | None = None

    def publish(self, topic: str, key: str | None, value: bytes, headers: dict[str, str] | None = None) -> None:
        if self.job:
            headers = {**(headers or {}), JOB_HEADER: self.job}
        self.inner.publish(topic, key, value, headers)

    def flush(self, timeout_s: float = 60.0) -> None:
        self.inner.flush(timeout_s)

    def consumer(self, topics: Sequence[str], group: str) -> BusConsumer:
        return self.inner.consumer(topics, group)

    def close(self) -> None:
        """The worker owns the real bus; a pipeline's close only flushes."""
        self.inner.flush()


class _LogCapture(logging.Handler):
    """Warnings and errors of the current batch, stored with its job (`sweep jobs show`)."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.lines: list[tuple[str, str]] = []

    IGNORED = ("kafka", "twisted", "asyncio")
    """Client-library chatter (e.g. kafka-python's slow-task warnings) says nothing about the job."""

    def emit(self, record: logging.LogRecord) -> None:
        if record.name.startswith(self.IGNORED):
            return
        if len(self.lines) < 500:
            try:
                self.lines.append((record.levelname, record.getMessage()))
            except Exception:  # a broken log call must not break the crawl
                self.lines.append((record.levelname, str(record.msg)))


@dataclass
class _Batch:
    job: str
    spider: Any = None
    """The spider object whose callbacks parse this batch's pages (the worker's own or a job spider)."""
    args: dict[str, Any] = field(default_factory=dict)
    messages: list[Message] = field(default_factory=list)
    keys: list[str] = field(default_factory=list)
    stats_before: dict[str, int] = field(default_factory=dict)
    discovered: list[FrontierRequest] = field(default_factory=list)


RUNTIME: dict[str, object] = {}
"""Objects for the worker of this process: bus, store, topic, on_job_done (one worker per process)."""

JobDone = Callable[[OperationsStore, str], None]
"""Called once, by the worker that saw a job's last request done (the composition root passes
`operations.jobs.job_completed`: final state, alerts, webhook)."""


# ---- the Scrapy side ----------------------------------------------------------------------------------
class FrontierSpiderMiddleware(BaseSpiderMiddleware):
    """Sends the navigation requests of frontier pages to the worker's batch instead of the local
    scheduler; continuations (dont_filter) stay local and inherit the page's job and root."""

    def get_processed_request(self, request: Request, response: Any) -> Request | None:
        worker: FrontierWorker | None = getattr(self.crawler, "sweep_frontier", None)
        meta = getattr(response, "meta", None) if response is not None else None
        if worker is None or not meta or META_JOB not in meta:
            return request
        if request.dont_filter:
            request.meta.setdefault(META_JOB, meta[META_JOB])
            request.meta.setdefault(META_ROOT, meta.get(META_ROOT))
            request.meta.setdefault("allow_offsite", meta.get("allow_offsite", False))
            return request
        worker.discovered(request, meta)
        return None


class JobSpiders:
    """The spider objects of the jobs this worker has seen, built from each message's spider name and
    arguments (most recent `size` jobs kept: a job's crawl state lives in its object)."""

    def __init__(self, crawler: Any, size: int = 32) -> None:
        self.crawler = crawler
        self.size = size
        self._by_job: dict[str, Any] = {}

    def get(self, job: str, name: str, args: dict[str, Any]) -> Any:
        """The job's spider (ValueError/KeyError when the spider or its arguments are wrong)."""
        host = self.crawler.spider
        if name == host.name and not args:
            return host
        spider = self._by_job.get(job)
        if spider is None:
            spider = spider_class(name).from_crawler(self.crawler, **args)
            self._by_job[job] = spider
            while len(self._by_job) > self.size:
                self._by_job.pop(next(iter(self._by_job)))
        return spider

    @staticmethod
    def politeness(spider: Any) -> dict[str, float]:
        """A job spider's per-host pace: its class's settings, or its site profile's politeness."""
        custom = getattr(type(spider), "custom_settings", None) or {}
        out: dict[str, float] = {}
        if "DOWNLOAD_DELAY" in custom:
            out["delay"] = float(custom["DOWNLOAD_DELAY"])
        if "CONCURRENT_REQUESTS_PER_DOMAIN" in custom:
            out["concurrency"] = int(custom["CONCURRENT_REQUESTS_PER_DOMAIN"])
        pol = getattr(getattr(spider, "profile", None), "politeness", None)
        if pol is not None:
            out = {"delay": float(pol.delay), "concurrency": int(pol.concurrency)}
        return out


def pace_host(downloader: Any, host: str, pace: dict[str, float]) -> None:
    """A job spider's pace as `host`'s download slot settings (the slot is made with them), or, when
    the host already has a slot (an earlier job), set on it now."""
    slot = downloader.slots.get(host)
    if slot is None:
        downloader.per_slot_settings[host] = dict(pace)
        return
    if "concurrency" in pace:
        slot.concurrency = int(pace["concurrency"])
    if "delay" in pace:
        slot.delay = float(pace["delay"])


def keep_floor(slot: Any, floor: float) -> None:
    """After AutoThrottle adjusted a slot: not below the job spider's delay."""
    if slot is not None and slot.delay < floor:
        slot.delay = floor


def offsite(url: str, spider: Any) -> bool:
    """True when a job spider's allowed_domains (if any) do not cover `url`'s host (or a subdomain).
    By host name, port aside: scrapy's url_is_from_any_domain compares host:port with a bare host."""
    domains = [d.lower().lstrip(".") for d in getattr(spider, "allowed_domains", None) or [] if d]
    host = (urlsplit(url).hostname or "").lower()
    return bool(domains) and not any(host == d or host.endswith("." + d) for d in domains)


class FrontierWorker:
    """The Scrapy extension that turns a spider into a frontier worker (see the module doc).

    Settings: SWEEP_FRONTIER (on), SWEEP_FRONTIER_BATCH (pages per batch), SWEEP_FRONTIER_IDLE_EXIT
    (seconds without messages after which the worker stops; 0 = never), SWEEP_FRONTIER_GROUP. The bus,
    the operations store, the topic and the job-done callback come from `RUNTIME` (set by
    `spiders.run.work`): Scrapy deep-copies its settings, which live connections do not survive."""

    def __init__(self, crawler: Any) -> None:
        s = crawler.settings
        if not s.getbool("SWEEP_FRONTIER"):
            raise NotConfigured
        self.crawler = crawler
        self.bus: Bus = RUNTIME.get("bus")  # type: ignore[assignment]
        self.store: OperationsStore = RUNTIME.get("store")  # type: ignore[assignment]
        self.topic: str = RUNTIME.get("topic")  # type: ignore[assignment]
        if self.bus is None or self.store is None or not self.topic:
            raise NotConfigured("SWEEP_FRONTIER needs RUNTIME bus, store and topic (spiders.run.work)")
        self.on_job_done: JobDone | None = RUNTIME.get("on_job_done")  # type: ignore[assignment]
        self.batch_size = s.getint("SWEEP_FRONTIER_BATCH", 200)
        self.idle_exit = s.getfloat("SWEEP_FRONTIER_IDLE_EXIT", 0.0)
        self.group = s.get("SWEEP_FRONTIER_GROUP") or DEFAULT_GROUP
        self.tagging = JobTaggingBus(self.bus)
        crawler.sweep_bus = self.tagging  # the publish pipeline publishes through this bus
        crawler.sweep_frontier = self
        self.consumer: BusConsumer | None = None
        self.offsets = OffsetTracker()
        self.buffer: deque[tuple[Message, FrontierRequest | None]] = deque()
        self.batch: _Batch | None = None
        self.last_message = time.monotonic()
        self.poll_armed = False
        self.capture = _LogCapture()
        self.failed: str | None = None
        self.batches = 0
        self.spiders = JobSpiders(crawler)
        crawler.signals.connect(self.spider_opened, signal=signals.spider_opened)
        crawler.signals.connect(self.spider_idle, signal=signals.spider_idle)
        crawler.signals.connect(self.spider_closed, signal=signals.spider_closed)
        self.floors: dict[str, float] = {}
        """Per host, the delay a job spider's politeness asks for: AutoThrottle (connected before this
        extension, so adjusted first) may raise a slot's delay but never take it below this."""
        crawler.signals.connect(self.response_downloaded, signal=signals.response_downloaded)

    @classmethod
    def from_crawler(cls, crawler: Any) -> FrontierWorker:
        return cls(crawler)

    def spider_opened(self, spider: Any) -> None:
        self.consumer = self.bus.consumer([self.topic], self.group)
        logging.getLogger().addHandler(self.capture)
        self.last_message = time.monotonic()

    def spider_closed(self, spider: Any, reason: str) -> None:
        logging.getLogger().removeHandler(self.capture)
        if self.consumer is not None:
            self.consumer.close()
        self.crawler.stats.set_value("sweep/frontier_batches", self.batches)

    def response_downloaded(self, response: Any, request: Request, spider: Any) -> None:
        key = request.meta.get("download_slot")
        if key in self.floors:
            keep_floor(self.crawler.engine.downloader.slots.get(key), self.floors[key])

    # -- discovered requests ---------------------------------------------------------------------
    def discovered(self, request: Request, meta: dict[str, Any]) -> None:
        batch = self.batch
        job = meta[META_JOB]
        if batch is None or batch.job != job:
            logger.warning("a request outside its batch was dropped: %s", request.url)
            return
        spider = batch.spider or self.crawler.spider
        stats = self.crawler.stats
        if spider is not self.crawler.spider:
            if offsite(request.url, spider):
                stats.inc_value("sweep/frontier_offsite")
                return
            limit = int((getattr(type(spider), "custom_settings", None) or {}).get("DEPTH_LIMIT", 0))
            if limit and int(request.meta.get("depth", 0)) > limit:
                stats.inc_value("sweep/frontier_too_deep")
                return
        d = request_to_dict(request, spider)
        d["meta"] = {k: v for k, v in d["meta"].items() if k not in (META_JOB, META_ROOT, "allow_offsite")}
        state = {a: getattr(spider, a) for a in FRONTIER_STATE if getattr(spider, a, None)}
        if state:
            d["meta"][META_STATE] = state
        key = request_key(request.url, request.method, request.body)
        shards = int(meta.get("sweep_shards", 1))
        batch.discovered.append(FrontierRequest(job, key, meta[META_ROOT], spider.name, d, shards, batch.args))

    # -- the batch cycle -------------------------------------------------------------------------
    def spider_idle(self, spider: Any) -> None:
        if self.failed:
            return  # let the spider close; uncommitted messages go to the other workers
        if self.batch is not None:
            try:
                self._finish_batch(self.batch)
            except Exception as exc:
                logger.exception("frontier batch could not be confirmed; stopping this worker")
                self.failed = f"frontier_failed: {exc!r}"
                self.crawler.stats.set_value("sweep/frontier_failed", self.failed)
                return
            self.batch = None
        if self._start_batch():
            raise DontCloseSpider
        if self.idle_exit and time.monotonic() - self.last_message >= self.idle_exit:
            return  # nothing for a while: close
        self._arm_poll()
        raise DontCloseSpider

    def _arm_poll(self) -> None:
        """Poll again soon instead of waiting for the engine's 5 s heartbeat."""
        if self.poll_armed:
            return
        from twisted.internet import reactor

        self.poll_armed = True

        def again() -> None:
            self.poll_armed = False
            engine = self.crawler.engine
            if self.batch is not None or self.failed or engine is None or not engine.running:
                return
            expired = self.idle_exit and time.monotonic() - self.last_message >= self.idle_exit
            if not self._start_batch() and not expired:
                self._arm_poll()

        reactor.callLater(0.2, again)  # type: ignore[attr-defined]

    def _poll(self) -> None:
        assert self.consumer is not None
        if len(self.buffer) >= self.batch_size:
            return
        messages = self.consumer.poll(max_records=self.batch_size, timeout_s=0.5)
        if not messages:
            return
        self.last_message = time.monotonic()
        self.offsets.polled(messages)
        for m in messages:
            try:
                self.buffer.append((m, FrontierRequest.decode(m.value)))
            except Exception:
                logger.error("unreadable frontier message at %s[%d]@%d skipped", m.topic, m.partition, m.offset)
                self.buffer.append((m, None))

    def _start_batch(self) -> bool:
        """Take up to `batch_size` buffered requests of one job (the oldest one's) and crawl them."""
        self._poll()
        if not self.buffer:
            return False
        skip: list[Message] = []
        job: str | None = None
        taken: list[tuple[Message, FrontierRequest]] = []
        rest: deque[tuple[Message, FrontierRequest | None]] = deque()
        states: dict[str, JobState | None] = {}
        while self.buffer:
            m, fr = self.buffer.popleft()
            if fr is None:
                skip.append(m)
                continue
            if fr.job not in states:
                found = self.store.get_job(fr.job)
                states[fr.job] = found.state if found else None
            state = states[fr.job]
            if state is None or state in (JobState.CANCELLED, JobState.FAILED):
                skip.append(m)  # an unknown or stopped job: nothing to do
                continue
            try:
                self.spiders.get(fr.job, fr.spider, fr.args)
            except Exception as exc:  # an unknown spider or arguments it refuses: the job cannot run
                why = f"spider {fr.spider!r} could not be built: {exc}"
                logger.error("job %s: %s", fr.job, why)
                self.store.append_log(fr.job, [("ERROR", why)])
                self.store.set_job_state(
                    fr.job, JobState.FAILED, message=why, only_from=[JobState.QUEUED, JobState.RUNNING]
                )
                states[fr.job] = JobState.FAILED  # its other requests are skipped, not rebuilt again
                skip.append(m)
                continue
            if job is None:
                job = fr.job
            if fr.job == job and len(taken) < self.batch_size:
                taken.append((m, fr))
            else:
                rest.append((m, fr))
        self.buffer = rest
        if skip:
            self._commit(skip)
        if job is None:
            return False
        done = self.store.done_keys(job, [fr.key for _, fr in taken])
        if done:  # a replay of requests already done: nothing to crawl again
            self._commit([m for m, fr in taken if fr.key in done])
            taken = [(m, fr) for m, fr in taken if fr.key not in done]
        if not taken:
            return bool(self.buffer) and self._start_batch()
        if states.get(job) == JobState.QUEUED:
            self.store.set_job_state(job, JobState.RUNNING, only_from=[JobState.QUEUED])
        first = taken[0][1]
        spider = self.spiders.get(job, first.spider, first.args)
        batch = _Batch(job, spider, first.args, stats_before=stats_snapshot(self.crawler.stats.get_stats()))
        self.batch = batch
        foreign = spider is not self.crawler.spider
        slots = self.crawler.engine.downloader
        pace = JobSpiders.politeness(spider) if foreign else {}
        self.tagging.job = job
        self.capture.lines = []
        for m, fr in taken:
            batch.messages.append(m)
            batch.keys.append(fr.key)
            try:
                request = request_from_dict(fr.request, spider=spider)
            except Exception as exc:
                logger.error("frontier request %s could not be rebuilt: %s", fr.url, exc)
                continue
            request.meta[META_JOB] = job
            request.meta[META_ROOT] = fr.key
            request.meta["sweep_shards"] = fr.shards
            if foreign:
                for attr, value in (request.meta.pop(META_STATE, None) or {}).items():
                    if attr in FRONTIER_STATE:
                        setattr(spider, attr, value)
                request.meta["allow_offsite"] = True  # the job spider's own domains were checked
                host = (urlsplit(request.url).hostname or "").lower()
                if pace and host not in self.floors:
                    pace_host(slots, host, pace)
                    self.floors[host] = float(pace.get("delay", 0.0))
            request.dont_filter = True  # the ledger de-duplicates; a replay must be crawled again
            self.crawler.engine.crawl(request)
        return True

    def _finish_batch(self, batch: _Batch) -> None:
        enqueue(self.store, self.tagging.inner, self.topic, batch.discovered, flush=False)
        self.tagging.inner.flush()  # listings, leads and new requests are on the bus
        stats = stats_delta(batch.stats_before, stats_snapshot(self.crawler.stats.get_stats()))
        self.store.complete(batch.job, batch.keys, stats)
        self.store.append_log(batch.job, self.capture.lines)
        self.capture.lines = []
        self._commit(batch.messages)
        self.batches += 1
        if self.store.pending_count(batch.job) == 0:
            won = self.store.set_job_state(batch.job, JobState.FINISHED, only_from=[JobState.QUEUED, JobState.RUNNING])
            if won and self.on_job_done is not None:
                try:
                    self.on_job_done(self.store, batch.job)
                except Exception:
                    logger.exception("after job %s finished", batch.job)

    def _commit(self, messages: Sequence[Message]) -> None:
        upto = self.offsets.done(messages)
        if upto and self.consumer is not None:
            try:
                self.consumer.commit(upto)
            except Exception as exc:  # e.g. the partition moved to another worker: it will replay
                logger.warning("offset commit failed (the requests will be replayed): %s", exc)


# ---- seeds ----------------------------------------------------------------------------------------
@functools.cache
def _spider_loader() -> Any:
    """The project's spider loader (it imports every spider module: once per process)."""
    from scrapy.settings import Settings
    from scrapy.spiderloader import SpiderLoader

    settings = Settings()
    settings.setmodule("spiders.settings", priority="project")
    return SpiderLoader.from_settings(settings)


def spider_class(name: str) -> Any:
    """The spider class of this project named `name` (KeyError with the known names otherwise)."""
    loader = _spider_loader()
    try:
        return loader.load(name)
    except KeyError:
        raise KeyError(f"no spider {name!r} (known: {', '.join(loader.list())})") from None


def seed_requests(
    job: str,
    spider: str,
    base_url: str,
    *,
    start_urls: Sequence[str] = (),
    categories: Sequence[str] = (),
    keywords: Sequence[str] = (),
    shops: Sequence[str] = (),
    listings: Sequence[str] = (),
    shards: int = 1,
    spider_args: dict[str, Any] | None = None,
    sitemaps: Sequence[str] = (),
) -> list[FrontierRequest]:
    """A job's first requests from its target, through the spider's `frontier_seeds` (the demo mall's
    categories, keywords, listings...). Any other spider is seeded with what its own `start()` yields
    when built with the target's arguments (`base_url`, `start_urls` and `spider_args`, e.g. a site
    profile): product_pages' robots.txt/sitemap or given pages, a profile's start pages; `sitemaps`
    start there instead (a spider with `parse_sitemap`). The worker
    builds the same spider from `base_url` and `spider_args` (never the start URLs: they are seeds,
    not configuration, and would ride along in every message of the job)."""
    cls = spider_class(spider)
    seeds_of = getattr(cls, "frontier_seeds", None)
    if seeds_of is not None and not spider_args and not sitemaps:
        pairs = seeds_of(
            base_url,
            start_urls=list(start_urls),
            categories=list(categories),
            keywords=list(keywords),
            shops=list(shops),
            listings=list(listings),
        )
        return [seed(job, spider, url, callback, shards=shards) for url, callback in pairs]
    if categories or keywords or shops or listings:
        raise ValueError(f"spider {spider!r} takes start URLs only (no categories, keywords, shops or listings)")
    args: dict[str, Any] = {"base_url": base_url, **(spider_args or {})}
    built = cls(**args, **({"start_urls": list(start_urls)} if start_urls else {}))
    if sitemaps:
        if not hasattr(built, "parse_sitemap"):
            raise ValueError(f"spider {spider!r} does not read sitemaps")
        errback = getattr(built, "no_sitemap", None)
        requests = [Request(u, callback=built.parse_sitemap, errback=errback) for u in sitemaps]
        requests += _drain(built.start()) if start_urls else []
    else:
        requests = _drain(built.start())
    state = {a: getattr(built, a) for a in FRONTIER_STATE if getattr(built, a, None)}
    out: list[FrontierRequest] = []
    for request in requests:
        if not isinstance(request, Request):
            continue
        d = request_to_dict(request, built)
        if state:
            d["meta"][META_STATE] = state
        key = request_key(request.url, request.method, request.body)
        out.append(FrontierRequest(job, key, SEED_PARENT, spider, d | {"dont_filter": False}, shards, args))
    if not out:
        raise ValueError(f"spider {spider!r} made no start request for {base_url}")
    return out


def _drain(agen: Any) -> list[Any]:
    """What an async generator that never really awaits yields (a spider's `start()`), read without an
    event loop: seeding runs in CLIs, the scheduler and web handlers alike."""
    out: list[Any] = []
    while True:
        step = agen.__anext__()
        try:
            step.send(None)
        except StopIteration as done:
            out.append(done.value)
            continue
        except StopAsyncIteration:
            return out
        step.close()
        raise RuntimeError("the spider's start() waits on something: it cannot seed a frontier job")
