import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import type { Logger } from '../logger.ts';
import type { Mailer, PrebuiltMessage } from './mailer.ts';
import { composeTransactional } from './transactional-message.ts';
import { createSmtpClient } from './smtp/pool.ts';
import { parseSmtpUrl } from './smtp/url.ts';
import { joinedBytes, type SmtpMessage } from './smtp/message.ts';
import { dkimSigning, type DkimSigning } from './dkim/pool.ts';
import type { DkimKeys } from './dkim/sign.mjs';

export interface MailerOptions {
  smtpUrl?: string | undefined;
  outboxDir: string;
  poolSize: number;
  ratePerSec: number;
  /** Every message is signed by dkim/ (both signatures, on `workers` threads), transactional mail too. */
  dkim?: (DkimKeys & { workers: number }) | undefined;
  logger: Logger;
}

export function dkimFromConfig(config: {
  DKIM_DOMAIN?: string | undefined;
  DKIM_SELECTOR?: string | undefined;
  DKIM_PRIVATE_KEY_PATH?: string | undefined;
  DKIM_ED25519_KEY_PATH?: string | undefined;
  DKIM_WORKERS: number;
}): MailerOptions['dkim'] {
  if (!config.DKIM_DOMAIN || !config.DKIM_SELECTOR || !config.DKIM_PRIVATE_KEY_PATH) return undefined;
  const ed25519 = config.DKIM_ED25519_KEY_PATH
    ? { keySelector: `${config.DKIM_SELECTOR}-ed25519`, privateKey: readFileSync(config.DKIM_ED25519_KEY_PATH, 'utf8') }
    : undefined;
  return {
    domainName: config.DKIM_DOMAIN,
    keySelector: config.DKIM_SELECTOR,
    privateKey: readFileSync(config.DKIM_PRIVATE_KEY_PATH, 'utf8'),
    ed25519,
    workers: config.DKIM_WORKERS,
  };
}

export function createMailer(options: MailerOptions): Mailer {
  return options.smtpUrl ? smtpMailer(options, options.smtpUrl) : outboxMailer(options);
}

const TIMEOUTS = { connectionTimeoutMs: 10_000, greetingTimeoutMs: 10_000, socketTimeoutMs: 30_000 };

/**
 * One pool to the server, for every message: digests (pre-built) and transactional mail (composed
 * here) go through our pipelined client (smtp/), under one rate limit, and are signed by the
 * same DKIM signer. Connections open only when there is mail to send.
 */
function smtpMailer(options: MailerOptions, smtpUrl: string): Mailer {
  const dkim = options.dkim ? dkimSigning(options.dkim, options.dkim.workers) : null;
  const smtpClient = createSmtpClient({
    url: smtpUrl,
    poolSize: options.poolSize,
    ratePerSec: options.ratePerSec,
    ...TIMEOUTS,
  });
  const { host, port } = parseSmtpUrl(smtpUrl);
  return {
    kind: 'smtp',
    where: `${host.includes(':') ? `[${host}]` : host}:${port}`,
    async sendTransactional(message) {
      const composed = await composeTransactional(message);
      // Not DATA-ready: the client dot-stuffs it.
      const raw = await signedBytes(dkim, [composed.raw]);
      const info = await smtpClient.send({ envelope: composed.envelope, raw, smtpReady: false });
      return { messageId: composed.messageId, response: info.response };
    },
    async sendPrebuilt(message, signal) {
      const prebuilt = smtpMessage(message);
      // Signing adds headers in front; the rest of the bytes, and so smtpReady, are unchanged.
      const segments = Buffer.isBuffer(prebuilt.raw) ? [prebuilt.raw] : prebuilt.raw;
      const info = await smtpClient.send({ ...prebuilt, raw: await signedBytes(dkim, segments) }, signal);
      // The builder knows the Message-ID; only a raw message from elsewhere has its header read.
      return { messageId: message.messageId ?? messageIdOf(prebuilt.raw), response: info.response };
    },
    close: () => {
      void smtpClient.close();
      void dkim?.close();
    },
  };
}

/** A message's segments with its DKIM-Signature headers in front, when signing is configured. */
async function signedBytes(dkim: DkimSigning | null, segments: readonly Buffer[]): Promise<readonly Buffer[]> {
  return dkim ? [await dkim.sign(segments), ...segments] : segments;
}

/** The client's view of a pre-built message: the segments when there are any (reading `raw` would join them). */
const smtpMessage = (m: PrebuiltMessage): SmtpMessage => ({
  envelope: m.envelope,
  raw: m.chunks ?? m.raw,
  smtpReady: m.smtpReady === true,
});

/** The Message-ID header of a pre-built message ("<…>"); '' when it has none. */
function messageIdOf(raw: SmtpMessage['raw']): string {
  // Only the header section is read, segment by segment (native search for its end).
  let head = '';
  for (const chunk of Buffer.isBuffer(raw) ? [raw] : raw) {
    const end = chunk.indexOf('\r\n\r\n');
    head += chunk.toString('latin1', 0, end === -1 ? Math.min(chunk.length, HEAD_LIMIT) : end + 2);
    if (end !== -1 || head.length >= HEAD_LIMIT) break;
  }
  // A blank line that straddles two segments ends the header too.
  const end = head.indexOf('\r\n\r\n');
  return /^message-id:[ \t]*(<[^>\r\n]*>)/im.exec(end === -1 ? head : head.slice(0, end))?.[1] ?? '';
}

const HEAD_LIMIT = 64 * 1024;

/** No SMTP server configured: each message's exact bytes go to OUTBOX_DIR as an .eml file. */
function outboxMailer(options: MailerOptions): Mailer {
  mkdirSync(options.outboxDir, { recursive: true });
  const dkim = options.dkim ? dkimSigning(options.dkim, options.dkim.workers) : null;
  const write = async (to: string, segments: readonly Buffer[], subject: string | undefined) => {
    const name = to.replace(/[^\w.@-]/g, '_');
    const file = join(
      options.outboxDir,
      `${new Date().toISOString().replace(/[:.]/g, '-')}-${name}-${randomBytes(3).toString('hex')}.eml`,
    );
    writeFileSync(file, joinedBytes(await signedBytes(dkim, segments)));
    options.logger.info({ file, to: [to], subject }, 'mail written to outbox');
    return `written to ${file}`;
  };
  return {
    kind: 'outbox',
    where: options.outboxDir,
    async sendTransactional(message) {
      const composed = await composeTransactional(message);
      const response = await write(composed.envelope.to[0] ?? message.to, [composed.raw], message.subject);
      return { messageId: composed.messageId, response };
    },
    async sendPrebuilt(message) {
      const raw = message.chunks ?? [message.raw];
      const response = await write(message.envelope.to[0] ?? 'unknown', raw, undefined);
      return { messageId: message.messageId ?? messageIdOf(raw), response };
    },
    close: () => {
      void dkim?.close();
    },
  };
}
