import type { Db } from '../db/connection.ts';
import type { Cadence } from '../model/cadence.ts';
import {
  toRun,
  type ClaimedDelivery,
  type DeliveryOutcome,
  type DeliveryStatus,
  type RunRow,
  type RunStatus,
  type SendRun,
} from './ledger-records.ts';

export type LedgerStore = ReturnType<typeof createLedgerStore>;

/** The condition of the partial index send_deliveries_open (migration 008). */
const OPEN = "status IN ('pending', 'sending')";

/**
 * An address column's domain, as recipientDomain (src/bounces/domains.ts) reads it: after the last
 * '@' (rtrim drops every trailing character other than '@'), lower-cased.
 */
const DOMAIN_OF = (column: string) =>
  `lower(substr(${column}, length(rtrim(${column}, replace(${column}, '@', ''))) + 1))`;

/**
 * A subscriber's reader group as stored: '' without a zone, else `zone|hour` (hour empty when
 * they chose none). The keys `groupKey` (src/jobs/local-morning.ts) builds for the same rows.
 */
const GROUP_KEY = "CASE WHEN s.timezone IS NULL THEN '' ELSE s.timezone || '|' || coalesce(s.delivery_hour, '') END";

/** Subscribers `s` in the slice `groups` (a JSON array of group keys; NULL: everyone). */
const IN_SLICE = (groups: string) => `(${groups} IS NULL OR ${GROUP_KEY} IN (SELECT value FROM json_each(${groups})))`;

/** The group keys of the JSON array `groups` as the columns they stand for: `g.zone`, `g.hour`. */
const GROUPS = (groups: string) =>
  `(SELECT DISTINCT CASE WHEN value = '' THEN NULL ELSE substr(value, 1, instr(value, '|') - 1) END AS zone,
     CAST(nullif(substr(value, instr(value, '|') + 1), '') AS INTEGER) AS hour FROM json_each(${groups})) g`;

/**
 * Confirmed subscribers `alias` of the cadence in the group `g`, through subscribers_groups
 * (migration 025): `IS` so that the groups without a zone or an hour (NULL) match too.
 */
const IN_GROUP = (alias: string, cadence: string) =>
  `${alias}.status = 'confirmed' AND ${alias}.cadence = ${cadence} AND ${alias}.timezone IS g.zone AND ${alias}.delivery_hour IS g.hour`;

/** Deliveries whose subscriber's domain is in the JSON array @held (domains backed off in this send). */
const NOT_HELD = `${DOMAIN_OF('s.email')} NOT IN (SELECT value FROM json_each(@held))`;

/**
 * The ledger: runs, their lease, and one delivery row per (run, subscriber), written when the
 * delivery's outcome is known (see ledger-session.ts, which holds one sender's claims). Every
 * statement is prepared here, once; writes that belong together share one transaction so the
 * sender pays one commit per batch, not one per message.
 */
export function createLedgerStore(db: Db) {
  const statements: Statements = {
    ...prepareRunStatements(db),
    ...prepareClaimStatements(db),
    ...prepareSliceStatements(db),
    ...prepareHistoryStatements(db),
  };
  return { ...runMethods(db, statements), ...sendMethods(db, statements), ...historyMethods(db, statements) };
}

type Statements = ReturnType<typeof prepareRunStatements> &
  ReturnType<typeof prepareClaimStatements> &
  ReturnType<typeof prepareSliceStatements> &
  ReturnType<typeof prepareHistoryStatements>;

