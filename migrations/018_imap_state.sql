-- Where the bounce mailbox poller stopped (src/bounces/imap-poller.ts): per account and mailbox,
-- the UIDVALIDITY of the mailbox and the highest UID already handled. A message is handled, then
-- its UID recorded, then it is flagged, moved or deleted: a restart carries on after last_uid.
-- A new UIDVALIDITY means the mailbox was recreated: its UIDs start over.
CREATE TABLE imap_state (
  mailbox       TEXT PRIMARY KEY,
  uid_validity  TEXT NOT NULL,
  last_uid      INTEGER NOT NULL,
  updated_at    TEXT NOT NULL
) WITHOUT ROWID;
