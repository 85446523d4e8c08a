/**
 * What the send loop and the mail queue need of mail, implemented by the SMTP mailer (one
 * pipelined client and pool for both kinds of message) and by the outbox writer (transport.ts).
 * Which kind a message is, pre-built or composed by the mailer, is the caller's choice, not a
 * guess from the message's shape.
 */

/** A message already built to the byte (a digest): sent as it is, with its envelope. */
export interface PrebuiltMessage {
  envelope: { from: string; to: string[] };
  /** The message's bytes, joined. */
  readonly raw: Buffer;
  /** The same bytes as segments, written one after the other without being joined; preferred to `raw`. */
  readonly chunks?: readonly Buffer[];
  /** Its Message-ID header's value ("<…>") when the builder knows it; otherwise the header is read. */
  readonly messageId?: string;
  /**
   * The bytes are DATA-ready as they are: CRLF line breaks only, no line starts with ".", and
   * the last line ends with CRLF (see SmtpMessage); without it the client checks and converts.
   */
  readonly smtpReady?: boolean;
}

/** A message built from its parts by the mailer (a confirmation from the mail queue). */
export interface TransactionalMessage {
  from: string;
  to: string;
  /** The envelope sender (MAIL FROM), e.g. the recipient's VERP address; absent: `from`'s address. */
  envelopeFrom?: string | undefined;
  /** Its Message-ID (without angle brackets); absent: the mailer makes one up. */
  messageId?: string | undefined;
  subject: string;
  html?: string;
  text: string;
}

interface SendResult {
  messageId: string;
  /** The server's last reply ("250 2.0.0 queued as …"), or the outbox file's path. */
  response: string;
}

export interface Mailer {
  /**
   * One pre-built message; resolves on the server's reply, rejects with an SmtpError. Aborting
   * `signal` gives up on it while no SMTP session is open for it yet (see SmtpClient.send).
   */
  sendPrebuilt(message: PrebuiltMessage, signal?: AbortSignal): Promise<SendResult>;
  /** One transactional message, built (and DKIM-signed when configured) by the mailer. */
  sendTransactional(message: TransactionalMessage): Promise<SendResult>;
  close(): void;
  /** "smtp" or "outbox": where mail goes, for logs and the health page. */
  readonly kind: 'smtp' | 'outbox';
  /** The SMTP server as host:port (never its credentials), or the outbox folder: for messages to operators. */
  readonly where: string;
}
