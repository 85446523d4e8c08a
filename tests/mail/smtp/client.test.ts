import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { createServer, connect, type Server, type Socket } from 'node:net';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import { simpleParser } from 'mailparser';
import { createSmtpClient, type SmtpClient, type SmtpClientOptions } from '../../../src/mail/smtp/pool.ts';
import { parseSmtpUrl } from '../../../src/mail/smtp/url.ts';
import { RateGate } from '../../../src/mail/smtp/rate-gate.ts';
import { toSmtpData } from '../../../src/mail/smtp/message.ts';
import type { SmtpError } from '../../../src/mail/smtp/replies.ts';
import { prepareMessage, renderMessage } from '../../../src/mail/raw-message.ts';
import { classifySmtpError } from '../../../src/mail/smtp/replies.ts';
import { createMailer } from '../../../src/mail/transport.ts';
import { createLogger } from '../../../src/logger.ts';
import { startSmtpSink, type SmtpSink, type SmtpSinkOptions } from '../../support/smtp-sink.ts';
import { freePort } from '../../support/server-process.ts';
import { selfSignedCertificate } from '../../support/tls.ts';

const FROM = 'digest@papers.example.org';

let sink: SmtpSink | undefined;
let client: SmtpClient | undefined;
const servers: Server[] = [];
afterEach(async () => {
  await client?.close();
  client = undefined;
  await sink?.close();
  sink = undefined;
  for (const s of servers.splice(0)) await new Promise((r) => s.close(r));
});

async function start(o: SmtpSinkOptions = {}, c: Partial<SmtpClientOptions> & { url?: string } = {}) {
  sink = await startSmtpSink(o);
  client = createSmtpClient({ url: sink.url, poolSize: 1, ratePerSec: 0, ...c });
  return { sink, client };
}

const simple = (to: string, body = 'Hello.\r\n') => ({
  envelope: { from: FROM, to: [to] },
  raw: Buffer.from(`From: ${FROM}\r\nTo: ${to}\r\nSubject: test\r\n\r\n${body}`, 'latin1'),
});

const rejection = (p: Promise<unknown>) =>
  p.then(
    () => {
      throw new Error('expected a rejection');
    },
    (e: SmtpError) => e,
  );

describe('smtp client: the bytes', () => {
  it('when a digest built by raw-message is sent, then the server receives exactly its bytes, and mailparser reads what was sent', async () => {
    await start();
    const prepared = prepareMessage(
      {
        subject: 'Paperboy · Top papers — 大规模语言模型 🚀',
        html: `<p>${'Scaling “reasoning”. '.repeat(300)}</p><a href="{{unsubscribe_url}}">Unsubscribe</a>`,
        text: `${'Plain text line.\n'.repeat(200)}Unsubscribe: {{unsubscribe_url}}`,
      },
      { from: `Paperboy <${FROM}>`, listId: '"Paperboy daily digest" <daily.papers.example.org>' },
    );
    const message = renderMessage(prepared, {
      to: 'reader@example.com',
      messageId: 'digest.2026-11-24.1@papers.example.org',
      date: new Date('2026-11-25T07:00:00Z'),
      unsubscribeUrl: 'https://papers.example.org/unsubscribe/1.abc',
      preferencesUrl: 'https://papers.example.org/preferences/1.abc',
    });
    expect(message.smtpReady).toBe(true);
    const info = await client!.send({ envelope: message.envelope, raw: message.chunks, smtpReady: message.smtpReady });
    expect(info).toMatchObject({
      response: expect.stringMatching(/^250 /),
      accepted: ['reader@example.com'],
      rejected: [],
    });
    const [received] = await sink!.waitFor(1);
    expect(received!.raw.equals(message.raw)).toBe(true);
    const sent = await simpleParser(message.raw);
    expect(received!.parsed.subject).toBe(sent.subject);
    expect(received!.parsed.text).toBe(sent.text);
    expect(received!.parsed.html).toBe(sent.html);
    expect(received!.parsed.messageId).toBe('<digest.2026-11-24.1@papers.example.org>');
  });

  it('when lines start with "." and end in bare LF, then the message is dot-stuffed and CRLF-terminated on the way and arrives as written', async () => {
    await start();
    const text = 'From: a@example.org\nSubject: dots\n\n.one dot\n..two dots\n.\nlast line without a break';
    await client!.send({ envelope: { from: FROM, to: ['dots@example.com'] }, raw: Buffer.from(text, 'latin1') });
    const [received] = await sink!.waitFor(1);
    expect(received!.raw.toString('latin1')).toBe(`${text.replace(/\n/g, '\r\n')}\r\n`);
    expect(received!.parsed.text).toBe('.one dot\n..two dots\n.\nlast line without a break\n');
  });

  it('when a digest has a line starting with ".", then it is not marked SMTP-ready and still arrives intact', async () => {
    await start();
    const prepared = prepareMessage(
      { subject: 's', html: '<p>x</p>', text: 'Intro\n.hidden dot line\nUnsubscribe: {{unsubscribe_url}}' },
      { from: FROM, listId: '<daily.papers.example.org>' },
    );
    const message = renderMessage(prepared, {
      to: 'reader@example.com',
      messageId: 'm.1@papers.example.org',
      date: new Date(),
      unsubscribeUrl: 'https://x.example/u',
      preferencesUrl: 'https://x.example/p',
    });
    expect(message.smtpReady).toBe(false);
    await client!.send({ envelope: message.envelope, raw: message.chunks, smtpReady: message.smtpReady });
    const [received] = await sink!.waitFor(1);
    expect(received!.raw.equals(message.raw)).toBe(true);
    expect(received!.parsed.text).toContain('\n.hidden dot line\n');
  });

  it('when a message needs no transparency work, then toSmtpData hands back the same Buffer; otherwise it stuffs every line-initial dot', () => {
    const clean = Buffer.from('a\r\nb.\r\n c\r\n', 'latin1');
    expect(toSmtpData(clean)).toBe(clean);
    expect(toSmtpData(Buffer.from('.a\r\nb\r\n.\r\n..c', 'latin1')).toString('latin1')).toBe(
      '..a\r\nb\r\n..\r\n...c\r\n',
    );
  });
});

