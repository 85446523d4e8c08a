import { afterEach, describe, expect, it } from 'vitest';
import cron from 'node-cron';
import { defaultDigestDate, defaultWeekEnding } from '../../src/domain/dates.ts';
import type { RunStatus } from '../../src/digest/ledger-store.ts';
import { sendDigest, type SendDigestResult } from '../../src/digest/run.ts';
import { catchUpDate, lastFireToday, retryAfterMs, startScheduler, weeklyCatchUpDate, weeklyCron, type Scheduler } from '../../src/jobs/scheduler.ts';
import { createLogger } from '../../src/logger.ts';
import { startPapersApi, type PapersApi } from '../support/papers-api.ts';
import { byRecipient, freezeFixtureDay, seedSubscribers, startHarness, type Harness } from '../support/digest-harness.ts';

/** node-cron's own matcher for a pattern, without scheduling anything. */
function matcher(pattern: string, timezone: string) {
  const task = cron.createTask(pattern, () => undefined, { timezone });
  const match = (d: Date) => task.match(d);
  void task.destroy();
  return match;
}

const result = (outcome: SendDigestResult['outcome']): SendDigestResult => ({ outcome, date: '2026-11-24', cadence: 'daily', sent: 0, failed: 0, skipped: 0, deferred: 0, resumedInFlight: 0, durationMs: 0 });

describe('which day the daily run sends', () => {
  it('when it is morning in DIGEST_TZ, then the digest is of yesterday there, the last complete day', () => {
    expect(defaultDigestDate(new Date('2026-11-25T06:00:00Z'), 'Europe/Berlin')).toBe('2026-11-24');
    // 00:30 on the 25th in Berlin is still the 24th in UTC: the zone decides.
    expect(defaultDigestDate(new Date('2026-11-24T23:30:00Z'), 'Europe/Berlin')).toBe('2026-11-24');
    expect(defaultDigestDate(new Date('2026-11-24T23:30:00Z'), 'UTC')).toBe('2026-11-23');
    expect(defaultDigestDate(new Date('2026-11-25T03:00:00Z'), 'America/Los_Angeles')).toBe('2026-11-23');
  });
});

describe('which week the weekly edition sends', () => {
  it('when WEEKLY_DAY comes, then it is the week (Monday to Sunday) that ended the Sunday before it, in DIGEST_TZ', () => {
    // Monday 30 Nov 2026, morning in Berlin: the week of 23–29 Nov.
    expect(defaultWeekEnding(new Date('2026-11-30T06:00:00Z'), 'Europe/Berlin', 'monday')).toBe('2026-11-29');
    // Still Sunday the 29th in UTC, already Monday in Tokyo.
    expect(defaultWeekEnding(new Date('2026-11-29T20:00:00Z'), 'UTC', 'monday')).toBe('2026-11-22');
    expect(defaultWeekEnding(new Date('2026-11-29T20:00:00Z'), 'Asia/Tokyo', 'monday')).toBe('2026-11-29');
    // Later in the week it is still the week that Monday sent; WEEKLY_DAY=wednesday keeps the same Sunday.
    expect(defaultWeekEnding(new Date('2026-12-03T12:00:00Z'), 'UTC', 'monday')).toBe('2026-11-29');
    expect(defaultWeekEnding(new Date('2026-12-02T12:00:00Z'), 'UTC', 'wednesday')).toBe('2026-11-29');
    expect(defaultWeekEnding(new Date('2026-12-01T12:00:00Z'), 'UTC', 'wednesday')).toBe('2026-11-22');
    // On a Sunday WEEKLY_DAY the week that ended that very day is not over yet: the one before.
    expect(defaultWeekEnding(new Date('2026-11-29T07:00:00Z'), 'UTC', 'sunday')).toBe('2026-11-22');
  });

  it('goes out at DIGEST_CRON’s time on WEEKLY_DAY', () => {
    expect(weeklyCron('0 7 * * *', 'monday')).toBe('0 7 * * 1');
    expect(weeklyCron('30 6 * * 1-5', 'sunday')).toBe('30 6 * * 0');
    expect(weeklyCron('0 0 7 * * *', 'friday')).toBe('0 0 7 * * 5');
  });

  it('when the service was down at that time, then the week is caught up at start-up, later in the week too, once', () => {
    const weekly = matcher('0 7 * * 1', 'UTC');
    const statuses = (s: Record<string, RunStatus>) => (date: string) => s[date];
    expect(weeklyCatchUpDate(new Date('2026-11-30T06:59:00Z'), 'UTC', 'monday', weekly, statuses({}))).toBeNull();
    expect(weeklyCatchUpDate(new Date('2026-11-30T07:01:00Z'), 'UTC', 'monday', weekly, statuses({}))).toBe('2026-11-29');
    expect(weeklyCatchUpDate(new Date('2026-12-02T01:00:00Z'), 'UTC', 'monday', weekly, statuses({ '2026-11-29': 'failed' }))).toBe('2026-11-29');
    for (const status of ['done', 'empty', 'paused'] as const) {
      expect(weeklyCatchUpDate(new Date('2026-12-02T01:00:00Z'), 'UTC', 'monday', weekly, statuses({ '2026-11-29': status }))).toBeNull();
    }
  });
});

