-- Assistant Gazelle V5: the initial schema.
--
-- Table and column names of the migration plan are kept exactly (PascalCase), because the
-- shop's V4 queries and reports use them. Every column added beyond the plan carries a
-- comment saying why.
--
-- Conventions (see ARCHITECTURE.md, "Invariants"):
--   * `Id` is the local integer key; `ExternalId` is the upstream (Gazelle or V4) string id,
--     opaque, UNIQUE (the UNIQUE constraint is the ExternalId index of the plan).
--   * Times are UTC text `YYYY-MM-DDTHH:MM:SSZ`; dates are `YYYY-MM-DD` (Montreal local day).
--   * Money: `<Name>Cents INTEGER` is the source of truth. The plan's dollar column `<Name>`
--     is kept for legacy reports and is derived from it; a CHECK constraint ties the two so
--     they can never diverge. Never sum or compare the dollar columns where exactness
--     matters: use the cents.
--   * Upstream deletions are tombstoned (`DeletedAt`), never hard-deleted, because a record
--     can vanish upstream by mistake and the shop's history must survive it.
--   * `Local*` columns exist only on this Mac; the sync never writes them.

-- Technicians and staff, from Gazelle `allUsers`. Not in the plan: alert routing,
-- appointments and inventory refer to technicians by their `usr_…` id and need names.
CREATE TABLE Users (
    Id            INTEGER PRIMARY KEY,
    FirstName     TEXT,
    LastName      TEXT,
    Email         TEXT,
    Status        TEXT,
    AccessLevel   TEXT,
    IsSchedulable INTEGER NOT NULL DEFAULT 0 CHECK (IsSchedulable IN (0, 1)),
    Timezone      TEXT,
    CreatedAt     TEXT,
    UpdatedAt     TEXT,
    DeletedAt     TEXT, -- tombstone: the user vanished from `allUsers`
    ExternalId    TEXT UNIQUE
);

CREATE TABLE Clients (
    Id               INTEGER PRIMARY KEY,
    CompanyName      TEXT NOT NULL,
    FirstName        TEXT,
    LastName         TEXT,
    Status           TEXT NOT NULL DEFAULT 'ACTIVE',
    Tags             TEXT,
    -- Local id of the default contact. Contacts are stored after their client, so the
    -- link is resolved through DefaultContactExternalId (see the trigger below).
    DefaultContactId INTEGER REFERENCES Contacts (Id) ON DELETE SET NULL,
    Email            TEXT,
    Phone            TEXT,
    Address          TEXT,
    CreatedAt        TEXT,
    UpdatedAt        TEXT,
    ExternalId       TEXT UNIQUE,
    -- Added: upstream id of the default contact, kept so the link resolves whichever of
    -- client and contact arrives first.
    DefaultContactExternalId TEXT,
    -- Added: Gazelle `clientType`; institutional clients are treated differently.
    ClientType       TEXT,
    -- Added: tombstone for a client that vanished upstream.
    DeletedAt        TEXT,
    -- Added, local only: the shop's own notes and tags, never overwritten by a pull.
    LocalNotes       TEXT,
    LocalTags        TEXT
);
CREATE INDEX IX_Clients_Status ON Clients (Status);
CREATE INDEX IX_Clients_DefaultContactExternalId ON Clients (DefaultContactExternalId);

CREATE TABLE Contacts (
    Id         INTEGER PRIMARY KEY,
    ClientId   INTEGER NOT NULL REFERENCES Clients (Id) ON DELETE CASCADE,
    FirstName  TEXT,
    LastName   TEXT,
    Email      TEXT,
    Phone      TEXT,
    ExternalId TEXT UNIQUE,
    -- Added: Gazelle has `updatedAt` on contacts; reconcile compares on it.
    UpdatedAt  TEXT,
    -- Added: tombstone for a contact that vanished upstream.
    DeletedAt  TEXT
);
CREATE INDEX IX_Contacts_ClientId ON Contacts (ClientId);

-- When a contact is stored, the client that names it as default gets its local id.
CREATE TRIGGER TR_Contacts_LinkDefault AFTER INSERT ON Contacts
WHEN NEW.ExternalId IS NOT NULL
BEGIN
    UPDATE Clients SET DefaultContactId = NEW.Id
    WHERE DefaultContactExternalId = NEW.ExternalId
      AND DefaultContactId IS NOT NEW.Id;
