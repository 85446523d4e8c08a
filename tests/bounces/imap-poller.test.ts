import { readFileSync } from 'node:fs';
import { ImapFlow } from 'imapflow';
import { pino } from 'pino';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { handleReportDeps } from '../../src/bounces/handle-report.ts';
import { createImapStateStore } from '../../src/bounces/imap-state-store.ts';
import { startImapPoller, type ImapPoller } from '../../src/bounces/imap-poller.ts';
import { parseReport } from '../../src/bounces/parse-report.ts';
import { bounceMail, expectedDecisions } from '../support/bounce-fixtures.ts';
import { startDovecot, type Dovecot } from '../support/dovecot.ts';
import { createBounceTest, type BounceTest } from './support.ts';

const expected = expectedDecisions();
const mail = bounceMail;

// A feedback-loop complaint (ARF abuse report) and two hard bounces (RFC 3464 DSNs), each about one recipient.
const COMPLAINT = 'arf-22.eml';
const HARD = 'rfc3464-26.eml';
const LATER = 'rfc3464-51.eml';
const only = (file: string) => {
  const [r, ...more] = expected[file]!;
  expect(more).toEqual([]);
  return r!;
};

let dovecot: Dovecot;
beforeAll(async () => {
  dovecot = await startDovecot();
}, 30_000);
afterAll(async () => {
  await dovecot?.stop();
});

async function imap<T>(fn: (c: ImapFlow) => Promise<T>): Promise<T> {
  const c = new ImapFlow({
    host: '127.0.0.1',
    port: dovecot.port,
    secure: false,
    auth: { user: dovecot.user, pass: dovecot.pass },
    logger: false,
  });
  await c.connect();
  try {
    return await fn(c);
  } finally {
    await c.logout();
  }
}
const deliver = (folder: string, ...files: string[]) =>
  imap(async (c) => {
    for (const f of files) await c.append(folder, mail(f));
  });
/** UID and flags of every message in `folder`. */
const listing = (folder: string) =>
  imap(async (c) => {
    await c.mailboxCreate(folder);
    await c.mailboxOpen(folder);
    const all = await c.fetchAll('1:*', { uid: true, flags: true });
    return all.map((m) => ({ uid: m.uid, seen: m.flags?.has('\\Seen') ?? false }));
  }).catch(() => []);

let t: BounceTest;
let parsed: string[];
let pollers: ImapPoller[];
beforeEach(() => {
  t = createBounceTest();
  parsed = [];
  pollers = [];
});
afterEach(async () => {
  await Promise.all(pollers.map((p) => p.stop()));
  t.ctx.close();
});

function poller(folder: string, after: string): ImapPoller {
  // The real parser, counting what it is given: a message handled twice is parsed twice.
  const intake = handleReportDeps(t.ctx, async (raw) => {
    parsed.push(/^Message-ID:\s*(.+)$/im.exec(raw.toString('latin1'))?.[1]?.trim() ?? '?');
    return parseReport(raw);
  });
  const p = startImapPoller(
    { intake, state: createImapStateStore(t.ctx.db), logger: t.ctx.logger },
    { url: dovecot.url(folder), after, pollMs: 60_000, retryMs: 100 },
  );
  pollers.push(p);
  return p;
}

