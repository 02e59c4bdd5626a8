"""The public contracts sweep shares with the product side and with other producers of listings.

`listing.schema.json` is the one canonical listing contract (JSON Schema 2020-12): spiders validate
against it, `sweep.models.Listing` mirrors it field for field (a test checks both ways), and a
platform's data feed can be checked with it before `sweep ingest`. The lead families and the
`sweep scan` output format are written down in `docs/taxonomy.md`; `sweep.models.FAMILIES` follows it.
"""

from __future__ import annotations

import json
from functools import cache
from importlib import resources
from typing import Any


@cache
def listing_schema() -> dict[str, Any]:
    """The listing contract as shipped inside the package (read once; callers must not mutate it)."""
    return json.loads(resources.files(__name__).joinpath("listing.schema.json").read_text(encoding="utf-8"))
