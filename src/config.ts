import { createPrivateKey } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { lookup } from 'node:dns/promises';
import cron from 'node-cron';
import { availableParallelism } from 'node:os';
import addressparser from 'nodemailer/lib/addressparser';
import { z } from 'zod';
import { WEEKDAYS } from './weekdays.ts';

/** Soft bounces count towards suppression over this many days. */
export const SOFT_WINDOW_DAYS = 30;

// In a module of their own: dates (and with them every CLI's argument check) need them without zod.
export { WEEKDAYS, type Weekday } from './weekdays.ts';

/**
 * The papers per email a subscriber may choose: the form's options, the API's and the import's
 * check, and the values DIGEST_SIZE (everyone's default) may take.
 */
export const DIGEST_SIZES = [5, 10, 20] as const;
export type DigestSize = (typeof DIGEST_SIZES)[number];
/** DIGEST_SIZE when it is not set. */
export const DEFAULT_DIGEST_SIZE: DigestSize = 10;
export const isDigestSize = (n: number): n is DigestSize => (DIGEST_SIZES as readonly number[]).includes(n);

const emptyAsUndefined = (v: unknown) => (v === '' ? undefined : v);
const DIGEST_SIZE_CHOICES = `must be one of ${DIGEST_SIZES.join(', ')} (the sizes a subscriber can choose)`;
const opt = <T extends z.ZodType>(schema: T) => z.preprocess(emptyAsUndefined, schema.optional());

