import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

/**
 * Two kinds of token:
 * - subscriber links (unsubscribe, preferences, the personal feed) are `<id>.<hmac>`: stateless, valid for as long as
 *   the subscriber's row exists, so every email sent to someone still subscribed keeps a working
 *   unsubscribe link. A row is one subscription: erasure deletes it, and signing up again after an
 *   unsubscribe makes a new one; ids are never reused (migration 012), so old links die with it;
 * - confirmation tokens name one sign-up request: the subscriber's id, a random nonce and an HMAC
 *   of both. Only their SHA-256 is stored, beside the request's settings, so the settings a link
 *   applies are the ones stored for it, whatever is done to the link. The signed id still tells a
 *   link whose request is gone (used or expired) from one that was never issued.
 */
// The purpose is in the signed text, so a link for one purpose never works for another: a feed
// token (which a feed reader may leak) cannot change or end the subscription.
export type LinkPurpose = 'unsubscribe' | 'preferences' | 'feed';

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

const ID_BYTES = 6;
const NONCE_BYTES = 8;
const CONFIRM_MAC_BYTES = 10;

const confirmMac = (secret: string, idAndNonce: Buffer) =>
  createHmac('sha256', secret).update('confirm:').update(idAndNonce).digest().subarray(0, CONFIRM_MAC_BYTES);

/** A new confirmation token for a sign-up request of subscriber `id`, and the hash to store for it. */
export function newConfirmToken(secret: string, id: number): { token: string; hash: string } {
  const idAndNonce = Buffer.concat([Buffer.alloc(ID_BYTES), randomBytes(NONCE_BYTES)]);
  idAndNonce.writeUIntBE(id, 0, ID_BYTES);
  const token = Buffer.concat([idAndNonce, confirmMac(secret, idAndNonce)]).toString('base64url');
  return { token, hash: hashConfirmToken(token) };
}

/** The subscriber id a confirmation token was signed for, or null; compared in constant time. */
export function verifyConfirmToken(secret: string, token: string): number | null {
  const bytes = Buffer.from(token, 'base64url');
  if (bytes.length !== ID_BYTES + NONCE_BYTES + CONFIRM_MAC_BYTES || bytes.toString('base64url') !== token) return null;
  const idAndNonce = bytes.subarray(0, ID_BYTES + NONCE_BYTES);
  const given = bytes.subarray(ID_BYTES + NONCE_BYTES);
  return timingSafeEqual(given, confirmMac(secret, idAndNonce)) ? idAndNonce.readUIntBE(0, ID_BYTES) : null;
}

export const hashConfirmToken = (token: string) => createHash('sha256').update(token).digest('hex');

/** Absolute links for emails, always on PUBLIC_URL. */
export function subscriberLinks(publicUrl: string, secret: string, id: number) {
  return {
    unsubscribeUrl: `${publicUrl}/unsubscribe/${signSubscriberToken(secret, 'unsubscribe', id)}`,
    preferencesUrl: `${publicUrl}/preferences/${signSubscriberToken(secret, 'preferences', id)}`,
  };
}
