import type { Db } from './connection.ts';
import type { ImportRow } from '../domain/subscriber-import.ts';

export interface SubscriberListing {
  id: number;
  email: string;
  status: string;
  digestSize: number;
  keywords: string;
  cadence: string;
  confirmedAt: string | null;
  createdAt: string;
}

export type SubscriberAdminStore = ReturnType<typeof createSubscriberAdminStore>;

/** The operators' statements on the subscriber list (the subscribers CLI), prepared once. */
export function createSubscriberAdminStore(db: Db) {
  const s = {
    // An address already on the list keeps its row untouched: an import must never re-subscribe
    // someone who unsubscribed or was suppressed.
    insert: db.prepare(
      `INSERT INTO subscribers (email, status, digest_size, keywords, cadence, confirmed_at, created_at, updated_at)
       VALUES (@email, 'confirmed', @digestSize, @keywords, @cadence, @now, @now, @now)
       ON CONFLICT (email) DO NOTHING`,
    ),
    all: db.prepare(
      `SELECT id, email, status, digest_size AS digestSize, keywords, cadence, confirmed_at AS confirmedAt, created_at AS createdAt
       FROM subscribers ORDER BY id`,
    ),
    confirmed: db.prepare(
      `SELECT id, email, status, digest_size AS digestSize, keywords, cadence, confirmed_at AS confirmedAt, created_at AS createdAt
       FROM subscribers WHERE status = 'confirmed' ORDER BY id`,
    ),
    counts: db.prepare('SELECT status, count(*) AS n FROM subscribers GROUP BY status ORDER BY status'),
    remove: db.prepare('DELETE FROM subscribers WHERE email = ?'),
  };

  const importAll = db.transaction((rows: readonly ImportRow[], now: string) => {
    let imported = 0;
    for (const r of rows) imported += s.insert.run({ email: r.email, digestSize: r.digestSize, keywords: r.keywords, cadence: r.cadence ?? 'daily', now }).changes;
    return { imported, alreadyListed: rows.length - imported };
  });

  return {
    /** All rows in one transaction: a file is imported whole or not at all. */
    importConfirmed(rows: readonly ImportRow[], now: Date): { imported: number; alreadyListed: number } {
      return importAll.immediate(rows, now.toISOString());
    },
    /** Streamed in id order, so a million rows never sit in memory. */
    list(o: { confirmedOnly: boolean }): IterableIterator<SubscriberListing> {
      return (o.confirmedOnly ? s.confirmed : s.all).iterate() as IterableIterator<SubscriberListing>;
    },
    counts(): Record<string, number> {
      return Object.fromEntries((s.counts.all() as { status: string; n: number }[]).map((r) => [r.status, r.n]));
    },
    /** Erases the address and its delivery history; false if it was not on the list. */
    remove(email: string): boolean {
      return s.remove.run(email).changes === 1;
    },
  };
}
