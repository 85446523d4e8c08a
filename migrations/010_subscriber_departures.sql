-- A sender re-checks that a subscriber is still confirmed right before their message goes out.
-- This counter moves whenever a confirmed subscriber stops being one (unsubscribe, suppression,
-- erasure), from any connection, so a sender reads one row per message and looks a subscriber up
-- only when someone has left since their delivery was claimed.
CREATE TABLE subscriber_departures (
  id  INTEGER PRIMARY KEY CHECK (id = 1),
  n   INTEGER NOT NULL
);
INSERT INTO subscriber_departures (id, n) VALUES (1, 0);

CREATE TRIGGER subscriber_departed_by_update AFTER UPDATE OF status ON subscribers
  WHEN old.status = 'confirmed' AND new.status <> 'confirmed'
BEGIN
  UPDATE subscriber_departures SET n = n + 1 WHERE id = 1;
END;

CREATE TRIGGER subscriber_departed_by_delete AFTER DELETE ON subscribers
  WHEN old.status = 'confirmed'
BEGIN
  UPDATE subscriber_departures SET n = n + 1 WHERE id = 1;
END;
