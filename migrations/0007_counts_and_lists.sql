-- The counts of a run per table, next to the per-stream ones: a stream writes more than one
-- table (clients and their contacts, invoices and their lines), and `status`/`runs` show
-- them apart rather than added together.
CREATE TABLE SyncRunTables (
    RunId INTEGER NOT NULL REFERENCES SyncRuns(Id) ON DELETE CASCADE,
    Stream TEXT NOT NULL,
    TableName TEXT NOT NULL,
    Inserted INTEGER NOT NULL DEFAULT 0,
    Updated INTEGER NOT NULL DEFAULT 0,
    Unchanged INTEGER NOT NULL DEFAULT 0,
    Rejected INTEGER NOT NULL DEFAULT 0,
    Conflicts INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (RunId, Stream, TableName)
) WITHOUT ROWID;

-- `alerts list` is read page by page, newest first (keyset on the observation date and
-- id): each page an index range, however many alerts a shop has.
CREATE INDEX IX_MaintenanceAlerts_DateObservation_Id ON MaintenanceAlerts (DateObservation, Id);
