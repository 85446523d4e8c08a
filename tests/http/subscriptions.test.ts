import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createTestApp, ManualClock, type TestApp } from '../support/test-app.ts';
import { subscriberLinks } from '../../src/domain/tokens.ts';
import { escapeHtml } from '../../src/html.ts';
import { renderQueuedMail } from '../../src/mail/mail-queue.ts';
import { nextConfirmWindow } from '../../src/domain/subscriptions.ts';
import { fixturePapers } from '../support/fixture-papers.ts';

const FORM = { 'content-type': 'application/x-www-form-urlencoded' };
const JSON_TYPE = { 'content-type': 'application/json' };

let t: TestApp;
let clock: ManualClock;

beforeEach(async () => {
  clock = new ManualClock();
  t = await createTestApp({ SUBSCRIBE_RATE_PER_IP: '0' }, { clock });
});
afterEach(async () => t.close());

const form = (fields: Record<string, string>) => new URLSearchParams(fields).toString();
const subscribeForm = (fields: Record<string, string>) =>
  t.app.inject({ method: 'POST', url: '/subscribe', headers: FORM, payload: form(fields) });
const subscribeJson = (body: unknown) =>
  t.app.inject({ method: 'POST', url: '/subscribe', headers: JSON_TYPE, payload: JSON.stringify(body) });
const row = (email: string) =>
  t.ctx.db.prepare('SELECT id, status, digest_size, keywords FROM subscribers WHERE email = ?').get(email) as
    { id: number; status: string; digest_size: number; keywords: string } | undefined;
/** The confirmation emails queued for an address, rendered as the worker will send them. */
const queued = (email: string) =>
  (
    t.ctx.db
      .prepare("SELECT kind, payload FROM mail_queue WHERE recipient = ? AND kind = 'confirm' ORDER BY id")
      .all(email) as { kind: string; payload: string }[]
  ).map((row) => renderQueuedMail(t.templates, { kind: row.kind, payload: JSON.parse(row.payload) }));
const confirmPath = (mail: { text: string }) =>
  new URL(/https:\/\/papers\.example\.org\/confirm\/[\w-]+/.exec(mail.text)![0]).pathname;

describe('GET /', () => {
  it('when a person opens the site, then the subscribe form is there with its optional preferences and a hidden honeypot', async () => {
    const res = await t.app.inject('/');
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toMatch(/text\/html/);
    for (const field of ['name="email"', 'name="digest_size"', 'name="keywords"', 'name="website"'])
      expect(res.body).toContain(field);
    expect(res.body).toMatch(/<form[^>]*method="post"[^>]*action="\/subscribe"/);
    expect(res.headers['content-security-policy']).toContain("default-src 'none'");
    expect(res.headers['referrer-policy']).toBe('no-referrer');
  });

  it('when a digest has gone out, then the page shows its top three papers as a sample, escaped', async () => {
    const papers = fixturePapers('2026-11-24');
    t.ctx.digests.save('2026-11-24', papers);
    const res = await t.app.inject('/');
    expect(res.body).toContain('the digest of 2026-11-24');
    for (const p of papers.slice(0, 3)) expect(res.body).toContain(escapeHtml(p.title));
    expect(res.body).not.toContain(escapeHtml(papers[3]!.title));
  });
});

