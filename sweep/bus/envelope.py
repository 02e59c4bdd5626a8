"""JSON envelopes on the bus: every value carries its kind and schema version so consumers can refuse
what they do not understand instead of misreading it."""

from __future__ import annotations

from typing import Any

import orjson
from pydantic import BaseModel

from sweep.models import SCHEMA_VERSION


class EnvelopeError(ValueError):
    """A message that cannot be decoded; the text says why (it goes to the dead-letter topic)."""


def encode(kind: str, payload: BaseModel | dict[str, Any]) -> bytes:
    body = payload.model_dump(mode="json") if isinstance(payload, BaseModel) else payload
    return orjson.dumps({"kind": kind, "schema_version": SCHEMA_VERSION, "payload": body})


def decode(value: bytes, expect_kind: str | None = None) -> tuple[str, dict[str, Any]]:
    try:
        doc = orjson.loads(value)
    except orjson.JSONDecodeError as exc:
        raise EnvelopeError(f"not JSON: {exc}") from exc
    if not isinstance(doc, dict) or "payload" not in doc or "kind" not in doc:
        raise EnvelopeError("not a sweep envelope (needs kind, schema_version, payload)")
    version = doc.get("schema_version")
    if version != SCHEMA_VERSION:
        raise EnvelopeError(f"unsupported schema_version {version!r} (this build reads {SCHEMA_VERSION})")
    kind = doc["kind"]
    if expect_kind is not None and kind != expect_kind:
        raise EnvelopeError(f"expected kind {expect_kind!r}, got {kind!r}")
    if not isinstance(doc["payload"], dict):
        raise EnvelopeError("payload is not an object")
    return kind, doc["payload"]
