import { randomBytes } from 'node:crypto';
import * as qp from 'nodemailer/lib/qp';
import { foldLines } from 'nodemailer/lib/mime-funcs';
import MimeNode from 'nodemailer/lib/mime-node';
import addressparser from 'nodemailer/lib/addressparser';
import { escapeHtml } from '../html.ts';

/**
 * The digest's fast path. Asking nodemailer to build a digest's MIME message per recipient is the
 * costliest step of a send (docs/architecture.md, what the hot paths cost); here the message is
 * built and encoded once per digest variant, as a list of
 * ready byte segments, and each recipient's copy is those segments joined around the few values
 * that differ: To, Date, Message-ID, List-Unsubscribe and the two personal links.
 *
 * The bodies are quoted-printable. Each static piece of a body is encoded on its own and ends in
 * a soft line break ("=" CRLF), and so does each per-recipient value: a decoder joins them back
 * into the original text, and no line ever exceeds 76 characters (RFC 2045 §6.7), whatever
 * the lengths of the values. Headers are encoded by nodemailer's own MimeNode (RFC 2047 words,
 * punycode) and folded at 76 the way it folds them, so the result reads the same as a message
 * sendMail() would build from the same content.
 */

export interface DigestContent {
  subject: string;
  /**
   * May hold {{unsubscribe_url}} and {{preferences_url}}, filled (HTML-escaped) as templates' personalise() fills
   * them.
   */
  html: string;
  text: string;
}

export interface MessageSettings {
  /** MAIL_FROM, e.g. "Paperboy <digest@papers.example.org>". */
  from: string;
  /** The List-Id value, e.g. '"Paperboy daily digest" <daily.papers.example.org>' (RFC 2919). */
  listId: string;
  /** The Feedback-ID value (edition-names.ts), e.g. "daily:2026-11-24:paperboy:papers.example.org". */
  feedbackId?: string | undefined;
  /** When set, List-Unsubscribe also offers mailto:<this>?subject=unsubscribe. */
  unsubscribeMailto?: string | undefined;
}

export interface Recipient {
  to: string;
  /** Without angle brackets: "digest.2026-11-24.42@papers.example.org". */
  messageId: string;
  date: Date;
  unsubscribeUrl: string;
  preferencesUrl: string;
  /** This reader's own unsubscribe address, offered instead of the settings' `unsubscribeMailto`. */
  unsubscribeMailto?: string | undefined;
  /**
   * The envelope sender (MAIL FROM) of this copy: its VERP address, so a bounce names this
   * recipient. Absent: MAIL_FROM's address. The From header is the same either way.
   */
  envelopeFrom?: string | undefined;
}

export interface RawMessage {
  envelope: { from: string; to: string[] };
  /**
   * The message's bytes: `chunks` joined, on first use (the SMTP client never needs them joined).
   * A getter: a copy of the message (spread, nodemailer's options) carries `chunks` only.
   */
  readonly raw: Buffer;
  /** The same bytes as the segments they are made of: the variant's shared ones and this recipient's. */
  readonly chunks: readonly Buffer[];
  /** Its Message-ID header's value, as sendMail() reports one: "<…>". */
  readonly messageId: string;
  /**
   * No line of the message starts with "." (all line breaks are CRLF by construction): SMTP's
   * dot-stuffing (RFC 5321 §4.5.2) has nothing to do, and the SMTP client sends the bytes as
   * they are. Known per variant, plus a check of the few per-recipient values.
   */
  smtpReady: boolean;
}

type SlotName =
  | 'to'
  | 'date'
  | 'message-id'
  | 'list-unsubscribe'
  | 'text:unsubscribe'
  | 'text:preferences'
  | 'html:unsubscribe'
  | 'html:preferences';
interface Slot {
  slot: SlotName;
}
const slot = (name: SlotName): Slot => ({ slot: name });

/** A digest variant, encoded: static byte segments and the named slots between them. */
export interface PreparedMessage {
  readonly envelopeFrom: string;
  readonly parts: readonly (Buffer | Slot)[];
  readonly unsubscribeMailto: string | undefined;
  /** No static segment has a line starting with ".". */
  readonly dotFree: boolean;
}

const CRLF = '\r\n';
const PLACEHOLDER = /\{\{(unsubscribe_url|preferences_url)\}\}/g;

