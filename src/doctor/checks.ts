import { accessSync, constants, existsSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { createPrivateKey, createPublicKey, randomBytes } from 'node:crypto';
import Database from 'better-sqlite3';
import type { Config } from '../config.ts';
import { migrationsDir } from '../db/migrate.ts';
import { SmtpConnection } from '../mail/smtp/connection.ts';
import { parseSmtpUrl } from '../mail/smtp/url.ts';

/** One line of `npm run doctor`: what was checked, how it went, and what the operator needs to know. */
export interface CheckResult {
  name: string;
  outcome: 'ok' | 'fail' | 'skip';
  detail: string;
}

/** Looks up TXT records: node:dns in production, a stand-in in tests (which must not reach the internet). */
export type ResolveTxt = (name: string) => Promise<string[][]>;

export interface DoctorDeps {
  resolveTxt: ResolveTxt;
  /** Per network check: connection, greeting, HTTP answer. */
  timeoutMs: number;
}

const ok = (name: string, detail: string): CheckResult => ({ name, outcome: 'ok', detail });
const fail = (name: string, detail: string): CheckResult => ({ name, outcome: 'fail', detail });
const skip = (name: string, detail: string): CheckResult => ({ name, outcome: 'skip', detail });
const reason = (err: unknown) => (err as Error).message?.split('\n')[0] ?? String(err);

/** Every check, in the order an operator would fix things; none sends mail or changes data. */
export async function runChecks(config: Config, deps: DoctorDeps): Promise<CheckResult[]> {
  return [
    checkDatabase(config.DATABASE_PATH),
    config.SMTP_URL ? await checkSmtp(config.SMTP_URL, deps.timeoutMs) : checkOutbox(config.OUTBOX_DIR),
    await checkPublicUrl(config.PUBLIC_URL, deps.timeoutMs),
    await checkDkim(config, deps.resolveTxt),
    checkUnsubscribeMailto(config),
  ];
}

/** Who reads the List-Unsubscribe mailto: Gmail and Yahoo expect requests honoured within two days. */
export function checkUnsubscribeMailto(
  config: Pick<Config, 'MAIL_UNSUBSCRIBE_MAILTO' | 'BOUNCE_SMTP_PORT' | 'BOUNCE_IMAP_URL' | 'BOUNCE_DOMAIN'>,
): CheckResult {
  const name = 'unsubscribe';
  if (config.MAIL_UNSUBSCRIBE_MAILTO)
    return ok(
      name,
      `List-Unsubscribe offers mailto:${config.MAIL_UNSUBSCRIBE_MAILTO}; Paperboy does not read it: requests sent there must be honoured by you (within two days)`,
    );
  if (config.BOUNCE_SMTP_PORT !== undefined || config.BOUNCE_IMAP_URL)
    return ok(name, `each reader's own unsubscribe+<token>@${config.BOUNCE_DOMAIN}, read by Paperboy`);
  return skip(name, 'no mailto offered (set BOUNCE_SMTP_PORT or BOUNCE_IMAP_URL to offer one Paperboy reads)');
}

/**
 * The database opens and takes a write (rolled back, so nothing changes). A file that does not
 * exist yet only needs a folder the service can create it in.
 */
export function checkDatabase(path: string): CheckResult {
  const name = 'database';
  if (!existsSync(path)) {
    const folder = writableAncestor(dirname(path));
    return folder
      ? ok(name, `${path} does not exist yet; start-up creates it (${folder} is writable)`)
      : fail(name, `DATABASE_PATH ${path} does not exist and its folder cannot be created`);
  }
  let db: Database.Database | undefined;
  try {
    db = new Database(path, { fileMustExist: true, timeout: 5_000 });
    db.exec('BEGIN IMMEDIATE');
    db.exec('CREATE TABLE doctor_write_probe (x INTEGER); INSERT INTO doctor_write_probe VALUES (1)');
    db.exec('ROLLBACK');
    const applied = new Set(db.prepare(`SELECT name FROM schema_migrations`).pluck().all() as string[]);
    const pending = readdirSync(migrationsDir).filter((f) => f.endsWith('.sql') && !applied.has(f)).length;
    return ok(
      name,
      `${path} is writable; ${applied.size} migrations applied${pending ? `, ${pending} pending (applied at start-up or by npm run migrate)` : ''}`,
    );
  } catch (err) {
    return fail(name, `DATABASE_PATH ${path}: ${reason(err)}`);
  } finally {
    db?.close();
  }
}

/** Outbox mode: the folder exists and takes a file, or can be created. */
export function checkOutbox(dir: string): CheckResult {
  const name = 'mail';
  if (!existsSync(dir)) {
    const folder = writableAncestor(dir);
    return folder
      ? ok(name, `no SMTP_URL: emails go to ${dir} as .eml files (created on first use; ${folder} is writable)`)
      : fail(name, `no SMTP_URL, and OUTBOX_DIR ${dir} cannot be created`);
  }
  const probe = join(dir, `.doctor-${randomBytes(4).toString('hex')}`);
  try {
    writeFileSync(probe, '');
    rmSync(probe);
    return ok(name, `no SMTP_URL: emails go to ${dir} as .eml files (writable)`);
  } catch (err) {
    return fail(name, `no SMTP_URL, and OUTBOX_DIR ${dir} is not writable: ${reason(err)}`);
  }
}

/** The nearest folder that exists above a path to be created, if mkdir -p could go on from it. */
function writableAncestor(dir: string): string | undefined {
  for (let d = dir; ; d = dirname(d)) {
    if (existsSync(d)) {
      try {
        accessSync(d, constants.W_OK);
        return statSync(d).isDirectory() ? d : undefined;
      } catch {
        return undefined;
      }
    }
    if (dirname(d) === d) return undefined;
  }
}

/** The URL as it may be printed: the password never appears. */
function redactUrl(url: string): string {
  const u = new URL(url);
  if (u.password) u.password = '***';
  return u.toString().replace(/\/$/, '');
}

/**
 * Connects as the service would, with the mailer's own SMTP connection and reading of SMTP_URL:
 * greeting, EHLO, STARTTLS when offered (or smtps), AUTH when configured, then QUIT.
 */
export async function checkSmtp(smtpUrl: string, timeoutMs: number): Promise<CheckResult> {
  const name = 'smtp';
  let connection: SmtpConnection | undefined;
  try {
    const target = parseSmtpUrl(smtpUrl);
    connection = new SmtpConnection({
      target,
      connectionTimeoutMs: timeoutMs,
      greetingTimeoutMs: timeoutMs,
      socketTimeoutMs: timeoutMs,
      tls: {},
    });
    await connection.open();
    const steps = [
      'EHLO ok',
      connection.secure ? 'TLS' : 'no TLS (the server offers no STARTTLS)',
      target.auth ? `AUTH ok as ${target.auth.user}` : 'no AUTH (no user in SMTP_URL)',
    ];
    await connection.quit();
    return ok(name, `${redactUrl(smtpUrl)}: ${steps.join(', ')}`);
  } catch (err) {
    connection?.destroy();
    return fail(name, `SMTP_URL ${redactUrl(smtpUrl)}: ${reason(err)}`);
  }
}

/** The service answers its health check at the address the emails link to. */
export async function checkPublicUrl(publicUrl: string, timeoutMs: number): Promise<CheckResult> {
  const name = 'public url';
  const url = `${publicUrl}/healthz`;
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(timeoutMs), redirect: 'manual' });
    const body = (await res.json().catch(() => undefined)) as { status?: unknown } | undefined;
    if (res.status === 200 && body?.status === 'ok') return ok(name, `${url} answered 200`);
    return fail(
      name,
      `PUBLIC_URL ${url} answered ${res.status}${body?.status ? ` (${String(body.status)})` : ", not Paperboy's health check"}`,
    );
  } catch (err) {
    const cause = (err as { cause?: { code?: string } }).cause?.code;
    return fail(name, `PUBLIC_URL ${url}: ${cause ?? reason(err)} (is the service running and reachable there?)`);
  }
}

