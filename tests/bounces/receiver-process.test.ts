import { afterEach, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import nodemailer from 'nodemailer';
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
});
