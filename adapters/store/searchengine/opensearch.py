"""OpenSearch backend (opensearch-py): translates the primitives of `SearchEngineStore`."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import orjson
from opensearchpy import JSONSerializer, OpenSearch, helpers
from opensearchpy import exceptions as osx

from adapters.store.searchengine.base import BULK_FILTER_PATH, SearchEngineStore, ndjson
from adapters.store.searchengine.errors import Conflict, NotFound, SearchError, SearchUnavailable


@contextmanager
def _errors() -> Iterator[None]:
    """Map opensearch-py exceptions to `search.errors` (connection/5xx/429 -> SearchUnavailable)."""
    try:
        yield
    except osx.ConnectionError as exc:  # includes ConnectionTimeout, SSLError
        raise SearchUnavailable(f"OpenSearch unreachable: {exc}") from exc
    except osx.NotFoundError as exc:
        raise NotFound(str(exc)) from exc
    except osx.ConflictError as exc:
        raise Conflict(str(exc)) from exc
    except osx.TransportError as exc:
        status = exc.status_code if isinstance(exc.status_code, int) else 0
        if status == 429 or status >= 500 or status == 0:
            raise SearchUnavailable(f"OpenSearch {status}: {exc.error}") from exc
        if exc.error == "resource_already_exists_exception":
            raise Conflict(str(exc)) from exc
        raise SearchError(f"OpenSearch {status} {exc.error}: {exc.info}") from exc


class _OrjsonSerializer(JSONSerializer):
    """Responses parsed with orjson: the client's stdlib json was a tenth of the indexer's CPU time."""

    def loads(self, s: str | bytes) -> Any:
        return orjson.loads(s)


class OpenSearchStore(SearchEngineStore):
    flavor = "opensearch"

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
    ) -> None:
        self.url = url
        self.client = OpenSearch(
            hosts=[url],
            http_auth=(username, password) if username else None,
            verify_certs=verify_certs,
            ssl_show_warn=verify_certs,
            timeout=timeout_s,
            max_retries=1,
            retry_on_timeout=False,
            http_compress=False,
            pool_maxsize=8,
            serializer=_OrjsonSerializer(),
        )
        super().__init__(prefix=prefix, ensure=ensure, refresh=refresh)

    def info(self) -> dict[str, Any]:
        with _errors():
            return self.client.info()

    def cluster_health(self) -> dict[str, Any]:
        with _errors():
            return dict(self.client.cluster.health())

    def analyze(self, body: dict[str, Any]) -> dict[str, Any]:
        with _errors():
            return self.client.indices.analyze(body=body)

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
            return self.client.indices.get(
                index=pattern, params={"allow_no_indices": "true", "ignore_unavailable": "true"}
            )

    def create_index(self, name: str, body: dict[str, Any]) -> None:
        with _errors():
            self.client.indices.create(index=name, body=body)

    def delete_index(self, name: str) -> None:
        with _errors():
            self.client.indices.delete(index=name)

    def update_aliases(self, actions: list[dict[str, Any]]) -> None:
        with _errors():
            self.client.indices.update_aliases(body={"actions": actions})

    def refresh_index(self, name: str) -> None:
        with _errors():
            self.client.indices.refresh(index=name)

    def update_index_settings(self, name: str, settings: dict[str, Any]) -> None:
        with _errors():
            self.client.indices.put_settings(index=name, body=settings)

    def mget(self, index: str, ids: list[str]) -> list[dict[str, Any]]:
        with _errors():
            return self.client.mget(index=index, body={"ids": ids}, params={"realtime": "true"})["docs"]

    def bulk(self, operations: list[dict[str, Any]], refresh: bool | str = False) -> dict[str, Any]:
        params = {"filter_path": BULK_FILTER_PATH}
        if refresh:
            params["refresh"] = str(refresh).lower()
        with _errors():
            return self.client.bulk(body=ndjson(operations), params=params)

    def search_raw(self, index: str, body: dict[str, Any]) -> dict[str, Any]:
        with _errors():
            return self.client.search(index=index, body=body)

    def count_index(self, index: str) -> int:
        with _errors():
            return int(self.client.count(index=index)["count"])

    def get_doc(self, index: str, doc_id: str) -> dict[str, Any] | None:
        try:
            with _errors():
                return self.client.get(index=index, id=doc_id)
        except NotFound:
            return None

    def update_doc(self, index: str, doc_id: str, doc: dict[str, Any], *, if_seq_no: int, if_primary_term: int) -> None:
        params = {"if_seq_no": if_seq_no, "if_primary_term": if_primary_term, "refresh": "wait_for"}
        with _errors():
            self.client.update(index=index, id=doc_id, body={"doc": doc}, params=params)

    def reindex_server(self, source: str, dest: str) -> int:
        with _errors():
            result = self.client.reindex(
                body={"source": {"index": source}, "dest": {"index": dest}},
                params={"wait_for_completion": "true", "refresh": "true", "request_timeout": 3600},
            )
        return int(result.get("total", 0))

    def scan(self, index: str) -> Iterator[dict[str, Any]]:
        with _errors():
            yield from helpers.scan(self.client, index=index, query={"query": {"match_all": {}}})

    def close(self) -> None:
        self.client.close()
