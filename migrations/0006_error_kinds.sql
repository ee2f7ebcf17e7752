-- The kinds of the errors of a run (JSON array of unavailable, throttled, authorization,
-- refused, local): sync health compares kinds, not texts, across runs.
ALTER TABLE SyncRuns ADD COLUMN ErrorKinds TEXT NOT NULL DEFAULT '[]';
