-- The confirmation caps count per mailbox (the address without its +tag; Gmail's dots too) and per
-- target domain, no longer per exact address: `victim+1@…` and `victim+2@…` reach one inbox. Their
-- one-hour windows are keyed 'mailbox:<mailbox>' and 'domain:<domain>'; a window more than an hour
-- old counts for nothing and is pruned by the housekeeping job, and erasing an address deletes
-- its mailbox's window. Windows on the subscriber row are dropped: counts restart at the upgrade.
CREATE TABLE confirmation_windows (
  key    TEXT PRIMARY KEY,
  start  TEXT NOT NULL,
  count  INTEGER NOT NULL
) WITHOUT ROWID;

ALTER TABLE subscribers DROP COLUMN confirm_window_start;
ALTER TABLE subscribers DROP COLUMN confirm_window_count;

-- Sent and failed messages keep no payload from now on (a confirmation's raw link, read from the
-- database, would still confirm); empty the ones settled before this change.
UPDATE mail_queue SET payload = '{}' WHERE status <> 'queued' AND payload <> '{}';
