import { WEEKDAYS, type Weekday } from '../config.ts';
import type { RunStatus } from '../digest/ledger-records.ts';
import { addDays, digestDateAtWall, wallClock, weekdayOf, weeklySendDay } from '../domain/dates.ts';

/**
 * Each reader's own morning (DELIVERY_MODE=local), as pure decisions: when a group of readers
 * (one zone, one hour) is sent, for which digest date, and which slice of a run is owed at an
 * instant. Readers with no zone form one group sent exactly at DIGEST_CRON in DIGEST_TZ.
 */

const MINUTE_MS = 60_000;
const DAY_MS = 86_400_000;

/** The group key of the readers with no zone: the SQL in ledger-store.ts builds the same keys. */
export const NO_ZONE = '';

/** Readers as stored: their zone and hour (either may be NULL), and how many. */
export interface AudienceGroup {
  timeZone: string | null;
  hour: number | null;
  readers: number;
}

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

/** What the morning schedule of one edition needs from the configuration (scheduler.ts `morningOf`). */
export interface Morning {
  /** DIGEST_CRON for the daily edition, `weeklyCron`'s for the weekly one: its day fields pick the days. */
  schedule: Schedule;
  /** DIGEST_TZ: the zone of readers with none. */
  timeZone: string;
  /** The hour of a reader who chose none (`defaultMorningHour` of DIGEST_CRON). */
  defaultHour: number;
  /** Set for the weekly edition. */
  weeklyDay?: Weekday;
  /** The batch schedule's latest time by `now` in DIGEST_TZ (a `wallClock` value) and date: readers with no zone. */
  noZone(now: Date): { date: string; scheduledAt: number } | null;
}

/** One group's send: its digest date and the instant it goes out. */
export interface GroupSend {
  date: string;
  at: Date;
}

/** A slice of a run owed now: the run's date, its cut-off instant, and the keys of the groups it sends. */
export interface DueSlice {
  date: string;
  at: Date;
  /** Null when no group of the run goes later: everyone. */
  groups: string[] | null;
}

/** What a due-check needs to know of a run. */
export interface RunState {
  status: RunStatus;
  /** The cut-off of the slice begun last (ISO). */
  startedAt: string;
}

/** The hour of a reader who chose none: DIGEST_CRON's first hour of a day it fires, held to 05–11. */
export function defaultMorningHour(schedule: Schedule): number {
  for (let day = '2026-01-05', i = 0; i < 366; i++, day = addDays(day, 1)) {
    const first = schedule.firesOn(day)[0];
    if (first !== undefined) return Math.min(11, Math.max(5, new Date(first).getUTCHours()));
  }
  return 7;
}

/** The key of a stored (zone, hour) pair: what `groupKeySql` computes for a subscriber row. */
export function groupKey(timeZone: string | null, hour: number | null): string {
  return timeZone === null ? NO_ZONE : `${timeZone}|${hour ?? ''}`;
}

/**
 * The instant the local wall-clock time `wall` (a `wallClock` value) happens in `timeZone`: the
 * first of the two on a fall-back night, and on a spring-forward night, for a time the clocks
 * skip, the first instant after the gap.
 */
export function instantOfWall(wall: number, timeZone: string): Date {
  const key = `${timeZone}|${wall}`;
  let at = instants.get(key);
  if (at === undefined) {
    if (instants.size >= KEPT) instants.clear();
    at = computeInstantOfWall(wall, timeZone);
    instants.set(key, at);
  }
  return new Date(at);
}

// Pure answers asked every minute for every group, the same all day: kept (bounded).
const instants = new Map<string, number>();
const sends = new Map<string, GroupSend | null>();
const KEPT = 10_000;

function computeInstantOfWall(wall: number, timeZone: string): number {
  const before = wall - DAY_MS;
  const after = wall + DAY_MS;
  const offsets = [wallClock(timeZone, new Date(before)) - before, wallClock(timeZone, new Date(after)) - after];
  const exact = offsets.map((o) => wall - o).filter((t) => wallClock(timeZone, new Date(t)) === wall);
  if (exact.length) return Math.min(...exact);
  let t = wall - Math.min(...offsets);
  while (wallClock(timeZone, new Date(t - MINUTE_MS)) >= wall) t -= MINUTE_MS;
  return t;
}

