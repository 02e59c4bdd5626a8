"""Consumer loops over the Bus port: the indexer (leads and listings into the LeadStore) and the detector
(listings through the rulebook into lead events, `consumers.detector`, built on the indexer's loop)."""
