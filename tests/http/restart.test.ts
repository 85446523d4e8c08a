import { afterEach, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { freePort, startServer, type ServerProcess } from '../support/server-process.ts';
import { startSmtpSink, type SmtpSink } from '../support/smtp-sink.ts';

const dir = mkdtempSync(join(tmpdir(), 'paperboy-restart-'));
const servers: ServerProcess[] = [];
let sink: SmtpSink | undefined;

afterEach(async () => {
  await Promise.all(servers.map((s) => s.stop()));
  await sink?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('restart safety', () => {
  it('when SMTP is down at sign-up and the service restarts, then nothing is lost: the queued confirmation goes out and confirms', async () => {
    const deadPort = await freePort();
    // The start-up catch-up of the daily send finds no paper source here (and must not reach the internet).
    const env = {
      DATABASE_PATH: join(dir, 'paperboy.sqlite'),
      OUTBOX_DIR: join(dir, 'outbox'),
      PUBLIC_URL: 'https://papers.example.org',
      PAPERS_API_URL: `http://127.0.0.1:${deadPort}/api/daily_papers`,
    };

    // 1. SMTP server unreachable: the request still answers 202 and the email waits in the queue.
    const first = await startServer({ ...env, SMTP_URL: `smtp://127.0.0.1:${deadPort}` });
    servers.push(first);
    const res = await fetch(`${first.url}/subscribe`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ email: 'ada@example.org' }),
    });
    expect(res.status).toBe(202);
    await expect.poll(() => first.output(), { timeout: 15_000 }).toContain('queued mail not sent, will retry');
    expect(await first.stop()).toBe(0);
    expect(first.output()).toContain('stopped');

    // 2. Started again with a working SMTP server: the queued email is sent at once.
    sink = await startSmtpSink();
    const second = await startServer({ ...env, SMTP_URL: sink.url });
    servers.push(second);
    const [mail] = await sink.waitFor(1, 20_000);
    expect(mail!.to).toEqual(['ada@example.org']);
    const link = /https:\/\/papers\.example\.org(\/confirm\/[\w-]+)/.exec(mail!.parsed.text ?? '')![1]!;
    expect((await fetch(second.url + link, { method: 'POST' })).status).toBe(200);
    expect(await second.stop()).toBe(0);

    // 3. A third start on the same file finds the subscriber confirmed and exactly one email sent.
    const third = await startServer(env);
    servers.push(third);
    expect((await fetch(`${third.url}/healthz`)).status).toBe(200);
    await third.stop();
    const db = new Database(env.DATABASE_PATH, { readonly: true });
    expect(db.prepare('SELECT status FROM subscribers WHERE email = ?').pluck().get('ada@example.org')).toBe(
      'confirmed',
    );
    expect(db.prepare('SELECT status, attempts FROM mail_queue').all()).toEqual([{ status: 'sent', attempts: 2 }]);
    db.close();
    expect(sink.messages).toHaveLength(1);
  });
});
