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
