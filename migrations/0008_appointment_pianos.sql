-- Every piano of an appointment. Gazelle's events carry a list of pianos (a conservatory day
-- may have ten); `Appointments.PianoId` keeps the first, for the V4 queries that read it.
-- Pianos are named by their Gazelle id, so a link survives the piano arriving after the event
-- (and the push sends them back as they are); readers join Pianos on ExternalId.
CREATE TABLE AppointmentPianos (
    AppointmentId   INTEGER NOT NULL REFERENCES Appointments (Id) ON DELETE CASCADE,
    Position        INTEGER NOT NULL,
    PianoExternalId TEXT NOT NULL,
    PRIMARY KEY (AppointmentId, Position)
) WITHOUT ROWID;
CREATE INDEX IX_AppointmentPianos_Piano ON AppointmentPianos (PianoExternalId);

-- The appointments mirrored so far keep their one known piano.
INSERT INTO AppointmentPianos (AppointmentId, Position, PianoExternalId)
SELECT a.Id, 0, p.ExternalId
FROM Appointments a JOIN Pianos p ON p.Id = a.PianoId
WHERE p.ExternalId IS NOT NULL;

-- Writers that know one piano (an appointment created on the Mac, the V4 import) set
-- PianoId: it becomes the first link. The pull then writes the event's whole list.
CREATE TRIGGER TR_Appointments_FirstPiano AFTER INSERT ON Appointments
WHEN NEW.PianoId IS NOT NULL
BEGIN
    INSERT OR IGNORE INTO AppointmentPianos (AppointmentId, Position, PianoExternalId)
    SELECT NEW.Id, 0, p.ExternalId FROM Pianos p
    WHERE p.Id = NEW.PianoId AND p.ExternalId IS NOT NULL;
END;

-- A writer that changes the one piano it knows (a V4 re-import) moves the first link; the
-- pull, which knows the whole list, replaces every link right after in the same transaction.
CREATE TRIGGER TR_Appointments_FirstPianoChanged AFTER UPDATE OF PianoId ON Appointments
WHEN NEW.PianoId IS NOT NULL AND NEW.PianoId IS NOT OLD.PianoId
BEGIN
    INSERT OR REPLACE INTO AppointmentPianos (AppointmentId, Position, PianoExternalId)
    SELECT NEW.Id, 0, p.ExternalId FROM Pianos p
    WHERE p.Id = NEW.PianoId AND p.ExternalId IS NOT NULL;
END;
