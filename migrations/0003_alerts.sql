-- What the alerts need: the durable e-mail queue and the alerts that are not maintenance
-- alerts.

-- The durable e-mail queue. A message is queued in the same transaction that creates its
-- alert, so neither exists without the other; the delivery worker sends it with backoff and
-- marks it sent, so a restart never sends a delivered message again.
CREATE TABLE EmailQueue (
    Id            INTEGER PRIMARY KEY,
    -- What makes two messages the same message (`maintenance:<alert>:<recipient>`,
    -- `unconfirmed:<event>:<technician>:<date>`): a detector that runs again queues nothing.
    DedupKey      TEXT NOT NULL UNIQUE,
    -- RFC 5322 Message-ID, the same on every attempt: a mail client shows a message that was
    -- accepted but not recorded (a crash at that very instant) once.
    MessageId     TEXT NOT NULL UNIQUE,
    -- Message-ID of the thread this message belongs to (a piano's alerts, a day's J-1), for
    -- `References` and `In-Reply-To`.
    ThreadId      TEXT,
    Kind          TEXT NOT NULL
                  CHECK (Kind IN ('maintenance', 'unconfirmed', 'low_stock', 'sync_health', 'digest', 'test')),
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
CREATE INDEX IX_EmailQueue_State_NextAttemptAt ON EmailQueue (State, NextAttemptAt);

-- Alerts other than maintenance: unconfirmed appointments (J-1), low stock, sync health,
-- local edits Gazelle refused (push).
-- At most one open alert per (Kind, Key): a condition that persists raises nothing new, and
-- one that clears and comes back raises again.
CREATE TABLE SystemAlerts (
    Id        INTEGER PRIMARY KEY,
    Kind      TEXT NOT NULL CHECK (Kind IN ('unconfirmed', 'low_stock', 'sync_health', 'push')),
    Key       TEXT NOT NULL,
    Severity  TEXT NOT NULL DEFAULT 'warning' CHECK (Severity IN ('warning', 'critical')),
    Summary   TEXT NOT NULL,
    Details   TEXT NOT NULL DEFAULT '{}', -- JSON
    RaisedAt  TEXT NOT NULL,
    ClearedAt TEXT
);
CREATE UNIQUE INDEX UX_SystemAlerts_Open ON SystemAlerts (Kind, Key) WHERE ClearedAt IS NULL;
CREATE INDEX IX_SystemAlerts_Kind ON SystemAlerts (Kind, ClearedAt);
