import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  startBounceReceiver,
  type BounceReceiver,
  type BounceReceiverOptions,
} from '../../src/bounces/sources/receiver.ts';
import type { HandleReportDeps } from '../../src/bounces/handle-report.ts';
import { handleReportDeps } from '../../src/context.ts';
import { parseReport } from '../../src/bounces/classify/parse-report.ts';
import { verpAddress } from '../../src/bounces/verp.ts';
import { createLogger } from '../../src/logger.ts';
import { bounceMail } from '../support/bounce-fixtures.ts';
import { connectRawSmtp, type RawSmtp } from '../support/raw-smtp.ts';
import { createBounceTest, deliverReport, type BounceTest } from './support.ts';

const BOUNCE_DOMAIN = 'bounce.papers.example.org';
/** A real Postfix DSN (the remote domain does not exist: 5.4.4, hard), as the n-th of its kind. */
const postfixDsn = (n = 1) =>
  Buffer.from(
    bounceMail('lhost-postfix-06.eml')
      .toString('latin1')
      .replace(/^Message-Id: <(.*)>$/m, `Message-Id: <${n}.$1>`),
    'latin1',
  );

let t: BounceTest;
let receiver: BounceReceiver | undefined;
const clients: RawSmtp[] = [];
beforeEach(() => {
  t = createBounceTest({ BOUNCE_DOMAIN });
});
afterEach(async () => {
  for (const c of clients.splice(0)) c.destroy();
  await receiver?.close();
  receiver = undefined;
  t.ctx.close();
});

async function start(
  o: Partial<BounceReceiverOptions> = {},
  deps: HandleReportDeps = handleReportDeps(t.ctx, parseReport),
) {
  receiver = await startBounceReceiver(deps, {
    host: '127.0.0.1',
    port: 0,
    maxBytes: 1_000_000,
    maxPerClient: 10,
    ...o,
  });
  return receiver;
}

const verp = (subscriberId: number) => verpAddress({ subscriberId }, t.ctx.secret, BOUNCE_DOMAIN);

/** Opens a connection from `from` (a loopback address) and reads its greeting. */
async function connect(from: string): Promise<{ client: RawSmtp; greeting: string }> {
  const client = await connectRawSmtp({ port: receiver!.port, localAddress: from });
  clients.push(client);
  return { client, greeting: await client.reply() };
}

const connectMany = (n: number, from: string) => Promise.all(Array.from({ length: n }, () => connect(from)));

/** Delivers a report as a mail system would (null sender), through nodemailer, from `from`. */
const deliver = (to: string, raw: Buffer | string, from: string) => deliverReport(receiver!.port, to, raw, from);

/** One report over a session already greeted: the reply to its end of data. */
async function sendReport(c: RawSmtp, to: string, raw: Buffer): Promise<string> {
  expect(await c.command('MAIL FROM:<>')).toMatch(/^250/);
  expect(await c.command(`RCPT TO:<${to}>`)).toMatch(/^250/);
  expect(await c.command('DATA')).toMatch(/^354/);
  c.write(`${raw.toString('latin1').replace(/\r?\n/g, '\r\n').replace(/^\./gm, '..')}\r\n.\r\n`);
  return c.reply();
}

/**
 * Sends NOOP, RSET, MAIL FROM (a transaction that never gets a recipient), HELP and VRFY in turn
 * until the server stops answering 2xx; returns the replies. Bounded, so a receiver that never
 * closes fails the test instead of hanging it.
 */
async function keepBusyWithoutMail(c: RawSmtp): Promise<string[]> {
  const commands = ['NOOP', 'RSET', 'MAIL FROM:<>', 'RSET', 'HELP', 'VRFY postmaster'];
  const replies: string[] = [];
  for (let i = 0; i < 400; i++) {
    const reply = await c.command(commands[i % commands.length]!).catch(() => 'closed without a reply');
    replies.push(reply);
    if (!reply.startsWith('2')) return replies;
    await sleep(25);
  }
  return replies;
}

