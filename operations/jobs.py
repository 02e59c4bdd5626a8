"""Jobs: launching a target onto the frontier, cancelling, and judging a finished job (alerts).

A job is created *before* its seed requests are published, so a worker never meets a request of an
unknown job; its seeds are recorded in the frontier ledger before they are published, so the job
cannot look complete while its first pages are still on their way.
"""

from __future__ import annotations

import json
import logging
import secrets
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from spiders.frontier import SITEMAPS, enqueue, seed_requests
from sweep.bus.base import Bus
from sweep.store.base import LeadStore
from sweep.store.operations import Alert, CrawlJob, JobState, OperationsStore, Target, Trigger

logger = logging.getLogger(__name__)

WEBHOOK_TIMEOUT_S = 10.0


def new_job_id(now: datetime | None = None) -> str:
    """Sortable by creation time, unique without coordination: 20250101-080000-3fa2c1."""
    now = now or datetime.now(UTC)
    return f"{now:%Y%m%d-%H%M%S}-{secrets.token_hex(3)}"


SPIDER_ARGS = "spider_args"
"""The target setting holding its spider's arguments (`-a`), e.g. {"profile": "shop.yaml"}."""


def spider_args(target: Target) -> dict[str, str]:
    """The spider arguments a target names (`sweep targets add --arg/--profile`), as text."""
    raw = target.settings.get(SPIDER_ARGS) or {}
    return {str(k): str(v) for k, v in dict(raw).items()}


def launch(
    store: OperationsStore,
    bus: Bus,
    topic: str,
    target: Target,
    *,
    trigger: Trigger,
    requested_by: str = "",
    schedule_id: int | None = None,
    fire_time: datetime | None = None,
    leads: LeadStore | None = None,
    recrawl_max_per_run: int | None = None,
) -> CrawlJob:
    """Create the job of one run of `target` and put its seed requests on the frontier (flushed).

    A recrawl-due target (`operations.recrawl`) runs over the listings due at `fire_time` (else now)
    in `leads` (default: the configured lead store), at most `recrawl_max_per_run` (default: setting
    `ops_recrawl_max_per_run`); with none due its job is recorded finished at once, with a log line
    saying so (the run happened and found nothing to do)."""
    from operations.recrawl import recrawl_due_spec

    if recrawl_due_spec(target) is not None:
        run = _due_run(target, fire_time, leads, recrawl_max_per_run)
        if run is None:
            return _nothing_due(store, target, trigger, requested_by, schedule_id, fire_time)
        target = run
    job = _new_job(target, trigger, requested_by, schedule_id, fire_time)
    seeds = seed_requests(
        job.id,
        target.spider,
        target.base_url,
        start_urls=target.start_urls,
        categories=target.categories,
        keywords=target.keywords,
        shops=target.shops,
        listings=target.listings,
        shards=int(target.settings.get("frontier_shards", 1)),
        spider_args=spider_args(target),
        sitemaps=target.settings.get(SITEMAPS) or (),
    )
    store.create_job(job)
    try:
        n = enqueue(store, bus, topic, seeds)
    except Exception as exc:
        store.set_job_state(job.id, JobState.FAILED, message=f"seeds not published: {exc!r}")
        raise
    store.append_log(job.id, [("INFO", f"{n} seed request(s) on the frontier ({trigger}; {requested_by or '-'})")])
    return job


def _new_job(
    target: Target, trigger: Trigger, requested_by: str, schedule_id: int | None, fire_time: datetime | None
) -> CrawlJob:
    return CrawlJob(
        id=new_job_id(),
        target_id=target.id,
        target_name=target.name,
        spider=target.spider,
        trigger=trigger,
        requested_by=requested_by,
        schedule_id=schedule_id,
        fire_time=fire_time,
    )


def _due_run(
    target: Target, fire_time: datetime | None, leads: LeadStore | None, max_per_run: int | None
) -> Target | None:
    from operations.recrawl import due_run
    from sweep.settings import get_settings

    if max_per_run is None:
        max_per_run = get_settings().ops_recrawl_max_per_run
    now = fire_time or datetime.now(UTC)
    if leads is not None:
        return due_run(leads, target, now=now, default_max=max_per_run)
    from adapters import open_lead_store

    own = open_lead_store()
    try:
        return due_run(own, target, now=now, default_max=max_per_run)
    finally:
        own.close()


