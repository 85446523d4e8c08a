import { copyFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { verpAddress } from '../../src/bounces/verp.ts';
import { runInProcess, runInProcessOn as run, runScript } from '../support/cli.ts';
import { cli } from '../../scripts/bounces.ts';
import { cli as subscribersCli } from '../../scripts/subscribers.ts';
import { purgeStaleData } from '../../src/jobs/housekeeping.ts';
import { BOUNCE_MAIL } from '../support/bounce-fixtures.ts';
import { createBounceTest, type BounceTest } from './support.ts';

const FIXTURES = BOUNCE_MAIL;

const dsn = (o: {
  to: string;
  recipient: string;
  status: string;
  action: string;
  diagnostic: string;
  original?: string;
}) =>
  [
    'From: Mail Delivery System <MAILER-DAEMON@mx.example.net>',
    `To: ${o.to}`,
    `Message-ID: <dsn.${o.recipient}.${o.status}@mx.example.net>`,
    'Subject: Undelivered Mail Returned to Sender',
    'MIME-Version: 1.0',
    'Content-Type: multipart/report; report-type=delivery-status; boundary="b1"',
    '',
    '--b1',
    'Content-Type: text/plain',
    '',
    `Your message to <${o.recipient}> could not be delivered.`,
    '',
    '--b1',
    'Content-Type: message/delivery-status',
    '',
    'Reporting-MTA: dns; mx.example.net',
    '',
    `Final-Recipient: rfc822; ${o.recipient}`,
    `Action: ${o.action}`,
    `Status: ${o.status}`,
    `Diagnostic-Code: smtp; ${o.diagnostic}`,
    '',
    '--b1',
    'Content-Type: text/rfc822-headers',
    '',
    `Message-ID: <${o.original ?? 'unrelated@elsewhere.example'}>`,
    'Subject: Trending papers',
    '',
    '--b1--',
    '',
  ].join('\r\n');

const arf = (o: { recipient: string; original: string }) =>
  [
    'From: feedback@fbl.example.net',
    'To: abuse@papers.example.org',
    'Message-ID: <arf.1@fbl.example.net>',
    'Subject: Complaint',
    'MIME-Version: 1.0',
    'Content-Type: multipart/report; report-type=feedback-report; boundary="b2"',
    '',
    '--b2',
    'Content-Type: text/plain',
    '',
    'This is an email abuse report.',
    '',
    '--b2',
    'Content-Type: message/feedback-report',
    '',
    'Feedback-Type: abuse',
    'User-Agent: FBL/1.0',
    'Version: 1',
    `Original-Rcpt-To: ${o.recipient}`,
    '',
    '--b2',
    'Content-Type: message/rfc822',
    '',
    'From: Paperboy <digest@papers.example.org>',
    `To: ${o.recipient}`,
    `Message-ID: <${o.original}>`,
    'Subject: Trending papers',
    '',
    'The digest.',
    '',
    '--b2--',
    '',
  ].join('\r\n');

const autoReply = (to: string, from: string) =>
  [
    `From: ${from}`,
    `To: ${to}`,
    'Message-ID: <away.1@example.org>',
    'Subject: Out of office',
    'Auto-Submitted: auto-replied',
    'Precedence: auto_reply',
    '',
    'I am away until Monday.',
    '',
  ].join('\n');

const plain = [
  'From: friend@example.org',
  'To: bounces@papers.example.org',
  'Message-ID: <hello.1@example.org>',
  'Subject: Hello',
  '',
  'Just saying hello.',
  '>From the archives: nothing.',
  '',
].join('\n');

describe('npm run bounces', () => {
  let t: BounceTest | undefined;
  afterEach(() => t?.ctx.close());

  it('when given a Maildir and an mbox, then it prints a line per message and a summary, acts on each, and a second import changes nothing', async () => {
    t = createBounceTest();
    const [ada, bob, cyd, dan, kij] = t.subscribe(
      'ada@example.org',
      'bob@example.org',
      'cyd@example.org',
      'dan@example.org',
      'kijitora@2jo.example.jp',
    );
    const env = { DATABASE_PATH: t.ctx.config.DATABASE_PATH, SECRET: t.ctx.secret, MAIL_FROM: t.ctx.config.MAIL_FROM };
    const maildir = join(t.ctx.dir, 'Maildir');
    for (const d of ['new', 'cur', 'tmp']) mkdirSync(join(maildir, d), { recursive: true });
    // Sent to ada's VERP address, though it names someone else inside: it is about ada.
    const adaVerp = verpAddress(
      { subscriberId: ada!, runDate: '2026-11-24' },
      t.ctx.secret,
      t.ctx.config.BOUNCE_DOMAIN,
    );
    writeFileSync(
      join(maildir, 'new', '1.mx:2,'),
      dsn({
        to: adaVerp,
        recipient: 'ada.old@example.org',
        status: '5.1.1',
        action: 'failed',
        diagnostic:
          '550 5.1.1 <ada.old@example.org>: Recipient address rejected: User unknown in virtual mailbox table',
      }),
    );
    writeFileSync(
      join(maildir, 'cur', '2.mx:2,S'),
      arf({ recipient: 'bob@example.org', original: `digest.2026-11-24.${bob}@papers.example.org` }),
    );
    copyFileSync(join(FIXTURES, 'lhost-postfix-14.eml'), join(maildir, 'cur', '3.mx:2,S'));
    const mbox = join(t.ctx.dir, 'bounces.mbox');
    const soft = dsn({
      to: 'bounces@papers.example.org',
      recipient: 'cyd@example.org',
      status: '4.2.2',
      action: 'failed',
      diagnostic: '452 4.2.2 Mailbox full',
    });
    const mboxBody = (m: string) => m.replace(/\r\n/g, '\n').replace(/^(>*From )/gm, '>$1');
    writeFileSync(
      mbox,
      [
        'From MAILER-DAEMON Tue Nov 24 08:00:00 2026',
        mboxBody(soft),
        'From dan@example.org Tue Nov 24 09:00:00 2026',
        mboxBody(autoReply('bounces@papers.example.org', 'dan@example.org')),
        'From friend@example.org Tue Nov 24 10:00:00 2026',
        mboxBody(plain),
      ].join('\n'),
    );

    // Without the operator's word, only what Paperboy signed acts: ada's VERP address.
    const first = await runScript('bounces', ['import', maildir, mbox], env);
    expect(first.code, first.stderr).toBe(0);
    const lines = first.stdout.trim().split('\n');
    expect(lines).toHaveLength(7);
    expect(lines[0]).toMatch(
      new RegExp(
        `^${maildir}/new/1\\.mx:2,: dsn: ada\\.old@example\\.org → #${ada} ada@example\\.org \\(by verp\\): hard \\(5\\.1\\.1 [\\w-]+\\), suppressed$`,
      ),
    );
    const unverified = 'unverified \\(nothing Paperboy signed names them\\), recorded, nothing changed$';
    expect(lines[1]).toMatch(
      new RegExp(
        `^${maildir}/cur/2\\.mx:2,S: arf abuse: bob@example\\.org → #${bob} bob@example\\.org \\(by message-id\\): complaint \\([\\w-]+\\), ${unverified}`,
      ),
    );
    expect(lines[2]).toMatch(
      new RegExp(`^${maildir}/cur/3\\.mx:2,S: dsn: kijitora@2jo\\.example\\.jp → .*${unverified}`),
    );
    expect(lines[3]).toMatch(
      new RegExp(`^${mbox}#1: dsn: cyd@example\\.org → .*: soft \\(4\\.2\\.2 [\\w-]+\\), ${unverified}`),
    );
    expect(lines[4]).toMatch(
      new RegExp(`^${mbox}#2: autoreply: dan@example\\.org → .*: ignore \\([\\w-]+\\), ${unverified}`),
    );
    expect(lines[5]).toMatch(new RegExp(`^${mbox}#3: unrecognised`));
    expect(lines[6]).toMatch(
      /^6 messages: 2 hard, 1 soft, 1 complaints, 0 refused for the sender's reasons, 0 delayed, 1 ignored, 1 unrecognised; 1 suppressed, 0 unsubscribed, 0 already handled, 0 matched nobody, 4 unverified /,
    );
    expect([t.status(ada!), t.status(bob!), t.status(cyd!), t.status(dan!), t.status(kij!)]).toEqual([
      'suppressed',
      'confirmed',
      'confirmed',
      'confirmed',
      'confirmed',
    ]);

    // The operator vouches for these files: the unverified reports are looked at again, and act.
    const trusted = await runScript('bounces', ['import', '--trust-addresses', maildir, mbox], env);
    expect(trusted.code, trusted.stderr).toBe(0);
    const again1 = trusted.stdout.trim().split('\n');
    expect(again1[0]).toMatch(/\(by verp\): hard .*, already handled, nothing changed$/);
    expect(again1[1]).toMatch(
      new RegExp(`→ #${bob} bob@example\\.org \\(by message-id\\): complaint \\([\\w-]+\\), unsubscribed$`),
    );
    expect(again1[2]).toMatch(
      new RegExp(`→ #${kij} kijitora@2jo\\.example\\.jp \\(by address\\): hard \\(5\\.1\\.1 [\\w-]+\\), suppressed$`),
    );
    expect(again1[3]).toMatch(
      new RegExp(`→ #${cyd} cyd@example\\.org \\(by address\\): soft \\(4\\.2\\.2 [\\w-]+\\), counted`),
    );
    expect(again1[4]).toMatch(
      new RegExp(`→ #${dan} dan@example\\.org \\(by address\\): ignore \\([\\w-]+\\), logged, nothing changed$`),
    );
    expect(again1[6]).toMatch(/; 1 suppressed, 1 unsubscribed, 1 already handled, 0 matched nobody, 0 unverified /);
    expect([t.status(ada!), t.status(bob!), t.status(cyd!), t.status(dan!), t.status(kij!)]).toEqual([
      'suppressed',
      'unsubscribed',
      'confirmed',
      'confirmed',
      'suppressed',
    ]);

    const events = t.events().length;
    const again = await runScript('bounces', ['import', '--trust-addresses', mbox, maildir], env);
    expect(again.code, again.stderr).toBe(0);
    expect(again.stdout).toMatch(/^6 messages: .*; 0 suppressed, 0 unsubscribed, [4-9] already handled, /m);
    expect(again.stdout).not.toMatch(/, (suppressed|unsubscribed|counted[^\n]*)$/m);
    expect(t.events()).toHaveLength(events);

    const listed = await run(cli, ['list', '--since', '2026-11-01'], env);
    expect(listed.code).toBe(0);
    const rows = listed.stdout.trim().split('\n');
    expect(rows[0]).toBe('created_at\tkind\temail\tstatus\treason\tdigest_date\tsource\tdiagnostic\tverified');
    expect(rows).toContainEqual(
      expect.stringMatching(
        new RegExp(
          `^\\S+\\thard\\tada@example\\.org\\t5\\.1\\.1\\t[\\w-]+\\t2026-11-24\\timport:${maildir}/new/1\\.mx:2,\\t550 5\\.1\\.1 `,
        ),
      ),
    );
    expect((await run(cli, ['list', '--since', '2999-01-01'], env)).stdout.trim().split('\n')).toHaveLength(1);

    const stats = await run(cli, ['stats'], env);
    expect(stats.code).toBe(0);
    expect(stats.stdout.split('\n')[0]).toBe(
      'run\tsent\thard\tsoft\tcomplaints\thard_rate\tsoft_rate\tcomplaint_rate\talarm\tfailed\tsender',
    );

    const subscribers = await run(subscribersCli, ['list'], env);
    expect(subscribers.stdout).toMatch(new RegExp(`^${ada}\\tada@example\\.org\\tsuppressed\\t`, 'm'));
    expect(subscribers.stdout).toMatch(new RegExp(`^${bob}\\tbob@example\\.org\\tunsubscribed\\t`, 'm'));
  }, 90_000);

  it('when a path cannot be read, then the others are still imported and it exits 1', async () => {
    t = createBounceTest();
    const env = { DATABASE_PATH: t.ctx.config.DATABASE_PATH, SECRET: t.ctx.secret };
    const missing = join(t.ctx.dir, 'missing.mbox');
    const r = await runScript('bounces', ['import', missing, join(FIXTURES, 'arf-02.eml')], env);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`${missing}: ENOENT`);
    expect(r.stdout).toMatch(/arf-02\.eml: arf abuse: /);
    expect(r.stdout).toMatch(/^1 message: .*; 1 could not be read$/m);
  });
});

