import { existsSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import type { ImapFlow } from 'imapflow';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { handleReport } from '../../src/bounces/handle-report.ts';
import { addressHash } from '../../src/db/suppressions-store.ts';
import { verpAddress } from '../../src/bounces/verp.ts';
import { runScript } from '../support/cli.ts';
import { startDovecot, type Dovecot } from '../support/dovecot.ts';
import { createBounceTest, dsn, recipient, type BounceTest } from './support.ts';

const GONE = 'Erase.Me+papers@example.org';
const STAYS = 'stays@example.org';

let t: BounceTest;
beforeEach(() => {
  t = createBounceTest();
});
afterEach(() => t.ctx.close());

/** The database file and its WAL, as bytes: latin1 keeps one character per byte, lowercased. */
function databaseFilesHolding(needle: string): string[] {
  const db = t.ctx.config.DATABASE_PATH;
  return [db, `${db}-wal`]
    .filter(existsSync)
    .filter((f) => readFileSync(f).toString('latin1').toLowerCase().includes(needle.toLowerCase()));
}

const remove = (address: string, env: Record<string, string> = {}) =>
  runScript('subscribers', ['remove', address], {
    DATABASE_PATH: t.ctx.config.DATABASE_PATH,
    OUTBOX_DIR: t.ctx.config.OUTBOX_DIR,
    SECRET: t.ctx.secret,
    ...env,
  });

const hash = (address: string) => addressHash(t.ctx.secret, address);
const report = (id: string) => Buffer.from(`Message-ID: <${id}@mx.example.net>\r\n\r\nreport ${id}\r\n`);

/** A bounce event as a release before masking stored it: the diagnostic in clear. */
function oldEvent(subscriberId: number | null, recipient: string, diagnostic: string, reportKey: string): void {
  t.ctx.bounces.insert({
    subscriberId,
    kind: 'soft',
    reason: 'mailboxfull',
    status: '4.2.2',
    diagnostic,
    source: 'import:old.mbox',
    verified: true,
    digestDate: null,
    domain: null,
    reportKey,
    recipientHash: hash(recipient),
    createdAt: '2026-11-20T08:00:00.000Z',
  });
}

function quarantine(reportKey: string, raw: Buffer): void {
  t.ctx.db
    .prepare(
      `INSERT INTO bounce_quarantine (source, reason, location, report_key, size, raw, created_at)
       VALUES ('smtp:receiver', 'unreadable', 'local', ?, ?, ?, '2026-11-24T08:00:00.000Z')`,
    )
    .run(reportKey, raw.length, raw);
}

describe('subscribers remove, in the bounce tables', () => {
  it('when an address is removed, then no bounce table, the database file nor its WAL holds it, and a late report does not bring it back', async () => {
    const [gone, stays] = t.subscribe(GONE, STAYS);
    // Through the intake: a hard bounce for the subscriber, and a report about the address that
    // reached the open SMTP listener without a VERP address (matched to nobody).
    await handleReport(t.deps(dsn([recipient(GONE, 'hard')])), report('a'), {
      kind: 'import',
      name: 'b.eml',
      trustAddresses: true,
    });
    await handleReport(t.deps(dsn([recipient(GONE, 'soft')])), report('b'), { kind: 'smtp', name: 'receiver' });
    // Rows from before masking: the subscriber's own, an unmatched one and another subscriber's
    // that quote the address, and one of the other subscriber's that does not.
    oldEvent(gone!, GONE, `452 4.2.2 <${GONE}>: mailbox full`, 'old-1');
    oldEvent(null, 'alias@example.net', `550 5.1.1 <alias@example.net> forwarded to <${GONE}>: unknown`, 'old-2');
    oldEvent(stays!, STAYS, `452 mailbox of ${STAYS} full; copy to ${GONE.toUpperCase()} failed`, 'old-3');
    oldEvent(stays!, STAYS, '452 4.2.2 Mailbox full', 'old-4');
    // The local quarantine: a report holding the address among binary bytes, long enough to span
    // overflow pages, and one that does not.
    const binary = Buffer.from([0, 0xff, 0xc3]);
    const long = Buffer.from(`${'x'.repeat(100_000)}\r\nTo: <${GONE.toLowerCase()}>\r\n`);
    quarantine('q-1', Buffer.concat([binary, long, binary, Buffer.from(GONE)]));
    quarantine('q-2', Buffer.from(`To: <${STAYS}>\r\n\r\nunreadable`));

    // The check can fail: before removal the address is on disk.
    expect(databaseFilesHolding(GONE)).not.toEqual([]);

    const removed = await remove(GONE);
    expect(removed.code, removed.stderr).toBe(0);
    expect(removed.stdout).toMatch(
      /^Erase\.Me\+papers@example\.org removed, .*\b5 bounce event\(s\), 1 quarantined report\(s\)$/m,
    );

    expect(databaseFilesHolding(GONE)).toEqual([]);
    expect(databaseFilesHolding('erase.me')).toEqual([]);
    // What does not name the address stays: the other subscriber's own event and report, and the
    // suppression, a keyed hash.
    expect(t.events().map((e) => [e.subscriber_id, e.diagnostic])).toEqual([[stays, '452 4.2.2 Mailbox full']]);
    expect(t.ctx.db.prepare('SELECT report_key FROM bounce_quarantine').pluck().all()).toEqual(['q-2']);
    expect(t.ctx.suppressions.reasonFor(GONE)).toBeDefined();

    // A report about the erased subscriber's last digest, arriving late at its VERP address.
    const verp = verpAddress({ subscriberId: gone!, runDate: '2026-11-24' }, t.ctx.secret, t.ctx.config.BOUNCE_DOMAIN);
    const late = dsn([recipient(GONE, 'hard')], { envelopeTo: [verp] });
    await handleReport(t.deps(late), report('late'), { kind: 'smtp', name: 'receiver', rcptTo: [verp] });
    expect(t.events()).toHaveLength(2);
    expect(databaseFilesHolding(GONE)).toEqual([]);
  });

  it('when the address is only quoted in bounce events, then remove erases those and succeeds', async () => {
    t.subscribe(STAYS);
    oldEvent(null, 'alias@example.net', `forwarded to <${GONE}>`, 'old-1');
    const removed = await remove(GONE);
    expect(removed.code, removed.stderr).toBe(0);
    expect(removed.stdout).toMatch(
      /not on the list; the mail and reports holding it removed, and 1 bounce event\(s\)$/m,
    );
    expect(t.events()).toEqual([]);
  });
});

describe('subscribers remove, in the IMAP quarantine folder', () => {
  let dovecot: Dovecot;
  beforeAll(async () => {
    dovecot = await startDovecot();
  }, 30_000);
  afterAll(async () => {
    await dovecot?.stop();
  });

  const imap = <T>(fn: (c: ImapFlow) => Promise<T>): Promise<T> => dovecot.session(fn);
  const message = (subject: string, body: string) =>
    `From: MAILER-DAEMON@mx.example.net\r\nTo: bounces@papers.example.org\r\nSubject: ${subject}\r\n\r\n${body}\r\n`;
  /** The subjects of the messages in `folder`; undefined when it does not exist. */
  const subjects = (folder: string) =>
    imap(async (c) => {
      if (!(await c.list()).some((f) => f.path === folder)) return undefined;
      await c.mailboxOpen(folder);
      return (await c.fetchAll('1:*', { envelope: true })).map((m) => m.envelope?.subject).sort();
    });

  it('when the quarantine folder holds a message quoting the address, then only that one is deleted, and the bounce mailbox is left to the mail server', async () => {
    await imap(async (c) => {
      await c.mailboxCreate('Paperboy-Quarantine');
      await c.append('Paperboy-Quarantine', message('quoting', `Final-Recipient: rfc822; ${GONE.toUpperCase()}`));
      await c.append('Paperboy-Quarantine', message('other', `Final-Recipient: rfc822; ${STAYS}`));
      await c.append('INBOX', message('inbox', `Final-Recipient: rfc822; ${GONE}`));
    });
    t.subscribe(GONE);

    const removed = await remove(GONE, { BOUNCE_IMAP_URL: dovecot.url('INBOX') });
    expect(removed.code, removed.stderr).toBe(0);
    expect(removed.stdout).toMatch(/removed, with its delivery history and mail$/m);
    expect(removed.stdout).toMatch(
      /^IMAP quarantine folder Paperboy-Quarantine on 127\.0\.0\.1: 1 message\(s\) holding the address deleted$/m,
    );
    expect(removed.stdout).toMatch(
      /^The bounce mailbox itself \(INBOX on 127\.0\.0\.1\) .* are the mail server's to clean/m,
    );
    expect(await subjects('Paperboy-Quarantine')).toEqual(['other']);
    expect(await subjects('INBOX')).toEqual(['inbox']);
  });

  it('when the quarantine folder does not exist, then there is nothing to delete there and it is not created', async () => {
    t.subscribe(GONE);
    const removed = await remove(GONE, { BOUNCE_IMAP_URL: dovecot.url('INBOX'), BOUNCE_IMAP_QUARANTINE: 'Never-Made' });
    expect(removed.code, removed.stderr).toBe(0);
    expect(removed.stdout).toMatch(
      /^IMAP quarantine folder Never-Made on 127\.0\.0\.1: no message holds the address$/m,
    );
    expect(await subjects('Never-Made')).toBeUndefined();
  });

  it('when the IMAP server cannot be reached, then the local erasure is done and remove fails, saying so', async () => {
    const [gone] = t.subscribe(GONE);
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const { port } = closed.address() as { port: number };
    await new Promise<void>((resolve) => closed.close(() => resolve()));

    const removed = await remove(GONE, { BOUNCE_IMAP_URL: `imap://bounces:secret@127.0.0.1:${port}/INBOX` });
    expect(removed.code).toBe(1);
    expect(removed.stdout).toMatch(/removed, with its delivery history and mail$/m);
    expect(removed.stderr).toMatch(
      /^subscribers remove: IMAP quarantine folder Paperboy-Quarantine on 127\.0\.0\.1 not cleaned: .+; the local erasure is done/m,
    );
    expect(t.status(gone!)).toBeUndefined();
  });
});