describe('smtp client: the session', () => {
  let key: string;
  let cert: string;
  beforeAll(() => {
    ({ key, cert } = selfSignedCertificate('localhost', 'IP:127.0.0.1,DNS:localhost'));
  });

  it.each(['PLAIN', 'LOGIN'] as const)(
    'when the server asks for AUTH %s, then the URL-decoded user and password log in',
    async (method) => {
      sink = await startSmtpSink({ auth: { user: 'paper boy@example.org', pass: 'p@ss:w/rd%', methods: [method] } });
      client = createSmtpClient({
        url: `smtp://${encodeURIComponent('paper boy@example.org')}:${encodeURIComponent('p@ss:w/rd%')}@127.0.0.1:${sink.port}`,
        poolSize: 1,
        ratePerSec: 0,
      });
      await client.send(simple('auth@example.com'));
      expect(sink.connections.logins).toEqual([{ method, user: 'paper boy@example.org' }]);
      expect((await sink.waitFor(1))[0]!.user).toBe('paper boy@example.org');
    },
  );

  it('when the password is wrong, then the message fails with EAUTH, which pauses a run (policy)', async () => {
    sink = await startSmtpSink({ auth: { user: 'u', pass: 'right' } });
    client = createSmtpClient({ url: `smtp://u:wrong@127.0.0.1:${sink.port}`, poolSize: 1, ratePerSec: 0 });
    const err = await rejection(client.send(simple('a@example.com')));
    expect(err).toMatchObject({ code: 'EAUTH', responseCode: 535 });
    expect(classifySmtpError(err)).toBe('policy');
  });

  it('when the server offers STARTTLS, then the session is upgraded before the message (and its certificate is checked)', async () => {
    await start({ tls: { key, cert } }, { tls: { ca: cert } });
    await client!.send(simple('tls@example.com'));
    expect((await sink!.waitFor(1))[0]!.secure).toBe(true);

    // Without the CA, the self-signed certificate does not verify: a TLS error, not a delivery.
    const strict = createSmtpClient({ url: sink!.url, poolSize: 1, ratePerSec: 0 });
    const err = await rejection(strict.send(simple('strict@example.com')));
    await strict.close();
    expect(err.code).toBe('ETLS');
    expect(classifySmtpError(err)).toBe('connection');
  });

  it('when the URL says smtps://, then TLS starts with the connection; tls.rejectUnauthorized=false accepts a self-signed certificate', async () => {
    sink = await startSmtpSink({ tls: { key, cert, implicit: true } });
    client = createSmtpClient({
      url: `smtps://127.0.0.1:${sink.port}?tls.rejectUnauthorized=false`,
      poolSize: 1,
      ratePerSec: 0,
    });
    await client.send(simple('smtps@example.com'));
    expect((await sink.waitFor(1))[0]!.secure).toBe(true);
  });

  it('when the URL says requireTLS and the server offers no STARTTLS, then nothing is sent in clear', async () => {
    await start({}, {});
    const strict = createSmtpClient({ url: `${sink!.url}?requireTLS=true`, poolSize: 1, ratePerSec: 0 });
    const err = await rejection(strict.send(simple('clear@example.com')));
    await strict.close();
    expect(err.code).toBe('ETLS');
    expect(sink!.messages).toHaveLength(0);
  });

  it('when the URL has options, then they are read the way nodemailer reads them', () => {
    expect(parseSmtpUrl('smtp://a%40b:c%3Ad@mail.example.org?name=paperboy.example.org&ignoreTLS=true')).toEqual({
      host: 'mail.example.org',
      port: 587,
      secure: false,
      auth: { user: 'a@b', pass: 'c:d' },
      name: 'paperboy.example.org',
      requireTLS: false,
      ignoreTLS: true,
      rejectUnauthorized: null,
    });
    expect(parseSmtpUrl('smtps://[::1]')).toMatchObject({ host: '::1', port: 465, secure: true, auth: null });
    expect(parseSmtpUrl('smtp://mail.example.org?secure=true')).toMatchObject({ port: 465, secure: true });
    expect(parseSmtpUrl('smtp://mail.example.org:2465?secure=true')).toMatchObject({ port: 2465, secure: true });
  });
});

