import { SMTPServer } from 'smtp-server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { handleReportDeps, sendDigestDeps } from '../../src/context.ts';
import { sendDigest } from '../../src/digest/run.ts';
import { startBounceReceiver, type BounceReceiver } from '../../src/bounces/sources/receiver.ts';
import { parseReport } from '../../src/bounces/classify/parse-report.ts';
import { createTestContext, type TestContext } from '../support/test-context.ts';
import { clockFromNow, CONFIRMED_AT, freezeFixtureDay, testPolicy } from '../support/digest-harness.ts';
import { postfixUnavailable, startPostfix, waitFor, type PostfixInstance } from '../support/postfix.ts';
import { freePort } from '../support/server-process.ts';
import { runScript } from '../support/cli.ts';

/**
 * A postmaster's view of what comes back, with real parts only: the digests go to a private
 * Postfix as their relay. Postfix itself refuses two addresses at RCPT TO (an unknown user, and
 * one its policy denies); the rest it relays to the readers' mail server (smtp-server on
 * 127.0.0.1), which accepts one reader, refuses another's digests as spam after DATA, and keeps
 * a third's mailbox "temporarily unavailable". Postfix writes its own DSNs and delay notices to
 * each digest's VERP address, and delivers them to the bounce receiver.
 */
const DATES = ['2026-11-20', '2026-11-23', '2026-11-24'];
const READERS = ['ok', 'spam', 'slow', 'gone', 'pia'].map((n) => `${n}@mx.test`);

let ctx: TestContext | undefined;
let receiver: BounceReceiver | undefined;
let postfix: PostfixInstance | undefined;
let mx: SMTPServer | undefined;
const delivered: string[] = [];

const refuse = (code: number, message: string) => Object.assign(new Error(message), { responseCode: code });

async function startReadersServer(port: number): Promise<SMTPServer> {
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS'],
    disableReverseLookup: true,
    logger: false,
    onRcptTo(address, _session, cb) {
      if (address.address === 'slow@mx.test') return cb(refuse(450, '4.2.1 Mailbox temporarily unavailable'));
      cb();
    },
    onData(stream, session, cb) {
      stream.resume();
      stream.on('end', () => {
        const to = session.envelope.rcptTo.map((r) => r.address);
        if (to.includes('spam@mx.test')) return cb(refuse(550, '5.7.1 Message rejected as spam by content filter'));
        delivered.push(...to);
        cb();
      });
    },
  });
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  return server;
}

beforeAll(async () => {
  const missing = postfixUnavailable();
  if (missing) throw new Error(`this test needs a real Postfix: ${missing}`);
  const [receiverPort, mxPort] = [await freePort(), await freePort()];
  mx = await startReadersServer(mxPort);
  postfix = await startPostfix(
    { 'mx.test': `smtp:[127.0.0.1]:${mxPort}`, 'bounce.test': `smtp:[127.0.0.1]:${receiverPort}` },
    {
      recipientAccess: { 'gone@mx.test': '550 5.1.1 User unknown', 'pia@mx.test': 'REJECT Access denied' },
      delayWarning: '1s',
    },
  );
  ctx = createTestContext(
    {
      SMTP_URL: postfix.url,
      MAIL_FROM: 'Paperboy <digest@papers.example.org>',
      BOUNCE_DOMAIN: 'bounce.test',
      SMTP_POOL_SIZE: '1',
    },
    { clock: clockFromNow() },
  );
  receiver = await startBounceReceiver(handleReportDeps(ctx, parseReport), {
    host: '127.0.0.1',
    port: receiverPort,
    maxBytes: ctx.config.BOUNCE_MAX_BYTES,
    maxPerClient: 20,
  });
}, 60_000);

afterAll(async () => {
  await postfix?.stop();
  await receiver?.close();
  await new Promise<void>((resolve) => (mx ? mx.close(() => resolve()) : resolve()));
  ctx?.close();
}, 30_000);

