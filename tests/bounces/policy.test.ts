import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { applyBounceEvent, softBounceStreak, type BounceEvent } from '../../src/bounces/policy.ts';
import { createSubscriberAdminStore } from '../../src/db/subscriber-admin-store.ts';
import { createBounceTest, type BounceTest } from './support.ts';

let t: BounceTest;
beforeEach(() => {
  t = createBounceTest();
});
afterEach(() => t.ctx.close());

const event = (e: Partial<BounceEvent> & Pick<BounceEvent, 'recipient' | 'kind'>): BounceEvent => ({
  reason:
    e.kind === 'hard'
      ? 'userunknown'
      : e.kind === 'soft'
        ? 'mailbox-full'
        : e.kind === 'complaint'
          ? 'feedback'
          : 'vacation',
  source: 'import:test.eml',
  reportKey: `key-${Math.random()}`,
  verified: true,
  ...e,
});
const listed = () =>
  [...createSubscriberAdminStore(t.ctx.db).list({ confirmedOnly: false })].map((s) => `${s.email} ${s.status}`);

describe('applyBounceEvent', () => {
  it('when a hard bounce arrives, then the subscriber is suppressed at once, with status, diagnostic and source kept', () => {
    const [ada, bob] = t.subscribe('ada@example.org', 'bob@example.org');
    const applied = applyBounceEvent(
      t.deps(),
      event({
        recipient: 'ADA@example.org',
        kind: 'hard',
        status: '5.1.1',
        diagnostic: '550 5.1.1 User unknown',
        digestDate: '2026-11-24',
      }),
    );
    expect(applied).toMatchObject({
      effect: 'suppressed',
      subscriber: { id: ada, email: 'ada@example.org' },
      digestDate: '2026-11-24',
    });
    expect(listed()).toEqual(['ada@example.org suppressed', 'bob@example.org confirmed']);
    expect(t.events()).toEqual([
      expect.objectContaining({
        subscriber_id: ada,
        kind: 'hard',
        status: '5.1.1',
        diagnostic: '550 5.1.1 User unknown',
        source: 'import:test.eml',
        reason: 'userunknown',
        digest_date: '2026-11-24',
      }),
    ]);
    expect(t.ctx.suppressions.reasonFor('ada@example.org')?.reason).toBe(
      'hard bounce: 5.1.1 userunknown (import:test.eml)',
    );
    expect(t.status(bob!)).toBe('confirmed');
  });

  it('when a confirmation email bounces hard, then the pending subscriber is suppressed too; an unsubscribe stays an unsubscribe', () => {
    const [ada, bob] = t.subscribe('ada@example.org', 'bob@example.org');
    t.ctx.db.prepare("UPDATE subscribers SET status = 'pending' WHERE id = ?").run(ada);
    t.ctx.subscribers.unsubscribe(bob!, t.clock.now().toISOString());
    expect(
      applyBounceEvent(t.deps(), event({ subscriberId: ada!, recipient: 'ada@example.org', kind: 'hard' })).effect,
    ).toBe('suppressed');
    expect(applyBounceEvent(t.deps(), event({ recipient: 'bob@example.org', kind: 'hard' })).effect).toBe('unchanged');
    expect([t.status(ada!), t.status(bob!)]).toEqual(['suppressed', 'unsubscribed']);
    // Still kept from imports: the address does not exist.
    expect(t.ctx.suppressions.reasonFor('bob@example.org')).toBeDefined();
  });

  it('when a complaint arrives, then the subscriber is unsubscribed at once and the complaint recorded', () => {
    const [ada] = t.subscribe('ada@example.org');
    expect(applyBounceEvent(t.deps(), event({ recipient: 'ada@example.org', kind: 'complaint' })).effect).toBe(
      'unsubscribed',
    );
    expect(t.status(ada!)).toBe('unsubscribed');
    expect(t.events()[0]).toMatchObject({ kind: 'complaint', subscriber_id: ada });
    expect(t.ctx.suppressions.reasonFor('ada@example.org')?.reason).toMatch(/^complaint/);
  });

  it('when an auto-reply arrives, then it is recorded and nothing changes', () => {
    const [ada] = t.subscribe('ada@example.org');
    expect(applyBounceEvent(t.deps(), event({ recipient: 'ada@example.org', kind: 'ignore' })).effect).toBe(
      'unchanged',
    );
    expect(t.status(ada!)).toBe('confirmed');
    expect(t.events()).toHaveLength(1);
    expect(t.ctx.suppressions.reasonFor('ada@example.org')).toBeUndefined();
  });

  it('when the same report is applied twice, then the second time changes nothing and records nothing', () => {
    const [ada] = t.subscribe('ada@example.org');
    const e = event({ recipient: 'ada@example.org', kind: 'soft', digestDate: '2026-11-24' });
    expect(applyBounceEvent(t.deps(), e).effect).toBe('counted');
    expect(applyBounceEvent(t.deps(), e).effect).toBe('repeat');
    expect(t.events()).toHaveLength(1);
    expect(t.status(ada!)).toBe('confirmed');
  });

  it('when the address is on nobody, then the event is kept for the record and names no one', () => {
    t.subscribe('ada@example.org');
    expect(applyBounceEvent(t.deps(), event({ recipient: 'stranger@example.org', kind: 'hard' })).effect).toBe(
      'nobody',
    );
    expect(t.events()[0]).toMatchObject({ subscriber_id: null, kind: 'hard' });
    expect(t.ctx.suppressions.reasonFor('stranger@example.org')).toBeUndefined();
  });
});

