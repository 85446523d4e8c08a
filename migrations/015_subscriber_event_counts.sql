-- Running totals of what happens to subscribers, for GET /metrics. Triggers keep them, so every
-- path counts (web sign-ups, the importer, the send loop's suppressions, whatever comes next)
-- and they survive restarts, unlike counters held in the service's memory. A row's timestamps
-- cannot give these: re-subscribing reuses the row and erasure deletes it.
CREATE TABLE subscriber_event_counts (
  event  TEXT PRIMARY KEY CHECK (event IN ('signup', 'confirmation', 'unsubscribe', 'suppression', 'import')),
  n      INTEGER NOT NULL
) WITHOUT ROWID;

-- Start from what the rows still show, so an existing list does not begin at zero: a row with a
-- confirmation token came through the web, one without was imported.
INSERT INTO subscriber_event_counts (event, n) VALUES
  ('signup', (SELECT count(*) FROM subscribers WHERE confirm_token_hash IS NOT NULL)),
  ('confirmation', (SELECT count(*) FROM subscribers WHERE confirm_token_hash IS NOT NULL AND confirmed_at IS NOT NULL)),
  ('unsubscribe', (SELECT count(*) FROM subscribers WHERE status = 'unsubscribed')),
  ('suppression', (SELECT count(*) FROM subscribers WHERE status = 'suppressed')),
  ('import', (SELECT count(*) FROM subscribers WHERE confirm_token_hash IS NULL));

-- A web sign-up inserts a pending row; the importer inserts confirmed ones.
CREATE TRIGGER subscriber_event_on_insert AFTER INSERT ON subscribers
BEGIN
  UPDATE subscriber_event_counts SET n = n + 1
  WHERE event = CASE new.status WHEN 'pending' THEN 'signup' ELSE 'import' END;
END;

-- A change of status is one event; asking again while pending (a new confirmation email) is not.
CREATE TRIGGER subscriber_event_on_status AFTER UPDATE OF status ON subscribers
  WHEN old.status <> new.status
BEGIN
  UPDATE subscriber_event_counts SET n = n + 1
  WHERE event = CASE new.status
    WHEN 'pending' THEN 'signup'
    WHEN 'confirmed' THEN 'confirmation'
    WHEN 'unsubscribed' THEN 'unsubscribe'
    WHEN 'suppressed' THEN 'suppression'
  END;
END;
