import { afterEach, describe, expect, it } from 'vitest';
import { DATE, freezeFixtureDay, seedSubscribers, startHarness, type Harness } from '../support/digest-harness.ts';
import { createTestApp, type TestApp } from '../support/test-app.ts';
import { startSmtpSink, type SmtpSink } from '../support/smtp-sink.ts';
import { sendDigest } from '../../src/digest/run.ts';
import { sendDueMail } from '../../src/mail/mail-queue.ts';
import { mailQueueDeps } from '../../src/context.ts';
import { parseMessageId } from '../../src/bounces/message-id.ts';
import { parseVerpAddress } from '../../src/bounces/verp.ts';

let h: Harness | undefined;
let t: TestApp | undefined;
let sink: SmtpSink | undefined;
afterEach(async () => {
  await h?.close();
  await t?.close();
  await sink?.close();
  h = t = sink = undefined;
});

const header = (m: { parsed: { headers: Map<string, unknown> } }, name: string) => m.parsed.headers.get(name);

describe('every message goes out with an envelope sender of its own (VERP)', () => {
  it('when a digest is sent, then each copy arrives over SMTP with a signed envelope sender naming its subscriber and the run, the From header unchanged, and Auto-Submitted', async () => {
    h = await startHarness({ env: { BOUNCE_DOMAIN: 'bounce.papers.example.org' } });
    freezeFixtureDay(h.ctx);
    const ids = seedSubscribers(h.ctx.db, 3);
    const result = await sendDigest(h.deps, { date: DATE });
    expect(result.sent).toBe(3);

    const senders = new Set<string>();
    for (const m of h.sink.messages) {
      const id = ids[Number(/^reader(\d+)@/.exec(m.to[0]!)![1]) - 1];
      expect(m.from).toMatch(/^bounces\+\d+-\d{8}-[a-z2-7]{16}@bounce\.papers\.example\.org$/);
      expect(parseVerpAddress(m.from, h.ctx.secret, 'bounce.papers.example.org')).toEqual({
        subscriberId: id,
        runDate: DATE,
      });
      expect(m.parsed.from?.value).toEqual([{ name: 'Paperboy', address: 'digest@papers.example.org' }]);
      expect(header(m, 'auto-submitted')).toBe('auto-generated');
      senders.add(m.from);
    }
    expect(senders.size).toBe(3);
  });

  it('when confirmation and "already subscribed" emails leave the mail queue, then each carries its subscriber\'s signed envelope sender (no run) and Auto-Submitted', async () => {
    sink = await startSmtpSink();
    t = await createTestApp({
      SMTP_URL: sink.url,
      MAIL_FROM: 'Paperboy <hello@papers.example.org>',
      SUBSCRIBE_RATE_PER_IP: '0',
    });
    const subscribe = (email: string) =>
      t!.app.inject({
        method: 'POST',
        url: '/subscribe',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        payload: `email=${encodeURIComponent(email)}`,
      });
    await subscribe('ada@example.org');
    const ada = t.ctx.subscribers.byEmail('ada@example.org')!;
    t.ctx.subscribers.confirm(ada.id, new Date().toISOString(), ada);
    await subscribe('ada@example.org'); // already subscribed
    await subscribe('bob@example.org');
    const bob = t.ctx.subscribers.byEmail('bob@example.org')!;
    await sendDueMail(mailQueueDeps(t.ctx, t.templates));
    const mails = await sink.waitFor(3);

    const named = mails.map((m) => ({
      to: m.to,
      who: parseVerpAddress(m.from, t!.ctx.secret, 'papers.example.org'),
      autoSubmitted: header(m, 'auto-submitted'),
      from: m.parsed.from?.value[0]?.address,
    }));
    expect(named).toEqual([
      {
        to: ['ada@example.org'],
        who: { subscriberId: ada.id },
        autoSubmitted: 'auto-generated',
        from: 'hello@papers.example.org',
      },
      {
        to: ['ada@example.org'],
        who: { subscriberId: ada.id },
        autoSubmitted: 'auto-generated',
        from: 'hello@papers.example.org',
      },
      {
        to: ['bob@example.org'],
        who: { subscriberId: bob.id },
        autoSubmitted: 'auto-generated',
        from: 'hello@papers.example.org',
      },
    ]);
    expect(mails[1]!.parsed.subject).not.toBe(mails[0]!.parsed.subject);
    // Each carries a signed Message-ID naming its kind, the day it was queued and its queue row:
    // a complaint that returns only the original's headers still names the reader.
    const ids = mails.map((m) => parseMessageId(m.parsed.messageId!, t!.ctx.secret, 'papers.example.org'));
    const today = new Date().toISOString().slice(0, 10);
    expect(ids).toEqual([
      { signed: true, edition: 'confirm', date: today, id: expect.any(Number) },
      { signed: true, edition: 'already-subscribed', date: today, id: expect.any(Number) },
      { signed: true, edition: 'confirm', date: today, id: expect.any(Number) },
    ]);
    expect(new Set(ids.map((i) => i!.id)).size).toBe(3);
    expect(t.ctx.mailQueue.recipientOf(ids[2]!.id)).toBe('bob@example.org');
  });
});
