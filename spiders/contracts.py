"""Scrapy contracts of sweep's own, for `scrapy check` (registered in `SPIDER_CONTRACTS`).

Scrapy's `@url` takes an absolute URL, which would tie a spider's docstrings to one host and port;
sweep's spiders crawl whatever `base_url` they are given (the demo mall on any port, a platform's test
mirror), so `@path` names the sample page relative to it. `@listing` checks what matters about a
detail or shop callback: the listing it yields, or carries to the next page in `cb_kwargs`, has the
named fields filled in.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from scrapy import Request
from scrapy.contracts import Contract
from scrapy.exceptions import ContractFail


class PathContract(Contract):
    """`@path /item/DM000001.html`: the sample request is that path under the spider's `base_url`."""

    name = "path"

    def __init__(self, method: Callable[..., Any], *args: Any) -> None:
        super().__init__(method, *args)
        self.method = method

    def adjust_request_args(self, args: dict[str, Any]) -> dict[str, Any]:
        spider = getattr(self.method, "__self__", None)
        base = getattr(spider, "base_url", None)
        if not base:
            raise ValueError("@path needs a spider with base_url (-a base_url=... or the spider's URL setting)")
        args["url"] = base.rstrip("/") + "/" + self.args[0].lstrip("/")
        return args


def _value(doc: dict[str, Any], dotted: str) -> Any:
    value: Any = doc
    for part in dotted.split("."):
        value = value.get(part) if isinstance(value, dict) else None
    return value


class ListingContract(Contract):
    """`@listing title price shop.region`: the callback produced at least one listing (an item, or a
    request carrying it as `cb_kwargs["listing"]`) and each named field, dotted for nested ones, is
    neither missing nor empty."""

    name = "listing"

    def post_process(self, output: list[Any]) -> None:
        listings = [o for o in output if isinstance(o, dict)]
        listings += [
            r.cb_kwargs["listing"]
            for r in output
            if isinstance(r, Request) and isinstance(r.cb_kwargs.get("listing"), dict)
        ]
        if not listings:
            raise ContractFail("no listing yielded or carried to the next request")
        for doc in listings:
            missing = [name for name in self.args if _value(doc, name) in (None, "", [], {})]
            if missing:
                raise ContractFail(f"listing {doc.get('listing_id')!r} lacks {', '.join(missing)}")
