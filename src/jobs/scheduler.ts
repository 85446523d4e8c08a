import cron from 'node-cron';
import type { Clock } from '../clock.ts';
import type { Config } from '../config.ts';
import type { Logger } from '../logger.ts';
import type { LedgerStore, RunStatus } from '../digest/ledger-store.ts';
import { digestDateAtWall, wallClock } from '../domain/dates.ts';
import type { SendDigestResult } from '../digest/run.ts';

/**
 * A cron expression read as local wall-clock times. Times are `wallClock` values (the local
 * reading written as if it were UTC), so the question "does 02:30 match?" has an answer on a day
 * the clocks skip 02:30, and asks nothing of the zone.
 */
export interface Schedule {
  readonly expression: string;
  /** The wall-clock minutes of local day `day` (YYYY-MM-DD) the expression matches, in order. */
  firesOn(day: string): readonly number[];
}

const MINUTE_MS = 60_000;
const DAY_MS = 86_400_000;

/** node-cron's own parser (5 fields, or 6 with seconds: minutes matched at :00), asked in UTC about wall-clock digits. */
export function dailySchedule(expression: string): Schedule {
  if (!cron.validate(expression)) throw new Error(`DIGEST_CRON is not a cron expression: ${JSON.stringify(expression)}`);
  const task = cron.createTask(expression, () => undefined, { timezone: 'UTC' });
  void task.destroy(); // only its matcher is used
  let cached: { day: string; fires: number[] } | undefined;
  return {
    expression,
    firesOn(day) {
      if (cached?.day !== day) {
        const start = Date.parse(`${day}T00:00:00Z`);
        const fires: number[] = [];
        for (let t = start; t < start + DAY_MS; t += MINUTE_MS) if (task.match(new Date(t))) fires.push(t);
        cached = { day, fires };
      }
      return cached.fires;
    },
  };
}

export interface DueRun {
  /** The digest date the schedule's run today is for. */
  date: string;
  /** Its local wall-clock time (a `wallClock` value). */
  scheduledAt: number;
}

/**
 * What the daily job owes at `now`: the digest of today's most recent scheduled time that has
 * passed, unless its run is finished (done, empty) or paused for an operator. Local wall time
 * decides, so a time the clocks skip (02:30 on a spring-forward day) is due at the first instant
 * after the gap, and one they repeat (01:30 on a fall-back day) owes one run, whose date it is.
 * The date comes from the scheduled time, not `now`: a run caught up late keeps its day's date.
 * Pure; a second edition is a second schedule asked the same question.
 */
export function dueRun(
  now: Date,
  timeZone: string,
  schedule: Schedule,
  statusOf: (date: string) => RunStatus | undefined,
  /** The edition's date for a run scheduled at a wall-clock time: the daily digest's rule unless given. */
  dateAt: (scheduledAt: number, timeZone: string) => string = digestDateAtWall,
): DueRun | null {
  const wall = wallClock(timeZone, now);
  const today = new Date(wall).toISOString().slice(0, 10);
  const passed = schedule.firesOn(today).filter((t) => t <= wall);
  const scheduledAt = passed.at(-1);
  if (scheduledAt === undefined) return null;
  const date = dateAt(scheduledAt, timeZone);
  const status = statusOf(date);
  return status === undefined || status === 'running' || status === 'failed' ? { date, scheduledAt } : null;
}

/** When to try a run again after this result, or null to leave it (done, empty, paused, stopping). */
export function retryAfterMs(result: SendDigestResult, now: Date, leaseExpiresAt: string | null | undefined, retryDelayMs: number): number | null {
  if (result.outcome === 'failed') return retryDelayMs;
  // Another sender holds the run; if that sender died, its lease lapses and we take over then.
  if (result.outcome === 'busy') return Math.max(1_000, (leaseExpiresAt ? Date.parse(leaseExpiresAt) - now.getTime() : 0) + 1_000);
  return null;
}

export interface SchedulerContext {
  config: Pick<Config, 'DIGEST_CRON' | 'DIGEST_TZ'>;
  clock: Clock;
  logger: Logger;
  ledger: Pick<LedgerStore, 'byDate'>;
}

