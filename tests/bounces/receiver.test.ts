import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startBounceReceiver, type BounceReceiver } from '../../src/bounces/sources/receiver.ts';
import { handleReportDeps } from '../../src/context.ts';
import { parseReport } from '../../src/bounces/classify/parse-report.ts';
import { verpAddress } from '../../src/bounces/verp.ts';
import { unsubscribeAddress } from '../../src/bounces/unsubscribe-address.ts';
import { signedMessageId } from '../../src/bounces/message-id.ts';
import { createBounceTest, deliverReport, type BounceTest } from './support.ts';

const MAX_BYTES = 1_000_000;

let t: BounceTest;
let receiver: BounceReceiver;
beforeEach(async () => {
  t = createBounceTest({
    BOUNCE_DOMAIN: 'bounce.papers.example.org',
    BOUNCE_FBL_ADDRESS: 'fbl@bounce.papers.example.org',
  });
  receiver = await startBounceReceiver(handleReportDeps(t.ctx, parseReport), {
    host: '127.0.0.1',
    port: 0,
    maxBytes: MAX_BYTES,
    maxPerClient: 10,
  });
});
afterEach(async () => {
  await receiver.close();
  t.ctx.close();
});

const verp = (subscriberId: number, runDate?: string) =>
  verpAddress(runDate ? { subscriberId, runDate } : { subscriberId }, t.ctx.secret, 'bounce.papers.example.org');

/** Hands a message to the receiver as a mail system would: null sender, one recipient. */
const deliver = (to: string, raw: Buffer | string) => deliverReport(receiver.port, to, raw);

const refusal = (p: Promise<unknown>) =>
  p.then(
    () => ({ refused: false }),
    (err: { responseCode?: number; command?: string }) => ({
      refused: true,
      code: err.responseCode,
      command: err.command,
    }),
  );

/** A delivery status notification as an MTA writes one (RFC 3464): hard, 5.1.1. */
const dsnFor = (failed: string, n = 1) =>
  [
    'From: MAILER-DAEMON@mx.example.net',
    `To: ${failed.replace(/@.*/, '')}@bounce.papers.example.org`,
    'Subject: Undelivered Mail Returned to Sender',
    `Message-ID: <dsn${n}@mx.example.net>`,
    'MIME-Version: 1.0',
    'Content-Type: multipart/report; report-type=delivery-status; boundary="b1"',
    '',
    '--b1',
    'Content-Type: text/plain',
    '',
    `<${failed}>: host mx.example.net said: 550 5.1.1 User unknown`,
    '',
    '--b1',
    'Content-Type: message/delivery-status',
    '',
    'Reporting-MTA: dns; mx.example.net',
    '',
    `Final-Recipient: rfc822; ${failed}`,
    'Action: failed',
    'Status: 5.1.1',
    `Diagnostic-Code: smtp; 550 5.1.1 <${failed}>: Recipient address rejected: User unknown`,
    '',
    '--b1--',
    '',
  ].join('\r\n');

