import { afterAll, describe, expect, it } from 'vitest';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { subscriberLinks } from '../../src/domain/tokens.ts';
import { startServer, type ServerProcess } from '../support/server-process.ts';
import { startSmtpSink, type ReceivedMail, type SmtpSink } from '../support/smtp-sink.ts';
import { startPapersApi, type PapersApi } from '../support/papers-api.ts';
import { runScript, startScript, type ScriptRun } from '../support/cli.ts';

/**
 * A day of Paperboy with the faults mixed, as processes: the real service, the real CLIs, a real
 * SMTP server and a local paper API. Sign-ups arrive in a burst with hostile requests among them;
 * the day's send meets a flaky paper API, an SMTP server that drops connections, defers some
 * recipients and slows down, an unsubscribe, an erasure, a SIGTERM to the sender and a restart of
 * the service. At the end everyone confirmed before the run has exactly one digest, the erased
 * address none and no trace, and the database is sound.
 */

const DATE = '2026-11-24';
const PUBLIC_URL = 'https://papers.example.org';
const SECRET = 'hostile-day-secret-hostile-day-secret-01';
const IMPORTED = 140;
const SIGNUPS = 60;
const LEFT_PENDING = 10;

const dir = mkdtempSync(join(tmpdir(), 'paperboy-hostile-day-'));
const servers: ServerProcess[] = [];
const senders: ScriptRun[] = [];
let sink: SmtpSink | undefined;
let api: PapersApi | undefined;

afterAll(async () => {
  for (const s of senders) if (s.child.exitCode === null) s.child.kill('SIGKILL');
  await Promise.all(servers.map((s) => s.stop()));
  await sink?.close();
  await api?.close();
  rmSync(dir, { recursive: true, force: true });
});