/** The nominal wall-clock value of `hour`:00 on local day `day`. */
const wallAt = (day: string, hour: number) => Date.parse(`${day}T${String(hour).padStart(2, '0')}:00:00Z`);

/** The Sunday ending the latest week whose feed is complete at wall time `wall` in `timeZone`. */
export function weekCompleteAtWall(wall: number, timeZone: string): string {
  const lastDay = digestDateAtWall(wall, timeZone);
  return addDays(lastDay, -weekdayOf(lastDay));
}

/**
 * The send of a zoned group on local day `day`, or null when the schedule's day fields leave that
 * day out (or, weekly, it is not WEEKLY_DAY). The digest's day is `digestDateAtWall` of the
 * nominal hour, so it is a fixed number of days before the local day all year: no reader skips
 * or repeats a day when their clocks change.
 */
export function sendOnDay(morning: Morning, timeZone: string, hour: number, day: string): GroupSend | null {
  const key = `${morning.schedule.expression}|${morning.weeklyDay ?? ''}|${timeZone}|${hour}|${day}`;
  let send = sends.get(key);
  if (send === undefined) {
    if (sends.size >= KEPT) sends.clear();
    send = computeSendOnDay(morning, timeZone, hour, day);
    sends.set(key, send);
  }
  return send;
}

function computeSendOnDay(morning: Morning, timeZone: string, hour: number, day: string): GroupSend | null {
  if (!morning.schedule.firesOn(day).length) return null;
  if (morning.weeklyDay && weekdayOf(day) !== WEEKDAYS.indexOf(morning.weeklyDay)) return null;
  const wall = wallAt(day, hour);
  const date = morning.weeklyDay ? weekCompleteAtWall(wall, timeZone) : digestDateAtWall(wall, timeZone);
  return { date, at: instantOfWall(wall, timeZone) };
}

/**
 * A group's latest send that has come by `now`: today's (daily), or this week's from WEEKLY_DAY
 * on (weekly, so a week missed while down is still owed later in the week). Readers with no zone:
 * exactly the batch schedule (`dueRun`, `dueWeekly`) in DIGEST_TZ.
 */
export function groupSendBy(now: Date, morning: Morning, key: string): GroupSend | null {
  if (key === NO_ZONE) return noZoneSend(now, morning);
  const [timeZone, hourText] = splitKey(key);
  const hour = Number(hourText);
  const day = morning.weeklyDay
    ? weeklySendDay(now, timeZone, morning.weeklyDay)
    : new Date(wallClock(timeZone, now)).toISOString().slice(0, 10);
  const send = sendOnDay(morning, timeZone, hour, day);
  return send && send.at <= now ? send : null;
}

/** The batch schedule's latest send for readers with no zone: where DIGEST_CRON's moment in DIGEST_TZ is known. */
function noZoneSend(now: Date, morning: Morning): GroupSend | null {
  const { timeZone, weeklyDay } = morning;
  const due = morning.noZone(now);
  if (!due) return null;
  const date = weeklyDay ? weekCompleteAtWall(due.scheduledAt, timeZone) : due.date;
  return { date, at: instantOfWall(due.scheduledAt, timeZone) };
}

/**
 * A group's send of the run of `date` (the local day whose digest it is), or null when that day
 * does not send (DIGEST_CRON's day fields, WEEKLY_DAY).
 */
export function sendOfDate(morning: Morning, key: string, date: string): GroupSend | null {
  const span = morning.weeklyDay ? 14 : 3;
  for (let d = 0; d <= span; d++) {
    const day = addDays(date, d);
    const send =
      key === NO_ZONE
        ? (noZoneFires(morning, day, false).map((wall) => noZoneSendAt(morning, wall))[0] ?? null)
        : sendOnDay(morning, splitKey(key)[0], Number(splitKey(key)[1]), day);
    if (send?.date === date) return send;
  }
  return null;
}