describe('the bounce receiver (SMTP, BOUNCE_SMTP_PORT)', () => {
  it('when a report arrives for a signed VERP address, then the subscriber it names is suppressed', async () => {
    const [ada] = t.subscribe('ada@example.org');
    t.sentRun('2026-11-24', [ada!]);
    const info = await deliver(verp(ada!, '2026-11-24'), dsnFor('ada@example.org'));
    expect(info.response).toMatch(/^250/);
    expect(t.status(ada!)).toBe('suppressed');
    expect(t.events()).toEqual([
      expect.objectContaining({
        subscriber_id: ada,
        kind: 'hard',
        status: '5.1.1',
        digest_date: '2026-11-24',
        source: 'smtp:receiver',
      }),
    ]);
  });

  it('when the recipient is a forged, altered or foreign address, then RCPT is refused with 550 and nothing changes', async () => {
    const [ada, bob] = t.subscribe('ada@example.org', 'bob@example.org');
    const real = verp(ada!, '2026-11-24');
    const forged = [
      real.replace(/-([a-z2-7]{16})@/, (_m, mac: string) => `-${mac.startsWith('a') ? 'b' : 'a'}${mac.slice(1)}@`), // signature altered
      real.replace(`bounces+${ada}-`, `bounces+${bob}-`), // another subscriber's id under Ada's signature
      verpAddress({ subscriberId: bob! }, 'another-secret-another-secret-0123456789', 'bounce.papers.example.org'), // signed with another key
      real.replace('@bounce.papers.example.org', '@papers.example.org'), // another domain
      'postmaster@bounce.papers.example.org',
      'someone@example.com', // relaying
    ];
    for (const to of forged) {
      expect({ to, ...(await refusal(deliver(to, dsnFor('bob@example.org')))) }).toEqual({
        to,
        refused: true,
        code: 550,
        command: 'RCPT TO',
      });
    }
    expect([t.status(ada!), t.status(bob!)]).toEqual(['confirmed', 'confirmed']);
    expect(t.events()).toEqual([]);
  });

  it('when a 10 MB message arrives, then it is refused (552), nothing changes, and the receiver takes the next report', async () => {
    const [ada, bob] = t.subscribe('ada@example.org', 'bob@example.org');
    const huge = dsnFor('ada@example.org') + `${'x'.repeat(998)}\r\n`.repeat(10_000);
    expect(huge.length).toBeGreaterThan(10_000_000);
    expect(await refusal(deliver(verp(ada!), huge))).toEqual(expect.objectContaining({ refused: true, code: 552 }));
    expect(t.status(ada!)).toBe('confirmed');
    expect(t.events()).toEqual([]);

    await deliver(verp(bob!), dsnFor('bob@example.org', 2));
    expect([t.status(ada!), t.status(bob!)]).toEqual(['confirmed', 'suppressed']);
  });

  it("when someone mails their own signed address a report naming other subscribers, then only that address's subscriber is concerned", async () => {
    const [mallory, ada, bob, cyd] = t.subscribe(
      'mallory@example.net',
      'ada@example.org',
      'bob@example.org',
      'cyd@example.org',
    );
    // Three Final-Recipient groups, the victims' addresses and a guessed digest Message-ID inside.
    const groups = ['ada@example.org', 'bob@example.org', 'cyd@example.org']
      .map((a) => `Final-Recipient: rfc822; ${a}\r\nAction: failed\r\nStatus: 5.1.1\r\n`)
      .join('\r\n');
    const report = dsnFor('ada@example.org')
      .replace(/Final-Recipient:[\s\S]*?(?=\r\n\r\n--b1--)/, groups)
      .replace(
        '--b1--',
        `--b1\r\nContent-Type: text/rfc822-headers\r\n\r\nMessage-ID: <digest.2026-11-24.${bob}@papers.example.org>\r\n\r\n--b1--`,
      );
    await deliver(verp(mallory!), report);
    expect([t.status(mallory!), t.status(ada!), t.status(bob!), t.status(cyd!)]).toEqual([
      'suppressed',
      'confirmed',
      'confirmed',
      'confirmed',
    ]);
    expect(new Set(t.events().map((e) => e.subscriber_id))).toEqual(new Set([mallory]));
  });

  it('when a report cannot be parsed, then it is accepted, kept in the local quarantine, and the next report is handled', async () => {
    const [ada, bob] = t.subscribe('ada@example.org', 'bob@example.org');
    const parts = Array.from({ length: 1100 }, (_, i) => `--b\r\nContent-Type: text/plain\r\n\r\n${i}\r\n`).join('');
    const poison = `From: x@mx.example.net\r\nMessage-ID: <poison@mx>\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n${parts}--b--\r\n`;
    const info = await deliver(verp(ada!), poison);
    expect(info.response).toMatch(/^250/);
    expect(t.ctx.quarantine.list()).toEqual([
      expect.objectContaining({ source: 'smtp:receiver', location: 'local', size: Buffer.byteLength(poison) }),
    ]);
    expect(t.ctx.quarantine.raw(t.ctx.quarantine.list()[0]!.id)?.toString()).toContain('Message-ID: <poison@mx>');
    expect(t.status(ada!)).toBe('confirmed');

    await deliver(verp(bob!), dsnFor('bob@example.org', 3));
    expect(t.status(bob!)).toBe('suppressed');
  });

  it("when anyone mails a reader's unsubscribe address, then that reader is unsubscribed; the address quoted inside a bounce unsubscribes nobody", async () => {
    const [ada, bob] = t.subscribe('ada@example.org', 'bob@example.org');
    const adaUnsubscribe = unsubscribeAddress(ada!, t.ctx.secret, 'bounce.papers.example.org');
    // A bounce of Bob's digest that quotes Ada's List-Unsubscribe (a forward, say): a report about Bob.
    const quoting = dsnFor('bob@example.org', 4).replace(
      '--b1--',
      `--b1\r\nContent-Type: text/rfc822-headers\r\n\r\nList-Unsubscribe: <mailto:${adaUnsubscribe}?subject=unsubscribe>\r\n\r\n--b1--`,
    );
    await deliver(verp(bob!), quoting);
    expect(t.status(ada!)).toBe('confirmed');

    const info = await deliver(
      adaUnsubscribe.toUpperCase(),
      'From: someone@example.net\r\nSubject: please\r\n\r\nanything\r\n',
    );
    expect(info.response).toMatch(/^250/);
    expect(t.status(ada!)).toBe('unsubscribed');
    const forged = adaUnsubscribe.replace(/[a-z2-7]{4}@/, 'aaaa@');
    expect(await refusal(deliver(forged, 'Subject: x\r\n\r\ny\r\n'))).toEqual(
      expect.objectContaining({ code: 550, command: 'RCPT TO' }),
    );
  });

  it('when a feedback loop sends a complaint to BOUNCE_FBL_ADDRESS, then the signed Message-ID it returns names the reader; anything else there is refused', async () => {
    const [ada] = t.subscribe('ada@example.org');
    const messageId = signedMessageId(
      { edition: 'digest', date: '2026-11-24', id: ada! },
      t.ctx.secret,
      'papers.example.org',
    );
    const arf = [
      'From: feedback@yahoo.example',
      'To: fbl@bounce.papers.example.org',
      'Subject: Complaint',
      'Message-ID: <arf1@yahoo.example>',
      'MIME-Version: 1.0',
      'Content-Type: multipart/report; report-type=feedback-report; boundary="f"',
      '',
      '--f',
      'Content-Type: text/plain',
      '',
      'A complaint about a message from your domain.',
      '--f',
      'Content-Type: message/feedback-report',
      '',
      'Feedback-Type: abuse',
      'User-Agent: Yahoo!-Mail-Feedback/2.0',
      'Version: 1',
      '--f',
      'Content-Type: text/rfc822-headers',
      '',
      'From: Paperboy <digest@papers.example.org>',
      'To: redacted@yahoo.example',
      `Message-ID: <${messageId}>`,
      'Subject: Paperboy',
      '',
      '--f--',
      '',
    ].join('\r\n');
    await deliver('fbl@bounce.papers.example.org', arf);
    expect(t.status(ada!)).toBe('unsubscribed');
    expect(
      await refusal(deliver('FBL@bounce.papers.example.org', 'From: x@example.net\r\nSubject: hi\r\n\r\nhello\r\n')),
    ).toEqual(expect.objectContaining({ refused: true, code: 550 }));
  });
});