END;

CREATE TABLE Pianos (
    Id           INTEGER PRIMARY KEY,
    ClientId     INTEGER NOT NULL REFERENCES Clients (Id) ON DELETE CASCADE,
    Make         TEXT NOT NULL,
    Model        TEXT,
    SerialNumber TEXT,
    Type         TEXT,
    Year         INTEGER,
    Location     TEXT,
    Notes        TEXT,
    ExternalId   TEXT UNIQUE, -- Gazelle `ins_…` (older V4 notes say `pno_…`)
    -- Added: Gazelle PianoStatus (ACTIVE, INACTIVE, …); unknown values are kept as text.
    Status       TEXT,
    -- Added: `damppChaserInstalled`; humidity alerts for these pianos matter most.
    HasHumidityControl INTEGER NOT NULL DEFAULT 0 CHECK (HasHumidityControl IN (0, 1)),
    -- Added: upstream timestamps (reconcile compares on UpdatedAt) and tombstone.
    CreatedAt    TEXT,
    UpdatedAt    TEXT,
    DeletedAt    TEXT,
    -- Added, local only: never overwritten by a pull.
    LocalNotes   TEXT
);
CREATE INDEX IX_Pianos_ClientId ON Pianos (ClientId);

-- Derived locally from technicians' service notes; Gazelle has no such data.
-- ClientId has no ON DELETE action on purpose: alert history is kept.
CREATE TABLE MaintenanceAlerts (
    Id              INTEGER PRIMARY KEY,
    ClientId        INTEGER NOT NULL REFERENCES Clients (Id),
    PianoId         INTEGER REFERENCES Pianos (Id) ON DELETE SET NULL,
    DateObservation TEXT NOT NULL,
    Location        TEXT,
    AlertType       TEXT NOT NULL,
    Description     TEXT,
    IsResolved      INTEGER DEFAULT 0 CHECK (IsResolved IN (0, 1)),
    ResolvedDate    TEXT,
    Archived        INTEGER DEFAULT 0 CHECK (Archived IN (0, 1)),
    Notes           TEXT,
    RecipientEmail  TEXT,
    CreatedBy       TEXT, -- the technician's `usr_…` id
    CreatedAt       TEXT,
    UpdatedAt       TEXT,
    ExternalId      TEXT UNIQUE -- `<timeline entry id>:<family>`: one alert per (entry, family)
);
CREATE INDEX IX_MaintenanceAlerts_ClientId ON MaintenanceAlerts (ClientId);
CREATE INDEX IX_MaintenanceAlerts_IsResolved ON MaintenanceAlerts (IsResolved);

-- The catalogue: Gazelle master service items, plus local-only supplies (ExternalId NULL).
CREATE TABLE Products (
    Id               INTEGER PRIMARY KEY,
    Name             TEXT NOT NULL,
    Sku              TEXT UNIQUE, -- local only: Gazelle items have no SKU
    Description      TEXT,
    UnitCost         NUMERIC DEFAULT 0, -- legacy dollars, derived from UnitCostCents
    RetailPrice      NUMERIC DEFAULT 0, -- legacy dollars, derived from RetailPriceCents
    Active           INTEGER DEFAULT 1 CHECK (Active IN (0, 1)),
    CreatedAt        TEXT,
    ExternalId       TEXT UNIQUE, -- Gazelle `mit_…`
    -- Added: exact money. UnitCost is local only (Gazelle has no cost price).
    UnitCostCents    INTEGER NOT NULL DEFAULT 0,
    RetailPriceCents INTEGER NOT NULL DEFAULT 0,
    -- Added: MasterServiceItemType and the item's group, for the catalogue views.
    Type             TEXT,
    GroupName        TEXT,
    UpdatedAt        TEXT,
    DeletedAt        TEXT,
    CHECK (UnitCost = UnitCostCents / 100.0),
    CHECK (RetailPrice = RetailPriceCents / 100.0)
);

