import { afterEach, describe, expect, it } from 'vitest';
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { generateKeyPairSync } from 'node:crypto';
import Database from 'better-sqlite3';
import { createContext } from '../../src/context.ts';
import { createLogger } from '../../src/logger.ts';
import { startSmtpSink, type SmtpSink } from '../support/smtp-sink.ts';
import { testConfig } from '../support/test-context.ts';
import { runInProcess, runScript, startScript } from '../support/cli.ts';
import { cli } from '../../scripts/send-now.ts';
import { byRecipient, DATE, freezeFixtureDay, seedSubscribers } from '../support/digest-harness.ts';
import { freePort } from '../support/server-process.ts';
import { fixturePapers } from '../support/fixture-papers.ts';
import { startWebhookServer, type WebhookServer } from '../support/webhook-server.ts';
import { loadConfig } from '../../src/config.ts';
import { addDays, todayIn } from '../../src/domain/dates.ts';

/** The Sunday ending the week of DATE: the weekly edition's date. */
const WEEK = '2026-11-29';

let sink: SmtpSink | undefined;
let dir: string | undefined;
afterEach(async () => {
  await sink?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
  sink = undefined;
  dir = undefined;
});

/**
 * A database with `n` confirmed subscribers and the fixture day frozen, and the env to reach it;
 * with `weekly`, also that many weekly subscribers and the fixture day frozen as the week of WEEK.
 */
async function setup(n: number, env: Record<string, string> = {}, weekly = 0) {
  sink = await startSmtpSink();
  const base = {
    SMTP_URL: sink.url,
    MAIL_FROM: 'Paperboy <digest@papers.example.org>',
    PUBLIC_URL: 'https://papers.example.org',
    SECRET: 'test-secret-test-secret-test-secret-0123',
    SMTP_POOL_SIZE: '1',
    SEND_BATCH_SIZE: '10',
    SEND_RETRY_BASE_MS: '50',
    ...env,
  };
  const t = testConfig(base);
  dir = t.dir;
  const ctx = createContext(t.config, createLogger('silent'));
  seedSubscribers(ctx.db, n);
  freezeFixtureDay(ctx as Parameters<typeof freezeFixtureDay>[0]);
  if (weekly) {
    seedSubscribers(ctx.db, weekly, { cadence: 'weekly', prefix: 'weekly' });
    ctx.digests.save(WEEK, fixturePapers('2026-11-24'), 'weekly');
  }
  ctx.close();
  return { ...base, DATABASE_PATH: t.config.DATABASE_PATH, OUTBOX_DIR: t.config.OUTBOX_DIR };
}

function ledger(env: { DATABASE_PATH: string }, date = DATE, cadence = 'daily') {
  const db = new Database(env.DATABASE_PATH, { readonly: true });
  try {
    const run = db
      .prepare(
        'SELECT id, status, sent, failed, skipped, lease_owner AS leaseOwner FROM send_runs WHERE digest_date = ? AND cadence = ?',
      )
      .get(date, cadence) as { id: number } | undefined;
    const rows = Object.fromEntries(
      (
        db
          .prepare('SELECT status, count(*) AS n FROM send_deliveries WHERE run_id = ? GROUP BY status')
          .all(run?.id ?? -1) as { status: string; n: number }[]
      ).map((r) => [r.status, r.n]),
    );
    if (run) delete (run as { id?: number }).id;
    return { run, rows };
  } finally {
    db.close();
  }
}

