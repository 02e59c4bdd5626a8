"""Search-engine backends of the LeadStore port, chosen by asking the server what it is.

`GET /` answers differently: OpenSearch says `version.distribution == "opensearch"`; Elasticsearch
has `version.build_flavor` and the tagline "You Know, for Search". A URL or port says nothing
reliable (both default to 9200), so we never guess from it.
"""

from __future__ import annotations

import base64
import json
import ssl
import urllib.error
import urllib.request
from typing import Any, Literal

from adapters.store.searchengine.base import SearchEngineStore
from adapters.store.searchengine.errors import SearchError, SearchUnavailable
from sweep.settings import Settings, get_settings

Flavor = Literal["opensearch", "elasticsearch"]


def _get(url: str, headers: dict[str, str], context: ssl.SSLContext | None, timeout_s: float) -> Any:
    request = urllib.request.Request(url, headers=headers)
    with urllib.request.urlopen(request, timeout=timeout_s, context=context) as response:
        return json.loads(response.read())


def server_info(
    url: str,
    *,
    username: str | None = None,
    password: str | None = None,
    verify_certs: bool = True,
    timeout_s: float = 10.0,
) -> dict[str, Any]:
    """GET / with the standard library: no client's product check stands between us and the answer.

    A stripped-down Elasticsearch may refuse `GET /` (the minimal integ-test distribution answers
    405); it still marks every response with `X-Elastic-Product: Elasticsearch`, and its version is
    then read from `GET /_nodes/_local`.
    """
    base = url.rstrip("/")
    headers = {"Accept": "application/json"}
    if username:
        token = base64.b64encode(f"{username}:{password or ''}".encode()).decode()
        headers["Authorization"] = f"Basic {token}"
    context = None
    if url.startswith("https") and not verify_certs:
        context = ssl.create_default_context()
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    try:
        return _get(base + "/", headers, context, timeout_s)
    except urllib.error.HTTPError as exc:
        if exc.code >= 500 or exc.code == 429:
            raise SearchUnavailable(f"{url}: HTTP {exc.code}") from exc
        if (exc.headers.get("X-Elastic-Product") or "") != "Elasticsearch" or exc.code in (401, 403):
            raise SearchError(f"{url}: GET / answered HTTP {exc.code} {exc.reason}") from exc
    except (urllib.error.URLError, OSError) as exc:
        raise SearchUnavailable(f"{url}: {exc}") from exc
    try:
        nodes = _get(base + "/_nodes/_local", headers, context, timeout_s)
        node = next(iter(nodes["nodes"].values()))
    except (urllib.error.URLError, OSError, KeyError, StopIteration, ValueError) as exc:
        raise SearchError(f"{url}: Elasticsearch without GET / and without _nodes: {exc}") from exc
    return {
        "version": {"number": node.get("version"), "build_flavor": node.get("build_flavor", "default")},
        "tagline": "You Know, for Search",
        "modules": [m.get("name") for m in node.get("modules", [])],
        "detected_by": "X-Elastic-Product header + _nodes/_local",
    }


def detect_flavor(info: dict[str, Any]) -> Flavor:
    """Which engine answered `GET /`."""
    version = info.get("version") or {}
    if version.get("distribution") == "opensearch":
        return "opensearch"
    if "build_flavor" in version or info.get("tagline") == "You Know, for Search":
        return "elasticsearch"
    raise SearchError(f"not Elasticsearch or OpenSearch: {json.dumps(info)[:300]}")


def open_search_store(
    settings: Settings | None = None,
    *,
    prefix: str | None = None,
    ensure: bool = False,
    refresh: bool | str = False,
    timeout_s: float = 30.0,
) -> SearchEngineStore:
    """The LeadStore for `settings.search_url`.

    Opening creates nothing unless `ensure` (what `sweep search init` does): searching, showing and
    triaging need read rights (and update rights on leads for triage) only. Writers create templates
    and indices on their first write if the aliases are missing."""
    settings = settings or get_settings()
    if not settings.search_url:
        raise SearchError("SWEEP_SEARCH_URL is not set")
    password = settings.search_password.get_secret_value() if settings.search_password else None
    common: dict[str, Any] = {
        "username": settings.search_username,
        "password": password,
        "verify_certs": settings.search_verify_certs,
    }
    info = server_info(settings.search_url, **common)
    flavor = detect_flavor(info)
    store_kw: dict[str, Any] = {
        **common,
        "timeout_s": timeout_s,
        "prefix": prefix or settings.index_prefix,
        "ensure": ensure,
        "refresh": refresh,
    }
    if flavor == "opensearch":
        from adapters.store.searchengine.opensearch import OpenSearchStore

        store: SearchEngineStore = OpenSearchStore(settings.search_url, **store_kw)
    else:
        major = str((info.get("version") or {}).get("number", "0")).split(".")[0]
        store_kw["server_major"] = int(major) if major.isdigit() else None
        from adapters.store.searchengine.elasticsearch import ElasticsearchStore

        store = ElasticsearchStore(settings.search_url, **store_kw)
    store.server = info  # type: ignore[attr-defined]
    return store


__all__ = ["Flavor", "detect_flavor", "open_search_store", "server_info"]