export interface SchedulerDeps {
  /** The sender, e.g. `(o) => sendDigest(await sendDigestDeps(ctx), o)`. */
  send(o: { date: string; signal: AbortSignal }): Promise<SendDigestResult>;
  /** First wait before a failed run (source or SMTP down, feed not out yet) is tried again; it doubles per failure up to an hour. Default 10 minutes. */
  retryDelayMs?: number;
  /** How often the schedule is checked. Default: at the start of every minute of the clock. */
  checkEveryMs?: number;
}

export interface Scheduler {
  /** Stops the checks; a send in progress stops taking work and is recorded. */
  stop(): Promise<void>;
}

const MAX_RETRY_DELAY_MS = 3600_000;

/**
 * The daily digest job: at start-up and then every minute it asks `dueRun` what is owed and
 * sends it, so a run missed while down, skipped by a clock change, or failed on an outage is
 * sent as soon as it can be, once. Failed runs wait (doubling) before they are tried again;
 * a run another sender holds is left until its lease lapses. One send at a time in this process;
 * across processes the run's lease keeps it to one.
 */
export function startScheduler(ctx: SchedulerContext, deps: SchedulerDeps): Scheduler {
  const { DIGEST_CRON: expression, DIGEST_TZ: timeZone } = ctx.config;
  const schedule = dailySchedule(expression);
  const log = ctx.logger.child({ job: 'daily-digest' });
  const retryDelayMs = deps.retryDelayMs ?? 10 * 60_000;
  const stopping = new AbortController();
  let current: Promise<void> | undefined;
  let timer: NodeJS.Timeout | undefined;
  /** The last date tried and when it may be tried again. */
  let backoff: { date: string; failures: number; notBefore: number } | undefined;

  const send = async (date: string, why: string) => {
    log.info({ date, why, attempt: (backoff?.date === date ? backoff.failures : 0) + 1 }, 'digest send starting');
    try {
      const result = await deps.send({ date, signal: stopping.signal });
      const level = result.outcome === 'failed' || result.outcome === 'paused' ? 'error' : 'info';
      log[level]({ date, outcome: result.outcome, reason: result.reason, sent: result.sent, failed: result.failed, skipped: result.skipped }, 'digest send finished');
      const failures = backoff?.date === date ? backoff.failures + 1 : 1;
      const wait = retryAfterMs(result, ctx.clock.now(), ctx.ledger.byDate(date)?.leaseExpiresAt, Math.min(MAX_RETRY_DELAY_MS, retryDelayMs * 2 ** (failures - 1)));
      backoff = wait === null ? undefined : { date, failures, notBefore: ctx.clock.now().getTime() + wait };
      if (wait !== null && !stopping.signal.aborted) log.warn({ date, inMs: wait }, 'digest send will be retried');
    } catch (err) {
      log.error({ err, date }, 'digest send crashed');
      backoff = { date, failures: (backoff?.failures ?? 0) + 1, notBefore: ctx.clock.now().getTime() + retryDelayMs };
    }
  };

  const check = (why: string) => {
    if (current || stopping.signal.aborted) return;
    const now = ctx.clock.now();
    const due = dueRun(now, timeZone, schedule, (date) => ctx.ledger.byDate(date)?.status);
    if (!due || (backoff?.date === due.date && now.getTime() < backoff.notBefore)) return;
    current = send(due.date, backoff?.date === due.date ? 'retry' : why).finally(() => {
      current = undefined;
    });
  };

  const next = () => {
    if (stopping.signal.aborted) return;
    const now = ctx.clock.now().getTime();
    timer = setTimeout(() => {
      check('scheduled');
      next();
    }, deps.checkEveryMs ?? MINUTE_MS - (now % MINUTE_MS) + 100);
    timer.unref();
  };

  check('catch-up');
  next();
  log.info({ cron: expression, timeZone }, 'daily digest scheduled');

  return {
    async stop() {
      stopping.abort(new Error('the scheduler is stopping'));
      clearTimeout(timer);
      await current;
    },
  };
}
