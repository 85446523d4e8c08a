import type { Db } from './connection.ts';
import type { Cadence } from '../domain/subscriber-input.ts';

export type SubscriberStatus = 'pending' | 'confirmed' | 'unsubscribed' | 'suppressed';

export interface Subscriber {
  id: number;
  email: string;
  status: SubscriberStatus;
  digestSize: number;
  keywords: string;
  cadence: Cadence;
  confirmSentAt: string | null;
  confirmedAt: string | null;
}

interface Row {
  id: number;
  email: string;
  status: SubscriberStatus;
  digest_size: number;
  keywords: string;
  cadence: Cadence;
  confirm_sent_at: string | null;
  confirmed_at: string | null;
}

const toSubscriber = (r: Row): Subscriber => ({
  id: r.id,
  email: r.email,
  status: r.status,
  digestSize: r.digest_size,
  keywords: r.keywords,
  cadence: r.cadence,
  confirmSentAt: r.confirm_sent_at,
  confirmedAt: r.confirmed_at,
});

const COLUMNS = 'id, email, status, digest_size, keywords, cadence, confirm_sent_at, confirmed_at';

export type SubscribersStore = ReturnType<typeof createSubscribersStore>;

/** A new double opt-in: preferences and the confirmation token's hash. */
interface OptIn {
  digestSize: number;
  keywords: string;
  cadence: Cadence;
  hash: string;
  now: string;
}

/** Every SQL statement on the subscribers table, prepared once. */
export function createSubscribersStore(db: Db) {
  const s = {
    byEmail: db.prepare(`SELECT ${COLUMNS} FROM subscribers WHERE email = ?`),
    byId: db.prepare(`SELECT ${COLUMNS} FROM subscribers WHERE id = ?`),
    byConfirmHash: db.prepare(`SELECT ${COLUMNS} FROM subscribers WHERE confirm_token_hash = ?`),
    // Ids come from the sequence, never max(id) + 1: an erased subscriber's links must not reach a newcomer.
    insertPending: db.prepare(
      `INSERT INTO subscribers (id, email, status, digest_size, keywords, cadence, confirm_token_hash, confirm_sent_at, created_at, updated_at)
       VALUES ((SELECT last + 1 FROM subscriber_id_sequence WHERE id = 1), @email, 'pending', @digestSize, @keywords, @cadence, @hash, @now, @now, @now)
       RETURNING id`,
    ),
    deleteRow: db.prepare('DELETE FROM subscribers WHERE id = ?'),
    // Signing up again while pending restarts the opt-in on the same row (no link was ever emailed to it).
    restartOptIn: db.prepare(
      `UPDATE subscribers SET digest_size = @digestSize, keywords = @keywords, cadence = @cadence, confirm_token_hash = @hash,
         confirm_sent_at = @now, updated_at = @now
       WHERE id = @id AND status = 'pending'`,
    ),
    confirm: db.prepare(
      `UPDATE subscribers SET status = 'confirmed', confirmed_at = @now, updated_at = @now
       WHERE id = @id AND status = 'pending'`,
    ),
    unsubscribe: db.prepare(
      `UPDATE subscribers SET status = 'unsubscribed', unsubscribed_at = @now, updated_at = @now
       WHERE id = @id AND status <> 'unsubscribed'`,
    ),
    // A bounce policy decision: only someone still receiving mail (or about to) is suppressed;
    // an unsubscribe stays what it was.
    suppress: db.prepare(
      `UPDATE subscribers SET status = 'suppressed', updated_at = @now WHERE id = @id AND status IN ('confirmed', 'pending')`,
    ),
    // Never confirmed: the address was never shown to want our mail, so it is not kept.
    deletePendingBefore: db.prepare(`DELETE FROM subscribers WHERE status = 'pending' AND confirm_sent_at < ?`),
    setPreferences: db.prepare(
      `UPDATE subscribers SET digest_size = @digestSize, keywords = @keywords, cadence = @cadence, updated_at = @now WHERE id = @id`,
    ),
  };

  const one = (row: unknown) => (row ? toSubscriber(row as Row) : undefined);
  const insertPending = (p: OptIn & { email: string }) => (s.insertPending.get(p) as { id: number }).id;

  return {
    byEmail: (email: string) => one(s.byEmail.get(email)),
    byId: (id: number) => one(s.byId.get(id)),
    byConfirmHash: (hash: string) => one(s.byConfirmHash.get(hash)),
    insertPending,
    /**
     * Signing up again after an unsubscribe or a suppression is a new subscription: a new row, so a
     * new id, and the links emailed for the old one (`<id>.<mac>`) reach nothing any more. The old
     * row's delivery history goes with it, as on erasure. Run it inside a transaction.
     */
    replaceWithPending: (p: OptIn & { id: number; email: string }) => {
      const { id, ...rest } = p;
      s.deleteRow.run(id);
      return insertPending(rest);
    },
    restartOptIn: (p: OptIn & { id: number }) => {
      s.restartOptIn.run(p);
    },
    confirm: (id: number, now: string) => s.confirm.run({ id, now }).changes === 1,
    unsubscribe: (id: number, now: string) => s.unsubscribe.run({ id, now }).changes === 1,
    suppress: (id: number, now: string) => s.suppress.run({ id, now }).changes === 1,
    /** Deletes the sign-ups still pending whose last confirmation email went out before `iso`. */
    deletePendingBefore: (iso: string) => s.deletePendingBefore.run(iso).changes,
    setPreferences: (p: { id: number; digestSize: number; keywords: string; cadence: Cadence; now: string }) => {
      s.setPreferences.run(p);
    },
  };
}
