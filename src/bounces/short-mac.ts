import { createHmac, timingSafeEqual } from 'node:crypto';

const MAC_BYTES = 10;
const BASE32 = 'abcdefghijklmnopqrstuvwxyz234567';

function base32(bytes: Buffer): string {
  let out = '';
  let bits = 0;
  let value = 0;
  for (const byte of bytes) {
    value = (value << 8) | byte;
    bits += 8;
    while (bits >= 5) {
      out += BASE32[(value >>> (bits - 5)) & 31];
      bits -= 5;
    }
  }
  if (bits > 0) out += BASE32[(value << (5 - bits)) & 31];
  return out;
}

/**
 * HMAC-SHA256 of `text` with SECRET, cut to 80 bits, as 16 characters of lowercase base32: short
 * enough for an address's local part or a Message-ID, and unchanged by mail systems that fold case.
 */
export const shortMac = (secret: string, text: string): string =>
  base32(createHmac('sha256', secret).update(text).digest().subarray(0, MAC_BYTES));

/** Compares a given MAC with the expected one in constant time (any case, any length). */
export const sameMac = (given: string, expected: string): boolean => {
  const a = Buffer.from(given.toLowerCase());
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
};

/**
 * The local part of an address on `domain`, lowercased, as a report or an SMTP envelope gives it
 * (angle brackets, any case); null for an address on another domain. Signed tokens live there.
 */
export function localPartOn(addr: string, domain: string): string | null {
  const a = addr
    .trim()
    .replace(/^<(.*)>$/, '$1')
    .toLowerCase();
  const at = a.lastIndexOf('@');
  return at < 0 || a.slice(at + 1) !== domain.toLowerCase() ? null : a.slice(0, at);
}