async function waitUntil(check: () => boolean, timeoutMs = 20_000) {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('timed out waiting');
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('send-now', () => {
  it('when asked for help or given a bad argument, then it prints usage and exits 0 or 2', async () => {
    const help = await runInProcess(cli, ['--help']);
    const bad = await runInProcess(cli, ['--frobnicate']);
    const badDate = await runInProcess(cli, ['--date', '2026-02-30']);
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/^Usage: npm run send-now --/);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/send-now: Unknown option '--frobnicate'/);
    expect(badDate.code).toBe(2);
    expect(badDate.stderr).toMatch(/--date must be a real day/);
  });

  it('when run, then everyone gets the digest and a summary closes the run', async () => {
    const env = await setup(6);
    const r = await runScript('send-now', ['--date', DATE], env);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(
      /^2026-11-24: done\n {2}this time: sent 6, skipped 0, failed 0, deferred 0 in [\d.]+ s \([\d.]+ msg\/s\)\n {2}run total: done, sent 6/,
    );
    expect(sink!.messages).toHaveLength(6);
  });

  it('when readers’ hour has not come yet (DELIVERY_MODE=local), then everyone still unsent gets it now and the summary says how many before their hour', async () => {
    const env = await setup(3);
    // A day whose sends are all still ahead, wherever the readers are.
    const date = addDays(todayIn('UTC', new Date()), 2);
    const db = new Database(env.DATABASE_PATH);
    db.prepare("UPDATE subscribers SET timezone = 'Asia/Tokyo', delivery_hour = 7 WHERE id <= 2").run();
    db.close();
    const t = testConfig(env);
    const ctx = createContext(t.config, createLogger('silent'));
    ctx.digests.save(date, fixturePapers('2026-11-24'));
    ctx.close();
    rmSync(t.dir, { recursive: true, force: true });
    const r = await runScript('send-now', ['--date', date], env);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('\n  3 of them before their hour (DELIVERY_MODE=local)\n');
    expect(sink!.messages).toHaveLength(3);
  });

  it('when the SMTP server refuses every connection, then each retry says its wait and count, and it gives up in time with the address and the error', async () => {
    const env = await setup(3);
    const port = await freePort(); // nothing listens there
    const r = await runScript('send-now', ['--date', DATE], {
      ...env,
      SMTP_URL: `smtp://user:hunter2@127.0.0.1:${port}`,
      SEND_RETRY_BASE_MS: '1000',
      SEND_CONNECT_RETRIES: '5',
      SEND_CONNECT_GIVE_UP_SECONDS: '3',
    });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(
      new RegExp(`SMTP 127\\.0\\.0\\.1:${port} refused the connection \\(ECONNREFUSED\\); retry 1 of 5 in 1 s`),
    );
    expect(r.stderr).toMatch(
      new RegExp(`SMTP 127\\.0\\.0\\.1:${port} refused the connection \\(ECONNREFUSED\\); retry 2 of 5 in [\\d.]+ s`),
    );
    // Given up within the limit: the third retry (4 s) never came.
    expect(r.stderr).not.toMatch(/retry [3-5] of 5/);
    expect(r.stdout).toMatch(
      new RegExp(
        `^2026-11-24: failed \\(SMTP server 127\\.0\\.0\\.1:${port} refused the connection \\(ECONNREFUSED\\): gave up after 3 attempts in 3 s\\)`,
        'm',
      ),
    );
    expect(`${r.stdout}${r.stderr}`).not.toContain('hunter2');
  });

  it('when previewing, dry-running or sending one test copy, then the run is left alone', async () => {
    const env = await setup(3);
    const preview = join(dir!, 'out.html');
    const [p, d, t] = await Promise.all([
      runScript('send-now', ['--date', DATE, '--preview', preview], env),
      runScript('send-now', ['--date', DATE, '--dry-run'], env),
      runScript('send-now', ['--date', DATE, '--to', 'editor@example.org'], env),
    ]);
    expect(p.code).toBe(0);
    expect(readFileSync(preview, 'utf8')).toMatch(/^<!doctype html>/i);
    expect(existsSync(join(dir!, 'out.txt'))).toBe(true);
    expect(d.code).toBe(0);
    expect(d.stdout).toMatch(
      /dry run: 3 subscribers would get the digest now, in 1 variants\n {2}3 × 10 papers \(size 10\)/,
    );
    expect(t.code).toBe(0);
    expect(t.stdout).toMatch(/one copy sent to editor@example.org/);
    expect(sink!.messages.map((m) => m.to)).toEqual([['editor@example.org']]);
    // A test copy bounces to the operator who asked for it, never against a subscriber.
    expect(sink!.messages.map((m) => m.from)).toEqual(['digest@papers.example.org']);
    expect(ledger(env).run).toBeUndefined();
  });

  it('when real mail is set up with a localhost PUBLIC_URL, then the dry run lists the warning and a send says it on stderr before sending', async () => {
    const env = await setup(2, { PUBLIC_URL: 'http://localhost:3000' });
    const line =
      'warning: PUBLIC_URL is http://localhost:3000: readers cannot open its confirm, preferences and unsubscribe links; set the public address';
    const dry = await runScript('send-now', ['--date', DATE, '--dry-run'], env);
    expect(dry.code).toBe(0);
    expect(dry.stdout.split('\n')).toContain(`  ${line}`);
    expect(dry.stdout).toMatch(/^ {2}warning: DKIM is not configured/m);
    expect(sink!.messages).toEqual([]);

    const sent = await runScript('send-now', ['--date', DATE], env);
    expect(sent.code).toBe(0);
    expect(sent.stderr.split('\n')).toContain(line);
    expect(sink!.messages).toHaveLength(2);
  });

  it('when the identity is sound (https, DKIM aligned), then no warning is printed', async () => {
    const key = join(tmpdir(), `dkim-${process.pid}.pem`);
    writeFileSync(
      key,
      generateKeyPairSync('rsa', { modulusLength: 1024 }).privateKey.export({ type: 'pkcs8', format: 'pem' }),
    );
    try {
      const env = await setup(1, {
        DKIM_DOMAIN: 'papers.example.org',
        DKIM_SELECTOR: 'pb',
        DKIM_PRIVATE_KEY_PATH: key,
      });
      const dry = await runScript('send-now', ['--date', DATE, '--dry-run'], env);
      expect(dry.code).toBe(0);
      expect(dry.stdout + dry.stderr).not.toMatch(/warning/i);
    } finally {
      rmSync(key, { force: true });
    }
  });

  it('when the sender is killed with SIGKILL half way, then running it again completes the run: one copy each, save the in-flight window', async () => {
    const env = await setup(40, { SEND_RATE_PER_SEC: '20', SEND_LEASE_SECONDS: '1' });
    const first = startScript('send-now', ['--date', DATE], env);
    // Killed once deliveries are on record, and before the end: the second run has both kinds. (The
    // sink's count runs ahead of the ledger by up to the in-flight window, so the ledger is watched.)
    await waitUntil(() => (ledger(env).rows.sent ?? 0) >= 10);
    first.child.kill('SIGKILL');
    expect((await first.exited).signal).toBe('SIGKILL');
    const atKill = ledger(env);
    expect(atKill.run).toMatchObject({ status: 'running' });
    expect(atKill.rows.sent).toBeLessThan(40);

    // The dead sender's lease lapses after SEND_LEASE_SECONDS; until then a new one stands back.
    await new Promise((r) => setTimeout(r, 1100));
    const second = await runScript('send-now', ['--date', DATE], env);
    expect(second.code, second.stdout + second.stderr).toBe(0);
    expect(second.stdout).toMatch(
      /resumed a cut-off run: \d+ deliveries the previous sender had claimed were queued again/,
    );

    const counts = byRecipient(sink!);
    expect(counts.size).toBe(40);
    const duplicates = [...counts.values()].reduce((a, n) => a + n - 1, 0);
    // The documented window: 2 × SMTP_POOL_SIZE awaiting replies + 4 × SMTP_POOL_SIZE replies awaiting their record.
    expect(duplicates).toBeLessThanOrEqual(6);
    expect(ledger(env)).toMatchObject({ run: { status: 'done', sent: 40, leaseOwner: null }, rows: { sent: 40 } });
  });

  it('when the sender gets SIGTERM, then it finishes what is in flight, records it and exits; the next run sends the rest with no duplicate', async () => {
    const env = await setup(30, { SEND_RATE_PER_SEC: '20' });
    const first = startScript('send-now', ['--date', DATE], env);
    await waitUntil(() => sink!.messages.length >= 8);
    first.child.kill('SIGTERM');
    const stopped = await first.exited;
    expect(stopped.code).toBe(1);
    expect(stopped.stdout).toMatch(/2026-11-24: incomplete \(stopped: SIGTERM\)/);
    const atStop = ledger(env);
    expect(atStop.rows.sending ?? 0).toBe(0);
    expect(atStop.rows.sent).toBe(sink!.messages.length);
    expect(atStop.run).toMatchObject({ status: 'running', leaseOwner: null });

    const second = await runScript('send-now', ['--date', DATE], env);
    expect(second.code).toBe(0);
    const counts = byRecipient(sink!);
    expect(counts.size).toBe(30);
    expect([...counts.values()].every((n) => n === 1)).toBe(true);
  });

  it('when two send-now processes start at once, then one sends, the other exits 1 saying who holds the run: no duplicates', async () => {
    // ~3 s of sending (a burst of 10, then 10/s): longer than the two processes' start-ups differ.
    const env = await setup(40, { SEND_RATE_PER_SEC: '10' });
    const [a, b] = await Promise.all([
      runScript('send-now', ['--date', DATE], env),
      runScript('send-now', ['--date', DATE], env),
    ]);
    expect([a.code, b.code].sort()).toEqual([0, 1]);
    expect((a.code === 1 ? a : b).stdout).toMatch(/busy \(another sender \(.+\) holds this run until/);
    const counts = byRecipient(sink!);
    expect(counts.size).toBe(40);
    expect([...counts.values()].every((n) => n === 1)).toBe(true);
  });
});