/** The run rows: creating, leasing, counting, resuming. */
function prepareRunStatements(db: Db) {
  return {
    byDate: db.prepare('SELECT * FROM send_runs WHERE digest_date = ? AND cadence = ?'),
    byId: db.prepare('SELECT * FROM send_runs WHERE id = ?'),
    insertRun: db.prepare(
      `INSERT INTO send_runs (digest_date, cadence, status, started_at, updated_at, slice_groups) VALUES (?, ?, 'running', ?, ?, ?)
       ON CONFLICT (digest_date, cadence) DO NOTHING`,
    ),
    // The next slice, under the lease: after a finished one whose cut-off is earlier, or to widen
    // an open run to everyone (send-now). The walk starts again; those with a row are left out.
    moveSlice: db.prepare(
      `UPDATE send_runs SET started_at = max(started_at, @at), slice_groups = @groups, status = 'running',
         enqueued_through = 0, enqueue_done = 0, settled_through = 0, finished_at = NULL, last_error = NULL, updated_at = @now
       WHERE id = @id AND ((status = 'done' AND started_at < @at)
         OR (@groups IS NULL AND slice_groups IS NOT NULL AND status <> 'empty'))`,
    ),
    // The lease is free when nobody holds it or the holder let it lapse (a crashed process).
    takeLease: db.prepare(
      `UPDATE send_runs SET lease_owner = @owner, lease_expires_at = @expires, updated_at = @now
       WHERE id = @id AND (lease_owner IS NULL OR lease_owner = @owner OR lease_expires_at <= @now)`,
    ),
    renewLease: db.prepare(
      `UPDATE send_runs SET lease_expires_at = @expires, updated_at = @now WHERE id = @id AND lease_owner = @owner`,
    ),
    releaseLease: db.prepare(
      `UPDATE send_runs SET lease_owner = NULL, lease_expires_at = NULL, updated_at = @now WHERE id = @id AND lease_owner = @owner`,
    ),
    setStatus: db.prepare(
      `UPDATE send_runs SET status = @status, last_error = @error, updated_at = @now,
         finished_at = CASE WHEN @status IN ('done', 'empty') THEN @now ELSE NULL END
       WHERE id = @id`,
    ),
    // Rows a previous holder left 'sending' may or may not have gone out; see run.ts.
    // INDEXED BY here and below: without statistics the planner walks the primary key
    // (run_id, subscriber_id), i.e. every row of the run, sent ones included, for the few
    // pending or sending ones (a cost growing with the list). The partial index
    // holds open rows only, and SQLite uses it only when the query repeats its condition (OPEN).
    resetSending: db.prepare(
      `UPDATE send_deliveries INDEXED BY send_deliveries_open SET status = 'pending', updated_at = @now
       WHERE run_id = @id AND ${OPEN} AND status = 'sending'`,
    ),
    // First attempts a dead sender had claimed and not written: between the mark and the cursor.
    countUnsettled: db
      .prepare(
        `SELECT count(*) FROM send_runs r JOIN subscribers s ON s.id > r.settled_through AND s.id <= r.enqueued_through
         WHERE r.id = ? AND s.status = 'confirmed' AND s.cadence = r.cadence AND s.confirmed_at < r.started_at
           AND NOT EXISTS (SELECT 1 FROM send_deliveries d WHERE d.run_id = r.id AND d.subscriber_id = s.id)`,
      )
      .pluck(),
    rewindCursor: db.prepare(
      `UPDATE send_runs SET enqueued_through = settled_through, enqueue_done = 0, updated_at = @now
       WHERE id = @id AND settled_through < enqueued_through`,
    ),
    advanceCursor: db.prepare(
      `UPDATE send_runs SET enqueued_through = @through, enqueue_done = @done, updated_at = @now WHERE id = @id`,
    ),
    addCounts: db.prepare(
      `UPDATE send_runs SET sent = sent + ?, failed = failed + ?, skipped = skipped + ?,
         settled_through = max(settled_through, ?), updated_at = ?
       WHERE id = ?`,
    ),
    remainingAudience: db
      .prepare(
        `SELECT count(*) FROM subscribers s JOIN send_runs r ON r.id = ?
         WHERE s.status = 'confirmed' AND s.cadence = r.cadence AND s.id > r.enqueued_through AND s.confirmed_at < r.started_at AND r.enqueue_done = 0`,
      )
      .pluck(),
  };
}