describe('POST /subscribe', () => {
  it('when the form is valid, then 202 with a check-your-inbox page, a pending row and a queued confirmation with an absolute link', async () => {
    const res = await subscribeForm({
      email: ' Ada@Example.org ',
      digest_size: '5',
      keywords: 'LLM, diffusion models',
      website: '',
    });
    expect(res.statusCode).toBe(202);
    expect(res.body).toContain('Check your inbox');
    expect(row('ada@example.org')).toMatchObject({
      status: 'pending',
      digest_size: 5,
      keywords: 'llm,diffusion models',
    });
    const mails = queued('Ada@Example.org');
    expect(mails).toHaveLength(1);
    expect(mails[0]!.html).toContain(`https://papers.example.org${confirmPath(mails[0]!)}`);
  });

  it('when JSON is sent, then 202 {"status":"pending"}', async () => {
    const res = await subscribeJson({ email: 'grace@example.org' });
    expect(res.statusCode).toBe(202);
    expect(res.json()).toEqual({ status: 'pending' });
    expect(row('grace@example.org')?.status).toBe('pending');
  });

  it('when the address is new, pending, confirmed or unsubscribed, then the answer is byte for byte the same', async () => {
    const answers = { form: new Set<string>(), json: new Set<string>() };
    const record = async () => {
      answers.form.add((await subscribeForm({ email: 'same@example.org' })).body);
      answers.json.add((await subscribeJson({ email: 'same@example.org' })).body);
    };
    await record(); // new, then pending
    clock.advance(3600_000);
    const confirmed = await t.app.inject({ method: 'POST', url: confirmPath(queued('same@example.org').at(-1)!) });
    expect(confirmed.statusCode).toBe(200);
    await record(); // confirmed
    const links = subscriberLinks(t.ctx.config.PUBLIC_URL, t.ctx.secret, row('same@example.org')!.id);
    await t.app.inject({
      method: 'POST',
      url: new URL(links.unsubscribeUrl).pathname,
      headers: FORM,
      payload: 'List-Unsubscribe=One-Click',
    });
    expect(row('same@example.org')?.status).toBe('unsubscribed');
    clock.advance(3600_000);
    await record(); // unsubscribed
    expect(answers.form.size).toBe(1);
    expect(answers.json.size).toBe(1);
  });

  it('when someone subscribes again after unsubscribing, then a new opt-in starts and its link confirms', async () => {
    await subscribeForm({ email: 'back@example.org' });
    await t.app.inject({ method: 'POST', url: confirmPath(queued('back@example.org')[0]!) });
    const { unsubscribeUrl } = subscriberLinks(t.ctx.config.PUBLIC_URL, t.ctx.secret, row('back@example.org')!.id);
    await t.app.inject({ method: 'POST', url: new URL(unsubscribeUrl).pathname, payload: '' });
    expect(row('back@example.org')?.status).toBe('unsubscribed');
    await subscribeForm({ email: 'back@example.org', digest_size: '20' });
    expect(row('back@example.org')).toMatchObject({ status: 'pending', digest_size: 20 });
    const res = await t.app.inject({ method: 'POST', url: confirmPath(queued('back@example.org').at(-1)!) });
    expect(res.statusCode).toBe(200);
    expect(row('back@example.org')?.status).toBe('confirmed');
  });

  it('when a confirmed subscriber is signed up again by someone, then their preferences stay and no confirmation is queued', async () => {
    await subscribeForm({ email: 'kept@example.org', digest_size: '5' });
    await t.app.inject({ method: 'POST', url: confirmPath(queued('kept@example.org')[0]!) });
    await subscribeForm({ email: 'kept@example.org', digest_size: '20', keywords: 'spam' });
    expect(row('kept@example.org')).toMatchObject({ status: 'confirmed', digest_size: 5, keywords: '' });
    expect(queued('kept@example.org')).toHaveLength(1);
  });

  it.each([
    ['an empty body', '', 'email', /Please enter your email address/],
    ['an empty address', form({ email: '' }), 'email', /Please enter your email address/],
    ['a malformed address', form({ email: 'ada-at-example.org' }), 'email', /does not look like an email address/],
    [
      'an address of 320+ characters',
      form({ email: `${'a'.repeat(64)}@${'b'.repeat(250)}.example.org` }),
      'email',
      /too long \(254 characters at most\)/,
    ],
    [
      'CR/LF in the address',
      form({ email: 'ada@example.org\r\nBcc: all@example.org' }),
      'email',
      /cannot contain line breaks/,
    ],
    ['an unknown field', form({ email: 'ada@example.org', admin: 'true' }), null, /Unknown field: admin/],
    [
      'a digest size that is not offered',
      form({ email: 'ada@example.org', digest_size: '7' }),
      'digest_size',
      /must be 5, 10 or 20/,
    ],
    [
      'keywords with markup',
      form({ email: 'ada@example.org', keywords: '<script>' }),
      'keywords',
      /letters and digits/,
    ],
  ])('when the form has %s, then 400 and the page says what is wrong', async (_name, payload, _field, message) => {
    const res = await t.app.inject({ method: 'POST', url: '/subscribe', headers: FORM, payload });
    expect(res.statusCode).toBe(400);
    expect(res.headers['content-type']).toMatch(/text\/html/);
    expect(res.body).toMatch(message);
    expect(res.body).toContain('role="alert"');
    expect(t.ctx.db.prepare('SELECT count(*) FROM subscribers').pluck().get()).toBe(0);
  });

  it('when JSON asks for the weekly edition, then the subscriber is weekly; daily when not said; anything else is a 400 on cadence', async () => {
    expect((await subscribeJson({ email: 'week@example.org', cadence: 'weekly' })).statusCode).toBe(202);
    expect((await subscribeJson({ email: 'day@example.org' })).statusCode).toBe(202);
    const cadence = (email: string) =>
      t.ctx.db.prepare('SELECT cadence FROM subscribers WHERE email = ?').pluck().get(email);
    expect([cadence('week@example.org'), cadence('day@example.org')]).toEqual(['weekly', 'daily']);
    const bad = await subscribeJson({ email: 'month@example.org', cadence: 'monthly' });
    expect(bad.statusCode).toBe(400);
    expect(bad.json()).toEqual({
      error: 'invalid_input',
      field: 'cadence',
      message: 'How often must be daily or weekly.',
    });
  });

  it('when JSON input is invalid, then 400 names the field and the problem', async () => {
    const res = await subscribeJson({ email: 'nope' });
    expect(res.statusCode).toBe(400);
    expect(res.json()).toEqual({
      error: 'invalid_input',
      field: 'email',
      message: 'That does not look like an email address (for example: ada@example.org).',
    });
    const unknown = await subscribeJson({ email: 'ada@example.org', role: 'admin' });
    expect(unknown.statusCode).toBe(400);
    expect(unknown.json()).toMatchObject({ message: 'Unknown field: role.' });
  });

  it('when the JSON is malformed, then 400 says it could not be read', async () => {
    const res = await t.app.inject({ method: 'POST', url: '/subscribe', headers: JSON_TYPE, payload: '{"email": ' });
    expect(res.statusCode).toBe(400);
    expect(res.json().message).toMatch(/JSON .* could not be read/);
  });

  it('when the content type is neither form nor JSON, then 415 says what to send', async () => {
    const res = await t.app.inject({
      method: 'POST',
      url: '/subscribe',
      headers: { 'content-type': 'text/plain' },
      payload: 'email=ada@example.org',
    });
    expect(res.statusCode).toBe(415);
    expect(res.body).toContain('application/x-www-form-urlencoded or JSON');
  });

  it('when the body is huge, then 413 and nothing is stored', async () => {
    const res = await subscribeForm({ email: 'ada@example.org', keywords: 'x'.repeat(100_000) });
    expect(res.statusCode).toBe(413);
    expect(res.body).toContain('too large');
    expect(row('ada@example.org')).toBeUndefined();
  });

  it('when the honeypot is filled, then the same 202 and no row and no email', async () => {
    const human = await subscribeForm({ email: 'human@example.org' });
    const bot = await subscribeForm({ email: 'bot@example.org', website: 'http://spam.example' });
    expect(bot.statusCode).toBe(202);
    expect(bot.body).toBe(human.body);
    expect(row('bot@example.org')).toBeUndefined();
    expect(queued('bot@example.org')).toHaveLength(0);
  });

  it('when one address is signed up over and over, then at most 3 confirmation emails an hour reach it', async () => {
    for (let i = 0; i < 6; i++) expect((await subscribeForm({ email: 'target@example.org' })).statusCode).toBe(202);
    expect(queued('target@example.org')).toHaveLength(3);
    clock.advance(3601_000);
    await subscribeForm({ email: 'target@example.org' });
    expect(queued('target@example.org')).toHaveLength(4);
  });

  it('when the earlier link is used after the cap stopped new emails, then it still confirms', async () => {
    for (let i = 0; i < 5; i++) await subscribeForm({ email: 'capped@example.org' });
    const res = await t.app.inject({ method: 'POST', url: confirmPath(queued('capped@example.org').at(-1)!) });
    expect(res.statusCode).toBe(200);
    expect(row('capped@example.org')?.status).toBe('confirmed');
  });
});

