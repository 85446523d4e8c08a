// Plain JavaScript on purpose: the DKIM worker threads load this file, and a worker thread gets
// no TypeScript loader (tsx's hooks do not reach it under every runner). Types: sign.d.mts.
import { createHash, createPrivateKey, sign } from 'node:crypto';

/**
 * DKIM signing (RFC 6376), relaxed/relaxed, of a finished message: rsa-sha256 always, plus an
 * ed25519-sha256 signature (RFC 8463) when an Ed25519 key is given. Both share the body hash and
 * the canonical header data; each is its own DKIM-Signature header, returned to be put in front
 * of the message (the message's bytes are not touched).
 */

/**
 * nodemailer's default list (RFC 4871 §5.5, plus List-Unsubscribe-Post for RFC 8058), and
 * Feedback-ID: Gmail's feedback loop trusts it only under the sender's DKIM signature.
 */
const SIGNED_FIELDS = [
  'from',
  'sender',
  'reply-to',
  'subject',
  'date',
  'message-id',
  'to',
  'cc',
  'mime-version',
  'content-type',
  'content-transfer-encoding',
  'content-id',
  'content-description',
  'resent-date',
  'resent-from',
  'resent-sender',
  'resent-to',
  'resent-cc',
  'resent-message-id',
  'in-reply-to',
  'references',
  'list-id',
  'list-help',
  'list-unsubscribe',
  'list-unsubscribe-post',
  'list-subscribe',
  'list-post',
  'list-owner',
  'list-archive',
  'feedback-id',
];

/**
 * Named in h= once more than they occur (RFC 6376 §5.4.2, §8.15): a copy added on the way (a
 * second Subject a reader's client may show, a Reply-To we never set) breaks the signature
 * instead of riding on it.
 */
const OVERSIGNED = new Set([
  'from',
  'subject',
  'to',
  'cc',
  'reply-to',
  'list-id',
  'list-help',
  'list-unsubscribe',
  'list-unsubscribe-post',
  'list-subscribe',
  'list-post',
  'list-owner',
  'list-archive',
  'feedback-id',
]);

/** x= (RFC 6376 §3.5): a signature is good for seven days, long enough for any retry queue. */
const VALID_SECONDS = 7 * 24 * 60 * 60;

/** RFC 5322 §2.1.1: lines of at most 78 characters, CRLF not counted. */
const WIDTH = 78;

/** @typedef {{ keySelector: string; privateKey: string }} Ed25519Keys */
/**
 * @typedef {{ domainName: string; keySelector: string; privateKey: string; ed25519?: Ed25519Keys | undefined }}
 *   SignerKeys
 */

/**
 * @param {SignerKeys} keys
 * @returns {(message: Buffer, signedAt: number) => string} `signedAt` in seconds since the epoch (t=)
 */
export function dkimSigner(keys) {
  // Parsed once: parsing a PEM per message costs about as much as signing.
  const rsa = createPrivateKey(keys.privateKey);
  if (rsa.asymmetricKeyType !== 'rsa')
    throw new Error(`DKIM_PRIVATE_KEY_PATH must hold an RSA key, got ${rsa.asymmetricKeyType}`);
  const ed = keys.ed25519 ? createPrivateKey(keys.ed25519.privateKey) : null;
  if (ed && ed.asymmetricKeyType !== 'ed25519')
    throw new Error(`DKIM_ED25519_KEY_PATH must hold an Ed25519 key, got ${ed.asymmetricKeyType}`);
  const domain = tagValue(keys.domainName).toLowerCase();
  return (message, signedAt) => {
    const split = message.indexOf('\r\n\r\n');
    const head = message.toString('latin1', 0, split === -1 ? message.length : split + 2);
    const bh = createHash('sha256')
      .update(relaxedBody(split === -1 ? EMPTY : message.subarray(split + 4)))
      .digest('base64');
    const { names, data } = signedHeaders(head);
    const t = Math.floor(signedAt);
    const tags = (algorithm, selector) => [
      'v=1',
      `a=${algorithm}`,
      'c=relaxed/relaxed',
      `d=${domain}`,
      `s=${tagValue(selector)}`,
      `t=${t}`,
      `x=${t + VALID_SECONDS}`,
      `bh=${bh}`,
      `h=${names.join(':')}`,
    ];
    let out = '';
    if (ed) {
      const header = unsigned(tags('ed25519-sha256', keys.ed25519.keySelector));
      // RFC 8463 §3: Ed25519 signs the SHA-256 hash of the data, not the data itself.
      const digest = createHash('sha256')
        .update(data + relaxedHeader(header.text), 'latin1')
        .digest();
      out += withSignature(header, sign(null, digest, ed));
    }
    const header = unsigned(tags('rsa-sha256', keys.keySelector));
    out += withSignature(header, sign('sha256', Buffer.from(data + relaxedHeader(header.text), 'latin1'), rsa));
    return out;
  };
}

