import type { Db } from './connection.ts';

export interface QueuedMail {
  id: number;
  kind: string;
  recipient: string;
  payload: Record<string, unknown>;
  attempts: number;
  /** When it was queued (ISO 8601). */
  createdAt: string;
}

export type MailQueueStore = ReturnType<typeof createMailQueueStore>;

export function createMailQueueStore(db: Db) {
  const statements = {
    enqueue: db.prepare(
      `INSERT INTO mail_queue (kind, recipient, payload, next_attempt_at, created_at) VALUES (@kind, @recipient, @payload, @now, @now)`,
    ),
    due: db.prepare(
      `SELECT id, kind, recipient, payload, attempts, created_at AS createdAt FROM mail_queue
       WHERE status = 'queued' AND next_attempt_at <= ? ORDER BY next_attempt_at, id LIMIT ?`,
    ),
    // A settled message keeps no payload: a confirmation's raw link would still confirm, read from
    // the database, for as long as it is valid.
    markSent: db.prepare(
      `UPDATE mail_queue SET status = 'sent', payload = '{}', sent_at = @now, attempts = attempts + 1, last_error = NULL WHERE id = @id`,
    ),
    retryLater: db.prepare(
      `UPDATE mail_queue SET attempts = attempts + 1, next_attempt_at = @next, last_error = @error WHERE id = @id`,
    ),
    recipient: db.prepare('SELECT recipient FROM mail_queue WHERE id = ?').pluck(),
    makeAllDue: db.prepare(`UPDATE mail_queue SET next_attempt_at = ? WHERE status = 'queued' AND next_attempt_at > ?`),
    markFailed: db.prepare(
      `UPDATE mail_queue SET status = 'failed', payload = '{}', attempts = attempts + 1, last_error = @error WHERE id = @id`,
    ),
    // Queued mail whose link has expired is worth nothing: after an outage longer than its life,
    // it is failed rather than sent.
    expireQueued: db.prepare(
      `UPDATE mail_queue SET status = 'failed', payload = '{}', last_error = 'expired before it could be sent' WHERE status = 'queued' AND created_at < ?`,
    ),
    // The queue is not an archive: settled messages (and the addresses on them) go after a week.
    deleteSettled: db.prepare(`DELETE FROM mail_queue WHERE status <> 'queued' AND created_at < ?`),
  };
  return {
    enqueue: (m: { kind: string; recipient: string; payload: Record<string, unknown>; now: string }) => {
      statements.enqueue.run({ ...m, payload: JSON.stringify(m.payload) });
    },
    due: (now: string, limit: number): QueuedMail[] =>
      (statements.due.all(now, limit) as (Omit<QueuedMail, 'payload'> & { payload: string })[]).map((r) => ({
        ...r,
        payload: JSON.parse(r.payload) as Record<string, unknown>,
      })),
    markSent: (id: number, now: string) => {
      statements.markSent.run({ id, now });
    },
    retryLater: (id: number, next: string, error: string) => {
      statements.retryLater.run({ id, next, error });
    },
    /** The address a queued message went to, while the queue keeps it (a week after it settled). */
    recipientOf: (id: number) => statements.recipient.get(id) as string | undefined,
    /** Makes every queued message due now: after a restart (often to fix SMTP settings), try at once. */
    makeAllDue: (now: string) => statements.makeAllDue.run(now, now).changes,
    markFailed: (id: number, error: string) => {
      statements.markFailed.run({ id, error });
    },
    /** Fails the messages queued before `iso` and not sent yet; returns how many. */
    expireQueuedBefore: (iso: string) => statements.expireQueued.run(iso).changes,
    /** Deletes the sent and failed messages queued before `iso`; returns how many. */
    deleteSettledBefore: (iso: string) => statements.deleteSettled.run(iso).changes,
  };
}
