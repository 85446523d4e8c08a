import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { handleReport, type HandledReport, type HandleReportDeps } from '../../src/bounces/handle-report.ts';
import { bounceMail, bounceMailFiles, expectedDecisions } from '../support/bounce-fixtures.ts';
import { createBounceTest, type BounceTest } from './support.ts';

/**
 * The 319 real reports through the whole intake, each recipient of expected.json on the list, as
 * an import the operator vouches for (they carry no VERP address of ours): whatever the classifier
 * decides for a recipient, the subscriber's state must follow the policy, and reading everything a
 * second time must change nothing. Read from the mailbox instead, the same reports change nobody.
 */
describe('handleReport over real bounce, complaint and auto-reply messages', () => {
  let t: BounceTest;
  let deps: HandleReportDeps;
  const files = bounceMailFiles();
  const handled = new Map<string, HandledReport>();

  beforeAll(async () => {
    const { parseReport } = await import('../../src/bounces/classify/parse-report.ts');
    t = createBounceTest();
    const expected = expectedDecisions();
    const addresses = [
      ...new Set(Object.values(expected).flatMap((rs) => rs.map((r) => r.recipient.toLowerCase()))),
    ].filter(Boolean);
    t.subscribe(...addresses);
    deps = { ...t.deps(), parseReport };
    for (const f of files)
      handled.set(f, await handleReport(deps, bounceMail(f), { kind: 'import', name: f, trustAddresses: true }));
  }, 120_000);
  afterAll(() => t?.ctx.close());

  it('when every report is read, then each subscriber is where the policy puts them', () => {
    const decisions = new Map<number, Set<string>>();
    for (const h of handled.values()) {
      for (const r of h.recipients) {
        const id = r.applied.subscriber?.id;
        if (id !== undefined) decisions.set(id, (decisions.get(id) ?? new Set()).add(r.decision));
      }
    }
    expect(decisions.size).toBeGreaterThan(100);
    const wrong: string[] = [];
    for (const [id, seen] of decisions) {
      // A complaint wins over a hard bounce in either order (suppression never replaces an
      // unsubscribe). Soft bounces never reach the limit here: no digest went out, so none
      // names a digest day.
      const want = seen.has('complaint') ? 'unsubscribed' : seen.has('hard') ? 'suppressed' : 'confirmed';
      const got = t.status(id);
      if (got !== want) wrong.push(`#${id} ${[...seen].join('+')}: ${got}`);
    }
    expect(wrong).toEqual([]);
    const kinds = new Set([...handled.values()].map((h) => h.kind));
    expect([...kinds]).toEqual(expect.arrayContaining(['arf', 'autoreply', 'dsn']));
  });

  it('when every report is read again, then nothing changes and nothing more is recorded', async () => {
    const before = {
      events: t.events().length,
      statuses: t.ctx.db.prepare('SELECT id, status FROM subscribers ORDER BY id').all(),
    };
    for (const f of files) {
      const again = await handleReport(deps, bounceMail(f), { kind: 'imap', name: f });
      expect(
        again.recipients.map((r) => r.applied.effect).filter((e) => e !== 'repeat'),
        f,
      ).toEqual([]);
    }
    expect(t.events()).toHaveLength(before.events);
    expect(t.ctx.db.prepare('SELECT id, status FROM subscribers ORDER BY id').all()).toEqual(before.statuses);
  });
});

describe('the real reports from the mailbox, where anyone can write', () => {
  it('when none carries anything Paperboy signed, then nobody changes and every match is recorded as unverified', async () => {
    const { parseReport } = await import('../../src/bounces/classify/parse-report.ts');
    const t = createBounceTest();
    try {
      const addresses = [
        ...new Set(Object.values(expectedDecisions()).flatMap((rs) => rs.map((r) => r.recipient.toLowerCase()))),
      ].filter(Boolean);
      t.subscribe(...addresses);
      const deps = { ...t.deps(), parseReport };
      const effects = new Set<string>();
      for (const f of bounceMailFiles())
        for (const r of (await handleReport(deps, bounceMail(f), { kind: 'imap', name: 'INBOX' })).recipients)
          effects.add(r.applied.effect);
      // `repeat`: the corpus holds a few copies of one report.
      expect([...effects].sort()).toEqual(['nobody', 'repeat', 'unverified']);
      expect(t.ctx.db.prepare("SELECT count(*) FROM subscribers WHERE status <> 'confirmed'").pluck().get()).toBe(0);
      expect(t.ctx.db.prepare('SELECT count(*) FROM bounce_events WHERE verified = 1').pluck().get()).toBe(0);
    } finally {
      t.ctx.close();
    }
  }, 120_000);
});
