import nodemailer, { type Mail, type TransportOptions } from 'nodemailer';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { PassThrough, type Readable } from 'node:stream';
import { buffer } from 'node:stream/consumers';
import type { Logger } from '../logger.ts';
import type { Mailer, PrebuiltMessage, TransactionalMessage } from './mailer.ts';
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

/**
 * Mail nodemailer builds (transactional mail; every message of the outbox) is signed by dkim/ too, as its last step:
 * nodemailer's own DKIM signer names each header once and only those present (no oversigning) and sets no t= or x=.
 */
function signWithOurs<T, D extends TransportOptions>(transport: Mail<T, D>, dkim: DkimSigning): void {
  transport.use('stream', (mail, done) => {
    mail.message.processFunc((input) => signed(input, dkim));
    done();
  });
}

/** The message read whole (transactional mail is a few KB), then its DKIM-Signature headers and the message. */
function signed(input: Readable, dkim: DkimSigning): Readable {
  const out = new PassThrough();
  buffer(input)
    .then(async (message) => out.end(Buffer.concat([await dkim.sign([message]), message])))
    .catch((err: Error) => out.destroy(err));
  return out;
}

const TIMEOUTS = { connectionTimeout: 10_000, greetingTimeout: 10_000, socketTimeout: 30_000 };

/** nodemailer's pooled SMTP transport as the mailer configures it (the bench's baselines use it too). */
export function nodemailerSmtpOptions(options: Pick<MailerOptions, 'poolSize' | 'ratePerSec'>, smtpUrl: string) {
  const rate =
    options.ratePerSec > 0 ? { rateLimit: Math.max(1, Math.round(options.ratePerSec)), rateDelta: 1000 } : {};
  return {
    url: smtpUrl,
    pool: true,
    maxConnections: options.poolSize,
    // Reconnecting every 100 messages (the default) stalls the pool each time.
    maxMessages: 10_000,
    ...TIMEOUTS,
    ...rate,
  } as Parameters<typeof nodemailer.createTransport>[0];
}

/**
 * Two pools to the same server. Pre-built messages (the digests) go through our own pipelined
 * client, cheaper per message than nodemailer's raw path (bench/README.md); transactional mail
 * built from html/text stays on nodemailer. Each pool opens
 * its connections only when it has mail to send, so a digest run uses the digest client alone. The
 * rate limit is per pool: transactional mail is a trickle beside a digest run.
 */
function smtpMailer(options: MailerOptions, smtpUrl: string): Mailer {
  const dkim = options.dkim ? dkimSigning(options.dkim, options.dkim.workers) : null;
  const transport = nodemailer.createTransport(nodemailerSmtpOptions(options, smtpUrl));
  if (dkim) signWithOurs(transport, dkim);
  const digestClient = createSmtpClient({
    url: smtpUrl,
    poolSize: options.poolSize,
    ratePerSec: options.ratePerSec,
    connectionTimeoutMs: TIMEOUTS.connectionTimeout,
    greetingTimeoutMs: TIMEOUTS.greetingTimeout,
    socketTimeoutMs: TIMEOUTS.socketTimeout,
  });
  const { host, port } = parseSmtpUrl(smtpUrl);
  return {
    kind: 'smtp',
    where: `${host.includes(':') ? `[${host}]` : host}:${port}`,
    async sendTransactional(message) {
      const info = await transport.sendMail(transactionalOptions(message));
      return { messageId: info.messageId, response: info.response };
    },
    async sendPrebuilt(message, signal) {
      const prebuilt = smtpMessage(message);
      // Signing adds headers in front; the rest of the bytes, and so smtpReady, are unchanged.
      const segments = Buffer.isBuffer(prebuilt.raw) ? [prebuilt.raw] : prebuilt.raw;
      const signed = dkim ? { ...prebuilt, raw: [await dkim.sign(segments), ...segments] } : prebuilt;
      const info = await digestClient.send(signed, signal);
      // The builder knows the Message-ID; only a raw message from elsewhere has its header read.
      return { messageId: message.messageId ?? messageIdOf(prebuilt.raw), response: info.response };
    },
    close: () => {
      transport.close();
      void digestClient.close();
      void dkim?.close();
    },
  };
}

/**
 * nodemailer's options for a transactional message: its own envelope sender when given (VERP),
 * and Auto-Submitted (RFC 3834) so vacation responders stay quiet, as on digests.
 */
function transactionalOptions({ envelopeFrom, messageId, ...message }: TransactionalMessage) {
  return {
    ...message,
    ...(messageId ? { messageId: `<${messageId}>` } : {}),
    ...(envelopeFrom ? { envelope: { from: envelopeFrom, to: [message.to] } } : {}),
    headers: { 'Auto-Submitted': 'auto-generated' },
  };
}

/** The client's view of a pre-built message: the segments when there are any (reading `raw` would join them). */
const smtpMessage = (m: PrebuiltMessage): SmtpMessage => ({
  envelope: m.envelope,
  raw: m.chunks ?? m.raw,
  smtpReady: m.smtpReady === true,
});

/** The Message-ID header of a pre-built message, as sendMail() reports it; '' when it has none. */
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
  const transport = nodemailer.createTransport({
    streamTransport: true,
    buffer: true,
    newline: 'windows',
  });
  const dkim = options.dkim ? dkimSigning(options.dkim, options.dkim.workers) : null;
  if (dkim) signWithOurs(transport, dkim);
  const write = (
    info: { envelope: { to: string[] }; messageId: string; message: unknown },
    subject: string | undefined,
  ) => {
    const to = String(info.envelope.to[0] ?? 'unknown').replace(/[^\w.@-]/g, '_');
    const file = join(
      options.outboxDir,
      `${new Date().toISOString().replace(/[:.]/g, '-')}-${to}-${randomBytes(3).toString('hex')}.eml`,
    );
    writeFileSync(file, info.message as Buffer);
    options.logger.info({ file, to: info.envelope.to, subject }, 'mail written to outbox');
    return { messageId: info.messageId, response: `written to ${file}` };
  };
  return {
    kind: 'outbox',
    where: options.outboxDir,
    async sendTransactional(message) {
      return write(await transport.sendMail(transactionalOptions(message)), message.subject);
    },
    async sendPrebuilt(message) {
      // A pre-built message's bytes go in as `raw`, joined.
      const raw = message.chunks ? joinedBytes(message.chunks) : message.raw;
      const messageId = message.messageId ? { messageId: message.messageId } : {};
      return write(await transport.sendMail({ envelope: message.envelope, raw, ...messageId }), undefined);
    },
    close: () => {
      transport.close();
      void dkim?.close();
    },
  };
}