/** A TCP relay in front of the sink that keeps what the client wrote, chunk by chunk. */
async function recordingRelay(port: number): Promise<{ url: string; chunks: string[] }> {
  const chunks: string[] = [];
  const server = createServer((down: Socket) => {
    const up = connect(port, '127.0.0.1');
    down.on('data', (d) => {
      chunks.push(d.toString('latin1'));
      up.write(d);
    });
    up.pipe(down);
    down.on('close', () => up.destroy());
    up.on('close', () => down.destroy());
    down.on('error', () => undefined);
    up.on('error', () => undefined);
  });
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { url: `smtp://127.0.0.1:${(server.address() as AddressInfo).port}`, chunks };
}

describe('smtp client: pipelining', () => {
  it('when the server offers PIPELINING, then each envelope goes out in one write, behind the previous message and its terminator; QUIT on close', async () => {
    sink = await startSmtpSink();
    const relay = await recordingRelay(sink.port);
    client = createSmtpClient({ url: relay.url, poolSize: 1, ratePerSec: 0 });
    await Promise.all(['p1', 'p2', 'p3'].map((n) => client!.send(simple(`${n}@example.com`))));
    await client.close();
    client = undefined;
    expect(sink.messages.map((m) => m.to[0]).sort()).toEqual(['p1@example.com', 'p2@example.com', 'p3@example.com']);
    const sent = relay.chunks;
    expect(sent.some((c) => /^MAIL FROM:<[^>]+>( SIZE=\d+)?\r\nRCPT TO:<p1@example\.com>\r\nDATA\r\n$/.test(c))).toBe(
      true,
    );
    expect(
      sent.filter((c) => /\r\n\.\r\nMAIL FROM:<[^>]+>( SIZE=\d+)?\r\nRCPT TO:<p\d@example\.com>\r\nDATA\r\n$/.test(c)),
    ).toHaveLength(2);
    expect(sent.at(-1)).toBe('QUIT\r\n');
  });

  it('when the server does not offer PIPELINING, then every command waits for its reply, and every message arrives', async () => {
    sink = await startSmtpSink({ hidePipelining: true });
    const relay = await recordingRelay(sink.port);
    client = createSmtpClient({ url: relay.url, poolSize: 1, ratePerSec: 0 });
    await Promise.all(['l1', 'l2', 'l3'].map((n) => client!.send(simple(`${n}@example.com`))));
    expect(sink.messages).toHaveLength(3);
    const commands = relay.chunks.filter((c) => /^(MAIL|RCPT|DATA)/.test(c));
    expect(commands).toHaveLength(9);
    expect(commands.every((c) => c.split('\r\n').length === 2)).toBe(true);
  });
});

