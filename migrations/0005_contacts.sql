-- Every contact of a client is mirrored (Gazelle `client.allContacts(includeArchived: true)`),
-- not only the default one: a billing contact and an on-site one, each with its address.
-- The default contact stays marked by Clients.DefaultContactId.
ALTER TABLE Contacts ADD COLUMN Archived INTEGER NOT NULL DEFAULT 0 CHECK (Archived IN (0, 1));
ALTER TABLE Contacts ADD COLUMN Address TEXT;