describe('the soft-bounce rule (BOUNCE_SOFT_LIMIT digests in a row within 30 days)', () => {
  const soft = (email: string, date: string) =>
    applyBounceEvent(
      t.deps(),
      event({ recipient: email, kind: 'soft', digestDate: date, reportKey: `${email}-${date}` }),
    );

  it('when three digests in a row bounce softly, then the third suppresses', () => {
    const [ada] = t.subscribe('ada@example.org');
    t.sentRun('2026-11-21', [ada!]);
    expect(soft('ada@example.org', '2026-11-21')).toMatchObject({ effect: 'counted', softStreak: 1 });
    t.sentRun('2026-11-22', [ada!]);
    expect(soft('ada@example.org', '2026-11-22')).toMatchObject({ effect: 'counted', softStreak: 2 });
    expect(t.status(ada!)).toBe('confirmed');
    t.sentRun('2026-11-23', [ada!]);
    expect(soft('ada@example.org', '2026-11-23')).toMatchObject({ effect: 'suppressed', softStreak: 3 });
    expect(t.status(ada!)).toBe('suppressed');
    expect(t.ctx.suppressions.reasonFor('ada@example.org')?.reason).toMatch(/^soft bounces on 3 digests in a row/);
  });

  it('when the reports arrive late, after newer digests went out, then the last one of the streak to arrive suppresses', () => {
    const [ada] = t.subscribe('ada@example.org');
    for (const d of ['2026-11-21', '2026-11-22', '2026-11-23']) t.sentRun(d, [ada!]);
    // The newest digest has not bounced (yet): it may have been delivered.
    expect(soft('ada@example.org', '2026-11-21')).toMatchObject({ effect: 'counted', softStreak: 0 });
    expect(soft('ada@example.org', '2026-11-23')).toMatchObject({ effect: 'counted', softStreak: 1 });
    expect(soft('ada@example.org', '2026-11-22')).toMatchObject({ effect: 'suppressed', softStreak: 3 });
  });

  it('when a digest in between went out and did not bounce, then the count starts again', () => {
    const [ada] = t.subscribe('ada@example.org');
    for (const d of ['2026-11-20', '2026-11-21', '2026-11-22', '2026-11-23']) t.sentRun(d, [ada!]);
    soft('ada@example.org', '2026-11-20');
    soft('ada@example.org', '2026-11-21');
    // 2026-11-22 was delivered: no bounce for it.
    expect(soft('ada@example.org', '2026-11-23')).toMatchObject({ effect: 'counted', softStreak: 1 });
    expect(t.status(ada!)).toBe('confirmed');
  });

  it('when several reports concern the same digest, then that digest counts once', () => {
    const [ada] = t.subscribe('ada@example.org');
    t.sentRun('2026-11-23', [ada!]);
    for (const n of [1, 2, 3, 4])
      applyBounceEvent(
        t.deps(),
        event({ recipient: 'ada@example.org', kind: 'soft', digestDate: '2026-11-23', reportKey: `delay-${n}` }),
      );
    expect(t.status(ada!)).toBe('confirmed');
    expect(t.events()).toHaveLength(4);
  });

  it('when the bounced digests are older than 30 days, then they no longer count', () => {
    const [ada] = t.subscribe('ada@example.org');
    for (const d of ['2026-10-20', '2026-10-21', '2026-11-24']) t.sentRun(d, [ada!]);
    soft('ada@example.org', '2026-10-20');
    soft('ada@example.org', '2026-10-21');
    expect(soft('ada@example.org', '2026-11-24')).toMatchObject({ effect: 'counted', softStreak: 1 });
  });

  it('when a soft report names no digest, then it is about the last digest the subscriber was sent', () => {
    const [ada] = t.subscribe('ada@example.org');
    t.sentRun('2026-11-22', [ada!]);
    t.sentRun('2026-11-23', [ada!]);
    expect(applyBounceEvent(t.deps(), event({ recipient: 'ada@example.org', kind: 'soft' })).digestDate).toBe(
      '2026-11-23',
    );
  });

  it('when BOUNCE_SOFT_LIMIT is 2, then the second digest in a row suppresses', () => {
    t.ctx.close();
    t = createBounceTest({ BOUNCE_SOFT_LIMIT: '2' });
    const [ada] = t.subscribe('ada@example.org');
    for (const d of ['2026-11-22', '2026-11-23']) t.sentRun(d, [ada!]);
    soft('ada@example.org', '2026-11-22');
    expect(soft('ada@example.org', '2026-11-23').effect).toBe('suppressed');
  });
});