describe('catch-up after downtime', () => {
  const daily7 = matcher('0 7 * * *', 'Europe/Berlin');
  const statuses = (s: Record<string, RunStatus>) => (date: string) => s[date];

  it('finds the last fire today in the zone, or none before it', () => {
    expect(lastFireToday(new Date('2026-11-25T09:13:27Z'), 'Europe/Berlin', daily7)?.toISOString()).toBe('2026-11-25T06:00:00.000Z');
    expect(lastFireToday(new Date('2026-11-25T05:59:00Z'), 'Europe/Berlin', daily7)).toBeNull();
  });

  it('when today’s time has passed and the run is missing, unfinished or failed, then it is run once now', () => {
    const at = new Date('2026-11-25T09:00:00Z');
    expect(catchUpDate(at, 'Europe/Berlin', daily7, statuses({}))).toBe('2026-11-24');
    expect(catchUpDate(at, 'Europe/Berlin', daily7, statuses({ '2026-11-24': 'running' }))).toBe('2026-11-24');
    expect(catchUpDate(at, 'Europe/Berlin', daily7, statuses({ '2026-11-24': 'failed' }))).toBe('2026-11-24');
  });

  it('when the run is finished or paused for an operator, or today’s time is still ahead, then nothing is run', () => {
    const at = new Date('2026-11-25T09:00:00Z');
    for (const status of ['done', 'empty', 'paused'] as const) expect(catchUpDate(at, 'Europe/Berlin', daily7, statuses({ '2026-11-24': status }))).toBeNull();
    expect(catchUpDate(new Date('2026-11-25T05:00:00Z'), 'Europe/Berlin', daily7, statuses({}))).toBeNull();
  });
});

describe('retries', () => {
  const now = new Date('2026-11-25T07:00:00Z');
  it('when a run failed, then it is retried after the delay; when busy, once the holder’s lease has lapsed', () => {
    expect(retryAfterMs(result('failed'), now, null, 600_000)).toBe(600_000);
    expect(retryAfterMs(result('busy'), now, '2026-11-25T07:00:20.000Z', 600_000)).toBe(21_000);
  });
  it('when a run is done, empty, paused or stopped, then there is nothing to retry', () => {
    for (const o of ['done', 'empty', 'paused', 'incomplete'] as const) expect(retryAfterMs(result(o), now, null, 1000)).toBeNull();
  });
});

