import { afterEach, describe, expect, it } from 'vitest';
import { createTestApp, ManualClock, type TestApp } from '../support/test-app.ts';
import { purgeStaleData } from '../../src/jobs/housekeeping.ts';
import { sendDueMail } from '../../src/mail/mail-queue.ts';
import { mailQueueDeps } from '../../src/context.ts';

const FORM = { 'content-type': 'application/x-www-form-urlencoded' };
const DAY_MS = 24 * 3600_000;

let t: TestApp | undefined;
afterEach(async () => t?.close());

describe('purgeStaleData', () => {
  it('when sign-ups were never confirmed for 7 days, then they and their mail are gone; confirmed ones stay', async () => {
    const clock = new ManualClock();
    t = await createTestApp({ SUBSCRIBE_RATE_PER_IP: '0' }, { clock });
    const app = t;
    const signUp = (email: string) =>
      app.app.inject({
        method: 'POST',
        url: '/subscribe',
        headers: FORM,
        payload: new URLSearchParams({ email }).toString(),
      });
    const mailDeps = mailQueueDeps(app.ctx, app.templates);
    const emails = () => app.ctx.db.prepare('SELECT email FROM subscribers ORDER BY email').pluck().all();
    const queue = () => app.ctx.db.prepare('SELECT recipient, status, payload FROM mail_queue ORDER BY id').all();

    await signUp('never@example.org');
    await signUp('reader@example.org');
    const confirmUrl = JSON.parse(
      app.ctx.db
        .prepare("SELECT payload FROM mail_queue WHERE recipient = 'reader@example.org'")
        .pluck()
        .get() as string,
    ).confirmUrl as string;
    await sendDueMail(mailDeps);
    // The link's page only shows a button: its POST confirms.
    expect((await app.app.inject({ method: 'POST', url: new URL(confirmUrl).pathname })).statusCode).toBe(200);
    clock.advance(3 * DAY_MS);
    await signUp('recent@example.org');

    // Day 3: nothing is old enough but never@'s sign-up request (its link expired on day 2) and
    // the two mailboxes' cap windows from day 0 (the domain's window restarted with recent@).
    expect(purgeStaleData({ ...app.ctx, clock })).toEqual({
      unconfirmedSignUps: 0,
      expiredSignupRequests: 1,
      expiredMail: 0,
      settledMail: 0,
      confirmationWindows: 2,
      quarantinedReports: 0,
      foldedDeliveries: 0,
    });

    clock.advance(4 * DAY_MS + 60_000);
    expect(purgeStaleData({ ...app.ctx, clock })).toMatchObject({ unconfirmedSignUps: 1, settledMail: 2 });
    expect(emails()).toEqual(['reader@example.org', 'recent@example.org']);
    // recent@'s confirmation was never sent and its link has expired: failed, its payload gone.
    expect(queue()).toEqual([{ recipient: 'recent@example.org', status: 'failed', payload: '{}' }]);

    clock.advance(3 * DAY_MS);
    purgeStaleData({ ...app.ctx, clock });
    expect(emails()).toEqual(['reader@example.org']);
    expect(queue()).toEqual([]);
  });
});