describe('the bounce receiver under load: connections per client and in all', () => {
  it('when 60 connections from one address sit idle sending NOOP, then it holds 10 of them (the rest get 421 4.7.0) and a real DSN from another address is accepted and acted on', async () => {
    await start();
    const [ada] = t.subscribe('ada@example.org');
    const idle = await connectMany(60, '127.0.0.2');
    const admitted = idle.filter((s) => s.greeting.startsWith('220 '));
    const refused = idle.filter((s) => s.greeting.startsWith('421 '));
    expect([admitted.length, refused.length]).toEqual([10, 50]);
    for (const s of refused) expect(s.greeting).toMatch(/^421 4\.7\.0 /);
    await Promise.all(refused.map((s) => s.client.closed));
    for (const reply of await Promise.all(admitted.map((s) => s.client.command('NOOP')))) expect(reply).toMatch(/^250/);

    const info = await deliver(verp(ada!), postfixDsn(), '127.0.0.3');
    expect(info.response).toMatch(/^250/);
    expect(t.status(ada!)).toBe('suppressed');
    expect(t.events()).toEqual([
      expect.objectContaining({ subscriber_id: ada, kind: 'hard', source: 'smtp:receiver' }),
    ]);
  });

  it('when an address holds BOUNCE_SMTP_MAX_PER_CLIENT connections, then its next one gets 421 4.7.0 and is closed, another address still gets in, and a freed place can be taken again', async () => {
    await start({ maxPerClient: 10 });
    const held = await connectMany(10, '127.0.0.2');
    for (const s of held) expect(s.greeting).toMatch(/^220 /);

    const eleventh = await connect('127.0.0.2');
    expect(eleventh.greeting).toMatch(/^421 4\.7\.0 /);
    await eleventh.client.closed;
    expect((await connect('127.0.0.3')).greeting).toMatch(/^220 /);

    expect(await held[0]!.client.command('QUIT')).toMatch(/^221/);
    await held[0]!.client.closed;
    expect((await connect('127.0.0.2')).greeting).toMatch(/^220 /);
  });

  it('when many addresses each hold their share and the receiver is full, then a new address gets 421 until a place frees up', async () => {
    await start({ maxPerClient: 2, maxClients: 4 });
    const held = [...(await connectMany(2, '127.0.0.2')), ...(await connectMany(2, '127.0.0.3'))];
    for (const s of held) expect(s.greeting).toMatch(/^220 /);

    const late = await connect('127.0.0.4');
    expect(late.greeting).toMatch(/^421 4\.3\.2 /);
    await late.client.closed;

    expect(await held[0]!.client.command('QUIT')).toMatch(/^221/);
    await held[0]!.client.closed;
    expect((await connect('127.0.0.4')).greeting).toMatch(/^220 /);
  });

  it('when the receiver listens on IPv6 and IPv4 at once, then an IPv4 client is counted and logged under its IPv4 address', async () => {
    const lines: string[] = [];
    const logger = createLogger('info', 'stdout', { destination: { write: (line: string) => void lines.push(line) } });
    await start({ host: '::', maxPerClient: 1 }, { ...handleReportDeps(t.ctx, parseReport), logger });
    expect((await connect('127.0.0.2')).greeting).toMatch(/^220 /);
    expect((await connect('127.0.0.2')).greeting).toMatch(/^421 4\.7\.0 /);
    const refusals = lines
      .map((l) => JSON.parse(l) as { level: number; client?: string })
      .filter((l) => l.level === 40);
    expect(refusals).toEqual([expect.objectContaining({ client: '127.0.0.2' })]);
  });
});

