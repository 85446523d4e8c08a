-- Subscriber ids are in every link we email (tokens.ts), so an id must never name anyone else once
-- its row is gone. Without AUTOINCREMENT SQLite hands out max(id) + 1 again after the newest row
-- is erased. Adding AUTOINCREMENT means rebuilding the table, restating every column (and later
-- migrations add some); a one-row sequence does the same job in place, keeping every id.
-- Inserts take `last + 1`; the trigger refuses any insert that would reuse an id, whoever runs it.
CREATE TABLE subscriber_id_sequence (
  id    INTEGER PRIMARY KEY CHECK (id = 1),
  last  INTEGER NOT NULL
);
INSERT INTO subscriber_id_sequence (id, last) SELECT 1, coalesce(max(id), 0) FROM subscribers;

CREATE TRIGGER subscriber_id_issued AFTER INSERT ON subscribers
BEGIN
  UPDATE subscriber_id_sequence
  SET last = CASE WHEN new.id > last THEN new.id
                  ELSE RAISE(ABORT, 'subscriber ids are never reused: take the next one from subscriber_id_sequence') END
  WHERE id = 1;
END;