describe('per-IP rate limit', () => {
  it('when one IP posts more than SUBSCRIBE_RATE_PER_IP a minute, then 429 with a clear message', async () => {
    const limited = await createTestApp({ SUBSCRIBE_RATE_PER_IP: '3' });
    try {
      const codes = [];
      for (let i = 0; i < 4; i++) {
        codes.push(
          (
            await limited.app.inject({
              method: 'POST',
              url: '/subscribe',
              headers: FORM,
              payload: form({ email: `n${i}@example.org` }),
            })
          ).statusCode,
        );
      }
      expect(codes).toEqual([202, 202, 202, 429]);
      const res = await limited.app.inject({
        method: 'POST',
        url: '/subscribe',
        headers: FORM,
        payload: form({ email: 'x@example.org' }),
      });
      expect(res.body).toContain('Too many requests');
    } finally {
      await limited.close();
    }
  });
});

describe('GET and POST /confirm/:token', () => {
  it('when the link is used (its button POSTs), then it confirms once; a second use says it was used', async () => {
    await subscribeForm({ email: 'ada@example.org' });
    const path = confirmPath(queued('ada@example.org')[0]!);
    const first = await t.app.inject({ method: 'POST', url: path });
    expect(first.statusCode).toBe(200);
    expect(first.body).toContain('You’re subscribed');
    expect(row('ada@example.org')?.status).toBe('confirmed');
    const second = await t.app.inject(path);
    expect(second.statusCode).toBe(200);
    expect(second.body).toContain('Already confirmed');
  });

  it('when the link is older than 48 hours, then 410 and an offer to sign up again; the address stays pending', async () => {
    await subscribeForm({ email: 'late@example.org' });
    clock.advance(48 * 3600_000 + 1000);
    const res = await t.app.inject(confirmPath(queued('late@example.org')[0]!));
    expect(res.statusCode).toBe(410);
    expect(res.body).toContain('expired');
    expect(res.body).toContain('Sign up again');
    expect(row('late@example.org')?.status).toBe('pending');
  });

  it('when a newer email was sent, then the older link still opens; a made-up token is a 404 that offers to sign up again', async () => {
    await subscribeForm({ email: 'twice@example.org' });
    await subscribeForm({ email: 'twice@example.org' });
    const [older] = queued('twice@example.org');
    expect((await t.app.inject(confirmPath(older!))).statusCode).toBe(200);
    const madeUp = await t.app.inject('/confirm/' + 'A'.repeat(32));
    expect(madeUp.statusCode).toBe(404);
    expect(madeUp.body).toContain('Sign up again');
    expect((await t.app.inject('/confirm/x')).statusCode).toBe(404);
  });
});

