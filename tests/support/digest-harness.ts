import type { Db } from '../../src/db/connection.ts';
import type { Paper } from '../../src/model/paper.ts';
import { sendDigestDeps } from '../../src/context.ts';
import type { SendDigestDeps } from '../../src/digest/run-types.ts';
import type { SendPolicy } from '../../src/digest/policy.ts';
import { startSmtpSink, type SmtpSink, type SmtpSinkOptions } from './smtp-sink.ts';
import { createTestContext, type TestContext } from './test-context.ts';
import { fixturePapers } from './fixture-papers.ts';

export const DATE = '2026-11-24';
/** Before every test subscriber's confirmation… */
export const CONFIRMED_AT = '2026-11-20T08:00:00.000Z';
/** …and the instant the test runs "start" (the cut-off). */
export const NOW = new Date('2026-11-25T07:00:00.000Z');

export interface SeedOptions {
  digestSize?: 5 | 10 | 20;
  keywords?: string;
  confirmedAt?: string;
  status?: 'pending' | 'confirmed' | 'unsubscribed' | 'suppressed';
  prefix?: string;
  /** The addresses' domain; example.com unless given. */
  domain?: string;
  cadence?: 'daily' | 'weekly';
}

/** Inserts `n` subscribers (reader1@example.com …) and returns their ids in order. */
export function seedSubscribers(db: Db, n: number, o: SeedOptions = {}): number[] {
  // The cadence column only when asked for: upgrade tests seed databases from before it.
  const insert = db.prepare(
    `INSERT INTO subscribers (email, status, digest_size, keywords, confirmed_at, created_at, updated_at${o.cadence ? ', cadence' : ''})
     VALUES (?, ?, ?, ?, ?, ?, ?${o.cadence ? ', ?' : ''}) RETURNING id`,
  );
  const start = (db.prepare('SELECT count(*) FROM subscribers').pluck().get() as number) + 1;
  return db.transaction(() =>
    Array.from({ length: n }, (_, i) => {
      const email = `${o.prefix ?? 'reader'}${start + i}@${o.domain ?? 'example.com'}`;
      const row = insert.get(
        email,
        o.status ?? 'confirmed',
        o.digestSize ?? 10,
        o.keywords ?? '',
        o.confirmedAt ?? CONFIRMED_AT,
        CONFIRMED_AT,
        CONFIRMED_AT,
        ...(o.cadence ? [o.cadence] : []),
      ) as { id: number };
      return row.id;
    }),
  )();
}

/** The fixture day (CJK, markup and a withdrawn paper included), frozen as the digest of `date`. */
export function freezeFixtureDay(ctx: TestContext, date = DATE): Paper[] {
  const papers = fixturePapers('2026-11-24').map((p) => ({ ...p, featuredDate: date }));
  ctx.digests.save(date, papers);
  return papers;
}

/** Fast retries for tests: the policy's shape as in production, its delays in milliseconds. */
export const testPolicy = (p: Partial<SendPolicy> = {}): Partial<SendPolicy> => ({
  retryBaseMs: 20,
  leaseMs: 5_000,
  ...p,
});

export interface Harness {
  ctx: TestContext;
  sink: SmtpSink;
  deps: SendDigestDeps;
  close(): Promise<void>;
}

/** A clock that starts at NOW and runs at real speed (retry times must come due). */
export function clockFromNow(): { now: () => Date } {
  const offset = NOW.getTime() - Date.now();
  return { now: () => new Date(Date.now() + offset) };
}

/** A test context sending to a real SMTP server on 127.0.0.1; its clock starts at NOW. */
export async function startHarness(
  o: { env?: Record<string, string>; sink?: SmtpSinkOptions; policy?: Partial<SendPolicy>; now?: () => Date } = {},
): Promise<Harness> {
  const sink = await startSmtpSink(o.sink);
  const ctx = createTestContext(
    { SMTP_URL: sink.url, MAIL_FROM: 'Paperboy <digest@papers.example.org>', SMTP_POOL_SIZE: '2', ...o.env },
    { clock: o.now ? { now: o.now } : clockFromNow() },
  );
  const deps = await sendDigestDeps(ctx);
  deps.policy = { ...deps.policy, ...testPolicy(o.policy) };
  return {
    ctx,
    sink,
    deps,
    async close() {
      ctx.close();
      await sink.close();
    },
  };
}

/** The messages each address received, by address. */
export function byRecipient(sink: SmtpSink): Map<string, number> {
  const counts = new Map<string, number>();
  for (const m of sink.messages) for (const to of m.to) counts.set(to, (counts.get(to) ?? 0) + 1);
  return counts;
}

export function deliveryRows(db: Db, date = DATE) {
  return db
    .prepare(
      `SELECT d.subscriber_id AS subscriberId, d.status, d.attempts, d.last_reply AS lastReply, d.message_id AS messageId
       FROM send_deliveries d JOIN send_runs r ON r.id = d.run_id WHERE r.digest_date = ? ORDER BY d.subscriber_id`,
    )
    .all(date) as {
    subscriberId: number;
    status: string;
    attempts: number;
    lastReply: string | null;
    messageId: string | null;
  }[];
}
