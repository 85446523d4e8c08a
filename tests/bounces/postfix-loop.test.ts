import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { handleReportDeps, sendDigestDeps } from '../../src/context.ts';
import { sendDigest } from '../../src/digest/run.ts';
import { startBounceReceiver, type BounceReceiver } from '../../src/bounces/sources/receiver.ts';
import { parseReport } from '../../src/bounces/classify/parse-report.ts';
import { createTestContext, type TestContext } from '../support/test-context.ts';
import { CONFIRMED_AT, DATE, freezeFixtureDay, testPolicy } from '../support/digest-harness.ts';
import { postfixUnavailable, startPostfix, waitFor, type PostfixInstance } from '../support/postfix.ts';
import { freePort } from '../support/server-process.ts';

/**
 * The whole bounce loop with a real MTA, nothing written by hand: the digest goes to a private
 * Postfix as its relay; Postfix cannot deliver to dead.test, writes the DSN itself, addressed to
 * the digest's VERP envelope sender, and delivers it (transport map for bounce.test) to the
 * bounce receiver, whose report suppresses the subscriber.
 */
let ctx: TestContext | undefined;
let receiver: BounceReceiver | undefined;
let postfix: PostfixInstance | undefined;

beforeAll(async () => {
  const missing = postfixUnavailable();
  if (missing) throw new Error(`the Postfix loop test needs a real Postfix: ${missing}`);
  const receiverPort = await freePort();
  postfix = await startPostfix({
    'dead.test': 'error:5.1.1 mailbox unavailable',
    'example.org': 'discard:delivered',
    'bounce.test': `smtp:[127.0.0.1]:${receiverPort}`,
  });
  ctx = createTestContext({
    SMTP_URL: postfix.url,
    MAIL_FROM: 'Paperboy <digest@papers.example.org>',
    BOUNCE_DOMAIN: 'bounce.test',
    SMTP_POOL_SIZE: '1',
  });
  receiver = await startBounceReceiver(handleReportDeps(ctx, parseReport), {
    host: '127.0.0.1',
    port: receiverPort,
    maxBytes: ctx.config.BOUNCE_MAX_BYTES,
    maxPerClient: ctx.config.BOUNCE_SMTP_MAX_PER_CLIENT,
  });
}, 60_000);

afterAll(async () => {
  await postfix?.stop();
  await receiver?.close();
  ctx?.close();
}, 30_000);

describe('bounces with a real MTA (Postfix)', () => {
  it("when a digest goes to an address Postfix cannot deliver, then Postfix's own DSN reaches the receiver through the VERP address and the subscriber ends suppressed; the deliverable one stays", async () => {
    const c = ctx!;
    const insert = c.db.prepare(
      `INSERT INTO subscribers (email, status, digest_size, keywords, confirmed_at, created_at, updated_at) VALUES (?, 'confirmed', 10, '', ?, ?, ?) RETURNING id`,
    );
    const gone = (insert.get('gone@dead.test', CONFIRMED_AT, CONFIRMED_AT, CONFIRMED_AT) as { id: number }).id;
    const kept = (insert.get('kept@example.org', CONFIRMED_AT, CONFIRMED_AT, CONFIRMED_AT) as { id: number }).id;
    freezeFixtureDay(c);
    const deps = await sendDigestDeps(c);
    deps.policy = { ...deps.policy, ...testPolicy() };

    const result = await sendDigest(deps, { date: DATE });
    // Postfix takes both at RCPT: the failure comes later, as its own DSN.
    expect(result).toMatchObject({ outcome: 'done', sent: 2, failed: 0 });

    const status = (id: number) => c.subscribers.byId(id)?.status;
    await waitFor(
      () => (status(gone) === 'suppressed' ? true : null),
      60_000,
      () => `the subscriber was not suppressed within 60 s (status ${status(gone)}). Postfix's log:\n${postfix!.log()}`,
    );
    expect(status(kept)).toBe('confirmed');
    const events = c.db.prepare('SELECT subscriber_id, kind, status, digest_date, source FROM bounce_events').all();
    expect(events).toEqual([
      { subscriber_id: gone, kind: 'hard', status: '5.1.1', digest_date: DATE, source: 'smtp:receiver' },
    ]);
    // The DSN went to the VERP address the digest carried, from the null sender.
    expect(postfix!.log()).toMatch(/from=<bounces\+\d+-20261124-[a-z2-7]{16}@bounce\.test>/);
    // Postfix writes its "sent" line once the receiver's 250 is in, which may be after the suppression.
    const delivered =
      /to=<bounces\+\d+-20261124-[a-z2-7]{16}@bounce\.test>, relay=127\.0\.0\.1\[127\.0\.0\.1\]:\d+, .*status=sent/;
    await waitFor(
      () => (delivered.test(postfix!.log()) ? true : null),
      10_000,
      () => `Postfix did not log the DSN's delivery to the receiver:\n${postfix!.log()}`,
    );
  }, 90_000);
});
