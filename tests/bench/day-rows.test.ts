import { describe, expect, it } from 'vitest';
import type { DayResult } from '../../bench/day.ts';
import { plan } from '../../bench/plan.ts';
import { dayRows } from '../../bench/rows-day.ts';

const slice = (hour: string, readers: number, lagS: number) => ({
  date: 'daily 2026-11-24',
  hour,
  readers,
  lagS,
  sendS: lagS,
});

const day = (o: Partial<DayResult> = {}): DayResult => ({
  readers: 1000,
  zones: 3,
  slices: [slice('2026-11-25T06:00', 400, 2), slice('2026-11-25T07:00', 300, 1), slice('2026-11-25T08:00', 300, 1.5)],
  perMinute: [
    [1, 400],
    [2, 300],
    [3, 300],
  ],
  recipients: 1000,
  distinctRecipients: 1000,
  ...o,
});

const once = (d: DayResult) => dayRows(d, null).find((r) => r.figure === 'every reader once')!.result;

describe('bench: the day replay rows', () => {
  it('when every reader got one message, then the day passes; when one got none or two, then it fails', () => {
    expect(once(day())).toBe('pass');
    expect(once(day({ recipients: 999, distinctRecipients: 999 }))).toBe('FAIL');
    expect(once(day({ recipients: 1001, distinctRecipients: 1000 }))).toBe('FAIL');
  });

  it('when a smaller slice waits longer than the largest, then the day fails', () => {
    const slower = day({ slices: [slice('2026-11-25T06:00', 400, 2), slice('2026-11-25T23:00', 300, 2.5)] });
    const row = (d: DayResult) => dayRows(d, null).find((r) => r.figure === 'max lag over the other slices')!;
    expect(row(day()).result).toBe('pass');
    expect(row(slower).result).toBe('FAIL');
  });

  it('when the section is asked for with --only day, then only the day runs, with fewer readers in --quick', () => {
    const quick = plan(['--quick', '--only', 'day']);
    const full = plan(['--only', 'day']);
    expect(quick).toMatchObject({ sections: ['day'], dayReaders: 10_000 });
    expect(full).toMatchObject({ sections: ['day'], dayReaders: 100_000 });
  });
});
