import type { Db } from '../../db/connection.ts';

export interface ImapPosition {
  uidValidity: string;
  lastUid: number;
}

export type ImapStateStore = ReturnType<typeof createImapStateStore>;

/** Where the bounce mailbox poller stopped, per mailbox (`user@host:port/Folder`). */
export function createImapStateStore(db: Db) {
  const statements = {
    get: db.prepare('SELECT uid_validity AS uidValidity, last_uid AS lastUid FROM imap_state WHERE mailbox = ?'),
    set: db.prepare(
      `INSERT INTO imap_state (mailbox, uid_validity, last_uid, updated_at) VALUES (?, ?, ?, ?)
       ON CONFLICT (mailbox) DO UPDATE SET uid_validity = excluded.uid_validity, last_uid = excluded.last_uid, updated_at = excluded.updated_at`,
    ),
  };
  return {
    get: (mailbox: string) => statements.get.get(mailbox) as ImapPosition | undefined,
    set: (mailbox: string, position: ImapPosition, now: Date) => {
      statements.set.run(mailbox, position.uidValidity, position.lastUid, now.toISOString());
    },
  };
}
