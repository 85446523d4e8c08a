-- A report matched to a subscriber only by what anyone could write (an address, an unsigned
-- Message-ID) is recorded as unverified and changes nothing; an import the operator trusts may
-- act on it later. Events recorded before this column existed were acted on.
ALTER TABLE bounce_events ADD COLUMN verified INTEGER NOT NULL DEFAULT 1 CHECK (verified IN (0, 1));

-- Reports the intake could not handle (unreadable, over a cap, out of parse time), kept so the
-- intake can go on with the next one and an operator can look (npm run bounces -- quarantine).
-- `raw` holds the message as received for the receiver and import (kept 30 days); NULL for one
-- too big to keep, or one the mailbox moved to its quarantine folder (`location`).
CREATE TABLE bounce_quarantine (
  id          INTEGER PRIMARY KEY,
  source      TEXT NOT NULL,
  reason      TEXT NOT NULL,
  location    TEXT NOT NULL,
  report_key  TEXT NOT NULL UNIQUE,
  size        INTEGER NOT NULL,
  raw         BLOB,
  created_at  TEXT NOT NULL
);
CREATE INDEX bounce_quarantine_created ON bounce_quarantine (created_at);
