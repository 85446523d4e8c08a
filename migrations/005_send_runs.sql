-- The send ledger. One run per digest date: a second sender (cron and send-now, or two
-- send-nows) finds the same row and has to win its lease before it may send anything.
CREATE TABLE send_runs (
  id                INTEGER PRIMARY KEY,
  digest_date       TEXT NOT NULL UNIQUE,
  -- running: not finished (whether someone is working on it is the lease's business);
  -- paused: stopped by a policy rejection or the error budget, resumed by hand (send-now);
  -- failed: could not proceed (source or SMTP server down), resumed by the next attempt;
  -- done / empty: finished; empty means the day had no papers and no email went out.
  status            TEXT NOT NULL CHECK (status IN ('running', 'paused', 'failed', 'done', 'empty')),
  -- The cut-off: only subscribers confirmed before this instant belong to the run. Kept on resume.
  started_at        TEXT NOT NULL,
  finished_at       TEXT,
  lease_owner       TEXT,
  lease_expires_at  TEXT,
  -- Subscribers are enqueued in id order a batch at a time; this is the last id enqueued.
  enqueued_through  INTEGER NOT NULL DEFAULT 0,
  enqueue_done      INTEGER NOT NULL DEFAULT 0,
  sent              INTEGER NOT NULL DEFAULT 0,
  failed            INTEGER NOT NULL DEFAULT 0,
  skipped           INTEGER NOT NULL DEFAULT 0,
  last_error        TEXT,
  updated_at        TEXT NOT NULL
);

-- One row per (run, subscriber): the key makes a second delivery of the same run impossible to
-- record, and status 'sent' is what resume skips.
CREATE TABLE send_deliveries (
  run_id           INTEGER NOT NULL REFERENCES send_runs (id) ON DELETE CASCADE,
  -- Removing a subscriber (erasure) removes their delivery history with them.
  subscriber_id    INTEGER NOT NULL REFERENCES subscribers (id) ON DELETE CASCADE,
  status           TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'sending', 'sent', 'failed', 'skipped')),
  attempts         INTEGER NOT NULL DEFAULT 0,
  -- NULL: due now. Set when a 4xx or a dropped connection defers the message.
  next_attempt_at  TEXT,
  last_reply       TEXT,
  message_id       TEXT,
  updated_at       TEXT,
  PRIMARY KEY (run_id, subscriber_id)
) WITHOUT ROWID;

-- The claim query reads a run's pending rows in subscriber order; enqueueing just ahead of the
-- sender keeps that set small whatever the size of the list.
CREATE INDEX send_deliveries_status ON send_deliveries (run_id, status, subscriber_id);

-- Deleting a subscriber cascades here; without this index each such delete would scan the ledger.
CREATE INDEX send_deliveries_subscriber ON send_deliveries (subscriber_id);
