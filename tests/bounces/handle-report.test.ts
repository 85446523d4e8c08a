import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { handleReport, parseDigestMessageId, reportKeyOf } from '../../src/bounces/handle-report.ts';
import { verpAddress } from '../../src/bounces/verp.ts';
import { subscriberLinks } from '../../src/domain/tokens.ts';
import { createBounceTest, dsn, recipient, type BounceTest } from './support.ts';

let t: BounceTest;
beforeEach(() => {
  t = createBounceTest();
});
afterEach(() => t.ctx.close());

const raw = (body = 'the report') =>
  Buffer.from(`Message-ID: <r1@mx.example.net>\r\nSubject: Undelivered\r\n\r\n${body}\r\n`);
const verp = (subscriberId: number, runDate?: string) =>
  verpAddress(runDate ? { subscriberId, runDate } : { subscriberId }, t.ctx.secret, t.ctx.config.BOUNCE_DOMAIN);

describe('handleReport: whom a report concerns', () => {
  it('when it was sent to a signed VERP address, then it concerns that subscriber only, whatever it names inside', async () => {
    const [ada, bob] = t.subscribe('ada@example.org', 'bob@example.org');
    const report = dsn([recipient('bob@example.org', 'hard')], { envelopeTo: [verp(ada!, '2026-11-24')] });
    const handled = await handleReport(t.deps(report), raw(), { kind: 'import', name: 'a.eml' });
    expect(handled.verp).toBe('signed');
    expect(handled.recipients).toEqual([
      expect.objectContaining({
        address: 'bob@example.org',
        matchedBy: 'verp',
        applied: expect.objectContaining({
          effect: 'suppressed',
          subscriber: { id: ada, email: 'ada@example.org' },
          digestDate: '2026-11-24',
        }),
      }),
    ]);
    expect([t.status(ada!), t.status(bob!)]).toEqual(['suppressed', 'confirmed']);
  });

  it('when the VERP address comes from the SMTP envelope, then it counts as well', async () => {
    const [ada] = t.subscribe('ada@example.org');
    const report = dsn([recipient('ada@example.org', 'complaint')], { kind: 'arf', feedbackType: 'abuse' });
    await handleReport(t.deps(report), raw(), { kind: 'smtp', name: 'listener', rcptTo: [verp(ada!).toUpperCase()] });
    expect(t.status(ada!)).toBe('unsubscribed');
  });

  it('when the VERP address is forged, then it names nobody, even a subscriber named inside', async () => {
    const [ada, bob] = t.subscribe('ada@example.org', 'bob@example.org');
    const forged = verp(ada!).replace(/[a-z2-7]{4}@/, 'aaaa@');
    const report = dsn([recipient('bob@example.org', 'hard')], {
      envelopeTo: [forged],
      originalMessageId: `<digest.2026-11-24.${bob}@papers.example.org>`,
    });
    const handled = await handleReport(t.deps(report), raw(), { kind: 'import', name: 'a.eml' });
    expect(handled.verp).toBe('forged');
    expect(handled.recipients[0]).toMatchObject({ matchedBy: null, applied: { effect: 'nobody', subscriber: null } });
    expect([t.status(ada!), t.status(bob!)]).toEqual(['confirmed', 'confirmed']);
    expect(t.events()).toEqual([expect.objectContaining({ subscriber_id: null, kind: 'hard' })]);
  });

  it('when a report reaches the SMTP listener without a VERP address, then it names nobody', async () => {
    const [ada] = t.subscribe('ada@example.org');
    const handled = await handleReport(t.deps(dsn([recipient('ada@example.org', 'hard')])), raw(), {
      kind: 'smtp',
      name: 'listener',
      rcptTo: ['postmaster@papers.example.org'],
    });
    expect(handled.recipients[0]!.applied.effect).toBe('nobody');
    expect(t.status(ada!)).toBe('confirmed');
  });

  it("when an imported report returns our digest's Message-ID, then it concerns that subscriber and digest", async () => {
    const [ada] = t.subscribe('ada@example.org');
    const report = dsn([recipient('forwarded-to@elsewhere.example', 'hard')], {
      originalMessageId: `<digest.2026-11-23.${ada}@Papers.Example.org>`,
    });
    const handled = await handleReport(t.deps(report), raw(), { kind: 'import', name: 'a.eml' });
    expect(handled.recipients[0]).toMatchObject({
      matchedBy: 'message-id',
      applied: { effect: 'suppressed', digestDate: '2026-11-23' },
    });
  });

  it('when it returns a Message-ID on another domain, then that does not count and the address decides', async () => {
    const [ada, bob] = t.subscribe('ada@example.org', 'bob@example.org');
    const report = dsn([recipient('bob@example.org', 'hard')], {
      originalMessageId: `<digest.2026-11-23.${ada}@evil.example.net>`,
    });
    const handled = await handleReport(t.deps(report), raw(), { kind: 'import', name: 'a.eml' });
    expect(handled.recipients[0]).toMatchObject({ matchedBy: 'address', applied: { subscriber: { id: bob } } });
    expect([t.status(ada!), t.status(bob!)]).toEqual(['confirmed', 'suppressed']);
  });

  it('when it returns our List-Unsubscribe link, then the signed link names the subscriber', async () => {
    const [, bob] = t.subscribe('ada@example.org', 'bob@example.org');
    const { unsubscribeUrl } = subscriberLinks(t.ctx.config.PUBLIC_URL, t.ctx.secret, bob!);
    const report = dsn([recipient('someone@elsewhere.example', 'hard')], {
      originalListUnsubscribe: [`<${unsubscribeUrl}>`, '<mailto:unsubscribe@papers.example.org>'],
    });
    const handled = await handleReport(t.deps(report), raw(), { kind: 'imap', name: 'INBOX' });
    expect(handled.recipients[0]).toMatchObject({
      matchedBy: 'list-unsubscribe',
      applied: { effect: 'suppressed', subscriber: { id: bob } },
    });
  });

  it('when nothing else names anyone, then each recipient is matched by address', async () => {
    const [ada, bob] = t.subscribe('ada@example.org', 'bob@example.org');
    const report = dsn([
      recipient('Ada@Example.org', 'hard'),
      recipient('bob@example.org', 'soft'),
      recipient('nobody@example.org', 'hard'),
    ]);
    const handled = await handleReport(t.deps(report), raw(), { kind: 'import', name: 'a.eml' });
    expect(handled.recipients.map((r) => [r.matchedBy, r.applied.effect])).toEqual([
      ['address', 'suppressed'],
      ['address', 'counted'],
      [null, 'nobody'],
    ]);
    expect([t.status(ada!), t.status(bob!)]).toEqual(['suppressed', 'confirmed']);
  });
});

