"""Turning requests into queue parameters and leads into safe HTML pieces.

Highlights: the stores return fragments with `<em>` marks around escaped text. The page does not
trust that: each fragment is split at the marks, every piece is unescaped once and escaped again, and
only `<em>`/`</em>` are put back, so whatever a store returns, only those two tags reach the page.
Evidence is marked by offsets on the raw text, each piece escaped by `markupsafe`.
"""

from __future__ import annotations

import base64
import html
import json
import re
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode, urlsplit

from markupsafe import Markup, escape

from sweep.models import Evidence
from workspace.service import QueueParams

LIST_FIELDS = {
    "family": "families",
    "severity": "severities",
    "status": "statuses",
    "platform": "platforms",
    "region": "regions",
    "category": "categories",
}
_EM = re.compile(r"(</?em>)", re.IGNORECASE)


def _date(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def encode_cursor(cursor: list | None) -> str:
    if not cursor:
        return ""
    return base64.urlsafe_b64encode(json.dumps(cursor, ensure_ascii=False).encode()).decode().rstrip("=")


def decode_cursor(value: str | None) -> list | None:
    """A cursor from a URL, or None if it is not one of ours (never an error: a bad link starts over)."""
    if not value:
        return None
    try:
        raw = base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))
        cursor = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        return None
    if (
        not isinstance(cursor, list)
        or len(cursor) > 8
        or not all(isinstance(v, str | int | float) and not isinstance(v, bool) for v in cursor)
    ):
        return None
    return cursor


def params_from(query: Mapping[str, Any], getlist: Any) -> QueueParams:
    """QueueParams from a query string (`getlist(name)` gives repeated values)."""
    params = QueueParams(
        text=str(query.get("q", ""))[:500],
        shop=str(query.get("shop", ""))[:256],
        sort="recent" if query.get("sort") == "recent" else "priority",
        seen_from=_date(query.get("from")),
        seen_to=_date(query.get("to")),
        cursor=decode_cursor(query.get("after")),
    )
    for name, attr in LIST_FIELDS.items():
        setattr(params, attr, [v for v in getlist(name) if v][:50])
    try:
        params.size = max(1, min(int(query.get("size", 50)), 200))
    except ValueError:
        params.size = 50
    return params


def query_string(params: QueueParams, **changes: Any) -> str:
    """The URL query of `params` with some values toggled/replaced (facet links, paging, sort)."""
    pairs: list[tuple[str, str]] = []
    values: dict[str, Any] = {
        "q": params.text,
        "shop": params.shop,
        "sort": params.sort,
        "from": params.seen_from.date().isoformat() if params.seen_from else "",
        "to": params.seen_to.date().isoformat() if params.seen_to else "",
    }
    lists = {name: list(getattr(params, attr)) for name, attr in LIST_FIELDS.items()}
    after = ""
    for key, value in changes.items():
        if key == "toggle":
            name, item = value
            lists[name] = [v for v in lists[name] if v != item] if item in lists[name] else [*lists[name], item]
        elif key == "after":
            after = value
        else:
            values[key] = value
    pairs += [(k, str(v)) for k, v in values.items() if v]
    for name, items in lists.items():
        pairs += [(name, v) for v in items]
    if after:
        pairs.append(("after", after))
    return urlencode(pairs)


def safe_fragment(fragment: str) -> Markup:
    """A store's highlight fragment with only `<em>` marks left as markup (see the module doc)."""
    out: list[str] = []
    depth = 0
    for piece in _EM.split(fragment):
        low = piece.lower()
        if low == "<em>":
            if depth == 0:
                out.append("<em>")
            depth += 1
        elif low == "</em>":
            if depth > 0:
                depth -= 1
                if depth == 0:
                    out.append("</em>")
        else:
            out.append(str(escape(html.unescape(piece))))
    if depth:
        out.append("</em>")
    return Markup("".join(out))


def marked(text: str | None, evidence: Sequence[Evidence], field: str) -> Markup:
    """`text` with the evidence spans of `field` wrapped in <mark> (offsets on the raw text)."""
    if not text:
        return Markup("")
    spans = sorted(
        (e.start, e.end, e.matched or e.text)
        for e in evidence
        if e.field == field and 0 <= e.start < e.end <= len(text)
    )
    out: list[str] = []
    pos = 0
    for start, end, label in spans:
        if start < pos:
            continue
        out.append(str(escape(text[pos:start])))
        out.append(f'<mark title="{escape(label)}">{escape(text[start:end])}</mark>')
        pos = end
    out.append(str(escape(text[pos:])))
    return Markup("".join(out))


def safe_url(url: str | None) -> str | None:
    """A link target only if it is http(s): `javascript:`, `data:` and the like are shown as text."""
    if not url:
        return None
    try:
        scheme = urlsplit(url.strip()).scheme.lower()
    except ValueError:
        return None
    return url.strip() if scheme in ("http", "https") else None