/** What a claim reads and marks: deliveries due again, the next of the audience, statuses. */
function prepareClaimStatements(db: Db) {
  return {
    countPending: db
      .prepare(
        `SELECT count(*) FROM send_deliveries INDEXED BY send_deliveries_open WHERE run_id = ? AND ${OPEN} AND status = 'pending'`,
      )
      .pluck(),
    countPendingNotHeld: db
      .prepare(
        `SELECT count(*) FROM send_deliveries d INDEXED BY send_deliveries_open JOIN subscribers s ON s.id = d.subscriber_id
         WHERE d.run_id = @id AND d.${OPEN} AND d.status = 'pending' AND ${NOT_HELD}`,
      )
      .pluck(),
    // Deliveries due again (released, deferred, or left 'sending' by a crashed sender), oldest first;
    // none of a domain backed off in this send.
    due: db.prepare(
      `SELECT d.subscriber_id AS subscriberId, s.email, s.digest_size AS digestSize, s.keywords, d.attempts + 1 AS attempts, s.status
       FROM send_deliveries d INDEXED BY send_deliveries_open JOIN subscribers s ON s.id = d.subscriber_id
       WHERE d.run_id = @id AND d.${OPEN} AND d.status = 'pending' AND (d.next_attempt_at IS NULL OR d.next_attempt_at <= @now)
         AND ${NOT_HELD}
       ORDER BY d.subscriber_id LIMIT @limit`,
    ),
    // The rows \`due\` just returned, in one statement: the same condition up to the last id it
    // returned (both run inside one transaction, so nothing changes in between).
    markSending: db.prepare(
      `UPDATE send_deliveries INDEXED BY send_deliveries_open SET status = 'sending', attempts = attempts + 1, updated_at = @now
       WHERE run_id = @id AND ${OPEN} AND status = 'pending' AND (next_attempt_at IS NULL OR next_attempt_at <= @now) AND subscriber_id <= @last`,
    ),
    // The same when some domains are held back: their deliveries in that range stay pending.
    markSendingIds: db.prepare(
      `UPDATE send_deliveries SET status = 'sending', attempts = attempts + 1, updated_at = @now
       WHERE run_id = @id AND subscriber_id IN (SELECT value FROM json_each(@ids))`,
    ),
    // The run's next subscribers after the cursor, walking the subscribers index (status, id):
    // no scan of the whole list. Those with a row already are left out: after a resume, the
    // range between the mark and the old cursor holds some that were written.
    nextAudience: db.prepare(
      `SELECT id AS subscriberId, email, digest_size AS digestSize, keywords, 1 AS attempts, status
       FROM subscribers s INDEXED BY subscribers_confirmed
       WHERE status = 'confirmed' AND id > @after AND confirmed_at < @cutoff AND cadence = @cadence
         AND NOT EXISTS (SELECT 1 FROM send_deliveries d WHERE d.run_id = @id AND d.subscriber_id = s.id)
       ORDER BY id LIMIT @limit`,
    ),
    nextDue: db
      .prepare(
        `SELECT min(next_attempt_at) FROM send_deliveries INDEXED BY send_deliveries_open WHERE run_id = ? AND ${OPEN} AND status = 'pending'`,
      )
      .pluck(),
    nextDueNotHeld: db
      .prepare(
        `SELECT min(d.next_attempt_at) FROM send_deliveries d INDEXED BY send_deliveries_open JOIN subscribers s ON s.id = d.subscriber_id
         WHERE d.run_id = @id AND d.${OPEN} AND d.status = 'pending' AND ${NOT_HELD}`,
      )
      .pluck(),
    subscriberStatus: db.prepare('SELECT status FROM subscribers WHERE id = ?').pluck(),
    // Moves when a confirmed subscriber stops being one (migration 010's triggers).
    departures: db.prepare('SELECT n FROM subscriber_departures WHERE id = 1').pluck(),
  };
}

