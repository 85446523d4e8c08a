import { describe, expect, it } from 'vitest';
import { addDays, isCalendarDate, todayIn, yesterdayIn } from '../../src/domain/dates.ts';

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

  it.each(['2026-02-29', '2026-11-31', '2026-13-01', '2026-00-10', '2026-1-5', '2026-11-24T00:00:00Z', 'yesterday', ''])(
    'when %j, then false',
    (d) => {
      expect(isCalendarDate(d)).toBe(false);
    },
  );
});
