-- GET /healthz proves the database still takes writes: a full disk fails every sign-up while
-- reads go on working. The check rewrites this one row, at most once every few seconds.
CREATE TABLE health (
  id          INTEGER PRIMARY KEY CHECK (id = 1),
  checked_at  TEXT NOT NULL
);
