import { afterEach, describe, expect, it } from 'vitest';
import { createTestApp, ManualClock, type TestApp } from '../support/test-app.ts';
import { loadConfig } from '../../src/config.ts';
import { mailboxOf } from '../../src/domain/mailbox.ts';
import { subscribe } from '../../src/domain/subscriptions.ts';
import { subscriptionDeps } from '../../src/context.ts';
import { createLogger } from '../../src/logger.ts';

const FORM = { 'content-type': 'application/x-www-form-urlencoded' };

let t: TestApp | undefined;
afterEach(async () => t?.close());

async function start(env: Record<string, string> = {}) {
  const clock = new ManualClock();
  t = await createTestApp({ SUBSCRIBE_RATE_PER_IP: '0', ...env }, { clock });
  return { app: t, clock };
}

/** Signs each address up; returns the distinct answers (form and JSON) and how many emails were queued. */
async function signUps(app: TestApp, emails: string[]) {
  const answers = new Set<string>();
  for (const email of emails) {
    const form = await app.app.inject({
      method: 'POST',
      url: '/subscribe',
      headers: FORM,
      payload: new URLSearchParams({ email }).toString(),
    });
    answers.add(`${form.statusCode} ${form.body}`);
  }
  return answers;
}
const queuedTo = (app: TestApp, emails: string[]) =>
  emails.reduce(
    (n, e) =>
      n +
      (app.ctx.db
        .prepare("SELECT count(*) FROM mail_queue WHERE kind = 'confirm' AND recipient = ?")
        .pluck()
        .get(e) as number),
    0,
  );

describe('mailboxOf', () => {
  it.each([
    ['Victim+news@Example.org', 'victim@example.org', 'example.org'],
    ['victim@example.org', 'victim@example.org', 'example.org'],
    ['v.i.c.t.i.m+1@gmail.com', 'victim@gmail.com', 'gmail.com'],
    ['Vic.Tim@GoogleMail.com', 'victim@gmail.com', 'gmail.com'],
    ['first.last@example.org', 'first.last@example.org', 'example.org'],
    ['+only-tag@example.org', '+only-tag@example.org', 'example.org'],
  ])('%s is the mailbox %s at %s', (email, mailbox, domain) => {
    expect(mailboxOf(email)).toEqual({ mailbox, domain });
  });
});

describe('the confirmation cap per mailbox', () => {
  it('when one inbox is signed up through +tags and Gmail dots, then it gets the per-address cap in all, and every answer is the same', async () => {
    const { app } = await start({ CONFIRMATIONS_PER_ADDRESS_PER_HOUR: '3' });
    const variants = [
      'victim+1@example.org',
      'victim+2@example.org',
      'VICTIM+3@example.org',
      'victim@example.org',
      'victim+4@example.org',
    ];
    const answers = await signUps(app, variants);
    expect(answers.size).toBe(1);
    expect(queuedTo(app, variants)).toBe(3);

    const gmail = [
      'ada.lovelace@gmail.com',
      'adalovelace+x@gmail.com',
      'Ada.Love.Lace@googlemail.com',
      'a.d.a.lovelace+y@gmail.com',
    ];
    await signUps(app, gmail);
    expect(queuedTo(app, gmail)).toBe(3);
    // Another inbox on the same domain is not held back by the first one.
    await signUps(app, ['someone@example.org']);
    expect(queuedTo(app, ['someone@example.org'])).toBe(1);
  });

  it('when an hour has passed, then the mailbox may get confirmations again', async () => {
    const { app, clock } = await start({ CONFIRMATIONS_PER_ADDRESS_PER_HOUR: '2' });
    await signUps(app, ['x+1@example.org', 'x+2@example.org', 'x+3@example.org']);
    expect(queuedTo(app, ['x+1@example.org', 'x+2@example.org', 'x+3@example.org'])).toBe(2);
    clock.advance(3600_000);
    await signUps(app, ['x+3@example.org']);
    expect(queuedTo(app, ['x+3@example.org'])).toBe(1);
  });
});

