import type { Db } from './connection.ts';
import type { Cadence } from '../model/cadence.ts';

type SubscriberStatus = 'pending' | 'confirmed' | 'unsubscribed' | 'suppressed';

export interface Subscriber {
  id: number;
  email: string;
  status: SubscriberStatus;
  digestSize: number;
  keywords: string;
  cadence: Cadence;
  /** The reader's IANA zone; null: DIGEST_TZ. */
  timezone: string | null;
  /** The local hour (5–11) their digest arrives at; null: DIGEST_CRON's hour. */
  deliveryHour: number | null;
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
  timezone: string | null;
  delivery_hour: number | null;
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
  timezone: r.timezone,
  deliveryHour: r.delivery_hour,
  confirmSentAt: r.confirm_sent_at,
  confirmedAt: r.confirmed_at,
});

const COLUMNS =
  'id, email, status, digest_size, keywords, cadence, timezone, delivery_hour, confirm_sent_at, confirmed_at';

export type SubscribersStore = ReturnType<typeof createSubscribersStore>;

/** The settings one sign-up asked for. */
export interface SignupSettings {
  digestSize: number;
  keywords: string;
  cadence: Cadence;
  timezone: string | null;
  deliveryHour: number | null;
}

/** One sign-up request for a pending subscriber: its confirmation email and what it asked for. */
interface SignupRequest extends SignupSettings {
  subscriberId: number;
  sentAt: string;
}

/** A new double opt-in: the first request's settings, shown until a link confirms its own. */
interface OptIn extends SignupSettings {
  now: string;
}

/** The statements on pending_signup_requests (one row per confirmation link of a pending subscriber), prepared once. */
function createSignupRequests(db: Db) {
  const statements = {
    add: db.prepare(
      `INSERT INTO pending_signup_requests (token_hash, subscriber_id, digest_size, keywords, cadence, timezone, delivery_hour, sent_at)
       VALUES (@hash, @subscriberId, @digestSize, @keywords, @cadence, @timezone, @deliveryHour, @sentAt)`,
    ),
    byHash: db.prepare(
      `SELECT subscriber_id AS subscriberId, digest_size AS digestSize, keywords, cadence, timezone,
         delivery_hour AS deliveryHour, sent_at AS sentAt
       FROM pending_signup_requests WHERE token_hash = ?`,
    ),
    deleteOf: db.prepare('DELETE FROM pending_signup_requests WHERE subscriber_id = ?'),
    deleteBefore: db.prepare('DELETE FROM pending_signup_requests WHERE sent_at < ?'),
  };
  return {
    addRequest: (r: SignupRequest & { hash: string }) => {
      statements.add.run(r);
    },
    /** The sign-up request a confirmation token's hash names, if it is still kept. */
    request: (hash: string) => statements.byHash.get(hash) as SignupRequest | undefined,
    /** Deletes the sign-up requests whose confirmation email went out before `iso`. */
    deleteRequestsBefore: (iso: string) => statements.deleteBefore.run(iso).changes,
    // Once one link confirmed, the others are links to a confirmed subscription: nothing to keep.
    deleteRequestsOf: (subscriberId: number) => statements.deleteOf.run(subscriberId).changes,
  };
}

