-- The dashboard's client search, indexed: a trigram full-text index over what people search
-- by (name, phone, e-mail, address, where the city is), case and accents ignored, kept in
-- step with Clients by triggers in the writer's own transaction. A piano's serial number is
-- looked up exactly, through its own index.
CREATE VIRTUAL TABLE ClientSearch USING fts5(
    CompanyName, Phone, Email, Address,
    content = 'Clients', content_rowid = 'Id',
    tokenize = 'trigram remove_diacritics 1'
);
INSERT INTO ClientSearch (rowid, CompanyName, Phone, Email, Address)
    SELECT Id, CompanyName, Phone, Email, Address FROM Clients;

CREATE TRIGGER Clients_Search_Insert AFTER INSERT ON Clients BEGIN
    INSERT INTO ClientSearch (rowid, CompanyName, Phone, Email, Address)
        VALUES (new.Id, new.CompanyName, new.Phone, new.Email, new.Address);
END;

CREATE TRIGGER Clients_Search_Delete AFTER DELETE ON Clients BEGIN
    INSERT INTO ClientSearch (ClientSearch, rowid, CompanyName, Phone, Email, Address)
        VALUES ('delete', old.Id, old.CompanyName, old.Phone, old.Email, old.Address);
END;

-- Only when a searched column changed: a pull rewrites every client it reads.
CREATE TRIGGER Clients_Search_Update AFTER UPDATE OF CompanyName, Phone, Email, Address ON Clients
WHEN old.CompanyName IS NOT new.CompanyName OR old.Phone IS NOT new.Phone
  OR old.Email IS NOT new.Email OR old.Address IS NOT new.Address
BEGIN
    INSERT INTO ClientSearch (ClientSearch, rowid, CompanyName, Phone, Email, Address)
        VALUES ('delete', old.Id, old.CompanyName, old.Phone, old.Email, old.Address);
    INSERT INTO ClientSearch (rowid, CompanyName, Phone, Email, Address)
        VALUES (new.Id, new.CompanyName, new.Phone, new.Email, new.Address);
END;

CREATE INDEX IX_Pianos_SerialNumber ON Pianos (SerialNumber);
