import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

/**
 * Two kinds of token:
 * - subscriber links (unsubscribe, preferences) are `<id>.<hmac>`: stateless, valid for as long as
 *   the subscriber's row exists, so every email sent to someone still subscribed keeps a working
 *   unsubscribe link. A row is one subscription: erasure deletes it, and signing up again after an
 *   unsubscribe makes a new one; ids are never reused (migration 012), so old links die with it;
 * - confirmation tokens are random and single-use; only their SHA-256 is stored.
 */
export type LinkPurpose = 'unsubscribe' | 'preferences';

const mac = (secret: string, purpose: LinkPurpose, id: number) =>
  createHmac('sha256', secret).update(`${purpose}:${id}`).digest().subarray(0, 18);

export function signSubscriberToken(secret: string, purpose: LinkPurpose, id: number): string {
  return `${id}.${mac(secret, purpose, id).toString('base64url')}`;
}

/** The subscriber id a token was signed for, or null; compared in constant time. */
export function verifySubscriberToken(secret: string, purpose: LinkPurpose, token: string): number | null {
  const match = /^(\d{1,15})\.([\w-]{24})$/.exec(token);
  if (!match) return null;
  const id = Number(match[1]);
  const given = Buffer.from(match[2]!, 'base64url');
  const expected = mac(secret, purpose, id);
  return given.length === expected.length && timingSafeEqual(given, expected) ? id : null;
}

export function newConfirmToken(): { token: string; hash: string } {
  const token = randomBytes(24).toString('base64url');
  return { token, hash: hashConfirmToken(token) };
}

export const hashConfirmToken = (token: string) => createHash('sha256').update(token).digest('hex');

/** Absolute links for emails, always on PUBLIC_URL. */
export function subscriberLinks(publicUrl: string, secret: string, id: number) {
  return {
    unsubscribeUrl: `${publicUrl}/unsubscribe/${signSubscriberToken(secret, 'unsubscribe', id)}`,
    preferencesUrl: `${publicUrl}/preferences/${signSubscriberToken(secret, 'preferences', id)}`,
  };
}
