"""The LeadStore port: where leads (and listings, complaints) are indexed, searched and triaged."""

from sweep.store.base import Facets, LeadQuery, LeadSearchResult, LeadStore, UpsertStats

__all__ = ["Facets", "LeadQuery", "LeadSearchResult", "LeadStore", "UpsertStats"]
