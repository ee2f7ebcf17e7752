-- Where a run's time goes: each stream's wall time, GraphQL requests sent (retries included)
-- and bytes of answers received. NULL for the runs logged before these were measured.
ALTER TABLE SyncRunStreams ADD COLUMN DurationMs INTEGER;
ALTER TABLE SyncRunStreams ADD COLUMN Requests INTEGER;
ALTER TABLE SyncRunStreams ADD COLUMN BytesReceived INTEGER;
