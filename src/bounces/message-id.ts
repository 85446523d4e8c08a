import { isCalendarDate } from '../domain/dates.ts';
import { sameMac, shortMac } from './short-mac.ts';

/**
 * Message-IDs that name their message and prove it: `<edition>.<date>.<id>.<mac>@<domain>`, where
 * `edition` is `digest` or `weekly` (id: the subscriber) or a transactional mail's kind such as
 * `confirm` (id: its mail queue row), and `mac` a truncated HMAC of the three with SECRET. A
 * feedback loop returns the original's headers but hides its recipient: the signed Message-ID
 * then still says whom a complaint is about, and nobody can write one for someone else. Every copy
 * and every resend of one message gets the same id, so the id is stable across retries.
 */
export interface MessageIdentity {
  edition: string;
  /** YYYY-MM-DD: the digest's day, or the day a transactional mail was queued. */
  date: string;
  /** The subscriber (digests) or the mail queue row (transactional mail). */
  id: number;
}

/** What a returned Message-ID tells: signed and verified, in our old unsigned form, or nothing. */
export type ParsedMessageId = (MessageIdentity & { signed: boolean }) | undefined;

const EDITION = /^[a-z][a-z-]{0,30}$/;
const SIGNED = /^<?([a-z][a-z-]{0,30})\.(\d{4}-\d{2}-\d{2})\.(\d{1,15})\.([a-z2-7]{16})@([^>\s]+)>?$/i;
// Digests sent before Message-IDs were signed: they prove nothing, an operator's trusted import may still use them.
const UNSIGNED = /^<?(digest|weekly)\.(\d{4}-\d{2}-\d{2})\.(\d{1,15})@([^>\s]+)>?$/i;

const mac = (secret: string, m: MessageIdentity) => shortMac(secret, `message-id:${m.edition}:${m.date}:${m.id}`);

/** The Message-ID (without angle brackets) of one message. */
export function signedMessageId(m: MessageIdentity, secret: string, domain: string): string {
  if (!EDITION.test(m.edition)) throw new RangeError(`not an edition name: ${JSON.stringify(m.edition)}`);
  if (!isCalendarDate(m.date)) throw new RangeError(`not a YYYY-MM-DD date: ${JSON.stringify(m.date)}`);
  if (!Number.isSafeInteger(m.id) || m.id < 0) throw new RangeError(`not an id: ${m.id}`);
  return `${m.edition}.${m.date}.${m.id}.${mac(secret, m)}@${domain.toLowerCase()}`;
}

/**
 * Whom a returned Message-ID names. `signed: true` only when its MAC verifies; an id in our old
 * unsigned digest form is `signed: false`; anything else (another domain, a forged MAC) undefined.
 */
export function parseMessageId(messageId: string, secret: string, domain: string): ParsedMessageId {
  const value = messageId.trim();
  if (value.length > 200) return undefined;
  const signed = SIGNED.exec(value);
  if (signed) {
    const [, edition, date, id, given, host] = signed as unknown as [string, string, string, string, string, string];
    if (host.toLowerCase() !== domain.toLowerCase() || !isCalendarDate(date)) return undefined;
    const m = { edition: edition.toLowerCase(), date, id: Number(id) };
    return sameMac(given, mac(secret, m)) ? { signed: true, ...m } : undefined;
  }
  const old = UNSIGNED.exec(value);
  if (!old || old[4]!.toLowerCase() !== domain.toLowerCase() || !isCalendarDate(old[2]!)) return undefined;
  return { signed: false, edition: old[1]!.toLowerCase(), date: old[2]!, id: Number(old[3]) };
}

/** Digest editions name a subscriber; every other edition is transactional mail naming its queue row. */
export const isDigestEdition = (edition: string) => edition === 'digest' || edition === 'weekly';
