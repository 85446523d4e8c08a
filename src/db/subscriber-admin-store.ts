import type { Db } from './connection.ts';
import type { ImportRow } from '../model/subscriber.ts';

export interface SubscriberListing {
  id: number;
  email: string;
  status: string;
  digestSize: number;
  keywords: string;
  cadence: string;
  timezone: string | null;
  deliveryHour: number | null;
  confirmedAt: string | null;
  createdAt: string;
}

const LISTING = `id, email, status, digest_size AS digestSize, keywords, cadence, timezone,
  delivery_hour AS deliveryHour, confirmed_at AS confirmedAt, created_at AS createdAt`;

export type SubscriberAdminStore = ReturnType<typeof createSubscriberAdminStore>;

/** The operators' statements on the subscriber list (the subscribers CLI), prepared once. */
export function createSubscriberAdminStore(db: Db) {
  const statements = {
    // An address already on the list keeps its row untouched: an import must never re-subscribe
    // someone who unsubscribed or was suppressed.
    insert: db.prepare(
      `INSERT INTO subscribers (id, email, status, digest_size, keywords, cadence, timezone, delivery_hour, confirmed_at, created_at, updated_at)
       VALUES ((SELECT last + 1 FROM subscriber_id_sequence WHERE id = 1), @email, 'confirmed', @digestSize, @keywords, @cadence, @timezone, @deliveryHour, @now, @now, @now)
       ON CONFLICT (email) DO NOTHING`,
    ),
    all: db.prepare(`SELECT ${LISTING} FROM subscribers ORDER BY id`),
    confirmed: db.prepare(`SELECT ${LISTING} FROM subscribers WHERE status = 'confirmed' ORDER BY id`),
    counts: db.prepare('SELECT status, count(*) AS n FROM subscribers GROUP BY status ORDER BY status'),
    // Erasure: the row (its delivery history cascades), the mail queued to the address, its
    // mailbox's confirmation window, and any run error that quotes it (an SMTP reply can).
    remove: db.prepare('DELETE FROM subscribers WHERE email = ?'),
    removeMail: db.prepare('DELETE FROM mail_queue WHERE recipient = ?'),
    removeWindow: db.prepare('DELETE FROM confirmation_windows WHERE key = ?'),
    scrubRunErrors: db.prepare(
      `UPDATE send_runs SET last_error = '(erased: it quoted an erased address)' WHERE instr(lower(last_error), lower(@email)) > 0`,
    ),
  };

  const erase = db.transaction((email: string, windowKey: string) => ({
    subscriber: statements.remove.run(email).changes === 1,
    queuedMail: statements.removeMail.run(email).changes,
    other: statements.removeWindow.run(windowKey).changes + statements.scrubRunErrors.run({ email }).changes,
  }));

  const importAll = db.transaction((rows: readonly ImportRow[], now: string) => {
    let imported = 0;
    for (const r of rows)
      imported += statements.insert.run({
        email: r.email,
        digestSize: r.digestSize,
        keywords: r.keywords,
        cadence: r.cadence ?? 'daily',
        timezone: r.timezone ?? null,
        deliveryHour: r.deliveryHour ?? null,
        now,
      }).changes;
    return { imported, alreadyListed: rows.length - imported };
  });

  return {
    /** All rows in one transaction: a file is imported whole or not at all. */
    importConfirmed(rows: readonly ImportRow[], now: Date): { imported: number; alreadyListed: number } {
      return importAll.immediate(rows, now.toISOString());
    },
    /** Streamed in id order, so a million rows never sit in memory. */
    list(o: { confirmedOnly: boolean }): IterableIterator<SubscriberListing> {
      return (o.confirmedOnly ? statements.confirmed : statements.all).iterate() as IterableIterator<SubscriberListing>;
    },
    counts(): Record<string, number> {
      return Object.fromEntries(
        (statements.counts.all() as { status: string; n: number }[]).map((r) => [r.status, r.n]),
      );
    },
    /**
     * Erases every trace of the address from the database, in one transaction, then truncates the
     * WAL: with secure_delete on, that leaves no copy of it in the file or its WAL. The checkpoint
     * cannot finish while another connection reads an older snapshot: `checkpointed` says so.
     */
    erase(
      email: string,
      windowKey: string,
    ): { subscriber: boolean; queuedMail: number; other: number; checkpointed: boolean } {
      const erased = erase.immediate(email, windowKey);
      const [checkpoint] = db.pragma('wal_checkpoint(TRUNCATE)') as { busy: number }[];
      return { ...erased, checkpointed: checkpoint?.busy === 0 };
    },
  };
}