describe('unsubscribe (RFC 8058)', () => {
  async function confirmedSubscriber(email = 'reader@example.org') {
    await subscribeForm({ email });
    await t.app.inject({ method: 'POST', url: confirmPath(queued(email)[0]!) });
    const links = subscriberLinks(t.ctx.config.PUBLIC_URL, t.ctx.secret, row(email)!.id);
    return { unsubscribe: new URL(links.unsubscribeUrl).pathname, preferences: new URL(links.preferencesUrl).pathname };
  }

  it('when the link is opened (GET), then a page with a button, and nothing changes', async () => {
    const links = await confirmedSubscriber();
    const res = await t.app.inject(links.unsubscribe);
    expect(res.statusCode).toBe(200);
    expect(res.body).toMatch(
      /<form method="post"><input type="hidden" name="List-Unsubscribe" value="One-Click"><button/,
    );
    expect(row('reader@example.org')?.status).toBe('confirmed');
  });

  it('when the one-click POST arrives form-urlencoded, then 200 at once, no redirect, no cookie, and it can be repeated', async () => {
    const links = await confirmedSubscriber();
    for (let i = 0; i < 2; i++) {
      const res = await t.app.inject({
        method: 'POST',
        url: links.unsubscribe,
        headers: FORM,
        payload: 'List-Unsubscribe=One-Click',
      });
      expect(res.statusCode).toBe(200);
      expect(res.headers.location).toBeUndefined();
      expect(res.headers['set-cookie']).toBeUndefined();
      expect(res.body).toContain('You’re unsubscribed');
    }
    expect(row('reader@example.org')?.status).toBe('unsubscribed');
  });

  it('when the one-click POST arrives as multipart/form-data, then it unsubscribes too', async () => {
    const links = await confirmedSubscriber();
    const boundary = '----paperboy';
    const payload = `--${boundary}\r\nContent-Disposition: form-data; name="List-Unsubscribe"\r\n\r\nOne-Click\r\n--${boundary}--\r\n`;
    const res = await t.app.inject({
      method: 'POST',
      url: links.unsubscribe,
      headers: { 'content-type': `multipart/form-data; boundary=${boundary}` },
      payload,
    });
    expect(res.statusCode).toBe(200);
    expect(row('reader@example.org')?.status).toBe('unsubscribed');
  });

  it('when the link is forged or belongs to the preferences page, then 404 and nobody is unsubscribed', async () => {
    const links = await confirmedSubscriber();
    const id = row('reader@example.org')!.id;
    const forged = await t.app.inject({
      method: 'POST',
      url: `/unsubscribe/${id}.${'A'.repeat(24)}`,
      headers: FORM,
      payload: 'List-Unsubscribe=One-Click',
    });
    expect(forged.statusCode).toBe(404);
    const crossed = await t.app.inject({
      method: 'POST',
      url: links.preferences.replace('/preferences/', '/unsubscribe/'),
      payload: '',
    });
    expect(crossed.statusCode).toBe(404);
    expect(row('reader@example.org')?.status).toBe('confirmed');
  });

  it('preferences: when the page is opened, then it shows the settings; a valid POST saves them; an invalid one is 400', async () => {
    const links = await confirmedSubscriber();
    const page = await t.app.inject(links.preferences);
    expect(page.statusCode).toBe(200);
    expect(page.body).toContain('reader@example.org');
    expect(page.body).toContain('Unsubscribe from all emails');
    const saved = await t.app.inject({
      method: 'POST',
      url: links.preferences,
      headers: FORM,
      payload: form({ digest_size: '20', keywords: 'Agents, speech' }),
    });
    expect(saved.statusCode).toBe(200);
    expect(saved.body).toContain('Saved');
    expect(row('reader@example.org')).toMatchObject({
      digest_size: 20,
      keywords: 'agents,speech',
      status: 'confirmed',
    });
    const cleared = await t.app.inject({
      method: 'POST',
      url: links.preferences,
      headers: FORM,
      payload: form({ digest_size: '20', keywords: '' }),
    });
    expect(cleared.statusCode).toBe(200);
    expect(row('reader@example.org')?.keywords).toBe('');
    const bad = await t.app.inject({
      method: 'POST',
      url: links.preferences,
      headers: FORM,
      payload: form({ digest_size: '3' }),
    });
    expect(bad.statusCode).toBe(400);
    expect(bad.body).toContain('must be 5, 10 or 20');
    expect((await t.app.inject(`/preferences/1.${'B'.repeat(24)}`)).statusCode).toBe(404);
  });
});

