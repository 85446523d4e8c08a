import { afterEach, describe, expect, it } from 'vitest';
import { applyBounceEvent, type BounceEvent } from '../../src/bounces/policy.ts';
import { unsuppress } from '../../src/bounces/unsuppress.ts';
import { Conflict, NotFound } from '../../src/errors.ts';
import { runInProcess, runScript } from '../support/cli.ts';
import { cli } from '../../scripts/subscribers.ts';
import { createBounceTest, type BounceTest } from './support.ts';

let t: BounceTest | undefined;
afterEach(() => t?.ctx.close());

const soft = (t: BounceTest, email: string, date: string) =>
  applyBounceEvent(t.deps(), {
    recipient: email,
    kind: 'soft',
    reason: 'mailbox-full',
    status: '4.2.2',
    source: 'imap:INBOX',
    digestDate: date,
    reportKey: `${email}-${date}`,
    verified: true,
  });
const event = (t: BounceTest, e: Pick<BounceEvent, 'recipient' | 'kind' | 'reason'>) =>
  applyBounceEvent(t.deps(), {
    source: 'smtp:send',
    digestDate: '2026-11-24',
    reportKey: `k-${Math.random()}`,
    verified: true,
    ...e,
  });
const deps = (t: BounceTest) => ({ ...t.deps(), bounces: t.ctx.bounces });

describe('unsuppress: an operator undoes a wrong suppression by bounces', () => {
  it('when a reader was suppressed by soft bounces, then they are confirmed again, off the suppression list, and their soft bounces count afresh', () => {
    t = createBounceTest();
    const [ada] = t.subscribe('ada@example.org');
    for (const d of ['2026-11-20', '2026-11-21', '2026-11-23']) {
      t.sentRun(d, [ada!]);
      soft(t, 'ada@example.org', d);
    }
    expect(t.status(ada!)).toBe('suppressed');
    expect(t.ctx.suppressions.reasonFor('ada@example.org')).toBeDefined();

    expect(unsuppress(deps(t), 'ADA@example.org ')).toEqual({
      subscriberId: ada,
      email: 'ada@example.org',
      status: 'confirmed',
      was: expect.stringMatching(/^soft bounces on 3 digests in a row/),
      countedFrom: '2026-11-25',
    });
    expect(t.status(ada!)).toBe('confirmed');
    expect(t.ctx.suppressions.reasonFor('ada@example.org')).toBeUndefined();
    // A late report about an old digest, and the next digest's bounce: the row starts over.
    expect(soft(t, 'ada@example.org', '2026-11-24')).toMatchObject({ effect: 'counted', softStreak: 0 });
    t.sentRun('2026-11-25', [ada!]);
    expect(soft(t, 'ada@example.org', '2026-11-25')).toMatchObject({ effect: 'counted', softStreak: 1 });
    expect(t.status(ada!)).toBe('confirmed');
  });

  it('when the reader had never confirmed (their confirmation bounced), then they are pending again, not confirmed', () => {
    t = createBounceTest();
    const [ada] = t.subscribe('ada@example.org');
    t.ctx.db.prepare("UPDATE subscribers SET status = 'pending', confirmed_at = NULL WHERE id = ?").run(ada);
    event(t, { recipient: 'ada@example.org', kind: 'hard', reason: 'user-unknown' });
    expect(unsuppress(deps(t), 'ada@example.org').status).toBe('pending');
  });

  it('when the reader complained, unsubscribed, is not suppressed or not on the list, then nothing changes and it says why', () => {
    t = createBounceTest();
    const [ada, bob, cy] = t.subscribe('ada@example.org', 'bob@example.org', 'cy@example.org');
    event(t, { recipient: 'ada@example.org', kind: 'complaint', reason: 'feedback' });
    t.ctx.subscribers.unsubscribe(bob!, '2026-11-25T09:00:00.000Z');
    const refused = (address: string) => {
      try {
        unsuppress(deps(t!), address);
      } catch (err) {
        return err;
      }
      return null;
    };
    expect(refused('ada@example.org')).toEqual(
      new Conflict('ada@example.org reported a digest as spam: only they can sign up again, through the form'),
    );
    expect(refused('bob@example.org')).toEqual(
      new Conflict('bob@example.org unsubscribed: only they can sign up again, through the form'),
    );
    expect(refused('cy@example.org')).toEqual(
      new Conflict('cy@example.org is confirmed, not suppressed: nothing to undo'),
    );
    expect(refused('nobody@example.org')).toEqual(new NotFound('nobody@example.org is not on the list'));
    expect([t.status(ada!), t.status(bob!), t.status(cy!)]).toEqual(['unsubscribed', 'unsubscribed', 'confirmed']);
    expect(t.ctx.suppressions.reasonFor('ada@example.org')).toBeDefined();

    // Suppressed and then reported as spam (the complaint left the status as it was): the complaint wins.
    const [dee] = t.subscribe('dee@example.org');
    event(t, { recipient: 'dee@example.org', kind: 'hard', reason: 'user-unknown' });
    event(t, { recipient: 'dee@example.org', kind: 'complaint', reason: 'feedback' });
    t.ctx.db.prepare("UPDATE subscribers SET status = 'suppressed' WHERE id = ?").run(dee);
    expect(refused('dee@example.org')).toBeInstanceOf(Conflict);
    expect(t.status(dee!)).toBe('suppressed');
  });

  it('when run as npm run subscribers -- unsuppress, then it restores a reader suppressed by a hard bounce, logs it, and refuses one who complained', async () => {
    t = createBounceTest();
    const [ada] = t.subscribe('ada@example.org', 'bob@example.org');
    event(t, { recipient: 'ada@example.org', kind: 'hard', reason: 'user-unknown' });
    event(t, { recipient: 'bob@example.org', kind: 'complaint', reason: 'feedback' });
    const env = { DATABASE_PATH: t.ctx.config.DATABASE_PATH, SECRET: t.ctx.secret, LOG_LEVEL: 'info' };
    const r = await runScript('subscribers', ['unsuppress', 'ada@example.org'], env);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(
      /^ada@example\.org is confirmed again \(suppressed for: hard bounce: user-unknown \(smtp:send\)\); their bounces count afresh from \d{4}-\d\d-\d\d\n$/,
    );
    expect(r.stderr).toMatch(/suppression lifted by the operator/);
    expect(t.status(ada!)).toBe('confirmed');
    expect(t.ctx.suppressions.reasonFor('ada@example.org')).toBeUndefined();

    const complained = await runScript('subscribers', ['unsuppress', 'bob@example.org'], env);
    expect(complained.code).toBe(1);
    expect(complained.stderr).toMatch(/subscribers unsuppress: bob@example\.org reported a digest as spam/);
    const usage = await runInProcess(cli, ['unsuppress']);
    expect([usage.code, usage.stderr]).toEqual([
      2,
      expect.stringMatching(/^subscribers: unsuppress takes one address/),
    ]);
  });
});
