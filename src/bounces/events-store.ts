import type { Db } from '../db/connection.ts';

export type BounceKind = 'hard' | 'soft' | 'complaint' | 'ignore';

export interface StoredBounceEvent {
  subscriberId: number | null;
  verified: boolean;
  kind: BounceKind;
  reason: string;
  status: string | null;
  diagnostic: string | null;
  source: string;
  digestDate: string | null;
  reportKey: string;
  recipientHash: string;
  createdAt: string;
}

export interface BounceListing {
  createdAt: string;
  kind: BounceKind;
  email: string | null;
  status: string | null;
  reason: string;
  digestDate: string | null;
  source: string;
  diagnostic: string | null;
  /** False: matched by nothing Paperboy signed; recorded only. */
  verified: boolean;
}

/** One send run's outcome as the reports tell it; counts are of distinct subscribers. */
export interface RunBounceCounts {
  date: string;
  runStatus: string;
  sent: number;
  hard: number;
  soft: number;
  complaints: number;
}

export type BounceStore = ReturnType<typeof createBounceStore>;

/**
 * Every statement on bounce_events and suppressions, and the few reads of the send ledger the
 * bounce policy needs (which digests a subscriber was sent, what each run sent), prepared once.
 */
export function createBounceStore(db: Db) {
  // Distinct subscribers per kind; a bounce whose subscriber was erased still counts by address.
  const perKind = (kind: BounceKind, as: string) =>
    `count(DISTINCT CASE WHEN e.kind = '${kind}' THEN coalesce(e.subscriber_id, e.recipient_hash) END) AS ${as}`;
  const runCounts = `SELECT r.digest_date AS date, r.status AS runStatus, r.sent,
       ${perKind('hard', 'hard')}, ${perKind('soft', 'soft')}, ${perKind('complaint', 'complaints')}
     FROM send_runs r LEFT JOIN bounce_events e ON e.digest_date = r.digest_date AND e.verified = 1`;
  const s = {
    insert: db.prepare(
      `INSERT INTO bounce_events (subscriber_id, verified, kind, reason, status, diagnostic, source, digest_date, report_key, recipient_hash, created_at)
       VALUES (@subscriberId, @verified, @kind, @reason, @status, @diagnostic, @source, @digestDate, @reportKey, @recipientHash, @createdAt)
       ON CONFLICT (report_key, recipient_hash) DO NOTHING`,
    ),
    // The same report again, now vouched for: the event recorded as unverified is acted on.
    verify: db.prepare(
      `UPDATE bounce_events SET verified = 1, subscriber_id = @subscriberId, kind = @kind, reason = @reason,
         status = @status, source = @source, digest_date = @digestDate
       WHERE report_key = @reportKey AND recipient_hash = @recipientHash AND verified = 0`,
    ),
    softDays: db
      .prepare(
        `SELECT DISTINCT digest_date FROM bounce_events WHERE subscriber_id = ? AND kind = 'soft' AND digest_date >= ?`,
      )
      .pluck(),
    // The digests that went out to a subscriber: a 'sent' delivery is the server's acceptance,
    // so a digest counts as delivered only when no bounce comes back for it.
    sentDays: db
      .prepare(
        `SELECT DISTINCT r.digest_date FROM send_deliveries d JOIN send_runs r ON r.id = d.run_id
         WHERE d.subscriber_id = ? AND d.status = 'sent' AND r.digest_date >= ?`,
      )
      .pluck(),
    lastSentDay: db
      .prepare(
        `SELECT max(r.digest_date) FROM send_deliveries d JOIN send_runs r ON r.id = d.run_id
         WHERE d.subscriber_id = ? AND d.status = 'sent' AND r.digest_date >= ?`,
      )
      .pluck(),
    list: db.prepare(
      `SELECT e.created_at AS createdAt, e.kind, s.email, e.status, e.reason, e.digest_date AS digestDate, e.source, e.diagnostic, e.verified
       FROM bounce_events e LEFT JOIN subscribers s ON s.id = e.subscriber_id
       WHERE e.created_at >= ? ORDER BY e.created_at, e.id`,
    ),
    runs: db.prepare(`${runCounts} GROUP BY r.id ORDER BY r.digest_date DESC`),
    runBefore: db.prepare(
      `${runCounts} WHERE r.id = (SELECT id FROM send_runs WHERE digest_date < ? AND sent > 0 ORDER BY digest_date DESC LIMIT 1) GROUP BY r.id`,
    ),
    unattributed: db.prepare(
      `SELECT kind, count(*) AS n FROM bounce_events
       WHERE verified = 1 AND (digest_date IS NULL OR digest_date NOT IN (SELECT digest_date FROM send_runs)) GROUP BY kind`,
    ),
    suppression: db.prepare('SELECT reason, created_at AS createdAt FROM suppressions WHERE address_hash = ?'),
    suppress: db.prepare(
      'INSERT INTO suppressions (address_hash, reason, created_at) VALUES (?, ?, ?) ON CONFLICT (address_hash) DO NOTHING',
    ),
    lift: db.prepare('DELETE FROM suppressions WHERE address_hash = ?'),
  };

  return {
    /** Runs `fn` in one IMMEDIATE transaction (nested calls join the outer one). */
    transaction: <T>(fn: () => T): T => db.transaction(fn).immediate(),
    /** False when this (report, recipient) was recorded before: the event is a repeat. */
    insert: (e: StoredBounceEvent): boolean => s.insert.run({ ...e, verified: e.verified ? 1 : 0 }).changes === 1,
    /** True when this (report, recipient) had been recorded as unverified and now is verified. */
    verify: (e: StoredBounceEvent): boolean => {
      const { verified: _, createdAt: __, diagnostic: ___, ...fields } = e;
      return s.verify.run(fields).changes === 1;
    },
    softBounceDays: (subscriberId: number, since: string) => s.softDays.all(subscriberId, since) as string[],
    sentDigestDays: (subscriberId: number, since: string) => s.sentDays.all(subscriberId, since) as string[],
    lastSentDigestDay: (subscriberId: number, since: string) =>
      (s.lastSentDay.get(subscriberId, since) as string | null) ?? undefined,
    list: (since: string) =>
      (s.list.all(since) as (Omit<BounceListing, 'verified'> & { verified: number })[]).map((e) => ({
        ...e,
        verified: e.verified === 1,
      })),
    runs: () => s.runs.all() as RunBounceCounts[],
    /** The last run before `date` that sent anything. */
    runBefore: (date: string) => s.runBefore.get(date) as RunBounceCounts | undefined,
    unattributed: () =>
      Object.fromEntries(
        (s.unattributed.all() as { kind: BounceKind; n: number }[]).map((r) => [r.kind, r.n]),
      ) as Partial<Record<BounceKind, number>>,
    suppression: (hash: string) => s.suppression.get(hash) as { reason: string; createdAt: string } | undefined,
    /** Keeps the first reason when the address is already on the list. */
    suppress: (hash: string, reason: string, now: string) => {
      s.suppress.run(hash, reason, now);
    },
    lift: (hash: string) => s.lift.run(hash).changes === 1,
  };
}