/** The stored keys of the groups whose send of the run of `date` is still ahead at `now`. */
export function groupsAhead(
  morning: Morning,
  groups: readonly { key: string; storedKeys: readonly string[] }[],
  date: string,
  now: Date,
): string[] {
  return groups.filter((g) => (sendOfDate(morning, g.key, date)?.at ?? now) > now).flatMap((g) => g.storedKeys);
}

/**
 * The next slice after `now`: its instant and how many readers it holds (null: nobody to send).
 * `batch`: everyone at DIGEST_CRON in DIGEST_TZ.
 */
export function nextSlice(
  now: Date,
  morning: Morning,
  groups: readonly { key: string; readers: number }[],
  batch: boolean,
): { at: Date; readers: number } | null {
  const today = new Date(wallClock(morning.timeZone, now)).toISOString().slice(0, 10);
  let next: { at: Date; readers: number } | null = null;
  for (const g of groups) {
    const key = batch ? NO_ZONE : g.key;
    const from = addDays(
      key === NO_ZONE ? today : new Date(wallClock(splitKey(key)[0], now)).toISOString().slice(0, 10),
      -1,
    );
    for (let d = 0; d <= (morning.weeklyDay ? 15 : 8); d++) {
      const day = addDays(from, d);
      const send =
        key === NO_ZONE
          ? (noZoneFires(morning, day, batch)
              .map((wall) => noZoneSendAt(morning, wall))
              .find((s) => s.at > now) ?? null)
          : sendOnDay(morning, splitKey(key)[0], Number(splitKey(key)[1]), day);
      if (!send || send.at <= now) continue;
      if (!next || send.at < next.at) next = { at: send.at, readers: g.readers };
      else if (send.at.getTime() === next.at.getTime()) next.readers += g.readers;
      break;
    }
  }
  return next;
}

function splitKey(key: string): [string, string] {
  const bar = key.lastIndexOf('|');
  return [key.slice(0, bar), key.slice(bar + 1)];
}

/**
 * The effective groups of the stored ones: a zoned reader with no hour takes `defaultHour`, and
 * the key lists every stored key it covers, so the SQL matches rows as they are stored.
 */
export function effectiveGroups(
  stored: readonly AudienceGroup[],
  defaultHour: number,
): { key: string; timeZone: string | null; hour: number | null; storedKeys: string[]; readers: number }[] {
  const byKey = new Map<
    string,
    { key: string; timeZone: string | null; hour: number | null; storedKeys: string[]; readers: number }
  >();
  for (const g of stored) {
    const hour = g.timeZone === null ? null : (g.hour ?? defaultHour);
    const key = groupKey(g.timeZone, hour);
    const group = byKey.get(key) ?? { key, timeZone: g.timeZone, hour, storedKeys: [], readers: 0 };
    group.storedKeys.push(groupKey(g.timeZone, g.hour));
    group.readers += g.readers;
    byKey.set(key, group);
  }
  return [...byKey.values()];
}

/**
 * The slices owed at `now`, earliest first, at most one per run (date): the groups whose send has
 * come, sent a slice at a time. A run not begun owes its earliest due group's instant (the cut-off)
 * with every due group up to it; a finished slice (done) owes the next instant once it has come;
 * an unfinished or failed slice is resumed as it is; a paused or empty run owes nothing. The
 * readers with no zone are always a group, so a run always has a slice at DIGEST_CRON's moment.
 */
