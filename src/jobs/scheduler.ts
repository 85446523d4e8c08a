import cron from 'node-cron';
import type { Clock } from '../clock.ts';
import type { Config } from '../config.ts';
import type { Logger } from '../logger.ts';
import type { LedgerStore, RunStatus } from '../digest/ledger-store.ts';
import { defaultDigestDate, defaultWeekEnding, todayIn, WEEKDAYS, weeklySendDay, type Weekday } from '../domain/dates.ts';
import type { Cadence } from '../domain/subscriber-input.ts';
import type { SendDigestResult } from '../digest/run.ts';

/**
 * The last instant today (in `timeZone`) at or before `now` that the schedule matches, to the
 * minute, or null if the schedule has not fired yet today. Walks back a minute at a time: at most
 * 1,440 cheap checks, once at start-up.
 */
export function lastFireToday(now: Date, timeZone: string, matches: (d: Date) => boolean): Date | null {
  const today = todayIn(timeZone, now);
  const t = new Date(now);
  t.setUTCSeconds(0, 0);
  for (; todayIn(timeZone, t) === today; t.setTime(t.getTime() - 60_000)) {
    if (matches(t)) return new Date(t);
  }
  return null;
}

/**
 * On start-up: was today's run missed? Yes when the schedule has fired today and the run for its
 * date is missing or unfinished (cut off by a crash or deploy, or failed on an outage). A paused
 * run waits for an operator; done and empty runs are finished.
 */
export function catchUpDate(now: Date, timeZone: string, matches: (d: Date) => boolean, statusOf: (date: string) => RunStatus | undefined): string | null {
  const fired = lastFireToday(now, timeZone, matches);
  if (!fired) return null;
  const date = defaultDigestDate(fired, timeZone);
  const status = statusOf(date);
  return status === undefined || status === 'running' || status === 'failed' ? date : null;
}

/**
 * DIGEST_CRON with its day-of-week field set to WEEKLY_DAY: the weekly edition goes out at the
 * daily digest's time, on that day. (A seconds field, when DIGEST_CRON has six, is kept.)
 */
export function weeklyCron(expression: string, weeklyDay: Weekday): string {
  const fields = expression.trim().split(/\s+/);
  fields[fields.length - 1] = String(WEEKDAYS.indexOf(weeklyDay));
  return fields.join(' ');
}

/**
 * On start-up: was this week's weekly edition missed? Its send day is the latest WEEKLY_DAY on
 * or before today; if that is today, only once the schedule has fired. A weekly edition missed on
 * its day is still sent later in the week (a weekly subscriber would otherwise lose a whole
 * week), unless it is paused, done or empty.
 */
export function weeklyCatchUpDate(
  now: Date,
  timeZone: string,
  weeklyDay: Weekday,
  matches: (d: Date) => boolean,
  statusOf: (date: string) => RunStatus | undefined,
): string | null {
  if (weeklySendDay(now, timeZone, weeklyDay) === todayIn(timeZone, now) && !lastFireToday(now, timeZone, matches)) return null;
  const date = defaultWeekEnding(now, timeZone, weeklyDay);
  const status = statusOf(date);
  return status === undefined || status === 'running' || status === 'failed' ? date : null;
}

/** When to try a run again after this result, or null to leave it (done, empty, paused, stopping). */
export function retryAfterMs(result: SendDigestResult, now: Date, leaseExpiresAt: string | null | undefined, retryDelayMs: number): number | null {
  if (result.outcome === 'failed') return retryDelayMs;
  // Another sender holds the run; if that sender died, its lease lapses and we take over then.
  if (result.outcome === 'busy') return Math.max(1_000, (leaseExpiresAt ? Date.parse(leaseExpiresAt) - now.getTime() : 0) + 1_000);
  return null;
}

export interface SchedulerContext {
  config: Pick<Config, 'DIGEST_CRON' | 'DIGEST_TZ' | 'WEEKLY_DAY'>;
  clock: Clock;
  logger: Logger;
  ledger: Pick<LedgerStore, 'byDate'>;
}

export interface SchedulerDeps {
  /** The sender, e.g. `(o) => sendDigest(await sendDigestDeps(ctx), o)`. */
  send(o: { date: string; cadence: Cadence; signal: AbortSignal }): Promise<SendDigestResult>;
  /** Wait before a failed run (source or SMTP down) is tried again. Default 10 minutes. */
  retryDelayMs?: number;
  /** Retries per date before it is left to the next start-up or an operator. Default 12 (two hours). */
  maxRetries?: number;
}