-- Stock per technician (truck) and product. Local data: Gazelle has none.
-- ReorderThreshold keeps the plan's DEFAULT 0; the inventory manager fills in the
-- configured default (5, per RULES.md) when it creates a row.
CREATE TABLE Inventory (
    Id               INTEGER PRIMARY KEY,
    ProductId        INTEGER NOT NULL REFERENCES Products (Id) ON DELETE CASCADE,
    TechnicianId     TEXT NOT NULL,
    Quantity         INTEGER DEFAULT 0 CHECK (Quantity >= 0),
    ReorderThreshold INTEGER DEFAULT 0 CHECK (ReorderThreshold >= 0),
    UpdatedAt        TEXT,
    -- Added: one stock line per (product, technician).
    UNIQUE (ProductId, TechnicianId)
);

CREATE TABLE Invoices (
    Id            INTEGER PRIMARY KEY,
    ClientId      INTEGER NOT NULL REFERENCES Clients (Id) ON DELETE CASCADE,
    Number        TEXT NOT NULL, -- Gazelle's is an integer; V4's may carry a prefix
    InvoiceDate   TEXT NOT NULL,
    Status        TEXT NOT NULL DEFAULT 'UNPAID',
    SubTotal      NUMERIC NOT NULL DEFAULT 0, -- legacy dollars, derived from SubTotalCents
    Total         NUMERIC NOT NULL DEFAULT 0, -- legacy dollars, derived from TotalCents
    Notes         TEXT,
    CreatedAt     TEXT,
    DueOn         TEXT,
    ExternalId    TEXT UNIQUE,
    -- Added: exact money (Gazelle sends integer cents), taxes carried explicitly.
    SubTotalCents INTEGER NOT NULL DEFAULT 0,
    TaxTotalCents INTEGER NOT NULL DEFAULT 0,
    TotalCents    INTEGER NOT NULL DEFAULT 0,
    -- Added: Gazelle `assignedTo` (`usr_…`), the technician the invoice belongs to.
    AssignedToId  TEXT,
    UpdatedAt     TEXT,
    DeletedAt     TEXT,
    LocalNotes    TEXT, -- local only
    CHECK (SubTotal = SubTotalCents / 100.0),
    CHECK (Total = TotalCents / 100.0)
);
CREATE INDEX IX_Invoices_ClientId ON Invoices (ClientId);
CREATE INDEX IX_Invoices_Status ON Invoices (Status);

-- Gazelle's item `amount` is the unit price: it feeds UnitPrice; Amount is the line's
-- amount before tax (quantity × unit price, Gazelle `subTotal`); Total includes taxes.
CREATE TABLE InvoiceItems (
    Id                 INTEGER PRIMARY KEY,
    InvoiceId          INTEGER NOT NULL REFERENCES Invoices (Id) ON DELETE CASCADE,
    PianoId            INTEGER REFERENCES Pianos (Id) ON DELETE SET NULL,
    Description        TEXT NOT NULL,
    Quantity           NUMERIC NOT NULL DEFAULT 1, -- legacy, derived from QuantityHundredths
    Amount             NUMERIC,                    -- legacy dollars, derived from AmountCents
    UnitPrice          NUMERIC,                    -- legacy dollars, derived from UnitPriceCents
    Total              NUMERIC NOT NULL DEFAULT 0, -- legacy dollars, derived from TotalCents
    -- Added: Gazelle invoice items have ids; re-pulls update in place.
    ExternalId         TEXT UNIQUE,
    -- Added: exact quantities (Gazelle sends hundredths: 100 = 1) and money.
    QuantityHundredths INTEGER NOT NULL DEFAULT 100,
    AmountCents        INTEGER,
    UnitPriceCents     INTEGER,
    TaxTotalCents      INTEGER NOT NULL DEFAULT 0,
    TotalCents         INTEGER NOT NULL DEFAULT 0,
    -- Added: InvoiceItemType, tax and billing flags, and line order.
    Type               TEXT,
    Taxable            INTEGER NOT NULL DEFAULT 0 CHECK (Taxable IN (0, 1)),
    Billable           INTEGER NOT NULL DEFAULT 1 CHECK (Billable IN (0, 1)),
    SequenceNumber     INTEGER,
    DeletedAt          TEXT,
    CHECK (Quantity = QuantityHundredths / 100.0),
    CHECK (Amount IS AmountCents / 100.0),
    CHECK (UnitPrice IS UnitPriceCents / 100.0),
    CHECK (Total = TotalCents / 100.0)
);
CREATE INDEX IX_InvoiceItems_InvoiceId ON InvoiceItems (InvoiceId);

