-- Appointment-change notices (RULES.md, "Appointment changes within the week").
--
-- Changes are captured by triggers, in the transaction of whatever wrote the row: a pulled
-- page, the sweep that tombstones an appointment Gazelle no longer has, an edit on the Mac,
-- the push's write-back. Nothing that changes an appointment can skip the journal, and a
-- crash loses the change and its journal line together or neither. The notice sweep
-- (`alerts::changes`) reads each line once, by id.
CREATE TABLE AppointmentChangeJournal (
    -- AUTOINCREMENT: lines read are deleted, and an id must never come back below the
    -- sweep's mark.
    Id              INTEGER PRIMARY KEY AUTOINCREMENT,
    AppointmentId   INTEGER NOT NULL,
    EventType       TEXT NOT NULL,
    OldTechnicianId TEXT,     -- NULL: the appointment is new
    NewTechnicianId TEXT NOT NULL,
    OldStartAt      TEXT,
    NewStartAt      TEXT NOT NULL,
    OldStatus       TEXT,
    NewStatus       TEXT NOT NULL,
    OldDeleted      INTEGER NOT NULL,
    NewDeleted      INTEGER NOT NULL
);

-- The first sync of a new database (and the V4 import before it) is history, not news:
-- nothing is journalled until the events stream has completed a pass once.
CREATE TRIGGER TR_Appointments_JournalInsert AFTER INSERT ON Appointments
WHEN EXISTS (SELECT 1 FROM SyncState WHERE Stream = 'events' AND LastSuccessAt IS NOT NULL)
BEGIN
    INSERT INTO AppointmentChangeJournal (AppointmentId, EventType, OldTechnicianId,
        NewTechnicianId, OldStartAt, NewStartAt, OldStatus, NewStatus, OldDeleted, NewDeleted)
    VALUES (NEW.Id, NEW.EventType, NULL, NEW.TechnicianId, NULL, NEW.StartAt, NULL,
        NEW.AppointmentStatus, 0, NEW.DeletedAt IS NOT NULL);
END;

CREATE TRIGGER TR_Appointments_JournalUpdate
AFTER UPDATE OF TechnicianId, StartAt, AppointmentStatus, DeletedAt ON Appointments
WHEN (OLD.TechnicianId IS NOT NEW.TechnicianId OR OLD.StartAt IS NOT NEW.StartAt
      OR OLD.AppointmentStatus IS NOT NEW.AppointmentStatus
      OR (OLD.DeletedAt IS NULL) <> (NEW.DeletedAt IS NULL))
 AND EXISTS (SELECT 1 FROM SyncState WHERE Stream = 'events' AND LastSuccessAt IS NOT NULL)
BEGIN
    INSERT INTO AppointmentChangeJournal (AppointmentId, EventType, OldTechnicianId,
        NewTechnicianId, OldStartAt, NewStartAt, OldStatus, NewStatus, OldDeleted, NewDeleted)
    VALUES (NEW.Id, NEW.EventType, OLD.TechnicianId, NEW.TechnicianId, OLD.StartAt,
        NEW.StartAt, OLD.AppointmentStatus, NEW.AppointmentStatus, OLD.DeletedAt IS NOT NULL,
        NEW.DeletedAt IS NOT NULL);
END;

-- How far the sweep has read the journal (one row).
CREATE TABLE AppointmentChangeSweep (
    Id            INTEGER PRIMARY KEY CHECK (Id = 1),
    LastJournalId INTEGER NOT NULL
);
INSERT INTO AppointmentChangeSweep (Id, LastJournalId) VALUES (1, 0);

-- Notices waiting for their time (the night's are held until 07:05), one per (appointment,
-- technician): later changes collapse into it and it states the final result.
CREATE TABLE AppointmentNotices (
    AppointmentId   INTEGER NOT NULL,
    TechnicianId    TEXT NOT NULL,
    Change          TEXT NOT NULL
                    CHECK (Change IN ('new', 'reassigned', 'rescheduled', 'cancelled', 'deleted')),
    StartAt         TEXT NOT NULL,
    PreviousStartAt TEXT,
    DueAt           TEXT NOT NULL,
    PRIMARY KEY (AppointmentId, TechnicianId)
) WITHOUT ROWID;

-- EmailQueue gains the kind `change`: SQLite cannot alter a CHECK, so the table is rebuilt
-- (nothing references it).
CREATE TABLE EmailQueue_new (
    Id            INTEGER PRIMARY KEY,
    DedupKey      TEXT NOT NULL UNIQUE,
    MessageId     TEXT NOT NULL UNIQUE,
    ThreadId      TEXT,
    Kind          TEXT NOT NULL
                  CHECK (Kind IN ('maintenance', 'unconfirmed', 'low_stock', 'sync_health', 'digest', 'test', 'change')),
    AlertId       INTEGER REFERENCES MaintenanceAlerts (Id) ON DELETE SET NULL,
    SystemAlertId INTEGER REFERENCES SystemAlerts (Id) ON DELETE SET NULL,
    Recipient     TEXT NOT NULL,
    Language      TEXT NOT NULL CHECK (Language IN ('fr', 'en')),
    Subject       TEXT NOT NULL,
    BodyText      TEXT NOT NULL,
    BodyHtml      TEXT NOT NULL,
    State         TEXT NOT NULL DEFAULT 'pending'
                  CHECK (State IN ('pending', 'sending', 'sent', 'dead')),
    Attempts      INTEGER NOT NULL DEFAULT 0,
    NextAttemptAt TEXT NOT NULL,
    LastError     TEXT,
    CreatedAt     TEXT NOT NULL,
    SentAt        TEXT
);
INSERT INTO EmailQueue_new SELECT * FROM EmailQueue;
DROP TABLE EmailQueue;
ALTER TABLE EmailQueue_new RENAME TO EmailQueue;
CREATE INDEX IX_EmailQueue_State_NextAttemptAt ON EmailQueue (State, NextAttemptAt);
