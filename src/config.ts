import { existsSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { z } from 'zod';
import addressparser from 'nodemailer/lib/addressparser';
import { DEFAULT_DIGEST_SIZE, DIGEST_SIZES, isDigestSize, type DigestSize } from './domain/subscriber-input.ts';

const emptyAsUndefined = (v: unknown) => (v === '' ? undefined : v);
const DIGEST_SIZE_CHOICES = `must be one of ${DIGEST_SIZES.join(', ')} (the sizes a subscriber can choose)`;
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
  // The digest run (src/digest/): ledger batch, retries, error budget, lease.
  // Claimed rows wait in memory for their turn: a large batch outlives young-generation GCs and
  // is promoted; 100 keeps fewer of a send's young objects surviving a GC, at the same ledger
  // cost per message.
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
  DKIM_DOMAIN: opt(z.string()),
  DKIM_SELECTOR: opt(z.string()),
  DKIM_PRIVATE_KEY_PATH: opt(z.string()),
  // A second signature, ed25519-sha256 (RFC 8463), under the selector <DKIM_SELECTOR>-ed25519.
  DKIM_ED25519_KEY_PATH: opt(z.string()),
  // Threads that sign digests (an RSA signature is ~10x the rest of a message's CPU); 0 signs on the main thread.
  DKIM_WORKERS: z.preprocess(emptyAsUndefined, z.coerce.number().int().min(0).max(64).default(availableParallelism())),
  SECRET: opt(z.string().min(32, { error: 'must be at least 32 characters (try: openssl rand -hex 32)' })),
  PAPERS_API_URL: z.preprocess(emptyAsUndefined, z.url({ protocol: /^https?$/ }).default('https://huggingface.co/api/daily_papers')),
  DIGEST_CRON: z.preprocess(emptyAsUndefined, z.string().default('0 7 * * *')),
  DIGEST_TZ: z.preprocess(emptyAsUndefined, z.string().default('UTC').refine(isTimeZone, { error: 'must be an IANA time zone such as Europe/Berlin' })),
  // The default of every sign-up and import row without a size, so it is one a subscriber can choose.
  DIGEST_SIZE: z.preprocess(
    emptyAsUndefined,
    z.coerce
      .number({ error: DIGEST_SIZE_CHOICES })
      .default(DEFAULT_DIGEST_SIZE)
      .refine(isDigestSize, { error: DIGEST_SIZE_CHOICES })
      .transform((n) => n as DigestSize),
  ),
  TRUST_PROXY: z.preprocess(emptyAsUndefined, z.stringbool({ error: 'must be true or false' }).default(false)),
  SUBSCRIBE_RATE_PER_IP: z.preprocess(emptyAsUndefined, z.coerce.number().int().min(0).default(10)),
  CONFIRMATIONS_PER_ADDRESS_PER_HOUR: z.preprocess(emptyAsUndefined, z.coerce.number().int().min(1).default(3)),
  LOG_LEVEL: z.preprocess(emptyAsUndefined, z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info')),
  // Anything but production allows pretty logs on a terminal (the image sets production).
  NODE_ENV: z.preprocess(emptyAsUndefined, z.string().default('development')),
  // GET /metrics exists only with a token: scrapers send it as a bearer token.
  METRICS_TOKEN: opt(z.string().min(16, { error: 'must be at least 16 characters (try: openssl rand -hex 32)' })),
});

export type Config = z.infer<typeof configSchema> & { PUBLIC_URL: string; BOUNCE_DOMAIN: string };

export class ConfigError extends Error {}

function isTimeZone(tz: string): boolean {
  // The first Intl.DateTimeFormat of a process loads ICU's zone data (~50-90 ms of every CLI's
  // start); the default needs no check.
  if (tz === 'UTC') return true;
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
  if (c.DKIM_ED25519_KEY_PATH && dkim === 0) throw new ConfigError('invalid configuration: DKIM_ED25519_KEY_PATH is a second signature: set DKIM_DOMAIN, DKIM_SELECTOR and DKIM_PRIVATE_KEY_PATH too');
  const publicUrl = (c.PUBLIC_URL ?? `http://localhost:${c.PORT}`).replace(/\/+$/, '');
  const bounceDomain = c.BOUNCE_DOMAIN ?? mailFromDomain(c.MAIL_FROM);
  if (!bounceDomain) throw new ConfigError('invalid configuration: MAIL_FROM has no domain to receive bounces on: give it one, or set BOUNCE_DOMAIN');
  return { ...c, PUBLIC_URL: publicUrl, BOUNCE_DOMAIN: bounceDomain.toLowerCase() };
}