export function dueSlices(
  now: Date,
  morning: Morning,
  groups: readonly { key: string; storedKeys: readonly string[] }[],
  runOf: (date: string) => RunState | undefined,
): DueSlice[] {
  const byDate = new Map<string, { at: number; storedKeys: readonly string[] }[]>();
  const withNoZone = groups.some((g) => g.key === NO_ZONE)
    ? groups
    : [...groups, { key: NO_ZONE, storedKeys: [NO_ZONE] }];
  for (const g of withNoZone) {
    const send = groupSendBy(now, morning, g.key);
    if (send)
      byDate.set(send.date, [...(byDate.get(send.date) ?? []), { at: send.at.getTime(), storedKeys: g.storedKeys }]);
  }
  const slices: DueSlice[] = [];
  for (const [date, sends] of byDate) {
    const at = owedCutoff(runOf(date), sends);
    if (at === null) continue;
    const keys = sends.filter((s) => s.at <= at).flatMap((s) => s.storedKeys);
    // The last slice of the run is everyone: a run whose groups all go at once reads as a batch run.
    const later = withNoZone.some((g) => (sendOfDate(morning, g.key, date)?.at.getTime() ?? 0) > at);
    slices.push({ date, at: new Date(at), groups: later ? keys : null });
  }
  return slices.sort((a, b) => a.at.getTime() - b.at.getTime());
}

/**
 * True when a send includes DIGEST_CRON's moment in DIGEST_TZ (the readers with no zone): a batch
 * run, or the slice holding that group. The team channels post then, once per edition.
 */
export function atListMoment(slice: { groups: readonly string[] | null } | undefined): boolean {
  return !slice || slice.groups === null || slice.groups.includes(NO_ZONE);
}

/** The cut-off of the slice a run owes, given its groups' due sends; null when it owes none. */
function owedCutoff(run: RunState | undefined, sends: readonly { at: number }[]): number | null {
  const times = sends.map((s) => s.at);
  if (!run) return Math.min(...times);
  if (run.status === 'running' || run.status === 'failed') return Date.parse(run.startedAt);
  if (run.status !== 'done') return null;
  const ahead = times.filter((t) => t > Date.parse(run.startedAt));
  return ahead.length ? Math.min(...ahead) : null;
}

/** One row of a day's plan: a (zone, local time) and its readers. */
export interface PlanRow {
  timeZone: string;
  /** Local wall time, a `wallClock` value. */
  localTime: number;
  at: Date;
  date: string;
  readers: number;
}

/**
 * The sends whose local date is `day` in each group's zone, one row per (zone, local time),
 * readers with no zone counted under DIGEST_TZ at DIGEST_CRON's times, sorted by instant.
 * `batch`: everyone at each DIGEST_CRON time in DIGEST_TZ.
 */
export function planOfDay(
  morning: Morning,
  groups: readonly { timeZone: string | null; hour: number | null; readers: number }[],
  day: string,
  batch: boolean,
): PlanRow[] {
  const rows = new Map<string, PlanRow>();
  const add = (timeZone: string, localTime: number, send: GroupSend, readers: number) => {
    const k = `${timeZone}|${localTime}`;
    const row = rows.get(k) ?? { timeZone, localTime, at: send.at, date: send.date, readers: 0 };
    row.readers += readers;
    rows.set(k, row);
  };
  for (const g of groups) {
    if (g.readers === 0) continue;
    if (g.timeZone !== null && g.hour !== null && !batch) {
      const send = sendOnDay(morning, g.timeZone, g.hour, day);
      if (send) add(g.timeZone, wallAt(day, g.hour), send, g.readers);
      continue;
    }
    const fires = noZoneFires(morning, day, batch);
    for (const wall of fires) add(morning.timeZone, wall, noZoneSendAt(morning, wall), g.readers);
  }
  return [...rows.values()].sort((a, b) => a.at.getTime() - b.at.getTime() || a.timeZone.localeCompare(b.timeZone));
}

/** DIGEST_CRON's times on `day` in DIGEST_TZ that send: the first (later ones find the run sent); in batch, all. */
function noZoneFires(morning: Morning, day: string, batch: boolean): number[] {
  if (morning.weeklyDay && weekdayOf(day) !== WEEKDAYS.indexOf(morning.weeklyDay)) return [];
  const fires = morning.schedule.firesOn(day);
  return batch ? [...fires] : fires.slice(0, 1);
}

function noZoneSendAt(morning: Morning, wall: number): GroupSend {
  const { timeZone, weeklyDay } = morning;
  const date = weeklyDay ? weekCompleteAtWall(wall, timeZone) : digestDateAtWall(wall, timeZone);
  return { date, at: instantOfWall(wall, timeZone) };
}