describe('npm run bounces: quarantine', () => {
  let t: BounceTest | undefined;
  afterEach(() => t?.ctx.close());

  it('when an import meets an unreadable and an oversized message, then it sets both aside, goes on, and the operator can list, show and delete them', async () => {
    t = createBounceTest();
    const env = {
      DATABASE_PATH: t.ctx.config.DATABASE_PATH,
      SECRET: t.ctx.secret,
      MAIL_FROM: t.ctx.config.MAIL_FROM,
      BOUNCE_MAX_BYTES: '60000',
    };
    const dir = join(t.ctx.dir, 'reports');
    mkdirSync(dir);
    const parts = Array.from({ length: 1100 }, (_, i) => `--b\nContent-Type: text/plain\n\npart ${i}\n`).join('');
    writeFileSync(
      join(dir, '1-poison.eml'),
      `From: x@mx.example.net\nMessage-ID: <poison@mx>\nContent-Type: multipart/mixed; boundary=b\n\n${parts}--b--\n`,
    );
    writeFileSync(join(dir, '2-huge.eml'), `From: x@mx.example.net\nMessage-ID: <huge@mx>\n\n${'y'.repeat(70_000)}\n`);
    copyFileSync(join(FIXTURES, 'arf-02.eml'), join(dir, '3-arf.eml'));

    const first = await runScript('bounces', ['import', dir], env);
    expect(first.code, first.stderr).toBe(0);
    const lines = first.stdout.trim().split('\n');
    expect(lines[0]).toMatch(/1-poison\.eml: quarantined: /);
    expect(lines[1]).toMatch(/2-huge\.eml: quarantined: too big \(over BOUNCE_MAX_BYTES, 60000 bytes\)$/);
    expect(lines[2]).toMatch(/3-arf\.eml: arf abuse: /);
    expect(lines[3]).toMatch(/^3 messages: .*; 2 quarantined \(npm run bounces -- quarantine list\)$/);

    const listed = await run(cli, ['quarantine', 'list'], env);
    expect(listed.code).toBe(0);
    const rows = listed.stdout.trim().split('\n');
    expect(rows[0]).toBe('id\tcreated_at\tsource\treason\tlocation\tsize');
    expect(rows).toHaveLength(3);
    const [poisonId, hugeId] = rows.slice(1).map((r) => r.split('\t')[0]!);
    expect(rows[1]).toMatch(new RegExp(`^${poisonId}\t\\S+\timport:${dir}/1-poison\\.eml\t.+\tlocal\t\\d+$`));

    const shown = await run(cli, ['quarantine', 'show', poisonId!], env);
    expect(shown.code, shown.stderr).toBe(0);
    expect(shown.stdout).toContain('Message-ID: <poison@mx>');
    const notKept = await run(cli, ['quarantine', 'show', hugeId!], env);
    expect(notKept.code).toBe(1);
    expect(notKept.stderr).toMatch(/not kept here/);

    // Read again, a quarantined message is recognised and nothing more is recorded.
    const again = await runScript('bounces', ['import', dir], env);
    expect(again.stdout).toMatch(/1-poison\.eml: quarantined before \(/);
    expect(t.ctx.quarantine.list()).toHaveLength(2);

    const deleted = await run(cli, ['quarantine', 'delete', poisonId!], env);
    expect(deleted.code).toBe(0);
    expect(deleted.stdout).toBe(`quarantine entry ${poisonId} deleted\n`);
    expect((await run(cli, ['quarantine', 'delete', poisonId!], env)).code).toBe(1);
    expect(t.ctx.quarantine.list().map((q) => String(q.id))).toEqual([hugeId]);
  }, 90_000);

  it('when a quarantined report is 30 days old, then housekeeping removes it', () => {
    t = createBounceTest();
    const add = (key: string, createdAt: string) =>
      t!.ctx.quarantine.add({
        source: 'smtp:receiver',
        reason: 'parse timed out',
        location: 'local',
        reportKey: key,
        size: 3,
        raw: Buffer.from('raw'),
        createdAt,
      });
    add('old', '2026-10-25T08:00:00.000Z');
    add('recent', '2026-10-27T08:00:00.000Z');
    expect(purgeStaleData(t.ctx).quarantinedReports).toBe(1);
    expect(t.ctx.quarantine.list().map((q) => q.createdAt)).toEqual(['2026-10-27T08:00:00.000Z']);
  });
});

describe('npm run bounces: usage', () => {
  it('when the command line is wrong, then it prints usage and exits 2; --help exits 0', async () => {
    const none = await runInProcess(cli, []);
    const noPath = await runInProcess(cli, ['import']);
    const badSince = await runInProcess(cli, ['list', '--since', '2026-02-30']);
    const unknown = await runInProcess(cli, ['frob']);
    const help = await runInProcess(cli, ['--help']);
    for (const r of [none, noPath, badSince, unknown]) {
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(/Usage: npm run bounces -- COMMAND/);
    }
    expect(noPath.stderr).toMatch(/import takes one or more paths/);
    expect(badSince.stderr).toMatch(/--since must be a real day/);
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/^Usage: npm run bounces -- COMMAND/);
  });
});
