-- The dashboard served by gazelled: per-person accounts, invitations, sessions, one-time
-- login links. Tokens are stored as SHA-256 hashes: a copy of the database opens nothing.

CREATE TABLE WebUsers (
    Id           INTEGER PRIMARY KEY,
    Login        TEXT NOT NULL UNIQUE COLLATE NOCASE, -- an e-mail address
    Role         TEXT NOT NULL CHECK (Role IN ('owner', 'office', 'technician')),
    TechnicianId TEXT, -- the Gazelle `usr_…` id of a technician
    Language     TEXT NOT NULL DEFAULT 'fr' CHECK (Language IN ('fr', 'en')),
    PasswordHash TEXT, -- argon2id (PHC string); NULL: only one-time links log in
    FailedLogins INTEGER NOT NULL DEFAULT 0,
    LockedUntil  TEXT,
    CreatedAt    TEXT NOT NULL,
    CHECK (Role <> 'technician' OR TechnicianId IS NOT NULL)
);

CREATE TABLE WebInvitations (
    TokenHash    TEXT PRIMARY KEY,
    Login        TEXT NOT NULL,
    Role         TEXT NOT NULL CHECK (Role IN ('office', 'technician')),
    TechnicianId TEXT,
    Language     TEXT NOT NULL CHECK (Language IN ('fr', 'en')),
    InvitedBy    TEXT NOT NULL,
    CreatedAt    TEXT NOT NULL,
    ExpiresAt    TEXT NOT NULL,
    UsedAt       TEXT
) WITHOUT ROWID;

CREATE TABLE WebSessions (
    TokenHash TEXT PRIMARY KEY,
    UserId    INTEGER NOT NULL REFERENCES WebUsers (Id) ON DELETE CASCADE,
    CsrfToken TEXT NOT NULL,
    CreatedAt TEXT NOT NULL,
    ExpiresAt TEXT NOT NULL
) WITHOUT ROWID;

CREATE TABLE WebLoginLinks (
    TokenHash TEXT PRIMARY KEY,
    UserId    INTEGER NOT NULL REFERENCES WebUsers (Id) ON DELETE CASCADE,
    ExpiresAt TEXT NOT NULL
) WITHOUT ROWID;

-- Who resolved an alert by hand (the CLI's user, or the dashboard's account).
ALTER TABLE MaintenanceAlerts ADD COLUMN ResolvedBy TEXT;
