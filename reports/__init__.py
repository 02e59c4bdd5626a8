"""Reports and dashboards: the figures a bureau is judged by (new leads, the queue, cases, 12315
complaints and their 办结率, top sellers, crawl health), computed through the storage ports only and
scoped to a jurisdiction and a period; rendered as a 日报/周报 or a 专项治理 campaign report in HTML,
PDF (printed by the caller's printer) and XLSX (one sheet per table).

`reports.figures` computes, `reports.tables` lays the figures out as tables (the one source of every
number shown), `reports.render` writes files.
"""