/** A slice's readers (@groups: a JSON array of group keys), walked group by group (subscribers_groups). */
function prepareSliceStatements(db: Db) {
  return {
    // countUnsettled, remainingAudience and nextAudience of a slice (@groups: the run's slice_groups).
    countUnsettledInSlice: db
      .prepare(
        `SELECT count(*) FROM send_runs r, ${GROUPS('@groups')} JOIN subscribers s INDEXED BY subscribers_groups
           ON ${IN_GROUP('s', 'r.cadence')} AND s.id > r.settled_through AND s.id <= r.enqueued_through
         WHERE r.id = @id AND s.confirmed_at < r.started_at
           AND NOT EXISTS (SELECT 1 FROM send_deliveries d WHERE d.run_id = r.id AND d.subscriber_id = s.id)`,
      )
      .pluck(),
    remainingInSlice: db
      .prepare(
        `SELECT count(*) FROM send_runs r, ${GROUPS('@groups')} JOIN subscribers s INDEXED BY subscribers_groups
           ON ${IN_GROUP('s', 'r.cadence')} AND s.id > r.enqueued_through
         WHERE r.id = @id AND s.confirmed_at < r.started_at AND r.enqueue_done = 0`,
      )
      .pluck(),
    // Each group is walked in id order, not the whole list. No group's next @limit readers lie
    // beyond the @limit-th of any one group, so the rows up to the smallest of those are all that
    // need sorting: at most @limit per group.
    nextAudienceInSlice: db.prepare(
      `WITH upto AS (SELECT min(coalesce((SELECT t.id FROM subscribers t INDEXED BY subscribers_groups
           WHERE ${IN_GROUP('t', '@cadence')} AND t.id > @after AND t.confirmed_at < @cutoff
             AND NOT EXISTS (SELECT 1 FROM send_deliveries d WHERE d.run_id = @id AND d.subscriber_id = t.id)
           ORDER BY t.id LIMIT 1 OFFSET @limit - 1), 9223372036854775807)) AS id FROM ${GROUPS('@groups')})
       SELECT s.id AS subscriberId, s.email, s.digest_size AS digestSize, s.keywords, 1 AS attempts, s.status
       FROM ${GROUPS('@groups')} JOIN subscribers s INDEXED BY subscribers_groups
         ON ${IN_GROUP('s', '@cadence')} AND s.id > @after AND s.id <= (SELECT id FROM upto)
       WHERE s.confirmed_at < @cutoff AND NOT EXISTS (SELECT 1 FROM send_deliveries d WHERE d.run_id = @id AND d.subscriber_id = s.id)
       ORDER BY s.id LIMIT @limit`,
    ),
  };
}

/** Deliveries' outcomes as written, and what reads or folds them afterwards. */
function prepareHistoryStatements(db: Db) {
  return {
    // A delivery's outcome: the first write of a first attempt, an update of a retried one.
    // Positional parameters: binding an object of named ones costs more than the write itself.
    write: db.prepare(
      `INSERT INTO send_deliveries (run_id, subscriber_id, status, attempts, next_attempt_at, last_reply, message_id, updated_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (run_id, subscriber_id) DO UPDATE SET status = excluded.status, attempts = excluded.attempts,
         next_attempt_at = excluded.next_attempt_at, last_reply = coalesce(excluded.last_reply, last_reply),
         message_id = excluded.message_id, updated_at = excluded.updated_at`,
    ),
    deliveryCounts: db.prepare('SELECT status, count(*) AS n FROM send_deliveries WHERE run_id = ? GROUP BY status'),
    // Only finished runs: a failed or paused one is resumed later, and its rows are what keeps
    // it from sending anyone twice. Both dates must be old: the bounce rule reads recent days.
    foldable: db
      .prepare(
        `SELECT id FROM send_runs r WHERE status IN ('done', 'empty') AND finished_at < @before AND digest_date < substr(@before, 1, 10)
           AND EXISTS (SELECT 1 FROM send_deliveries d WHERE d.run_id = r.id)
         ORDER BY id LIMIT 1`,
      )
      .pluck(),
    foldBatch: db.prepare(
      `DELETE FROM send_deliveries WHERE run_id = @id
         AND subscriber_id IN (SELECT subscriber_id FROM send_deliveries WHERE run_id = @id ORDER BY subscriber_id LIMIT @limit)`,
    ),
    // The reader groups of a cadence (zone, hour as stored), for the due-check and the plan.
    audienceGroups: db.prepare(
      `SELECT timezone AS timeZone, delivery_hour AS hour, count(*) AS readers FROM subscribers
       WHERE status = 'confirmed' AND cadence = ? GROUP BY timezone, delivery_hour`,
    ),
    // Deliveries of a run sent to readers of the groups (a JSON array of keys).
    sentInGroups: db
      .prepare(
        `SELECT count(*) FROM send_deliveries d JOIN subscribers s ON s.id = d.subscriber_id
         WHERE d.run_id = @id AND d.status = 'sent' AND ${IN_SLICE('@groups')}`,
      )
      .pluck(),
    audience: db.prepare(
      `SELECT id, email, digest_size AS digestSize, keywords FROM subscribers WHERE status = 'confirmed' AND cadence = ? ORDER BY id`,
    ),
  };
}

