"""Real servers for development and tests (Kafka, OpenSearch, Elasticsearch) fetched from Maven Central.

Beside the house: only the composition root (`sweep services …`) and tests use it.
"""
