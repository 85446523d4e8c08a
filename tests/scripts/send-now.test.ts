import { afterEach, describe, expect, it } from 'vitest';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { createContext } from '../../src/context.ts';
import { createLogger } from '../../src/logger.ts';
import { startSmtpSink, type SmtpSink } from '../support/smtp-sink.ts';
import { testConfig } from '../support/test-context.ts';
import { runInProcess, runScript, startScript } from '../support/cli.ts';
import { cli } from '../../scripts/send-now.ts';
import { byRecipient, DATE, freezeFixtureDay, seedSubscribers } from '../support/digest-harness.ts';

let sink: SmtpSink | undefined;
let dir: string | undefined;
afterEach(async () => {
  await sink?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
  sink = undefined;
  dir = undefined;
});

/** A database with `n` confirmed subscribers and the fixture day frozen, and the env to reach it. */
async function setup(n: number, env: Record<string, string> = {}) {
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
  ctx.close();
  return { ...base, DATABASE_PATH: t.config.DATABASE_PATH, OUTBOX_DIR: t.config.OUTBOX_DIR };
}

function ledger(env: { DATABASE_PATH: string }) {
  const db = new Database(env.DATABASE_PATH, { readonly: true });
  try {
    const run = db.prepare('SELECT status, sent, failed, skipped, lease_owner AS leaseOwner FROM send_runs WHERE digest_date = ?').get(DATE);
    const rows = Object.fromEntries(
      (db.prepare('SELECT status, count(*) AS n FROM send_deliveries GROUP BY status').all() as { status: string; n: number }[]).map((r) => [r.status, r.n]),
    );
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
    expect(r.stdout).toMatch(/^2026-11-24: done\n {2}this time: sent 6, skipped 0, failed 0, deferred 0 in [\d.]+ s \([\d.]+ msg\/s\)\n {2}run total: done, sent 6/);
    expect(sink!.messages).toHaveLength(6);
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
    expect(d.stdout).toMatch(/dry run: 3 subscribers would get the digest now, in 1 variants\n {2}3 × 10 papers \(size 10\)/);
    expect(t.code).toBe(0);
    expect(t.stdout).toMatch(/one copy sent to editor@example.org/);
    expect(sink!.messages.map((m) => m.to)).toEqual([['editor@example.org']]);
    expect(ledger(env).run).toBeUndefined();
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
    expect(second.stdout).toMatch(/resumed a cut-off run: \d+ deliveries the previous sender had claimed were queued again/);

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
    const [a, b] = await Promise.all([runScript('send-now', ['--date', DATE], env), runScript('send-now', ['--date', DATE], env)]);
    expect([a.code, b.code].sort()).toEqual([0, 1]);
    expect((a.code === 1 ? a : b).stdout).toMatch(/busy \(another sender \(.+\) holds this run until/);
    const counts = byRecipient(sink!);
    expect(counts.size).toBe(40);
    expect([...counts.values()].every((n) => n === 1)).toBe(true);
  });
});
