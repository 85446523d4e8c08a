import { afterEach, describe, expect, it } from 'vitest';
import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createServer, type AddressInfo, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { sendDigestDeps } from '../../src/context.ts';
import { sendDigest } from '../../src/digest/run.ts';
import { createMailer } from '../../src/mail/transport.ts';
import { createContext } from '../../src/context.ts';
import { createLogger } from '../../src/logger.ts';
import { freePort } from '../support/server-process.ts';
import { dkimVerify } from 'mailauth/lib/dkim/verify.js';
import { dkimPublicKey } from '../../src/doctor/checks.ts';
import {
  byRecipient,
  DATE,
  deliveryRows,
  freezeFixtureDay,
  seedSubscribers,
  startHarness,
  type Harness,
} from '../support/digest-harness.ts';

let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

const statuses = (h: Harness) =>
  h.ctx.db.prepare('SELECT status FROM subscribers ORDER BY id').pluck().all() as string[];
const bounceEvents = (h: Harness) =>
  h.ctx.db
    .prepare('SELECT subscriber_id, kind, reason, status, digest_date, source FROM bounce_events ORDER BY id')
    .all();

const everyoneOnce = (h: Harness, n: number) => {
  const counts = byRecipient(h.sink);
  expect(counts.size).toBe(n);
  expect([...counts.values()].every((c) => c === 1)).toBe(true);
};