describe('GET /healthz', () => {
  it('when the database answers, then 200; when it does not, then 503', async () => {
    expect((await t.app.inject('/healthz')).statusCode).toBe(200);
    t.ctx.db.close();
    const res = await t.app.inject('/healthz');
    expect(res.statusCode).toBe(503);
    expect(res.json()).toMatchObject({ status: 'unavailable' });
    t.ctx.db = (await import('../../src/db/connection.ts')).openDatabase(':memory:');
  });
});

describe('unknown pages', () => {
  it('when a page does not exist, then a friendly 404', async () => {
    const res = await t.app.inject('/nope');
    expect(res.statusCode).toBe(404);
    expect(res.body).toContain('There is no page at this address');
  });
});

describe('nextConfirmWindow (the per-address cap)', () => {
  const at = (iso: string) => new Date(iso);
  it('when an address had no email, or its window is an hour old, then a new window starts', () => {
    expect(nextConfirmWindow(undefined, at('2026-11-25T08:00:00Z'), 3)).toEqual({
      start: '2026-11-25T08:00:00.000Z',
      count: 1,
    });
    expect(nextConfirmWindow({ start: '2026-11-25T07:00:00.000Z', count: 3 }, at('2026-11-25T08:00:00Z'), 3)).toEqual({
      start: '2026-11-25T08:00:00.000Z',
      count: 1,
    });
  });
  it('when the window is open, then it counts up to the cap and then refuses', () => {
    expect(nextConfirmWindow({ start: '2026-11-25T07:30:00.000Z', count: 2 }, at('2026-11-25T08:00:00Z'), 3)).toEqual({
      start: '2026-11-25T07:30:00.000Z',
      count: 3,
    });
    expect(
      nextConfirmWindow({ start: '2026-11-25T07:30:00.000Z', count: 3 }, at('2026-11-25T08:00:00Z'), 3),
    ).toBeNull();
  });
});
