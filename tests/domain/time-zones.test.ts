import { describe, expect, it } from 'vitest';
import type { z } from 'zod';
import { canonicalTimeZone, RENAMED_ZONES, TIME_ZONES } from '../../src/domain/time-zones.ts';
import { preferencesSchema, subscribeSchema } from '../../src/domain/subscriber-input.ts';

const signUp = (fields: Record<string, unknown>) => subscribeSchema.safeParse({ email: 'ada@example.org', ...fields });

/** The first problem, with the field it is about, as the routes answer it. */
const firstProblem = (error: z.ZodError) => ({ field: error.issues[0]!.path[0], message: error.issues[0]!.message });

describe("a reader's time zone", () => {
  it('when a browser sends an old alias, then the zone is stored under its current IANA name', () => {
    expect(canonicalTimeZone('Asia/Calcutta')).toBe('Asia/Kolkata');
    expect(canonicalTimeZone('Asia/Kolkata')).toBe('Asia/Kolkata');
    expect(canonicalTimeZone('Europe/Kiev')).toBe('Europe/Kyiv');
    expect(canonicalTimeZone('US/Pacific')).toBe('America/Los_Angeles');
    expect(canonicalTimeZone('europe/berlin')).toBe('Europe/Berlin');
    expect(signUp({ timezone: 'Asia/Calcutta' }).data?.timezone).toBe('Asia/Kolkata');
  });

  it('when the zone is UTC under any of its names, then it is stored as UTC', () => {
    for (const name of ['UTC', 'Etc/UTC', 'Etc/GMT', 'GMT', 'utc']) expect(canonicalTimeZone(name), name).toBe('UTC');
  });

  it('when the list of zones is built, then it holds current names only, UTC included, sorted', () => {
    expect(TIME_ZONES).toContain('Asia/Kolkata');
    expect(TIME_ZONES).toContain('UTC');
    for (const old of Object.keys(RENAMED_ZONES)) expect(TIME_ZONES).not.toContain(old);
    expect([...TIME_ZONES].sort()).toEqual(TIME_ZONES);
    for (const zone of TIME_ZONES) expect(canonicalTimeZone(zone), zone).toBe(zone);
  });

  it('when the zone is unknown, then the error names the time zone field and the value', () => {
    for (const bad of ['Mars/Olympus_Mons', 'Berlin', 5, 'x'.repeat(300)]) {
      const result = signUp({ timezone: bad });
      expect(result.success).toBe(false);
      const error = firstProblem(result.error!);
      expect(error.field).toBe('timezone');
      expect(error.message).toMatch(/^Time zone must be a time zone name such as Europe\/Berlin/);
    }
    expect(firstProblem(signUp({ timezone: 'Mars/Olympus_Mons' }).error!).message).toContain(
      '(not "Mars/Olympus_Mons")',
    );
  });
});

describe("a reader's delivery hour", () => {
  it('when the form sends an hour from 05 to 11 as text, then it is that whole hour', () => {
    expect(signUp({ delivery_hour: '05' }).data?.delivery_hour).toBe(5);
    expect(signUp({ delivery_hour: 11 }).data?.delivery_hour).toBe(11);
  });

  it('when the hour is outside 5..11 or not a whole number, then the error names the delivery hour field', () => {
    for (const bad of ['4', '12', 7.5, 'seven', '-1']) {
      const result = signUp({ delivery_hour: bad });
      expect(result.success, String(bad)).toBe(false);
      expect(firstProblem(result.error!)).toEqual({
        field: 'delivery_hour',
        message: 'Delivery hour must be a whole hour from 5 to 11.',
      });
    }
  });
});

describe('zone and hour left empty', () => {
  it('when a sign-up leaves both empty or out, then both are unset (null or absent)', () => {
    expect(signUp({ timezone: '', delivery_hour: '' }).data).toMatchObject({ timezone: null, delivery_hour: null });
    expect(signUp({ timezone: null, delivery_hour: null }).data).toMatchObject({ timezone: null, delivery_hour: null });
    expect(signUp({}).data).not.toHaveProperty('timezone');
  });

  it('when the preferences form sends both empty, then both go back to unset; left out, they are kept', () => {
    expect(preferencesSchema.parse({ timezone: '', delivery_hour: '' })).toEqual({
      timezone: null,
      delivery_hour: null,
    });
    expect(preferencesSchema.parse({})).toEqual({});
  });
});