describe('the bounce mailbox poller against a real IMAP server', () => {
  it('when a complaint and a DSN are in the mailbox, then each is handled once, across a restart, and new mail is handled as it comes', async () => {
    const folder = 'Bounces1';
    await imap((c) => c.mailboxCreate(folder));
    const [complainer, bounced, later] = t.subscribe(
      only(COMPLAINT).recipient,
      only(HARD).recipient,
      only(LATER).recipient,
    );
    expect([only(COMPLAINT).decision, only(HARD).decision, only(LATER).decision]).toEqual([
      'complaint',
      'hard',
      'hard',
    ]);
    await deliver(folder, COMPLAINT, HARD);

    const first = poller(folder, 'seen');
    await vi.waitFor(
      () => expect([t.status(complainer!), t.status(bounced!)]).toEqual(['unsubscribed', 'suppressed']),
      { timeout: 20_000, interval: 50 },
    );
    expect(parsed).toHaveLength(2);
    await vi.waitFor(
      async () =>
        expect(await listing(folder)).toEqual([
          { uid: 1, seen: true },
          { uid: 2, seen: true },
        ]),
      { timeout: 10_000 },
    );
    await first.stop();

    // A new poller on the same database: it carries on after UID 2.
    poller(folder, 'seen');
    await deliver(folder, LATER);
    await vi.waitFor(() => expect(t.status(later!)).toBe('suppressed'), { timeout: 20_000, interval: 50 });
    expect(parsed).toHaveLength(3);
    expect(new Set(parsed).size).toBe(3);
    expect(t.events().map((e) => [e.kind, e.source])).toEqual([
      ['complaint', `imap:${folder}`],
      ['hard', `imap:${folder}`],
      ['hard', `imap:${folder}`],
    ]);
    await vi.waitFor(async () => expect((await listing(folder)).every((m) => m.seen)).toBe(true), { timeout: 10_000 });
    expect(t.ctx.db.prepare('SELECT last_uid FROM imap_state').pluck().all()).toEqual([3]);
  }, 60_000);

  it('when set to move, then handled messages leave the folder for the named one, and a restart handles none again', async () => {
    const folder = 'Bounces2';
    await imap((c) => c.mailboxCreate(folder));
    const [complainer, bounced] = t.subscribe(only(COMPLAINT).recipient, only(HARD).recipient);
    await deliver(folder, COMPLAINT, HARD);

    const first = poller(folder, 'move:Handled');
    await vi.waitFor(async () => expect(await listing('Handled')).toHaveLength(2), { timeout: 20_000, interval: 100 });
    expect([t.status(complainer!), t.status(bounced!)]).toEqual(['unsubscribed', 'suppressed']);
    expect(await listing(folder)).toEqual([]);
    await first.stop();

    poller(folder, 'move:Handled');
    await deliver(folder, HARD);
    // The same report again, as a new message: handled (parsed), and changes nothing.
    await vi.waitFor(async () => expect(await listing('Handled')).toHaveLength(3), { timeout: 20_000, interval: 100 });
    expect(parsed).toHaveLength(3);
    expect(t.events()).toHaveLength(2);
  }, 60_000);

  it('when the server drops the session, then the poller connects again and goes on where it stopped', async () => {
    const folder = 'Bounces3';
    await imap((c) => c.mailboxCreate(folder));
    const [complainer, bounced] = t.subscribe(only(COMPLAINT).recipient, only(HARD).recipient);
    await deliver(folder, COMPLAINT);
    const warnings: string[] = [];
    const logger = pino(
      { level: 'warn' },
      { write: (line: string) => warnings.push((JSON.parse(line) as { msg: string }).msg) },
    );
    const intake = handleReportDeps(t.ctx, async (raw) => {
      parsed.push('x');
      return parseReport(raw);
    });
    pollers.push(
      startImapPoller(
        { intake, state: createImapStateStore(t.ctx.db), logger },
        { url: dovecot.url(folder), after: 'seen', pollMs: 60_000, retryMs: 50 },
      ),
    );
    await vi.waitFor(() => expect(t.status(complainer!)).toBe('unsubscribed'), { timeout: 20_000, interval: 50 });
    dovecot.kick();
    await vi.waitFor(() => expect(warnings).toContain('bounce mailbox: session failed, retrying'), {
      timeout: 10_000,
      interval: 50,
    });
    await deliver(folder, HARD);
    await vi.waitFor(() => expect(t.status(bounced!)).toBe('suppressed'), { timeout: 20_000, interval: 50 });
    expect(parsed).toHaveLength(2);
  }, 60_000);

  it('when the server cannot be reached, then the poller logs, retries and stops cleanly, without throwing', async () => {
    const warnings: string[] = [];
    const logger = pino(
      { level: 'warn' },
      { write: (line: string) => warnings.push((JSON.parse(line) as { reason: string }).reason) },
    );
    const p = startImapPoller(
      { intake: handleReportDeps(t.ctx, parseReport), state: createImapStateStore(t.ctx.db), logger },
      { url: `imap://u:p@127.0.0.1:1/INBOX`, after: 'seen', pollMs: 1000, retryMs: 20, maxRetryMs: 40 },
    );
    await vi.waitFor(() => expect(warnings.length).toBeGreaterThanOrEqual(3), { timeout: 10_000 });
    expect(warnings[0]).toMatch(/ECONNREFUSED|connect/i);
    await p.stop();
  });
});
