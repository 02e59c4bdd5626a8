"""The enforcement workspace (执法工作台): officers search, judge and act on leads in a browser, and
turn them into cases, with every action on record.

    service.py   what staff do (search within jurisdiction, decide, dismiss with memory, bulk, cases)
    auth.py      argon2 passwords, server-side sessions, lock-out, API tokens
    csrf.py      CSRF tokens for every state-changing request
    deps.py      FastAPI dependencies: the workspace and the current person (auth + CSRF in one place)
    view.py      query strings, cursors, safe highlight fragments and evidence marks
    exports.py   CSV/XLSX of searches, audit CSV/JSON lines, case files (XLSX, PDF via Chromium)
    priority.py  the priority formula
    web.py       the FastAPI application (pages + /api/v1), templates/ and static/ (vendored htmx)

Storage is reached only through ports: `sweep.store.base.LeadStore` for leads and
`sweep.casework.PeopleStore` for people's state; the composition root (`app.web`) opens them.
"""