-- Gazelle events. TechnicianId is the `usr_…` id of the one technician of the event.
CREATE TABLE Appointments (
    Id                INTEGER PRIMARY KEY,
    ClientId          INTEGER NOT NULL REFERENCES Clients (Id) ON DELETE CASCADE,
    TechnicianId      TEXT NOT NULL,
    PianoId           INTEGER REFERENCES Pianos (Id) ON DELETE SET NULL,
    Description       TEXT, -- the event's title
    AppointmentStatus TEXT NOT NULL DEFAULT 'ACTIVE',
    EventType         TEXT NOT NULL DEFAULT 'APPOINTMENT',
    StartAt           TEXT NOT NULL, -- true UTC instant
    Duration          INTEGER,       -- minutes
    IsAllDay          INTEGER DEFAULT 0 CHECK (IsAllDay IN (0, 1)),
    Notes             TEXT,
    ConfirmedByClient INTEGER DEFAULT 0 CHECK (ConfirmedByClient IN (0, 1)),
    ExternalId        TEXT UNIQUE,
    -- Added: upstream timestamps (reconcile compares on UpdatedAt) and tombstone.
    CreatedAt         TEXT,
    UpdatedAt         TEXT,
    DeletedAt         TEXT,
    LocalNotes        TEXT -- local only
);
CREATE INDEX IX_Appointments_ClientId ON Appointments (ClientId);
CREATE INDEX IX_Appointments_StartAt ON Appointments (StartAt);
CREATE INDEX IX_Appointments_TechnicianId_StartAt ON Appointments (TechnicianId, StartAt);

-- InvoiceId and EstimateId keep the upstream string ids, without a foreign key: estimates
-- are not mirrored, and an entry may be pulled before the invoice it mentions.
CREATE TABLE TimelineEntries (
    Id         INTEGER PRIMARY KEY,
    ClientId   INTEGER NOT NULL REFERENCES Clients (Id) ON DELETE CASCADE,
    PianoId    INTEGER REFERENCES Pianos (Id) ON DELETE SET NULL,
    InvoiceId  TEXT,
    EstimateId TEXT,
    OccurredAt TEXT NOT NULL,
    EntryType  TEXT NOT NULL,
    Title      TEXT, -- Gazelle `summary`
    Details    TEXT, -- Gazelle `comment`
    UserId     TEXT,
    ExternalId TEXT UNIQUE, -- `tme_…`
    -- Added: tombstone; Gazelle has no updatedAt on timeline entries.
    DeletedAt  TEXT
);
CREATE INDEX IX_TimelineEntries_ClientId ON TimelineEntries (ClientId);
CREATE INDEX IX_TimelineEntries_OccurredAt ON TimelineEntries (OccurredAt);

-- ---------------------------------------------------------------------------------------
-- The program's own bookkeeping.
-- ---------------------------------------------------------------------------------------

-- One row per sync stream: where the stream stands. Written in the same transaction as
-- the page it describes, so a crash can never separate data from cursor.
CREATE TABLE SyncState (
    Stream        TEXT PRIMARY KEY,
    Mode          TEXT,    -- mode of the run in progress (full, incremental, reconcile)
    Cursor        TEXT,    -- Relay `endCursor` of the last applied page; NULL = start
    RunId         INTEGER REFERENCES SyncRuns (Id) ON DELETE SET NULL, -- run that set Cursor
    WindowStart   TEXT,    -- lower bound of the incremental window in progress
    LastSuccessAt TEXT,
    LastFailureAt TEXT,
    LastError     TEXT,
    UpdatedAt     TEXT NOT NULL
);

-- The sync-run log: one row per run.
CREATE TABLE SyncRuns (
    Id         INTEGER PRIMARY KEY,
    StartedAt  TEXT NOT NULL,
    FinishedAt TEXT,
    Trigger    TEXT NOT NULL CHECK (Trigger IN ('schedule', 'manual', 'startup', 'catch-up')),
    Mode       TEXT NOT NULL CHECK (Mode IN ('full', 'incremental', 'reconcile')),
    Status     TEXT NOT NULL DEFAULT 'running'
               CHECK (Status IN ('running', 'succeeded', 'partial', 'failed', 'interrupted')),
    DurationMs INTEGER,
    Errors     TEXT NOT NULL DEFAULT '[]' -- JSON array, capped by the writer
);
CREATE INDEX IX_SyncRuns_StartedAt ON SyncRuns (StartedAt);

