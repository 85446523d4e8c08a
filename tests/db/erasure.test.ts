import { afterEach, describe, expect, it } from 'vitest';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { createTestApp, ManualClock, type TestApp } from '../support/test-app.ts';
import { sendDueMail } from '../../src/mail/mail-queue.ts';
import { runInProcessOn, runScript } from '../support/cli.ts';
import { cli } from '../../scripts/subscribers.ts';
import { startSmtpSink } from '../support/smtp-sink.ts';
import { mailQueueDeps } from '../../src/context.ts';

const FORM = { 'content-type': 'application/x-www-form-urlencoded' };
const GONE = 'Erase.Me+papers@example.org';
const STAYS = 'stays@example.org';

let t: TestApp | undefined;
afterEach(async () => t?.close());

/** Every byte the service keeps on disk: the database, its WAL, every outbox file. */
function diskBytes(app: TestApp): { name: string; text: string }[] {
  const db = app.ctx.config.DATABASE_PATH;
  const files = [db, `${db}-wal`].filter(existsSync);
  const outbox = app.ctx.config.OUTBOX_DIR;
  if (existsSync(outbox)) files.push(...readdirSync(outbox).map((f) => join(outbox, f)));
  // latin1 keeps every byte as one character, so an address is found whatever surrounds it.
  return files.map((name) => ({ name, text: readFileSync(name).toString('latin1').toLowerCase() }));
}
const filesHolding = (app: TestApp, needle: string) =>
  diskBytes(app)
    .filter((f) => f.text.includes(needle.toLowerCase()))
    .map((f) => f.name);

async function signUpAndConfirm(app: TestApp, email: string): Promise<string> {
  await app.app.inject({
    method: 'POST',
    url: '/subscribe',
    headers: FORM,
    payload: new URLSearchParams({ email }).toString(),
  });
  const payload = app.ctx.db
    .prepare('SELECT payload FROM mail_queue WHERE recipient = ? ORDER BY id DESC')
    .pluck()
    .get(email) as string;
  const confirmUrl = JSON.parse(payload).confirmUrl as string;
  const mail = mailQueueDeps(app.ctx, app.templates);
  expect(await sendDueMail(mail)).toBe(1);
  expect((await app.app.inject({ method: 'POST', url: new URL(confirmUrl).pathname })).statusCode).toBe(200);
  return confirmUrl.split('/').at(-1)!;
}