describe('send-now and the team channels', () => {
  let hooks: WebhookServer | undefined;
  afterEach(async () => {
    await hooks?.close();
    hooks = undefined;
  });

  it('when channels are set up, then the send posts the edition once to each; --dry-run, --limit and --no-channels post nothing, and a second send nothing more', async () => {
    hooks = await startWebhookServer();
    const env = await setup(3);
    const ctx = createContext(loadConfig({ ...env, LOG_LEVEL: 'silent' }), createLogger('silent'));
    for (const [kind, path] of [
      ['slack', '/slack/T0/B0/x'],
      ['discord', '/discord/1/x'],
    ] as const)
      ctx.channels.add(
        { kind, url: `${hooks.base}${path}`, cadence: 'daily', digestSize: 10, keywords: '' },
        new Date(),
      );
    ctx.close();

    for (const args of [['--dry-run'], ['--limit', '1'], ['--no-channels']]) {
      const r = await runScript('send-now', ['--date', DATE, ...args], env);
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout).not.toContain('channels:');
    }
    expect(hooks.received).toEqual([]);
    expect(sink!.messages).toHaveLength(3);

    const sent = await runScript('send-now', ['--date', DATE], env);
    expect(sent.code, sent.stderr).toBe(0);
    expect(sent.stdout).toMatch(/^ {2}channels: posted 2, failed 0$/m);
    expect(hooks.received.map((r) => [r.path, r.problems])).toEqual([
      ['/slack/T0/B0/x', []],
      ['/discord/1/x', []],
    ]);
    const again = await runScript('send-now', ['--date', DATE], env);
    expect(again.stdout).toMatch(/^ {2}channels: posted 0, failed 0, already had it 2$/m);
    expect(hooks.received).toHaveLength(2);
    expect(sink!.messages).toHaveLength(3);
  });
});

