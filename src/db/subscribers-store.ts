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
  /** The confirmation emails sent in the current one-hour window, for the per-address cap. */
  confirmWindow: ConfirmWindow;
}

export interface ConfirmWindow {
  start: string | null;
  count: number;
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
  confirm_window_start: string | null;
  confirm_window_count: number;
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
  confirmWindow: { start: r.confirm_window_start, count: r.confirm_window_count },
});

const COLUMNS = 'id, email, status, digest_size, keywords, cadence, confirm_sent_at, confirmed_at, confirm_window_start, confirm_window_count';

export type SubscribersStore = ReturnType<typeof createSubscribersStore>;

/** A new double opt-in: preferences, the confirmation token's hash and the cap's window after it. */
interface OptIn {
  digestSize: number;
  keywords: string;
  cadence: Cadence;
  hash: string;
  now: string;
  window: ConfirmWindow;
}

/** Every SQL statement on the subscribers table, prepared once. */
export function createSubscribersStore(db: Db) {
  const s = {
    byEmail: db.prepare(`SELECT ${COLUMNS} FROM subscribers WHERE email = ?`),
    byId: db.prepare(`SELECT ${COLUMNS} FROM subscribers WHERE id = ?`),
    byConfirmHash: db.prepare(`SELECT ${COLUMNS} FROM subscribers WHERE confirm_token_hash = ?`),
    insertPending: db.prepare(
      `INSERT INTO subscribers (email, status, digest_size, keywords, cadence, confirm_token_hash, confirm_sent_at,
         confirm_window_start, confirm_window_count, created_at, updated_at)
       VALUES (@email, 'pending', @digestSize, @keywords, @cadence, @hash, @now, @windowStart, @windowCount, @now, @now) RETURNING id`,
    ),
    // Re-subscribing (from pending, unsubscribed or suppressed) starts a new opt-in on the same row.
    restartOptIn: db.prepare(
      `UPDATE subscribers SET status = 'pending', digest_size = @digestSize, keywords = @keywords, cadence = @cadence,
         confirm_token_hash = @hash, confirm_sent_at = @now, confirmed_at = NULL, unsubscribed_at = NULL,
         confirm_window_start = @windowStart, confirm_window_count = @windowCount, hard_bounces = 0, updated_at = @now
       WHERE id = @id`,
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
    setConfirmWindow: db.prepare(`UPDATE subscribers SET confirm_window_start = @windowStart, confirm_window_count = @windowCount WHERE id = @id`),
    setPreferences: db.prepare(
      `UPDATE subscribers SET digest_size = @digestSize, keywords = @keywords, cadence = @cadence, updated_at = @now WHERE id = @id`,
    ),
  };

  const one = (row: unknown) => (row ? toSubscriber(row as Row) : undefined);

  return {
    byEmail: (email: string) => one(s.byEmail.get(email)),
    byId: (id: number) => one(s.byId.get(id)),
    byConfirmHash: (hash: string) => one(s.byConfirmHash.get(hash)),
    insertPending: (p: OptIn & { email: string }) => {
      const { window, ...rest } = p;
      return (s.insertPending.get({ ...rest, windowStart: window.start, windowCount: window.count }) as { id: number }).id;
    },
    restartOptIn: (p: OptIn & { id: number }) => {
      const { window, ...rest } = p;
      s.restartOptIn.run({ ...rest, windowStart: window.start, windowCount: window.count });
    },
    confirm: (id: number, now: string) => s.confirm.run({ id, now }).changes === 1,
    unsubscribe: (id: number, now: string) => s.unsubscribe.run({ id, now }).changes === 1,
    suppress: (id: number, now: string) => s.suppress.run({ id, now }).changes === 1,
    /** Counts an email to the address against the per-address cap without touching its opt-in. */
    setConfirmWindow: (id: number, window: ConfirmWindow) => {
      s.setConfirmWindow.run({ id, windowStart: window.start, windowCount: window.count });
    },
    setPreferences: (p: { id: number; digestSize: number; keywords: string; cadence: Cadence; now: string }) => {
      s.setPreferences.run(p);
    },
  };
}
