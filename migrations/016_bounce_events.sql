-- What bounce reports, complaints and auto-replies said about our mail, one row per (report,
-- failed recipient). Not the report itself: it holds other people's data. The failed address is
-- kept only as a keyed hash (HMAC with SECRET), enough to tell one report's recipients apart.
CREATE TABLE bounce_events (
  id              INTEGER PRIMARY KEY,
  -- NULL: the report named nobody on the list (or a forged VERP address). Erasing a subscriber
  -- erases their events, as it erases their deliveries.
  subscriber_id   INTEGER REFERENCES subscribers (id) ON DELETE CASCADE,
  kind            TEXT NOT NULL CHECK (kind IN ('hard', 'soft', 'complaint', 'ignore')),
  -- The classifier's reason (userunknown, mailboxfull, feedback, vacation, …).
  reason          TEXT NOT NULL,
  status          TEXT,
  diagnostic      TEXT,
  -- Where it came from: 'import:<file>', 'smtp:<listener>', 'imap:<mailbox>', 'webhook:<provider>'.
  source          TEXT NOT NULL,
  -- The digest the bounce is about (from the VERP address or the returned Message-ID), when known.
  digest_date     TEXT,
  -- The same report read twice (a re-import, a mailbox fetched again) has the same key.
  report_key      TEXT NOT NULL,
  recipient_hash  TEXT NOT NULL,
  created_at      TEXT NOT NULL,
  UNIQUE (report_key, recipient_hash)
);
CREATE INDEX bounce_events_subscriber ON bounce_events (subscriber_id, kind, digest_date);
CREATE INDEX bounce_events_digest ON bounce_events (digest_date);
CREATE INDEX bounce_events_created ON bounce_events (created_at);