-- Per-run, per-stream counts.
CREATE TABLE SyncRunStreams (
    RunId      INTEGER NOT NULL REFERENCES SyncRuns (Id) ON DELETE CASCADE,
    Stream     TEXT NOT NULL,
    Fetched    INTEGER NOT NULL DEFAULT 0,
    Inserted   INTEGER NOT NULL DEFAULT 0,
    Updated    INTEGER NOT NULL DEFAULT 0,
    Deleted    INTEGER NOT NULL DEFAULT 0,
    Unchanged  INTEGER NOT NULL DEFAULT 0,
    Rejected   INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (RunId, Stream)
);

-- Local edits waiting to be pushed, written in the same transaction as the edit.
CREATE TABLE Outbox (
    Id             INTEGER PRIMARY KEY,
    Operation      TEXT NOT NULL CHECK (Operation IN ('create', 'update', 'delete', 'action')),
    Entity         TEXT NOT NULL, -- local table name
    LocalId        INTEGER NOT NULL,
    Payload        TEXT NOT NULL, -- JSON
    BaseUpdatedAt  TEXT,          -- upstream updatedAt the edit was based on
    IdempotencyKey TEXT NOT NULL UNIQUE,
    Attempts       INTEGER NOT NULL DEFAULT 0,
    NextAttemptAt  TEXT,
    LastError      TEXT,
    State          TEXT NOT NULL DEFAULT 'pending'
                   CHECK (State IN ('pending', 'in_flight', 'done', 'dead')),
    CreatedAt      TEXT NOT NULL,
    UpdatedAt      TEXT NOT NULL
);
CREATE INDEX IX_Outbox_State_NextAttemptAt ON Outbox (State, NextAttemptAt);
CREATE INDEX IX_Outbox_Entity_LocalId ON Outbox (Entity, LocalId);

-- A real divergence between a local edit and an upstream change, kept until settled.
CREATE TABLE Conflicts (
    Id            INTEGER PRIMARY KEY,
    Entity        TEXT NOT NULL,
    LocalId       INTEGER NOT NULL,
    ExternalId    TEXT,
    OutboxId      INTEGER REFERENCES Outbox (Id) ON DELETE SET NULL,
    LocalVersion  TEXT NOT NULL, -- JSON
    RemoteVersion TEXT NOT NULL, -- JSON
    Fields        TEXT NOT NULL DEFAULT '[]', -- JSON: names of the fields that differ
    DetectedAt    TEXT NOT NULL,
    ResolvedAt    TEXT,
    Resolution    TEXT CHECK (Resolution IN ('local', 'remote', 'merged'))
);
CREATE INDEX IX_Conflicts_Open ON Conflicts (ResolvedAt);

-- Every stock movement, with before/after quantities, reason and author.
CREATE TABLE InventoryTransactions (
    Id             INTEGER PRIMARY KEY,
    ProductId      INTEGER NOT NULL REFERENCES Products (Id) ON DELETE CASCADE,
    TechnicianId   TEXT NOT NULL,
    Kind           TEXT NOT NULL
                   CHECK (Kind IN ('add', 'remove', 'transfer_in', 'transfer_out', 'correction', 'consumption')),
    QuantityBefore INTEGER NOT NULL,
    QuantityAfter  INTEGER NOT NULL CHECK (QuantityAfter >= 0),
    Reason         TEXT,
    Author         TEXT NOT NULL,
    TransferId     TEXT,          -- pairs the two halves of a transfer
    InvoiceExternalId TEXT,       -- consumption derived from this invoice
    OccurredAt     TEXT NOT NULL
);
CREATE INDEX IX_InventoryTransactions_Product_Tech ON InventoryTransactions (ProductId, TechnicianId);
-- Each invoice line is counted once for consumption.
CREATE UNIQUE INDEX UX_InventoryTransactions_Consumption
    ON InventoryTransactions (InvoiceExternalId, ProductId, TechnicianId)
    WHERE Kind = 'consumption';

-- Timeline entries already scanned for maintenance alerts: a re-scan creates nothing.
CREATE TABLE ScannedTimelineEntries (
    TimelineEntryExternalId TEXT PRIMARY KEY,
    ScannedAt               TEXT NOT NULL,
    AlertsCreated           INTEGER NOT NULL DEFAULT 0
);
