import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { copyFileSync, mkdirSync, readdirSync, rmSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { createTestApp, ManualClock, type TestApp } from '../support/test-app.ts';
import { renderQueuedMail } from '../../src/mail/mail-queue.ts';
import { purgeStaleData } from '../../src/jobs/housekeeping.ts';
import { hashConfirmToken, newConfirmToken } from '../../src/domain/tokens.ts';
import { testConfig } from '../support/test-context.ts';
import { openDatabase } from '../../src/db/connection.ts';
import { migrate, migrationsDir } from '../../src/db/migrate.ts';

const FORM = { 'content-type': 'application/x-www-form-urlencoded' };
const HOUR_MS = 3600_000;

let t: TestApp;
let clock: ManualClock;

beforeEach(async () => {
  clock = new ManualClock();
  t = await createTestApp({ SUBSCRIBE_RATE_PER_IP: '0' }, { clock });
});
afterEach(async () => t.close());

/** Posts the sign-up form and returns the path of the link in the confirmation email it queued. */
async function signUp(fields: Record<string, string>): Promise<string> {
  const res = await t.app.inject({
    method: 'POST',
    url: '/subscribe',
    headers: FORM,
    payload: new URLSearchParams(fields).toString(),
  });
  expect(res.statusCode).toBe(202);
  const row = t.ctx.db
    .prepare("SELECT kind, payload FROM mail_queue WHERE recipient = ? AND kind = 'confirm' ORDER BY id DESC")
    .get(fields.email) as { kind: string; payload: string };
  const mail = renderQueuedMail(t.templates, { kind: row.kind, payload: JSON.parse(row.payload) });
  return new URL(/https:\/\/papers\.example\.org\/confirm\/[\w-]+/.exec(mail.text)![0]).pathname;
}

const settings = (email: string) =>
  t.ctx.db.prepare('SELECT status, cadence, digest_size, keywords FROM subscribers WHERE email = ?').get(email);
const requestRows = () => t.ctx.db.prepare('SELECT count(*) FROM pending_signup_requests').pluck().get();
const press = (path: string) => t.app.inject({ method: 'POST', url: path, headers: FORM, payload: '' });

const VICTIM = { email: 'victim@example.org', cadence: 'daily', digest_size: '10', keywords: '' };
const STRANGER = { email: 'victim@example.org', cadence: 'weekly', digest_size: '5', keywords: 'zzzz' };

describe('a second sign-up for a pending address', () => {
  it("when a stranger signs the pending address up again with other settings, then the victim's first link still confirms with the victim's settings", async () => {
    const victimLink = await signUp(VICTIM);
    clock.advance(60_000);
    const strangerLink = await signUp(STRANGER);
    expect(strangerLink).not.toBe(victimLink);

    const page = await t.app.inject(victimLink);
    expect(page.statusCode).toBe(200);
    expect(page.body).toContain('Confirm my subscription');
    expect(page.body).toContain('How often: Every day');
    expect(page.body).toContain('Papers per email: 10');
    expect(page.body).toContain('Only papers about: any topic');
    expect(page.body).not.toContain('zzzz');

    const confirmed = await press(victimLink);
    expect(confirmed.statusCode).toBe(200);
    expect(confirmed.body).toContain('You’re subscribed');
    expect(settings(VICTIM.email)).toEqual({ status: 'confirmed', cadence: 'daily', digest_size: 10, keywords: '' });

    // The stranger's link now does what a used link does, and changes nothing.
    for (const res of [await t.app.inject(strangerLink), await press(strangerLink)]) {
      expect(res.statusCode).toBe(200);
      expect(res.body).toContain('Already confirmed');
    }
    expect(settings(VICTIM.email)).toEqual({ status: 'confirmed', cadence: 'daily', digest_size: 10, keywords: '' });
  });

  it("when the stranger's link is the one pressed, then it applies only its own settings, none of the first request's", async () => {
    await signUp({ email: 'ada@example.org', cadence: 'daily', digest_size: '20', keywords: 'agents, speech' });
    const strangerLink = await signUp({ ...STRANGER, email: 'ada@example.org' });
    const page = await t.app.inject(strangerLink);
    expect(page.body).toContain('How often: Once a week');
    expect(page.body).toContain('Papers per email: 5');
    expect(page.body).toContain('Only papers about: zzzz');
    expect((await press(strangerLink)).statusCode).toBe(200);
    expect(settings('ada@example.org')).toEqual({
      status: 'confirmed',
      cadence: 'weekly',
      digest_size: 5,
      keywords: 'zzzz',
    });
  });

  it('when a request leaves a setting out, then its link applies the default for it, not what an earlier request asked', async () => {
    await signUp({ email: 'grace@example.org', cadence: 'weekly', digest_size: '5', keywords: 'llm' });
    const bare = await signUp({ email: 'grace@example.org' });
    expect((await press(bare)).statusCode).toBe(200);
    expect(settings('grace@example.org')).toEqual({
      status: 'confirmed',
      cadence: 'daily',
      digest_size: 10,
      keywords: '',
    });
  });

  it('when a sign-up is confirmed, then no request of it is kept', async () => {
    await signUp(VICTIM);
    const second = await signUp(STRANGER);
    await signUp({ email: 'other@example.org' });
    expect(requestRows()).toBe(3);
    await press(second);
    expect(requestRows()).toBe(1);
  });
});

describe('the lifetime of each link', () => {
  it('when two requests were 47 hours apart, then each link expires 48 hours after its own email', async () => {
    const first = await signUp(VICTIM);
    clock.advance(47 * HOUR_MS);
    const second = await signUp(STRANGER);
    clock.advance(2 * HOUR_MS);
    expect((await t.app.inject(first)).statusCode).toBe(410);
    expect((await press(first)).statusCode).toBe(410);
    expect((await t.app.inject(second)).statusCode).toBe(200);
    expect(settings(VICTIM.email)).toMatchObject({ status: 'pending' });
  });

  it('when housekeeping has removed an expired request, then its link still says it expired, and a later one still confirms', async () => {
    const first = await signUp(VICTIM);
    clock.advance(49 * HOUR_MS);
    const second = await signUp(STRANGER);
    expect(purgeStaleData({ ...t.ctx, clock })).toMatchObject({ expiredSignupRequests: 1 });
    expect(requestRows()).toBe(1);
    const res = await t.app.inject(first);
    expect(res.statusCode).toBe(410);
    expect(res.body).toContain('This link has expired');
    expect((await press(second)).statusCode).toBe(200);
    expect(settings(VICTIM.email)).toMatchObject({ status: 'confirmed', cadence: 'weekly' });
  });
});

describe('a link cannot be altered or made up', () => {
  it('when any character of a link is changed, then 404 and nothing changes', async () => {
    const link = await signUp(VICTIM);
    const token = link.split('/').at(-1)!;
    for (let i = 0; i < token.length; i++) {
      const c = token[i] === 'A' ? 'B' : 'A';
      const res = await press(`/confirm/${token.slice(0, i)}${c}${token.slice(i + 1)}`);
      expect(res.statusCode, `character ${i}`).toBe(404);
    }
    expect(settings(VICTIM.email)).toMatchObject({ status: 'pending' });
  });

  it('when a token is signed with another secret for a confirmed subscriber, then 404, not "already confirmed"', async () => {
    await press(await signUp(VICTIM));
    const id = t.ctx.db.prepare('SELECT id FROM subscribers WHERE email = ?').pluck().get(VICTIM.email) as number;
    const { token } = newConfirmToken('another-secret-another-secret-0123456789', id);
    const res = await t.app.inject(`/confirm/${token}`);
    expect(res.statusCode).toBe(404);
  });
});

describe('an existing database', () => {
  it('when it is upgraded, then a pending sign-up’s link emailed before keeps working, with the settings it asked for', async () => {
    const { config, dir } = testConfig();
    const before = join(dir, 'migrations-before');
    mkdirSync(before);
    for (const f of readdirSync(migrationsDir).filter((f) => f < '020'))
      copyFileSync(join(migrationsDir, f), join(before, f));
    const db = openDatabase(config.DATABASE_PATH);
    migrate(db, before);
    const token = randomBytes(24).toString('base64url');
    const sentAt = clock.now().toISOString();
    db.prepare(
      `INSERT INTO subscribers (id, email, status, digest_size, keywords, cadence, confirm_token_hash, confirm_sent_at, created_at, updated_at)
       VALUES (1, 'early@example.org', 'pending', 20, 'agents', 'weekly', ?, ?, ?, ?)`,
    ).run(hashConfirmToken(token), sentAt, sentAt, sentAt);
    migrate(db);
    db.close();

    await t.close();
    t = await createTestApp({ SUBSCRIBE_RATE_PER_IP: '0', DATABASE_PATH: config.DATABASE_PATH }, { clock });
    rmSync(dir, { recursive: true, force: true });
    expect((await t.app.inject(`/confirm/${token}`)).body).toContain('Only papers about: agents');
    expect((await press(`/confirm/${token}`)).statusCode).toBe(200);
    expect(settings('early@example.org')).toEqual({
      status: 'confirmed',
      cadence: 'weekly',
      digest_size: 20,
      keywords: 'agents',
    });
    expect(
      t.ctx.db.prepare('SELECT count(*) FROM subscribers WHERE confirm_token_hash IS NOT NULL').pluck().get(),
    ).toBe(0);
  });
});
