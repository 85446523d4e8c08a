import { afterEach, describe, expect, it } from 'vitest';
import { createTestApp, ManualClock, type TestApp } from '../support/test-app.ts';
import { startSmtpSink, type SmtpSink } from '../support/smtp-sink.ts';
import { sendDueMail } from '../../src/mail/mail-queue.ts';
import { mailQueueDeps } from '../../src/context.ts';

let sink: SmtpSink;
let t: TestApp;
let clock: ManualClock;

afterEach(async () => {
  await t?.close();
  await sink?.close();
});

const subscribe = (fields: Record<string, string>) =>
  t.app.inject({
    method: 'POST',
    url: '/subscribe',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    payload: new URLSearchParams(fields).toString(),
  });
const subscribeJson = (body: unknown) =>
  t.app.inject({
    method: 'POST',
    url: '/subscribe',
    headers: { 'content-type': 'application/json' },
    payload: JSON.stringify(body),
  });
/** Sends what is queued over SMTP, as the worker would. */
const deliver = () => sendDueMail(mailQueueDeps(t.ctx, t.templates));
const pathOf = (text: string, route: string) =>
  new URL(new RegExp(`https://papers\\.example\\.org/${route}/[\\w.-]+`).exec(text)![0]).pathname;

async function confirmedReader(email: string) {
  await subscribe({ email, digest_size: '5', keywords: 'agents' });
  await deliver();
  const [confirmation] = await sink.waitFor(1);
  expect((await t.app.inject({ method: 'POST', url: pathOf(confirmation!.parsed.text!, 'confirm') })).statusCode).toBe(
    200,
  );
}

describe('a confirmed address signed up again', () => {
  it('when it happens, then one "already subscribed" email arrives over SMTP with working preferences and unsubscribe links', async () => {
    sink = await startSmtpSink();
    clock = new ManualClock();
    t = await createTestApp({ SMTP_URL: sink.url, SUBSCRIBE_RATE_PER_IP: '0' }, { clock });
    await confirmedReader('ada@example.org');
    clock.advance(2 * 3600_000);

    expect((await subscribe({ email: 'ADA@example.org', digest_size: '20', keywords: 'spam' })).statusCode).toBe(202);
    expect(await deliver()).toBe(1);
    const [, note] = await sink.waitFor(2);
    expect(note!.to).toEqual(['ada@example.org']);
    expect(note!.parsed.subject).toBe('Paperboy · You’re already subscribed');
    expect(note!.parsed.text).toContain('nothing has changed');
    expect(note!.parsed.text).not.toMatch(/\/confirm\//);
    expect(note!.parsed.html).toContain('Your preferences');

    // Nothing changed, and the links in the email are the subscriber's own.
    expect(t.ctx.subscribers.byEmail('ada@example.org')).toMatchObject({
      status: 'confirmed',
      digestSize: 5,
      keywords: 'agents',
    });
    const preferences = await t.app.inject(pathOf(note!.parsed.text!, 'preferences'));
    expect(preferences.statusCode).toBe(200);
    expect(preferences.body).toContain('ada@example.org');
    expect(note!.parsed.html).toContain(`https://papers.example.org${pathOf(note!.parsed.text!, 'unsubscribe')}`);
    const unsubscribed = await t.app.inject({
      method: 'POST',
      url: pathOf(note!.parsed.text!, 'unsubscribe'),
      payload: 'List-Unsubscribe=One-Click',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
    });
    expect(unsubscribed.statusCode).toBe(200);
    expect(t.ctx.subscribers.byEmail('ada@example.org')?.status).toBe('unsubscribed');
  });

  it('when it happens over and over, then the per-address cap holds: at most 3 emails an hour, the first of them the confirmation', async () => {
    sink = await startSmtpSink();
    clock = new ManualClock();
    t = await createTestApp({ SMTP_URL: sink.url, SUBSCRIBE_RATE_PER_IP: '0' }, { clock });
    await confirmedReader('bob@example.org');
    for (let i = 0; i < 5; i++) await subscribe({ email: 'bob@example.org' });
    expect(await deliver()).toBe(2);
    clock.advance(3600_000);
    await subscribe({ email: 'bob@example.org' });
    expect(await deliver()).toBe(1);
    const mails = await sink.waitFor(4);
    expect(mails.map((m) => m.parsed.subject)).toEqual([
      'Paperboy · Confirm your subscription',
      'Paperboy · You’re already subscribed',
      'Paperboy · You’re already subscribed',
      'Paperboy · You’re already subscribed',
    ]);
  });

  it('when the answer goes back, then it is the same bytes as for a new address, form and JSON', async () => {
    sink = await startSmtpSink();
    clock = new ManualClock();
    t = await createTestApp({ SMTP_URL: sink.url, SUBSCRIBE_RATE_PER_IP: '0' }, { clock });
    await confirmedReader('cyd@example.org');
    const known = [await subscribe({ email: 'cyd@example.org' }), await subscribeJson({ email: 'cyd@example.org' })];
    const fresh = [await subscribe({ email: 'new@example.org' }), await subscribeJson({ email: 'new2@example.org' })];
    for (const i of [0, 1]) {
      expect(known[i]!.statusCode).toBe(fresh[i]!.statusCode);
      expect(known[i]!.headers['content-type']).toBe(fresh[i]!.headers['content-type']);
      expect(known[i]!.body).toBe(fresh[i]!.body);
    }
  });
});