describe('subscribers remove', () => {
  it('when an address is removed, then neither the database file, its WAL nor the outbox holds it or its confirmation token', async () => {
    const clock = new ManualClock();
    t = await createTestApp({ SUBSCRIBE_RATE_PER_IP: '0' }, { clock });
    const app = t;
    const token = await signUpAndConfirm(app, GONE);
    await signUpAndConfirm(app, STAYS);
    const id = app.ctx.db.prepare('SELECT id FROM subscribers WHERE email = ?').pluck().get(GONE) as number;

    // A digest went out: a ledger row whose SMTP reply names the address, a run error quoting it,
    // and the message in the outbox.
    const now = clock.now().toISOString();
    const run = app.ctx.db
      .prepare(
        "INSERT INTO send_runs (digest_date, status, started_at, last_error, updated_at) VALUES ('2026-11-24', 'paused', ?, ?, ?) RETURNING id",
      )
      .pluck()
      .get(now, `error budget spent: 1 of 2; last reply: 550 5.1.1 <${GONE}>: mailbox full`, now) as number;
    app.ctx.db
      .prepare(
        "INSERT INTO send_deliveries (run_id, subscriber_id, status, attempts, last_reply, updated_at) VALUES (?, ?, 'sent', 1, ?, ?)",
      )
      .run(run, id, `250 2.0.0 ok <${GONE}>`, now);
    for (const to of [GONE, STAYS])
      await app.ctx.mailer.sendTransactional({
        from: app.ctx.config.MAIL_FROM,
        to,
        subject: 'Trending papers',
        text: `This digest was sent to ${to}.`,
      });

    // The check can fail: before removal the address is on disk in all three places.
    expect(filesHolding(app, GONE).length).toBeGreaterThanOrEqual(3);

    const removed = await runScript('subscribers', ['remove', GONE], {
      DATABASE_PATH: app.ctx.config.DATABASE_PATH,
      OUTBOX_DIR: app.ctx.config.OUTBOX_DIR,
    });
    expect(removed.code, removed.stderr).toBe(0);
    expect(removed.stdout).toMatch(/removed/);

    expect(filesHolding(app, GONE)).toEqual([]);
    expect(filesHolding(app, 'erase.me')).toEqual([]);
    expect(filesHolding(app, token)).toEqual([]);
    // The rest of the list is untouched: the other subscriber, their mail, the run.
    expect(filesHolding(app, STAYS).length).toBeGreaterThanOrEqual(2);
    expect(app.ctx.db.prepare('SELECT email FROM subscribers').pluck().all()).toEqual([STAYS]);
    expect(app.ctx.db.prepare('SELECT count(*) FROM send_runs').pluck().get()).toBe(1);
    expect(app.ctx.db.prepare('SELECT count(*) FROM send_deliveries').pluck().get()).toBe(0);
    expect(app.ctx.db.prepare('SELECT count(*) FROM mail_queue WHERE recipient = ?').pluck().get(STAYS)).toBe(1);
  });

  it('when the address was never confirmed but mail went to it, then remove still erases that mail', async () => {
    t = await createTestApp({ SUBSCRIBE_RATE_PER_IP: '0' });
    const app = t;
    await app.app.inject({ method: 'POST', url: '/subscribe', headers: FORM, payload: 'email=pending%40example.org' });
    app.ctx.db.prepare('DELETE FROM subscribers').run();
    const removed = await runInProcessOn(cli, ['remove', 'pending@example.org'], {
      DATABASE_PATH: app.ctx.config.DATABASE_PATH,
      OUTBOX_DIR: app.ctx.config.OUTBOX_DIR,
    });
    expect(removed.code, removed.stderr).toBe(0);
    expect(app.ctx.db.prepare('SELECT count(*) FROM mail_queue').pluck().get()).toBe(0);
    expect(
      (
        await runInProcessOn(cli, ['remove', 'pending@example.org'], {
          DATABASE_PATH: app.ctx.config.DATABASE_PATH,
          OUTBOX_DIR: app.ctx.config.OUTBOX_DIR,
        })
      ).code,
    ).toBe(1);
  });

  it('when a pending address has several sign-up requests, then remove leaves none of them and none of their settings', async () => {
    t = await createTestApp({ SUBSCRIBE_RATE_PER_IP: '0' });
    const app = t;
    for (const keywords of ['quokkaformer', 'wombatnet'])
      await app.app.inject({
        method: 'POST',
        url: '/subscribe',
        headers: FORM,
        payload: new URLSearchParams({ email: GONE, keywords }).toString(),
      });
    await app.app.inject({ method: 'POST', url: '/subscribe', headers: FORM, payload: 'email=stays%40example.org' });
    const requests = () => app.ctx.db.prepare('SELECT count(*) FROM pending_signup_requests').pluck().get();
    expect(requests()).toBe(3);
    expect(filesHolding(app, 'wombatnet').length).toBeGreaterThan(0);

    const removed = await runInProcessOn(cli, ['remove', GONE], {
      DATABASE_PATH: app.ctx.config.DATABASE_PATH,
      OUTBOX_DIR: app.ctx.config.OUTBOX_DIR,
    });
    expect(removed.code, removed.stderr).toBe(0);
    expect(requests()).toBe(1);
    for (const trace of [GONE, 'erase.me', 'quokkaformer', 'wombatnet']) expect(filesHolding(app, trace)).toEqual([]);
  });

  it('when another process holds an old snapshot open, then remove still erases but warns that the WAL was not truncated', async () => {
    t = await createTestApp({ SUBSCRIBE_RATE_PER_IP: '0' });
    const app = t;
    await signUpAndConfirm(app, GONE);
    const reader = new Database(app.ctx.config.DATABASE_PATH, { readonly: true });
    reader.prepare('BEGIN').run();
    reader.prepare('SELECT count(*) FROM subscribers').get();
    // A write after the reader's snapshot, so a checkpoint would have to pass it.
    await signUpAndConfirm(app, STAYS);
    try {
      const env = { DATABASE_PATH: app.ctx.config.DATABASE_PATH, OUTBOX_DIR: app.ctx.config.OUTBOX_DIR };
      const removed = await runScript('subscribers', ['remove', GONE], env);
      expect(removed.code, removed.stderr).toBe(0);
      expect(removed.stderr).toMatch(/old copies may stay in its WAL file/);
    } finally {
      reader.prepare('COMMIT').run();
      reader.close();
    }
    expect(app.ctx.db.prepare('SELECT email FROM subscribers').pluck().all()).toEqual([STAYS]);
  });
});

describe('the mail queue', () => {
  it('when a confirmation has been sent, then its payload (the raw confirmation link) is no longer in the row', async () => {
    t = await createTestApp({ SUBSCRIBE_RATE_PER_IP: '0' });
    const token = await signUpAndConfirm(t, 'sent@example.org');
    expect(t.ctx.db.prepare('SELECT status, payload FROM mail_queue').all()).toEqual([
      { status: 'sent', payload: '{}' },
    ]);
    expect(
      t.ctx.db.prepare("SELECT count(*) FROM mail_queue WHERE payload LIKE '%' || ? || '%'").pluck().get(token),
    ).toBe(0);
  });

  it('when the server refuses the address for good, then the failed row keeps no payload either', async () => {
    const sink = await startSmtpSink({ onRcpt: () => ({ code: 550, message: '5.1.1 no such user' }) });
    try {
      t = await createTestApp({ SUBSCRIBE_RATE_PER_IP: '0', SMTP_URL: sink.url });
      const app = t;
      await app.app.inject({ method: 'POST', url: '/subscribe', headers: FORM, payload: 'email=nobody%40example.org' });
      const mail = mailQueueDeps(app.ctx, app.templates);
      expect(await sendDueMail(mail)).toBe(0);
      expect(app.ctx.db.prepare('SELECT status, payload FROM mail_queue').all()).toEqual([
        { status: 'failed', payload: '{}' },
      ]);
    } finally {
      await t?.close();
      t = undefined;
      await sink.close();
    }
  });
});
