/**
 * The inbox an address reaches, for the confirmation caps: `victim+1@…` and `victim+2@…` land in
 * one inbox, and so do Gmail addresses that differ only in dots (and googlemail.com). Other
 * providers' sub-addressing forms (Yahoo's `-`, Fastmail's subdomains) are not folded.
 */
export function mailboxOf(email: string): { mailbox: string; domain: string } {
  const at = email.lastIndexOf('@');
  let local = email.slice(0, at).toLowerCase();
  let domain = email.slice(at + 1).toLowerCase();
  const plus = local.indexOf('+');
  if (plus > 0) local = local.slice(0, plus);
  if (domain === 'googlemail.com') domain = 'gmail.com';
  if (domain === 'gmail.com') local = local.replaceAll('.', '');
  return { mailbox: `${local}@${domain}`, domain };
}

/**
 * Domains whose inboxes belong to millions of unrelated people. A per-domain cap there would drop
 * real sign-ups whenever the site gets attention (most readers are on a few of these), and it
 * protects nobody: their servers are not flooded by our confirmations, and one person on them is
 * protected by the per-mailbox cap and the per-IP limit.
 */
const SHARED_MAIL_PROVIDERS = new Set([
  'gmail.com',
  'outlook.com',
  'hotmail.com',
  'live.com',
  'msn.com',
  'yahoo.com',
  'ymail.com',
  'icloud.com',
  'me.com',
  'mac.com',
  'aol.com',
  'proton.me',
  'protonmail.com',
  'pm.me',
  'gmx.com',
  'gmx.net',
  'gmx.de',
  'web.de',
  't-online.de',
  'mail.ru',
  'yandex.ru',
  'yandex.com',
  'qq.com',
  '163.com',
  '126.com',
  'naver.com',
  'fastmail.com',
  'zoho.com',
  'hotmail.co.uk',
  'yahoo.co.uk',
  'outlook.de',
  'hotmail.fr',
  'orange.fr',
  'free.fr',
  'laposte.net',
  'libero.it',
  'yahoo.co.jp',
]);

/** Whether sign-ups to this domain count against CONFIRMATIONS_PER_DOMAIN_PER_HOUR. */
export const isDomainCapped = (domain: string) => !SHARED_MAIL_PROVIDERS.has(domain);
