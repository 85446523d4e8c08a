import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import nodemailer from 'nodemailer';
import { startBounceReceiver, type BounceReceiver } from '../../src/bounces/receiver.ts';
import { handleReportDeps } from '../../src/bounces/handle-report.ts';
import { parseReport } from '../../src/bounces/parse-report.ts';
import { verpAddress } from '../../src/bounces/verp.ts';
import { createBounceTest, type BounceTest } from './support.ts';

const MAX_BYTES = 1_000_000;

let t: BounceTest;
let receiver: BounceReceiver;
beforeEach(async () => {
  t = createBounceTest({ BOUNCE_DOMAIN: 'bounce.papers.example.org' });
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
async function deliver(to: string, raw: Buffer | string) {
  const transport = nodemailer.createTransport({
    host: '127.0.0.1',
    port: receiver.port,
    secure: false,
    ignoreTLS: true,
    connectionTimeout: 5_000,
    socketTimeout: 30_000,
  });
  try {
    return await transport.sendMail({ envelope: { from: '', to: [to] }, raw });
  } finally {
    transport.close();
  }
}

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
});
