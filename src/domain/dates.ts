/**
 * Calendar days as `YYYY-MM-DD` strings, the form the paper API and the database use. Pure: the
 * current instant is always passed in.
 */

const ISO_DATE = /^(\d{4})-(\d{2})-(\d{2})$/;

/** True for a real calendar day in `YYYY-MM-DD` form (rejects 2026-02-30 and 2026-1-5). */
export function isCalendarDate(value: string): boolean {
  const m = ISO_DATE.exec(value);
  if (!m) return false;
  const [y, mo, d] = [Number(m[1]), Number(m[2]), Number(m[3])];
  const utc = new Date(Date.UTC(y, mo - 1, d));
  return utc.getUTCFullYear() === y && utc.getUTCMonth() === mo - 1 && utc.getUTCDate() === d;
}

/** The calendar day it is at `now` in `timeZone` (an IANA name such as Europe/Berlin). */
export function todayIn(timeZone: string, now: Date): string {
  // en-CA formats as YYYY-MM-DD, but reading the parts does not depend on that locale detail.
  const parts = new Intl.DateTimeFormat('en-CA', { timeZone, year: 'numeric', month: '2-digit', day: '2-digit' }).formatToParts(now);
  const part = (type: Intl.DateTimeFormatPartTypes) => parts.find((p) => p.type === type)?.value ?? '';
  return `${part('year')}-${part('month')}-${part('day')}`;
}

/** `date` moved by whole calendar days; done in UTC so DST changes cannot skip or repeat a day. */
export function addDays(date: string, days: number): string {
  if (!isCalendarDate(date)) throw new RangeError(`not a YYYY-MM-DD date: ${JSON.stringify(date)}`);
  const [y, m, d] = date.split('-').map(Number) as [number, number, number];
  return new Date(Date.UTC(y, m - 1, d + days)).toISOString().slice(0, 10);
}

/** The day before today in `timeZone`: the last complete day of papers when the digest goes out. */
export function yesterdayIn(timeZone: string, now: Date): string {
  return addDays(todayIn(timeZone, now), -1);
}

/**
 * The digest a run sends when no date is given (the scheduler, send-now, ingest): the day before,
 * in DIGEST_TZ. The feed's date is the day papers were featured on Daily Papers; papers keep being
 * added and upvoted all that day, so at the morning send (DIGEST_CRON, 07:00 by default) yesterday
 * is the last complete day. A run that fires late (catch-up at 00:30) still belongs to the
 * schedule of the day it fired. The one place this rule lives.
 */
export function defaultDigestDate(now: Date, timeZone: string): string {
  return yesterdayIn(timeZone, now);
}

/** WEEKLY_DAY's values, in the order of `Date#getUTCDay` (0 is Sunday). */
export const WEEKDAYS = ['sunday', 'monday', 'tuesday', 'wednesday', 'thursday', 'friday', 'saturday'] as const;
export type Weekday = (typeof WEEKDAYS)[number];

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
