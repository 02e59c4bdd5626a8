"""GET /metrics: the operator health (`reports.health`) and the stores' counts in Prometheus' text
format, for production monitoring (scrape it; alert on lag, dead letters and a red cluster).

Only counts leave here — no record, name or personal value — but the numbers still describe a
bureau's work, so when `SWEEP_METRICS_TOKEN` is set the scraper must send it as a bearer token.
A fresh registry is filled on every scrape (the stores are the state; nothing is kept in between).
"""

from __future__ import annotations

import hmac
import os
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Gauge, generate_latest

from reports.health import Health, snapshot
from sweep.store.base import LeadQuery
from workspace.service import Workspace

router = APIRouter(include_in_schema=False)
TOKEN_ENV = "SWEEP_METRICS_TOKEN"
CLUSTER_STATUS = {"green": 0, "yellow": 1, "red": 2}


def _authorised(request: Request) -> bool:
    token = os.environ.get(TOKEN_ENV)
    if not token:
        return True
    sent = request.headers.get("authorization", "")
    return hmac.compare_digest(sent.encode(), f"Bearer {token}".encode())


def health_of(request: Request, ws: Workspace) -> Health:
    """One health snapshot of what the application is wired to (no throughput: a scrape must not wait)."""
    wiring: Any = getattr(request.app.state, "operations", None)
    bus = wiring.open_bus() if wiring is not None else None
    topics = ws.settings.topics
    try:
        return snapshot(
            bus=bus,
            topics=[*topics.all(), topics.crawl_requests],
            dead_letter_topics=[topics.deadletter],
            leads=ws.store,
            search_health=getattr(ws.store, "cluster_health", None),
            operations=wiring.store if wiring is not None else None,
        )
    finally:
        if bus is not None:
            bus.close()


def registry_for(ws: Workspace, health: Health) -> CollectorRegistry:
    reg = CollectorRegistry()
    messages = Gauge("sweep_bus_messages", "Messages held per topic", ["topic"], registry=reg)
    for topic, n in health.topics.items():
        messages.labels(topic).set(n)
    dead = Gauge("sweep_dead_letters", "Messages waiting in a dead-letter topic", ["topic"], registry=reg)
    for topic, n in health.dead_letters.items():
        dead.labels(topic).set(n)
    lag = Gauge("sweep_consumer_lag", "Messages a consumer group has not committed", ["group", "topic"], registry=reg)
    done = Gauge(
        "sweep_consumer_committed", "Messages a consumer group has committed (rate() = throughput)",
        ["group", "topic"], registry=reg,
    )  # fmt: skip
    for g in health.lags:
        lag.labels(g.group, g.topic).set(g.lag)
        done.labels(g.group, g.topic).set(g.committed)
    Gauge("sweep_bus_up", "1 when the bus could be read", registry=reg).set(0 if health.bus_error else 1)
    up = Gauge("sweep_search_up", "1 when the search cluster answered", registry=reg)
    up.set(0 if health.search_error else 1)
    if health.search.get("status") in CLUSTER_STATUS:
        Gauge("sweep_search_cluster_status", "0 green, 1 yellow, 2 red", registry=reg).set(
            CLUSTER_STATUS[health.search["status"]]
        )
    by_status = Gauge("sweep_leads", "Leads by triage status", ["status"], registry=reg)
    try:
        facets = ws.store.search(LeadQuery(size=0)).facets.get("status", {})
    except Exception:
        facets = {}
        up.set(0)
    for status, n in facets.items():
        by_status.labels(status).set(n)
    if ws.complaints is not None:
        Gauge("sweep_complaints", "12315 complaints stored", registry=reg).set(ws.complaints.count())
    Gauge("sweep_schedules", "Crawl schedules", registry=reg).set(health.schedules)
    if health.last_fire is not None:
        Gauge("sweep_scheduler_last_fire_timestamp_seconds", "Newest schedule fire claimed", registry=reg).set(
            health.last_fire.timestamp()
        )
    Gauge("sweep_crawl_jobs_running", "Crawl jobs running", registry=reg).set(health.jobs_running)
    Gauge("sweep_crawl_jobs_failed_24h", "Crawl jobs failed in the last 24 hours", registry=reg).set(
        health.jobs_failed_recent
    )
    return reg


@router.get("/metrics")
def metrics(request: Request) -> Response:
    if not _authorised(request):
        return Response("unauthorised\n", status_code=401, media_type="text/plain")
    ws: Workspace = request.app.state.workspace
    body = generate_latest(registry_for(ws, health_of(request, ws)))
    return Response(body, media_type=CONTENT_TYPE_LATEST)
