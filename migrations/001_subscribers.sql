-- One row per address, ever: re-subscribing reuses the row, so ids (and the signed links that
-- carry them) stay stable.
CREATE TABLE subscribers (
  id                  INTEGER PRIMARY KEY,
  email               TEXT NOT NULL UNIQUE COLLATE NOCASE,
  status              TEXT NOT NULL CHECK (status IN ('pending', 'confirmed', 'unsubscribed', 'suppressed')),
  digest_size         INTEGER NOT NULL DEFAULT 10 CHECK (digest_size IN (5, 10, 20)),
  keywords            TEXT NOT NULL DEFAULT '',
  confirm_token_hash  TEXT UNIQUE,
  confirm_sent_at     TEXT,
  confirmed_at        TEXT,
  unsubscribed_at     TEXT,
  hard_bounces        INTEGER NOT NULL DEFAULT 0,
  created_at          TEXT NOT NULL,
  updated_at          TEXT NOT NULL
);
CREATE INDEX subscribers_confirmed ON subscribers (status, id);
