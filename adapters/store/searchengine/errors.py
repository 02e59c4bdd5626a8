"""Errors of the search backends, independent of which client library raised them.

`SearchUnavailable` subclasses the builtin ConnectionError on purpose: the indexer (which imports no
search client) treats it as "the engine is down or overloaded, back off and retry the same batch".
"""

from __future__ import annotations


class SearchError(RuntimeError):
    """A request the engine refused for a reason retrying will not fix (bad mapping, bad query)."""


class SearchUnavailable(SearchError, ConnectionError):
    """Connection refused/reset, timeout, HTTP 5xx or 429: retry later."""


class Conflict(SearchError):
    """Optimistic concurrency lost (HTTP 409): re-read and try again."""


class NotFound(SearchError, KeyError):
    """The index or document does not exist."""
