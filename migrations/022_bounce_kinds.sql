-- Two more kinds of bounce event: `sender` (a refusal about the sender: reputation, spam, policy,
-- authentication, rate, the sender's address; never held against the reader) and `delayed` (a
-- warning that delivery goes on; never counted). Each event also keeps the receiving domain, so
-- refusals can be told per mailbox provider. SQLite cannot change a CHECK constraint: the table is
-- rebuilt with the same columns (019's `verified` included), rows and indexes. Nothing refers to
-- bounce_events, so it can be dropped and its copy renamed inside this migration's transaction.
CREATE TABLE bounce_events_022 (
  id              INTEGER PRIMARY KEY,
  subscriber_id   INTEGER REFERENCES subscribers (id) ON DELETE CASCADE,
  kind            TEXT NOT NULL CHECK (kind IN ('hard', 'soft', 'complaint', 'ignore', 'sender', 'delayed')),
  reason          TEXT NOT NULL,
  status          TEXT,
  diagnostic      TEXT,
  source          TEXT NOT NULL,
  digest_date     TEXT,
  report_key      TEXT NOT NULL,
  recipient_hash  TEXT NOT NULL,
  created_at      TEXT NOT NULL,
  verified        INTEGER NOT NULL DEFAULT 1 CHECK (verified IN (0, 1)),
  -- The failed address's domain, lower-cased. NULL for events recorded before it was kept (the
  -- address itself is only a hash).
  domain          TEXT,
  UNIQUE (report_key, recipient_hash)
);

-- Events recorded as soft for a reason about the sender (the classifier's names, and the
-- providers' words for the same: Postmark's Blocked, SpamNotification, DMARCPolicy) or about a
-- delay are what the new kinds say: kept, and no longer counted against the reader.
INSERT INTO bounce_events_022 (id, subscriber_id, kind, reason, status, diagnostic, source, digest_date, report_key,
  recipient_hash, created_at, verified)
SELECT id, subscriber_id,
  CASE
    WHEN kind = 'soft' AND reason = 'delayed' THEN 'delayed'
    WHEN kind = 'soft' AND reason IN ('relay-denied', 'authentication', 'spam', 'rate-limited', 'blocked',
      'sender-rejected', 'policy', 'provider-code', 'list-refused', 'spam-notification', 'dmarcpolicy') THEN 'sender'
    ELSE kind
  END,
  reason, status, diagnostic, source, digest_date, report_key, recipient_hash, created_at, verified
FROM bounce_events;

DROP TABLE bounce_events;
ALTER TABLE bounce_events_022 RENAME TO bounce_events;
CREATE INDEX bounce_events_subscriber ON bounce_events (subscriber_id, kind, digest_date);
CREATE INDEX bounce_events_digest ON bounce_events (digest_date);
CREATE INDEX bounce_events_created ON bounce_events (created_at);
-- GET /metrics counts events per kind and sender refusals per domain at each scrape.
CREATE INDEX bounce_events_kind_domain ON bounce_events (kind, domain);

-- An operator lifting a bounce suppression (`subscribers unsuppress`): the reader's soft bounces
-- count afresh from this digest day on.
ALTER TABLE subscribers ADD COLUMN bounces_counted_from TEXT;
