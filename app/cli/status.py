"""`sweep status`: is the pipeline keeping up? Messages and dead letters per topic, consumer lag and
throughput per group, the search cluster, the scheduler's heartbeat and the crawl jobs — for the
configured backends (Kafka or the embedded bus, OpenSearch/Elasticsearch or the embedded store).

Group and topic names come from the broker (anyone may create a group), so they reach the terminal
cleaned (`app.cli.display.cell`), never as markup. Exit code 1 when something is unhealthy: the bus or
the search cluster cannot be read, the cluster is red, or dead letters are waiting.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from app.cli.display import cell, json_line, message
from reports.health import Health, snapshot
from sweep.settings import Settings, get_settings

console = Console()
err = Console(stderr=True)


def _ago(moment: datetime | None, now: datetime) -> str:
    if moment is None:
        return "从未"
    seconds = int((now - moment).total_seconds())
    if seconds < 120:
        return f"{seconds} 秒前"
    if seconds < 7200:
        return f"{seconds // 60} 分钟前"
    if seconds < 172800:
        return f"{seconds // 3600} 小时前"
    return f"{seconds // 86400} 天前"


def gather(settings: Settings, sample_s: float) -> Health:
    """Open the configured stores, take one snapshot, close them."""
    from adapters import open_bus, open_lead_store
    from adapters.people.operations_sql import open_operations_store

    topics = settings.topics
    names = [*topics.all(), topics.crawl_requests]
    bus = open_bus(settings)
    leads = open_lead_store(settings)
    operations = open_operations_store(settings)
    try:
        health = getattr(leads, "cluster_health", None)
        return snapshot(
            bus=bus,
            topics=names,
            dead_letter_topics=[topics.deadletter],
            sample_s=sample_s,
            leads=leads,
            search_health=health if settings.search_url else None,
            operations=operations,
        )
    finally:
        for store in (bus, leads, operations):
            store.close()


def unhealthy(h: Health) -> list[str]:
    problems = []
    if h.bus_error:
        problems.append("消息总线不可读")
    if h.search_error:
        problems.append("搜索集群不可读")
    if h.search.get("status") == "red":
        problems.append("搜索集群状态为 red")
    if any(h.dead_letters.values()):
        problems.append("死信队列有待处理消息")
    return problems


def as_doc(h: Health) -> dict[str, object]:
    return {
        "at": h.at.isoformat(),
        "topics": h.topics,
        "dead_letters": h.dead_letters,
        "groups": [
            {
                "group": lag.group,
                "topic": lag.topic,
                "committed": lag.committed,
                "lag": lag.lag,
                "per_second": h.throughput.get((lag.group, lag.topic)),
            }
            for lag in h.lags
        ],
        "bus_error": h.bus_error or None,
        "search": {k: h.search.get(k) for k in ("cluster_name", "status", "number_of_nodes", "active_shards")},
        "search_error": h.search_error or None,
        "leads": h.leads,
        "leads_error": h.leads_error or None,
        "scheduler": {
            "schedules": h.schedules,
            "paused": h.schedules_paused,
            "last_fire": h.last_fire.isoformat() if h.last_fire else None,
        },
        "jobs": {
            "running": h.jobs_running,
            "failed_24h": h.jobs_failed_recent,
            "last_finished": h.last_job_finished.isoformat() if h.last_job_finished else None,
        },
        "problems": unhealthy(h),
    }


def show(h: Health) -> None:
    topics = Table(title="消息主题", show_header=True)
    topics.add_column("主题")
    topics.add_column("消息数", justify="right")
    for name, n in h.topics.items():
        style = "bold red" if name in h.dead_letters and n else ""
        topics.add_row(cell(name), cell(f"{n:,}", style))
    if h.bus_error:
        console.print(message("消息总线:", h.bus_error))
    else:
        console.print(topics)

    groups = Table(title="消费组（积压与吞吐）", show_header=True)
    for title, justify in (("消费组", "left"), ("主题", "left"), ("已提交", "right"), ("积压", "right")):
        groups.add_column(title, justify=justify)  # type: ignore[arg-type]
    groups.add_column("吞吐（条/秒）", justify="right")
    for lag in h.lags:
        rate = h.throughput.get((lag.group, lag.topic))
        groups.add_row(
            cell(lag.group),
            cell(lag.topic),
            f"{lag.committed:,}",
            cell(f"{lag.lag:,}", "yellow" if lag.lag else ""),
            "—" if rate is None else f"{rate:,.1f}",
        )
    if h.lags:
        console.print(groups)

    other = Table(title="服务状态", show_header=True)
    other.add_column("项目")
    other.add_column("状态")
    if h.search_error:
        other.add_row("搜索集群", cell(h.search_error, "bold red"))
    elif h.search:
        status = str(h.search.get("status"))
        colour = {"green": "green", "yellow": "yellow", "red": "bold red"}.get(status, "")
        other.add_row("搜索集群", cell(f"{status}（{h.search.get('number_of_nodes')} 个节点）", colour))
    else:
        other.add_row("搜索集群", "内置 SQLite 存储")
    other.add_row(
        "线索总数", cell(h.leads_error, "yellow") if h.leads_error else ("—" if h.leads is None else f"{h.leads:,}")
    )
    other.add_row(
        "调度器心跳（最近触发）", f"{_ago(h.last_fire, h.at)}（{h.schedules} 个计划，{h.schedules_paused} 个暂停）"
    )
    other.add_row("运行中的采集任务", str(h.jobs_running))
    other.add_row("24 小时内失败任务", cell(str(h.jobs_failed_recent), "bold red" if h.jobs_failed_recent else ""))
    other.add_row("最近完成的任务", _ago(h.last_job_finished, h.at))
    console.print(other)
    for problem in unhealthy(h):
        console.print(message("注意:", problem, "bold yellow"))


def status(
    sample: Annotated[
        float, typer.Option(help="seconds between two bus readings, for throughput (0: no throughput)")
    ] = 2.0,
    as_json: Annotated[bool, typer.Option("--json", help="one JSON document instead of tables")] = False,
) -> None:
    """Pipeline health: topics, dead letters, consumer lag and throughput, search cluster, scheduler, jobs."""
    health = gather(get_settings(), max(0.0, sample))
    if as_json:
        json_line(as_doc(health))
    else:
        show(health)
    if unhealthy(health):
        raise typer.Exit(1)


__all__ = ["as_doc", "gather", "show", "status", "unhealthy"]
