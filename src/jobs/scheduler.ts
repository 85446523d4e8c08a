import cron from 'node-cron';
import type { Clock } from '../clock.ts';
import { WEEKDAYS, type Config, type Weekday } from '../config.ts';
import type { Logger } from '../logger.ts';
import type { LedgerStore } from '../digest/ledger-store.ts';
import type { RunSlice, RunStatus } from '../digest/ledger-records.ts';
import { defaultWeekEnding, digestDateAtWall, wallClock, weeklySendDay } from '../domain/dates.ts';
import type { Cadence } from '../model/cadence.ts';
import type { SendDigestResult } from '../digest/run-types.ts';
import {
  atListMoment,
  defaultMorningHour,
  dueSlices,
  effectiveGroups,
  type Morning,
  type Schedule,
} from './local-morning.ts';

const MINUTE_MS = 60_000;
const DAY_MS = 86_400_000;
const DAYS_KEPT = 8;

/**
 * node-cron's own parser (5 fields, or 6 with seconds: minutes matched at :00), asked in UTC about wall-clock digits.
 */
export function editionSchedule(expression: string): Schedule {
  if (!cron.validate(expression))
    throw new Error(`DIGEST_CRON is not a cron expression: ${JSON.stringify(expression)}`);
  const task = cron.createTask(expression, () => undefined, { timezone: 'UTC' });
  void task.destroy(); // only its matcher is used
  // Readers' zones ask about two or three local days at once (it is already tomorrow in Tokyo).
  const cached = new Map<string, number[]>();
  // The minute and hour fields are the same on every day the day fields let through: once one day
  // fired, another day fires at those times of day or not at all, and one match tells which.
  let timesOfDay: number[] | undefined;
  const scan = (start: number) => {
    const fires: number[] = [];
    for (let t = start; t < start + DAY_MS; t += MINUTE_MS) if (task.match(new Date(t))) fires.push(t);
    if (fires.length) timesOfDay = fires.map((t) => t - start);
    return fires;
  };
  return {
    expression,
    firesOn(day) {
      let fires = cached.get(day);
      if (!fires) {
        const start = Date.parse(`${day}T00:00:00Z`);
        if (!timesOfDay) fires = scan(start);
        else fires = task.match(new Date(start + timesOfDay[0]!)) ? timesOfDay.map((t) => start + t) : [];
        if (cached.size >= DAYS_KEPT) cached.clear();
        cached.set(day, fires);
      }
      return fires;
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

/** DIGEST_CRON's time of day on WEEKLY_DAY only: the weekly edition's schedule. */
export function weeklyCron(expression: string, weeklyDay: Weekday): string {
  const fields = expression.trim().split(/\s+/);
  fields[fields.length - 1] = String(WEEKDAYS.indexOf(weeklyDay));
  return fields.join(' ');
}

/**
 * What the weekly job owes at `now`: the edition of the last complete week once WEEKLY_DAY's
 * scheduled time has passed, and on the days after it until that edition is sent (catch-up after
 * downtime), unless its run is finished or paused. `schedule` is `weeklyCron`'s. Pure.
 */
export function dueWeekly(
  now: Date,
  timeZone: string,
  schedule: Schedule,
  weeklyDay: Weekday,
  statusOf: (date: string) => RunStatus | undefined,
): DueRun | null {
  const wall = wallClock(timeZone, now);
  const today = new Date(wall).toISOString().slice(0, 10);
  const sendDay = weeklySendDay(now, timeZone, weeklyDay);
  const fires = schedule.firesOn(sendDay);
  const scheduledAt = fires[0];
  if (scheduledAt === undefined || (sendDay === today && scheduledAt > wall)) return null;
  const date = defaultWeekEnding(now, timeZone, weeklyDay);
  const status = statusOf(date);
  return status === undefined || status === 'running' || status === 'failed' ? { date, scheduledAt } : null;
}

/** When to try a run again after this result, or null to leave it (done, empty, paused, stopping). */
export function retryAfterMs(
  result: SendDigestResult,
  now: Date,
  leaseExpiresAt: string | null | undefined,
  retryDelayMs: number,
): number | null {
  if (result.outcome === 'failed') return retryDelayMs;
  // Another sender holds the run; if that sender died, its lease lapses and we take over then.
  if (result.outcome === 'busy')
    return Math.max(1_000, (leaseExpiresAt ? Date.parse(leaseExpiresAt) - now.getTime() : 0) + 1_000);
  return null;
}

/**
 * One edition's morning (DELIVERY_MODE=local): DIGEST_CRON (or, weekly, `weeklyCron`'s) read in
 * each reader's zone, and readers with no zone exactly on the batch schedule in DIGEST_TZ.
 */
export function morningOf(config: Pick<Config, 'DIGEST_CRON' | 'DIGEST_TZ' | 'WEEKLY_DAY'>, cadence: Cadence): Morning {
  const { DIGEST_CRON: expression, DIGEST_TZ: timeZone, WEEKLY_DAY: weeklyDay } = config;
  const daily = editionSchedule(expression);
  const defaultHour = defaultMorningHour(daily);
  if (cadence === 'daily')
    return { schedule: daily, timeZone, defaultHour, noZone: (now) => dueRun(now, timeZone, daily, () => undefined) };
  const schedule = editionSchedule(weeklyCron(expression, weeklyDay));
  return {
    schedule,
    timeZone,
    weeklyDay,
    defaultHour,
    noZone: (now) => dueWeekly(now, timeZone, schedule, weeklyDay, () => undefined),
  };
}

export interface SchedulerContext {
  config: Pick<Config, 'DIGEST_CRON' | 'DIGEST_TZ' | 'WEEKLY_DAY' | 'DELIVERY_MODE'>;
  clock: Clock;
  logger: Logger;
  ledger: Pick<LedgerStore, 'byDate' | 'audienceGroups'>;
}

export interface SchedulerDeps {
  /** The sender, e.g. `(o) => sendDigest(await sendDigestDeps(ctx), o)`; a slice in DELIVERY_MODE=local. */
  send(o: { date: string; cadence: Cadence; signal: AbortSignal; slice?: RunSlice }): Promise<SendDigestResult>;
  /**
   * First wait before a failed run (source or SMTP down, feed not out yet) is tried again; it doubles per failure up
   * to an hour. Default 10 minutes.
   */
  retryDelayMs?: number;
  /** How often the schedule is checked. Default: at the start of every minute of the clock. */
  checkEveryMs?: number;
  /** Posts the edition to the team channels after its send (src/channels/post-edition.ts); it never throws. */
  postChannels?(date: string, cadence: Cadence): Promise<unknown>;
}

export interface Scheduler {
  /** Stops the checks; a send in progress stops taking work and is recorded. */
  stop(): Promise<void>;
}

const MAX_RETRY_DELAY_MS = 3600_000;

/**
 * The digest jobs: at start-up and then every minute they ask `dueRun` (daily) and `dueWeekly`
 * what is owed and send it (DELIVERY_MODE=local: `dueSlices`, the slices of the open runs whose
 * readers' hour has come, earliest first, one send each), so a run missed while down, skipped by
 * a clock change, or failed on an outage is sent as soon as it can be, once. Failed runs wait
 * (doubling) before they are tried again; a run another sender holds is left until its lease
 * lapses; a run is sent at most once per check. One send at a time in this process (on
 * WEEKLY_DAY the daily digest goes first, the weekly edition right after); across processes the
 * run's lease keeps each run to one sender.
 */
export function startScheduler(ctx: SchedulerContext, deps: SchedulerDeps): Scheduler {
  const scheduler = new DigestScheduler(ctx, deps);
  scheduler.start();
  return scheduler;
}

/** A send owed now: its run's date, and in DELIVERY_MODE=local the slice; `key` names it for retries. */
interface Owed {
  date: string;
  key: string;
  slice?: RunSlice;
}

/** One edition the scheduler sends: what it owes now (earliest first), and its own log. */
interface Edition {
  cadence: Cadence;
  due: (now: Date) => Owed[];
  log: Logger;
}

/** The daily and the weekly edition, with the weekly one's cron expression. */
function editionsOf(ctx: SchedulerContext): { editions: [Edition, Edition]; weeklyExpression: string } {
  const { DIGEST_CRON: expression, DIGEST_TZ: timeZone, WEEKLY_DAY: weeklyDay } = ctx.config;
  const daily = editionSchedule(expression);
  const weekly = editionSchedule(weeklyCron(expression, weeklyDay));
  const statusOf = (cadence: Cadence) => (date: string) => ctx.ledger.byDate(date, cadence)?.status;
  const batch = (due: DueRun | null): Owed[] => (due ? [{ date: due.date, key: due.date }] : []);
  const local = ctx.config.DELIVERY_MODE === 'local';
  const editions: [Edition, Edition] = [
    {
      cadence: 'daily',
      due: local ? localDue(ctx, 'daily') : (now) => batch(dueRun(now, timeZone, daily, statusOf('daily'))),
      log: ctx.logger.child({ job: 'daily-digest' }),
    },
    {
      cadence: 'weekly',
      due: local
        ? localDue(ctx, 'weekly')
        : (now) => batch(dueWeekly(now, timeZone, weekly, weeklyDay, statusOf('weekly'))),
      log: ctx.logger.child({ job: 'weekly-digest' }),
    },
  ];
  return { editions, weeklyExpression: weekly.expression };
}

/**
 * DELIVERY_MODE=local: the slices owed now, from the readers' groups as they are at this check.
 * The slice holding the readers with no zone is the edition's moment at DIGEST_CRON in DIGEST_TZ.
 */
function localDue(ctx: SchedulerContext, cadence: Cadence): (now: Date) => Owed[] {
  const morning = morningOf(ctx.config, cadence);
  return (now) => {
    const groups = effectiveGroups(ctx.ledger.audienceGroups(cadence), morning.defaultHour);
    return dueSlices(now, morning, groups, (date) => ctx.ledger.byDate(date, cadence)).map((s) => ({
      date: s.date,
      key: `${s.date}@${s.at.toISOString()}`,
      slice: { at: s.at, groups: s.groups },
    }));
  };
}

/** Per edition: the last send tried (its `Owed.key`) and when it may be tried again. */
type Backoff = { key: string; failures: number; notBefore: number };

class DigestScheduler implements Scheduler {
  private ctx: SchedulerContext;
  private deps: SchedulerDeps;
  private editions: [Edition, Edition];
  private weeklyExpression: string;
  private retryDelayMs: number;
  private stopping = new AbortController();
  private current: Promise<void> | undefined;
  private timer: NodeJS.Timeout | undefined;
  private backoff = new Map<Cadence, Backoff>();

  constructor(ctx: SchedulerContext, deps: SchedulerDeps) {
    this.ctx = ctx;
    this.deps = deps;
    ({ editions: this.editions, weeklyExpression: this.weeklyExpression } = editionsOf(ctx));
    this.retryDelayMs = deps.retryDelayMs ?? 10 * 60_000;
  }

  start(): void {
    const { DIGEST_CRON: expression, DIGEST_TZ: timeZone } = this.ctx.config;
    this.check('catch-up');
    this.next();
    this.editions[0].log.info({ cron: expression, timeZone }, 'daily digest scheduled');
    this.editions[1].log.info({ cron: this.weeklyExpression, timeZone }, 'weekly digest scheduled');
  }

  async stop(): Promise<void> {
    this.stopping.abort(new Error('the scheduler is stopping'));
    clearTimeout(this.timer);
    await this.current;
  }

  /**
   * Sends the first edition owed that this check has not sent yet. The other edition may be owed
   * at the same minute (WEEKLY_DAY): it goes next. One that was sent waits for the next check even
   * if its run still looks owed (a ledger write that did not land), so it cannot loop on the relay.
   */
  private check(why: string, sent: ReadonlySet<string> = new Set()): void {
    if (this.current || this.stopping.signal.aborted) return;
    const now = this.ctx.clock.now();
    for (const { cadence, due: dueAt, log } of this.editions) {
      const last = this.backoff.get(cadence);
      const due = dueAt(now).find(
        (d) => !sent.has(`${cadence}:${d.key}`) && !(last?.key === d.key && now.getTime() < last.notBefore),
      );
      if (!due) continue;
      this.current = this.send(cadence, log, due, last?.key === due.key ? 'retry' : why).finally(() => {
        this.current = undefined;
        this.check(why, new Set([...sent, `${cadence}:${due.key}`]));
      });
      return;
    }
  }

  private next(): void {
    if (this.stopping.signal.aborted) return;
    const now = this.ctx.clock.now().getTime();
    this.timer = setTimeout(
      () => {
        this.check('scheduled');
        this.next();
      },
      this.deps.checkEveryMs ?? MINUTE_MS - (now % MINUTE_MS) + 100,
    );
    this.timer.unref();
  }

  private async send(cadence: Cadence, log: Logger, owed: Owed, why: string): Promise<void> {
    const { date, key, slice } = owed;
    const last = this.backoff.get(cadence);
    const sliceAt = slice?.at.toISOString();
    log.info({ date, sliceAt, why, attempt: (last?.key === key ? last.failures : 0) + 1 }, 'digest send starting');
    try {
      const result = await this.deps.send({ date, cadence, signal: this.stopping.signal, ...(slice ? { slice } : {}) });
      const level = result.outcome === 'failed' || result.outcome === 'paused' ? 'error' : 'info';
      log[level](
        {
          date,
          sliceAt,
          outcome: result.outcome,
          reason: result.reason,
          sent: result.sent,
          failed: result.failed,
          skipped: result.skipped,
        },
        'digest send finished',
      );
      this.scheduleRetry(cadence, log, owed, last, result);
      if (!this.stopping.signal.aborted && atListMoment(slice)) await this.deps.postChannels?.(date, cadence);
    } catch (err) {
      log.error({ err, date, sliceAt }, 'digest send crashed');
      this.backoff.set(cadence, {
        key,
        failures: (last?.failures ?? 0) + 1,
        notBefore: this.ctx.clock.now().getTime() + this.retryDelayMs,
      });
    }
  }

  /** After a send that did not finish the run: when the edition may be tried again (doubling). */
  private scheduleRetry(
    cadence: Cadence,
    log: Logger,
    { date, key }: Owed,
    last: Backoff | undefined,
    result: SendDigestResult,
  ): void {
    const { ctx } = this;
    const failures = last?.key === key ? last.failures + 1 : 1;
    const leaseExpiresAt = ctx.ledger.byDate(date, cadence)?.leaseExpiresAt;
    const wait = retryAfterMs(
      result,
      ctx.clock.now(),
      leaseExpiresAt,
      Math.min(MAX_RETRY_DELAY_MS, this.retryDelayMs * 2 ** (failures - 1)),
    );
    if (wait === null) this.backoff.delete(cadence);
    else this.backoff.set(cadence, { key, failures, notBefore: ctx.clock.now().getTime() + wait });
    if (wait !== null && !this.stopping.signal.aborted) log.warn({ date, inMs: wait }, 'digest send will be retried');
  }
}
