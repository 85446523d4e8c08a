import { existsSync } from 'node:fs';
import { z } from 'zod';
import addressparser from 'nodemailer/lib/addressparser';

const emptyAsUndefined = (v: unknown) => (v === '' ? undefined : v);
const opt = <T extends z.ZodType>(schema: T) => z.preprocess(emptyAsUndefined, schema.optional());

/** The one reader of process.env: every setting, its default and its check. */
export const configSchema = z.object({
  PORT: z.preprocess(emptyAsUndefined, z.coerce.number().int().min(0).max(65535).default(3000)),
  HOST: z.preprocess(emptyAsUndefined, z.string().default('0.0.0.0')),
  PUBLIC_URL: opt(z.url({ protocol: /^https?$/, error: 'must be an http(s) URL such as https://papers.example.org' })),
  DATABASE_PATH: z.preprocess(emptyAsUndefined, z.string().default('./data/paperboy.sqlite')),
  SMTP_URL: opt(z.url({ protocol: /^smtps?$/, error: 'must look like smtp://user:pass@host:587 or smtps://host:465' })),
  SMTP_POOL_SIZE: z.preprocess(emptyAsUndefined, z.coerce.number().int().min(1).max(50).default(5)),
  SEND_RATE_PER_SEC: z.preprocess(emptyAsUndefined, z.coerce.number().min(0).default(0)),
  // The digest sender (src/domain/send-digest.ts): ledger batch, retries, error budget, lease.
  // Claimed rows wait in memory for their turn: a batch of 500 (~0.1 s of sending) outlives
  // young-generation GCs and is promoted; with 100, 0.7 % of a send's young objects survive a GC
  // instead of 1.1–1.6 %, at the same ledger cost per message.
  SEND_BATCH_SIZE: z.preprocess(emptyAsUndefined, z.coerce.number().int().min(1).max(10_000).default(100)),
  SEND_MAX_ATTEMPTS: z.preprocess(emptyAsUndefined, z.coerce.number().int().min(1).max(20).default(5)),
  SEND_RETRY_BASE_MS: z.preprocess(emptyAsUndefined, z.coerce.number().int().min(1).default(60_000)),
  SEND_ERROR_BUDGET: z.preprocess(emptyAsUndefined, z.coerce.number().min(0).max(100).default(10)),
  SEND_LEASE_SECONDS: z.preprocess(emptyAsUndefined, z.coerce.number().int().min(1).default(30)),
  OUTBOX_DIR: z.preprocess(emptyAsUndefined, z.string().default('./data/outbox')),
  MAIL_FROM: z.preprocess(emptyAsUndefined, z.string().default('Paperboy <paperboy@localhost>')),
  MAIL_UNSUBSCRIBE_MAILTO: opt(z.email({ error: 'must be an email address' })),
  MAIL_POSTAL_ADDRESS: z.preprocess(emptyAsUndefined, z.string().default('Paperboy, a self-hosted digest of trending ML papers')),
  // Bounce handling (src/bounces/): the domain of the VERP envelope senders, and the soft rule.
  BOUNCE_DOMAIN: opt(z.string().regex(/^[a-z0-9-]+(\.[a-z0-9-]+)*$/i, { error: 'must be a domain name such as bounces.example.org' })),
  BOUNCE_SOFT_LIMIT: z.preprocess(emptyAsUndefined, z.coerce.number().int().min(1).max(100).default(3)),
  // Ways bounces come in: the operator's bounce mailbox, and the providers' signed webhooks.
  BOUNCE_IMAP_URL: opt(z.url({ protocol: /^imaps?$/, error: 'must look like imaps://user:pass@imap.example.org/INBOX' })),
  BOUNCE_IMAP_AFTER: z.preprocess(emptyAsUndefined, z.string().regex(/^(seen|delete|move:.+)$/, { error: 'must be seen, delete or move:<Folder>' }).default('seen')),
  BOUNCE_IMAP_POLL_SECONDS: z.preprocess(emptyAsUndefined, z.coerce.number().int().min(5).max(86_400).default(60)),
  SES_SNS_TOPIC_ARNS: opt(z.string().regex(/^\s*arn:[\w-]+:sns:[\w-]+:\d+:[\w.-]+\s*(,\s*arn:[\w-]+:sns:[\w-]+:\d+:[\w.-]+\s*)*$/, { error: 'must be SNS topic ARNs separated by commas (arn:aws:sns:eu-west-1:123456789012:ses-bounces)' })),
  POSTMARK_WEBHOOK_AUTH: opt(z.string().regex(/^[^:]+:.{12,}$/, { error: 'must be user:password, the password at least 12 characters' })),
  MAILGUN_WEBHOOK_SIGNING_KEY: opt(z.string().min(16, { error: 'must be the webhook signing key from Mailgun (at least 16 characters)' })),
  DKIM_DOMAIN: opt(z.string()),
  DKIM_SELECTOR: opt(z.string()),
  DKIM_PRIVATE_KEY_PATH: opt(z.string()),
  SECRET: opt(z.string().min(32, { error: 'must be at least 32 characters (try: openssl rand -hex 32)' })),
  PAPERS_API_URL: z.preprocess(emptyAsUndefined, z.url({ protocol: /^https?$/ }).default('https://huggingface.co/api/daily_papers')),
  DIGEST_CRON: z.preprocess(emptyAsUndefined, z.string().default('0 7 * * *')),
  DIGEST_TZ: z.preprocess(emptyAsUndefined, z.string().default('UTC').refine(isTimeZone, { error: 'must be an IANA time zone such as Europe/Berlin' })),
  DIGEST_SIZE: z.preprocess(emptyAsUndefined, z.coerce.number().int().min(1).max(50).default(10)),
  TRUST_PROXY: z.preprocess(emptyAsUndefined, z.stringbool({ error: 'must be true or false' }).default(false)),
  SUBSCRIBE_RATE_PER_IP: z.preprocess(emptyAsUndefined, z.coerce.number().int().min(0).default(10)),
  CONFIRMATIONS_PER_ADDRESS_PER_HOUR: z.preprocess(emptyAsUndefined, z.coerce.number().int().min(1).default(3)),
  LOG_LEVEL: z.preprocess(emptyAsUndefined, z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info')),
});

export type Config = z.infer<typeof configSchema> & { PUBLIC_URL: string; BOUNCE_DOMAIN: string };

export class ConfigError extends Error {}

function isTimeZone(tz: string): boolean {
  try {
    new Intl.DateTimeFormat('en', { timeZone: tz });
    return true;
  } catch {
    return false;
  }
}

/** The process environment, plus ./.env when there is one (variables already set win). */
function processEnv(): Record<string, string | undefined> {
  if (existsSync('.env')) process.loadEnvFile('.env');
  return process.env;
}

/** The domain of MAIL_FROM's address, lowercased; undefined when it has none. */
export function mailFromDomain(mailFrom: string): string | undefined {
  const address = addressparser(mailFrom, { flatten: true })[0]?.address ?? '';
  return address.split('@')[1]?.toLowerCase() || undefined;
}

/** Parses the environment; throws ConfigError with one line per bad variable. */
export function loadConfig(env: Record<string, string | undefined> = processEnv()): Config {
  const parsed = configSchema.safeParse(env);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
    throw new ConfigError(`invalid configuration: ${lines.join('; ')}`);
  }
  const c = parsed.data;
  const dkim = [c.DKIM_DOMAIN, c.DKIM_SELECTOR, c.DKIM_PRIVATE_KEY_PATH].filter(Boolean).length;
  if (dkim !== 0 && dkim !== 3) {
    throw new ConfigError('invalid configuration: DKIM_DOMAIN, DKIM_SELECTOR and DKIM_PRIVATE_KEY_PATH go together: set all three or none');
  }
  const publicUrl = (c.PUBLIC_URL ?? `http://localhost:${c.PORT}`).replace(/\/+$/, '');
  const bounceDomain = c.BOUNCE_DOMAIN ?? mailFromDomain(c.MAIL_FROM);
  if (!bounceDomain) throw new ConfigError('invalid configuration: MAIL_FROM has no domain to receive bounces on: give it one, or set BOUNCE_DOMAIN');
  return { ...c, PUBLIC_URL: publicUrl, BOUNCE_DOMAIN: bounceDomain.toLowerCase() };
}
