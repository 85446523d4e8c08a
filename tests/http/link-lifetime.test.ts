import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { copyFileSync, mkdirSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { createTestApp, ManualClock, type TestApp } from '../support/test-app.ts';
import { testConfig } from '../support/test-context.ts';
import { openDatabase } from '../../src/db/connection.ts';
import { migrate, migrationsDir } from '../../src/db/migrate.ts';
import { erasureDeps } from '../../src/context.ts';
import { eraseAddress } from '../../src/domain/erasure.ts';
import { subscriberLinks } from '../../src/domain/tokens.ts';
import { renderQueuedMail } from '../../src/mail/mail-queue.ts';

const FORM = { 'content-type': 'application/x-www-form-urlencoded' };

let t: TestApp;
let clock: ManualClock;

beforeEach(async () => {
  clock = new ManualClock();
  t = await createTestApp({ SUBSCRIBE_RATE_PER_IP: '0' }, { clock });
});
afterEach(async () => t.close());

const idOf = (email: string) =>
  t.ctx.db.prepare('SELECT id FROM subscribers WHERE email = ?').pluck().get(email) as number | undefined;
const statusOf = (email: string) =>
  t.ctx.db.prepare('SELECT status FROM subscribers WHERE email = ?').pluck().get(email) as string | undefined;
const erase = (email: string) => eraseAddress(erasureDeps(t.ctx), email).subscriber;
const linksOf = (id: number) => {
  const l = subscriberLinks(t.ctx.config.PUBLIC_URL, t.ctx.secret, id);
  return { unsubscribe: new URL(l.unsubscribeUrl).pathname, preferences: new URL(l.preferencesUrl).pathname };
};

async function subscribeAndConfirm(email: string) {
  await t.app.inject({
    method: 'POST',
    url: '/subscribe',
    headers: FORM,
    payload: new URLSearchParams({ email }).toString(),
  });
  const payload = t.ctx.db
    .prepare("SELECT payload FROM mail_queue WHERE recipient = ? AND kind = 'confirm' ORDER BY id DESC")
    .pluck()
    .get(email) as string;
  const { text } = renderQueuedMail(t.templates, { kind: 'confirm', payload: JSON.parse(payload) });
  const res = await t.app.inject({
    method: 'POST',
    url: new URL(/https:\/\/\S+\/confirm\/[\w-]+/.exec(text)![0]).pathname,
  });
  expect(res.statusCode).toBe(200);
  return idOf(email)!;
}

/** What an old link does now: every route it could reach, and whether it changed anything. */
async function tryLinks(links: { unsubscribe: string; preferences: string }) {
  return [
    (await t.app.inject(links.preferences)).statusCode,
    (
      await t.app.inject({
        method: 'POST',
        url: links.preferences,
        headers: FORM,
        payload: 'digest_size=20&keywords=hijacked',
      })
    ).statusCode,
    (await t.app.inject(links.unsubscribe)).statusCode,
    (
      await t.app.inject({
        method: 'POST',
        url: links.unsubscribe,
        headers: FORM,
        payload: 'List-Unsubscribe=One-Click',
      })
    ).statusCode,
  ];
}

describe('links of a subscriber who is gone', () => {
  it("when the newest address is erased and someone new signs up, then the erased one's links reach nobody", async () => {
    await subscribeAndConfirm('first@example.org');
    const goneId = await subscribeAndConfirm('gone@example.org');
    const old = linksOf(goneId);
    expect(erase('gone@example.org')).toBe(true);

    const newId = await subscribeAndConfirm('newcomer@example.org');
    expect(newId).toBeGreaterThan(goneId);
    expect(await tryLinks(old)).toEqual([404, 404, 404, 404]);
    expect(statusOf('newcomer@example.org')).toBe('confirmed');
    expect(
      t.ctx.db.prepare('SELECT digest_size, keywords FROM subscribers WHERE email = ?').get('newcomer@example.org'),
    ).toEqual({ digest_size: 10, keywords: '' });
  });

  it('when an unsubscribed address subscribes again, then the links of its old subscription are dead and the new ones work', async () => {
    const oldId = await subscribeAndConfirm('back@example.org');
    const old = linksOf(oldId);
    await t.app.inject({ method: 'POST', url: old.unsubscribe, headers: FORM, payload: 'List-Unsubscribe=One-Click' });
    expect(statusOf('back@example.org')).toBe('unsubscribed');
    // Whoever holds the old links sets the old subscription's preferences before the address returns.
    await t.app.inject({
      method: 'POST',
      url: old.preferences,
      headers: FORM,
      payload: 'digest_size=20&keywords=planted',
    });
    clock.advance(3600_000);

    const newId = await subscribeAndConfirm('back@example.org');
    expect(newId).not.toBe(oldId);
    expect(await tryLinks(old)).toEqual([404, 404, 404, 404]);
    expect(statusOf('back@example.org')).toBe('confirmed');
    expect(
      t.ctx.db.prepare('SELECT digest_size, keywords FROM subscribers WHERE email = ?').get('back@example.org'),
    ).toEqual({ digest_size: 10, keywords: '' });
    expect((await t.app.inject(linksOf(newId).preferences)).statusCode).toBe(200);
  });

  it('when a subscriber stays subscribed, then their links keep working through sign-ups and erasures of others', async () => {
    const id = await subscribeAndConfirm('stays@example.org');
    const links = linksOf(id);
    await subscribeAndConfirm('other@example.org');
    erase('other@example.org');
    await t.app.inject({ method: 'POST', url: '/subscribe', headers: FORM, payload: 'email=stays%40example.org' });
    expect((await t.app.inject(links.preferences)).statusCode).toBe(200);
    const saved = await t.app.inject({
      method: 'POST',
      url: links.preferences,
      headers: FORM,
      payload: 'digest_size=5',
    });
    expect(saved.statusCode).toBe(200);
    expect(
      (await t.app.inject({ method: 'POST', url: links.unsubscribe, headers: FORM, payload: '' })).statusCode,
    ).toBe(200);
    expect(statusOf('stays@example.org')).toBe('unsubscribed');
  });
});

describe('an existing database', () => {
  it('when it is upgraded, then links already emailed keep working and the erased top id is never issued again', async () => {
    // The schema as it was before ids were protected, with a row the upgrade must keep as it is.
    const { config, dir } = testConfig();
    const before = join(dir, 'migrations-before');
    mkdirSync(before);
    for (const f of readdirSync(migrationsDir).filter((f) => f < '011'))
      copyFileSync(join(migrationsDir, f), join(before, f));
    const db = openDatabase(config.DATABASE_PATH);
    migrate(db, before);
    const insert = db.prepare(
      "INSERT INTO subscribers (email, status, confirmed_at, created_at, updated_at) VALUES (?, 'confirmed', '2026-11-01T00:00:00Z', '2026-11-01T00:00:00Z', '2026-11-01T00:00:00Z') RETURNING id",
    );
    const keptId = insert.pluck().get('kept@example.org') as number;
    const topId = insert.pluck().get('top@example.org') as number;
    migrate(db);
    db.close();

    // The app on the upgraded file: the old link still works; after the top id is erased, a
    // newcomer gets a fresh one.
    await t.close();
    t = await createTestApp({ SUBSCRIBE_RATE_PER_IP: '0', DATABASE_PATH: config.DATABASE_PATH }, { clock });
    rmSync(dir, { recursive: true, force: true });
    expect((await t.app.inject(linksOf(keptId).preferences)).statusCode).toBe(200);
    expect(erase('top@example.org')).toBe(true);
    const newId = await subscribeAndConfirm('new@example.org');
    expect(newId).toBeGreaterThan(topId);
    const reuse = t.ctx.db.prepare(
      "INSERT INTO subscribers (id, email, status, created_at, updated_at) VALUES (?, 'x@example.org', 'pending', '', '')",
    );
    expect(() => reuse.run(topId)).toThrow(/never reused/);
  });
});
