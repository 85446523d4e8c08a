import { afterEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.ts';
import { createMetricsStore } from '../../src/db/metrics-store.ts';
import { sendDigest } from '../../src/digest/run.ts';
import { FOLD_BATCH, purgeStaleData, startHousekeeping } from '../../src/jobs/housekeeping.ts';
import {
  byRecipient,
  deliveryRows,
  freezeFixtureDay,
  NOW,
  seedSubscribers,
  startHarness,
  type Harness,
} from '../support/digest-harness.ts';
import { createTestContext } from '../support/test-context.ts';

const DAY_MS = 24 * 3600_000;
const OLD = '2026-11-24';
const OLD_PAUSED = '2026-11-23';
const RECENT = '2027-05-24';

let h: Harness | undefined;
afterEach(async () => h?.close());

describe('retention of delivery rows (RETENTION_DAYS)', () => {
  it('when a finished run is older than RETENTION_DAYS, then its rows fold into its counts; recent and open runs keep theirs, and the open one still sends nobody twice', async () => {
    // Real time from NOW, plus the days the test skips ahead.
    const started = Date.now();
    let skipped = 0;
    const clock = { now: () => new Date(Date.now() + NOW.getTime() - started + skipped) };
    let blocked = true;
    h = await startHarness({
      env: { RETENTION_DAYS: '180' },
      now: clock.now,
      sink: {
        onRcpt: (to) =>
          blocked && to === 'reader5@example.com' ? { code: 554, message: '5.7.1 Relay access denied' } : undefined,
      },
    });
    const { ctx, deps, sink } = h;
    seedSubscribers(ctx.db, 30);
    freezeFixtureDay(ctx, OLD_PAUSED);
    freezeFixtureDay(ctx, OLD);
    freezeFixtureDay(ctx, RECENT);

    // Day 0: one run pauses on a policy rejection (left open), the next one finishes.
    expect(await sendDigest(deps, { date: OLD_PAUSED })).toMatchObject({ outcome: 'paused' });
    blocked = false;
    expect(await sendDigest(deps, { date: OLD })).toMatchObject({ outcome: 'done', sent: 30 });
    const pausedRows = deliveryRows(ctx.db, OLD_PAUSED);
    expect(pausedRows.length).toBeGreaterThan(0);
    expect(deliveryRows(ctx.db, OLD)).toHaveLength(30);

    // 181 days later: a new run finishes, then housekeeping runs.
    skipped = 181 * DAY_MS;
    expect(await sendDigest(deps, { date: RECENT })).toMatchObject({ outcome: 'done', sent: 30 });
    const runsBefore = { bounces: ctx.bounces.runs(), metrics: createMetricsStore(ctx.db).recentRuns(10) };
    const cutoff = new Date(clock.now().getTime() - 180 * DAY_MS).toISOString();
    // A batch is bounded: the first one takes 20 of the old run's 30 rows, the hourly pass the rest.
    expect(ctx.ledger.foldDeliveriesBefore(cutoff, 20)).toBe(20);
    expect(purgeStaleData({ ...ctx, clock })).toMatchObject({ foldedDeliveries: 10 });
    expect(purgeStaleData({ ...ctx, clock })).toMatchObject({ foldedDeliveries: 0 });

    expect(deliveryRows(ctx.db, OLD)).toEqual([]);
    expect(ctx.ledger.byDate(OLD)).toMatchObject({ status: 'done', sent: 30, failed: 0, skipped: 0 });
    // What `npm run bounces -- stats` and /metrics show per run does not change.
    expect(ctx.bounces.runs()).toEqual(runsBefore.bounces);
    expect(ctx.bounces.runs().find((r) => r.date === OLD)).toMatchObject({ sent: 30 });
    expect(createMetricsStore(ctx.db).recentRuns(10)).toEqual(runsBefore.metrics);
    expect(deliveryRows(ctx.db, RECENT)).toHaveLength(30);
    expect(deliveryRows(ctx.db, OLD_PAUSED)).toEqual(pausedRows);

    // The paused run, resumed half a year on, reaches the rest: everyone has each digest once.
    expect(await sendDigest(deps, { date: OLD_PAUSED })).toMatchObject({ outcome: 'done' });
    expect(ctx.ledger.byDate(OLD_PAUSED)).toMatchObject({ sent: 30 });
    const counts = byRecipient(sink);
    expect(counts.size).toBe(30);
    expect([...counts.values()].every((n) => n === 3)).toBe(true);
  });

  it('when an old run holds more rows than a batch, then the hourly job folds them all, a batch per turn of the event loop', async () => {
    const ctx = createTestContext({}, { clock: { now: () => NOW } });
    try {
      seedSubscribers(ctx.db, FOLD_BATCH + 5);
      const finished = new Date(NOW.getTime() - 200 * DAY_MS).toISOString();
      ctx.db
        .prepare(
          `INSERT INTO send_runs (digest_date, status, started_at, finished_at, updated_at, sent) VALUES ('2026-05-01', 'done', ?, ?, ?, ?)`,
        )
        .run(finished, finished, finished, FOLD_BATCH + 5);
      ctx.db
        .prepare(
          `INSERT INTO send_deliveries (run_id, subscriber_id, status, attempts) SELECT 1, id, 'sent', 1 FROM subscribers`,
        )
        .run();
      const rows = () => ctx.db.prepare('SELECT count(*) FROM send_deliveries').pluck().get();
      const job = startHousekeeping(ctx);
      // The first batch went synchronously; the rest waits for the next turn.
      expect(rows()).toBe(5);
      await new Promise((resolve) => setImmediate(resolve));
      expect(rows()).toBe(0);
      job.stop();
      expect(ctx.ledger.byDate('2026-05-01')).toMatchObject({ status: 'done', sent: FOLD_BATCH + 5 });
    } finally {
      ctx.close();
    }
  });

  it('when RETENTION_DAYS is under 31, then start-up refuses it: the soft-bounce rule reads 30 days', () => {
    expect(loadConfig({}).RETENTION_DAYS).toBe(180);
    expect(loadConfig({ RETENTION_DAYS: '31' }).RETENTION_DAYS).toBe(31);
    expect(() => loadConfig({ RETENTION_DAYS: '30' })).toThrow(
      /RETENTION_DAYS: must be at least 31: the soft-bounce rule reads the last 30 days/,
    );
  });
});
