import { localPartOn, sameMac, shortMac } from './short-mac.ts';

/**
 * The `mailto:` of a digest's List-Unsubscribe when Paperboy reads its own mail (the receiver or
 * the mailbox): `unsubscribe+<id>-<mac>@BOUNCE_DOMAIN`, one per reader, signed with SECRET so a
 * message to it unsubscribes that reader and nobody can write one for another. Lowercase only,
 * like the VERP token, since mail systems may fold the case of local parts.
 */
const TOKEN = /^unsubscribe\+(\d{1,15})-([a-z2-7]{16})$/;

const mac = (secret: string, id: number) => shortMac(secret, `unsubscribe-mail:${id}`);

export function unsubscribeAddress(subscriberId: number, secret: string, domain: string): string {
  if (!Number.isSafeInteger(subscriberId) || subscriberId < 0)
    throw new RangeError(`not a subscriber id: ${subscriberId}`);
  return `unsubscribe+${subscriberId}-${mac(secret, subscriberId)}@${domain.toLowerCase()}`;
}

/** The subscriber an unsubscribe address names, or null when it is not one of ours or does not verify. */
export function parseUnsubscribeAddress(addr: string, secret: string, domain: string): number | null {
  const local = localPartOn(addr, domain);
  const m = local === null ? null : TOKEN.exec(local);
  if (!m) return null;
  const id = Number(m[1]);
  return sameMac(m[2]!, mac(secret, id)) ? id : null;
}