/** The one reader of process.env: every setting, its default and its check. */
export const configSchema = z.object({
  PORT: z.preprocess(emptyAsUndefined, z.coerce.number().int().min(0).max(65535).default(3000)),
  HOST: z.preprocess(
    emptyAsUndefined,
    z
      .string()
      .default('0.0.0.0')
      .refine(isHost, { error: 'must be an IP address or a host name, such as 0.0.0.0, 127.0.0.1 or localhost' }),
  ),
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
  // An unreachable SMTP server: the daily job retries this many times (waits doubling from
  // SEND_RETRY_BASE_MS), send-now gives up sooner when it has not reached the server at all.
  SEND_CONNECT_RETRIES: z.preprocess(emptyAsUndefined, z.coerce.number().int().min(0).max(20).default(3)),
  // At most a day: it becomes a timer, and a longer one would not wait at all.
  SEND_CONNECT_GIVE_UP_SECONDS: z.preprocess(emptyAsUndefined, z.coerce.number().int().min(0).max(86_400).default(120)),
  OUTBOX_DIR: z.preprocess(emptyAsUndefined, z.string().default('./data/outbox')),
  MAIL_FROM: z.preprocess(
    emptyAsUndefined,
    z
      .string()
      .default('Paperboy <paperboy@localhost>')
      .refine(isSender, { error: 'must be one address with a domain, such as Paperboy <digest@papers.example.org>' }),
  ),
  MAIL_UNSUBSCRIBE_MAILTO: opt(z.email({ error: 'must be an email address' })),
  MAIL_POSTAL_ADDRESS: z.preprocess(
    emptyAsUndefined,
    z.string().default('Paperboy, a self-hosted digest of trending ML papers'),
  ),
  // Bounce handling (src/bounces/): the domain of the VERP envelope senders, and the soft rule.
  BOUNCE_DOMAIN: opt(
    z.string().regex(/^[a-z0-9-]+(\.[a-z0-9-]+)*$/i, { error: 'must be a domain name such as bounces.example.org' }),
  ),
  BOUNCE_SOFT_LIMIT: z.preprocess(emptyAsUndefined, z.coerce.number().int().min(1).max(100).default(3)),
  // Delivery rows of finished runs older than this are folded into their run's counts.
  RETENTION_DAYS: z.preprocess(
    emptyAsUndefined,
    z.coerce
      .number()
      .int()
      .min(SOFT_WINDOW_DAYS + 1, {
        error: `must be at least ${SOFT_WINDOW_DAYS + 1}: the soft-bounce rule reads the last ${SOFT_WINDOW_DAYS} days of deliveries`,
      })
      .default(180),
  ),
  // Ways bounces come in: the operator's bounce mailbox, and the providers' signed webhooks.
  BOUNCE_IMAP_URL: opt(
    z.url({ protocol: /^imaps?$/, error: 'must look like imaps://user:pass@imap.example.org/INBOX' }),
  ),
  BOUNCE_IMAP_AFTER: z.preprocess(
    emptyAsUndefined,
    z
      .string()
      .regex(/^(seen|delete|move:.+)$/, { error: 'must be seen, delete or move:<Folder>' })
      .default('seen'),
  ),
  BOUNCE_IMAP_POLL_SECONDS: z.preprocess(emptyAsUndefined, z.coerce.number().int().min(5).max(86_400).default(60)),
  // Where feedback loops (Yahoo, Microsoft) send complaints: the receiver and the mailbox take ARF reports there.
  BOUNCE_FBL_ADDRESS: opt(z.email({ error: 'must be an email address such as fbl@bounces.example.org' })),
  // Where the mailbox puts a message it cannot handle (unreadable, too big, too slow); created when missing.
  BOUNCE_IMAP_QUARANTINE: z.preprocess(emptyAsUndefined, z.string().min(1).default('Paperboy-Quarantine')),
  SES_SNS_TOPIC_ARNS: opt(
    z.string().regex(/^\s*arn:[\w-]+:sns:[\w-]+:\d+:[\w.-]+\s*(,\s*arn:[\w-]+:sns:[\w-]+:\d+:[\w.-]+\s*)*$/, {
      error: 'must be SNS topic ARNs separated by commas (arn:aws:sns:eu-west-1:123456789012:ses-bounces)',
    }),
  ),
  POSTMARK_WEBHOOK_AUTH: opt(
    z.string().regex(/^[^:]+:.{12,}$/, { error: 'must be user:password, the password at least 12 characters' }),
  ),
  MAILGUN_WEBHOOK_SIGNING_KEY: opt(
    z.string().min(16, { error: 'must be the webhook signing key from Mailgun (at least 16 characters)' }),
  ),
  // The bounce receiver (src/bounces/sources/receiver.ts): an SMTP listener on HOST, only when a port is given.
  BOUNCE_SMTP_PORT: opt(z.coerce.number().int().min(0).max(65535)),
  // Reports are small: a DSN quotes the original's headers, at most the whole digest.
  BOUNCE_MAX_BYTES: z.preprocess(emptyAsUndefined, z.coerce.number().int().min(10_000).default(1_000_000)),
  // One report's parse on the worker thread; past it the report is quarantined, not retried.
  BOUNCE_PARSE_TIMEOUT_MS: z.preprocess(emptyAsUndefined, z.coerce.number().int().min(100).max(600_000).default(5000)),
  // A local Postfix relays every report from one address: raise this when the receiver sits behind one.
  BOUNCE_SMTP_MAX_PER_CLIENT: z.preprocess(emptyAsUndefined, z.coerce.number().int().min(1).max(1000).default(10)),
  DKIM_DOMAIN: opt(z.string()),
  DKIM_SELECTOR: opt(z.string()),
  DKIM_PRIVATE_KEY_PATH: opt(z.string()),
  // A second signature, ed25519-sha256 (RFC 8463), under the selector <DKIM_SELECTOR>-ed25519.
  DKIM_ED25519_KEY_PATH: opt(z.string()),
  // Threads that sign digests (an RSA signature outweighs the rest of a message's CPU); 0 signs on the main thread.
  DKIM_WORKERS: z.preprocess(emptyAsUndefined, z.coerce.number().int().min(0).max(64).default(availableParallelism())),
  SECRET: opt(z.string().min(32, { error: 'must be at least 32 characters (try: openssl rand -hex 32)' })),
  PAPERS_API_URL: z.preprocess(
    emptyAsUndefined,
    z.url({ protocol: /^https?$/ }).default('https://huggingface.co/api/daily_papers'),
  ),
  DIGEST_CRON: z.preprocess(
    emptyAsUndefined,
    z
      .string()
      .default('0 7 * * *')
      .refine((v) => cron.validate(v), {
        error: 'must be a cron expression such as "0 7 * * *" (minute hour day month weekday)',
      }),
  ),
  DIGEST_TZ: z.preprocess(
    emptyAsUndefined,
    z.string().default('UTC').refine(isTimeZone, { error: 'must be an IANA time zone such as Europe/Berlin' }),
  ),
  // local: each reader at their own hour in their zone; batch: everyone at DIGEST_CRON in DIGEST_TZ.
  DELIVERY_MODE: z.preprocess(
    (v) => (typeof v === 'string' ? emptyAsUndefined(v.trim().toLowerCase()) : v),
    z.enum(['local', 'batch'], { error: 'must be local or batch' }).default('local'),
  ),
  // The day the weekly edition goes out, at DIGEST_CRON's time.
  WEEKLY_DAY: z.preprocess(
    (v) => (typeof v === 'string' ? emptyAsUndefined(v.trim().toLowerCase()) : v),
    z.enum(WEEKDAYS, { error: `must be a day name: ${WEEKDAYS.join(', ')}` }).default('monday'),
  ),
  // The default of every sign-up and import row without a size, so it is one a subscriber can choose.
  DIGEST_SIZE: z.preprocess(
    emptyAsUndefined,
    z.coerce
      .number({ error: DIGEST_SIZE_CHOICES })
      .default(DEFAULT_DIGEST_SIZE)
      .refine(isDigestSize, { error: DIGEST_SIZE_CHOICES })
      .transform((n) => n as DigestSize),
  ),
  TRUST_PROXY: z.preprocess(emptyAsUndefined, z.string().default('false').transform(trustProxy)),
  SUBSCRIBE_RATE_PER_IP: z.preprocess(emptyAsUndefined, z.coerce.number().int().min(0).default(10)),
  // Counted per mailbox: the address without its +tag (and, at Gmail, without dots).
  CONFIRMATIONS_PER_ADDRESS_PER_HOUR: z.preprocess(emptyAsUndefined, z.coerce.number().int().min(1).default(3)),
  // 0 turns it off. Big shared providers (gmail.com, outlook.com, …: src/domain/mailbox.ts) are
  // exempt; 50 an hour to one company's or university's domain is far above a real sign-up rate.
  CONFIRMATIONS_PER_DOMAIN_PER_HOUR: z.preprocess(emptyAsUndefined, z.coerce.number().int().min(0).default(50)),
  LOG_LEVEL: z.preprocess(
    emptyAsUndefined,
    z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  ),
  // Anything but production allows pretty logs on a terminal (the image sets production).
  NODE_ENV: z.preprocess(emptyAsUndefined, z.string().default('development')),
  // GET /metrics exists only with a token: scrapers send it as a bearer token.
  METRICS_TOKEN: opt(z.string().min(16, { error: 'must be at least 16 characters (try: openssl rand -hex 32)' })),
});

