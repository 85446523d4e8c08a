import { describe, expect, it } from 'vitest';
import { addDays, todayIn } from '../../src/domain/dates.ts';
import {
  dueSlices,
  effectiveGroups,
  groupSendBy,
  instantOfWall,
  NO_ZONE,
  planOfDay,
  sendOnDay,
  type RunState,
} from '../../src/jobs/local-morning.ts';
import { morningOf } from '../../src/jobs/scheduler.ts';

const ZONES = [
  'America/New_York',
  'Europe/Berlin',
  'Australia/Sydney',
  'Asia/Kolkata',
  'Pacific/Chatham',
  'Pacific/Kiritimati',
  'Pacific/Honolulu',
  'Asia/Kathmandu',
  'Australia/Lord_Howe',
];

describe('a fake clock walks a year in nine zones: each reader gets exactly one digest per local day, none skipped', () => {
  it(
    'when each zone has readers at its own hour (05:00 … 11:00) and the others at DIGEST_CRON in DIGEST_TZ, then each group gets each day once, in order',
    { timeout: 600_000 },
    () => {
      const morning = morningOf(
        { DIGEST_CRON: '30 2 * * *', DIGEST_TZ: 'America/New_York', WEEKLY_DAY: 'monday' },
        'daily',
      );
      const stored = [
        ...ZONES.map((z, i) => ({ timeZone: z, hour: 5 + (i % 7), readers: 1 })),
        { timeZone: null, hour: null, readers: 1 },
      ];
      const groups = effectiveGroups(stored, 7);
      const runs = new Map<string, RunState>();
      const sent = new Map<string, { localDay: string; date: string }[]>();
      const sentOf = new Set<string>();
      // The days before the walk were sent: it starts in a steady state, not in a catch-up.
      const before: RunState = { status: 'done', startedAt: '2026-01-02T00:00:00.000Z' };
      const runOf = (date: string) => runs.get(date) ?? (date < '2026-01-01' ? before : undefined);
      const start = Date.parse('2026-01-01T00:00:00Z');
      // Every 15 minutes: each zone's hour:00 falls on a quarter hour of UTC (Kathmandu +05:45, Chatham +12:45).
      for (let ms = start; ms < start + 365 * 86_400_000; ms += 15 * 60_000) {
        const now = new Date(ms);
        for (const slice of dueSlices(now, morning, groups, runOf)) {
          for (const key of slice.groups ?? groups.flatMap((g) => g.storedKeys)) {
            if (sentOf.has(`${slice.date}#${key}`)) continue; // the ledger's row: nobody twice in a run
            sentOf.add(`${slice.date}#${key}`);
            const zone = key === NO_ZONE ? morning.timeZone : key.split('|')[0]!;
            sent.set(key, [...(sent.get(key) ?? []), { localDay: todayIn(zone, now), date: slice.date }]);
          }
          runs.set(slice.date, { status: 'done', startedAt: slice.at.toISOString() });
        }
      }
      expect(sent.size).toBe(groups.length);
      for (const [key, sends] of sent) {
        expect(sends.length, key).toBeGreaterThanOrEqual(364);
        for (let i = 1; i < sends.length; i++) {
          expect(sends[i]!.localDay, `${key} ${JSON.stringify(sends[i])}`).toBe(addDays(sends[i - 1]!.localDay, 1));
          expect(sends[i]!.date, `${key} ${JSON.stringify(sends[i])}`).toBe(addDays(sends[i - 1]!.date, 1));
        }
      }
    },
  );
});