async function waitUntil(what: string, check: () => boolean, timeoutMs = 30_000) {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** A short read of the database the processes share (WAL: readers never block the writers). */
function read<T>(dbPath: string, f: (db: Database.Database) => T): T {
  const db = new Database(dbPath, { readonly: true, fileMustExist: true });
  try {
    return f(db);
  } finally {
    db.close();
  }
}

const sentRows = (dbPath: string) =>
  read(
    dbPath,
    (db) =>
      db
        .prepare(
          "SELECT count(*) FROM send_deliveries d JOIN send_runs r ON r.id = d.run_id WHERE r.digest_date = ? AND d.status = 'sent'",
        )
        .pluck()
        .get(DATE) as number,
  );

const isDigest = (m: ReceivedMail) => (m.parsed.messageId ?? '').includes(`digest.${DATE}.`);
const digests = () => sink!.messages.filter(isDigest);
function digestsByRecipient(): Map<string, number> {
  const counts = new Map<string, number>();
  for (const m of digests()) for (const to of m.to) counts.set(to, (counts.get(to) ?? 0) + 1);
  return counts;
}

/** The one-click URL of a received message's List-Unsubscribe header (folded lines joined). */
function listUnsubscribeUrl(m: ReceivedMail): string {
  const head = m.raw
    .toString('utf8')
    .split(/\r?\n\r?\n/)[0]!
    .replace(/\r?\n[ \t]+/g, ' ');
  return /^List-Unsubscribe:.*?<(https:[^>]+)>/im.exec(head)![1]!;
}

const local = (server: ServerProcess, link: string) => server.url + link.slice(PUBLIC_URL.length);

interface Attempt {
  what: string;
  path: string;
  headers: Record<string, string>;
  body?: string | FormData;
}

/** Requests an attacker or a broken client sends: each must get a 4xx and leave nothing behind. */
function hostileRequests(): Attempt[] {
  const json = { 'content-type': 'application/json', accept: 'application/json' };
  const form = { 'content-type': 'application/x-www-form-urlencoded', accept: 'text/html' };
  const multipart = new FormData();
  multipart.set('email', 'hostile-multipart@example.org');
  return [
    {
      what: 'huge body',
      path: '/subscribe',
      headers: json,
      body: JSON.stringify({ email: 'hostile-huge@example.org', keywords: 'a'.repeat(64 * 1024) }),
    },
    {
      what: 'invalid email',
      path: '/subscribe',
      headers: json,
      body: JSON.stringify({ email: 'hostile-not-an-email' }),
    },
    {
      what: 'CRLF header injection (JSON)',
      path: '/subscribe',
      headers: json,
      body: JSON.stringify({ email: 'hostile-crlf@example.org\r\nBcc: victim@example.org' }),
    },
    {
      what: 'CRLF header injection (form)',
      path: '/subscribe',
      headers: form,
      body: 'email=hostile-form%40example.org%0D%0ABcc%3A%20victim%40example.org',
    },
    {
      what: 'bare LF in the address',
      path: '/subscribe',
      headers: form,
      body: 'email=hostile-lf%40example.org%0ASubject%3A%20spam',
    },
    {
      what: '__proto__ key',
      path: '/subscribe',
      headers: json,
      body: '{"email":"hostile-proto@example.org","__proto__":{"isAdmin":true}}',
    },
    {
      what: 'constructor.prototype key',
      path: '/subscribe',
      headers: json,
      body: '{"email":"hostile-ctor@example.org","constructor":{"prototype":{"isAdmin":true}}}',
    },
    {
      what: 'unknown field',
      path: '/subscribe',
      headers: json,
      body: JSON.stringify({ email: 'hostile-extra@example.org', status: 'confirmed' }),
    },
    { what: 'malformed JSON', path: '/subscribe', headers: json, body: '{"email":"hostile-broken@example.org"' },
    {
      what: 'JSON array',
      path: '/subscribe',
      headers: json,
      body: JSON.stringify([{ email: 'hostile-array@example.org' }]),
    },
    {
      what: 'text/plain',
      path: '/subscribe',
      headers: { 'content-type': 'text/plain' },
      body: 'email=hostile-text@example.org',
    },
    {
      what: 'XML',
      path: '/subscribe',
      headers: { 'content-type': 'application/xml' },
      body: '<email>hostile-xml@example.org</email>',
    },
    { what: 'multipart sign-up', path: '/subscribe', headers: {}, body: multipart },
    {
      what: 'over-long address',
      path: '/subscribe',
      headers: json,
      body: JSON.stringify({ email: `hostile-${'x'.repeat(300)}@example.org` }),
    },
    {
      what: 'NUL in the address',
      path: '/subscribe',
      headers: json,
      body: JSON.stringify({ email: 'hostile\u0000nul@example.org' }),
    },
    {
      what: 'bad digest size',
      path: '/subscribe',
      headers: json,
      body: JSON.stringify({ email: 'hostile-size@example.org', digest_size: 7 }),
    },
    {
      what: 'markup in keywords',
      path: '/subscribe',
      headers: form,
      body: 'email=hostile-kw%40example.org&keywords=%3Cscript%3Ealert(1)%3C%2Fscript%3E',
    },
    { what: 'over-long confirmation token', path: `/confirm/${'A'.repeat(500)}`, headers: form, body: '' },
    { what: 'unknown confirmation token', path: `/confirm/${'B'.repeat(32)}`, headers: form, body: '' },
    // Subscriber 1 exists: a forged signature must not unsubscribe them (they get their digest below).
    {
      what: 'forged unsubscribe token',
      path: `/unsubscribe/1.${'A'.repeat(24)}`,
      headers: form,
      body: 'List-Unsubscribe=One-Click',
    },
    {
      what: 'over-long unsubscribe token',
      path: `/unsubscribe/1.${'C'.repeat(300)}`,
      headers: form,
      body: 'List-Unsubscribe=One-Click',
    },
  ];
}

describe('a hostile day', () => {
  it(
    'when sign-ups come with hostile requests and the send meets a flaky API, a failing SMTP server, an unsubscribe, an erasure, a SIGTERM and a restart, then everyone confirmed gets exactly one digest, the erased none, and the database is sound',
    { timeout: 240_000 },
    async () => {
      sink = await startSmtpSink();
      api = await startPapersApi();
      const dbPath = join(dir, 'paperboy.sqlite');
      const env = {
        DATABASE_PATH: dbPath,
        OUTBOX_DIR: join(dir, 'outbox'),
        PUBLIC_URL,
        SECRET,
        SMTP_URL: sink.url,
        PAPERS_API_URL: api.url,
        MAIL_FROM: 'Paperboy <digest@papers.example.org>',
        // A schedule that does not fire today (no start-up catch-up): the day's send is send-now here.
        DIGEST_CRON: `0 0 ${new Date().getUTCDate() === 1 ? 2 : 1} * *`,
        SUBSCRIBE_RATE_PER_IP: '0',
        CONFIRMATIONS_PER_DOMAIN_PER_HOUR: '0',
        SMTP_POOL_SIZE: '2',
        SEND_BATCH_SIZE: '20',
        SEND_RETRY_BASE_MS: '100',
      };
      // --- Morning: the service starts on a new database while the operator imports a list into it.
      const csv = join(dir, 'list.csv');
      writeFileSync(
        csv,
        [
          'email,digest_size,keywords',
          ...Array.from({ length: IMPORTED }, (_, i) => `reader${i + 1}@example.com,${[5, 10, 20][i % 3]},`),
        ].join('\n') + '\n',
      );
      const [started, imported] = await Promise.all([startServer(env), runScript('subscribers', ['import', csv], env)]);
      let server = started;
      servers.push(server);
      expect(imported.code, imported.stderr).toBe(0);

      // A burst of sign-ups with hostile requests mixed in.
      const valid: Attempt[] = [
        ...Array.from({ length: SIGNUPS }, (_, i) => ({
          what: 'sign-up',
          path: '/subscribe',
          headers: { 'content-type': 'application/json', accept: 'application/json' },
          body: JSON.stringify({ email: `signup${i + 1}@example.net` }),
        })),
        ...Array.from({ length: LEFT_PENDING }, (_, i) => ({
          what: 'sign-up',
          path: '/subscribe',
          headers: { 'content-type': 'application/x-www-form-urlencoded' },
          body: `email=pending${i + 1}%40example.net&digest_size=5`,
        })),
      ];
      const hostile = Array.from({ length: 7 }, hostileRequests).flat();
      // Interleaved, all at once.
      const burst = [...valid, ...hostile]
        .map((a, i) => ({ a, k: (i * 7919) % 1000 }))
        .sort((x, y) => x.k - y.k)
        .map((x) => x.a);
      const answers = await Promise.all(
        burst.map(async (a) => {
          const res = await fetch(server.url + a.path, {
            method: 'POST',
            headers: a.headers,
            ...(a.body === undefined ? {} : { body: a.body }),
          });
          await res.arrayBuffer();
          return { what: a.what, status: res.status };
        }),
      );
      expect(answers.length).toBeGreaterThanOrEqual(200);
      for (const { what, status } of answers) {
        if (what === 'sign-up') expect(status, what).toBe(202);
        else expect([what, status >= 400 && status < 500], `${what}: ${status}`).toEqual([what, true]);
      }
      // Nothing of the hostile requests was stored or mailed.
      read(dbPath, (db) => {
        expect(db.prepare('SELECT count(*) FROM subscribers').pluck().get()).toBe(IMPORTED + SIGNUPS + LEFT_PENDING);
        expect(
          db
            .prepare("SELECT count(*) FROM subscribers WHERE email LIKE '%hostile%' OR email LIKE '%victim%'")
            .pluck()
            .get(),
        ).toBe(0);
        expect(db.prepare('SELECT count(*) FROM mail_queue').pluck().get()).toBe(SIGNUPS + LEFT_PENDING);
        expect(
          db
            .prepare("SELECT count(*) FROM subscribers WHERE email = 'reader1@example.com' AND status = 'confirmed'")
            .pluck()
            .get(),
        ).toBe(1);
      });
      const confirmations = await sink.waitFor(SIGNUPS + LEFT_PENDING, 30_000);
      expect(confirmations.flatMap((m) => m.to).filter((to) => /hostile|victim/.test(to))).toEqual([]);
      // The sign-ups confirm through their emails' links; the pending ones never do.
      const links = confirmations
        .filter((m) => m.to[0]!.startsWith('signup'))
        .map((m) => new RegExp(`${PUBLIC_URL.replace(/\./g, '\\.')}/confirm/[\\w-]+`).exec(m.parsed.text ?? '')![0]);
      expect(links).toHaveLength(SIGNUPS);
      const confirmed = await Promise.all(
        links.map((l) => fetch(local(server, l), { method: 'POST' }).then((r) => r.status)),
      );
      expect(confirmed).toEqual(Array(SIGNUPS).fill(200));

      const audience = read(
        dbPath,
        (db) =>
          db.prepare("SELECT id, email FROM subscribers WHERE status = 'confirmed' ORDER BY id").all() as {
            id: number;
            email: string;
          }[],
      );
      expect(audience).toHaveLength(IMPORTED + SIGNUPS);
      // The last two of the run (claims walk ids upwards): one is erased, one unsubscribes, mid-send.
      const erased = audience.at(-1)!;
      const leaver = audience.at(-2)!;
      expect(erased.email).toMatch(/^signup/);

      // --- The day's send. The SMTP server drops the connection at some messages' data and defers
      // other recipients with a 451, each once; it answers slowly when told to.
      const dropped = new Set<string>();
      const deferred = new Set<string>();
      const nth = (address: string, n: number) => Number(/(\d+)@/.exec(address)?.[1] ?? 0) % n === 0;
      sink.options.dropOnData = ([to]) => !!to && nth(to, 13) && !dropped.has(to) && !!dropped.add(to);
      sink.options.onRcpt = (to) =>
        nth(to, 11) && !deferred.has(to) && deferred.add(to)
          ? { code: 451, message: '4.7.1 Greylisted, try again later' }
          : undefined;
      sink.options.replyDelayMs = 10;

      // The paper API is down at first: a 503, a request that never answers (the client's 10 s
      // timeout), then a body that is not JSON. That attempt fails and the run waits for the next.
      api.script({ status: 503, body: 'upstream unavailable', headers: { 'retry-after': '0' } }, 'hang', {
        status: 200,
        body: '<html>Service Unavailable</html>',
      });
      const down = await runScript('send-now', ['--date', DATE], env);
      expect(down.code, down.stdout + down.stderr).toBe(1);
      expect(down.stdout).toMatch(/^2026-11-24: failed \(papers for 2026-11-24 unavailable: .*not JSON/);
      expect(digests()).toHaveLength(0);

      // The API is back. The sender is stopped with SIGTERM part way: it finishes what is in flight.
      const first = startScript('send-now', ['--date', DATE], env);
      senders.push(first);
      await waitUntil('40 deliveries on record', () => sentRows(dbPath) >= 40);
      first.child.kill('SIGTERM');
      const stopped = await first.exited;
      expect(stopped.code, stopped.stdout + stopped.stderr).toBe(1);
      expect(stopped.stdout).toMatch(/^2026-11-24: incomplete \(stopped: SIGTERM\)/);
      read(dbPath, (db) => {
        const run = db
          .prepare('SELECT status, sent, lease_owner AS leaseOwner FROM send_runs WHERE digest_date = ?')
          .get(DATE) as { status: string; sent: number; leaseOwner: string | null };
        expect(run).toMatchObject({ status: 'running', leaseOwner: null });
        expect(run.sent).toBeLessThan(IMPORTED + SIGNUPS);
        expect(db.prepare("SELECT count(*) FROM send_deliveries WHERE status = 'sending'").pluck().get()).toBe(0);
      });
      expect(digests()).toHaveLength(sentRows(dbPath));

      // The sender is started again and resumes; the SMTP server slows to a crawl while a reader
      // who got the digest unsubscribes from its header, another (not sent yet) through their
      // link, and the operator erases a third; meanwhile the service is stopped and started again.
      const second = startScript('send-now', ['--date', DATE], env);
      senders.push(second);
      const resumedFrom = digests().length;
      await waitUntil('the resumed send under way', () => digests().length >= resumedFrom + 10);
      sink.options.replyDelayMs = 400;
      const alreadyServed = digests()[0]!;
      const unsubscribed = await Promise.all([
        fetch(local(server, listUnsubscribeUrl(alreadyServed)), {
          method: 'POST',
          headers: { 'content-type': 'application/x-www-form-urlencoded' },
          body: 'List-Unsubscribe=One-Click',
        }),
        fetch(local(server, subscriberLinks(PUBLIC_URL, SECRET, leaver.id).unsubscribeUrl), {
          method: 'POST',
          headers: { 'content-type': 'application/x-www-form-urlencoded' },
          body: 'List-Unsubscribe=One-Click',
        }),
      ]);
      expect(unsubscribed.map((r) => r.status)).toEqual([200, 200]);
      const restarted = (async () => {
        expect(await server.stop()).toBe(0);
        server = await startServer(env);
        servers.push(server);
        expect((await fetch(`${server.url}/healthz`)).status).toBe(200);
      })();
      restarted.catch(() => undefined); // awaited below, after the erasure
      const removal = await runScript('subscribers', ['remove', erased.email], env);
      expect(removal.code, removal.stdout + removal.stderr).toBe(0);
      expect(second.child.exitCode, 'the send is still running (an erasure mid-send)').toBeNull();
      // Both had yet to be claimed when they left: neither may get the digest now.
      const claimedThrough = read(
        dbPath,
        (db) => db.prepare('SELECT enqueued_through FROM send_runs WHERE digest_date = ?').pluck().get(DATE) as number,
      );
      expect(claimedThrough).toBeLessThan(leaver.id);
      sink.options.replyDelayMs = 10;
      await restarted;
      const resumed = await second.exited;
      expect(resumed.code, resumed.stdout + resumed.stderr).toBe(0);
      expect(resumed.stdout).toMatch(/^2026-11-24: done\n/);

      // --- Evening: the tally.
      const counts = digestsByRecipient();
      expect(
        [...counts.entries()].filter(([, n]) => n > 1),
        'nobody gets two',
      ).toEqual([]);
      expect(counts.get(erased.email) ?? 0, 'the erased address gets none').toBe(0);
      expect(counts.get(leaver.email) ?? 0, 'who unsubscribed before their turn gets none').toBe(0);
      const mustHaveOne = audience.filter((s) => s.id !== erased.id && s.id !== leaver.id);
      expect(
        mustHaveOne.filter((s) => counts.get(s.email) !== 1).map((s) => s.email),
        'everyone confirmed before the run gets exactly one',
      ).toEqual([]);
      expect(counts.size).toBe(mustHaveOne.length);
      expect([...counts.keys()].filter((a) => !a.startsWith('reader') && !a.startsWith('signup'))).toEqual([]);
      expect(dropped.size, 'connections were dropped').toBeGreaterThan(5);
      expect(deferred.size, 'recipients were deferred').toBeGreaterThan(5);

      const served = alreadyServed.to[0]!;
      read(dbPath, (db) => {
        const status = db.prepare('SELECT status FROM subscribers WHERE email = ?').pluck();
        expect(status.get(served)).toBe('unsubscribed');
        expect(status.get(leaver.email)).toBe('unsubscribed');
        expect(
          db.prepare('SELECT status, sent, lease_owner AS leaseOwner FROM send_runs WHERE digest_date = ?').get(DATE),
        ).toEqual({ status: 'done', sent: mustHaveOne.length, leaseOwner: null });
      });
      expect((await fetch(`${server.url}/healthz`)).status).toBe(200);
      expect(await server.stop()).toBe(0);
      // Neither service process logged an error (a 5xx, a crash) all day; their logs are JSON lines.
      const logLines = servers.flatMap((p) => p.output().split('\n'));
      expect(
        logLines.filter((line) => line.includes('"msg":"paperboy is running"') && line.includes('"level":30')),
      ).toHaveLength(2);
      expect(logLines.filter((line) => /"level":(50|60)/.test(line))).toEqual([]);

      // The erased address is nowhere in the database, and the database is sound.
      read(dbPath, (db) => {
        expect(db.pragma('integrity_check')).toEqual([{ integrity_check: 'ok' }]);
        expect(db.prepare('SELECT count(*) FROM send_deliveries WHERE subscriber_id = ?').pluck().get(erased.id)).toBe(
          0,
        );
        const tables = db
          .prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'")
          .pluck()
          .all() as string[];
        for (const table of tables) {
          const rows = JSON.stringify(db.prepare(`SELECT * FROM "${table}"`).all());
          expect(rows.includes(erased.email), `${erased.email} in ${table}`).toBe(false);
        }
      });
      for (const file of [dbPath, `${dbPath}-wal`]) {
        if (existsSync(file))
          expect(readFileSync(file).includes(erased.email), `${erased.email} in ${file}`).toBe(false);
      }
    },
  );
});