export type Config = z.infer<typeof configSchema> & { PUBLIC_URL: string; BOUNCE_DOMAIN: string };

export class ConfigError extends Error {}

function isTimeZone(tz: string): boolean {
  // The first Intl.DateTimeFormat of a process loads ICU's zone data, a noticeable part of every
  // CLI's start; the default needs no check.
  if (tz === 'UTC') return true;
  try {
    new Intl.DateTimeFormat('en', { timeZone: tz });
    return true;
  } catch {
    return false;
  }
}

const TRUST_PROXY_FORMS =
  'must be true, false, a number of proxy hops, or proxy addresses/CIDRs separated by commas (e.g. 10.0.0.0/8, 192.0.2.1)';

/**
 * Fastify's `trustProxy` from the variable. `true` is one hop, not Fastify's "trust every hop":
 * that takes the left-most X-Forwarded-For entry, which the client writes itself, so anyone could
 * pick the address the sign-up rate limit counts against.
 */
function trustProxy(value: string, ctx: z.core.$RefinementCtx<string>): false | number | string[] {
  const v = value.trim().toLowerCase();
  if (v === 'false') return false;
  if (v === 'true') return 1;
  if (/^\d+$/.test(v)) return Number(v);
  const entries = v.split(',').map((e) => e.trim());
  if (entries.every(isProxyAddress)) return entries;
  ctx.addIssue({ code: 'custom', message: TRUST_PROXY_FORMS });
  return z.NEVER;
}

/** What proxy-addr (under Fastify) accepts: an address, address/prefix, address/netmask, or a named range. */
function isProxyAddress(entry: string): boolean {
  if (['loopback', 'linklocal', 'uniquelocal'].includes(entry)) return true;
  const [address = '', range, ...rest] = entry.split('/');
  const family = isIP(address);
  if (!family || rest.length) return false;
  if (range === undefined) return true;
  if (/^\d+$/.test(range)) return Number(range) <= (family === 4 ? 32 : 128);
  return family === 4 && isIP(range) === 4;
}

