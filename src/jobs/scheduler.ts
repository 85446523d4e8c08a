import cron from 'node-cron';
import type { Clock } from '../clock.ts';
import type { Config } from '../config.ts';
import type { Logger } from '../logger.ts';
import type { LedgerStore, RunStatus } from '../digest/ledger-store.ts';
import { defaultDigestDate, todayIn } from '../domain/dates.ts';
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
 * The daily digest job: node-cron at DIGEST_CRON in DIGEST_TZ, a catch-up run at start-up when
 * today's was missed, and bounded retries after a failure. One send at a time in this process;
 * across processes the run's lease keeps it to one.
 */
export function startScheduler(ctx: SchedulerContext, deps: SchedulerDeps): Scheduler {
  const { DIGEST_CRON: expression, DIGEST_TZ: timeZone } = ctx.config;
  const log = ctx.logger.child({ job: 'daily-digest' });
  const retryDelayMs = deps.retryDelayMs ?? 10 * 60_000;
  const maxRetries = deps.maxRetries ?? 12;
  const stopping = new AbortController();
  let current: Promise<void> | undefined;
  let retryTimer: NodeJS.Timeout | undefined;

  const run = (date: string, why: string, attempt = 0): Promise<void> => {
    if (current) {
      log.warn({ date, why }, 'a digest send is still in progress: this one is skipped');
      return current;
    }
    clearTimeout(retryTimer);
    log.info({ date, why, attempt }, 'digest send starting');
    current = deps
      .send({ date, signal: stopping.signal })
      .then(
        (result) => {
          const level = result.outcome === 'failed' || result.outcome === 'paused' ? 'error' : 'info';
          log[level]({ date, outcome: result.outcome, reason: result.reason, sent: result.sent, failed: result.failed, skipped: result.skipped }, 'digest send finished');
          const wait = stopping.signal.aborted ? null : retryAfterMs(result, ctx.clock.now(), ctx.ledger.byDate(date)?.leaseExpiresAt, retryDelayMs);
          if (wait !== null && attempt < maxRetries) {
            log.warn({ date, inMs: wait }, 'digest send will be retried');
            retryTimer = setTimeout(() => void run(date, 'retry', attempt + 1), wait);
            retryTimer.unref();
          }
        },
        (err: unknown) => log.error({ err, date }, 'digest send crashed'),
      )
      .finally(() => {
        current = undefined;
      });
    return current;
  };

  const task = cron.schedule(expression, () => run(defaultDigestDate(ctx.clock.now(), timeZone), 'scheduled'), {
    timezone: timeZone,
    name: 'daily-digest',
    noOverlap: true,
  });

  const missed = catchUpDate(ctx.clock.now(), timeZone, (d) => task.match(d), (date) => ctx.ledger.byDate(date)?.status);
  if (missed) void run(missed, 'catch-up');
  log.info({ cron: expression, timeZone, next: task.getNextRun()?.toISOString() }, 'daily digest scheduled');

  return {
    async stop() {
      stopping.abort(new Error('the scheduler is stopping'));
      clearTimeout(retryTimer);
      await task.destroy();
      await current;
    },
  };
}
