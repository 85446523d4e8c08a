import { afterEach, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import nodemailer from 'nodemailer';
import { verpAddress } from '../../src/bounces/verp.ts';
import { connectRawSmtp } from '../support/raw-smtp.ts';
import { freePort, startServer, type ServerProcess } from '../support/server-process.ts';
import { startSmtpSink, type SmtpSink } from '../support/smtp-sink.ts';

let server: ServerProcess | undefined;
let sink: SmtpSink | undefined;
let dir: string | undefined;
afterEach(async () => {
  await server?.stop();
  await sink?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
  server = sink = dir = undefined;
});

describe('npm start with real mail and BOUNCE_SMTP_PORT', () => {
  it('when it starts, then it warns once per broken identity setting, listens for bounces on BOUNCE_SMTP_PORT (refusing a stranger at RCPT, and a client past BOUNCE_SMTP_MAX_PER_CLIENT connections), and stops cleanly', async () => {
    sink = await startSmtpSink();
    dir = mkdtempSync(join(tmpdir(), 'paperboy-receiver-'));
    const bouncePort = await freePort();
    server = await startServer({
      SMTP_URL: sink.url,
      PUBLIC_URL: 'http://localhost:3000',
      MAIL_FROM: 'Paperboy <digest@papers.example.org>',
      BOUNCE_SMTP_PORT: String(bouncePort),
      BOUNCE_SMTP_MAX_PER_CLIENT: '2',
      DATABASE_PATH: join(dir, 'paperboy.sqlite'),
      SECRET: 'test-secret-test-secret-test-secret-0123',
      NODE_ENV: 'production',
    });
    const warnings = server
      .output()
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as { level: number; msg: string; check?: string })
      .filter((l) => l.level === 40 && l.check === 'sending identity')
      .map((l) => l.msg);
    expect(warnings).toEqual([
      expect.stringMatching(/^PUBLIC_URL is http:\/\/localhost:3000: /),
      expect.stringMatching(/^DKIM is not configured/),
    ]);
    expect(server.output()).toMatch(/bounce receiver listening/);

    const transport = nodemailer.createTransport({
      host: '127.0.0.1',
      port: bouncePort,
      secure: false,
      ignoreTLS: true,
    });
    const refused = await transport
      .sendMail({ envelope: { from: '', to: ['someone@example.com'] }, raw: 'Subject: relay me\r\n\r\nhi\r\n' })
      .catch((err: { responseCode?: number }) => err.responseCode);
    transport.close();
    expect(refused).toBe(550);

    const crowd = await Promise.all(
      [1, 2, 3].map(() => connectRawSmtp({ port: bouncePort, localAddress: '127.0.0.2' })),
    );
    const greetings = await Promise.all(crowd.map((c) => c.reply()));
    for (const c of crowd) c.destroy();
    expect(greetings.map((g) => /^(220|421 4\.7\.0) /.exec(g)?.[1] ?? g).sort()).toEqual(['220', '220', '421 4.7.0']);
    expect(await server.stop()).toBe(0);
  }, 60_000);

  it('when hostile reports arrive, then /healthz keeps answering while they are parsed, and each is handled or set aside', async () => {
    dir = mkdtempSync(join(tmpdir(), 'paperboy-receiver-'));
    const bouncePort = await freePort();
    const secret = 'test-secret-test-secret-test-secret-0123';
    server = await startServer({
      PUBLIC_URL: 'https://papers.example.org',
      MAIL_FROM: 'Paperboy <digest@papers.example.org>',
      BOUNCE_SMTP_PORT: String(bouncePort),
      DATABASE_PATH: join(dir, 'paperboy.sqlite'),
      SECRET: secret,
    });
    const health: { at: number; status: number }[] = [];
    let polling = true;
    const poll = (async () => {
      while (polling) {
        const res = await fetch(`${server!.url}/healthz`);
        await res.arrayBuffer();
        health.push({ at: performance.now(), status: res.status });
      }
    })();
    // Short lines, a long run of address characters without '@', a crowd of recipients: each
    // about 900 KB, under BOUNCE_MAX_BYTES.
    const hostile = [
      Array.from({ length: 60_000 }, (_, i) => `line ${i}`).join('\r\n'),
      'a'.repeat(900_000),
      Array.from(
        { length: 10_000 },
        (_, i) => `Final-Recipient: rfc822; r${i}@example.org\r\nAction: failed\r\nStatus: 5.1.1`,
      ).join('\r\n\r\n'),
    ];
    const windows: { from: number; to: number; reply: string }[] = [];
    const smtp = await connectRawSmtp({ port: bouncePort });
    await smtp.reply();
    await smtp.command('EHLO mx.example.net');
    for (const [i, body] of hostile.entries()) {
      await smtp.command('MAIL FROM:<>');
      await smtp.command(`RCPT TO:<${verpAddress({ subscriberId: 1 }, secret, 'papers.example.org')}>`);
      await smtp.command('DATA');
      smtp.write(
        `From: MAILER-DAEMON@mx.example.net\r\nMessage-ID: <hostile${i}@mx>\r\nSubject: Undelivered\r\n\r\n${body}\r\n.\r\n`,
      );
      const from = performance.now();
      const reply = await smtp.reply();
      windows.push({ from, to: performance.now(), reply });
    }
    smtp.destroy();
    polling = false;
    await poll;
    expect(windows.map((w) => w.reply.slice(0, 3))).toEqual(['250', '250', '250']);
    expect(health.every((h) => h.status === 200)).toBe(true);
    // The service answered while it was reading each report: the parse is not on its event loop.
    const answeredDuring = windows.map((w) => health.filter((h) => h.at > w.from && h.at < w.to).length);
    expect(answeredDuring.reduce((a, b) => a + b, 0)).toBeGreaterThan(0);
    expect(await server.stop()).toBe(0);
  }, 90_000);
});
