"""The ingest routes: media events, pose frames, analytics events and error reports into ClickHouse."""