/**
 * The header with an empty b=, folded as it will be sent: the signature covers exactly this. A
 * fold (CRLF and a space) goes before a tag, or inside h= before a ":", that would pass WIDTH;
 * `column` is where b='s value starts.
 */
function unsigned(tags) {
  let text = 'DKIM-Signature:';
  let column = text.length;
  const put = (piece, separator) => {
    if (column + separator.length + piece.length > WIDTH) {
      text += '\r\n ';
      column = 1;
    } else {
      text += separator;
      column += separator.length;
    }
    text += piece;
    column += piece.length;
  };
  for (const tag of tags) {
    const parts = tag.startsWith('h=') ? tag.split(/(?=:)/) : [tag];
    parts.forEach((part, i) => put(i === parts.length - 1 ? `${part};` : part, i === 0 ? ' ' : ''));
  }
  put('b=', ' ');
  return { text, column };
}

/**
 * b= is the last tag: its value, folded to fill each line to WIDTH, and the folding inside it
 * are what a verifier removes, so the signed text above stays as it was signed.
 */
function withSignature({ text, column }, signature) {
  const b = signature.toString('base64');
  let out = text;
  let room = WIDTH - column;
  for (let at = 0; at < b.length;) {
    if (room <= 0) {
      out += '\r\n ';
      room = WIDTH - 1;
    }
    out += b.slice(at, at + room);
    at += room;
    room = 0;
  }
  return `${out}\r\n`;
}

/**
 * The signed fields' names, in h= order, and their canonical data. A name listed n times signs
 * its n instances from the bottom up (RFC 6376 §5.4.2); a listing with no instance left signs
 * "none", which is what oversigning adds. A field that is not oversigned signs its last instance.
 */
function signedHeaders(head) {
  const fields = new Map();
  for (const field of head.split(/\r\n(?![ \t])/)) {
    const colon = field.indexOf(':');
    if (colon <= 0) continue;
    const name = field.slice(0, colon).trim().toLowerCase();
    fields.set(name, [...(fields.get(name) ?? []), field]);
  }
  const names = [];
  let data = '';
  for (const name of SIGNED_FIELDS) {
    const found = fields.get(name) ?? [];
    const listings = OVERSIGNED.has(name) ? found.length + 1 : Math.min(found.length, 1);
    for (let i = 0; i < listings; i++) {
      names.push(name);
      const field = found[found.length - 1 - i];
      if (field) data += `${relaxedHeader(field)}\r\n`;
    }
  }
  return { names, data };
}

/** RFC 6376 §3.4.2: lower-case name, unfolded, runs of SP/HTAB as one SP, none at the ends or by the colon. */
function relaxedHeader(field) {
  const colon = field.indexOf(':');
  const name = field.slice(0, colon).trim().toLowerCase();
  const value = field
    .slice(colon + 1)
    .replace(/\r\n/g, '')
    .replace(/[ \t]+/g, ' ')
    .trim();
  return `${name}:${value}`;
}

const EMPTY = Buffer.alloc(0);
const SP = 0x20;
const TAB = 0x09;
const CR = 0x0d;
const LF = 0x0a;

/**
 * RFC 6376 §3.4.4: no SP/HTAB at line ends, runs of them as one SP, no empty lines at the end,
 * a CRLF at the end of a body that is not empty. One pass over the bytes rather than regular
 * expressions: a digest's quoted-printable body keeps the HTML's indentation runs, which make
 * repeated regex passes costly.
 * @param {Buffer} body
 */
function relaxedBody(body) {
  const out = Buffer.allocUnsafe(body.length + 2);
  let n = 0;
  let space = false;
  for (let i = 0; i < body.length; i++) {
    const c = body[i];
    if (c === SP || c === TAB) {
      space = true;
    } else if (c === CR && body[i + 1] === LF) {
      out[n++] = CR;
      out[n++] = LF;
      i++;
      space = false;
    } else {
      if (space) out[n++] = SP;
      space = false;
      out[n++] = c;
    }
  }
  // Whitespace at the very end is a line end's too; then the empty lines at the end go.
  while (n >= 2 && out[n - 2] === CR && out[n - 1] === LF) n -= 2;
  if (n === 0) return EMPTY;
  out[n++] = CR;
  out[n++] = LF;
  return out.subarray(0, n);
}

/** A tag value cannot carry ";", "=" or controls (they would end it or start another tag). */
function tagValue(value) {
  return String(value).replace(/[\x00-\x20\x7f;=]/g, '');
}
