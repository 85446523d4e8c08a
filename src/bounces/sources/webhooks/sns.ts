import { verify, X509Certificate, type KeyObject } from 'node:crypto';
import { z } from 'zod';
import { Invalid } from '../../../errors.ts';
import { WebhookRefused } from './provider-events.ts';

/** What the verifier needs of `fetch`: production passes the global one, tests a local server. */
export type SnsFetch = (url: string) => Promise<{ ok: boolean; status: number; text(): Promise<string> }>;

/**
 * Amazon SNS's own endpoints, the only hosts a signing certificate or a SubscribeURL may come from:
 * `sns.<region>.amazonaws.com` (`.com.cn` in China). The region's shape is spelled out because
 * other names under amazonaws.com belong to AWS's customers: `sns.s3.amazonaws.com` is the S3
 * bucket called "sns".
 */
const SNS_HOSTS = /^sns\.[a-z]{2}(-[a-z]+)+-\d+\.amazonaws\.com(\.cn)?$/;

// Where SNS publishes its signing certificates (AWS, "Verifying the signatures of Amazon SNS messages").
const CERT_PATH = /^\/SimpleNotificationService-[0-9a-fA-F]+\.pem$/;

const snsMessage = z.object({
  Type: z.enum(['Notification', 'SubscriptionConfirmation', 'UnsubscribeConfirmation']),
  MessageId: z.string(),
  TopicArn: z.string(),
  Message: z.string(),
  Timestamp: z.string(),
  SignatureVersion: z.enum(['1', '2']),
  Signature: z.string(),
  SigningCertURL: z.string(),
  Subject: z.string().optional(),
  SubscribeURL: z.string().optional(),
  Token: z.string().optional(),
});
export type SnsMessage = z.infer<typeof snsMessage>;

/**
 * The string SNS signs: `Name\nvalue\n` for each field, in this order, a notification's Subject
 * only when it has one (AWS, "Verifying the signatures of Amazon SNS messages").
 */
function snsStringToSign(m: SnsMessage): string {
  const fields: (keyof SnsMessage)[] =
    m.Type === 'Notification'
      ? ['Message', 'MessageId', 'Subject', 'Timestamp', 'TopicArn', 'Type']
      : ['Message', 'MessageId', 'SubscribeURL', 'Timestamp', 'Token', 'TopicArn', 'Type'];
  return fields
    .filter((f) => m[f] !== undefined)
    .map((f) => `${f}\n${m[f]}\n`)
    .join('');
}

export interface SnsVerifierOptions {
  fetch: SnsFetch;
  /** SES_SNS_TOPIC_ARNS: the topics whose messages are accepted. */
  topics: readonly string[];
  hosts?: RegExp;
}

export type SnsVerifier = ReturnType<typeof createSnsVerifier>;

// Certificates are few (one per region and rotation); the cap only bounds a flood of odd URLs.
const MAX_CACHED_CERTS = 20;

/**
 * Checks that a call is an SNS message from one of our topics, signed by SNS: the signing
 * certificate is fetched (from an SNS certificate URL only: signingCertUrl) and kept per URL, and
 * SignatureVersion 1 (SHA1withRSA) or 2 (SHA256withRSA) is verified over the canonical string. A
 * certificate that cannot be fetched or read refuses the call like a wrong signature (403, the
 * reason in the message): without it nothing in the call can be trusted. Written here
 * rather than taken from `sns-validator`, which fetches certificates itself with https.get:
 * no way to pass a fetcher in, so no way to test it without reaching out.
 */