describe('sendDigest against SMTP trouble', () => {
  it('when the server answers 451 for a while, then the messages are retried and delivered', async () => {
    const tries = new Map<string, number>();
    h = await startHarness({
      sink: {
        onRcpt: (address) => {
          const n = (tries.get(address) ?? 0) + 1;
          tries.set(address, n);
          return n <= 2 ? { code: 451, message: '4.7.1 Greylisted, try again later' } : undefined;
        },
      },
    });
    seedSubscribers(h.ctx.db, 6);
    freezeFixtureDay(h.ctx);
    const result = await sendDigest(h.deps, { date: DATE });
    expect(result).toMatchObject({ outcome: 'done', sent: 6, failed: 0, deferred: 12 });
    everyoneOnce(h, 6);
    expect(deliveryRows(h.ctx.db).map((r) => [r.status, r.attempts])).toEqual(Array(6).fill(['sent', 3]));
  });

  it('when 4xx replies never stop, then each delivery fails after its bounded attempts, and the last reply is a soft bounce of that digest', async () => {
    h = await startHarness({
      sink: { onRcpt: () => ({ code: 452, message: '4.2.2 Mailbox full' }) },
      policy: { maxAttempts: 3 },
    });
    seedSubscribers(h.ctx.db, 2);
    freezeFixtureDay(h.ctx);
    const result = await sendDigest(h.deps, { date: DATE });
    expect(result).toMatchObject({ outcome: 'done', sent: 0, failed: 2 });
    expect(deliveryRows(h.ctx.db).map((r) => [r.status, r.attempts])).toEqual([
      ['failed', 3],
      ['failed', 3],
    ]);
    // Not a hard bounce: the addresses stay; each full mailbox counts once for this digest.
    expect(statuses(h)).toEqual(['confirmed', 'confirmed']);
    expect(bounceEvents(h)).toEqual([
      {
        subscriber_id: 1,
        kind: 'soft',
        reason: 'mailbox-full',
        status: '4.2.2',
        digest_date: DATE,
        source: 'smtp:send',
      },
      {
        subscriber_id: 2,
        kind: 'soft',
        reason: 'mailbox-full',
        status: '4.2.2',
        digest_date: DATE,
        source: 'smtp:send',
      },
    ]);
  });

  it('when one recipient is refused with 550 5.1.1, then that one fails and is suppressed at once, as a hard bounce event of the run; the rest are delivered', async () => {
    h = await startHarness({
      sink: { onRcpt: (a) => (a === 'reader3@example.com' ? { code: 550, message: '5.1.1 No such user' } : undefined) },
    });
    seedSubscribers(h.ctx.db, 8);
    freezeFixtureDay(h.ctx);
    const result = await sendDigest(h.deps, { date: DATE });
    expect(result).toMatchObject({ outcome: 'done', sent: 7, failed: 1 });
    expect(byRecipient(h.sink).has('reader3@example.com')).toBe(false);
    expect(deliveryRows(h.ctx.db)[2]).toMatchObject({
      status: 'failed',
      attempts: 1,
      lastReply: expect.stringMatching(/^550 5\.1\.1 No such user/),
    });
    expect(statuses(h)[2]).toBe('suppressed');
    expect(bounceEvents(h)).toEqual([
      {
        subscriber_id: 3,
        kind: 'hard',
        reason: 'user-unknown',
        status: '5.1.1',
        digest_date: DATE,
        source: 'smtp:send',
      },
    ]);
    expect(h.ctx.suppressions.reasonFor('reader3@example.com')?.reason).toMatch(
      /^hard bounce: 5\.1\.1 user-unknown \(smtp:send\)/,
    );
    expect(h.ctx.bounces.runs()).toEqual([
      expect.objectContaining({ date: DATE, sent: 7, failed: 1, hard: 1, sender: 0 }),
    ]);
  });

  it('when the relay refuses one recipient for a reason about the sender (554 5.7.1 Access denied), then that recipient fails, the run ends done, the reader stays, and a resume sends nothing again', async () => {
    h = await startHarness({
      sink: {
        onRcpt: (a) =>
          a === 'reader5@example.com'
            ? { code: 554, message: '5.7.1 <reader5@example.com>: Recipient address rejected: Access denied' }
            : undefined,
      },
    });
    seedSubscribers(h.ctx.db, 30);
    freezeFixtureDay(h.ctx);
    const result = await sendDigest(h.deps, { date: DATE });
    expect(result).toMatchObject({
      outcome: 'done',
      sent: 29,
      failed: 1,
      senderRefusals: [{ domain: 'example.com', reason: 'policy', refusals: 1 }],
      backedOff: [],
    });
    expect(deliveryRows(h.ctx.db)[4]).toMatchObject({
      status: 'failed',
      lastReply: expect.stringMatching(/^554 5\.7\.1 /),
    });
    expect(statuses(h).every((s) => s === 'confirmed')).toBe(true);
    expect(bounceEvents(h)).toEqual([
      { subscriber_id: 5, kind: 'sender', reason: 'policy', status: '5.7.1', digest_date: DATE, source: 'smtp:send' },
    ]);
    expect(h.ctx.db.prepare('SELECT domain FROM bounce_events').pluck().get()).toBe('example.com');
    expect(await sendDigest(h.deps, { date: DATE })).toMatchObject({
      outcome: 'done',
      reason: 'already sent',
      sent: 0,
    });
    everyoneOnce(h, 29);
  });

  it('when the relay refuses the sender itself at MAIL FROM, then the run pauses at once and the recipient stays pending', async () => {
    let refusing = true;
    h = await startHarness({
      sink: {
        onMailFrom: () =>
          refusing ? { code: 553, message: '5.7.1 Sender address rejected: not owned by user' } : undefined,
      },
    });
    seedSubscribers(h.ctx.db, 10);
    freezeFixtureDay(h.ctx);
    const paused = await sendDigest(h.deps, { date: DATE });
    expect(paused).toMatchObject({
      outcome: 'paused',
      failed: 0,
      reason: expect.stringMatching(/policy rejection.*553 5\.7\.1 Sender address rejected/),
    });
    expect(bounceEvents(h)).toEqual([]);
    expect(deliveryRows(h.ctx.db).every((r) => r.status === 'pending' && r.attempts === 0)).toBe(true);
    refusing = false;
    expect(await sendDigest(h.deps, { date: DATE })).toMatchObject({ outcome: 'done', sent: 10 });
  });

  it('when many recipients at many domains are refused as spam, then none counts in the error budget: the run ends done', async () => {
    h = await startHarness({
      sink: { onData: () => ({ code: 550, message: '5.7.1 Message rejected as spam' }) },
      policy: { errorBudget: { maxConsecutive: 5, maxRatio: 0.1, window: 200 } },
    });
    for (let i = 0; i < 12; i++) seedSubscribers(h.ctx.db, 1, { domain: `d${i}.example` });
    freezeFixtureDay(h.ctx);
    const result = await sendDigest(h.deps, { date: DATE });
    expect(result).toMatchObject({ outcome: 'done', sent: 0, failed: 12 });
    expect(result.senderRefusals).toHaveLength(12);
    expect(statuses(h).every((s) => s === 'confirmed')).toBe(true);
    expect(h.ctx.db.prepare("SELECT count(*) FROM bounce_events WHERE kind = 'sender'").pluck().get()).toBe(12);
  });

  it('when one domain refuses 25 deliveries in a row as spam, then it is backed off: its other recipients stay pending for the next attempt, the others are delivered, and the next attempt sends them', async () => {
    let blocking = true;
    h = await startHarness({
      sink: {
        onData: (m) =>
          blocking && m.to[0]!.endsWith('@blocked.example')
            ? { code: 550, message: '5.7.1 Message rejected as spam' }
            : undefined,
      },
    });
    seedSubscribers(h.ctx.db, 40, { domain: 'blocked.example' });
    seedSubscribers(h.ctx.db, 10, { prefix: 'other', domain: 'example.org' });
    freezeFixtureDay(h.ctx);
    const result = await sendDigest(h.deps, { date: DATE });
    const refused = result.failed;
    // The window in flight when the 25th refusal came may add a few more.
    expect(refused).toBeGreaterThanOrEqual(25);
    expect(refused).toBeLessThanOrEqual(25 + h.deps.policy.maxInFlight);
    expect(result).toMatchObject({
      outcome: 'failed',
      sent: 10,
      reason: `blocked.example (spam) refused 25 deliveries in a row for the sender's reasons: backed off; ${40 - refused} of their deliveries wait for the next attempt`,
      backedOff: [{ domain: 'blocked.example', reason: 'spam', held: 40 - refused }],
      senderRefusals: [{ domain: 'blocked.example', reason: 'spam', refusals: refused }],
    });
    expect(h.ctx.ledger.byDate(DATE)?.status).toBe('failed');
    expect(byRecipient(h.sink).size).toBe(10);
    expect(statuses(h).every((s) => s === 'confirmed')).toBe(true);
    expect(deliveryRows(h.ctx.db).filter((r) => r.status === 'pending')).toHaveLength(40 - refused);

    blocking = false;
    expect(await sendDigest(h.deps, { date: DATE })).toMatchObject({ outcome: 'done', sent: 40 - refused, failed: 0 });
    expect(byRecipient(h.sink).size).toBe(50 - refused);
  });

  it('when the server rejects us on policy (5.7.x), then the run pauses, and resumes when run again', async () => {
    let blocked = true;
    h = await startHarness({
      sink: {
        onRcpt: (a) =>
          blocked && a === 'reader5@example.com' ? { code: 554, message: '5.7.1 Relay access denied' } : undefined,
      },
    });
    seedSubscribers(h.ctx.db, 30);
    freezeFixtureDay(h.ctx);
    const paused = await sendDigest(h.deps, { date: DATE });
    expect(paused).toMatchObject({
      outcome: 'paused',
      reason: expect.stringMatching(/policy rejection.*5\.7\.1 Relay access denied/),
      failed: 0,
    });
    expect(h.ctx.ledger.byDate(DATE)?.status).toBe('paused');
    // It stopped taking work: the window in flight at most went out after the rejection.
    expect(h.sink.messages.length).toBeLessThan(5 + h.deps.policy.maxInFlight);
    expect(deliveryRows(h.ctx.db).find((r) => r.subscriberId === 5)).toMatchObject({ status: 'pending' });

    blocked = false;
    expect(await sendDigest(h.deps, { date: DATE })).toMatchObject({ outcome: 'done' });
    everyoneOnce(h, 30);
  });

  it('when most deliveries fail, then the error budget pauses the run instead of burning through the list', async () => {
    h = await startHarness({
      sink: { onRcpt: () => ({ code: 550, message: '5.1.1 No such user' }) },
      policy: { errorBudget: { maxConsecutive: 5, maxRatio: 0.1, window: 200 } },
    });
    seedSubscribers(h.ctx.db, 60);
    freezeFixtureDay(h.ctx);
    const result = await sendDigest(h.deps, { date: DATE });
    expect(result).toMatchObject({
      outcome: 'paused',
      reason: expect.stringMatching(/error budget spent: 5 deliveries in a row failed/),
    });
    expect(result.failed).toBeGreaterThanOrEqual(5);
    expect(result.failed).toBeLessThanOrEqual(5 + h.deps.policy.maxInFlight);
    expect(h.ctx.ledger.deliveryCounts(h.ctx.ledger.byDate(DATE)!.id).sending).toBe(0);
  });

  it('when the SMTP server refuses connections, then the run fails clearly, and resumes later exactly once per subscriber', async () => {
    h = await startHarness({ policy: { connectionRetries: 2 } });
    seedSubscribers(h.ctx.db, 12);
    freezeFixtureDay(h.ctx);
    const live = h.deps.mailer;
    const dead = createMailer({
      smtpUrl: `smtp://127.0.0.1:${await freePort()}`,
      outboxDir: h.ctx.dir,
      poolSize: 2,
      ratePerSec: 0,
      logger: h.ctx.logger,
    });
    h.deps.mailer = dead;
    const failed = await sendDigest(h.deps, { date: DATE });
    dead.close();
    expect(failed).toMatchObject({
      outcome: 'failed',
      sent: 0,
      reason: expect.stringMatching(
        /^SMTP server 127\.0\.0\.1:\d+ refused the connection \(ECONNREFUSED\): gave up after 3 attempts in \d+ s$/,
      ),
    });
    expect(h.ctx.ledger.byDate(DATE)).toMatchObject({ status: 'failed', lastError: failed.reason });
    expect(h.ctx.ledger.deliveryCounts(h.ctx.ledger.byDate(DATE)!.id)).toMatchObject({ sending: 0, sent: 0 });
    // Connection failures are not the recipients' fault: no attempt is charged to them.
    expect(deliveryRows(h.ctx.db).every((r) => r.attempts === 0)).toBe(true);

    h.deps.mailer = live;
    expect(await sendDigest(h.deps, { date: DATE })).toMatchObject({ outcome: 'done', sent: 12 });
    everyoneOnce(h, 12);
  });

  describe('a server that is there but stalls, under a give-up deadline (which bounds the attempts too)', () => {
    const GIVE_UP_MS = 3000;

    /**
     * Sends the run to a TCP server on 127.0.0.1 that does `onConnection` and nothing else, through
     * the service's own mailer and its timeouts (10 s for a greeting, 30 s for a reply).
     */
    async function sendToStallingServer(onConnection: (socket: Socket) => void) {
      h = await startHarness({ policy: { connectionRetries: 5, retryBaseMs: 500, connectGiveUpMs: GIVE_UP_MS } });
      seedSubscribers(h.ctx.db, 6);
      freezeFixtureDay(h.ctx);
      const sockets = new Set<Socket>();
      const server = createServer((socket) => {
        sockets.add(socket);
        socket.on('error', () => undefined);
        onConnection(socket);
      });
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      const port = (server.address() as AddressInfo).port;
      const mailer = createMailer({
        smtpUrl: `smtp://127.0.0.1:${port}`,
        outboxDir: h.ctx.dir,
        poolSize: 2,
        ratePerSec: 0,
        logger: h.ctx.logger,
      });
      h.deps.mailer = mailer;
      try {
        const result = await sendDigest(h.deps, { date: DATE });
        return { result, port };
      } finally {
        mailer.close();
        for (const socket of sockets) socket.destroy();
        server.close();
      }
    }

    /** The seconds the reason says the send took before it gave up. */
    const reportedSeconds = (reason: string | undefined) => Number(/ in (\d+) s\b/.exec(reason ?? '')?.[1]);

    it('when it accepts the connection but never greets, then the run fails in time, saying so', async () => {
      const { result, port } = await sendToStallingServer(() => undefined);
      expect(result).toMatchObject({
        outcome: 'failed',
        sent: 0,
        reason: expect.stringMatching(
          new RegExp(`^SMTP server 127\\.0\\.0\\.1:${port} accepted the connection but never greeted .*gave up after`),
        ),
      });
      expect(reportedSeconds(result.reason)).toBeLessThanOrEqual(GIVE_UP_MS / 1000 + 10);
      expect(deliveryRows(h!.ctx.db).every((r) => r.attempts === 0 && r.status === 'pending')).toBe(true);
    });

    it('when it greets, then stops answering after EHLO, then the run fails in time, saying so', async () => {
      const { result, port } = await sendToStallingServer((socket) => socket.write('220 stall.example ESMTP\r\n'));
      expect(result).toMatchObject({
        outcome: 'failed',
        sent: 0,
        reason: expect.stringMatching(
          new RegExp(`^SMTP server 127\\.0\\.0\\.1:${port} greeted, then stopped answering after EHLO .*gave up after`),
        ),
      });
      expect(reportedSeconds(result.reason)).toBeLessThanOrEqual(GIVE_UP_MS / 1000 + 10);
    });
  });

  it('when two senders start the same run at once, then one sends and the other stands back: no duplicates', async () => {
    h = await startHarness();
    seedSubscribers(h.ctx.db, 20);
    freezeFixtureDay(h.ctx);
    // A second process's view: its own connection to the same database file.
    const other = createContext(h.ctx.config, createLogger('silent'), { clock: h.ctx.clock });
    try {
      const otherDeps = { ...(await sendDigestDeps(other)), policy: { ...h.deps.policy } };
      const [a, b] = await Promise.all([sendDigest(h.deps, { date: DATE }), sendDigest(otherDeps, { date: DATE })]);
      expect([a.outcome, b.outcome].sort()).toEqual(['busy', 'done']);
      expect([a, b].find((r) => r.outcome === 'busy')!.reason).toMatch(/another sender \(.+\) holds this run until/);
      everyoneOnce(h, 20);
    } finally {
      other.close();
    }
  });

  it('when DKIM is configured, then every message arrives signed, and the signature verifies', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'paperboy-dkim-'));
    try {
      const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
      const keyPath = join(dir, 'dkim.pem');
      writeFileSync(keyPath, privateKey.export({ type: 'pkcs8', format: 'pem' }));
      h = await startHarness({
        env: { DKIM_DOMAIN: 'papers.example.org', DKIM_SELECTOR: 'pb2026', DKIM_PRIVATE_KEY_PATH: keyPath },
      });
      seedSubscribers(h.ctx.db, 3);
      freezeFixtureDay(h.ctx);
      await sendDigest(h.deps, { date: DATE });
      expect(h.sink.messages).toHaveLength(3);
      // mailauth, an independent implementation, with the selector's record as DNS would give it.
      const record = `v=DKIM1; k=rsa; p=${dkimPublicKey(privateKey.export({ type: 'pkcs8', format: 'pem' }) as string)}`;
      const resolver = async (name: string, rr: string) => {
        if (rr === 'TXT' && name === 'pb2026._domainkey.papers.example.org') return [[record]];
        throw Object.assign(new Error(`no ${rr} for ${name}`), { code: 'ENOTFOUND' });
      };
      for (const m of h.sink.messages) {
        const { results } = await dkimVerify(m.raw, { resolver });
        expect(results.map((r) => [r.signingDomain, r.selector, r.algo, r.status.result])).toEqual([
          ['papers.example.org', 'pb2026', 'rsa-sha256', 'pass'],
        ]);
        const signed = /^DKIM-Signature:[\s\S]*?\bh=([^;]+);/im.exec(m.raw.toString('latin1'))![1]!;
        expect(signed.replace(/\s+/g, '').toLowerCase().split(':')).toEqual(
          expect.arrayContaining(['from', 'to', 'subject', 'list-unsubscribe', 'list-unsubscribe-post', 'message-id']),
        );
        // Changing a byte of the body must break it: the check is real.
        const tampered = Buffer.from(m.raw.toString('latin1').replace('Unsubscribe', 'Unsubscrib3'), 'latin1');
        expect((await dkimVerify(tampered, { resolver })).results.map((r) => r.status.result)).toEqual(['fail']);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
