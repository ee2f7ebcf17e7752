-- What the push (local edits → Gazelle) needs beyond the initial outbox. Columns are added,
-- not the table rebuilt, so the State values stay those of 0001: a manual conflict holds its
-- entry `pending` with HeldByConflict set, and how a `done` entry ended is its Outcome.

-- The action of an 'action' entry: cancel, confirm.
ALTER TABLE Outbox ADD COLUMN Action TEXT;
-- The entry that must be done first (an appointment for a client created locally).
ALTER TABLE Outbox ADD COLUMN DependsOn INTEGER REFERENCES Outbox (Id);
-- When the mutation was first sent. A creation Gazelle cannot deduplicate (createEvent,
-- createPiano) that was ever sent is looked for upstream before it is sent again: the
-- daemon may have died, or the connection dropped, after Gazelle applied it.
ALTER TABLE Outbox ADD COLUMN SentAt TEXT;
-- The upstream id the entry created (or changed).
ALTER TABLE Outbox ADD COLUMN UpstreamId TEXT;
-- A manual conflict holds the entry until `gazellectl conflicts resolve`.
ALTER TABLE Outbox ADD COLUMN HeldByConflict INTEGER REFERENCES Conflicts (Id);
-- How a done entry ended: pushed, superseded (a newer upstream edit won, last-write-wins;
-- both versions are in Conflicts), discarded (by hand).
ALTER TABLE Outbox ADD COLUMN Outcome TEXT CHECK (Outcome IN ('pushed', 'superseded', 'discarded'));

-- A local draft invoice has no Gazelle number yet; it is shown as `BROUILLON-<Id>` until
-- the push writes the real one back. The id it will have upstream is chosen at creation
-- (createInvoice takes a client-supplied id), so a resent creation is the same invoice.
ALTER TABLE Invoices ADD COLUMN PendingExternalId TEXT;
