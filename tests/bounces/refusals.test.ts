import { afterEach, describe, expect, it } from 'vitest';
import { applyBounceEvent } from '../../src/bounces/policy.ts';
import { describeSenderRefusals, refusedReaders, refusedThroughout } from '../../src/bounces/refusals.ts';
import type { DayEvent } from '../../src/bounces/events-store.ts';
import { addDays } from '../../src/domain/dates.ts';
import { runScript } from '../support/cli.ts';
import { createBounceTest, type BounceTest } from './support.ts';

const TODAY = '2026-11-25';
/** Every weekday digest from `from` to `to`, as the daily job sends them. */
const weekdays = (from: string, to: string) => {
  const days: string[] = [];
  for (let d = from; d <= to; d = addDays(d, 1))
    if (![0, 6].includes(new Date(`${d}T00:00:00Z`).getUTCDay())) days.push(d);
  return days;
};
const refused = (days: string[], reason = 'spam'): DayEvent[] => days.map((day) => ({ day, kind: 'sender', reason }));

describe('refusedThroughout: refused for one sender-side reason on every digest for 30 days', () => {
  it('when every digest of the last 30 days and more was refused as spam, then the row is told with its start', () => {
    const days = weekdays('2026-10-20', '2026-11-24');
    expect(refusedThroughout(refused(days), days, TODAY)).toEqual({
      reason: 'spam',
      since: '2026-10-20',
      digests: days.length,
    });
  });

  it('when the refusals go back less than 30 days, then nobody is listed yet', () => {
    const days = weekdays('2026-10-27', '2026-11-24');
    expect(refusedThroughout(refused(days), days, TODAY)).toBeNull();
  });

  it('when a digest in between was delivered, then the row starts after it', () => {
    const days = weekdays('2026-10-01', '2026-11-24');
    const events = refused(days.filter((d) => d !== '2026-11-02'));
    expect(refusedThroughout(events, days, TODAY)).toBeNull();
  });

  it('when the reasons differ, or the latest digest got through, then nobody is listed', () => {
    const days = weekdays('2026-10-01', '2026-11-24');
    const mixed = refused(days).map((e) => (e.day === '2026-11-10' ? { ...e, reason: 'blocked' } : e));
    expect(refusedThroughout(mixed, days, TODAY)).toBeNull();
    expect(refusedThroughout(refused(days.slice(0, -1)), days, TODAY)).toBeNull();
  });

  it('when delay warnings and auto-replies come too, then they neither break nor make the row; another bounce breaks it', () => {
    const days = weekdays('2026-10-01', '2026-11-24');
    const events = [...refused(days), { day: '2026-11-10', kind: 'delayed' as const, reason: 'delayed' }];
    expect(refusedThroughout(events, days, TODAY)).toMatchObject({ reason: 'spam', since: '2026-10-01' });
    // A digest the relay refused at RCPT was never sent: the refusal alone names the day.
    expect(refusedThroughout(refused(days), [], TODAY)).toMatchObject({ since: '2026-10-01' });
    const bounced: DayEvent[] = [
      ...refused(days.filter((d) => d !== '2026-11-10')),
      { day: '2026-11-10', kind: 'soft', reason: 'mailbox-full' },
    ];
    expect(refusedThroughout(bounced, days, TODAY)).toBeNull();
  });

  it('when a weekly reader was refused every Sunday for five weeks, then they are listed', () => {
    const sundays = ['2026-10-18', '2026-10-25', '2026-11-01', '2026-11-08', '2026-11-15', '2026-11-22'];
    expect(refusedThroughout(refused(sundays, 'blocked'), sundays, '2026-11-23')).toEqual({
      reason: 'blocked',
      since: '2026-10-18',
      digests: 6,
    });
  });
});

describe('describeSenderRefusals', () => {
  it('when a domain refused digests as spam, then the line says plainly that it is the sending domain, not the readers', () => {
    expect(
      describeSenderRefusals([
        { domain: 'yahoo.com', reason: 'rate-limited', refusals: 4 },
        { domain: 'gmail.com', reason: 'spam', refusals: 312 },
        { domain: 'corp.example', reason: 'authentication', refusals: 1 },
      ]),
    ).toEqual([
      "gmail.com refused 312 digests as spam: this is the sending domain's reputation, not your readers",
      'yahoo.com refused 4 digests for sending too fast: this is the sending rate, not your readers',
      "corp.example refused 1 digest for failed authentication (SPF, DKIM, DMARC): this is the sending domain's DNS and signing setup, not your readers",
    ]);
  });
});

describe('the readers refused on every digest, as bounces stats lists them', () => {
  let t: BounceTest | undefined;
  afterEach(() => t?.ctx.close());

  const refuse = (t: BounceTest, email: string, date: string, reason = 'spam') =>
    applyBounceEvent(t.deps(), {
      recipient: email,
      kind: 'sender',
      reason,
      source: 'smtp:send',
      digestDate: date,
      reportKey: `smtp:send:${email}:${date}`,
      verified: true,
    });

  it('when one reader was refused on every digest for 30 days, then only they are listed; readers off the list are not', () => {
    t = createBounceTest();
    const [ada, bob, cy] = t.subscribe('ada@corp.example', 'bob@corp.example', 'cy@corp.example');
    for (const d of weekdays('2026-10-20', '2026-11-24')) {
      t.sentRun(d, [bob!, cy!]);
      refuse(t, 'ada@corp.example', d);
      if (d >= '2026-11-10') refuse(t, 'bob@corp.example', d);
      refuse(t, 'cy@corp.example', d);
    }
    t.ctx.subscribers.unsubscribe(cy!, TODAY);
    expect(refusedReaders(t.ctx.bounces, TODAY)).toEqual([
      { email: 'ada@corp.example', domain: 'corp.example', reason: 'spam', since: '2026-10-20', digests: 26 },
    ]);
    expect(t.status(ada!)).toBe('confirmed');
  });

  it('when bounces stats runs, then it shows the refusals per receiving domain and the readers to judge', async () => {
    t = createBounceTest();
    const today = new Date().toISOString().slice(0, 10);
    const [ada] = t.subscribe('ada@corp.example', 'bob@gmail.com');
    const days = Array.from({ length: 32 }, (_, i) => addDays(today, i - 32));
    for (const d of days) refuse(t, 'ada@corp.example', d, 'blocked');
    refuse(t, 'bob@gmail.com', days[31]!);
    const r = await runScript('bounces', ['stats'], {
      DATABASE_PATH: t.ctx.config.DATABASE_PATH,
      SECRET: t.ctx.secret,
    });
    expect(r.code, r.stderr).toBe(0);
    const sections = r.stdout.trim().split('\n\n');
    expect(sections[0]!.split('\n')[0]).toBe(
      'run\tsent\thard\tsoft\tcomplaints\thard_rate\tsoft_rate\tcomplaint_rate\talarm\tfailed\tsender',
    );
    expect(sections[1]!.split('\n')).toEqual([
      'refused_by\treason\trefusals\treaders\tlast_digest',
      `corp.example\tblocked\t32\t1\t${days[31]}`,
      `gmail.com\tspam\t1\t1\t${days[31]}`,
    ]);
    expect(sections[2]!.split('\n')).toEqual([
      'refused_reader\tdomain\treason\tdigests\tsince',
      `ada@corp.example\tcorp.example\tblocked\t32\t${days[0]}`,
    ]);
    expect(t.status(ada!)).toBe('confirmed');
  });
});
