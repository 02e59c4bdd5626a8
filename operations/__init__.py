"""Crawl operations: targets and their schedules, jobs (every crawl run, its stats, log and alerts),
launching a job onto the shared frontier (`spiders.frontier`), and the scheduler that does it on time;
takedown verification of confirmed listings (`takedown`) and crawl targets suggested by complaints
(`suggestions`).

State lives behind `sweep.store.operations.OperationsStore` (adapter: adapters/people/operations_sql.py);
crawling itself is the frontier workers' business (`sweep crawl-worker`).
"""