describe('the mailer in SMTP mode', () => {
  it('when a message comes pre-built and another is built from html/text, then both go through one client: one pool', async () => {
    sink = await startSmtpSink();
    const mailer = createMailer({
      smtpUrl: sink.url,
      outboxDir: '/nonexistent',
      poolSize: 1,
      ratePerSec: 0,
      logger: createLogger('silent'),
    });
    try {
      const raw = await mailer.sendPrebuilt({ ...simple('raw@example.com'), smtpReady: true });
      expect(raw.response).toMatch(/^250 /);
      const built = await mailer.sendTransactional({
        from: FROM,
        to: 'built@example.com',
        subject: 'built',
        text: 'Hello',
      });
      expect(built.messageId).toMatch(/^<.+>$/);
      await mailer.sendPrebuilt(simple('raw2@example.com'));
    } finally {
      mailer.close();
    }
    expect(sink.messages.map((m) => m.to[0])).toEqual(['raw@example.com', 'built@example.com', 'raw2@example.com']);
    // Pool size 1: every message, whatever its kind, on the one connection.
    expect(sink.connections.opened).toBe(1);
  });
});

/** A small digest from the fast-path builder, for subscriber `id` (Message-ID and links carry it). */
const smallDigest = (id: number) =>
  renderMessage(
    prepareMessage(
      {
        subject: 'Digest',
        html: '<p>Hi</p><a href="{{unsubscribe_url}}">Unsubscribe</a>',
        text: 'Hi\nUnsubscribe: {{unsubscribe_url}}',
      },
      { from: `Paperboy <${FROM}>`, listId: '<daily.papers.example.org>' },
    ),
    {
      to: 'reader@example.com',
      messageId: `digest.2026-11-24.${id}@papers.example.org`,
      date: new Date(),
      unsubscribeUrl: `https://papers.example.org/u/${id}`,
      preferencesUrl: `https://papers.example.org/p/${id}`,
    },
  );

describe('the mailer reports Message-IDs', () => {
  it("when a pre-built message is sent, then the mailer reports its Message-ID: the builder's for a digest, the header's for other raw bytes", async () => {
    sink = await startSmtpSink();
    const mailer = createMailer({
      smtpUrl: sink.url,
      outboxDir: '/nonexistent',
      poolSize: 1,
      ratePerSec: 0,
      logger: createLogger('silent'),
    });
    try {
      const digest = smallDigest(9);
      expect((await mailer.sendPrebuilt(digest)).messageId).toBe('<digest.2026-11-24.9@papers.example.org>');
      const other = simple('other@example.com');
      const withHeader = {
        ...other,
        raw: Buffer.concat([Buffer.from('Message-ID: <other.1@example.com>\r\n', 'latin1'), other.raw]),
      };
      expect((await mailer.sendPrebuilt(withHeader)).messageId).toBe('<other.1@example.com>');
      expect((await mailer.sendPrebuilt(simple('none@example.com'))).messageId).toBe('');
    } finally {
      mailer.close();
    }
    const [first] = await sink.waitFor(3);
    expect((await simpleParser(first!.raw)).messageId).toBe('<digest.2026-11-24.9@papers.example.org>');
  });
});

