"""Consumer loops over the Bus port: the indexer (leads and listings into the LeadStore)."""
