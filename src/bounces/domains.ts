/** The receiving domain of an address (after its last '@'), lower-cased; '' when there is none. */
export function recipientDomain(address: string): string {
  const at = address.lastIndexOf('@');
  if (at < 0) return '';
  return address
    .slice(at + 1)
    .trim()
    .toLowerCase();
}

/**
 * Mailbox providers named in metrics labels; every other domain is `other`, so a list of many
 * small domains cannot mint a series each.
 */
export const BIG_PROVIDERS: readonly string[] = [
  'gmail.com',
  'googlemail.com',
  'outlook.com',
  'hotmail.com',
  'live.com',
  'msn.com',
  'yahoo.com',
  'aol.com',
  'icloud.com',
  'me.com',
  'proton.me',
  'protonmail.com',
  'gmx.de',
  'gmx.net',
  'web.de',
  'mail.ru',
  'yandex.ru',
  'qq.com',
  '163.com',
  'orange.fr',
  'comcast.net',
];

const BIG = new Set(BIG_PROVIDERS);

/** The metrics label for a receiving domain: the provider's own name, or `other`. */
export const providerLabel = (domain: string | null): string => (domain && BIG.has(domain) ? domain : 'other');
