-- Transactional mail (confirmations) waits here until the background worker sends it, so a
-- request never talks SMTP and an outage only delays mail.
CREATE TABLE mail_queue (
  id               INTEGER PRIMARY KEY,
  kind             TEXT NOT NULL,
  recipient        TEXT NOT NULL COLLATE NOCASE,
  subject          TEXT NOT NULL,
  html             TEXT NOT NULL,
  text             TEXT NOT NULL,
  headers          TEXT NOT NULL DEFAULT '{}',
  status           TEXT NOT NULL DEFAULT 'queued' CHECK (status IN ('queued', 'sent', 'failed')),
  attempts         INTEGER NOT NULL DEFAULT 0,
  next_attempt_at  TEXT NOT NULL,
  last_error       TEXT,
  created_at       TEXT NOT NULL,
  sent_at          TEXT
);
CREATE INDEX mail_queue_due ON mail_queue (status, next_attempt_at);
CREATE INDEX mail_queue_recipient ON mail_queue (recipient, created_at);
