import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createTestApp, ManualClock, type TestApp } from '../support/test-app.ts';
import { renderQueuedMail } from '../../src/mail/mail-queue.ts';

const FORM = { 'content-type': 'application/x-www-form-urlencoded' };

let t: TestApp;
let clock: ManualClock;

beforeEach(async () => {
  clock = new ManualClock();
  t = await createTestApp({ SUBSCRIBE_RATE_PER_IP: '0' }, { clock });
});
afterEach(async () => t.close());

const status = (email: string) => t.ctx.subscribers.byEmail(email)?.status;

/** Signs an address up and returns the path of the link in its (latest) confirmation email. */
async function signUp(email: string): Promise<string> {
  await t.app.inject({
    method: 'POST',
    url: '/subscribe',
    headers: FORM,
    payload: new URLSearchParams({ email }).toString(),
  });
  const rows = t.ctx.db
    .prepare("SELECT kind, payload FROM mail_queue WHERE recipient = ? AND kind = 'confirm' ORDER BY id")
    .all(email) as { kind: string; payload: string }[];
  const mail = renderQueuedMail(t.templates, { kind: rows.at(-1)!.kind, payload: JSON.parse(rows.at(-1)!.payload) });
  return new URL(/https:\/\/papers\.example\.org\/confirm\/[\w-]+/.exec(mail.text)![0]).pathname;
}

describe('GET /confirm/:token', () => {
  it('when the link is opened, then a page with one button posting back to the link, and the address stays pending', async () => {
    const path = await signUp('ada@example.org');
    for (let i = 0; i < 3; i++) {
      const res = await t.app.inject(path);
      expect(res.statusCode).toBe(200);
      expect(res.body).toContain('ada@example.org');
      expect(res.body).toMatch(/<form method="post"><button type="submit">Confirm my subscription<\/button><\/form>/);
      expect(res.body).not.toContain('<script');
      expect(res.headers['content-security-policy']).toContain("form-action 'self'");
      expect(res.headers['cache-control']).toBe('no-store');
    }
    expect((await t.app.inject({ method: 'HEAD', url: path })).statusCode).toBe(200);
    expect(status('ada@example.org')).toBe('pending');
  });

  it('when a link scanner fetches it over HTTP (HEAD, then GET, following redirects), then the sign-up stays pending', async () => {
    const path = await signUp('victim@example.org');
    const base = await t.app.listen({ port: 0, host: '127.0.0.1' });
    const head = await fetch(base + path, { method: 'HEAD', redirect: 'follow' });
    const get = await fetch(base + path, {
      redirect: 'follow',
      headers: { 'user-agent': 'Mozilla/5.0 (compatible; link scanner)' },
    });
    expect([head.status, get.status]).toEqual([200, 200]);
    expect(await get.text()).toContain('Confirm my subscription');
    expect(status('victim@example.org')).toBe('pending');
  });
});

describe('POST /confirm/:token', () => {
  it('when the button is pressed, then the address is confirmed; the link is used up after that', async () => {
    const path = await signUp('ada@example.org');
    const first = await t.app.inject({ method: 'POST', url: path, headers: FORM, payload: '' });
    expect(first.statusCode).toBe(200);
    expect(first.body).toContain('You’re subscribed');
    expect(status('ada@example.org')).toBe('confirmed');
    const again = await t.app.inject({ method: 'POST', url: path });
    expect(again.statusCode).toBe(200);
    expect(again.body).toContain('Already confirmed');
    expect((await t.app.inject(path)).body).toContain('Already confirmed');
  });

  it('when the link is older than 48 hours, then GET and POST both say it expired and the address stays pending', async () => {
    const path = await signUp('late@example.org');
    clock.advance(48 * 3600_000 + 1000);
    for (const method of ['GET', 'POST'] as const) {
      const res = await t.app.inject({ method, url: path });
      expect(res.statusCode).toBe(410);
      expect(res.body).toContain('This link has expired');
      expect(res.body).toContain('Sign up again');
    }
    expect(status('late@example.org')).toBe('pending');
  });

  it('when the token is made up, then 404 and nothing changes; both links of two sign-ups stay usable', async () => {
    const older = await signUp('twice@example.org');
    const newer = await signUp('twice@example.org');
    for (const url of ['/confirm/' + 'A'.repeat(32), '/confirm/x']) {
      const res = await t.app.inject({ method: 'POST', url });
      expect(res.statusCode).toBe(404);
      expect(res.body).toContain('This link is not valid');
    }
    expect(status('twice@example.org')).toBe('pending');
    expect((await t.app.inject({ method: 'POST', url: older })).statusCode).toBe(200);
    expect(status('twice@example.org')).toBe('confirmed');
    expect((await t.app.inject({ method: 'POST', url: newer })).body).toContain('Already confirmed');
  });
});