/** A run's life: opened, leased, its status set, resumed after a sender died. */
function runMethods(db: Db, statements: Statements) {
  const resume = db.transaction((id: number, now: string): number => {
    const groups = toRun(statements.byId.get(id) as RunRow).sliceGroups;
    const unsettled = (
      groups
        ? statements.countUnsettledInSlice.get({ id, groups: JSON.stringify(groups) })
        : statements.countUnsettled.get(id)
    ) as number;
    statements.rewindCursor.run({ id, now });
    return unsettled + statements.resetSending.run({ id, now }).changes;
  });
  return {
    byDate(date: string, cadence: Cadence = 'daily'): SendRun | undefined {
      const row = statements.byDate.get(date, cadence) as RunRow | undefined;
      return row ? toRun(row) : undefined;
    },
    byId: (id: number) => toRun(statements.byId.get(id) as RunRow),
    /**
     * The run for the date and cadence, created 'running' with `now` as its cut-off if there was
     * none; `groups`: the reader groups of its first slice (null: everyone).
     */
    open(date: string, now: Date, cadence: Cadence = 'daily', groups: readonly string[] | null = null): SendRun {
      const at = now.toISOString();
      statements.insertRun.run(date, cadence, at, at, groups && JSON.stringify(groups));
      return toRun(statements.byDate.get(date, cadence) as RunRow);
    },
    /**
     * Begins the slice with cut-off `at` and reader groups `groups` (null: everyone) on a run whose
     * lease the caller holds, when it is ahead of the run (see `sliceAhead`). True if it moved.
     */
    moveSlice(id: number, at: Date, groups: readonly string[] | null, now: Date): boolean {
      const params = { id, at: at.toISOString(), groups: groups && JSON.stringify(groups), now: now.toISOString() };
      return statements.moveSlice.run(params).changes === 1;
    },
    /** True if `owner` now holds the lease until now + ms. */
    takeLease(id: number, owner: string, now: Date, ms: number): boolean {
      const expires = new Date(now.getTime() + ms).toISOString();
      return db
        .transaction(() => statements.takeLease.run({ id, owner, expires, now: now.toISOString() }).changes === 1)
        .immediate();
    },
    /** False if the lease was lost (it lapsed and someone took it over). */
    renewLease(id: number, owner: string, now: Date, ms: number): boolean {
      const expires = new Date(now.getTime() + ms).toISOString();
      return statements.renewLease.run({ id, owner, expires, now: now.toISOString() }).changes === 1;
    },
    releaseLease(id: number, owner: string, now: Date): void {
      statements.releaseLease.run({ id, owner, now: now.toISOString() });
    },
    setStatus(id: number, status: RunStatus, now: Date, error: string | null = null): void {
      statements.setStatus.run({ id, status, error, now: now.toISOString() });
    },
    /**
     * Hands back to the run what a previous sender claimed and never recorded (it died): first
     * attempts above the mark are claimed again, retries left 'sending' go back to pending.
     * Returns how many; some of them may have gone out (see the in-flight policy).
     */
    resume(id: number, now: Date): number {
      return resume.immediate(id, now.toISOString());
    },
  };
}