describe('the confirmation cap per domain', () => {
  it('when many addresses at one domain sign up in an hour, then only the domain cap get mail, the same answer for all, and the next hour opens again', async () => {
    const { app, clock } = await start({ CONFIRMATIONS_PER_DOMAIN_PER_HOUR: '5' });
    const staff = Array.from({ length: 8 }, (_, i) => `person${i}@small-company.example`);
    const answers = await signUps(app, staff);
    expect(answers.size).toBe(1);
    expect(queuedTo(app, staff)).toBe(5);
    expect(
      app.ctx.db.prepare("SELECT count(*) FROM subscribers WHERE email LIKE '%@small-company.example'").pluck().get(),
    ).toBe(5);
    clock.advance(3600_000);
    await signUps(app, ['person7@small-company.example']);
    expect(queuedTo(app, ['person7@small-company.example'])).toBe(1);
  });

  it('when the domain is a big shared mail provider, then its many unrelated people are not capped together', async () => {
    const { app } = await start({ CONFIRMATIONS_PER_DOMAIN_PER_HOUR: '5' });
    const people = [
      ...Array.from({ length: 6 }, (_, i) => `reader${i}@gmail.com`),
      ...Array.from({ length: 6 }, (_, i) => `reader${i}@outlook.com`),
    ];
    await signUps(app, people);
    expect(queuedTo(app, people)).toBe(12);
  });

  it('when it is 0, then there is no domain cap', async () => {
    const { app } = await start({ CONFIRMATIONS_PER_DOMAIN_PER_HOUR: '0' });
    const staff = Array.from({ length: 60 }, (_, i) => `p${i}@tiny.example`);
    await signUps(app, staff);
    expect(queuedTo(app, staff)).toBe(60);
  });

  it('defaults to 50 an hour', () => {
    expect(loadConfig({}).CONFIRMATIONS_PER_DOMAIN_PER_HOUR).toBe(50);
  });
});

describe('when a cap holds a confirmation back', () => {
  /** Signs addresses up through the domain function, with its log lines captured. */
  async function capturing(env: Record<string, string>) {
    const { app, clock } = await start(env);
    const lines: Record<string, unknown>[] = [];
    const logger = createLogger('info', 'stdout', {
      destination: { write: (l: string) => void lines.push(JSON.parse(l) as Record<string, unknown>) },
    });
    const deps = { ...subscriptionDeps(app.ctx), logger };
    const signUp = async (...emails: string[]) => {
      for (const email of emails) await subscribe(deps, { email });
    };
    const warnings = () => lines.filter((l) => l.level === 40);
    return { app, clock, signUp, warnings };
  }

  it('when the domain cap fires again and again, then one warning per domain per hour names the domain and the cap', async () => {
    const { clock, signUp, warnings } = await capturing({ CONFIRMATIONS_PER_DOMAIN_PER_HOUR: '2' });
    await signUp('a@small.example', 'b@small.example');
    expect(warnings()).toEqual([]);
    await signUp('c@small.example', 'd@small.example', 'e@small.example');
    await signUp('a@other.example', 'b@other.example', 'c@other.example', 'd@other.example');
    expect(warnings()).toHaveLength(2);
    expect(warnings()[0]).toMatchObject({ cap: 'domain', domain: 'small.example', perHour: 2 });
    expect(warnings()[1]).toMatchObject({ cap: 'domain', domain: 'other.example' });

    clock.advance(30 * 60_000);
    await signUp('f@small.example');
    expect(warnings()).toHaveLength(2);
    // The next hour: a fresh window lets two emails through, then the cap fires and warns again.
    clock.advance(31 * 60_000);
    await signUp('g@small.example', 'h@small.example', 'i@small.example', 'j@small.example');
    expect(warnings()).toHaveLength(3);
    expect(warnings()[2]).toMatchObject({ cap: 'domain', domain: 'small.example' });
  });

  it('when the per-address cap fires, then it warns once per domain per hour without the address', async () => {
    const { clock, signUp, warnings } = await capturing({ CONFIRMATIONS_PER_ADDRESS_PER_HOUR: '1' });
    await signUp('victim@example.org', 'victim+1@example.org', 'victim+2@example.org', 'other@example.org');
    await signUp('other+1@example.org');
    expect(warnings()).toHaveLength(1);
    expect(warnings()[0]).toMatchObject({ cap: 'address', domain: 'example.org', perHour: 1 });
    expect(JSON.stringify(warnings())).not.toContain('@');
    clock.advance(3600_000);
    await signUp('victim+3@example.org', 'victim+4@example.org');
    expect(warnings()).toHaveLength(2);
  });

  it('when emails are held back, then each one is counted by the cap that held it', async () => {
    const { app, signUp } = await capturing({
      CONFIRMATIONS_PER_ADDRESS_PER_HOUR: '1',
      CONFIRMATIONS_PER_DOMAIN_PER_HOUR: '3',
    });
    await signUp('x@small.example', 'x+1@small.example', 'x+2@small.example');
    await signUp('y@small.example', 'z@small.example', 'w@small.example', 'v@small.example');
    const counts = app.ctx.db.prepare('SELECT scope, n FROM confirmations_capped ORDER BY scope').all();
    expect(counts).toEqual([
      { scope: 'address', n: 2 },
      { scope: 'domain', n: 2 },
    ]);
  });
});