/** Every SQL statement on the subscribers table and its sign-up requests, prepared once. */
export function createSubscribersStore(db: Db) {
  const statements = {
    byEmail: db.prepare(`SELECT ${COLUMNS} FROM subscribers WHERE email = ?`),
    byId: db.prepare(`SELECT ${COLUMNS} FROM subscribers WHERE id = ?`),
    // Ids come from the sequence, never max(id) + 1: an erased subscriber's links must not reach a newcomer.
    insertPending: db.prepare(
      `INSERT INTO subscribers (id, email, status, digest_size, keywords, cadence, timezone, delivery_hour, confirm_sent_at, created_at, updated_at)
       VALUES ((SELECT last + 1 FROM subscriber_id_sequence WHERE id = 1), @email, 'pending', @digestSize, @keywords, @cadence, @timezone, @deliveryHour, @now, @now, @now)
       RETURNING id`,
    ),
    deleteRow: db.prepare('DELETE FROM subscribers WHERE id = ?'),
    // Signing up again while pending adds a request; the row's settings stay until a link confirms.
    noteConfirmationSent: db.prepare(
      `UPDATE subscribers SET confirm_sent_at = @now, updated_at = @now WHERE id = @id AND status = 'pending'`,
    ),
    confirm: db.prepare(
      `UPDATE subscribers SET status = 'confirmed', confirmed_at = @now, updated_at = @now,
         digest_size = @digestSize, keywords = @keywords, cadence = @cadence, timezone = @timezone,
         delivery_hour = @deliveryHour
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
    // An operator undoing a bounce suppression: back to what they were (confirmed, or pending when
    // they never confirmed), their bounces counting afresh from today's digests.
    unsuppress: db.prepare(
      `UPDATE subscribers SET status = CASE WHEN confirmed_at IS NULL THEN 'pending' ELSE 'confirmed' END,
         bounces_counted_from = substr(@now, 1, 10), updated_at = @now
       WHERE id = @id AND status = 'suppressed'`,
    ),
    // Never confirmed: the address was never shown to want our mail, so it is not kept.
    deletePendingBefore: db.prepare(`DELETE FROM subscribers WHERE status = 'pending' AND confirm_sent_at < ?`),
    setPreferences: db.prepare(
      `UPDATE subscribers SET digest_size = @digestSize, keywords = @keywords, cadence = @cadence, timezone = @timezone,
         delivery_hour = @deliveryHour, updated_at = @now
       WHERE id = @id`,
    ),
  };

  const { deleteRequestsOf, ...requests } = createSignupRequests(db);

  const one = (row: unknown) => (row ? toSubscriber(row as Row) : undefined);
  const insertPending = (p: OptIn & { email: string }) => (statements.insertPending.get(p) as { id: number }).id;
  const confirm = db.transaction((id: number, now: string, settings: SignupSettings) => {
    const { digestSize, keywords, cadence, timezone, deliveryHour } = settings;
    const confirmed = statements.confirm.run({
      id,
      now,
      digestSize,
      keywords,
      cadence,
      timezone,
      deliveryHour,
    }).changes;
    deleteRequestsOf(id);
    return confirmed === 1;
  });

  return {
    byEmail: (email: string) => one(statements.byEmail.get(email)),
    byId: (id: number) => one(statements.byId.get(id)),
    insertPending,
    /**
     * Signing up again after an unsubscribe or a suppression is a new subscription: a new row, so a
     * new id, and the links emailed for the old one (`<id>.<mac>`) reach nothing any more. The old
     * row's delivery history goes with it, as on erasure. Run it inside a transaction.
     */
    replaceWithPending: (p: OptIn & { id: number; email: string }) => {
      const { id, ...rest } = p;
      statements.deleteRow.run(id);
      return insertPending(rest);
    },
    noteConfirmationSent: (id: number, now: string) => {
      statements.noteConfirmationSent.run({ id, now });
    },
    ...requests,
    /**
     * Confirms a pending subscriber, with the settings of the request whose link did it, and drops
     * all of their requests. False when they were not pending.
     */
    confirm: (id: number, now: string, settings: SignupSettings) => confirm(id, now, settings),
    unsubscribe: (id: number, now: string) => statements.unsubscribe.run({ id, now }).changes === 1,
    suppress: (id: number, now: string) => statements.suppress.run({ id, now }).changes === 1,
    unsuppress: (id: number, now: string) => statements.unsuppress.run({ id, now }).changes === 1,
    /** Deletes the sign-ups still pending whose last confirmation email went out before `iso`. */
    deletePendingBefore: (iso: string) => statements.deletePendingBefore.run(iso).changes,
    setPreferences: (p: SignupSettings & { id: number; now: string }) => {
      statements.setPreferences.run(p);
    },
  };
}
