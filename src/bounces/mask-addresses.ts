/**
 * Masking the email addresses in a text a bounce carries (an SMTP diagnostic, a provider's
 * message): each local part becomes `…`, its domain stays, so `550 <ada@example.org>: unknown`
 * is kept as `550 <…@example.org>: unknown` — enough to tell a provider's problem, without the
 * address.
 *
 * A scanner rather than a regex: an address regex backtracks, and its time grows with the square
 * of a hostile text's length. This looks left and right of each `@` only, never past the `@`
 * before or after it (nor further than MAX_QUOTED into a quoted local part, which may hold one),
 * so every character is looked at a bounded number of times.
 */

const MASK = '…';
// RFC 5321 caps a local part at 64 octets; a quoted one longer than this is not looked for.
const MAX_QUOTED = 256;

/** The ASCII characters of a class, as a lookup table by character code. */
function asciiTable(chars: RegExp): Uint8Array {
  const table = new Uint8Array(128);
  for (let c = 0; c < 128; c++) table[c] = chars.test(String.fromCharCode(c)) ? 1 : 0;
  return table;
}
// RFC 5322 atext and the dot of a dot-atom.
const ASCII_LOCAL = asciiTable(/[A-Za-z0-9!#$%&'*+\-/=?^_`{|}~.]/);
const ASCII_DOMAIN = asciiTable(/[A-Za-z0-9.-]/);
const ASCII_ALPHANUMERIC = asciiTable(/[A-Za-z0-9]/);
const ADDRESS_LITERAL = asciiTable(/[A-Za-z0-9:.]/);
// RFC 6531 lets a local part hold any non-ASCII character; spaces, quotes and brackets around an
// address are not part of it.
const NON_ASCII_OUTSIDE_LOCAL = /^[\p{White_Space}\p{P}\p{Cc}]$/u;
// IDNA's U-labels (letters, marks, digits, ZWNJ and ZWJ) and its three other full stops.
const NON_ASCII_DOMAIN = /^(?:[\p{L}\p{M}\p{N}\u3002\uff0e\uff61]|\u200c|\u200d)$/u;
const NON_ASCII_ALPHANUMERIC = /^[\p{L}\p{N}]$/u;
const DOMAIN_END_TRIM = /^[.\-\u3002\uff0e\uff61]$/;

/** A class of characters: a table for ASCII, a Unicode test for the rest. */
const charClass =
  (table: Uint8Array, nonAscii: (c: string) => boolean) =>
  (cp: number): boolean =>
    cp < 0x80 ? table[cp] === 1 : nonAscii(String.fromCodePoint(cp));
const isLocal = charClass(ASCII_LOCAL, (c) => !NON_ASCII_OUTSIDE_LOCAL.test(c));
const isDomain = charClass(ASCII_DOMAIN, (c) => NON_ASCII_DOMAIN.test(c));
const isAlphanumeric = charClass(ASCII_ALPHANUMERIC, (c) => NON_ASCII_ALPHANUMERIC.test(c));
const inLiteral = charClass(ADDRESS_LITERAL, () => false);
const width = (cp: number) => (cp > 0xffff ? 2 : 1);

/** The code point (of a whole surrogate pair when it is one) that ends just before `i`. */
function codePointBefore(text: string, i: number): number {
  const low = text.charCodeAt(i - 1);
  const high = text.charCodeAt(i - 2);
  return low >= 0xdc00 && low <= 0xdfff && high >= 0xd800 && high <= 0xdbff ? text.codePointAt(i - 2)! : low;
}

/**
 * Where the quoted string that ends with the quote at `close` opens; -1 when it does not, or when
 * that would mean looking further back than a local part can be long.
 */
function quoteStart(text: string, close: number, floor: number): number {
  const limit = Math.max(floor, close - MAX_QUOTED);
  /** The backslashes just before `i`; undefined when they run to the edge of the window. */
  const backslashesBefore = (i: number): number | undefined => {
    let n = 0;
    while (i - n - 1 >= limit && text[i - n - 1] === '\\') n++;
    return i - n === limit && limit > floor ? undefined : n;
  };
  const closing = backslashesBefore(close);
  if (closing === undefined || closing % 2 === 1) return -1;
  for (let i = close - 1; i >= limit; i--) {
    if (text[i] === '\r' || text[i] === '\n') return -1;
    if (text[i] !== '"') continue;
    const backslashes = backslashesBefore(i);
    if (backslashes === undefined) return -1;
    if (backslashes % 2 === 0) return i;
    // An escaped quote; its backslashes were counted once and are not looked at again.
    i -= backslashes;
  }
  return -1;
}

/**
 * Where the local part that ends at the `@` at `at` starts, never before `floor`; `at` when there
 * is none. A quoted local part (`"Ada Lovelace"@…`) starts at its opening quote; a dot-atom
 * leaves the punctuation it starts with (`'ada@…'`) outside the mask.
 */
function localStart(text: string, at: number, floor: number): number {
  if (text[at - 1] === '"') {
    const open = quoteStart(text, at - 1, floor);
    return open === -1 ? at : open;
  }
  let start = at;
  while (start > floor) {
    const cp = codePointBefore(text, start);
    if (!isLocal(cp)) break;
    start -= width(cp);
  }
  while (start < at && !isAlphanumeric(text.codePointAt(start)!)) start += width(text.codePointAt(start)!);
  return start;
}

/** Where the domain that starts at `from` (just after an `@`) ends; `from` when there is none. */
function domainEnd(text: string, from: number): number {
  if (text[from] === '[') {
    const limit = Math.min(text.length, from + 64);
    for (let i = from + 1; i < limit; i++) {
      if (text[i] === ']') return i > from + 1 ? i + 1 : from;
      if (!inLiteral(text.charCodeAt(i))) return from;
    }
    return from;
  }
  let end = from;
  while (end < text.length) {
    const cp = text.codePointAt(end)!;
    if (!isDomain(cp)) break;
    end += width(cp);
  }
  // A sentence's full stop after an address is not part of its domain.
  while (end > from && DOMAIN_END_TRIM.test(text[end - 1]!)) end--;
  return end;
}

/** `text` with the local part of every email address in it replaced by `…`; the domains stay. */
export function maskAddresses(text: string): string {
  const out: string[] = [];
  let copied = 0;
  for (let at = text.indexOf('@'); at !== -1; at = text.indexOf('@', at + 1)) {
    const start = localStart(text, at, copied);
    const end = domainEnd(text, at + 1);
    if (start === at || end === at + 1) continue;
    out.push(text.slice(copied, start), MASK, text.slice(at, end));
    copied = end;
  }
  out.push(text.slice(copied));
  return out.join('');
}