/** An address to listen on, or a name to resolve (resolving happens before the listen, in main.ts). */
function isHost(value: string): boolean {
  return (
    isIP(value) !== 0 ||
    /^(?=.{1,253}$)[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*\.?$/i.test(value)
  );
}

/** A HOST name the resolver does not know fails here, in one line, not as a listen error's stack. */
export async function checkHostResolves(host: string): Promise<void> {
  if (isIP(host)) return;
  try {
    await lookup(host);
  } catch (err) {
    throw new ConfigError(
      `invalid configuration: HOST: cannot resolve ${host} (${(err as NodeJS.ErrnoException).code})`,
    );
  }
}

/** The sender's address gives every Message-ID and List-Id its domain: one address, with one. */
function isSender(value: string): boolean {
  const parsed = addressparser(value, { flatten: true });
  return parsed.length === 1 && /^[^@\s]+@[^@\s]+$/.test(parsed[0]!.address);
}

/**
 * A problem with a DKIM key file, in words, or undefined when it holds a usable private key of the
 * type its setting names (DKIM_PRIVATE_KEY_PATH: RSA; DKIM_ED25519_KEY_PATH: Ed25519).
 */
function dkimKeyProblem(path: string, type: 'rsa' | 'ed25519'): string | undefined {
  let pem: string;
  try {
    pem = readFileSync(path, 'utf8');
  } catch (err) {
    return `cannot read ${path} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`;
  }
  let found: string | undefined;
  try {
    found = createPrivateKey(pem).asymmetricKeyType;
  } catch {
    return `${path} is not a private key in PEM form (-----BEGIN PRIVATE KEY----- or -----BEGIN RSA PRIVATE KEY-----)`;
  }
  const want = type === 'rsa' ? 'an RSA' : 'an Ed25519';
  return found === type
    ? undefined
    : `${path} holds ${found ? `a key of type ${found}` : 'an unknown key'}, not ${want} private key`;
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
  const config = parsed.data;
  const dkim = [config.DKIM_DOMAIN, config.DKIM_SELECTOR, config.DKIM_PRIVATE_KEY_PATH].filter(Boolean).length;
  if (dkim !== 0 && dkim !== 3) {
    throw new ConfigError(
      'invalid configuration: DKIM_DOMAIN, DKIM_SELECTOR and DKIM_PRIVATE_KEY_PATH go together: set all three or none',
    );
  }
  const keyProblem = config.DKIM_PRIVATE_KEY_PATH && dkimKeyProblem(config.DKIM_PRIVATE_KEY_PATH, 'rsa');
  if (keyProblem) throw new ConfigError(`invalid configuration: DKIM_PRIVATE_KEY_PATH: ${keyProblem}`);
  if (config.DKIM_ED25519_KEY_PATH && dkim === 0)
    throw new ConfigError(
      'invalid configuration: DKIM_ED25519_KEY_PATH is a second signature: set DKIM_DOMAIN, DKIM_SELECTOR and DKIM_PRIVATE_KEY_PATH too',
    );
  const edProblem = config.DKIM_ED25519_KEY_PATH && dkimKeyProblem(config.DKIM_ED25519_KEY_PATH, 'ed25519');
  if (edProblem) throw new ConfigError(`invalid configuration: DKIM_ED25519_KEY_PATH: ${edProblem}`);
  // Both listen on HOST (port 0 picks a free port for each).
  if (config.BOUNCE_SMTP_PORT === config.PORT && config.PORT !== 0)
    throw new ConfigError(
      `invalid configuration: BOUNCE_SMTP_PORT and PORT are both ${config.PORT}: the bounce receiver and the web service need a port each`,
    );
  const publicUrl = (config.PUBLIC_URL ?? `http://localhost:${config.PORT}`).replace(/\/+$/, '');
  const bounceDomain = config.BOUNCE_DOMAIN ?? mailFromDomain(config.MAIL_FROM);
  if (!bounceDomain)
    throw new ConfigError(
      'invalid configuration: MAIL_FROM has no domain to receive bounces on: give it one, or set BOUNCE_DOMAIN',
    );
  return { ...config, PUBLIC_URL: publicUrl, BOUNCE_DOMAIN: bounceDomain.toLowerCase() };
}