describe('startScheduler', () => {
  let scheduler: Scheduler | undefined;
  let h: Harness | undefined;
  let api: PapersApi | undefined;
  afterEach(async () => {
    await scheduler?.stop();
    await h?.close();
    await api?.close();
    scheduler = undefined;
    h = undefined;
    api = undefined;
  });

  const quiet = createLogger('silent');
  const ledger = (s: Record<string, RunStatus> = {}) => ({ byDate: (d: string) => (s[d] ? ({ status: s[d], leaseExpiresAt: null } as never) : undefined) });

  it('when the schedule comes round (every second here), then the digest of yesterday in DIGEST_TZ is sent', async () => {
    const calls: string[] = [];
    scheduler = startScheduler(
      { config: { DIGEST_CRON: '* * * * * *', DIGEST_TZ: 'Asia/Tokyo', WEEKLY_DAY: 'monday' }, clock: { now: () => new Date() }, logger: quiet, ledger: ledger({}) },
      { send: async ({ date, cadence }) => (cadence === 'daily' && calls.push(date), result('done')) },
    );
    const deadline = Date.now() + 3000;
    while (calls.length < 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    // The every-second schedule has fired today already, so a catch-up may come first: same date.
    const expected = defaultDigestDate(new Date(), 'Asia/Tokyo');
    expect(calls.length).toBeGreaterThanOrEqual(2);
    expect(new Set(calls)).toEqual(new Set([expected]));
  });

  it('when the service starts after today’s time with no run, then it catches up once, for real, into the SMTP server', async () => {
    h = await startHarness();
    seedSubscribers(h.ctx.db, 4);
    freezeFixtureDay(h.ctx, '2026-11-24');
    const deps = h.deps;
    let sends = 0;
    // The harness clock says 2026-11-25 07:00 UTC; the schedule was 06:00 UTC, so it was missed.
    scheduler = startScheduler(
      { config: { DIGEST_CRON: '0 6 * * *', DIGEST_TZ: 'UTC', WEEKLY_DAY: 'monday' }, clock: h.ctx.clock, logger: quiet, ledger: h.ctx.ledger },
      { send: (o) => (o.cadence === 'daily' ? (sends++, sendDigest(deps, o)) : Promise.resolve(result('done'))) },
    );
    await h.sink.waitFor(4);
    // The last replies are recorded a moment after they arrive; stopping earlier would cut the run.
    const ledger = h.ctx.ledger;
    await expect.poll(() => ledger.byDate('2026-11-24')?.status, { timeout: 10_000 }).toBe('done');
    await scheduler.stop();
    expect(sends).toBe(1);
    expect(byRecipient(h.sink).size).toBe(4);

    // Started again the same day: the run is done, nothing more goes out.
    scheduler = startScheduler(
      { config: { DIGEST_CRON: '0 6 * * *', DIGEST_TZ: 'UTC', WEEKLY_DAY: 'monday' }, clock: h.ctx.clock, logger: quiet, ledger: h.ctx.ledger },
      { send: (o) => (o.cadence === 'daily' ? (sends++, sendDigest(deps, o)) : Promise.resolve(result('done'))) },
    );
    await new Promise((r) => setTimeout(r, 200));
    expect(sends).toBe(1);
  });

  it('when the daily and the weekly edition are both due on WEEKLY_DAY, then both are sent, one after the other', async () => {
    const calls: string[] = [];
    let sending = 0;
    let overlapped = false;
    scheduler = startScheduler(
      { config: { DIGEST_CRON: '0 6 * * *', DIGEST_TZ: 'UTC', WEEKLY_DAY: 'monday' }, clock: { now: () => new Date('2026-11-30T07:00:00Z') }, logger: quiet, ledger: ledger({}) },
      {
        send: async ({ date, cadence }) => {
          overlapped ||= sending > 0;
          sending++;
          await new Promise((r) => setTimeout(r, 30));
          sending--;
          calls.push(`${cadence} ${date}`);
          return result('done');
        },
      },
    );
    await expect.poll(() => calls.length).toBe(2);
    expect(calls.sort()).toEqual(['daily 2026-11-29', 'weekly 2026-11-29']);
    expect(overlapped).toBe(false);
  });

  it('when the service starts later in the week after missing WEEKLY_DAY, then the week is sent to weekly subscribers only, from the recorded week', async () => {
    api = await startPapersApi();
    h = await startHarness({ now: () => new Date('2026-12-02T07:00:00Z'), env: { PAPERS_API_URL: api.url } });
    seedSubscribers(h.ctx.db, 3, { cadence: 'weekly', prefix: 'weekly' });
    seedSubscribers(h.ctx.db, 2, { prefix: 'daily' });
    const deps = h.deps;
    scheduler = startScheduler(
      { config: { DIGEST_CRON: '0 6 * * *', DIGEST_TZ: 'UTC', WEEKLY_DAY: 'monday' }, clock: h.ctx.clock, logger: quiet, ledger: h.ctx.ledger },
      { send: (o) => sendDigest(deps, o) },
    );
    await h.sink.waitFor(3);
    const ledger = h.ctx.ledger;
    await expect.poll(() => ledger.byDate('2026-11-29', 'weekly')?.status, { timeout: 20_000 }).toBe('done');
    // The daily catch-up (Tuesday 1 Dec: no recorded papers) found nothing to send.
    await expect.poll(() => ledger.byDate('2026-12-01', 'daily')?.status, { timeout: 20_000 }).toBe('empty');
    await scheduler.stop();
    expect([...byRecipient(h.sink).keys()].every((to) => to.startsWith('weekly'))).toBe(true);
    expect(h.sink.messages.map((m) => m.parsed.subject)).toEqual(Array(3).fill('Paperboy · Week of 23–29 Nov 2026'));
  });

  it('when a run fails (source or SMTP down), then it is retried after the delay', async () => {
    const outcomes: SendDigestResult['outcome'][] = ['failed', 'done'];
    const calls: string[] = [];
    scheduler = startScheduler(
      { config: { DIGEST_CRON: '0 6 * * *', DIGEST_TZ: 'UTC', WEEKLY_DAY: 'monday' }, clock: { now: () => new Date('2026-11-25T07:00:00Z') }, logger: quiet, ledger: ledger({}) },
      { send: async ({ date, cadence }) => (cadence === 'weekly' ? result('done') : (calls.push(date), result(outcomes.shift() ?? 'done'))), retryDelayMs: 50 },
    );
    const deadline = Date.now() + 2000;
    while (calls.length < 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    await new Promise((r) => setTimeout(r, 150));
    expect(calls).toEqual(['2026-11-24', '2026-11-24']);
  });
});
