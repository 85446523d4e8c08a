import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createTestApp, ManualClock, type TestApp } from '../support/test-app.ts';
import { startSmtpSink, type SmtpSink } from '../support/smtp-sink.ts';
import { queueRetryDelayMs, sendDueMail, type MailQueueDeps } from '../../src/mail/mail-queue.ts';
import { mailQueueDeps } from '../../src/context.ts';

let sink: SmtpSink;
let t: TestApp;
let clock: ManualClock;
let deps: MailQueueDeps;

beforeEach(async () => {
  sink = await startSmtpSink();
  clock = new ManualClock();
  t = await createTestApp({ SMTP_URL: sink.url }, { clock });
  deps = mailQueueDeps(t.ctx, t.templates);
});
afterEach(async () => {
  await t.close();
  await sink.close();
});

const enqueue = (
  recipient: string,
  payload: Record<string, unknown> = { confirmUrl: 'https://papers.example.org/confirm/abc' },
) => t.ctx.mailQueue.enqueue({ kind: 'confirm', recipient, payload, now: clock.now().toISOString() });
const rows = () => t.ctx.db.prepare('SELECT recipient, status, attempts, last_error FROM mail_queue ORDER BY id').all();

describe('the confirmation mail queue', () => {
  it('when the server answers 451, then the email waits and goes out once its retry time comes', async () => {
    let refusals = 1;
    sink.options.onRcpt = () => (refusals-- > 0 ? { code: 451, message: '4.3.0 try again later' } : undefined);
    enqueue('ada@example.org');
    expect(await sendDueMail(deps)).toBe(0);
    expect(rows()).toEqual([
      { recipient: 'ada@example.org', status: 'queued', attempts: 1, last_error: expect.stringContaining('451') },
    ]);
    expect(await sendDueMail(deps)).toBe(0); // not due yet
    clock.advance(queueRetryDelayMs(0));
    expect(await sendDueMail(deps)).toBe(1);
    expect(rows()).toEqual([{ recipient: 'ada@example.org', status: 'sent', attempts: 2, last_error: null }]);
    const [mail] = await sink.waitFor(1);
    expect(mail!.parsed.html).toContain('https://papers.example.org/confirm/abc');
  });

  it('when the server refuses one recipient for good (550), then that one fails and the others go out', async () => {
    sink.options.onRcpt = (addr) =>
      addr === 'gone@example.org' ? { code: 550, message: '5.1.1 no such user' } : undefined;
    enqueue('gone@example.org');
    enqueue('ada@example.org');
    expect(await sendDueMail(deps)).toBe(1);
    expect(rows()).toMatchObject([
      { recipient: 'gone@example.org', status: 'failed', attempts: 1 },
      { recipient: 'ada@example.org', status: 'sent', attempts: 1 },
    ]);
  });

  it('when the server answers 421 (closing the connection), then the email waits and goes out once its retry time comes', async () => {
    let busy = true;
    sink.options.onRcpt = () => (busy ? { code: 421, message: '4.7.0 too busy, closing' } : undefined);
    enqueue('ada@example.org');
    expect(await sendDueMail(deps)).toBe(0);
    expect(rows()).toMatchObject([{ recipient: 'ada@example.org', status: 'queued', attempts: 1 }]);
    busy = false;
    clock.advance(queueRetryDelayMs(0));
    expect(await sendDueMail(deps)).toBe(1);
    expect(rows()).toMatchObject([{ recipient: 'ada@example.org', status: 'sent', attempts: 2 }]);
  });

  it('when the server refuses connections, then the email waits for its retry time', async () => {
    await sink.close();
    enqueue('ada@example.org');
    expect(await sendDueMail(deps)).toBe(0);
    expect(rows()).toEqual([
      {
        recipient: 'ada@example.org',
        status: 'queued',
        attempts: 1,
        last_error: expect.stringContaining('ECONNREFUSED'),
      },
    ]);
    // A fresh sink for afterEach to close.
    sink = await startSmtpSink();
  });

  it('when a queued row cannot be rendered, then it fails visibly and does not block the queue', async () => {
    enqueue('broken@example.org', {});
    enqueue('ada@example.org');
    expect(await sendDueMail(deps)).toBe(1);
    expect(rows()).toMatchObject([
      { recipient: 'broken@example.org', status: 'failed', last_error: expect.stringContaining('cannot be rendered') },
      { recipient: 'ada@example.org', status: 'sent' },
    ]);
  });

  it('backs off 1, 2, 4 … minutes, at most an hour', () => {
    expect([0, 1, 2, 3, 10].map(queueRetryDelayMs)).toEqual([60_000, 120_000, 240_000, 480_000, 3_600_000]);
  });
});