describe('the bounce receiver under load: what one session may do', () => {
  it('when a session sends nothing but NOOP, RSET, MAIL FROM, HELP and VRFY, then it is closed with 421 after the idle timeout', async () => {
    await start({ idleTimeoutMs: 300 });
    const { client, greeting } = await connect('127.0.0.2');
    expect(greeting).toMatch(/^220 /);
    expect(await client.command('EHLO mx.example.net')).toMatch(/^250/);

    const replies = await keepBusyWithoutMail(client);
    expect(replies.length).toBeGreaterThan(1);
    expect(replies.slice(0, -1)).toEqual(replies.slice(0, -1).map(() => expect.stringMatching(/^2\d\d/)));
    expect(replies.at(-1)).toMatch(/^421 4\.4\.2 /);
    await client.closed;
  });

  it('when a session names an accepted recipient, then its idle time starts again', async () => {
    await start({ idleTimeoutMs: 1_000 });
    const [ada] = t.subscribe('ada@example.org');
    const { client } = await connect('127.0.0.2');
    expect(await client.command('EHLO mx.example.net')).toMatch(/^250/);
    await sleep(600);
    expect(await client.command('MAIL FROM:<>')).toMatch(/^250/);
    expect(await client.command(`RCPT TO:<${verp(ada!)}>`)).toMatch(/^250/);
    await sleep(600);
    expect(await client.command('NOOP')).toMatch(/^250/);
  });

  it('when a message stops arriving halfway, then the session is closed with 421 after the idle timeout and nothing is acted on', async () => {
    await start({ idleTimeoutMs: 300 });
    const [ada] = t.subscribe('ada@example.org');
    const { client } = await connect('127.0.0.2');
    expect(await client.command('EHLO mx.example.net')).toMatch(/^250/);
    expect(await client.command('MAIL FROM:<>')).toMatch(/^250/);
    expect(await client.command(`RCPT TO:<${verp(ada!)}>`)).toMatch(/^250/);
    expect(await client.command('DATA')).toMatch(/^354/);
    client.write('From: MAILER-DAEMON@mx.example.net\r\nSubject: Undelivered Mail\r\n');

    expect(await client.reply()).toMatch(/^421 4\.4\.2 /);
    await client.closed;
    expect(t.status(ada!)).toBe('confirmed');
  });

  it('when the receiver takes longer than the idle timeout to handle a message, then the sender waits for its answer and is not cut off', async () => {
    let release = () => {};
    const released = new Promise<void>((resolve) => (release = resolve));
    const deps = handleReportDeps(t.ctx, async (raw) => {
      await released;
      return parseReport(raw);
    });
    await start({ idleTimeoutMs: 200 }, deps);
    const [ada] = t.subscribe('ada@example.org');
    const { client } = await connect('127.0.0.2');
    expect(await client.command('EHLO mx.example.net')).toMatch(/^250/);
    const answer = sendReport(client, verp(ada!), postfixDsn());
    await sleep(800);
    release();

    expect(await answer).toMatch(/^250/);
    expect(t.status(ada!)).toBe('suppressed');
    expect(await client.command('NOOP')).toMatch(/^250/);
  });

  it('when a session reaches the command cap, then its next command gets 421 4.7.0 and the connection is closed', async () => {
    await start({ maxCommands: 5 });
    const { client } = await connect('127.0.0.2');
    expect(await client.command('EHLO mx.example.net')).toMatch(/^250/);
    for (let i = 2; i <= 5; i++) expect(await client.command('NOOP')).toMatch(/^250/);

    expect(await client.command('NOOP')).toMatch(/^421 4\.7\.0 /);
    await client.closed;
  });

  it('when a session has delivered the message cap, then its next MAIL FROM gets 421 4.7.0 and the connection is closed; a new session delivers the next one', async () => {
    await start({ maxMessages: 2 });
    const [ada, bob, eve] = t.subscribe('ada@example.org', 'bob@example.org', 'eve@example.org');
    const { client } = await connect('127.0.0.2');
    expect(await client.command('EHLO mx.example.net')).toMatch(/^250/);
    expect(await sendReport(client, verp(ada!), postfixDsn(1))).toMatch(/^250/);
    expect(await sendReport(client, verp(bob!), postfixDsn(2))).toMatch(/^250/);

    expect(await client.command('MAIL FROM:<>')).toMatch(/^421 4\.7\.0 /);
    await client.closed;

    const next = await connect('127.0.0.2');
    expect(await next.client.command('EHLO mx.example.net')).toMatch(/^250/);
    expect(await sendReport(next.client, verp(eve!), postfixDsn(3))).toMatch(/^250/);
    expect([t.status(ada!), t.status(bob!), t.status(eve!)]).toEqual(['suppressed', 'suppressed', 'suppressed']);
  });
});