describe('what comes back through a real MTA, judged as a postmaster would', () => {
  it('when digests are refused as spam, delayed, refused at RCPT as unknown or by policy, then only the unknown address is suppressed, at once, and the runs end done', async () => {
    const c = ctx!;
    const insert = c.db.prepare(
      `INSERT INTO subscribers (email, status, digest_size, keywords, confirmed_at, created_at, updated_at) VALUES (?, 'confirmed', 10, '', ?, ?, ?) RETURNING id`,
    );
    const ids = READERS.map(
      (email) => (insert.get(email, CONFIRMED_AT, CONFIRMED_AT, CONFIRMED_AT) as { id: number }).id,
    );
    const [ok, spam, slow, gone, pia] = ids as [number, number, number, number, number];
    const deps = await sendDigestDeps(c);
    deps.policy = { ...deps.policy, ...testPolicy() };

    const results = [];
    for (const date of DATES) {
      freezeFixtureDay(c, date);
      results.push(await sendDigest(deps, { date }));
    }
    // Postfix refused gone@ (5.1.1) and pia@ (5.7.1) at RCPT: each fails alone, the run goes on.
    expect(results.map((r) => [r.outcome, r.sent, r.failed])).toEqual([
      ['done', 3, 2],
      ['done', 3, 1],
      ['done', 3, 1],
    ]);
    const status = (id: number) => c.subscribers.byId(id)?.status;
    expect(status(gone)).toBe('suppressed');

    const events = () =>
      c.db
        .prepare(
          'SELECT subscriber_id AS id, kind, reason, status, digest_date AS date, source, domain FROM bounce_events ORDER BY id',
        )
        .all() as { id: number; kind: string; reason: string; status: string; date: string; source: string }[];
    const of = (id: number, kind: string) => events().filter((e) => e.id === id && e.kind === kind);
    await waitFor(
      () => (of(spam, 'sender').length === 3 && of(slow, 'delayed').length === 3 ? true : null),
      60_000,
      () => `the DSNs and delay notices did not all arrive: ${JSON.stringify(events())}\n${postfix!.log()}`,
    );

    expect(of(gone, 'hard')).toEqual([
      {
        id: gone,
        kind: 'hard',
        reason: 'user-unknown',
        status: '5.1.1',
        date: DATES[0],
        source: 'smtp:send',
        domain: 'mx.test',
      },
    ]);
    expect(of(pia, 'sender').map((e) => [e.reason, e.status, e.date, e.source])).toEqual(
      DATES.map((d) => ['policy', '5.7.1', d, 'smtp:send']),
    );
    // Reports arrive in whatever order Postfix sends them.
    expect(
      of(spam, 'sender')
        .map((e) => [e.reason, e.date, e.source])
        .sort(),
    ).toEqual(DATES.map((d) => ['spam', d, 'smtp:receiver']));
    expect(
      of(slow, 'delayed')
        .map((e) => e.date)
        .sort(),
    ).toEqual(DATES);
    // Refused as spam on three digests, delayed on three: both readers stay, as do the others.
    expect([ok, spam, slow, gone, pia].map(status)).toEqual([
      'confirmed',
      'confirmed',
      'confirmed',
      'suppressed',
      'confirmed',
    ]);
    expect(events().filter((e) => e.kind === 'soft' || (e.kind === 'hard' && e.id !== gone))).toEqual([]);
    expect(delivered.filter((a) => a === 'ok@mx.test')).toHaveLength(3);

    const env = { DATABASE_PATH: c.config.DATABASE_PATH, SECRET: c.secret };
    const listed = await runScript('bounces', ['list'], env);
    expect(listed.code, listed.stderr).toBe(0);
    expect(listed.stdout).toMatch(
      new RegExp(
        `\\thard\\tgone@mx\\.test\\t5\\.1\\.1\\tuser-unknown\\t${DATES[0]}\\tsmtp:send\\t550 5\\.1\\.1 <…@mx\\.test>`,
      ),
    );
    const stats = await runScript('bounces', ['stats'], env);
    expect(stats.stdout).toMatch(new RegExp(`^${DATES[0]}\\t3\\t1\\t0\\t0\\t20\\.0 %\\t`, 'm'));
    expect(stats.stdout).toMatch(/^mx\.test\tspam\t3\t1\t/m);
    expect(stats.stdout).toMatch(/^mx\.test\tpolicy\t3\t1\t/m);
  }, 120_000);
});
