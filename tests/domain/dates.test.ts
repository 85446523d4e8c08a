import { describe, expect, it } from 'vitest';
import { addDays, defaultDigestDate, isCalendarDate, todayIn, wallClock, yesterdayIn } from '../../src/domain/dates.ts';

describe('todayIn / yesterdayIn', () => {
  const lateUtc = new Date('2026-11-25T23:30:00Z');

  it.each([
    ['UTC', '2026-11-25', '2026-11-24'],
    ['Europe/Berlin', '2026-11-26', '2026-11-25'],
    ['America/Los_Angeles', '2026-11-25', '2026-11-24'],
    ['Pacific/Kiritimati', '2026-11-26', '2026-11-25'],
  ])('when it is 23:30 UTC, then in %s today is %s and yesterday %s', (tz, today, yesterday) => {
    expect(todayIn(tz, lateUtc)).toBe(today);
    expect(yesterdayIn(tz, lateUtc)).toBe(yesterday);
  });

  it('when the clocks just went forward (a 23-hour day), then yesterday is still the previous day', () => {
    // Berlin switched to summer time on 2026-03-29; 22:30Z is 00:30 on 03-30 local.
    expect(yesterdayIn('Europe/Berlin', new Date('2026-03-29T22:30:00Z'))).toBe('2026-03-29');
    // Berlin went back to winter time on 2026-10-25 (a 25-hour day).
    expect(yesterdayIn('Europe/Berlin', new Date('2026-10-25T23:30:00Z'))).toBe('2026-10-25');
  });

  it('when today is the first of a month or year, then yesterday is the last day before it', () => {
    expect(yesterdayIn('Europe/Berlin', new Date('2026-12-31T23:30:00Z'))).toBe('2026-12-31');
    expect(yesterdayIn('UTC', new Date('2028-03-01T08:00:00Z'))).toBe('2028-02-29');
    expect(yesterdayIn('UTC', new Date('2027-03-01T08:00:00Z'))).toBe('2027-02-28');
  });
});

describe('addDays', () => {
  it('when moving across months and years, then calendar days are counted', () => {
    expect(addDays('2026-11-30', 1)).toBe('2026-12-01');
    expect(addDays('2027-01-01', -1)).toBe('2026-12-31');
    expect(addDays('2026-11-24', 0)).toBe('2026-11-24');
  });

  it('when the date is not YYYY-MM-DD, then it is refused', () => {
    expect(() => addDays('2026-11-31', 1)).toThrow(RangeError);
    expect(() => addDays('24.11.2026', 1)).toThrow(RangeError);
  });
});

describe('isCalendarDate', () => {
  it.each(['2026-11-24', '2028-02-29', '2026-12-31'])('when %s, then true', (d) => {
    expect(isCalendarDate(d)).toBe(true);
  });

  it.each([
    '2026-02-29',
    '2026-11-31',
    '2026-13-01',
    '2026-00-10',
    '2026-1-5',
    '2026-11-24T00:00:00Z',
    'yesterday',
    '',
  ])('when %j, then false', (d) => {
    expect(isCalendarDate(d)).toBe(false);
  });
});

describe('defaultDigestDate: the last complete feed day (UTC), whatever DIGEST_TZ', () => {
  const utcDay = (ms: number) => new Date(ms).toISOString().slice(0, 10);
  const complete = (date: string, now: Date) => Date.parse(`${addDays(date, 1)}T00:00:00Z`) <= now.getTime();

  it.each([
    // 07:00 local, the default schedule, from UTC−10 to UTC+14.
    ['Pacific/Honolulu', '2026-11-25T17:00:00Z', '2026-11-24'],
    ['America/New_York', '2026-11-25T12:00:00Z', '2026-11-24'],
    ['UTC', '2026-11-25T07:00:00Z', '2026-11-24'],
    ['Europe/Berlin', '2026-11-25T06:00:00Z', '2026-11-24'],
    ['Asia/Kolkata', '2026-11-25T01:30:00Z', '2026-11-24'],
    // 07:00 on the 25th in Tokyo is 22:00 UTC on the 24th: the 24th is not over, the 23rd is.
    ['Asia/Tokyo', '2026-11-24T22:00:00Z', '2026-11-23'],
    ['Pacific/Auckland', '2026-11-24T18:00:00Z', '2026-11-23'],
    ['Pacific/Chatham', '2026-11-24T17:15:00Z', '2026-11-23'],
    // UTC+14: 07:00 on the 25th is 17:00 UTC on the 24th, so the 23rd: two local days back.
    ['Pacific/Kiritimati', '2026-11-24T17:00:00Z', '2026-11-23'],
  ])('when it is 07:00 in %s (%s), then the digest is of %s', (tz, at, expected) => {
    expect(defaultDigestDate(new Date(at), tz)).toBe(expected);
  });

  it('when the zone has no summer time, then it is the UTC day before now, at every time of day', () => {
    for (const tz of ['Pacific/Honolulu', 'UTC', 'Asia/Kolkata', 'Asia/Tokyo', 'Pacific/Kiritimati']) {
      for (let ms = Date.parse('2026-06-01T00:00:00Z'); ms < Date.parse('2026-06-03T00:00:00Z'); ms += 15 * 60_000) {
        expect(defaultDigestDate(new Date(ms), tz), `${tz} ${new Date(ms).toISOString()}`).toBe(
          utcDay(ms - 86_400_000),
        );
      }
    }
  });

  it('when the zone has summer time, then the day is always over, at most a day older, and moves one day per local day all year', () => {
    for (const tz of [
      'America/New_York',
      'Europe/Berlin',
      'Europe/London',
      'Australia/Sydney',
      'Pacific/Auckland',
      'Pacific/Chatham',
      'America/Sao_Paulo',
    ]) {
      for (const wall of ['00:30', '01:30', '02:30', '07:00', '23:30']) {
        let previous: string | undefined;
        for (let day = '2026-01-01'; day < '2027-01-01'; day = addDays(day, 1)) {
          const at = instantOf(day, wall, tz);
          if (!at) {
            previous = previous && addDays(previous, 1); // a wall time the clocks skipped
            continue;
          }
          const date = defaultDigestDate(at, tz);
          expect(complete(date, at), `${tz} ${day} ${wall}: ${date} not over`).toBe(true);
          expect(date >= utcDay(at.getTime() - 2 * 86_400_000), `${tz} ${day} ${wall}`).toBe(true);
          if (previous) expect(date, `${tz} ${day} ${wall}`).toBe(addDays(previous, 1));
          previous = date;
        }
      }
    }
  });

  it('when the digest runs at 01:30 in Berlin, then it is two days back all year (23:30 UTC in summer)', () => {
    expect(defaultDigestDate(new Date('2026-07-10T23:30:00Z'), 'Europe/Berlin')).toBe('2026-07-09');
    expect(defaultDigestDate(new Date('2026-01-11T00:30:00Z'), 'Europe/Berlin')).toBe('2026-01-09');
  });
});

/** The instant `wall` (HH:MM) on `day` in `tz`, or undefined when the clocks skip it. */
function instantOf(day: string, wall: string, tz: string): Date | undefined {
  const target = Date.parse(`${day}T${wall}:00Z`);
  // The offsets half a day either side cover both sides of a clock change; the earlier wins in a fold.
  const offsets = [target - 12 * 3600_000, target + 12 * 3600_000].map((ms) => wallClock(tz, new Date(ms)) - ms);
  const candidates = offsets.map((o) => target - o).sort((a, b) => a - b);
  const hit = candidates.find((ms) => wallClock(tz, new Date(ms)) === target);
  return hit === undefined ? undefined : new Date(hit);
}
