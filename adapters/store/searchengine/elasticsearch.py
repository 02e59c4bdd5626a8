"""Elasticsearch backend (official client, major = server major): the primitives of `SearchEngineStore`.

Only core server features are used (bulk, mget, search, aggregations, partial update with
if_seq_no, index templates, aliases) so the store also works on a minimal distribution without
analysis-common or painless; `_reindex` (a module) has a client-side fallback in `search.admin`.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import elasticsearch as es
from elastic_transport import Urllib3HttpNode
from elasticsearch import Elasticsearch, helpers
from elasticsearch.serializer import OrjsonSerializer

from adapters.store.searchengine.base import BULK_FILTER_PATH, SearchEngineStore, ndjson
from adapters.store.searchengine.errors import Conflict, NotFound, SearchError, SearchUnavailable

CLIENT_MAJOR = int(es.__versionstr__.split(".")[0])


@contextmanager
def _errors() -> Iterator[None]:
    """Map elasticsearch exceptions to `search.errors` (connection/5xx/429 -> SearchUnavailable)."""
    try:
        yield
    except (es.ConnectionError, es.ConnectionTimeout) as exc:
        raise SearchUnavailable(f"Elasticsearch unreachable: {exc}") from exc
    except es.NotFoundError as exc:
        raise NotFound(str(exc)) from exc
    except es.ConflictError as exc:
        raise Conflict(str(exc)) from exc
    except es.ApiError as exc:
        status = exc.meta.status
        if status == 429 or status >= 500:
            raise SearchUnavailable(f"Elasticsearch {status}: {exc.message}") from exc
        if "resource_already_exists_exception" in str(exc):
            raise Conflict(str(exc)) from exc
        raise SearchError(f"Elasticsearch {status}: {exc}") from exc
    except es.TransportError as exc:
        raise SearchUnavailable(f"Elasticsearch transport error: {exc}") from exc


def _compat_node_class(server_major: int) -> type[Urllib3HttpNode]:
    """A transport node that asks for `compatible-with=<server major>` instead of the client's own.

    The 9.x client always sends `compatible-with=9`, which an 8.x server refuses (400). Every API this
    store uses has the same shape in 8 and 9, so talking to an 8.x server only needs the header
    lowered; the rest of the client (product check, retries, typed APIs) stays as is.
    """
    client_tag = f"compatible-with={CLIENT_MAJOR}"
    server_tag = f"compatible-with={server_major}"

    class CompatNode(Urllib3HttpNode):
        def perform_request(self, method, target, body=None, headers=None, **kw):  # type: ignore[no-untyped-def]
            if headers is not None:
                headers = headers.copy()
                for name in ("accept", "content-type"):
                    if name in headers and client_tag in headers[name]:
                        headers[name] = headers[name].replace(client_tag, server_tag)
            return super().perform_request(method, target, body=body, headers=headers, **kw)

    return CompatNode


class ElasticsearchStore(SearchEngineStore):
    flavor = "elasticsearch"

    def __init__(
        self,
        url: str,
        *,
        username: str | None = None,
        password: str | None = None,
        verify_certs: bool = True,
        timeout_s: float = 30.0,
        prefix: str = "sweep",
        ensure: bool = False,
        refresh: bool | str = False,
        server_major: int | None = None,
    ) -> None:
        self.url = url
        extra: dict[str, Any] = {}
        if server_major is not None and server_major < 8:
            raise SearchError(f"Elasticsearch {server_major}.x is too old (8.x or {CLIENT_MAJOR}.x needed)")
        if server_major is not None and server_major != CLIENT_MAJOR:
            extra["node_class"] = _compat_node_class(server_major)
        self.client = Elasticsearch(
            url,
            basic_auth=(username, password or "") if username else None,
            verify_certs=verify_certs,
            request_timeout=timeout_s,
            max_retries=1,
            retry_on_timeout=False,
            serializer=OrjsonSerializer(),  # responses parsed with orjson (see opensearch.py)
            **extra,
        )
        super().__init__(prefix=prefix, ensure=ensure, refresh=refresh)

    def info(self) -> dict[str, Any]:
        try:
            with _errors():
                return dict(self.client.info())
        except SearchUnavailable:
            raise
        except SearchError:  # minimal distributions refuse GET /: same facts from _nodes/_local
            with _errors():
                node = next(iter(self.client.nodes.info(node_id="_local")["nodes"].values()))
            return {"version": {"number": node.get("version"), "build_flavor": node.get("build_flavor")}}

    def cluster_health(self) -> dict[str, Any]:
        with _errors():
            return dict(self.client.cluster.health())

    def analyze(self, body: dict[str, Any]) -> dict[str, Any]:
        with _errors():
            return dict(self.client.indices.analyze(body=body))

    def put_template(self, name: str, body: dict[str, Any]) -> None:
        with _errors():
            self.client.indices.put_index_template(name=name, body=body)

    def delete_template(self, name: str) -> None:
        with _errors():
            self.client.indices.delete_index_template(name=name)

    def exists(self, name: str) -> bool:
        with _errors():
            return bool(self.client.indices.exists(index=name))

    def get_indices(self, pattern: str) -> dict[str, Any]:
        with _errors():
            return dict(self.client.indices.get(index=pattern, allow_no_indices=True, ignore_unavailable=True))

    def create_index(self, name: str, body: dict[str, Any]) -> None:
        with _errors():
            self.client.indices.create(index=name, body=body)

    def delete_index(self, name: str) -> None:
        with _errors():
            self.client.indices.delete(index=name)

    def update_aliases(self, actions: list[dict[str, Any]]) -> None:
        with _errors():
            self.client.indices.update_aliases(actions=actions)

    def refresh_index(self, name: str) -> None:
        with _errors():
            self.client.indices.refresh(index=name)

    def update_index_settings(self, name: str, settings: dict[str, Any]) -> None:
        with _errors():
            self.client.indices.put_settings(index=name, settings=settings)

    def mget(self, index: str, ids: list[str]) -> list[dict[str, Any]]:
        with _errors():
            return list(self.client.mget(index=index, ids=ids, realtime=True)["docs"])

    def bulk(self, operations: list[dict[str, Any]], refresh: bool | str = False) -> dict[str, Any]:
        with _errors():
            body = ndjson(operations)
            filter_path = BULK_FILTER_PATH.split(",")
            if refresh:
                return dict(self.client.bulk(operations=body, refresh=refresh, filter_path=filter_path))  # type: ignore[arg-type]
            return dict(self.client.bulk(operations=body, filter_path=filter_path))  # type: ignore[arg-type]

    def search_raw(self, index: str, body: dict[str, Any]) -> dict[str, Any]:
        with _errors():
            return dict(self.client.search(index=index, body=body))

    def count_index(self, index: str) -> int:
        with _errors():
            return int(self.client.count(index=index)["count"])

    def get_doc(self, index: str, doc_id: str) -> dict[str, Any] | None:
        try:
            with _errors():
                return dict(self.client.get(index=index, id=doc_id))
        except NotFound:
            return None

    def update_doc(self, index: str, doc_id: str, doc: dict[str, Any], *, if_seq_no: int, if_primary_term: int) -> None:
        with _errors():
            self.client.update(
                index=index,
                id=doc_id,
                doc=doc,
                if_seq_no=if_seq_no,
                if_primary_term=if_primary_term,
                refresh="wait_for",
            )

    def reindex_server(self, source: str, dest: str) -> int:
        with _errors():
            result = self.client.options(request_timeout=3600).reindex(
                source={"index": source}, dest={"index": dest}, wait_for_completion=True, refresh=True
            )
        return int(result.get("total", 0))

    def scan(self, index: str) -> Iterator[dict[str, Any]]:
        with _errors():
            yield from helpers.scan(self.client, index=index, query={"query": {"match_all": {}}})

    def close(self) -> None:
        self.client.close()
