import { afterEach, describe, expect, it, vi } from 'vitest';
import { addDays, defaultWeekEnding, todayIn } from '../../src/domain/dates.ts';
import type { RunStatus } from '../../src/digest/ledger-records.ts';
import type { SendDigestResult } from '../../src/digest/run-types.ts';
import { sendDigest } from '../../src/digest/run.ts';
import {
  editionSchedule,
  dueRun,
  dueWeekly,
  retryAfterMs,
  startScheduler,
  weeklyCron,
  type Scheduler,
} from '../../src/jobs/scheduler.ts';
import type { Cadence } from '../../src/model/cadence.ts';
import { createLogger } from '../../src/logger.ts';
import { startPapersApi, type PapersApi } from '../support/papers-api.ts';
import {
  byRecipient,
  freezeFixtureDay,
  seedSubscribers,
  startHarness,
  type Harness,
} from '../support/digest-harness.ts';

const result = (outcome: SendDigestResult['outcome']): SendDigestResult => ({
  outcome,
  date: '2026-11-24',
  cadence: 'daily',
  sent: 0,
  failed: 0,
  skipped: 0,
  deferred: 0,
  resumedInFlight: 0,
  durationMs: 0,
});
const statuses = (s: Record<string, RunStatus>) => (date: string) => s[date];

describe('what is due now', () => {
  const daily7 = editionSchedule('0 7 * * *');

  it('when today’s time has passed and the run is missing, unfinished or failed, then that run is due', () => {
    const at = new Date('2026-11-25T09:00:00Z');
    for (const s of [{}, { '2026-11-24': 'running' }, { '2026-11-24': 'failed' }] as Record<string, RunStatus>[]) {
      expect(dueRun(at, 'Europe/Berlin', daily7, statuses(s))?.date).toBe('2026-11-24');
    }
  });

  it('when the run is finished or paused for an operator, or today’s time is still ahead, then nothing is due', () => {
    const at = new Date('2026-11-25T09:00:00Z');
    for (const status of ['done', 'empty', 'paused'] as const)
      expect(dueRun(at, 'Europe/Berlin', daily7, statuses({ '2026-11-24': status }))).toBeNull();
    expect(dueRun(new Date('2026-11-25T05:59:00Z'), 'Europe/Berlin', daily7, statuses({}))).toBeNull();
  });

  it('when a run is caught up late, then it keeps the date of its scheduled time', () => {
    // 07:00 in Tokyo is 22:00 UTC (the 24th not over: the 23rd); at 10:00 (01:00 UTC) it is still the 23rd's run.
    expect(dueRun(new Date('2026-11-25T01:00:00Z'), 'Asia/Tokyo', daily7, statuses({}))?.date).toBe('2026-11-23');
  });

  it('when the time is inside the spring-forward gap, then it is due at the first minute after the gap', () => {
    const at230 = editionSchedule('30 2 * * *');
    expect(dueRun(new Date('2026-03-08T06:59:00Z'), 'America/New_York', at230, statuses({}))).toBeNull(); // 01:59 EST
    expect(dueRun(new Date('2026-03-08T07:00:00Z'), 'America/New_York', at230, statuses({}))?.date).toBe('2026-03-07'); // 03:00 EDT
  });

  it('when the day fields leave some days out, then each day fires at the expression’s times or not at all, in any order asked', () => {
    const weekdays = editionSchedule('15,45 7,19 * * 1-5');
    const at = (day: string) => ['07:15', '07:45', '19:15', '19:45'].map((t) => Date.parse(`${day}T${t}:00Z`));
    // Friday, then the weekend after it, then Monday: a day that fired tells nothing about the next.
    expect(weekdays.firesOn('2026-11-27')).toEqual(at('2026-11-27'));
    expect(weekdays.firesOn('2026-11-28')).toEqual([]);
    expect(weekdays.firesOn('2026-11-29')).toEqual([]);
    expect(weekdays.firesOn('2026-11-30')).toEqual(at('2026-11-30'));
  });

  it('rejects an expression that is not cron', () => {
    expect(() => editionSchedule('every day at 7')).toThrow(/DIGEST_CRON/);
  });
});