/** What a sender does with a run's deliveries: claims them, records their outcomes, asks what is left. */
function sendMethods(db: Db, statements: Statements) {
  const claim = claimTransaction(db, statements);
  const record = recordTransaction(db, statements);
  return {
    /**
     * Up to `limit` deliveries, in one transaction: first those due again (released, deferred,
     * or reset after a crash, moved to 'sending'), except those to the `held` domains, then first
     * attempts for the next subscribers in id order who were confirmed before the cut-off; with
     * the departures count as of then.
     */
    claimBatch(
      id: number,
      now: Date,
      limit: number,
      held: readonly string[] = [],
    ): { retries: ClaimedDelivery[]; fresh: ClaimedDelivery[]; departures: number } {
      return claim.immediate(id, now.toISOString(), limit, held);
    },
    /**
     * Writes outcomes of claimed deliveries (each with its claim) in one transaction, moves the
     * run's mark to `settledThrough`, and returns the departures count as of then.
     */
    recordOutcomes(
      id: number,
      settled: readonly (readonly [DeliveryOutcome, ClaimedDelivery])[],
      settledThrough: number,
      now: Date,
    ): number {
      return record.immediate(id, settled, settledThrough, now.toISOString());
    },
    /** Moves whenever a confirmed subscriber stops being one (migration 010's triggers). */
    departures(): number {
      return statements.departures.get() as number;
    },
    /** A subscriber's status now; undefined once erased. */
    subscriberStatus(subscriberId: number): string | undefined {
      return statements.subscriberStatus.get(subscriberId) as string | undefined;
    },
    /** When the earliest deferred delivery (not to a `held` domain) falls due, or null if none is pending. */
    nextDue(id: number, held: readonly string[] = []): string | null {
      return (
        held.length ? statements.nextDueNotHeld.get({ id, held: JSON.stringify(held) }) : statements.nextDue.get(id)
      ) as string | null;
    },
    /** Deliveries waiting, those to the `held` domains left out. */
    pendingCount(id: number, held: readonly string[] = []): number {
      return (
        held.length
          ? statements.countPendingNotHeld.get({ id, held: JSON.stringify(held) })
          : statements.countPending.get(id)
      ) as number;
    },
    /** Subscribers of the run not enqueued yet: for progress estimates. */
    remainingAudience(id: number): number {
      const groups = toRun(statements.byId.get(id) as RunRow).sliceGroups;
      return (
        groups
          ? statements.remainingInSlice.get({ id, groups: JSON.stringify(groups) })
          : statements.remainingAudience.get(id)
      ) as number;
    },
  };
}

/** Who would receive a run, the outcomes' counts, and the folding of old rows. */
function historyMethods(db: Db, statements: Statements) {
  const fold = db.transaction((before: string, limit: number): number => {
    let folded = 0;
    for (let id; folded < limit && (id = statements.foldable.get({ before }) as number | undefined) !== undefined;) {
      folded += statements.foldBatch.run({ id, limit: limit - folded }).changes;
    }
    return folded;
  });
  return {
    /** Everyone confirmed now with that cadence, in id order, streamed (a dry run's audience). */
    audience(
      cadence: Cadence = 'daily',
    ): IterableIterator<{ id: number; email: string; digestSize: number; keywords: string }> {
      return statements.audience.iterate(cadence) as IterableIterator<{
        id: number;
        email: string;
        digestSize: number;
        keywords: string;
      }>;
    },
    /**
     * Deletes up to `limit` delivery rows, in one transaction, of runs that finished before
     * `before` (an ISO instant): the run row keeps its sent/failed/skipped counts, which is all
     * the stats and metrics read. Returns how many; fewer than `limit` means nothing is left.
     */
    foldDeliveriesBefore(before: string, limit: number): number {
      return fold.immediate(before, limit);
    },
    /** How many readers of a cadence are in each stored (zone, hour), confirmed now. */
    audienceGroups(cadence: Cadence = 'daily'): { timeZone: string | null; hour: number | null; readers: number }[] {
      return statements.audienceGroups.all(cadence) as {
        timeZone: string | null;
        hour: number | null;
        readers: number;
      }[];
    },
    /** How many of the run's deliveries went to readers of these stored group keys. */
    sentInGroups(id: number, groups: readonly string[]): number {
      return statements.sentInGroups.get({ id, groups: JSON.stringify(groups) }) as number;
    },
    deliveryCounts(id: number): Record<DeliveryStatus, number> {
      const counts: Record<DeliveryStatus, number> = { pending: 0, sending: 0, sent: 0, failed: 0, skipped: 0 };
      for (const r of statements.deliveryCounts.all(id) as { status: DeliveryStatus; n: number }[])
        counts[r.status] = r.n;
      return counts;
    },
  };
}

