/** A message as the SMTP client takes it, and its bytes as DATA content. */

export interface SmtpMessage {
  envelope: { from: string; to: string[] };
  /** The message; as segments, they are written one after the other without being joined. */
  raw: Buffer | readonly Buffer[];
  /**
   * The bytes are DATA-ready as they are: CRLF line breaks only, and no line starts with "."
   * (RFC 5321 §4.5.2 transparency needs nothing), and the last line ends with CRLF.
   * raw-message.ts knows this once per digest variant; without it the client checks and
   * converts the message itself.
   */
  smtpReady?: boolean;
}

export interface SmtpSendResult {
  /** The server's reply to the end of data ("250 2.0.0 Ok: queued as …"). */
  response: string;
  accepted: string[];
  rejected: string[];
}

/** A message's bytes as one Buffer (segments joined). */
export const joinedBytes = (raw: SmtpMessage['raw']): Buffer => (Buffer.isBuffer(raw) ? raw : Buffer.concat(raw));

const CR = 0x0d;
const LF = 0x0a;
const DOT = 0x2e;
const CRLF_DOT = Buffer.from('\r\n.', 'latin1');
const CRLF_BUF = Buffer.from('\r\n', 'latin1');
const DOT_BUF = Buffer.from('.', 'latin1');

/**
 * A message as DATA content (RFC 5321 §4.5.2): every line break CRLF, a "." doubled at the start
 * of a line, ending in CRLF; the "." terminator line is not included. Native Buffer.indexOf scans
 * find whether anything needs doing (usually nothing); the message is copied only then.
 */
export function toSmtpData(raw: Buffer): Buffer {
  const clean = raw[0] !== DOT && raw.indexOf(CRLF_DOT) === -1 && !hasBareLf(raw);
  if (clean) return raw.length === 0 || endsWithCrlf(raw) ? raw : Buffer.concat([raw, CRLF_BUF]);
  const out: Buffer[] = [];
  let start = 0;
  while (start < raw.length) {
    let nl = raw.indexOf(LF, start);
    const last = nl === -1;
    if (last) nl = raw.length;
    const end = nl > start && raw[nl - 1] === CR ? nl - 1 : nl;
    if (raw[start] === DOT) out.push(DOT_BUF);
    out.push(raw.subarray(start, end), CRLF_BUF);
    start = nl + 1;
  }
  return Buffer.concat(out);
}

function hasBareLf(b: Buffer): boolean {
  for (let i = b.indexOf(LF); i !== -1; i = b.indexOf(LF, i + 1)) if (i === 0 || b[i - 1] !== CR) return true;
  return false;
}

const endsWithCrlf = (b: Buffer) => b.length >= 2 && b[b.length - 2] === CR && b[b.length - 1] === LF;
