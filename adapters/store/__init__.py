"""LeadStore adapters: `sqlite.SqliteLeadStore` (embedded) and `searchengine` (Elasticsearch/OpenSearch)."""