export function createSnsVerifier(opts: SnsVerifierOptions) {
  const hosts = opts.hosts ?? SNS_HOSTS;
  const topics = new Set(opts.topics);
  const certs = new Map<string, Promise<KeyObject>>();

  async function fetchKey(url: string): Promise<KeyObject> {
    const unverifiable = `the signing certificate ${url}`;
    let pem: string;
    try {
      const res = await opts.fetch(url);
      if (!res.ok)
        throw new WebhookRefused(403, `${unverifiable} answered HTTP ${res.status}: the signature cannot be checked`);
      pem = await res.text();
    } catch (err) {
      if (err instanceof WebhookRefused) throw err;
      throw new WebhookRefused(
        403,
        `${unverifiable} could not be fetched (${fetchFailure(err)}): the signature cannot be checked`,
      );
    }
    try {
      return new X509Certificate(pem).publicKey;
    } catch {
      throw new WebhookRefused(403, `${unverifiable} is not a PEM certificate: the signature cannot be checked`);
    }
  }

  function signingKey(url: string): Promise<KeyObject> {
    let key = certs.get(url);
    if (!key) {
      if (certs.size >= MAX_CACHED_CERTS) certs.delete(certs.keys().next().value!);
      key = fetchKey(url);
      certs.set(url, key);
      key.catch(() => certs.delete(url));
    }
    return key;
  }

  return {
    /** The verified message, or WebhookRefused (401 unsigned, 403 anything wrong), or Invalid (not JSON). */
    async verify(body: unknown): Promise<SnsMessage> {
      let data = body;
      if (typeof body === 'string') {
        try {
          data = JSON.parse(body);
        } catch {
          throw new Invalid('the body is not JSON');
        }
      }
      const fields = (data ?? {}) as Record<string, unknown>;
      if (typeof data !== 'object' || !fields.Signature || !fields.SigningCertURL)
        throw new WebhookRefused(401, 'not a signed SNS message');
      const parsed = snsMessage.safeParse(data);
      if (!parsed.success)
        throw new WebhookRefused(403, `not an SNS message: ${parsed.error.issues[0]?.path.join('.')}`);
      const m = parsed.data;
      if (!topics.has(m.TopicArn)) throw new WebhookRefused(403, `topic not in SES_SNS_TOPIC_ARNS: ${m.TopicArn}`);
      const key = await signingKey(signingCertUrl(m.SigningCertURL, hosts));
      const ok = verify(
        m.SignatureVersion === '1' ? 'RSA-SHA1' : 'RSA-SHA256',
        Buffer.from(snsStringToSign(m), 'utf8'),
        key,
        Buffer.from(m.Signature, 'base64'),
      );
      if (!ok) throw new WebhookRefused(403, 'the SNS signature does not verify');
      return m;
    },

    /** Confirms a verified SubscriptionConfirmation by visiting its SubscribeURL. */
    async confirm(m: SnsMessage): Promise<void> {
      if (!m.SubscribeURL) throw new WebhookRefused(403, 'SubscriptionConfirmation without SubscribeURL');
      const res = await opts.fetch(snsUrl(m.SubscribeURL, 'SubscribeURL', hosts).href);
      if (!res.ok) throw new Error(`confirming the SNS subscription to ${m.TopicArn} failed: HTTP ${res.status}`);
    },
  };
}

/** An https URL on an SNS host, on port 443, without user info; or a 403 saying what is wrong. */
function snsUrl(raw: string, what: string, hosts: RegExp): URL {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new WebhookRefused(403, `${what} is not a URL`);
  }
  if (url.protocol !== 'https:') throw new WebhookRefused(403, `${what} must be https, not ${url.protocol}`);
  if (url.username || url.password) throw new WebhookRefused(403, `${what} must not carry a user name or password`);
  // The parser drops an explicit :443 from an https URL: any port left is another one.
  if (url.port) throw new WebhookRefused(403, `${what} must use port 443, not ${url.port}`);
  if (!hosts.test(url.hostname))
    throw new WebhookRefused(403, `${what} is not on an SNS host (sns.<region>.amazonaws.com): ${url.hostname}`);
  return url;
}

/**
 * A SigningCertURL as SNS writes them, checked before anything is fetched: an SNS host (snsUrl)
 * and `/SimpleNotificationService-<hex>.pem`, nothing after it (a query would make the same
 * certificate a new cache entry and a new fetch).
 */
function signingCertUrl(raw: string, hosts: RegExp): string {
  const url = snsUrl(raw, 'SigningCertURL', hosts);
  if (!CERT_PATH.test(url.pathname))
    throw new WebhookRefused(
      403,
      `SigningCertURL is not an SNS certificate path (/SimpleNotificationService-<hex>.pem): ${url.pathname}`,
    );
  if (url.search || url.hash) throw new WebhookRefused(403, 'SigningCertURL must have no query or fragment');
  return url.href;
}

/** Why a fetch failed, in a few words: the system's error code when there is one. */
function fetchFailure(err: unknown): string {
  const e = err as { name?: string; message?: string; cause?: { code?: string; message?: string } };
  if (e.name === 'TimeoutError') return 'no answer in time';
  return e.cause?.code ?? e.cause?.message ?? e.message ?? String(err);
}

/** Production's fetcher: a bounded wait, no redirects (a redirect could leave the SNS host). */
export const snsFetch: SnsFetch = (url) => fetch(url, { signal: AbortSignal.timeout(10_000), redirect: 'error' });
