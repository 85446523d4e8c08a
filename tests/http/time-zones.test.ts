import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import { createTestApp, ManualClock, type TestApp } from '../support/test-app.ts';
import { renderQueuedMail } from '../../src/mail/mail-queue.ts';
import { subscriberLinks } from '../../src/domain/tokens.ts';

const FORM = { 'content-type': 'application/x-www-form-urlencoded' };
const JSON_BODY = { 'content-type': 'application/json', accept: 'application/json' };

let t: TestApp;
let clock: ManualClock;

beforeEach(async () => {
  clock = new ManualClock();
  t = await createTestApp({ SUBSCRIBE_RATE_PER_IP: '0' }, { clock });
});
afterEach(async () => t.close());

const postForm = (url: string, fields: Record<string, string>) =>
  t.app.inject({ method: 'POST', url, headers: FORM, payload: new URLSearchParams(fields).toString() });
const postJson = (body: unknown) =>
  t.app.inject({ method: 'POST', url: '/subscribe', headers: JSON_BODY, payload: JSON.stringify(body) });

/** The path of the link in the latest confirmation email to `email`. */
function confirmLink(email: string): string {
  const row = t.ctx.db
    .prepare("SELECT kind, payload FROM mail_queue WHERE recipient = ? AND kind = 'confirm' ORDER BY id DESC")
    .get(email) as { kind: string; payload: string };
  const mail = renderQueuedMail(t.templates, { kind: row.kind, payload: JSON.parse(row.payload) });
  return new URL(/https:\/\/papers\.example\.org\/confirm\/[\w-]+/.exec(mail.text)![0]).pathname;
}

const zoneAndHour = (email: string) =>
  t.ctx.db.prepare('SELECT timezone, delivery_hour FROM subscribers WHERE email = ?').get(email);
const press = (path: string) => t.app.inject({ method: 'POST', url: path, headers: FORM, payload: '' });

async function confirmedReader(email: string, fields: Record<string, string> = {}): Promise<string> {
  expect((await postForm('/subscribe', { email, ...fields })).statusCode).toBe(202);
  expect((await press(confirmLink(email))).statusCode).toBe(200);
  const id = t.ctx.subscribers.byEmail(email)!.id;
  return new URL(subscriberLinks(t.ctx.config.PUBLIC_URL, t.ctx.secret, id).preferencesUrl).pathname;
}

describe('time zone and delivery hour through the JSON API', () => {
  it('when a sign-up gives an alias and an hour, then its confirmation stores the canonical zone and the hour', async () => {
    const res = await postJson({ email: 'ada@example.org', timezone: 'Asia/Calcutta', delivery_hour: 7 });
    expect(res.statusCode).toBe(202);
    const link = confirmLink('ada@example.org');
    expect((await t.app.inject(link)).body).toContain('Arrives: around 07:00, Asia/Kolkata time');
    await press(link);
    expect(zoneAndHour('ada@example.org')).toEqual({ timezone: 'Asia/Kolkata', delivery_hour: 7 });
    expect(t.ctx.subscribers.byEmail('ada@example.org')).toMatchObject({
      timezone: 'Asia/Kolkata',
      deliveryHour: 7,
    });
  });

  it('when a sign-up gives neither, then both stay unset', async () => {
    await postJson({ email: 'bo@example.org' });
    const link = confirmLink('bo@example.org');
    expect((await t.app.inject(link)).body).toContain('Arrives: the list’s usual time');
    await press(link);
    expect(zoneAndHour('bo@example.org')).toEqual({ timezone: null, delivery_hour: null });
  });

  it('when the zone or the hour is invalid, then 400 naming that field, and nothing is stored', async () => {
    const zone = await postJson({ email: 'cy@example.org', timezone: 'Mars/Olympus_Mons' });
    expect(zone.statusCode).toBe(400);
    expect(zone.json()).toEqual({
      error: 'invalid_input',
      field: 'timezone',
      message:
        'Time zone must be a time zone name such as Europe/Berlin or America/New_York (not "Mars/Olympus_Mons").',
    });
    const hour = await postJson({ email: 'cy@example.org', delivery_hour: 12 });
    expect(hour.statusCode).toBe(400);
    expect(hour.json()).toEqual({
      error: 'invalid_input',
      field: 'delivery_hour',
      message: 'Delivery hour must be a whole hour from 5 to 11.',
    });
    expect(t.ctx.subscribers.byEmail('cy@example.org')).toBeUndefined();
  });
});

