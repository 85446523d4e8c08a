import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { handleReport, reportKeyOf } from '../../src/bounces/handle-report.ts';
import { headerMessageId } from '../../src/bounces/classify/raw-header.ts';
import { signedMessageId } from '../../src/bounces/message-id.ts';
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
const signedId = (edition: string, date: string, id: number) =>
  `<${signedMessageId({ edition, date, id }, t.ctx.secret, 'papers.example.org')}>`;

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
    expect(t.events()).toEqual([expect.objectContaining({ subscriber_id: null, kind: 'hard', verified: 0 })]);
  });

  it("when a feedback loop hides the recipient, then the VERP address in the returned original's Return-Path names the subscriber", async () => {
    const [ada] = t.subscribe('ada@example.org');
    const report = dsn([recipient('redacted@yahoo.example', 'complaint')], {
      kind: 'arf',
      feedbackType: 'abuse',
      envelopeTo: ['fbl@papers.example.org'],
      originalReturnPath: `<${verp(ada!, '2026-11-24')}>`,
    });
    const handled = await handleReport(t.deps(report), raw(), { kind: 'imap', name: 'INBOX' });
    expect(handled.recipients[0]).toMatchObject({ matchedBy: 'verp', applied: { effect: 'unsubscribed' } });
    expect(t.status(ada!)).toBe('unsubscribed');
  });

  it("when a report returns our digest's signed Message-ID, then it concerns that subscriber and digest, from any way in", async () => {
    const [ada] = t.subscribe('ada@example.org');
    const report = dsn([recipient('forwarded-to@elsewhere.example', 'hard')], {
      originalMessageId: signedId('digest', '2026-11-23', ada!).replace('papers.example.org', 'Papers.Example.org'),
    });
    const handled = await handleReport(t.deps(report), raw(), { kind: 'imap', name: 'INBOX' });
    expect(handled.recipients[0]).toMatchObject({
      matchedBy: 'message-id',
      applied: { effect: 'suppressed', digestDate: '2026-11-23' },
    });
  });

  it("when a report returns a confirmation's signed Message-ID, then its mail queue row names the subscriber", async () => {
    const [ada] = t.subscribe('ada@example.org');
    t.ctx.mailQueue.enqueue({
      kind: 'confirm',
      recipient: 'ada@example.org',
      payload: {},
      now: '2026-11-25T08:00:00Z',
    });
    const [queued] = t.ctx.mailQueue.due('2026-11-25T09:00:00Z', 1);
    const report = dsn([recipient('ada@example.org', 'hard')], {
      originalMessageId: signedId('confirm', '2026-11-25', queued!.id),
    });
    const handled = await handleReport(t.deps(report), raw(), { kind: 'imap', name: 'INBOX' });
    expect(handled.recipients[0]).toMatchObject({ matchedBy: 'message-id', applied: { effect: 'suppressed' } });
    expect(t.status(ada!)).toBe('suppressed');
  });

  it('when a signed Message-ID has a wrong signature, then it names nobody and the report only is recorded', async () => {
    const [ada] = t.subscribe('ada@example.org');
    const forged = signedId('digest', '2026-11-23', ada!).replace(/[a-z2-7]{4}@/, 'aaaa@');
    const report = dsn([recipient('ada@example.org', 'hard')], { originalMessageId: forged });
    const handled = await handleReport(t.deps(report), raw(), { kind: 'imap', name: 'INBOX' });
    expect(handled.recipients[0]!.applied.effect).toBe('unverified');
    expect(t.status(ada!)).toBe('confirmed');
  });

  it('when the mailbox gets an unsigned digest Message-ID, a guessed one, then it is recorded as unverified and changes nothing', async () => {
    const [ada] = t.subscribe('ada@example.org');
    const report = dsn([recipient('whoever@example.net', 'complaint')], {
      kind: 'arf',
      originalMessageId: `<weekly.2026-11-29.${ada}@papers.example.org>`,
    });
    const handled = await handleReport(t.deps(report), raw(), { kind: 'imap', name: 'INBOX' });
    expect(handled.recipients[0]).toMatchObject({ matchedBy: 'message-id', applied: { effect: 'unverified' } });
    expect(t.status(ada!)).toBe('confirmed');
    expect(t.events()).toEqual([expect.objectContaining({ subscriber_id: null, verified: 0 })]);
  });

  it('when the operator vouches for an import, then an unsigned digest Message-ID acts', async () => {
    const [ada] = t.subscribe('ada@example.org');
    const report = dsn([recipient('forwarded-to@elsewhere.example', 'hard')], {
      originalMessageId: `<digest.2026-11-23.${ada}@papers.example.org>`,
    });
    const source = { kind: 'import', name: 'a.eml', trustAddresses: true } as const;
    const handled = await handleReport(t.deps(report), raw(), source);
    expect(handled.recipients[0]).toMatchObject({
      matchedBy: 'message-id',
      applied: { effect: 'suppressed', digestDate: '2026-11-23' },
    });
  });

  it('when it returns a Message-ID on another domain, then that does not count and a vouched-for address decides', async () => {
    const [ada, bob] = t.subscribe('ada@example.org', 'bob@example.org');
    const report = dsn([recipient('bob@example.org', 'hard')], {
      originalMessageId: `<digest.2026-11-23.${ada}@evil.example.net>`,
    });
    const source = { kind: 'import', name: 'a.eml', trustAddresses: true } as const;
    const handled = await handleReport(t.deps(report), raw(), source);
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

  it('when the operator vouches for an import and nothing else names anyone, then each recipient is matched by address', async () => {
    const [ada, bob] = t.subscribe('ada@example.org', 'bob@example.org');
    const report = dsn([
      recipient('Ada@Example.org', 'hard'),
      recipient('bob@example.org', 'soft'),
      recipient('nobody@example.org', 'hard'),
    ]);
    const source = { kind: 'import', name: 'a.eml', trustAddresses: true } as const;
    const handled = await handleReport(t.deps(report), raw(), source);
    expect(handled.recipients.map((r) => [r.matchedBy, r.applied.effect])).toEqual([
      ['address', 'suppressed'],
      ['address', 'counted'],
      [null, 'nobody'],
    ]);
    expect([t.status(ada!), t.status(bob!)]).toEqual(['suppressed', 'confirmed']);
  });

  for (const source of [
    { kind: 'imap', name: 'INBOX' },
    { kind: 'import', name: 'a.eml' },
    { kind: 'smtp', name: 'receiver', rcptTo: ['postmaster@papers.example.org'] },
  ] as const) {
    it(`when a report from ${source.kind} names subscribers only by address, then nobody changes and each is recorded as unverified`, async () => {
      const [ada, bob, cy] = t.subscribe('ada@example.org', 'bob@example.org', 'cy@example.org');
      const report = dsn([
        recipient('ada@example.org', 'hard'),
        recipient('bob@example.org', 'hard'),
        recipient('cy@example.org', 'complaint'),
      ]);
      const handled = await handleReport(t.deps(report), raw(), source);
      expect(handled.recipients.map((r) => r.applied.effect)).toEqual(['unverified', 'unverified', 'unverified']);
      expect([t.status(ada!), t.status(bob!), t.status(cy!)]).toEqual(['confirmed', 'confirmed', 'confirmed']);
      expect(t.events().map((e) => [e.subscriber_id, e.verified])).toEqual([
        [null, 0],
        [null, 0],
        [null, 0],
      ]);
      expect(t.ctx.suppressions.reasonFor('ada@example.org')).toBeUndefined();
    });
  }

  it('when a report recorded as unverified comes again in an import the operator vouches for, then it acts', async () => {
    const [ada] = t.subscribe('ada@example.org');
    const report = dsn([recipient('ada@example.org', 'hard')]);
    const first = await handleReport(t.deps(report), raw(), { kind: 'imap', name: 'INBOX' });
    expect(first.recipients[0]!.applied.effect).toBe('unverified');
    const source = { kind: 'import', name: 'export.mbox#1', trustAddresses: true } as const;
    const again = await handleReport(t.deps(report), raw(), source);
    expect(again.recipients[0]).toMatchObject({ matchedBy: 'address', applied: { effect: 'suppressed' } });
    expect(t.events()).toEqual([
      expect.objectContaining({ subscriber_id: ada, verified: 1, source: 'import:export.mbox#1' }),
    ]);
    const third = await handleReport(t.deps(report), raw(), source);
    expect(third.recipients[0]!.applied.effect).toBe('repeat');
  });
});

describe('handleReport: the same message twice', () => {
  it('when the same message is handled again, even with other trace headers, then nothing more changes', async () => {
    const [ada] = t.subscribe('ada@example.org');
    const report = dsn([recipient('ada@example.org', 'soft')], { messageId: '<r1@mx.example.net>' });
    const first = await handleReport(t.deps(report), raw(), { kind: 'import', name: 'a.eml', trustAddresses: true });
    const again = Buffer.concat([
      Buffer.from('Delivered-To: bounces@papers.example.org\n'),
      Buffer.from(raw().toString().replace(/\r\n/g, '\n')),
    ]);
    const second = await handleReport(t.deps(report), again, { kind: 'webhook', name: 'x', trustAddresses: true });
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

describe('headerMessageId', () => {
  it('when the header is folded, in any case, then it reads the one Message-ID of the header section', () => {
    expect(
      headerMessageId(Buffer.from('Subject: x\r\nmessage-ID:\r\n  <abc@mx.example>\r\n\r\nMessage-ID: <body@x>\r\n')),
    ).toBe('<abc@mx.example>');
    expect(headerMessageId(Buffer.from('Subject: x\n\nMessage-ID: <body@x>\n'))).toBeUndefined();
  });
});