describe('each reader’s morning', () => {
  const daily = morningOf({ DIGEST_CRON: '0 7 * * *', DIGEST_TZ: 'Europe/Berlin', WEEKLY_DAY: 'monday' }, 'daily');

  it('when it is 07:00 in Tokyo and 07:00 in New York on the same date, then they send different digest days', () => {
    expect(sendOnDay(daily, 'Asia/Tokyo', 7, '2026-11-25')).toEqual({
      date: '2026-11-23',
      at: new Date('2026-11-24T22:00:00Z'),
    });
    expect(sendOnDay(daily, 'America/New_York', 7, '2026-11-25')).toEqual({
      date: '2026-11-24',
      at: new Date('2026-11-25T12:00:00Z'),
    });
  });

  it('when DIGEST_CRON’s day fields leave a day out, then no zone sends that day', () => {
    const weekdays = morningOf({ DIGEST_CRON: '0 7 * * 1-5', DIGEST_TZ: 'UTC', WEEKLY_DAY: 'monday' }, 'daily');
    expect(sendOnDay(weekdays, 'Asia/Tokyo', 8, '2026-11-28')).toBeNull(); // a Saturday
    expect(sendOnDay(weekdays, 'Asia/Tokyo', 8, '2026-11-27')?.date).toBe('2026-11-25');
  });

  it('when the local time is skipped by the clocks, then it happens at the first instant after the gap; when repeated, at the first', () => {
    const wall = (s: string) => Date.parse(`${s}Z`);
    expect(instantOfWall(wall('2026-03-08T02:30'), 'America/New_York')).toEqual(new Date('2026-03-08T07:00:00Z'));
    expect(instantOfWall(wall('2026-11-01T01:30'), 'America/New_York')).toEqual(new Date('2026-11-01T05:30:00Z'));
    expect(instantOfWall(wall('2026-10-04T02:15'), 'Australia/Lord_Howe')).toEqual(new Date('2026-10-03T15:30:00Z'));
  });

  it('when WEEKLY_DAY comes in a far-east zone before the Sunday is over in UTC, then it sends the week before, which is complete', () => {
    const weekly = morningOf({ DIGEST_CRON: '0 7 * * *', DIGEST_TZ: 'UTC', WEEKLY_DAY: 'monday' }, 'weekly');
    expect(sendOnDay(weekly, 'Asia/Tokyo', 7, '2026-11-30')?.date).toBe('2026-11-22');
    expect(sendOnDay(weekly, 'Europe/Berlin', 7, '2026-11-30')?.date).toBe('2026-11-29');
    expect(sendOnDay(weekly, 'Europe/Berlin', 7, '2026-12-01')).toBeNull();
    // Still owed on the Wednesday when the service was down on Monday.
    expect(groupSendBy(new Date('2026-12-02T10:00:00Z'), weekly, 'Europe/Berlin|7')?.date).toBe('2026-11-29');
  });

  it('when a slice is done, then the next is owed once its hour comes; a paused or empty run owes nothing', () => {
    const groups = effectiveGroups(
      [
        { timeZone: 'Asia/Tokyo', hour: null, readers: 2 },
        { timeZone: 'Asia/Tokyo', hour: 7, readers: 1 },
        { timeZone: 'America/New_York', hour: 7, readers: 1 },
      ],
      7,
    );
    expect(groups.find((g) => g.key === 'Asia/Tokyo|7')?.storedKeys).toEqual(['Asia/Tokyo|', 'Asia/Tokyo|7']);
    const at = new Date('2026-11-25T13:00:00Z'); // 08:00 in New York; 07:00 in Berlin (no zone) has passed
    const owed = (run?: RunState) => dueSlices(at, daily, groups, (d) => (d === '2026-11-24' ? run : undefined));
    expect(owed()).toEqual([
      { date: '2026-11-23', at: new Date('2026-11-24T22:00:00Z'), groups: null }, // the run's last slice: everyone
      { date: '2026-11-24', at: new Date('2026-11-25T06:00:00Z'), groups: [NO_ZONE] },
    ]);
    expect(owed({ status: 'done', startedAt: '2026-11-25T06:00:00.000Z' })[1]).toEqual({
      date: '2026-11-24',
      at: new Date('2026-11-25T12:00:00Z'),
      groups: ['America/New_York|7', NO_ZONE],
    });
    expect(owed({ status: 'done', startedAt: '2026-11-25T12:00:00.000Z' })).toHaveLength(1);
    expect(owed({ status: 'failed', startedAt: '2026-11-25T06:00:00.000Z' })[1]?.groups).toEqual([NO_ZONE]);
    for (const status of ['paused', 'empty'] as const)
      expect(owed({ status, startedAt: '2026-11-25T06:00:00.000Z' })).toHaveLength(1);
  });

  it('when the plan of a day is asked, then each (zone, local time) is a row, readers with no zone under DIGEST_TZ, by instant', () => {
    const stored = [
      { timeZone: 'Asia/Tokyo', hour: 7, readers: 2 },
      { timeZone: 'Europe/Berlin', hour: 7, readers: 1 },
      { timeZone: null, hour: null, readers: 3 },
    ];
    expect(
      planOfDay(daily, effectiveGroups(stored, 7), '2026-11-25', false).map((r) => [
        r.timeZone,
        r.at.toISOString(),
        r.date,
        r.readers,
      ]),
    ).toEqual([
      ['Asia/Tokyo', '2026-11-24T22:00:00.000Z', '2026-11-23', 2],
      ['Europe/Berlin', '2026-11-25T06:00:00.000Z', '2026-11-24', 4],
    ]);
    expect(planOfDay(daily, effectiveGroups(stored, 7), '2026-11-25', true).map((r) => r.readers)).toEqual([6]);
  });
});