describe('send-now --weekly', () => {
  it('when the date is not a Sunday, then it is a usage error', async () => {
    const r = await runInProcess(cli, ['--weekly', '--date', '2026-11-27']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--weekly --date must be a Sunday/);
  });

  it('when previewing or dry-running the week, then it shows the weekly edition and sends nothing', async () => {
    const env = await setup(2, {}, 3);
    const preview = join(dir!, 'week.html');
    const [p, d] = await Promise.all([
      runScript('send-now', ['--weekly', '--date', WEEK, '--preview', preview], env),
      runScript('send-now', ['--weekly', '--date', WEEK, '--dry-run'], env),
    ]);
    expect(p.code, p.stderr).toBe(0);
    expect(p.stdout).toMatch(/^week ending 2026-11-29: "Paperboy · Week of 23–29 Nov 2026" written to /);
    expect(readFileSync(preview, 'utf8')).toContain('Week of 23–29 November 2026');
    expect(readFileSync(join(dir!, 'week.txt'), 'utf8')).toMatch(/^1\. .+$/m);
    expect(d.code).toBe(0);
    expect(d.stdout).toMatch(
      /^week ending 2026-11-29: dry run: 3 subscribers would get the weekly edition now, in 1 variants/,
    );
    expect(sink!.messages).toHaveLength(0);
    expect(ledger(env, WEEK, 'weekly').run).toBeUndefined();
  });

  it('when a weekly run is killed half way, then running it again completes it for weekly subscribers only: one copy each, save the in-flight window', async () => {
    const env = await setup(5, { SEND_RATE_PER_SEC: '20', SEND_LEASE_SECONDS: '1' }, 40);
    const first = startScript('send-now', ['--weekly', '--date', WEEK], env);
    await waitUntil(() => (ledger(env, WEEK, 'weekly').rows.sent ?? 0) >= 10, 60_000);
    first.child.kill('SIGKILL');
    expect((await first.exited).signal).toBe('SIGKILL');
    expect(ledger(env, WEEK, 'weekly').run).toMatchObject({ status: 'running' });

    await new Promise((r) => setTimeout(r, 1100));
    const second = await runScript('send-now', ['--weekly', '--date', WEEK, '--limit', '1000'], env);
    expect(second.code, second.stdout + second.stderr).toBe(0);
    expect(second.stdout).toMatch(/^week ending 2026-11-29: done\n/);
    expect(second.stdout).toMatch(/resumed a cut-off run/);

    const counts = byRecipient(sink!);
    expect([...counts.keys()].every((to) => to.startsWith('weekly'))).toBe(true);
    expect(counts.size).toBe(40);
    expect([...counts.values()].reduce((a, n) => a + n - 1, 0)).toBeLessThanOrEqual(6);
    expect(sink!.messages.every((m) => m.parsed.subject === 'Paperboy · Week of 23–29 Nov 2026')).toBe(true);
    expect(ledger(env, WEEK, 'weekly')).toMatchObject({
      run: { status: 'done', sent: 40, leaseOwner: null },
      rows: { sent: 40 },
    });
    // The daily digest's run is its own, untouched, and goes to the daily subscribers only.
    expect(ledger(env).run).toBeUndefined();
    const daily = await runScript('send-now', ['--date', DATE], env);
    expect(daily.code).toBe(0);
    expect(byRecipient(sink!).size).toBe(45);
    expect(ledger(env)).toMatchObject({ run: { status: 'done', sent: 5 } });
  }, 90_000);
});
