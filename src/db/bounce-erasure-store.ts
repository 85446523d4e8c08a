import type { Db } from './connection.ts';

export type BounceErasureStore = ReturnType<typeof createBounceErasureStore>;

// A row quotes the address when a column holds it in any case of its ASCII letters (SQLite's
// lower(), as the subscribers table's NOCASE compares). A quarantined message is searched in its
// bytes as received: a copy of the address in an encoded part (quoted-printable, base64) is not found.
const quotes = (columns: string[]) => columns.map((c) => `instr(lower(${c}), lower(@email)) > 0`).join(' OR ');

/**
 * The statements that erase an address from the bounce tables, prepared once: the events about
 * it (its keyed hash) and every event or quarantined message that still quotes it (a diagnostic
 * recorded before they were masked, another subscriber's forward, a report kept whole).
 */
export function createBounceErasureStore(db: Db) {
  const statements = {
    events: db.prepare(
      `DELETE FROM bounce_events
       WHERE recipient_hash = @hash OR ${quotes(['diagnostic', 'reason', 'status', 'source', 'report_key'])}`,
    ),
    quarantine: db.prepare(
      `DELETE FROM bounce_quarantine WHERE ${quotes(['raw', 'source', 'reason', 'location', 'report_key'])}`,
    ),
  };
  const erase = db.transaction((hash: string, email: string) => ({
    events: statements.events.run({ hash, email }).changes,
    quarantined: statements.quarantine.run({ email }).changes,
  }));
  return {
    /** Deletes them in one transaction; how many of each. */
    erase: (hash: string, email: string): { events: number; quarantined: number } => erase.immediate(hash, email),
  };
}
