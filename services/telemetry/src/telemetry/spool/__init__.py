"""The write-ahead spool between the ingest routes and ClickHouse: the appender a route calls, the log on disk
and its record format, the committed records kept in memory, and the flusher that empties it into ClickHouse."""
