import type { Db } from './connection.ts';

export interface QueuedMail {
  id: number;
  kind: string;
  recipient: string;
  subject: string;
  html: string;
  text: string;
  headers: Record<string, string>;
  attempts: number;
}

export type MailQueueStore = ReturnType<typeof createMailQueueStore>;

export function createMailQueueStore(db: Db) {
  const s = {
    enqueue: db.prepare(
      `INSERT INTO mail_queue (kind, recipient, subject, html, text, headers, next_attempt_at, created_at)
       VALUES (@kind, @recipient, @subject, @html, @text, @headers, @now, @now)`,
    ),
    // Counts what was queued to one inbox recently, sent or not: the per-address cap.
    recentTo: db.prepare(`SELECT count(*) FROM mail_queue WHERE recipient = ? AND kind = ? AND created_at > ?`).pluck(),
    due: db.prepare(
      `SELECT id, kind, recipient, subject, html, text, headers, attempts FROM mail_queue
       WHERE status = 'queued' AND next_attempt_at <= ? ORDER BY next_attempt_at, id LIMIT ?`,
    ),
    nextDueAt: db.prepare(`SELECT min(next_attempt_at) FROM mail_queue WHERE status = 'queued'`).pluck(),
    markSent: db.prepare(`UPDATE mail_queue SET status = 'sent', sent_at = @now, attempts = attempts + 1, last_error = NULL WHERE id = @id`),
    retryLater: db.prepare(
      `UPDATE mail_queue SET attempts = attempts + 1, next_attempt_at = @next, last_error = @error WHERE id = @id`,
    ),
    dueNow: db.prepare(`UPDATE mail_queue SET next_attempt_at = ? WHERE status = 'queued' AND next_attempt_at > ?`),
    markFailed: db.prepare(`UPDATE mail_queue SET status = 'failed', attempts = attempts + 1, last_error = @error WHERE id = @id`),
  };
  return {
    enqueue: (m: { kind: string; recipient: string; subject: string; html: string; text: string; headers?: Record<string, string>; now: string }) => {
      s.enqueue.run({ ...m, headers: JSON.stringify(m.headers ?? {}) });
    },
    countRecent: (recipient: string, kind: string, since: string) => s.recentTo.get(recipient, kind, since) as number,
    due: (now: string, limit: number): QueuedMail[] =>
      (s.due.all(now, limit) as (Omit<QueuedMail, 'headers'> & { headers: string })[]).map((r) => ({
        ...r,
        headers: JSON.parse(r.headers) as Record<string, string>,
      })),
    nextDueAt: () => s.nextDueAt.get() as string | null,
    markSent: (id: number, now: string) => {
      s.markSent.run({ id, now });
    },
    retryLater: (id: number, next: string, error: string) => {
      s.retryLater.run({ id, next, error });
    },
    /** Makes every queued message due now: after a restart (often to fix SMTP settings), try at once. */
    makeAllDue: (now: string) => s.dueNow.run(now, now).changes,
    markFailed: (id: number, error: string) => {
      s.markFailed.run({ id, error });
    },
  };
}
