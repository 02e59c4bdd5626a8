"""Per-server recipes: what each server needs (artifacts, configuration, command line, health check).

The supervisor in `services.manager` treats them alike; the order here is the order of `up` and `status`.
"""

from __future__ import annotations

from services.recipes import elasticsearch, kafka, opensearch, postgresql
from services.recipes.base import Recipe

RECIPES: dict[str, Recipe] = {
    r.name: r for r in (kafka.RECIPE, opensearch.RECIPE, elasticsearch.RECIPE, postgresql.RECIPE)
}

__all__ = ["RECIPES", "Recipe"]
