import { afterEach, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../support/test-app.ts';
import { startSmtpSink, type SmtpSink } from '../support/smtp-sink.ts';
import { startPapersApi, type PapersApi } from '../support/papers-api.ts';
import { startMailQueueWorker, type MailQueueWorker } from '../../src/mail/mail-queue.ts';
import { mailQueueDeps, sendDigestDeps } from '../../src/context.ts';
import { sendDigest } from '../../src/digest/run.ts';

let sink: SmtpSink;
let api: PapersApi;
let t: TestApp;
let worker: MailQueueWorker;

afterEach(async () => {
  await worker?.stop();
  await t?.close();
  await sink?.close();
  await api?.close();
});

describe('the whole subscription loop over real SMTP', () => {
  it('when a person subscribes, confirms from the email and then clicks one-click unsubscribe in a digest, then each step takes effect', async () => {
    sink = await startSmtpSink();
    api = await startPapersApi();
    t = await createTestApp({ SMTP_URL: sink.url, PAPERS_API_URL: api.url, SUBSCRIBE_RATE_PER_IP: '0' });
    const { ctx, app, templates } = t;
    worker = startMailQueueWorker(mailQueueDeps(ctx, templates), 60_000);

    // 1. Sign up: the request queues the confirmation; the worker delivers it over SMTP.
    const res = await app.inject({
      method: 'POST',
      url: '/subscribe',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      payload: 'email=ada%40example.org&digest_size=5',
    });
    expect(res.statusCode).toBe(202);
    worker.kick();
    const [confirmation] = await sink.waitFor(1);
    expect(confirmation!.to).toEqual(['ada@example.org']);
    expect(confirmation!.parsed.subject).toMatch(/Confirm/);

    // 2. The link in the email (absolute, on PUBLIC_URL) opens a page whose button (a POST) confirms.
    const confirmUrl = new URL(
      /https:\/\/papers\.example\.org\/confirm\/[\w-]+/.exec(confirmation!.parsed.text ?? '')![0],
    );
    expect(confirmation!.parsed.html).toContain(confirmUrl.href);
    expect((await app.inject(confirmUrl.pathname)).statusCode).toBe(200);
    expect((await app.inject({ method: 'POST', url: confirmUrl.pathname })).statusCode).toBe(200);

    // 3. The next digest arrives with the RFC 8058 headers.
    const sent = await sendDigest(await sendDigestDeps(ctx, templates), { date: '2026-11-24' });
    expect(sent.outcome).toBe('done');
    const [, digest] = await sink.waitFor(2);
    expect(digest!.to).toEqual(['ada@example.org']);
    const head = digest!.raw
      .toString()
      .split('\r\n\r\n')[0]!
      .replace(/\r\n[ \t]+/g, ' '); // unfolded
    expect(head).toMatch(/^List-Unsubscribe-Post: List-Unsubscribe=One-Click$/m);
    expect(head).toMatch(/^List-Unsubscribe: <https:/m);
    const unsubscribeUrl = new URL(/^List-Unsubscribe: <(https:[^>]+)>/m.exec(head)![1]!);
    expect(unsubscribeUrl.origin).toBe('https://papers.example.org');

    // 4. The mail client's one-click POST unsubscribes, at once.
    const unsubscribed = await app.inject({
      method: 'POST',
      url: unsubscribeUrl.pathname,
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      payload: 'List-Unsubscribe=One-Click',
    });
    expect(unsubscribed.statusCode).toBe(200);
    expect(ctx.subscribers.byEmail('ada@example.org')?.status).toBe('unsubscribed');
  });
});
