import type { Db } from '../db/connection.ts';
import type { BounceDecision } from './classify/report-types.ts';
import { MAILBOX_REASONS } from './classify/rules.ts';

/** An event's kind: the classifier's decision (report-types.ts). */
export type BounceKind = BounceDecision;

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
  /** The failed address's domain, lower-cased; null in events recorded before domains were kept. */
  domain: string | null;
  createdAt: string;
}

interface BounceListing {
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
  /** Deliveries the relay refused or that failed for good while sending: tried, and not sent. */
  failed: number;
  hard: number;
  soft: number;
  complaints: number;
  /** Refused for a reason about the sender (never held against them). */
  sender: number;
}

/** Sender-side refusals of one receiving domain for one reason. */
interface SenderRefusals {
  domain: string;
  reason: string;
  /** Events (one per refused digest and report). */
  refusals: number;
  /** Distinct readers refused. */
  readers: number;
  /** The latest digest day refused (or the day the report came, when it named none). */
  last: string;
}

/** One subscriber's verified events of a day, as the refused-readers rule reads them. */
export interface DayEvent {
  day: string;
  kind: BounceKind;
  reason: string;
}

export type BounceStore = ReturnType<typeof createBounceStore>;

/**
 * Every statement on bounce_events, and the few reads of the send ledger the
 * bounce policy needs (which digests a subscriber was sent, what each run sent), prepared once.
 */
export function createBounceStore(db: Db) {
  const statements = { ...prepareEventStatements(db), ...prepareReportStatements(db) };
  return {
    /** Runs `fn` in one IMMEDIATE transaction (nested calls join the outer one). */
    transaction: <T>(fn: () => T): T => db.transaction(fn).immediate(),
    /** False when this (report, recipient) was recorded before: the event is a repeat. */
    insert: (e: StoredBounceEvent): boolean =>
      statements.insert.run({ ...e, verified: e.verified ? 1 : 0 }).changes === 1,
    /** True when this (report, recipient) had been recorded as unverified and now is verified. */
    verify: (e: StoredBounceEvent): boolean => {
      const { verified: _, createdAt: __, diagnostic: ___, domain: ____, ...fields } = e;
      return statements.verify.run(fields).changes === 1;
    },
    /** Digest days since `since` that bounced softly about the mailbox (and after any lifted suppression). */
    softBounceDays: (subscriberId: number, since: string) =>
      statements.softDays.all({ id: subscriberId, since }) as string[],
    /** Digest days since `since` sent to the subscriber (and after any lifted suppression). */
    sentDigestDays: (subscriberId: number, since: string) =>
      statements.sentDays.all({ id: subscriberId, since }) as string[],
    lastSentDigestDay: (subscriberId: number, since: string) =>
      (statements.lastSentDay.get(subscriberId, since) as string | null) ?? undefined,
    list: (since: string) =>
      (statements.list.all(since) as (Omit<BounceListing, 'verified'> & { verified: number })[]).map((e) => ({
        ...e,
        verified: e.verified === 1,
      })),
    runs: () => statements.runs.all() as RunBounceCounts[],
    /** The last run before `date` that sent anything. */
    runBefore: (date: string) => statements.runBefore.get(date) as RunBounceCounts | undefined,
    /** Sender-side refusals recorded since `since` (an ISO instant), per receiving domain and reason. */
    senderRefusals: (since: string) => statements.senderRefusals.all(since) as SenderRefusals[],
    /** The same for the digests of one day. */
    runRefusals: (date: string) => statements.runRefusals.all(date) as SenderRefusals[],
    /** Confirmed readers refused for a sender-side reason on a digest of `since` or later. */
    refusedReaders: (since: string) => statements.refusedReaders.all(since) as { id: number; email: string }[],
    /** A subscriber's verified events about digests of `since` or later, oldest first. */
    dayEvents: (subscriberId: number, since: string) => statements.dayEvents.all(subscriberId, since) as DayEvent[],
    /** True when a complaint from the subscriber was recorded. */
    complained: (subscriberId: number) => statements.complained.get(subscriberId) === 1,
    unattributed: () =>
      Object.fromEntries(
        (statements.unattributed.all() as { kind: BounceKind; n: number }[]).map((r) => [r.kind, r.n]),
      ) as Partial<Record<BounceKind, number>>,
  };
}

