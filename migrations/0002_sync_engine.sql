-- What the pull sync needs beyond the initial schema.

-- Calendar events without a client (personal blocks, memos, synced calendars). The plan's
-- Appointments table requires a client, but a technician's long personal blocks matter for
-- the overlap check, so they are mirrored here rather than dropped.
CREATE TABLE OtherEvents (
    Id           INTEGER PRIMARY KEY,
    TechnicianId TEXT,
    EventType    TEXT NOT NULL,
    Title        TEXT,
    StartAt      TEXT NOT NULL, -- true UTC instant
    Duration     INTEGER,       -- minutes
    IsAllDay     INTEGER NOT NULL DEFAULT 0 CHECK (IsAllDay IN (0, 1)),
    Status       TEXT NOT NULL DEFAULT 'ACTIVE',
    Notes        TEXT,
    CreatedAt    TEXT,
    UpdatedAt    TEXT,
    DeletedAt    TEXT,
    ExternalId   TEXT UNIQUE
);
CREATE INDEX IX_OtherEvents_TechnicianId_StartAt ON OtherEvents (TechnicianId, StartAt);

-- The newest upstream createdAt seen by a completed pass: an incremental pass sorted by
-- CREATED_AT_DESC stops once it reaches records older than this.
ALTER TABLE SyncState ADD COLUMN HighWater TEXT;

-- Ids seen by the complete scan in progress, per stream. Written with each page (so a
-- resumed scan remembers what it saw before the crash) and swept at the end: a row of the
-- scanned range that was not seen was deleted upstream.
CREATE TABLE ReconcileSeen (
    Stream     TEXT NOT NULL,
    ExternalId TEXT NOT NULL,
    PRIMARY KEY (Stream, ExternalId)
) WITHOUT ROWID;

-- Mass deletions held back for confirmation by a later run.
CREATE TABLE HeldChanges (
    Id          INTEGER PRIMARY KEY,
    Stream      TEXT NOT NULL,
    Kind        TEXT NOT NULL CHECK (Kind IN ('deletions', 'cancellations')),
    Count       INTEGER NOT NULL,
    Fingerprint TEXT NOT NULL, -- digest of the ids concerned: a later run confirms the same set
    Sample      TEXT NOT NULL DEFAULT '[]', -- JSON: a few of the ids, for the report
    DetectedAt  TEXT NOT NULL,
    RunId       INTEGER REFERENCES SyncRuns (Id) ON DELETE SET NULL,
    ResolvedAt  TEXT,
    Resolution  TEXT CHECK (Resolution IN ('applied', 'discarded'))
);
CREATE INDEX IX_HeldChanges_Open ON HeldChanges (Stream, ResolvedAt);

-- Counts of rows protected by a pending local edit, and of conflicts, per run and stream.
ALTER TABLE SyncRunStreams ADD COLUMN Conflicts INTEGER NOT NULL DEFAULT 0;
