/**
 * Calendar days as `YYYY-MM-DD` strings, the form the paper API and the database use. Pure: the
 * current instant is always passed in.
 */

import { WEEKDAYS, type Weekday } from '../weekdays.ts';

const ISO_DATE = /^(\d{4})-(\d{2})-(\d{2})$/;

/** True for a real calendar day in `YYYY-MM-DD` form (rejects 2026-02-30 and 2026-1-5). */
export function isCalendarDate(value: string): boolean {
  const m = ISO_DATE.exec(value);
  if (!m) return false;
  const [y, mo, d] = [Number(m[1]), Number(m[2]), Number(m[3])];
  const utc = new Date(Date.UTC(y, mo - 1, d));
  return utc.getUTCFullYear() === y && utc.getUTCMonth() === mo - 1 && utc.getUTCDate() === d;
}

const dayFormatters = new Map<string, Intl.DateTimeFormat>();

/** The calendar day it is at `now` in `timeZone` (an IANA name such as Europe/Berlin). */
export function todayIn(timeZone: string, now: Date): string {
  let f = dayFormatters.get(timeZone);
  if (!f) {
    // en-CA formats as YYYY-MM-DD, but reading the parts does not depend on that locale detail.
    f = new Intl.DateTimeFormat('en-CA', { timeZone, year: 'numeric', month: '2-digit', day: '2-digit' });
    dayFormatters.set(timeZone, f);
  }
  const parts = f.formatToParts(now);
  const part = (type: Intl.DateTimeFormatPartTypes) => parts.find((p) => p.type === type)?.value ?? '';
  return `${part('year')}-${part('month')}-${part('day')}`;
}

/** `date` moved by whole calendar days; done in UTC so DST changes cannot skip or repeat a day. */
export function addDays(date: string, days: number): string {
  if (!isCalendarDate(date)) throw new RangeError(`not a YYYY-MM-DD date: ${JSON.stringify(date)}`);
  const [y, m, d] = date.split('-').map(Number) as [number, number, number];
  return new Date(Date.UTC(y, m - 1, d + days)).toISOString().slice(0, 10);
}

/** The day before today in `timeZone`. */
export function yesterdayIn(timeZone: string, now: Date): string {
  return addDays(todayIn(timeZone, now), -1);
}

const formatters = new Map<string, Intl.DateTimeFormat>();

/** The wall-clock reading at `at` in `timeZone`, as the UTC instant with the same digits (minutes). */
export function wallClock(timeZone: string, at: Date): number {
  let f = formatters.get(timeZone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone,
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
    });
    formatters.set(timeZone, f);
  }
  const n: Record<string, number> = {};
  for (const p of f.formatToParts(at)) if (p.type !== 'literal') n[p.type] = Number(p.value);
  return Date.UTC(n.year!, n.month! - 1, n.day!, n.hour!, n.minute!);
}

const maxOffsets = new Map<string, number>();

/** The zone's largest UTC offset (ms) in `year`: its summer time when it has one. Sampled monthly. */
function largestOffsetMs(timeZone: string, year: number): number {
  const key = `${timeZone}|${year}`;
  let max = maxOffsets.get(key);
  if (max === undefined) {
    max = -Infinity;
    for (let m = 0; m < 12; m++) {
      const at = new Date(Date.UTC(year, m, 15, 12));
      max = Math.max(max, wallClock(timeZone, at) - at.getTime());
    }
    maxOffsets.set(key, max);
  }
  return max;
}

const DAY_MS = 86_400_000;

/**
 * The digest date of a run at local wall time `wall` (a `wallClock` value) in `timeZone`: the last
 * feed day that is over. The feed files a paper under the UTC day it was added (its
 * `submittedOnDailyAt` is UTC), so that is the UTC day before the run's instant. The instant is
 * reckoned with the zone's largest offset of the year, so the answer is a fixed number of days
 * before the local date, all year: a run the clocks moved across UTC midnight neither repeats nor
 * skips a day, and is never early. So 07:00 in Honolulu (17:00 UTC) sends the day before; 07:00
 * on Kiritimati (17:00 UTC the previous day) the day before that; 01:30 in Berlin (00:30 UTC in
 * winter, 23:30 in summer) two days back all year.
 */
export function digestDateAtWall(wall: number, timeZone: string): string {
  const earliest = wall - largestOffsetMs(timeZone, new Date(wall).getUTCFullYear());
  return new Date(earliest - DAY_MS).toISOString().slice(0, 10);
}

/**
 * The digest a run sends when no date is given (the scheduler, send-now, ingest): the last
 * complete day of the feed at `now` (see digestDateAtWall; DIGEST_TZ matters only through its
 * offset). The scheduler passes its scheduled time, so a catch-up keeps its day's date. The one
 * place this rule lives.
 */
export function defaultDigestDate(now: Date, timeZone: string): string {
  return digestDateAtWall(wallClock(timeZone, now), timeZone);
}

/** 0 (Sunday) … 6 (Saturday) for a calendar day. */
export function weekdayOf(date: string): number {
  return new Date(`${addDays(date, 0)}T00:00:00Z`).getUTCDay();
}

/** The seven feed days of the weekly edition that ends on `weekEnding`, oldest first. */
export function weekDays(weekEnding: string): string[] {
  return [6, 5, 4, 3, 2, 1, 0].map((back) => addDays(weekEnding, -back));
}

/**
 * The weekly edition a run sends when no date is given: the week (Monday to Sunday) ending on
 * the Sunday before the latest WEEKLY_DAY on or before today in DIGEST_TZ. So on a Monday
 * (the default WEEKLY_DAY) it is the week that ended yesterday, all the rest of the week too,
 * and a catch-up on Wednesday still belongs to Monday's schedule. With WEEKLY_DAY=sunday the
 * edition goes out a week after its Sunday: a week's feed is complete only once its Sunday is
 * over. The one place this rule lives, beside `defaultDigestDate`.
 */
export function defaultWeekEnding(now: Date, timeZone: string, weeklyDay: Weekday): string {
  const sendDay = weeklySendDay(now, timeZone, weeklyDay);
  return addDays(sendDay, -(weekdayOf(sendDay) || 7));
}

/** The latest WEEKLY_DAY on or before today in `timeZone`: when this week's edition is due. */
export function weeklySendDay(now: Date, timeZone: string, weeklyDay: Weekday): string {
  const today = todayIn(timeZone, now);
  return addDays(today, -((weekdayOf(today) - WEEKDAYS.indexOf(weeklyDay) + 7) % 7));
}