def _nothing_due(
    store: OperationsStore,
    target: Target,
    trigger: Trigger,
    requested_by: str,
    schedule_id: int | None,
    fire_time: datetime | None,
) -> CrawlJob:
    job = _new_job(target, trigger, requested_by, schedule_id, fire_time)
    store.create_job(job)
    store.append_log(job.id, [("INFO", "no listing is due for a recrawl: nothing to crawl")])
    store.set_job_state(job.id, JobState.FINISHED, message="nothing due", only_from=[JobState.QUEUED])
    return store.get_job(job.id) or job


def cancel(store: OperationsStore, job_id: str) -> bool:
    """Workers skip the requests of a cancelled job (pages in flight finish)."""
    return store.set_job_state(
        job_id, JobState.CANCELLED, message="cancelled", only_from=[JobState.QUEUED, JobState.RUNNING]
    )


@dataclass(frozen=True)
class AlertPolicy:
    webhook_url: str | None = None
    empty_min_previous: int = 100
    """A job with no listing is "empty" when the target's previous finished job had at least this many."""


def judge(store: OperationsStore, job: CrawlJob, policy: AlertPolicy) -> Alert | None:
    """Failed: no page could be fetched, or pages but neither a listing nor a clean page (every page an
    error). Empty: no listing where the previous finished run of the target had many."""
    s = job.stats
    if s.pages == 0 or (s.listings == 0 and s.error_count >= s.pages > 0):
        worst = ", ".join(f"{k}={v}" for k, v in sorted(s.errors.items(), key=lambda kv: -kv[1])[:5]) or "no pages"
        return Alert("failed", job.id, job.target_name, f"job {job.id} failed: {s.pages} page(s), errors: {worst}")
    if s.listings == 0 and job.target_id is not None:
        previous = [
            j
            for j in store.list_jobs(target_id=job.target_id, state=JobState.FINISHED, limit=10)
            if j.id != job.id and (j.created_at is None or job.created_at is None or j.created_at < job.created_at)
        ]
        if previous and previous[0].stats.listings >= policy.empty_min_previous:
            return Alert(
                "empty",
                job.id,
                job.target_name,
                f"job {job.id} found 0 listings; the previous run ({previous[0].id}) found "
                f"{previous[0].stats.listings}: the site or the spider may have changed",
            )
    return None


def post_webhook(url: str, alert: Alert) -> str:
    """POST the alert as JSON; returns the outcome to store with it ("ok 200", "error: ...")."""
    if not url.startswith(("http://", "https://")):
        return "error: the webhook URL must be http(s)"
    body = json.dumps(
        {
            "kind": alert.kind,
            "job_id": alert.job_id,
            "target": alert.target_name,
            "message": alert.message,
            "at": alert.at.isoformat() if alert.at else None,
        },
        ensure_ascii=False,
    ).encode()
    request = urllib.request.Request(url, data=body, headers={"Content-Type": "application/json"}, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=WEBHOOK_TIMEOUT_S) as resp:
            return f"ok {resp.status}"
    except urllib.error.HTTPError as exc:
        return f"error: HTTP {exc.code}"
    except (urllib.error.URLError, OSError) as exc:
        return f"error: {exc}"


def job_completed_handler(policy: AlertPolicy) -> Callable[[OperationsStore, str], None]:
    """What the worker that finished a job calls (once per job): mark it failed if it failed, store an
    alert, and deliver it to the webhook."""

    def completed(store: OperationsStore, job_id: str) -> None:
        job = store.get_job(job_id)
        if job is None:
            return
        alert = judge(store, job, policy)
        if alert is None:
            return
        if alert.kind == "failed":
            store.set_job_state(job_id, JobState.FAILED, message=alert.message, only_from=[JobState.FINISHED])
        raise_alert(store, alert, policy)

    return completed


def raise_alert(store: OperationsStore, alert: Alert, policy: AlertPolicy) -> Alert:
    alert = store.add_alert(alert)
    logger.warning("crawl alert (%s): %s", alert.kind, alert.message)
    if policy.webhook_url and alert.id is not None:
        alert.delivered = post_webhook(policy.webhook_url, alert)
        store.set_alert_delivered(alert.id, alert.delivered)
    return alert