describe('refusals about the sender, delays, and soft bounces not about the mailbox', () => {
  const dates = ['2026-11-21', '2026-11-22', '2026-11-23', '2026-11-24'];
  const on = (email: string, date: string, e: Pick<BounceEvent, 'kind' | 'reason'>) =>
    applyBounceEvent(t.deps(), event({ recipient: email, digestDate: date, reportKey: `${email}-${date}`, ...e }));

  it('when every digest is refused as spam, then the reader stays, and each refusal is kept with the receiving domain', () => {
    const [ada] = t.subscribe('ada@Example.ORG');
    for (const d of dates) {
      t.sentRun(d, [ada!]);
      expect(on('ada@Example.ORG', d, { kind: 'sender', reason: 'spam' }).effect).toBe('recorded');
    }
    expect(t.status(ada!)).toBe('confirmed');
    expect(t.ctx.suppressions.reasonFor('ada@example.org')).toBeUndefined();
    expect(t.ctx.db.prepare('SELECT kind, domain FROM bounce_events').all()).toEqual(
      dates.map(() => ({ kind: 'sender', domain: 'example.org' })),
    );
  });

  it('when delay warnings come for every digest, then they are recorded and never counted', () => {
    const [ada] = t.subscribe('ada@example.org');
    for (const d of dates) {
      t.sentRun(d, [ada!]);
      expect(on('ada@example.org', d, { kind: 'delayed', reason: 'delayed' }).effect).toBe('recorded');
    }
    expect(t.status(ada!)).toBe('confirmed');
  });

  it('when soft bounces are not about the mailbox (expired, network), then they are recorded and never counted', () => {
    const [ada] = t.subscribe('ada@example.org');
    for (const [i, d] of dates.entries()) {
      t.sentRun(d, [ada!]);
      const reason = i % 2 ? 'expired' : 'network-error';
      expect(on('ada@example.org', d, { kind: 'soft', reason }).effect).toBe('recorded');
    }
    expect(t.status(ada!)).toBe('confirmed');
  });

  it('when refusals about the sender come between soft bounces about the mailbox, then they neither count nor break the row', () => {
    const [ada] = t.subscribe('ada@example.org');
    const plan: Pick<BounceEvent, 'kind' | 'reason'>[] = [
      { kind: 'soft', reason: 'mailbox-full' },
      { kind: 'soft', reason: 'suspended' },
      { kind: 'sender', reason: 'blocked' },
      { kind: 'soft', reason: 'greylisted' },
    ];
    const effects = plan.map((e, i) => {
      // The refused digest was never handed over: a refusal at RCPT leaves a failed delivery, not a sent one.
      if (e.kind !== 'sender') t.sentRun(dates[i]!, [ada!]);
      return on('ada@example.org', dates[i]!, e);
    });
    expect(effects.map((a) => [a.effect, a.softStreak])).toEqual([
      ['counted', 1],
      ['counted', 2],
      ['recorded', undefined],
      ['suppressed', 3],
    ]);
  });
});

describe('softBounceStreak', () => {
  it.each([
    [[], [], 0],
    [['2026-11-01', '2026-11-02', '2026-11-03'], ['2026-11-01', '2026-11-02', '2026-11-03'], 3],
    // The newest digest went out and has not bounced: a delivery, so no streak.
    [['2026-11-01', '2026-11-02', '2026-11-03'], ['2026-11-01', '2026-11-02'], 0],
    [['2026-11-01', '2026-11-02', '2026-11-03'], ['2026-11-01', '2026-11-03'], 1],
    // A bounce for a day the ledger does not list still counts as that day's.
    [['2026-11-01'], ['2026-11-01', '2026-11-02'], 2],
  ])('sent %j, soft-bounced %j → %i', (sent, bounced, expected) => {
    expect(softBounceStreak(sent, bounced)).toBe(expected);
  });
});