describe('time zone and delivery hour on the subscribe form', () => {
  it('when the page is opened, then it offers every zone and the hours 05 to 11, each with an empty default first', async () => {
    const page = (await t.app.inject('/')).body;
    expect(page).toMatch(/<select id="timezone" name="timezone"><option value="">Use the list’s default<\/option>/);
    expect(page).toContain('<option value="Asia/Kolkata">Asia/Kolkata</option>');
    expect(page).toContain('<option value="America/New_York">America/New York</option>');
    expect(page).not.toContain('value="Asia/Calcutta"');
    expect(page).toMatch(
      /<select id="delivery_hour" name="delivery_hour"><option value="">The list’s usual hour<\/option><option value="5">05:00<\/option>/,
    );
    expect(page).toContain('<option value="11">11:00</option>');
    expect(page).not.toContain('<option value="12">');
  });

  it('when the form sends an hour out of range, then 400, the page says so and keeps the chosen zone', async () => {
    const res = await postForm('/subscribe', {
      email: 'di@example.org',
      timezone: 'Europe/Berlin',
      delivery_hour: '4',
    });
    expect(res.statusCode).toBe(400);
    expect(res.body).toContain('Delivery hour must be a whole hour from 5 to 11.');
    expect(res.body).toContain('<option value="Europe/Berlin" selected>');
  });

  it('when the page carries the zone script, then the CSP allows exactly that script by its hash', async () => {
    const res = await t.app.inject('/');
    const scripts = [...res.body.matchAll(/<script>([^<]*)<\/script>/g)].map((m) => m[1]!);
    expect(scripts).toHaveLength(1);
    const hash = createHash('sha256').update(scripts[0]!).digest('base64');
    const csp = String(res.headers['content-security-policy']);
    expect(csp).toContain(`script-src 'sha256-${hash}'`);
    expect(csp).not.toMatch(/script-src[^;]*unsafe-inline/);
  });
});

describe("a pending sign-up's own zone and hour", () => {
  it('when a second sign-up asks for another zone and hour, then each link confirms with its own', async () => {
    await postForm('/subscribe', { email: 'ed@example.org', timezone: 'Europe/Kiev', delivery_hour: '6' });
    const first = confirmLink('ed@example.org');
    clock.advance(60_000);
    await postForm('/subscribe', { email: 'ed@example.org', timezone: 'America/Denver', delivery_hour: '10' });
    const second = confirmLink('ed@example.org');
    expect(second).not.toBe(first);
    // Nothing applies before a link is pressed.
    expect(zoneAndHour('ed@example.org')).toEqual({ timezone: 'Europe/Kyiv', delivery_hour: 6 });
    expect((await t.app.inject(second)).body).toContain('around 10:00, America/Denver time');
    await press(second);
    expect(zoneAndHour('ed@example.org')).toEqual({ timezone: 'America/Denver', delivery_hour: 10 });
  });

  it('when the first link is pressed, then its zone and hour apply, not the later request’s', async () => {
    await postForm('/subscribe', { email: 'fi@example.org', timezone: 'Europe/Kiev', delivery_hour: '6' });
    const first = confirmLink('fi@example.org');
    clock.advance(60_000);
    await postForm('/subscribe', { email: 'fi@example.org', timezone: '', delivery_hour: '' });
    await press(first);
    expect(zoneAndHour('fi@example.org')).toEqual({ timezone: 'Europe/Kyiv', delivery_hour: 6 });
  });
});

describe('time zone and delivery hour on the preferences page', () => {
  it('when the page is opened, then it shows both; saving changes them; empty goes back to the defaults', async () => {
    const prefs = await confirmedReader('gu@example.org', { timezone: 'Asia/Tokyo', delivery_hour: '8' });
    const page = (await t.app.inject(prefs)).body;
    expect(page).toContain('<option value="Asia/Tokyo" selected>');
    expect(page).toContain('<option value="8" selected>08:00</option>');
    expect(page).toContain('can skip one edition, or bring one forward');

    const saved = await postForm(prefs, {
      cadence: 'daily',
      digest_size: '10',
      keywords: '',
      timezone: 'Asia/Calcutta',
      delivery_hour: '5',
    });
    expect(saved.statusCode).toBe(200);
    expect(saved.body).toContain('<option value="Asia/Kolkata" selected>');
    expect(zoneAndHour('gu@example.org')).toEqual({ timezone: 'Asia/Kolkata', delivery_hour: 5 });

    await postForm(prefs, { cadence: 'daily', digest_size: '10', keywords: '', timezone: '', delivery_hour: '' });
    expect(zoneAndHour('gu@example.org')).toEqual({ timezone: null, delivery_hour: null });
  });

  it('when a saved zone or hour is invalid, then 400 says which, and nothing changes', async () => {
    const prefs = await confirmedReader('ha@example.org', { timezone: 'Asia/Tokyo', delivery_hour: '8' });
    const zone = await postForm(prefs, { timezone: 'Tokyo' });
    expect(zone.statusCode).toBe(400);
    expect(zone.body).toContain('Time zone must be a time zone name such as Europe/Berlin');
    const hour = await postForm(prefs, { delivery_hour: '23' });
    expect(hour.statusCode).toBe(400);
    expect(hour.body).toContain('Delivery hour must be a whole hour from 5 to 11.');
    expect(zoneAndHour('ha@example.org')).toEqual({ timezone: 'Asia/Tokyo', delivery_hour: 8 });
  });
});
