-- Daily or weekly: a subscriber picks a cadence, and each cadence has its own runs and
-- its own frozen rankings, so a run is (digest date, cadence): the weekly edition ending on a
-- Sunday and that Sunday's daily digest are two runs.
ALTER TABLE subscribers ADD COLUMN cadence TEXT NOT NULL DEFAULT 'daily' CHECK (cadence IN ('daily', 'weekly'));

-- send_runs' UNIQUE (digest_date) cannot be changed in place, so both ledger tables are rebuilt,
-- keeping every id. With foreign keys on (they can't be turned off inside the migration's
-- transaction), dropping send_runs while deliveries point at it would cascade-delete them, so the
-- new deliveries table points at the new runs table, the old child goes first, and renaming the
-- new parent carries the reference along (SQLite ≥ 3.26 rewrites foreign keys on rename).
CREATE TABLE send_runs_new (
  id                INTEGER PRIMARY KEY,
  digest_date       TEXT NOT NULL,
  -- Which edition: the daily digest of digest_date, or the weekly one of the week ending on it.
  cadence           TEXT NOT NULL DEFAULT 'daily' CHECK (cadence IN ('daily', 'weekly')),
  status            TEXT NOT NULL CHECK (status IN ('running', 'paused', 'failed', 'done', 'empty')),
  started_at        TEXT NOT NULL,
  finished_at       TEXT,
  lease_owner       TEXT,
  lease_expires_at  TEXT,
  enqueued_through  INTEGER NOT NULL DEFAULT 0,
  enqueue_done      INTEGER NOT NULL DEFAULT 0,
  sent              INTEGER NOT NULL DEFAULT 0,
  failed            INTEGER NOT NULL DEFAULT 0,
  skipped           INTEGER NOT NULL DEFAULT 0,
  last_error        TEXT,
  updated_at        TEXT NOT NULL,
  settled_through   INTEGER NOT NULL DEFAULT 0,
  UNIQUE (digest_date, cadence)
);
INSERT INTO send_runs_new (id, digest_date, status, started_at, finished_at, lease_owner, lease_expires_at, enqueued_through,
                           enqueue_done, sent, failed, skipped, last_error, updated_at, settled_through)
  SELECT id, digest_date, status, started_at, finished_at, lease_owner, lease_expires_at, enqueued_through,
         enqueue_done, sent, failed, skipped, last_error, updated_at, settled_through FROM send_runs;

CREATE TABLE send_deliveries_new (
  run_id           INTEGER NOT NULL REFERENCES send_runs_new (id) ON DELETE CASCADE,
  subscriber_id    INTEGER NOT NULL REFERENCES subscribers (id) ON DELETE CASCADE,
  status           TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'sending', 'sent', 'failed', 'skipped')),
  attempts         INTEGER NOT NULL DEFAULT 0,
  next_attempt_at  TEXT,
  last_reply       TEXT,
  message_id       TEXT,
  updated_at       TEXT,
  PRIMARY KEY (run_id, subscriber_id)
) WITHOUT ROWID;
INSERT INTO send_deliveries_new (run_id, subscriber_id, status, attempts, next_attempt_at, last_reply, message_id, updated_at)
  SELECT run_id, subscriber_id, status, attempts, next_attempt_at, last_reply, message_id, updated_at FROM send_deliveries;

DROP TABLE send_deliveries;
DROP TABLE send_runs;
ALTER TABLE send_runs_new RENAME TO send_runs;
ALTER TABLE send_deliveries_new RENAME TO send_deliveries;
-- As in migrations 005 and 008.
CREATE INDEX send_deliveries_open ON send_deliveries (run_id, status, subscriber_id) WHERE status IN ('pending', 'sending');
CREATE INDEX send_deliveries_subscriber ON send_deliveries (subscriber_id);

-- The frozen rankings, per cadence: a weekly row holds the whole week's ranking.
CREATE TABLE digests_new (
  date        TEXT NOT NULL CHECK (date GLOB '[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]'),
  cadence     TEXT NOT NULL DEFAULT 'daily' CHECK (cadence IN ('daily', 'weekly')),
  papers      TEXT NOT NULL CHECK (json_valid(papers) AND json_type(papers) = 'array'),
  created_at  TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
  PRIMARY KEY (cadence, date)
);
INSERT INTO digests_new (date, papers, created_at) SELECT date, papers, created_at FROM digests;
DROP TABLE digests;
ALTER TABLE digests_new RENAME TO digests;