export interface Scheduler {
  /** Stops the schedule and any retry; a send in progress stops taking work and is recorded. */
  stop(): Promise<void>;
}

/**
 * The digest jobs: node-cron at DIGEST_CRON in DIGEST_TZ for the daily digest, and at the same
 * time on WEEKLY_DAY for the weekly edition; a catch-up run at start-up for either when it was
 * missed, and bounded retries after a failure. Sends take turns in this process (the daily and
 * the weekly one fire at the same minute on WEEKLY_DAY); across processes the run's lease keeps
 * each run to one sender.
 */
export function startScheduler(ctx: SchedulerContext, deps: SchedulerDeps): Scheduler {
  const { DIGEST_CRON: expression, DIGEST_TZ: timeZone, WEEKLY_DAY: weeklyDay } = ctx.config;
  const logs = { daily: ctx.logger.child({ job: 'daily-digest' }), weekly: ctx.logger.child({ job: 'weekly-digest' }) };
  const retryDelayMs = deps.retryDelayMs ?? 10 * 60_000;
  const maxRetries = deps.maxRetries ?? 12;
  const stopping = new AbortController();
  let queue: Promise<void> = Promise.resolve();
  // One edition's run queued or sending at a time, and one pending retry per edition.
  const busy = new Set<Cadence>();
  const retryTimers = new Map<Cadence, NodeJS.Timeout>();

  const run = (cadence: Cadence, date: string, why: string, attempt = 0): Promise<void> => {
    const log = logs[cadence];
    if (busy.has(cadence)) {
      log.warn({ date, why }, 'a send of this edition is still in progress: this one is skipped');
      return queue;
    }
    busy.add(cadence);
    clearTimeout(retryTimers.get(cadence));
    queue = queue.then(async () => {
      if (stopping.signal.aborted) return;
      log.info({ date, why, attempt }, 'digest send starting');
      try {
        const result = await deps.send({ date, cadence, signal: stopping.signal });
        const level = result.outcome === 'failed' || result.outcome === 'paused' ? 'error' : 'info';
        log[level]({ date, outcome: result.outcome, reason: result.reason, sent: result.sent, failed: result.failed, skipped: result.skipped }, 'digest send finished');
        const wait = stopping.signal.aborted ? null : retryAfterMs(result, ctx.clock.now(), ctx.ledger.byDate(date, cadence)?.leaseExpiresAt, retryDelayMs);
        if (wait !== null && attempt < maxRetries) {
          log.warn({ date, inMs: wait }, 'digest send will be retried');
          const timer = setTimeout(() => void run(cadence, date, 'retry', attempt + 1), wait);
          timer.unref();
          retryTimers.set(cadence, timer);
        }
      } catch (err) {
        log.error({ err, date }, 'digest send crashed');
      } finally {
        busy.delete(cadence);
      }
    });
    return queue;
  };

  const daily = cron.schedule(expression, () => run('daily', defaultDigestDate(ctx.clock.now(), timeZone), 'scheduled'), {
    timezone: timeZone,
    name: 'daily-digest',
    noOverlap: true,
  });
  const weeklyExpression = weeklyCron(expression, weeklyDay);
  const weekly = cron.schedule(weeklyExpression, () => run('weekly', defaultWeekEnding(ctx.clock.now(), timeZone, weeklyDay), 'scheduled'), {
    timezone: timeZone,
    name: 'weekly-digest',
    noOverlap: true,
  });

  const now = ctx.clock.now();
  const missed = catchUpDate(now, timeZone, (d) => daily.match(d), (date) => ctx.ledger.byDate(date, 'daily')?.status);
  if (missed) void run('daily', missed, 'catch-up');
  const missedWeek = weeklyCatchUpDate(now, timeZone, weeklyDay, (d) => weekly.match(d), (date) => ctx.ledger.byDate(date, 'weekly')?.status);
  if (missedWeek) void run('weekly', missedWeek, 'catch-up');
  logs.daily.info({ cron: expression, timeZone, next: daily.getNextRun()?.toISOString() }, 'daily digest scheduled');
  logs.weekly.info({ cron: weeklyExpression, timeZone, next: weekly.getNextRun()?.toISOString() }, 'weekly digest scheduled');

  return {
    async stop() {
      stopping.abort(new Error('the scheduler is stopping'));
      for (const timer of retryTimers.values()) clearTimeout(timer);
      await Promise.all([daily.destroy(), weekly.destroy()]);
      await queue;
    },
  };
}
