"""Bus adapters: `sqlite.SqliteBus` (embedded, several processes on one file) and `kafka.KafkaBus`."""