/** Builds and encodes everything that is the same for every recipient of this content. */
export function prepareMessage(content: DigestContent, settings: MessageSettings): PreparedMessage {
  const from = addressparser(settings.from, { flatten: true })[0];
  if (!from?.address) throw new Error(`MAIL_FROM has no address: ${JSON.stringify(settings.from)}`);
  // "=_" can't occur in quoted-printable output, so the boundary can't collide with the content.
  const boundary = `=_paperboy_${randomBytes(12).toString('hex')}`;

  const parts: (string | Slot)[] = [
    header('From', settings.from),
    slot('to'),
    header('Subject', content.subject),
    slot('date'),
    slot('message-id'),
    slot('list-unsubscribe'),
    structuredHeader('List-Unsubscribe-Post', 'List-Unsubscribe=One-Click'),
    structuredHeader('List-Id', settings.listId),
    settings.feedbackId ? structuredHeader('Feedback-ID', settings.feedbackId) : '',
    // RFC 3834: vacation responders and other automatic answerers stay quiet.
    structuredHeader('Auto-Submitted', 'auto-generated'),
    structuredHeader('MIME-Version', '1.0'),
    `Content-Type: multipart/alternative;${CRLF} boundary="${boundary}"${CRLF}`,
    CRLF,
    `--${boundary}${CRLF}Content-Type: text/plain; charset=utf-8${CRLF}Content-Transfer-Encoding: quoted-printable${CRLF}${CRLF}`,
    ...bodyParts(content.text, 'text'),
    `${CRLF}--${boundary}${CRLF}Content-Type: text/html; charset=utf-8${CRLF}Content-Transfer-Encoding: quoted-printable${CRLF}${CRLF}`,
    ...bodyParts(content.html, 'html'),
    `${CRLF}--${boundary}--${CRLF}`,
  ];

  // Adjacent static strings become one buffer, so a recipient's copy is a dozen memcpys.
  const merged: (Buffer | Slot)[] = [];
  let pending = '';
  for (const p of parts) {
    if (typeof p === 'string') pending += p;
    else {
      if (pending) merged.push(Buffer.from(pending, 'latin1'));
      pending = '';
      merged.push(p);
    }
  }
  if (pending) merged.push(Buffer.from(pending, 'latin1'));
  return {
    envelopeFrom: from.address,
    parts: merged,
    unsubscribeMailto: settings.unsubscribeMailto,
    dotFree: merged.every((p) => !Buffer.isBuffer(p) || !startsALineWithDot(p.toString('latin1'))),
  };
}

/**
 * One recipient's copy: the prepared segments around this recipient's values. Joining a whole digest per
 * recipient (allocation, copy, garbage) is left to whoever needs one Buffer: the SMTP client
 * writes the segments as they are, in one writev.
 */
export function renderMessage(prepared: PreparedMessage, r: Recipient): RawMessage {
  const to = recipientAddress(r.to);
  if (!/^[\x21-\x3b\x3d\x3f-\x7e]+@[\x21-\x3b\x3d\x3f-\x7e]+$/.test(r.messageId))
    throw new Error(`not a Message-ID: ${JSON.stringify(r.messageId)}`);
  let smtpReady = prepared.dotFree;
  const pieces = prepared.parts.map((p) => {
    if (Buffer.isBuffer(p)) return p;
    const value = slotValue(p.slot, r, to, prepared);
    if (smtpReady && startsALineWithDot(value)) smtpReady = false;
    return Buffer.from(value, 'latin1');
  });
  return new RecipientMessage(
    { from: r.envelopeFrom ?? prepared.envelopeFrom, to: [to] },
    pieces,
    `<${r.messageId}>`,
    smtpReady,
  );
}

/**
 * A class, so `raw` is a getter on the prototype. As an object literal's own getter it cost a
 * closure per message plus an accessor pair that V8 puts straight into the old generation; that
 * pair kept each message's segments alive through young-generation collections, so a send
 * promoted dead messages at every collection (and their Buffers waited for a full GC).
 * A copy of the message (spread, nodemailer's options) has no `raw`: it carries `chunks`.
 */
class RecipientMessage implements RawMessage {
  #joined: Buffer | undefined;

  constructor(
    readonly envelope: { from: string; to: string[] },
    readonly chunks: readonly Buffer[],
    readonly messageId: string,
    readonly smtpReady: boolean,
  ) {}

