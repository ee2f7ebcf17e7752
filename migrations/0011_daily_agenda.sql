-- The daily agenda ("ma journée"): one e-mail per technician per working day, with the day
-- as an .ics attachment, re-sent only when the day changed.

-- EmailQueue gains the kinds `agenda` and `invitation` (to the dashboard, 0012): SQLite cannot alter a CHECK, so the table is rebuilt
-- (nothing referenced it before EmailAttachments below).
CREATE TABLE EmailQueue_new (
    Id            INTEGER PRIMARY KEY,
    DedupKey      TEXT NOT NULL UNIQUE,
    MessageId     TEXT NOT NULL UNIQUE,
    ThreadId      TEXT,
    Kind          TEXT NOT NULL
                  CHECK (Kind IN ('maintenance', 'unconfirmed', 'low_stock', 'sync_health', 'digest', 'test', 'change', 'agenda', 'invitation')),
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

-- Files sent with a queued message, written in the transaction that queues it.
CREATE TABLE EmailAttachments (
    EmailId     INTEGER NOT NULL REFERENCES EmailQueue (Id) ON DELETE CASCADE,
    Position    INTEGER NOT NULL,
    FileName    TEXT NOT NULL,
    ContentType TEXT NOT NULL,
    Body        TEXT NOT NULL,
    PRIMARY KEY (EmailId, Position)
) WITHOUT ROWID;

-- The last agenda queued for each (technician, shop-local day): what it said (a fingerprint
-- of its facts) and the first message's id, which updates thread under.
CREATE TABLE AgendasSent (
    TechnicianId   TEXT NOT NULL,
    Day            TEXT NOT NULL, -- YYYY-MM-DD in business.timezone
    Fingerprint    TEXT NOT NULL,
    FirstMessageId TEXT NOT NULL,
    Updates        INTEGER NOT NULL DEFAULT 0,
    QueuedAt       TEXT NOT NULL,
    PRIMARY KEY (TechnicianId, Day)
) WITHOUT ROWID;

-- The agenda reads each piano's last service note and open alerts.
CREATE INDEX IX_TimelineEntries_PianoId_OccurredAt ON TimelineEntries (PianoId, OccurredAt);
CREATE INDEX IX_MaintenanceAlerts_PianoId ON MaintenanceAlerts (PianoId);
