import nodemailer from 'nodemailer';
import DKIM from 'nodemailer/lib/dkim';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createPrivateKey, randomBytes, type KeyObject } from 'node:crypto';
import type { Logger } from '../logger.ts';
import type { Mailer, PrebuiltMessage, TransactionalMessage } from '../digest/mailer.ts';
import { createSmtpClient } from './smtp/pool.ts';
import { parseSmtpUrl } from './smtp/url.ts';
import { joinedBytes, type SmtpMessage } from './smtp/message.ts';

export interface MailerOptions {
  smtpUrl?: string | undefined;
  outboxDir: string;
  poolSize: number;
  ratePerSec: number;
  dkim?: { domainName: string; keySelector: string; privateKey: string | KeyObject } | undefined;
  logger: Logger;
}

export function dkimFromConfig(c: { DKIM_DOMAIN?: string | undefined; DKIM_SELECTOR?: string | undefined; DKIM_PRIVATE_KEY_PATH?: string | undefined }) {
  if (!c.DKIM_DOMAIN || !c.DKIM_SELECTOR || !c.DKIM_PRIVATE_KEY_PATH) return undefined;
  return { domainName: c.DKIM_DOMAIN, keySelector: c.DKIM_SELECTOR, privateKey: readFileSync(c.DKIM_PRIVATE_KEY_PATH, 'utf8') };
}

export function createMailer(o: MailerOptions): Mailer {
  // A parsed key: signing with a PEM string parses it for every message (~0.75 ms of CPU each).
  const key = o.dkim?.privateKey;
  const options = o.dkim && typeof key === 'string' ? { ...o, dkim: { ...o.dkim, privateKey: createPrivateKey(key) } } : o;
  return options.smtpUrl ? smtpMailer(options, options.smtpUrl) : outboxMailer(options);
}

const TIMEOUTS = { connectionTimeout: 10_000, greetingTimeout: 10_000, socketTimeout: 30_000 };

/** nodemailer's pooled SMTP transport as the mailer configures it (the bench's baselines use it too). */
export function nodemailerSmtpOptions(o: Pick<MailerOptions, 'poolSize' | 'ratePerSec' | 'dkim'>, smtpUrl: string) {
  const rate = o.ratePerSec > 0 ? { rateLimit: Math.max(1, Math.round(o.ratePerSec)), rateDelta: 1000 } : {};
  return {
    url: smtpUrl,
    pool: true,
    maxConnections: o.poolSize,
    // Reconnecting every 100 messages (the default) costs ~100 ms each time.
    maxMessages: 10_000,
    ...TIMEOUTS,
    ...rate,
    ...(o.dkim ? { dkim: o.dkim } : {}),
  } as Parameters<typeof nodemailer.createTransport>[0];
}

/**
 * Two pools to the same server. Pre-built messages (the digests) go through our own pipelined
 * client, cheaper per message than nodemailer's raw path (README, Benchmarks); transactional mail
 * built from html/text stays on nodemailer. Each pool opens
 * its connections only when it has mail to send, so a digest run uses the fast one alone. The
 * rate limit is per pool: transactional mail is a trickle beside a digest run.
 */
function smtpMailer(o: MailerOptions, smtpUrl: string): Mailer {
  const transport = nodemailer.createTransport(nodemailerSmtpOptions(o, smtpUrl));
  const fast = createSmtpClient({
    url: smtpUrl,
    poolSize: o.poolSize,
    ratePerSec: o.ratePerSec,
    connectionTimeoutMs: TIMEOUTS.connectionTimeout,
    greetingTimeoutMs: TIMEOUTS.greetingTimeout,
    socketTimeoutMs: TIMEOUTS.socketTimeout,
  });
  const sign = o.dkim ? dkimSigner(o.dkim) : null;
  const { host, port } = parseSmtpUrl(smtpUrl);
  return {
    kind: 'smtp',
    where: `${host.includes(':') ? `[${host}]` : host}:${port}`,
    async sendTransactional(message) {
      const info = await transport.sendMail(transactionalOptions(message));
      return { messageId: info.messageId, response: info.response };
    },
    async sendPrebuilt(message) {
      const prebuilt = smtpMessage(message);
      // Signing adds one header in front; the rest of the bytes, and so smtpReady, are unchanged.
      const signed = sign ? { ...prebuilt, raw: await sign(joinedBytes(prebuilt.raw)) } : prebuilt;
      const info = await fast.send(signed);
      // The builder knows the Message-ID; only a raw message from elsewhere has its header read.
      return { messageId: message.messageId ?? messageIdOf(prebuilt.raw), response: info.response };
    },
    close: () => {
      transport.close();
      void fast.close();
    },
  };
}

/**
 * nodemailer's options for a transactional message: its own envelope sender when given (VERP),
 * and Auto-Submitted (RFC 3834) so vacation responders stay quiet, as on digests.
 */
function transactionalOptions({ envelopeFrom, ...message }: TransactionalMessage) {
  return {
    ...message,
    ...(envelopeFrom ? { envelope: { from: envelopeFrom, to: [message.to] } } : {}),
    headers: { 'Auto-Submitted': 'auto-generated' },
  };
}

/** The client's view of a pre-built message: the segments when there are any (reading `raw` would join them). */
const smtpMessage = (m: PrebuiltMessage): SmtpMessage => ({ envelope: m.envelope, raw: m.chunks ?? m.raw, smtpReady: m.smtpReady === true });

/** nodemailer's own DKIM signer (relaxed/relaxed, rsa-sha256, its default header list), per message. */
function dkimSigner(keys: NonNullable<MailerOptions['dkim']>): (raw: Buffer) => Promise<Buffer> {
  const dkim = new DKIM(keys);
  return async (raw) => {
    const chunks: Buffer[] = [];
    for await (const chunk of dkim.sign(raw)) chunks.push(chunk as Buffer);
    return Buffer.concat(chunks);
  };
}

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
function outboxMailer(o: MailerOptions): Mailer {
  mkdirSync(o.outboxDir, { recursive: true });
  const transport = nodemailer.createTransport({
    streamTransport: true,
    buffer: true,
    newline: 'windows',
    ...(o.dkim ? { dkim: o.dkim } : {}),
  });
  const write = (info: { envelope: { to: string[] }; messageId: string; message: unknown }, subject: string | undefined) => {
    const to = String(info.envelope.to[0] ?? 'unknown').replace(/[^\w.@-]/g, '_');
    const file = join(o.outboxDir, `${new Date().toISOString().replace(/[:.]/g, '-')}-${to}-${randomBytes(3).toString('hex')}.eml`);
    writeFileSync(file, info.message as Buffer);
    o.logger.info({ file, to: info.envelope.to, subject }, 'mail written to outbox');
    return { messageId: info.messageId, response: `written to ${file}` };
  };
  return {
    kind: 'outbox',
    where: o.outboxDir,
    async sendTransactional(message) {
      return write(await transport.sendMail(transactionalOptions(message)), message.subject);
    },
    async sendPrebuilt(message) {
      // A pre-built message's bytes go in as `raw`, joined.
      const raw = message.chunks ? joinedBytes(message.chunks) : message.raw;
      const messageId = message.messageId ? { messageId: message.messageId } : {};
      return write(await transport.sendMail({ envelope: message.envelope, raw, ...messageId }), undefined);
    },
    close: () => transport.close(),
  };
}