  get raw(): Buffer {
    return (this.#joined ??= Buffer.concat(this.chunks));
  }
}

/**
 * Every segment and every slot value ends with CRLF (headers, and body pieces through their soft
 * or hard line break), so the start of each is the start of a line.
 */
const startsALineWithDot = (s: string) => s.startsWith('.') || s.includes('\n.');

/** The List-Unsubscribe value (RFC 2369/8058): the one-click URL, then mailto when configured. */
export function listUnsubscribeValue(unsubscribeUrl: string, mailto?: string): string {
  return `<${unsubscribeUrl}>` + (mailto ? `, <mailto:${mailto}?subject=unsubscribe>` : '');
}

function slotValue(slot: SlotName, r: Recipient, to: string, prepared: PreparedMessage): string {
  switch (slot) {
    // The three per-recipient headers are plain ASCII we control (checked address, our own id,
    // a date): written directly, as MimeNode would write them, at a fraction of the cost.
    case 'to':
      return `To: ${to}${CRLF}`;
    case 'date':
      return `Date: ${r.date.toUTCString().replace(/GMT/, '+0000')}${CRLF}`;
    case 'message-id':
      return `Message-ID: <${r.messageId}>${CRLF}`;
    case 'list-unsubscribe':
      return structuredHeader(
        'List-Unsubscribe',
        listUnsubscribeValue(r.unsubscribeUrl, r.unsubscribeMailto ?? prepared.unsubscribeMailto),
      );
    case 'text:unsubscribe':
      return qpPiece(r.unsubscribeUrl);
    case 'text:preferences':
      return qpPiece(r.preferencesUrl);
    case 'html:unsubscribe':
      return qpPiece(escapeHtml(r.unsubscribeUrl));
    case 'html:preferences':
      return qpPiece(escapeHtml(r.preferencesUrl));
  }
}

/** A body split at its placeholders: encoded static pieces and the slots between them. */
function bodyParts(body: string, kind: 'text' | 'html'): (string | Slot)[] {
  // CRLF is the only line break in a message (RFC 5322 §2.3); QP keeps CRLF as hard breaks.
  const normalised = body.replace(/\r?\n|\r/g, CRLF);
  const out: (string | Slot)[] = [];
  let last = 0;
  for (const m of normalised.matchAll(PLACEHOLDER)) {
    out.push(qpPiece(normalised.slice(last, m.index)));
    out.push(slot(`${kind}:${m[1] === 'unsubscribe_url' ? 'unsubscribe' : 'preferences'}`));
    last = m.index + m[0].length;
  }
  // The last piece runs into the boundary's CRLF: it ends without a soft break.
  out.push(qp.wrap(qp.encode(normalised.slice(last)), 76));
  return out;
}

/**
 * Quoted-printable for a piece that something else follows: wrapped at 75 so that the soft line
 * break appended to its last line keeps every line within 76. A piece that ends with a hard
 * line break needs none.
 */
function qpPiece(s: string): string {
  if (!s) return '';
  const encoded = qp.wrap(qp.encode(s), 75);
  return encoded.endsWith(CRLF) ? encoded : `${encoded}=${CRLF}`;
}

/** "Key: value" CRLF, encoded and folded exactly as nodemailer does it. */
function header(key: string, value: string | Date): string {
  return foldLines(`${key}: ${MimeNode.encodeHeaderValue(key, value)}`, 76) + CRLF;
}

/**
 * A structured header we build ourselves from ASCII (RFC 2369/2919/8058 fields): folded, never
 * MIME-encoded, since an encoded word there would hide the <URL>s and the list id from readers
 * (nodemailer encodes such a value when it holds quotes; its own `list` option avoids that too).
 */
function structuredHeader(key: string, value: string): string {
  if (!/^[\x20-\x7e]*$/.test(value)) throw new Error(`${key} must be printable ASCII: ${JSON.stringify(value)}`);
  return foldLines(`${key}: ${value}`, 76) + CRLF;
}

/**
 * A recipient comes from our own database, validated on the way in; checked again here because
 * whatever reaches a header or RCPT TO must be one plain address and nothing else.
 */
function recipientAddress(to: string): string {
  // Printable ASCII only: an internationalised address would need punycode and SMTPUTF8.
  if (
    to.length > 254 ||
    !/^[\x21-\x7e]+@[\x21-\x7e]+$/.test(to) ||
    /[<>@,;"()[\]\\]/.test(to.replace(/@(?=[^@]*$)/, ''))
  ) {
    throw new Error(`not a plain email address: ${JSON.stringify(to)}`);
  }
  return to;
}

/** The domain of MAIL_FROM: our Message-IDs and List-Id live on it. */
export function senderDomain(mailFrom: string): string {
  const address = addressparser(mailFrom, { flatten: true })[0]?.address ?? '';
  const domain = address.split('@')[1];
  if (!domain) throw new Error(`MAIL_FROM has no domain: ${JSON.stringify(mailFrom)}`);
  return domain.toLowerCase();
}
