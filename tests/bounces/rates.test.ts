import { rmSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { applyBounceEvent } from '../../src/bounces/policy.ts';
import { describeRates, previousRunSummary, runRates } from '../../src/bounces/rates.ts';
import { createContext, handleReportDeps } from '../../src/context.ts';
import { createLogger } from '../../src/logger.ts';
import { startSmtpSink, type SmtpSink } from '../support/smtp-sink.ts';
import { testConfig } from '../support/test-context.ts';
import { runScript } from '../support/cli.ts';
import { DATE, freezeFixtureDay, seedSubscribers } from '../support/digest-harness.ts';
import { createBounceTest, type BounceTest } from './support.ts';

const event = (kind: 'hard' | 'soft' | 'complaint', email: string, digestDate: string) => ({
  recipient: email,
  kind,
  reason: kind,
  source: 'import:test',
  digestDate,
  reportKey: `${kind}-${email}-${digestDate}`,
  verified: true,
});

describe('run rates', () => {
  let t: BounceTest | undefined;
  afterEach(() => t?.ctx.close());

  it('when runs had bounces and complaints, then each run counts distinct subscribers against what it sent, and warns above 5 % hard or 0.3 % complaints', () => {
    t = createBounceTest();
    const emails = Array.from({ length: 100 }, (_, i) => `r${i}@example.org`);
    const ids = t.subscribe(...emails);
    t.sentRun('2026-11-22', ids);
    t.sentRun('2026-11-23', ids.slice(0, 50));
    const deps = t.deps();
    for (const e of emails.slice(0, 6)) applyBounceEvent(deps, event('hard', e, '2026-11-22'));
    applyBounceEvent(deps, { ...event('hard', emails[0]!, '2026-11-22'), reportKey: 'a second report about r0' });
    applyBounceEvent(deps, event('complaint', emails[10]!, '2026-11-22'));
    applyBounceEvent(deps, event('soft', emails[20]!, '2026-11-23'));
    applyBounceEvent(deps, event('hard', 'stranger@example.org', '2026-11-23'));

    expect(t.ctx.bounces.runs()).toEqual([
      { date: '2026-11-23', runStatus: 'done', sent: 50, failed: 0, hard: 1, soft: 1, complaints: 0, sender: 0 },
      { date: '2026-11-22', runStatus: 'done', sent: 100, failed: 0, hard: 6, soft: 0, complaints: 1, sender: 0 },
    ]);
    const before23 = previousRunSummary(t.ctx.bounces, '2026-11-23');
    expect(before23[0]).toBe(
      'previous run 2026-11-22: sent 100, hard bounces 6 (6.0 %), soft 0 (0.0 %), complaints 1 (1.00 %)',
    );
    expect(before23.slice(1)).toEqual([
      expect.stringMatching(/^!!! WARNING: 6\.0 % of the 2026-11-22 run bounced hard, above 5 %/),
      expect.stringMatching(/^!!! WARNING: 1\.00 % of the 2026-11-22 run was reported as spam, above 0\.3 %/),
    ]);
    expect(previousRunSummary(t.ctx.bounces, '2026-11-24')).toEqual([
      'previous run 2026-11-23: sent 50, hard bounces 1 (2.0 %), soft 1 (2.0 %), complaints 0 (0.00 %)',
    ]);
    expect(previousRunSummary(t.ctx.bounces, '2026-11-22')).toEqual([]);
  });

  it('when a run sits exactly on a threshold, then it is not above it', () => {
    const r = runRates({
      date: '2026-11-22',
      runStatus: 'done',
      sent: 1000,
      failed: 0,
      hard: 50,
      soft: 0,
      complaints: 3,
      sender: 0,
    });
    expect(r.alarms).toEqual([]);
    expect(runRates({ ...r, hard: 51, complaints: 4 }).alarms).toEqual(['hard', 'complaints']);
    expect(describeRates(runRates({ ...r, sent: 0 }))[0]).toMatch(/sent 0, hard bounces 50 \(0\.0 %\)/);
  });
});

describe("send-now's summary", () => {
  let sink: SmtpSink | undefined;
  let dir: string | undefined;
  afterEach(async () => {
    await sink?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('when the previous run bounced too much, then the summary shows its rates and says so loudly', async () => {
    sink = await startSmtpSink();
    const env = {
      SMTP_URL: sink.url,
      MAIL_FROM: 'Paperboy <digest@papers.example.org>',
      PUBLIC_URL: 'https://papers.example.org',
      SECRET: 'test-secret-test-secret-test-secret-0123',
      SMTP_POOL_SIZE: '1',
    };
    const t = testConfig(env);
    dir = t.dir;
    const ctx = createContext(t.config, createLogger('silent'));
    const ids = seedSubscribers(ctx.db, 20);
    freezeFixtureDay(ctx as Parameters<typeof freezeFixtureDay>[0]);
    const run = ctx.db
      .prepare(
        "INSERT INTO send_runs (digest_date, status, started_at, sent, updated_at) VALUES ('2026-11-23', 'done', '2026-11-23T07:00:00Z', 20, '2026-11-23T07:00:00Z') RETURNING id",
      )
      .get() as { id: number };
    for (const id of ids)
      ctx.db
        .prepare("INSERT INTO send_deliveries (run_id, subscriber_id, status) VALUES (?, ?, 'sent')")
        .run(run.id, id);
    const deps = handleReportDeps(ctx, () => Promise.reject(new Error('unused')));
    for (const id of ids.slice(0, 2))
      applyBounceEvent(deps, { ...event('hard', ctx.subscribers.byId(id)!.email, '2026-11-23'), subscriberId: id });
    ctx.close();

    const r = await runScript('send-now', ['--date', DATE], {
      ...env,
      DATABASE_PATH: t.config.DATABASE_PATH,
      OUTBOX_DIR: t.config.OUTBOX_DIR,
    });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(
      /run total: done, sent 18[^\n]*\n {2}previous run 2026-11-23: sent 20, hard bounces 2 \(10\.0 %\), soft 0 \(0\.0 %\), complaints 0 \(0\.00 %\)\n {2}!!! WARNING: 10\.0 % of the 2026-11-23 run bounced hard/,
    );
    expect(sink.messages).toHaveLength(18);
  });

  it("when receivers refused digests for the sender's reasons, then the summary says plainly it is the sending domain, not the readers, for this run and the previous one", async () => {
    sink = await startSmtpSink({
      onRcpt: (a) =>
        a.endsWith('@gmail.com')
          ? { code: 550, message: '5.7.1 Our system has detected spam in this message' }
          : undefined,
    });
    const env = {
      SMTP_URL: sink.url,
      MAIL_FROM: 'Paperboy <digest@papers.example.org>',
      PUBLIC_URL: 'https://papers.example.org',
      SECRET: 'test-secret-test-secret-test-secret-0123',
      SMTP_POOL_SIZE: '1',
    };
    const t = testConfig(env);
    dir = t.dir;
    const ctx = createContext(t.config, createLogger('silent'));
    const readers = seedSubscribers(ctx.db, 3);
    const gmail = seedSubscribers(ctx.db, 3, { domain: 'gmail.com' });
    freezeFixtureDay(ctx as Parameters<typeof freezeFixtureDay>[0]);
    const run = ctx.db
      .prepare(
        "INSERT INTO send_runs (digest_date, status, started_at, sent, updated_at) VALUES ('2026-11-23', 'done', '2026-11-23T07:00:00Z', 6, '2026-11-23T07:00:00Z') RETURNING id",
      )
      .get() as { id: number };
    for (const id of [...readers, ...gmail])
      ctx.db
        .prepare("INSERT INTO send_deliveries (run_id, subscriber_id, status) VALUES (?, ?, 'sent')")
        .run(run.id, id);
    // The previous run's refusals came back as reports, after the relay had taken the digests.
    const deps = handleReportDeps(ctx, () => Promise.reject(new Error('unused')));
    for (const id of readers.slice(0, 2))
      applyBounceEvent(deps, {
        ...event('hard', ctx.subscribers.byId(id)!.email, '2026-11-23'),
        kind: 'sender',
        reason: 'authentication',
        subscriberId: id,
      });
    ctx.close();

    const r = await runScript('send-now', ['--date', DATE], {
      ...env,
      DATABASE_PATH: t.config.DATABASE_PATH,
      OUTBOX_DIR: t.config.OUTBOX_DIR,
    });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^2026-11-24: done\n/);
    expect(r.stdout).toContain(
      "\n  gmail.com refused 3 digests as spam: this is the sending domain's reputation, not your readers\n",
    );
    expect(r.stdout).toContain(
      "\n  2026-11-23: example.com refused 2 digests for failed authentication (SPF, DKIM, DMARC): this is the sending domain's DNS and signing setup, not your readers",
    );
    expect(r.stdout).toMatch(/previous run 2026-11-23: sent 6, .*, refused for the sender's reasons 2\n/);
    expect(sink.messages).toHaveLength(3);
  });
});
