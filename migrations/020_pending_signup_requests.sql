-- Each sign-up request for a pending address is a confirmation email of its own, with the settings
-- that request asked for: confirming its link applies those, so a second request (anyone can make
-- one) neither rewrites the first one's settings nor kills its link. Only the hash of a link's
-- token is kept. A request goes when its subscriber confirms (by any of its links), when its link
-- has expired (housekeeping), and with its subscriber's row (erasure, a new subscription).
CREATE TABLE pending_signup_requests (
  token_hash     TEXT PRIMARY KEY,
  subscriber_id  INTEGER NOT NULL REFERENCES subscribers (id) ON DELETE CASCADE,
  digest_size    INTEGER NOT NULL CHECK (digest_size IN (5, 10, 20)),
  keywords       TEXT NOT NULL,
  cadence        TEXT NOT NULL CHECK (cadence IN ('daily', 'weekly')),
  sent_at        TEXT NOT NULL
) WITHOUT ROWID;
CREATE INDEX pending_signup_requests_subscriber ON pending_signup_requests (subscriber_id);
CREATE INDEX pending_signup_requests_sent ON pending_signup_requests (sent_at);

-- Links emailed before the upgrade keep working: a pending row's one link becomes its request.
INSERT INTO pending_signup_requests (token_hash, subscriber_id, digest_size, keywords, cadence, sent_at)
  SELECT confirm_token_hash, id, digest_size, keywords, cadence, confirm_sent_at FROM subscribers
  WHERE status = 'pending' AND confirm_token_hash IS NOT NULL AND confirm_sent_at IS NOT NULL;
-- The subscriber row no longer holds a token (the column stays: SQLite cannot drop a UNIQUE column).
UPDATE subscribers SET confirm_token_hash = NULL WHERE confirm_token_hash IS NOT NULL;

-- Confirmation emails the caps held back, by the cap that held them (GET /metrics), kept here so
-- a restart does not reset them.
CREATE TABLE confirmations_capped (
  scope  TEXT PRIMARY KEY CHECK (scope IN ('address', 'domain')),
  n      INTEGER NOT NULL
) WITHOUT ROWID;
INSERT INTO confirmations_capped (scope, n) VALUES ('address', 0), ('domain', 0);