/** Retries due (moved to 'sending') first, then first attempts for the next subscribers. */
function claimTransaction(db: Db, statements: Statements) {
  return db.transaction((id: number, now: string, limit: number, held: readonly string[]) => {
    const retries = statements.due.all({ id, now, limit, held: JSON.stringify(held) }) as ClaimedDelivery[];
    if (retries.length && held.length)
      statements.markSendingIds.run({ id, now, ids: JSON.stringify(retries.map((d) => d.subscriberId)) });
    else if (retries.length) statements.markSending.run({ id, now, last: retries[retries.length - 1]!.subscriberId });
    const run = toRun(statements.byId.get(id) as RunRow);
    const room = limit - retries.length;
    let fresh: ClaimedDelivery[] = [];
    if (room > 0 && !run.enqueueDone) {
      const params = { id, after: run.enqueuedThrough, cutoff: run.startedAt, cadence: run.cadence, limit: room };
      fresh = (
        run.sliceGroups
          ? statements.nextAudienceInSlice.all({ ...params, groups: JSON.stringify(run.sliceGroups) })
          : statements.nextAudience.all(params)
      ) as ClaimedDelivery[];
      const through = fresh.length ? fresh[fresh.length - 1]!.subscriberId : run.enqueuedThrough;
      statements.advanceCursor.run({ id, through, done: fresh.length < room ? 1 : 0, now });
    }
    return { retries, fresh, departures: statements.departures.get() as number };
  });
}

/** Writes a batch of outcomes and adds them to the run's counts; returns the departures count as of then. */
function recordTransaction(db: Db, statements: Statements) {
  // A subscriber erased since the claim took their history with them, and the foreign key
  // refuses their row: nothing is written for them (checked on failure, not on every row).
  const write = (
    ...row: [number, number, DeliveryStatus, number, string | null, string | null, string | null, string]
  ) => {
    try {
      statements.write.run(...row);
    } catch (err) {
      if ((err as { code?: string }).code !== 'SQLITE_CONSTRAINT_FOREIGNKEY') throw err;
    }
  };

  return db.transaction(
    (
      id: number,
      settled: readonly (readonly [DeliveryOutcome, ClaimedDelivery])[],
      settledThrough: number,
      now: string,
    ) => {
      let sent = 0;
      let failed = 0;
      let skipped = 0;
      for (const [o, d] of settled) {
        switch (o.kind) {
          case 'sent':
            write(id, o.subscriberId, 'sent', d.attempts, null, o.reply, o.messageId, now);
            sent++;
            break;
          case 'skipped':
            write(id, o.subscriberId, 'skipped', d.attempts, null, o.reply, null, now);
            skipped++;
            break;
          case 'failed':
            write(id, o.subscriberId, 'failed', d.attempts, null, o.reply, null, now);
            failed++;
            break;
          case 'deferred':
            write(id, o.subscriberId, 'pending', d.attempts, o.nextAttemptAt, o.reply, null, now);
            break;
          case 'released':
            // Never tried: the attempt does not count.
            write(id, o.subscriberId, 'pending', d.attempts - 1, null, o.reply ?? null, null, now);
            break;
        }
      }
      statements.addCounts.run(sent, failed, skipped, settledThrough, now, id);
      return statements.departures.get() as number;
    },
  );
}
