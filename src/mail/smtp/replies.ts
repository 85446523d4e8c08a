/**
 * SMTP replies and errors. Errors carry nodemailer's shape, which the send loop's
 * classification and the mail queue's retry rule read: `code` (ECONNECTION, ETIMEDOUT, ETLS,
 * EAUTH, EPROTOCOL for the connection; EENVELOPE, EMESSAGE for one message), and for a reply to a
 * message's command `response`, `responseCode`, `command` and `permanent` (5yz except 503). A
 * reply that refuses the session itself (greeting, EHLO) is reported as a connection error without
 * a responseCode: it is about the server, not any recipient.
 */

export interface SmtpError extends Error {
  code: string;
  response?: string;
  responseCode?: number;
  command?: string;
  permanent?: boolean;
  /** The socket's own code (ECONNREFUSED, ECONNRESET, …) when `code` is ECONNECTION. */
  originalCode?: string;
  rejected?: string[];
  /** Opening the session failed: what the server had done by then, in words (`openingConduct`). */
  serverDid?: string;
}

/** The steps of opening a session, in order; STARTTLS covers its TLS handshake. */
export type OpeningStep = 'connect' | 'greeting' | 'EHLO' | 'STARTTLS' | 'AUTH';

/**
 * What the server did when opening a session failed at `step`, for the operator: a server that
 * refuses connections is down or elsewhere; one that takes them and then goes quiet is there but
 * stuck (or is not an SMTP server), and the two are fixed in different places.
 */
export function openingConduct(step: OpeningStep, err: SmtpError): string {
  if (err.response) return `refused the session at ${step}: ${err.response.split('\n')[0]}`;
  if (err.code === 'ETIMEDOUT') {
    if (step === 'connect') return 'did not answer the connection attempt';
    if (step === 'greeting') return 'accepted the connection but never greeted';
    return `greeted, then stopped answering after ${step}`;
  }
  if (err.code === 'ECONNECTION') {
    if (step === 'connect')
      return err.originalCode === 'ECONNREFUSED' ? 'refused the connection' : 'could not be reached';
    if (step === 'greeting') return 'accepted the connection, then closed it without a greeting';
    return `greeted, then closed the connection after ${step}`;
  }
  // TLS that cannot be agreed on, a reply that is not SMTP: the error's own words say more.
  return `failed at ${step}: ${err.message}`;
}

export interface Reply {
  code: number;
  /** All lines of the reply, joined with "\n". */
  text: string;
}

export function smtpError(message: string, code: string, command?: string, reply?: Reply): SmtpError {
  const err = new Error(reply ? `${message}: ${reply.text}` : message) as SmtpError;
  err.code = code;
  if (command) err.command = command;
  if (reply) {
    err.response = reply.text;
    err.responseCode = reply.code;
    err.permanent = isPermanentReply(reply.code);
  }
  return err;
}

/**
 * The server refused the session itself (greeting, EHLO, an unsolicited reply): a connection
 * problem, with the server's words but no responseCode, so it is never taken for a verdict on
 * a recipient.
 */
export function sessionError(message: string, code: string, command: string, reply: Reply): SmtpError {
  return Object.assign(new Error(`${message}: ${reply.text}`), { code, command, response: reply.text }) as SmtpError;
}

/** A socket error as a connection error, keeping the socket's own code and message. */
export function connectionError(err: Error & { code?: string }, code = 'ECONNECTION'): SmtpError {
  const e = err as SmtpError;
  if (e.code && e.code !== code) e.originalCode = e.code;
  e.code = code;
  e.command ??= 'CONN';
  return e;
}

export const isOk = (r: Reply) => r.code >= 200 && r.code < 300;

/**
 * What a failed send means, for whoever decides what to do about it (the digest's send loop):
 * pure decisions, tested on their own.
 *
 * - connection: the server could not be reached or dropped us. Nothing is wrong with the message
 *   or the recipient, so the delivery goes back untouched and the whole run waits and tries
 *   again, a bounded number of times, then fails (to be resumed later).
 * - transient: a 4xx reply (greylisting, throttling, mailbox busy). Deferred with backoff, up to
 *   a bounded number of attempts, then failed.
 * - recipient: a 5xx reply to one message's recipient or content (at RCPT TO or after DATA).
 *   That recipient fails; the bounce classifier tells what the reply was about (no such user,
 *   or a refusal about the sender such as spam or policy).
 * - policy: the relay refused the sender itself (a 5xx at MAIL FROM, failed or missing
 *   authentication): our sending setup, and it will hit everyone. The run pauses.
 */
export type SmtpFailure = 'connection' | 'transient' | 'recipient' | 'policy';

interface SmtpErrorLike {
  code?: unknown;
  responseCode?: unknown;
  response?: unknown;
  command?: unknown;
}

// nodemailer's codes for "never got a usable SMTP conversation" (plus the raw socket errnos).
const CONNECTION_CODES = new Set([
  'ECONNECTION',
  'ETIMEDOUT',
  'ESOCKET',
  'EDNS',
  'ETLS',
  'EPROTOCOL',
  'ECONNREFUSED',
  'ECONNRESET',
  'EPIPE',
]);

/** A 5yz reply will not change on retry, except 503 ("bad sequence of commands": a client/server hiccup). */
export const isPermanentReply = (code: number) => code >= 500 && code !== 503;

export function classifySmtpError(err: unknown): SmtpFailure {
  const e = (typeof err === 'object' && err !== null ? err : {}) as SmtpErrorLike;
  const code = typeof e.code === 'string' ? e.code : '';
  const reply = typeof e.responseCode === 'number' ? e.responseCode : undefined;
  const command = typeof e.command === 'string' ? e.command : '';
  if (code === 'EAUTH') return 'policy';
  if (reply !== undefined && isPermanentReply(reply)) {
    // 530/535: authentication required or failed, whatever the command it answered.
    if (/^MAIL\b/i.test(command) || reply === 530 || reply === 535) return 'policy';
    return 'recipient';
  }
  if (reply !== undefined && reply >= 400) return 'transient';
  if (CONNECTION_CODES.has(code)) return 'connection';
  return 'transient';
}

/** The SMTP reply as recorded in the ledger: the server's own words when there are any. */
export function describeSmtpError(err: unknown): string {
  const e = (typeof err === 'object' && err !== null ? err : {}) as SmtpErrorLike & { message?: unknown };
  const text =
    typeof e.response === 'string' && e.response ? e.response : typeof e.message === 'string' ? e.message : String(err);
  return text.replace(/\s+/g, ' ').slice(0, 500);
}
