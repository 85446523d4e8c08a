import { isCalendarDate } from '../domain/dates.ts';
import { localPartOn, sameMac, shortMac } from './short-mac.ts';

/**
 * VERP: every message goes out with an envelope sender of its own,
 * `bounces+<id>[-<yyyymmdd>]-<mac>@<BOUNCE_DOMAIN>`, so the report a mail system sends back to
 * that address names exactly one subscriber (and, for a digest, its run), whatever the report
 * says inside. The MAC (HMAC-SHA256 with SECRET, 80 bits) makes a forged or altered address name
 * nobody.
 *
 * Mail systems may lowercase the local part, so the token holds only digits, lowercase base32
 * and `-`; the local part stays under RFC 5321's 64 characters (at most 49 here).
 */
export interface VerpIdentity {
  subscriberId: number;
  /** The digest's date (YYYY-MM-DD); absent for transactional mail (confirmations). */
  runDate?: string;
}

const LOCAL_PREFIX = 'bounces';
const TOKEN = /^bounces\+(\d{1,15})(?:-(\d{8}))?-([a-z2-7]{16})$/;

const mac = (secret: string, id: number, compactDate: string) => shortMac(secret, `verp:${id}:${compactDate}`);

/** The envelope sender (MAIL FROM) for one message to one subscriber. */
export function verpAddress(who: VerpIdentity, secret: string, domain: string): string {
  if (!Number.isSafeInteger(who.subscriberId) || who.subscriberId < 0)
    throw new RangeError(`not a subscriber id: ${who.subscriberId}`);
  if (who.runDate !== undefined && !isCalendarDate(who.runDate))
    throw new RangeError(`not a YYYY-MM-DD date: ${JSON.stringify(who.runDate)}`);
  const compact = who.runDate?.replaceAll('-', '') ?? '';
  const date = compact ? `-${compact}` : '';
  return `${LOCAL_PREFIX}+${who.subscriberId}${date}-${mac(secret, who.subscriberId, compact)}@${domain.toLowerCase()}`;
}

/**
 * Whom a VERP address names, or null when it is not one of ours or its MAC does not verify.
 * Takes the address as a report or an SMTP envelope gives it (angle brackets, any case).
 */
export function parseVerpAddress(addr: string, secret: string, domain: string): VerpIdentity | null {
  const local = localPartOn(addr, domain);
  const m = local === null ? null : TOKEN.exec(local);
  if (!m) return null;
  const id = Number(m[1]);
  const compact = m[2] ?? '';
  const runDate = compact ? `${compact.slice(0, 4)}-${compact.slice(4, 6)}-${compact.slice(6)}` : undefined;
  if (runDate !== undefined && !isCalendarDate(runDate)) return null;
  if (!sameMac(m[3]!, mac(secret, id, compact))) return null;
  return runDate === undefined ? { subscriberId: id } : { subscriberId: id, runDate };
}

/** True for an address in our VERP form on `domain`, whether or not its MAC verifies. */
export function looksLikeVerpAddress(addr: string, domain: string): boolean {
  return localPartOn(addr, domain)?.startsWith(`${LOCAL_PREFIX}+`) ?? false;
}