describe('the outbox mailer', () => {
  it('when a digest built by raw-message goes to the outbox, then the .eml file holds exactly its bytes', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'paperboy-outbox-'));
    const mailer = createMailer({ outboxDir: dir, poolSize: 1, ratePerSec: 0, logger: createLogger('silent') });
    try {
      const digest = smallDigest(3);
      const info = await mailer.sendPrebuilt(digest);
      const file = info.response.replace(/^written to /, '');
      expect(readFileSync(file).equals(digest.raw)).toBe(true);
      const parsed = await simpleParser(readFileSync(file));
      expect(parsed.subject).toBe('Digest');
      expect(parsed.text).toContain('Unsubscribe: https://papers.example.org/u/3');
    } finally {
      mailer.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('smtp client: failures', () => {
  it.each([false, true])(
    'when one recipient of several is refused with 550 (pipelining hidden: %s), then that message fails and the others go out on the same connection',
    async (hidePipelining) => {
      await start({
        hidePipelining,
        onRcpt: (a) => (a === 'bad@example.com' ? { code: 550, message: '5.1.1 No such user' } : undefined),
      });
      const results = await Promise.allSettled(
        ['a', 'b', 'bad', 'c', 'd'].map((n) => client!.send(simple(`${n}@example.com`))),
      );
      expect(results.map((r) => r.status)).toEqual(['fulfilled', 'fulfilled', 'rejected', 'fulfilled', 'fulfilled']);
      const err = (results[2] as PromiseRejectedResult).reason as SmtpError;
      expect(err).toMatchObject({
        code: 'EENVELOPE',
        command: 'RCPT TO',
        responseCode: 550,
        permanent: true,
        response: expect.stringMatching(/^550 5\.1\.1 No such user/),
      });
      expect(classifySmtpError(err)).toBe('recipient');
      expect(sink!.messages.map((m) => m.to[0]).sort()).toEqual([
        'a@example.com',
        'b@example.com',
        'c@example.com',
        'd@example.com',
      ]);
      expect(sink!.connections.opened).toBe(1);
    },
  );

  it('when the server answers 451 once, then that send fails as transient, and the next attempt is delivered on the same connection', async () => {
    let tries = 0;
    await start({ onRcpt: () => (++tries === 1 ? { code: 451, message: '4.7.1 Greylisted' } : undefined) });
    const err = await rejection(client!.send(simple('grey@example.com')));
    expect(err).toMatchObject({ responseCode: 451, permanent: false });
    expect(classifySmtpError(err)).toBe('transient');
    await client!.send(simple('grey@example.com'));
    expect((await sink!.waitFor(1)).map((m) => m.to[0])).toEqual(['grey@example.com']);
    expect(sink!.connections.opened).toBe(1);
  });

  it('when the server refuses the message after its data (554), then it fails permanently and the connection carries on', async () => {
    await start({
      onData: (m) => (m.to[0] === 'spam@example.com' ? { code: 554, message: '5.6.0 Content rejected' } : undefined),
    });
    const err = await rejection(client!.send(simple('spam@example.com')));
    expect(err).toMatchObject({ code: 'EMESSAGE', command: 'DATA', responseCode: 554, permanent: true });
    await client!.send(simple('fine@example.com'));
    expect(sink!.messages.map((m) => m.to[0])).toEqual(['fine@example.com']);
    expect(sink!.connections.opened).toBe(1);
  });

  it('when nothing listens, then the message fails with ECONNECTION (ECONNREFUSED underneath)', async () => {
    client = createSmtpClient({ url: `smtp://127.0.0.1:${await freePort()}`, poolSize: 2, ratePerSec: 0 });
    const err = await rejection(client.send(simple('nobody@example.com')));
    expect(err).toMatchObject({
      code: 'ECONNECTION',
      originalCode: 'ECONNREFUSED',
      message: expect.stringMatching(/ECONNREFUSED/),
      serverDid: 'refused the connection',
    });
    expect(classifySmtpError(err)).toBe('connection');
  });

  it('when the server never greets, then the message fails with ETIMEDOUT', async () => {
    const silent = createServer(() => undefined);
    servers.push(silent);
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
    client = createSmtpClient({
      url: `smtp://127.0.0.1:${(silent.address() as AddressInfo).port}`,
      poolSize: 1,
      ratePerSec: 0,
      greetingTimeoutMs: 50,
    });
    const err = await rejection(client.send(simple('slow@example.com')));
    expect(err.code).toBe('ETIMEDOUT');
    expect(err.serverDid).toBe('accepted the connection but never greeted');
    expect(classifySmtpError(err)).toBe('connection');
  });

  it('when messages are given up on while their connection waits for a greeting, then the one it was opened for fails saying so, and the one queued behind fails too', async () => {
    let connected!: () => void;
    const arrived = new Promise<void>((resolve) => (connected = resolve));
    const silent = createServer(() => connected());
    servers.push(silent);
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
    // The service's own timeouts (10 s for the greeting): only the signal ends the wait.
    client = createSmtpClient({
      url: `smtp://127.0.0.1:${(silent.address() as AddressInfo).port}`,
      poolSize: 1,
      ratePerSec: 0,
    });
    const giveUp = new AbortController();
    const opening = rejection(client.send(simple('first@example.com'), giveUp.signal));
    const queued = rejection(client.send(simple('second@example.com'), giveUp.signal));
    await arrived;
    // Accepted here; a moment more for the client to see its side of the connection complete.
    await new Promise((r) => setTimeout(r, 50));
    giveUp.abort();
    expect(await opening).toMatchObject({
      code: 'ETIMEDOUT',
      serverDid: 'accepted the connection but never greeted',
    });
    expect(await queued).toMatchObject({ code: 'ECONNECTION', message: 'Given up while waiting for a connection' });
    expect(classifySmtpError(await queued)).toBe('connection');
  });

  it('when the server cuts the connection mid-DATA, then that message fails, the one pipelined behind it moves to a new connection, and later ones go out', async () => {
    await start({ dropOnData: (to) => to[0] === 'drop@example.com' });
    const [dropped, behind] = await Promise.allSettled([
      client!.send(simple('drop@example.com', 'x'.repeat(200) + '\r\n')),
      client!.send(simple('behind@example.com')),
    ]);
    expect(dropped.status).toBe('rejected');
    const err = (dropped as PromiseRejectedResult).reason as SmtpError;
    expect(err.code).toBe('ECONNECTION');
    expect(classifySmtpError(err)).toBe('connection');
    expect(behind.status).toBe('fulfilled');
    await client!.send(simple('after@example.com'));
    expect(sink!.messages.map((m) => m.to[0])).toEqual(['behind@example.com', 'after@example.com']);
    expect(sink!.connections.opened).toBe(2);
  });

  it('when the server advertises SIZE and a message is larger, then it fails before anything is sent, and the next one goes out', async () => {
    await start({ size: 1000 });
    const err = await rejection(client!.send(simple('big@example.com', 'y'.repeat(2000) + '\r\n')));
    expect(err.code).toBe('EMESSAGE');
    await client!.send(simple('small@example.com'));
    expect(sink!.messages.map((m) => m.to[0])).toEqual(['small@example.com']);
  });
});

describe('smtp client: the pool', () => {
  it('when many messages are queued, then at most SMTP_POOL_SIZE connections carry them all', async () => {
    await start({}, { poolSize: 3 });
    await Promise.all(Array.from({ length: 30 }, (_, i) => client!.send(simple(`r${i}@example.com`))));
    expect(new Set(sink!.messages.map((m) => m.to[0])).size).toBe(30);
    expect(sink!.connections.opened).toBe(3);
    expect(sink!.connections.maxOpen).toBe(3);
  });

  it('when closed, then queued messages fail and every connection is ended', async () => {
    await start({}, { poolSize: 1 });
    const first = client!.send(simple('first@example.com'));
    const queued = client!.send(simple('queued@example.com'));
    const closing = client!.close();
    const results = await Promise.allSettled([first, queued]);
    await closing;
    client = undefined;
    // The one on the connection is answered; whatever never started is refused, not lost silently.
    expect(results[0]!.status).toBe('fulfilled');
    expect(results[1]).toMatchObject({ status: 'rejected', reason: { code: 'ECONNECTION' } });
    await vi.waitFor(() => expect(sink!.connections.open).toBe(0));
  });

  it('when a rate is set, then no second-long window holds more starts than the rate', () => {
    let now = 0;
    const gate = new RateGate(3, () => now);
    expect([gate.take(), gate.take(), gate.take()]).toEqual([0, 0, 0]);
    now = 400;
    expect(gate.take()).toBe(600);
    now = 1000;
    expect(gate.take()).toBe(0);
    expect(gate.take()).toBe(0);
    now = 1001;
    // The starts at 0 are out of the window (1, 1001]: one more fits, then the next waits for 2000.
    expect(gate.take()).toBe(0);
    expect(gate.take()).toBe(999);
    // Below one per second the window stretches: 0.5/s is one start per two seconds.
    const slow = new RateGate(0.5, () => now);
    expect(slow.take()).toBe(0);
    now = 2000;
    expect(slow.take()).toBe(1001);
  });
});
