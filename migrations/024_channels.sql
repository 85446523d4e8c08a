-- Team channels: Slack or Discord incoming webhooks, or any URL that takes the edition as JSON.
-- The URL is the channel's only credential (whoever has it can post): it is kept here and
-- never logged in full. A webhook found deleted (404/410) disables its channel, with the reason.
CREATE TABLE channels (
  id               INTEGER PRIMARY KEY AUTOINCREMENT,
  kind             TEXT NOT NULL CHECK (kind IN ('slack', 'discord', 'json')),
  url              TEXT NOT NULL UNIQUE,
  cadence          TEXT NOT NULL DEFAULT 'daily' CHECK (cadence IN ('daily', 'weekly')),
  digest_size      INTEGER NOT NULL CHECK (digest_size IN (5, 10, 20)),
  keywords         TEXT NOT NULL DEFAULT '',
  enabled          INTEGER NOT NULL DEFAULT 1 CHECK (enabled IN (0, 1)),
  disabled_reason  TEXT,
  created_at       TEXT NOT NULL
);
-- One edition posted to one channel, recorded like a delivery. The row is claimed ('posting')
-- before the HTTP post and marked 'posted' after it, so a post cut off by a crash is made again
-- once (webhooks take no idempotency key) and none is lost. 'failed': the last try got an error
-- answer or none; the next post of the channel's editions tries it again.
CREATE TABLE channel_posts (
  channel_id   INTEGER NOT NULL REFERENCES channels (id) ON DELETE CASCADE,
  digest_date  TEXT NOT NULL,
  cadence      TEXT NOT NULL CHECK (cadence IN ('daily', 'weekly')),
  state        TEXT NOT NULL CHECK (state IN ('posting', 'posted', 'failed')),
  attempts     INTEGER NOT NULL DEFAULT 1,
  claimed_at   TEXT NOT NULL,
  posted_at    TEXT,
  last_error   TEXT,
  PRIMARY KEY (channel_id, digest_date, cadence)
) WITHOUT ROWID;
-- The editions still owed to a channel, found without scanning the posted ones.
CREATE INDEX channel_posts_owed ON channel_posts (state) WHERE state <> 'posted';
