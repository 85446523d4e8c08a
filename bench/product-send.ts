import { createLogger } from '../src/logger.ts';
import { createMailer } from '../src/mail/transport.ts';
import { loadTemplates } from '../src/mail/templates.ts';
import { prepareMessage, renderMessage } from '../src/mail/raw-message.ts';
import { createPaperSource } from '../src/papers/hf-daily-papers.ts';
import { rankPapers } from '../src/domain/ranking.ts';
import { subscriberLinks } from '../src/domain/tokens.ts';
import { limitHeapGrowth } from '../src/heap.ts';
import { sendWindowed, warmPool, type Sender } from './sender.ts';
import { BENCH_FROM, BENCH_PUBLIC_URL, BENCH_SECRET, recipientFor } from './fixtures.ts';

/**
 * The product path (sendDigest), as is, over many variants, DKIM-signed on the main thread or on threads; or the
 * no-DB fast path.
 */
export type ProductKind =
  'product' | 'product-variants' | 'product-dkim-main' | 'product-dkim-workers' | 'fastpath-nodb';

/** What the product path needs beyond port / pool size / n. */
export interface ProductParams {
  /** Signs with this RSA key; `workers` undefined leaves DKIM_WORKERS at its default (the cores). */
  dkim?: { keyPath: string; workers?: number } | undefined;
  /** A database seeded with n confirmed subscribers (fixtures.seedSubscribers). */
  dbPath: string;
  date: string;
  /** The local stand-in for the Daily Papers API, serving the synthetic day. */
  papersApiUrl: string;
  /** How many papers the synthetic day has. */
  dayPapers: number;
}

const silent = createLogger('silent');

/**
 * How long after the start of `run` the first message reaches the mailer: the run's fixed costs
 * (refreshing the day, ranking, compiling), which weigh on small sends.
 */
function firstMessageClock() {
  let started = 0;
  let ms: number | undefined;
  return {
    start: () => void ((started = performance.now()), (ms = undefined)),
    sending: () => void (ms ??= performance.now() - started),
    get ms() {
      return ms;
    },
  };
}

/**
 * The product's fast path without the database: the same refresh of the day from the papers API
 * (the product's source client; not stored), the same templates, the same message builder
 * (src/mail/raw-message.ts) and the same mailer, over an in-memory list of recipients. Compared
 * with the real sendDigest, the difference is the database: the ledger (runs, deliveries,
 * batches, lease, unsubscribe re-checks) and storing the refreshed and frozen day. The process
 * runs with the product's heap setting, as the product path does.
 */
async function fastPathWithoutDb(p: {
  port: number;
  poolSize: number;
  n: number;
  date: string;
  papersApiUrl: string;
}): Promise<Sender> {
  limitHeapGrowth();
  const { signedMessageId } = await import('../src/bounces/message-id.ts');
  const { senderDomain } = await import('../src/mail/raw-message.ts');
  const domain = senderDomain(BENCH_FROM);
  const mailer = createMailer({
    smtpUrl: `smtp://127.0.0.1:${p.port}`,
    outboxDir: '/nonexistent',
    poolSize: p.poolSize,
    ratePerSec: 0,
    logger: silent,
  });
  const templates = await loadTemplates({ publicUrl: BENCH_PUBLIC_URL, postalAddress: 'Paperboy bench' });
  const source = createPaperSource({ baseUrl: p.papersApiUrl, logger: silent });
  const first = firstMessageClock();
  return {
    prepare: () => warmPool(mailer, p.poolSize),
    async run() {
      first.start();
      // Fetching, ranking and compiling are once-per-run costs the product pays too (it refreshes
      // the day before ranking), so they are timed here.
      const { papers } = await source.fetchDay(p.date);
      const digest = await templates.compileDigest({ date: p.date, papers: rankPapers(papers, { size: 10 }) });
      const prepared = prepareMessage(digest, {
        from: BENCH_FROM,
        listId: `"Paperboy daily digest" <daily.${domain}>`,
      });
      const sent = await sendWindowed(p.n, p.poolSize * 2, async (i) => {
        const links = subscriberLinks(BENCH_PUBLIC_URL, BENCH_SECRET, i + 1);
        first.sending();
        return mailer.sendPrebuilt(
          renderMessage(prepared, {
            to: recipientFor(i),
            messageId: signedMessageId({ edition: 'digest', date: p.date, id: i + 1 }, BENCH_SECRET, domain),
            date: new Date(),
            ...links,
          }),
        );
      });
      return { sent, firstMessageMs: first.ms };
    },
    close: () => mailer.close(),
  };
}

/**
 * The product path as cron and send-now run it: a context built from the config (SMTP pool to
 * the sink, the local papers API), sendDigestDeps(ctx), then sendDigest for the bench date over
 * a database seeded with n confirmed subscribers, in a process with the heap setting main.ts and
 * send-now apply. The timed part is the sendDigest call alone.
 */
async function productPath(p: { port: number; poolSize: number; n: number } & ProductParams): Promise<Sender> {
  limitHeapGrowth();
  const { loadConfig } = await import('../src/config.ts');
  const { createContext, sendDigestDeps } = await import('../src/context.ts');
  const { sendDigest } = await import('../src/digest/run.ts');
  const config = loadConfig({
    DATABASE_PATH: p.dbPath,
    OUTBOX_DIR: `${p.dbPath}.outbox`,
    SMTP_URL: `smtp://127.0.0.1:${p.port}`,
    SMTP_POOL_SIZE: String(p.poolSize),
    SEND_RATE_PER_SEC: '0',
    MAIL_FROM: BENCH_FROM,
    PUBLIC_URL: BENCH_PUBLIC_URL,
    SECRET: BENCH_SECRET,
    PAPERS_API_URL: p.papersApiUrl,
    LOG_LEVEL: 'silent',
    ...(p.dkim
      ? { DKIM_DOMAIN: 'bench.localhost', DKIM_SELECTOR: 'bench', DKIM_PRIVATE_KEY_PATH: p.dkim.keyPath }
      : {}),
    ...(p.dkim?.workers === undefined ? {} : { DKIM_WORKERS: String(p.dkim.workers) }),
  });
  const ctx = createContext(config, silent);
  const deps = await sendDigestDeps(ctx);
  const first = firstMessageClock();
  const mailer = deps.mailer;
  deps.mailer = { sendPrebuilt: (m) => (first.sending(), mailer.sendPrebuilt(m)) };
  return {
    // The context's own pooled mailer, warmed so opening its connections is not timed.
    prepare: () => warmPool(ctx.mailer, p.poolSize),
    async run() {
      first.start();
      const r = await sendDigest(deps, { date: p.date });
      if (r.outcome !== 'done') throw new Error(`sendDigest ended "${r.outcome}"${r.reason ? `: ${r.reason}` : ''}`);
      return {
        sent: r.sent,
        firstMessageMs: first.ms,
        detail: {
          outcome: r.outcome,
          sent: r.sent,
          failed: r.failed,
          skipped: r.skipped,
          deferred: r.deferred,
          durationMs: r.durationMs,
        },
      };
    },
    close: () => ctx.close(),
  };
}

export async function productSender(
  p: { kind: ProductKind; port: number; poolSize: number; n: number } & ProductParams,
  noDb: boolean,
): Promise<Sender> {
  return noDb ? fastPathWithoutDb(p) : productPath(p);
}