// Answers that mean "could not ask", not "the record is missing": the check is skipped then.
const DNS_UNREACHABLE = new Set([
  'ETIMEOUT',
  'ECONNREFUSED',
  'ESERVFAIL',
  'EAI_AGAIN',
  'ECANCELLED',
  'EREFUSED',
  'ECONNRESET',
]);

/** The public key in DNS (<selector>._domainkey.<domain>) is the one of DKIM_PRIVATE_KEY_PATH. */
export async function checkDkim(config: Config, resolveTxt: ResolveTxt): Promise<CheckResult> {
  const name = 'dkim';
  const { DKIM_DOMAIN: domain, DKIM_SELECTOR: selector, DKIM_PRIVATE_KEY_PATH: keyPath } = config;
  if (!domain || !selector || !keyPath)
    return skip(name, 'DKIM signing is not configured (DKIM_DOMAIN, DKIM_SELECTOR, DKIM_PRIVATE_KEY_PATH)');
  let expected: string;
  try {
    expected = dkimPublicKey(readFileSync(keyPath, 'utf8'));
  } catch (err) {
    return fail(name, `DKIM_PRIVATE_KEY_PATH ${keyPath}: ${reason(err)}`);
  }
  const record = `${selector}._domainkey.${domain}`;
  let txt: string[][];
  try {
    txt = await resolveTxt(record);
  } catch (err) {
    const code = (err as { code?: string }).code ?? '';
    if (DNS_UNREACHABLE.has(code))
      return skip(name, `could not look up ${record} (${code}): DNS is not reachable from here`);
    return fail(name, `no TXT record at ${record} (${code || reason(err)}): publish p=${expected}`);
  }
  const published = txt
    .map((chunks) => parseTags(chunks.join('')))
    .find((tags) => tags.v === undefined || tags.v === 'DKIM1');
  if (!published) return fail(name, `${record} has no DKIM record: publish p=${expected}`);
  const p = (published.p ?? '').replace(/\s+/g, '');
  if (!p) return fail(name, `${record} has an empty p= (the key is revoked)`);
  if (p !== expected)
    return fail(name, `${record} publishes another key than DKIM_PRIVATE_KEY_PATH ${keyPath}; expected p=${expected}`);
  return ok(name, `${record} publishes the key of ${keyPath}`);
}

/** The p= value of a DKIM record for this private key: SPKI for RSA, the raw 32 bytes for Ed25519 (RFC 8463). */
export function dkimPublicKey(privatePem: string): string {
  const key = createPublicKey(createPrivateKey(privatePem));
  const der = key.export({ type: 'spki', format: 'der' });
  return (key.asymmetricKeyType === 'ed25519' ? der.subarray(der.length - 32) : der).toString('base64');
}

function parseTags(record: string): Record<string, string> {
  const tags: Record<string, string> = {};
  for (const part of record.split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0) tags[part.slice(0, eq).trim()] = part.slice(eq + 1).trim();
  }
  return tags;
}
