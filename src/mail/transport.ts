import nodemailer from 'nodemailer';
import type Mail from 'nodemailer/lib/mailer/index.js';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import type { Logger } from '../logger.ts';

export type MailMessage = Mail.Options;

export interface SendResult {
  messageId: string;
  /** The server's last reply ("250 2.0.0 queued as …"), or the outbox file's path. */
  response: string;
}

/** What the rest of the code knows of mail: send one message, close. */
export interface Mailer {
  send(message: MailMessage): Promise<SendResult>;
  close(): void;
  /** "smtp" or "outbox": where mail goes, for logs and the health page. */
  readonly kind: 'smtp' | 'outbox';
}

export interface MailerOptions {
  smtpUrl?: string | undefined;
  outboxDir: string;
  poolSize: number;
  ratePerSec: number;
  dkim?: { domainName: string; keySelector: string; privateKey: string } | undefined;
  logger: Logger;
}

export function dkimFromConfig(c: { DKIM_DOMAIN?: string | undefined; DKIM_SELECTOR?: string | undefined; DKIM_PRIVATE_KEY_PATH?: string | undefined }) {
  if (!c.DKIM_DOMAIN || !c.DKIM_SELECTOR || !c.DKIM_PRIVATE_KEY_PATH) return undefined;
  return { domainName: c.DKIM_DOMAIN, keySelector: c.DKIM_SELECTOR, privateKey: readFileSync(c.DKIM_PRIVATE_KEY_PATH, 'utf8') };
}

export function createMailer(o: MailerOptions): Mailer {
  return o.smtpUrl ? smtpMailer(o, o.smtpUrl) : outboxMailer(o);
}

function smtpMailer(o: MailerOptions, smtpUrl: string): Mailer {
  const rate = o.ratePerSec > 0 ? { rateLimit: Math.max(1, Math.round(o.ratePerSec)), rateDelta: 1000 } : {};
  const transport = nodemailer.createTransport({
    url: smtpUrl,
    pool: true,
    maxConnections: o.poolSize,
    // Reconnecting every 100 messages (the default) costs ~100 ms each time.
    maxMessages: 10_000,
    connectionTimeout: 10_000,
    greetingTimeout: 10_000,
    socketTimeout: 30_000,
    ...rate,
    ...(o.dkim ? { dkim: o.dkim } : {}),
  } as Parameters<typeof nodemailer.createTransport>[0]);
  return {
    kind: 'smtp',
    async send(message) {
      const info = await transport.sendMail(message);
      return { messageId: info.messageId, response: info.response };
    },
    close: () => transport.close(),
  };
}

/** No SMTP server configured: each message's exact bytes go to OUTBOX_DIR as an .eml file. */
function outboxMailer(o: MailerOptions): Mailer {
  mkdirSync(o.outboxDir, { recursive: true });
  const transport = nodemailer.createTransport({
    streamTransport: true,
    buffer: true,
    newline: 'windows',
    ...(o.dkim ? { dkim: o.dkim } : {}),
  });
  return {
    kind: 'outbox',
    async send(message) {
      const info = await transport.sendMail(message);
      const to = String(info.envelope.to[0] ?? 'unknown').replace(/[^\w.@-]/g, '_');
      const file = join(o.outboxDir, `${new Date().toISOString().replace(/[:.]/g, '-')}-${to}-${randomBytes(3).toString('hex')}.eml`);
      writeFileSync(file, info.message as Buffer);
      o.logger.info({ file, to: info.envelope.to, subject: message.subject }, 'mail written to outbox');
      return { messageId: info.messageId, response: `written to ${file}` };
    },
    close: () => transport.close(),
  };
}