/** What the bounce policy reads and writes about one subscriber or address. */
function prepareEventStatements(db: Db) {
  // After an operator lifted a suppression, only the digests from that day on count.
  const countedSince = `max(@since, coalesce((SELECT bounces_counted_from FROM subscribers WHERE id = @id), ''))`;
  const mailboxReasons = MAILBOX_REASONS.map((r) => `'${r}'`).join(', ');
  return {
    insert: db.prepare(
      `INSERT INTO bounce_events (subscriber_id, verified, kind, reason, status, diagnostic, source, digest_date, report_key, recipient_hash, domain, created_at)
       VALUES (@subscriberId, @verified, @kind, @reason, @status, @diagnostic, @source, @digestDate, @reportKey, @recipientHash, @domain, @createdAt)
       ON CONFLICT (report_key, recipient_hash) DO NOTHING`,
    ),
    // The same report again, now vouched for: the event recorded as unverified is acted on.
    verify: db.prepare(
      `UPDATE bounce_events SET verified = 1, subscriber_id = @subscriberId, kind = @kind, reason = @reason,
         status = @status, source = @source, digest_date = @digestDate
       WHERE report_key = @reportKey AND recipient_hash = @recipientHash AND verified = 0`,
    ),
    // Only soft bounces about the mailbox count (MAILBOX_REASONS).
    softDays: db
      .prepare(
        `SELECT DISTINCT digest_date FROM bounce_events
         WHERE subscriber_id = @id AND kind = 'soft' AND reason IN (${mailboxReasons}) AND digest_date >= ${countedSince}`,
      )
      .pluck(),
    // The digests that went out to a subscriber: a 'sent' delivery is the server's acceptance,
    // so a digest counts as delivered only when no bounce comes back for it.
    sentDays: db
      .prepare(
        `SELECT DISTINCT r.digest_date FROM send_deliveries d JOIN send_runs r ON r.id = d.run_id
         WHERE d.subscriber_id = @id AND d.status = 'sent' AND r.digest_date >= ${countedSince}`,
      )
      .pluck(),
    lastSentDay: db
      .prepare(
        `SELECT max(r.digest_date) FROM send_deliveries d JOIN send_runs r ON r.id = d.run_id
         WHERE d.subscriber_id = ? AND d.status = 'sent' AND r.digest_date >= ?`,
      )
      .pluck(),
    dayEvents: db.prepare(
      `SELECT digest_date AS day, kind, reason FROM bounce_events
       WHERE subscriber_id = ? AND verified = 1 AND digest_date >= ? ORDER BY digest_date`,
    ),
    complained: db
      .prepare(`SELECT 1 FROM bounce_events WHERE subscriber_id = ? AND kind = 'complaint' AND verified = 1 LIMIT 1`)
      .pluck(),
  };
}

/** What the reports read: events listed, counted per run, per domain and reason. */
function prepareReportStatements(db: Db) {
  // Distinct subscribers per kind; a bounce whose subscriber was erased still counts by address.
  const perKind = (kind: BounceKind, as: string) =>
    `count(DISTINCT CASE WHEN e.kind = '${kind}' THEN coalesce(e.subscriber_id, e.recipient_hash) END) AS ${as}`;
  const runCounts = `SELECT r.digest_date AS date, r.status AS runStatus, r.sent, r.failed,
       ${perKind('hard', 'hard')}, ${perKind('soft', 'soft')}, ${perKind('complaint', 'complaints')},
       ${perKind('sender', 'sender')}
     FROM send_runs r LEFT JOIN bounce_events e ON e.digest_date = r.digest_date AND e.verified = 1`;
  return {
    list: db.prepare(
      `SELECT e.created_at AS createdAt, e.kind, s.email, e.status, e.reason, e.digest_date AS digestDate, e.source, e.diagnostic, e.verified
       FROM bounce_events e LEFT JOIN subscribers s ON s.id = e.subscriber_id
       WHERE e.created_at >= ? ORDER BY e.created_at, e.id`,
    ),
    runs: db.prepare(`${runCounts} GROUP BY r.id ORDER BY r.digest_date DESC`),
    runBefore: db.prepare(
      `${runCounts} WHERE r.id = (SELECT id FROM send_runs WHERE digest_date < ? AND sent > 0 ORDER BY digest_date DESC LIMIT 1) GROUP BY r.id`,
    ),
    senderRefusals: db.prepare(
      `SELECT coalesce(domain, '') AS domain, reason, count(*) AS refusals,
         count(DISTINCT coalesce(subscriber_id, recipient_hash)) AS readers,
         max(coalesce(digest_date, substr(created_at, 1, 10))) AS last
       FROM bounce_events WHERE kind = 'sender' AND verified = 1 AND created_at >= ?
       GROUP BY domain, reason ORDER BY refusals DESC, domain, reason`,
    ),
    runRefusals: db.prepare(
      `SELECT coalesce(domain, '') AS domain, reason, count(*) AS refusals,
         count(DISTINCT coalesce(subscriber_id, recipient_hash)) AS readers, digest_date AS last
       FROM bounce_events WHERE kind = 'sender' AND verified = 1 AND digest_date = ?
       GROUP BY domain, reason ORDER BY refusals DESC, domain, reason`,
    ),
    // Confirmed readers refused for a sender-side reason on a digest since the given day.
    refusedReaders: db.prepare(
      `SELECT DISTINCT s.id, s.email FROM bounce_events e JOIN subscribers s ON s.id = e.subscriber_id
       WHERE e.kind = 'sender' AND e.verified = 1 AND e.digest_date >= ? AND s.status = 'confirmed'
       ORDER BY s.id`,
    ),
    unattributed: db.prepare(
      `SELECT kind, count(*) AS n FROM bounce_events
       WHERE verified = 1 AND (digest_date IS NULL OR digest_date NOT IN (SELECT digest_date FROM send_runs)) GROUP BY kind`,
    ),
  };
}
