import type { ImapFlow } from 'imapflow';
import { pino } from 'pino';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { handleReportDeps } from '../../src/context.ts';
import { createImapStateStore } from '../../src/bounces/sources/imap-state-store.ts';
import { startImapPoller, type ImapPoller } from '../../src/bounces/sources/imap-poller.ts';
import { parseReport } from '../../src/bounces/classify/parse-report.ts';
import { bounceMail, expectedDecisions } from '../support/bounce-fixtures.ts';
import { verpAddress } from '../../src/bounces/verp.ts';
import { unsubscribeAddress } from '../../src/bounces/unsubscribe-address.ts';
import { signedMessageId } from '../../src/bounces/message-id.ts';
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

const imap = <T>(fn: (c: ImapFlow) => Promise<T>): Promise<T> => dovecot.session(fn);
const deliver = (folder: string, ...messages: Buffer[]) =>
  imap(async (c) => {
    for (const m of messages) await c.append(folder, m);
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
/**
 * A real report as the mailbox gets it when it came back to the reader's VERP envelope sender:
 * the delivering server records that address in Delivered-To.
 */
const toVerp = (file: string, subscriberId: number) =>
  Buffer.concat([
    Buffer.from(`Delivered-To: ${verpAddress({ subscriberId }, t.ctx.secret, t.ctx.config.BOUNCE_DOMAIN)}\r\n`),
    mail(file),
  ]);
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
    { url: dovecot.url(folder), after, pollMs: 60_000, retryMs: 100, quarantineFolder: 'Quarantine' },
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
    await deliver(folder, toVerp(COMPLAINT, complainer!), toVerp(HARD, bounced!));

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
    await deliver(folder, toVerp(LATER, later!));
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
    await deliver(folder, toVerp(COMPLAINT, complainer!), toVerp(HARD, bounced!));

    const first = poller(folder, 'move:Handled');
    await vi.waitFor(async () => expect(await listing('Handled')).toHaveLength(2), { timeout: 20_000, interval: 100 });
    expect([t.status(complainer!), t.status(bounced!)]).toEqual(['unsubscribed', 'suppressed']);
    expect(await listing(folder)).toEqual([]);
    await first.stop();

    poller(folder, 'move:Handled');
    await deliver(folder, toVerp(HARD, bounced!));
    // The same report again, as a new message: handled (parsed), and changes nothing.
    await vi.waitFor(async () => expect(await listing('Handled')).toHaveLength(3), { timeout: 20_000, interval: 100 });
    expect(parsed).toHaveLength(3);
    expect(t.events()).toHaveLength(2);
  }, 60_000);

  it('when the server drops the session, then the poller connects again and goes on where it stopped', async () => {
    const folder = 'Bounces3';
    await imap((c) => c.mailboxCreate(folder));
    const [complainer, bounced] = t.subscribe(only(COMPLAINT).recipient, only(HARD).recipient);
    await deliver(folder, toVerp(COMPLAINT, complainer!));
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
        { url: dovecot.url(folder), after: 'seen', pollMs: 60_000, retryMs: 50, quarantineFolder: 'Quarantine' },
      ),
    );
    await vi.waitFor(() => expect(t.status(complainer!)).toBe('unsubscribed'), { timeout: 20_000, interval: 50 });
    dovecot.kick();
    await vi.waitFor(() => expect(warnings).toContain('bounce mailbox: session failed, retrying'), {
      timeout: 10_000,
      interval: 50,
    });
    await deliver(folder, toVerp(HARD, bounced!));
    await vi.waitFor(() => expect(t.status(bounced!)).toBe('suppressed'), { timeout: 20_000, interval: 50 });
    expect(parsed).toHaveLength(2);
  }, 60_000);

  it('when strangers mail the mailbox reports naming subscribers only by address or an unsigned Message-ID, then nobody changes', async () => {
    const folder = 'Forged';
    await imap((c) => c.mailboxCreate(folder));
    const [complainer, bounced] = t.subscribe(only(COMPLAINT).recipient, only(HARD).recipient);
    const guessedId = (raw: Buffer) =>
      Buffer.from(
        raw
          .toString('latin1')
          .replace(/^Message-ID:.*$/im, `Message-ID: <digest.2026-04-22.${bounced}@papers.example.org>`),
        'latin1',
      );
    await deliver(folder, mail(COMPLAINT), mail(HARD), guessedId(mail(LATER)));
    poller(folder, 'seen');
    await vi.waitFor(() => expect(parsed).toHaveLength(3), { timeout: 20_000, interval: 50 });
    await vi.waitFor(() => expect(t.events()).toHaveLength(3), { timeout: 10_000, interval: 50 });
    expect([t.status(complainer!), t.status(bounced!)]).toEqual(['confirmed', 'confirmed']);
    expect(t.events().map((e) => [e.subscriber_id, e.verified])).toEqual([
      [null, 0],
      [null, 0],
      [null, 0],
    ]);
  }, 60_000);

  it('when a message cannot be parsed or is over BOUNCE_MAX_BYTES, then it goes to the quarantine folder and the next one is handled', async () => {
    const folder = 'Poison';
    await imap((c) => c.mailboxCreate(folder));
    const [bounced] = t.subscribe(only(HARD).recipient);
    const parts = Array.from({ length: 1100 }, (_, i) => `--b\r\nContent-Type: text/plain\r\n\r\npart ${i}\r\n`);
    const poison = Buffer.from(
      `From: mailer-daemon@mx.example.net\r\nSubject: Undelivered\r\nMessage-ID: <poison@mx>\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n${parts.join('')}--b--\r\n`,
    );
    const huge = Buffer.concat([toVerp(HARD, bounced!), Buffer.alloc(t.ctx.config.BOUNCE_MAX_BYTES, 'x')]);
    await deliver(folder, poison, huge, toVerp(HARD, bounced!));
    // The service's own intake: the report parser on its worker thread.
    pollers.push(
      startImapPoller(
        { intake: handleReportDeps(t.ctx), state: createImapStateStore(t.ctx.db), logger: t.ctx.logger },
        { url: dovecot.url(folder), after: 'seen', pollMs: 60_000, retryMs: 100, quarantineFolder: 'Held' },
      ),
    );
    await vi.waitFor(() => expect(t.status(bounced!)).toBe('suppressed'), { timeout: 30_000, interval: 50 });
    await vi.waitFor(async () => expect(await listing('Held')).toHaveLength(2), { timeout: 10_000, interval: 100 });
    expect(await listing(folder)).toEqual([{ uid: 3, seen: true }]);
    expect(t.ctx.quarantine.list()).toEqual([
      expect.objectContaining({
        source: `imap:${folder}`,
        location: 'imap:Held',
        reason: expect.stringMatching(/MIME|parts|unreadable/i),
      }),
      expect.objectContaining({
        source: `imap:${folder}`,
        location: 'imap:Held',
        reason: expect.stringMatching(/too big/),
      }),
    ]);
    // Nothing of a message moved to the folder is kept here.
    expect(t.ctx.db.prepare('SELECT count(*) FROM bounce_quarantine WHERE raw IS NOT NULL').pluck().get()).toBe(0);
  }, 60_000);

  it("when the mailbox gets a message for a reader's unsubscribe address, or a complaint for the FBL address, then each reader is unsubscribed", async () => {
    const folder = 'Requests';
    await imap((c) => c.mailboxCreate(folder));
    const [ada, bob] = t.subscribe('ada@example.org', 'bob@example.org');
    const domain = t.ctx.config.BOUNCE_DOMAIN;
    const request = `Delivered-To: ${unsubscribeAddress(ada!, t.ctx.secret, domain)}\r\nFrom: ada@example.org\r\nSubject: stop\r\nMessage-ID: <req1@example.org>\r\n\r\nplease\r\n`;
    // A feedback loop's complaint: the original's signed Message-ID names Bob.
    const complaint = mail(COMPLAINT)
      .toString('latin1')
      .replace(/^(Message-ID:\s*)<[^>]*>(\s*)$/gim, (line, head: string, tail: string, at: number, all: string) =>
        at > all.search(/^Content-Type:\s*(message\/rfc822|text\/rfc822-headers)/im)
          ? `${head}<${signedMessageId({ edition: 'digest', date: '2026-11-24', id: bob! }, t.ctx.secret, 'papers.example.org')}>${tail}`
          : line,
      );
    await deliver(
      folder,
      Buffer.from(request),
      Buffer.concat([Buffer.from(`Delivered-To: fbl@${domain}\r\n`), Buffer.from(complaint, 'latin1')]),
    );
    pollers.push(
      startImapPoller(
        {
          intake: { ...handleReportDeps(t.ctx, parseReport), fblAddress: `fbl@${domain}` },
          state: createImapStateStore(t.ctx.db),
          logger: t.ctx.logger,
        },
        { url: dovecot.url(folder), after: 'seen', pollMs: 60_000, retryMs: 100, quarantineFolder: 'Quarantine' },
      ),
    );
    await vi.waitFor(() => expect([t.status(ada!), t.status(bob!)]).toEqual(['unsubscribed', 'unsubscribed']), {
      timeout: 20_000,
      interval: 50,
    });
  }, 60_000);

  it('when the server cannot be reached, then the poller logs, retries and stops cleanly, without throwing', async () => {
    const warnings: string[] = [];
    const logger = pino(
      { level: 'warn' },
      { write: (line: string) => warnings.push((JSON.parse(line) as { reason: string }).reason) },
    );
    const p = startImapPoller(
      { intake: handleReportDeps(t.ctx, parseReport), state: createImapStateStore(t.ctx.db), logger },
      {
        url: `imap://u:p@127.0.0.1:1/INBOX`,
        after: 'seen',
        pollMs: 1000,
        retryMs: 20,
        maxRetryMs: 40,
        quarantineFolder: 'Quarantine',
      },
    );
    await vi.waitFor(() => expect(warnings.length).toBeGreaterThanOrEqual(3), { timeout: 10_000 });
    expect(warnings[0]).toMatch(/ECONNREFUSED|connect/i);
    await p.stop();
  });
});