describe('a fake clock across the clock changes: exactly one send per local day, none skipped', () => {
  const walks: [string, string][] = [
    ['America/New_York', '2026-03-08'],
    ['America/New_York', '2026-11-01'],
    ['Europe/Berlin', '2026-03-29'],
    ['Europe/Berlin', '2026-10-25'],
    ['Australia/Sydney', '2026-04-05'],
    ['Australia/Sydney', '2026-10-04'],
    ['Asia/Kolkata', '2026-03-29'],
    ['Pacific/Chatham', '2026-04-05'],
    ['Pacific/Chatham', '2026-09-27'],
  ];
  const crons = ['30 2 * * *', '0 7 * * *', '30 1 * * *', '0 0 * * *'];

  it.each(walks)('%s around %s', (tz, change) => {
    for (const expression of crons) {
      const schedule = editionSchedule(expression);
      const ledger: Record<string, RunStatus> = {};
      const sends: { localDay: string; date: string }[] = [];
      // From two days before the change to two days after, five minutes at a time (every cron here is on a :00 or
      // :30, every change too).
      const start = Date.parse(`${change}T00:00:00Z`) - 2 * 86_400_000;
      for (let ms = start; ms < start + 5 * 86_400_000; ms += 5 * 60_000) {
        const now = new Date(ms);
        const due = dueRun(now, tz, schedule, statuses(ledger));
        if (!due) continue;
        ledger[due.date] = 'done';
        sends.push({ localDay: todayIn(tz, now), date: due.date });
      }
      const days = sends.map((s) => s.localDay);
      expect(new Set(days).size, `${tz} ${expression}: ${JSON.stringify(sends)}`).toBe(days.length);
      expect(days.length, `${tz} ${expression}`).toBeGreaterThanOrEqual(4);
      for (let i = 1; i < sends.length; i++) {
        expect(sends[i]!.localDay, `${tz} ${expression}`).toBe(addDays(sends[i - 1]!.localDay, 1));
        expect(sends[i]!.date, `${tz} ${expression}`).toBe(addDays(sends[i - 1]!.date, 1));
      }
      // The change day itself got its send.
      expect(days, `${tz} ${expression}`).toContain(change);
    }
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

  it('when the service was down at that time, then the week is owed later in the week too, until it is sent', () => {
    const weekly = editionSchedule(weeklyCron('0 7 * * *', 'monday'));
    const due = (iso: string, s: Record<string, RunStatus> = {}) =>
      dueWeekly(new Date(iso), 'UTC', weekly, 'monday', statuses(s))?.date ?? null;
    expect(due('2026-11-30T06:59:00Z')).toBeNull();
    expect(due('2026-11-30T07:01:00Z')).toBe('2026-11-29');
    expect(due('2026-12-02T01:00:00Z', { '2026-11-29': 'failed' })).toBe('2026-11-29');
    for (const status of ['done', 'empty', 'paused'] as const)
      expect(due('2026-12-02T01:00:00Z', { '2026-11-29': status })).toBeNull();
  });
});

describe('retries', () => {
  const now = new Date('2026-11-25T07:00:00Z');
  it('when a run failed, then it is retried after the delay; when busy, once the holder’s lease has lapsed', () => {
    expect(retryAfterMs(result('failed'), now, null, 600_000)).toBe(600_000);
    expect(retryAfterMs(result('busy'), now, '2026-11-25T07:00:20.000Z', 600_000)).toBe(21_000);
  });
  it('when a run is done, empty, paused or stopped, then there is nothing to retry', () => {
    for (const o of ['done', 'empty', 'paused', 'incomplete'] as const)
      expect(retryAfterMs(result(o), now, null, 1000)).toBeNull();
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
  /** The daily runs' statuses, and the weekly ones' (a weekly edition already done unless given). */
  const ledger = (daily: Record<string, RunStatus> = {}, weekly?: Record<string, RunStatus>) => ({
    audienceGroups: () => [],
    byDate: (d: string, cadence: Cadence = 'daily') => {
      const status = cadence === 'daily' ? daily[d] : weekly ? weekly[d] : 'done';
      return status ? ({ status, leaseExpiresAt: null } as never) : undefined;
    },
  });

  it('when the scheduled time comes while the service runs, then the digest is sent then, once', async () => {
    const calls: string[] = [];
    const runs: Record<string, RunStatus> = {};
    let now = new Date('2026-11-24T21:58:00Z'); // 06:58 in Tokyo
    scheduler = startScheduler(
      {
        config: { DIGEST_CRON: '0 7 * * *', DIGEST_TZ: 'Asia/Tokyo', WEEKLY_DAY: 'monday', DELIVERY_MODE: 'batch' },
        clock: { now: () => now },
        logger: quiet,
        ledger: ledger(runs),
      },
      { send: async ({ date }) => (calls.push(date), (runs[date] = 'done'), result('done')), checkEveryMs: 10 },
    );
    await new Promise((r) => setTimeout(r, 100));
    expect(calls).toEqual([]);
    now = new Date('2026-11-24T22:00:30Z'); // 07:00 in Tokyo
    await expect.poll(() => calls, { timeout: 2000 }).toEqual(['2026-11-23']);
    now = new Date('2026-11-24T23:00:00Z');
    await new Promise((r) => setTimeout(r, 100));
    expect(calls).toEqual(['2026-11-23']);
  });

  it('when a scheduled send finishes, then the edition is posted to the team channels, at the send’s time', async () => {
    const events: string[] = [];
    const runs: Record<string, RunStatus> = {};
    scheduler = startScheduler(
      {
        config: { DIGEST_CRON: '0 7 * * *', DIGEST_TZ: 'UTC', WEEKLY_DAY: 'monday', DELIVERY_MODE: 'batch' },
        clock: { now: () => new Date('2026-11-25T07:00:30Z') },
        logger: quiet,
        ledger: ledger(runs),
      },
      {
        send: async ({ date }) => (events.push(`send ${date}`), (runs[date] = 'done'), result('done')),
        postChannels: async (date, cadence) => void events.push(`channels ${date} ${cadence}`),
        checkEveryMs: 10,
      },
    );
    await expect.poll(() => events, { timeout: 2000 }).toEqual(['send 2026-11-24', 'channels 2026-11-24 daily']);
  });

  it('when readers have their own hours, then the team channels are posted with the slice at DIGEST_CRON, not with an earlier zone’s', async () => {
    const events: string[] = [];
    const runs: Record<string, { status: RunStatus; startedAt: string; sliceGroups: string[] | null }> = {};
    let now = new Date('2026-11-25T04:00:30Z'); // 05:00 in Berlin: the readers who chose 05:00
    scheduler = startScheduler(
      {
        config: { DIGEST_CRON: '0 7 * * *', DIGEST_TZ: 'Europe/Berlin', WEEKLY_DAY: 'monday', DELIVERY_MODE: 'local' },
        clock: { now: () => now },
        logger: quiet,
        ledger: {
          audienceGroups: (cadence: Cadence) =>
            cadence === 'daily'
              ? [
                  { timeZone: 'Europe/Berlin', hour: 5, readers: 3 },
                  { timeZone: null, hour: null, readers: 2 },
                ]
              : [],
          // The weekly edition is done: only the daily one is owed here.
          byDate: (d: string, cadence: Cadence = 'daily') =>
            cadence === 'weekly'
              ? ({ status: 'done', startedAt: now.toISOString(), sliceGroups: null, leaseExpiresAt: null } as never)
              : runs[d]
                ? ({ ...runs[d], leaseExpiresAt: null } as never)
                : undefined,
        },
      },
      {
        send: async ({ date, slice }) => {
          events.push(`send ${date} ${slice?.groups?.join(',') ?? 'everyone'}`);
          runs[date] = {
            status: 'done',
            startedAt: slice!.at.toISOString(),
            sliceGroups: slice!.groups ? [...slice!.groups] : null,
          };
          return result('done');
        },
        postChannels: async (date, cadence) => void events.push(`channels ${date} ${cadence}`),
        checkEveryMs: 10,
      },
    );
    await expect.poll(() => events, { timeout: 2000 }).toEqual(['send 2026-11-24 Europe/Berlin|5']);
    await new Promise((r) => setTimeout(r, 100));
    expect(events).toHaveLength(1);
    now = new Date('2026-11-25T06:00:30Z'); // 07:00 in Berlin: DIGEST_CRON
    await expect
      .poll(() => events, { timeout: 2000 })
      .toEqual(['send 2026-11-24 Europe/Berlin|5', 'send 2026-11-24 everyone', 'channels 2026-11-24 daily']);
  });

  it('when the service starts after today’s time with no run, then it catches up once, for real, into the SMTP server', async () => {
    h = await startHarness();
    seedSubscribers(h.ctx.db, 4);
    freezeFixtureDay(h.ctx, '2026-11-24');
    const deps = h.deps;
    let sends = 0;
    // The harness clock says 2026-11-25 07:00 UTC; the schedule was 06:00 UTC, so it was missed.
    scheduler = startScheduler(
      {
        config: { DIGEST_CRON: '0 6 * * *', DIGEST_TZ: 'UTC', WEEKLY_DAY: 'monday', DELIVERY_MODE: 'local' },
        clock: h.ctx.clock,
        logger: quiet,
        ledger: h.ctx.ledger,
      },
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
      {
        config: { DIGEST_CRON: '0 6 * * *', DIGEST_TZ: 'UTC', WEEKLY_DAY: 'monday', DELIVERY_MODE: 'local' },
        clock: h.ctx.clock,
        logger: quiet,
        ledger: h.ctx.ledger,
      },
      { send: (o) => (o.cadence === 'daily' ? (sends++, sendDigest(deps, o)) : Promise.resolve(result('done'))) },
    );
    await new Promise((r) => setTimeout(r, 200));
    expect(sends).toBe(1);
  });

  it('when the daily and the weekly edition are both due on WEEKLY_DAY, then both are sent, one after the other', async () => {
    const calls: string[] = [];
    const daily: Record<string, RunStatus> = {};
    const weekly: Record<string, RunStatus> = {};
    let sending = 0;
    let overlapped = false;
    scheduler = startScheduler(
      {
        config: { DIGEST_CRON: '0 6 * * *', DIGEST_TZ: 'UTC', WEEKLY_DAY: 'monday', DELIVERY_MODE: 'batch' },
        clock: { now: () => new Date('2026-11-30T07:00:00Z') },
        logger: quiet,
        ledger: ledger(daily, weekly),
      },
      {
        send: async ({ date, cadence }) => {
          overlapped ||= sending > 0;
          sending++;
          await new Promise((r) => setTimeout(r, 30));
          sending--;
          calls.push(`${cadence} ${date}`);
          (cadence === 'daily' ? daily : weekly)[date] = 'done';
          return result('done');
        },
      },
    );
    await expect.poll(() => calls.length).toBe(2);
    expect(calls.sort()).toEqual(['daily 2026-11-29', 'weekly 2026-11-29']);
    expect(overlapped).toBe(false);
  });

  it('when a send returns but its run is still owed (a ledger write that did not land), then it is tried again at the next check, not at once', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    try {
      const calls: string[] = [];
      const daily: Record<string, RunStatus> = {};
      const weekly: Record<string, RunStatus> = {};
      scheduler = startScheduler(
        {
          config: { DIGEST_CRON: '0 6 * * *', DIGEST_TZ: 'UTC', WEEKLY_DAY: 'monday', DELIVERY_MODE: 'batch' },
          clock: { now: () => new Date('2026-11-30T07:00:00Z') },
          logger: quiet,
          // Records nothing, so both editions stay owed…
          ledger: ledger(daily, weekly),
        },
        {
          send: async ({ date, cadence }) => {
            calls.push(cadence);
            // …except past a ceiling, so that a scheduler which loops stops and fails this test.
            if (calls.length >= 10) daily[date] = weekly[date] = 'done';
            return result('done');
          },
          checkEveryMs: 60_000,
        },
      );
      // The start-up check and what follows from it, with no check due: one attempt per edition.
      await vi.advanceTimersByTimeAsync(0);
      expect(calls.sort()).toEqual(['daily', 'weekly']);
      await vi.advanceTimersByTimeAsync(60_000);
      expect(calls.sort()).toEqual(['daily', 'daily', 'weekly', 'weekly']);
    } finally {
      await scheduler?.stop();
      scheduler = undefined;
      vi.useRealTimers();
    }
  });

  it('when the service starts later in the week after missing WEEKLY_DAY, then the week is sent to weekly subscribers only, from the recorded week', async () => {
    api = await startPapersApi();
    h = await startHarness({ now: () => new Date('2026-12-02T07:00:00Z'), env: { PAPERS_API_URL: api.url } });
    seedSubscribers(h.ctx.db, 3, { cadence: 'weekly', prefix: 'weekly' });
    seedSubscribers(h.ctx.db, 2, { prefix: 'daily' });
    const deps = h.deps;
    scheduler = startScheduler(
      {
        config: { DIGEST_CRON: '0 6 * * *', DIGEST_TZ: 'UTC', WEEKLY_DAY: 'monday', DELIVERY_MODE: 'local' },
        clock: h.ctx.clock,
        logger: quiet,
        ledger: h.ctx.ledger,
      },
      { send: (o) => sendDigest(deps, o) },
    );
    await h.sink.waitFor(3);
    const ledger = h.ctx.ledger;
    await expect.poll(() => ledger.byDate('2026-11-29', 'weekly')?.status, { timeout: 20_000 }).toBe('done');
    // The daily catch-up (Tuesday 1 Dec: the feed has no papers, and a weekday's empty list is not
    // final until 12 hours after the day) failed, to be retried later.
    await expect.poll(() => ledger.byDate('2026-12-01', 'daily')?.status, { timeout: 20_000 }).toBe('failed');
    await scheduler.stop();
    expect([...byRecipient(h.sink).keys()].every((to) => to.startsWith('weekly'))).toBe(true);
    expect(h.sink.messages.map((m) => m.parsed.subject)).toEqual(Array(3).fill('Paperboy · Week of 23–29 Nov 2026'));
  });

  it('when a run fails (source or SMTP down), then it is retried after the delay', async () => {
    const outcomes: SendDigestResult['outcome'][] = ['failed', 'done'];
    const calls: string[] = [];
    const runs: Record<string, RunStatus> = {};
    const send = async ({ date }: { date: string }) => {
      calls.push(date);
      const outcome = outcomes.shift() ?? 'done';
      runs[date] = outcome as RunStatus;
      return result(outcome);
    };
    scheduler = startScheduler(
      {
        config: { DIGEST_CRON: '0 6 * * *', DIGEST_TZ: 'UTC', WEEKLY_DAY: 'monday', DELIVERY_MODE: 'batch' },
        clock: { now: () => new Date(Date.parse('2026-11-25T07:00:00Z') + performance.now()) },
        logger: quiet,
        ledger: ledger(runs),
      },
      { send, retryDelayMs: 50, checkEveryMs: 10 },
    );
    const deadline = Date.now() + 2000;
    while (calls.length < 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    await new Promise((r) => setTimeout(r, 150));
    expect(calls).toEqual(['2026-11-24', '2026-11-24']);
  });

  it('when readers are in zones (DELIVERY_MODE=local), then each gets the day’s run at their own hour, in slices, once; someone confirmed between the slices is in the later one', async () => {
    let now = new Date('2026-11-25T05:30:00Z');
    h = await startHarness({ now: () => now });
    const [berlin1, berlin2] = seedSubscribers(h.ctx.db, 2, { prefix: 'berlin' });
    seedSubscribers(h.ctx.db, 2, { prefix: 'nozone' });
    const setZone = h.ctx.db.prepare(
      "UPDATE subscribers SET timezone = 'Europe/Berlin', delivery_hour = ? WHERE id = ?",
    );
    setZone.run(8, berlin1);
    setZone.run(null, berlin2); // no hour: DIGEST_CRON's, 06:00 in Berlin (05:00 UTC)
    freezeFixtureDay(h.ctx, '2026-11-24');
    const deps = h.deps;
    const ledger = h.ctx.ledger;
    const run = () => ledger.byDate('2026-11-24');
    const sentTo = () => [...byRecipient(h!.sink).entries()].sort();
    scheduler = startScheduler(
      {
        config: { DIGEST_CRON: '0 6 * * *', DIGEST_TZ: 'UTC', WEEKLY_DAY: 'monday', DELIVERY_MODE: 'local' },
        clock: h.ctx.clock,
        logger: quiet,
        ledger,
      },
      {
        send: (o) => (o.cadence === 'daily' ? sendDigest(deps, o) : Promise.resolve(result('done'))),
        checkEveryMs: 20,
      },
    );
    await expect.poll(sentTo, { timeout: 10_000 }).toEqual([['berlin2@example.com', 1]]);
    await expect.poll(() => run()?.status, { timeout: 10_000 }).toBe('done');
    now = new Date('2026-11-25T06:00:30Z'); // DIGEST_CRON in DIGEST_TZ: the readers with no zone
    await h.sink.waitFor(3);
    await expect.poll(() => run()?.startedAt, { timeout: 10_000 }).toBe('2026-11-25T06:00:00.000Z');
    await expect.poll(() => run()?.status, { timeout: 10_000 }).toBe('done');
    const [late] = seedSubscribers(h.ctx.db, 1, { prefix: 'late', confirmedAt: '2026-11-25T06:45:00.000Z' });
    setZone.run(8, late);
    now = new Date('2026-11-25T07:00:30Z'); // 08:00 in Berlin
    await h.sink.waitFor(5);
    await expect.poll(() => run()?.startedAt, { timeout: 10_000 }).toBe('2026-11-25T07:00:00.000Z');
    await expect.poll(() => run()?.status, { timeout: 10_000 }).toBe('done');
    now = new Date('2026-11-25T09:00:00Z');
    await new Promise((r) => setTimeout(r, 200));
    await scheduler.stop();
    expect(sentTo()).toEqual([
      ['berlin1@example.com', 1],
      ['berlin2@example.com', 1],
      ['late5@example.com', 1],
      ['nozone3@example.com', 1],
      ['nozone4@example.com', 1],
    ]);
    expect(run()?.sent).toBe(5);
  });
});
