import MailComposer from 'nodemailer/lib/mail-composer';
import type { TransactionalMessage } from './mailer.ts';

/** A transactional message as bytes, with the envelope and Message-ID it goes out under. */
export interface ComposedMessage {
  envelope: { from: string; to: string[] };
  /** CRLF line breaks; not dot-stuffed (the SMTP client does that). */
  raw: Buffer;
  /** "<…>" */
  messageId: string;
}

/**
 * The MIME message of a transactional email, built by nodemailer's composer (its encoders,
 * multipart/alternative for html + text). Auto-Submitted (RFC 3834) keeps vacation responders
 * quiet, as on digests; the envelope sender is the VERP address when one is given.
 */
export async function composeTransactional({
  envelopeFrom,
  messageId,
  ...message
}: TransactionalMessage): Promise<ComposedMessage> {
  const node = new MailComposer({
    ...message,
    ...(messageId ? { messageId: `<${messageId}>` } : {}),
    ...(envelopeFrom ? { envelope: { from: envelopeFrom, to: [message.to] } } : {}),
    headers: { 'Auto-Submitted': 'auto-generated' },
    newline: 'windows',
  }).compile();
  const { from, to } = node.getEnvelope();
  return { envelope: { from: from || '', to }, raw: await node.build(), messageId: node.messageId() };
}