describe('handleReport: the same message twice', () => {
  it('when the same message is handled again, even with other trace headers, then nothing more changes', async () => {
    const [ada] = t.subscribe('ada@example.org');
    const report = dsn([recipient('ada@example.org', 'soft')], { messageId: '<r1@mx.example.net>' });
    const first = await handleReport(t.deps(report), raw(), { kind: 'import', name: 'a.eml' });
    const again = Buffer.concat([
      Buffer.from('Delivered-To: bounces@papers.example.org\n'),
      Buffer.from(raw().toString().replace(/\r\n/g, '\n')),
    ]);
    const second = await handleReport(t.deps(report), again, { kind: 'imap', name: 'INBOX' });
    expect(first.recipients[0]!.applied.effect).toBe('counted');
    expect(second.recipients[0]!.applied.effect).toBe('repeat');
    expect(t.events()).toHaveLength(1);
    expect(t.status(ada!)).toBe('confirmed');
  });

  it('when two reports share a Message-ID but say different things, then both count', () => {
    expect(reportKeyOf(raw('one'), '<same@mx>')).not.toBe(reportKeyOf(raw('two'), '<same@mx>'));
    expect(reportKeyOf(raw('one'), '<a@mx>')).not.toBe(reportKeyOf(raw('one'), '<b@mx>'));
  });
});

describe('parseDigestMessageId', () => {
  it('reads back what the digest sender builds, on our domain only', () => {
    expect(parseDigestMessageId('<digest.2026-11-24.17@papers.example.org>', 'papers.example.org')).toEqual({
      date: '2026-11-24',
      subscriberId: 17,
    });
    expect(parseDigestMessageId('digest.2026-11-24.17@papers.example.org', 'papers.example.org')).toEqual({
      date: '2026-11-24',
      subscriberId: 17,
    });
    expect(parseDigestMessageId('<digest.2026-11-24.17@other.example>', 'papers.example.org')).toBeUndefined();
    expect(parseDigestMessageId('<test.2026-11-24.a1b2@papers.example.org>', 'papers.example.org')).toBeUndefined();
    expect(parseDigestMessageId('<digest.2026-02-30.17@papers.example.org>', 'papers.example.org')).toBeUndefined();
  });
});
