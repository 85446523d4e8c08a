import addressparser from 'nodemailer/lib/addressparser';
import type { Config } from '../config.ts';

type IdentitySettings = Pick<Config, 'SMTP_URL' | 'PUBLIC_URL' | 'MAIL_FROM' | 'DKIM_DOMAIN'>;

/**
 * Settings that break real mail for readers, one line each. Only with SMTP_URL set: the outbox
 * (development) is allowed every shortcut. Start-up, send-now and its dry run print them.
 */
export function identityWarnings(settings: IdentitySettings): string[] {
  if (!settings.SMTP_URL) return [];
  const warnings: string[] = [];
  const site = new URL(settings.PUBLIC_URL);
  if (isLoopback(site.hostname)) {
    warnings.push(
      `PUBLIC_URL is ${settings.PUBLIC_URL}: readers cannot open its confirm, preferences and unsubscribe links; set the public address`,
    );
  } else if (site.protocol !== 'https:') {
    warnings.push(
      `PUBLIC_URL is not https (${settings.PUBLIC_URL}): mail providers distrust plain-http unsubscribe links; serve it over TLS`,
    );
  }
  const fromDomain = domainOf(settings.MAIL_FROM);
  const fromIsLocal = !fromDomain || isLoopback(fromDomain) || !fromDomain.includes('.');
  if (fromIsLocal) {
    warnings.push(
      `MAIL_FROM is ${JSON.stringify(settings.MAIL_FROM)}: mail from a local domain is rejected or filtered; use an address on your sending domain`,
    );
  }
  if (!settings.DKIM_DOMAIN) {
    warnings.push(
      'DKIM is not configured (DKIM_DOMAIN, DKIM_SELECTOR, DKIM_PRIVATE_KEY_PATH): one-click unsubscribe (List-Unsubscribe-Post) counts only under a DKIM signature (RFC 8058 §4), and Gmail and Yahoo require DKIM from bulk senders',
    );
  } else if (!fromIsLocal && !aligned(fromDomain!, settings.DKIM_DOMAIN.toLowerCase())) {
    warnings.push(
      `DKIM_DOMAIN ${settings.DKIM_DOMAIN} is not aligned with MAIL_FROM's domain ${fromDomain}: DMARC fails; sign with ${fromDomain} or a parent of it`,
    );
  }
  return warnings;
}

function domainOf(mailFrom: string): string | null {
  const address = addressparser(mailFrom, { flatten: true })[0]?.address ?? '';
  const at = address.lastIndexOf('@');
  return at > 0 ? address.slice(at + 1).toLowerCase() : null;
}

function isLoopback(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, '').toLowerCase();
  return h === 'localhost' || h.endsWith('.localhost') || h === '::1' || /^127\./.test(h) || h === '0.0.0.0';
}

/**
 * DMARC's relaxed alignment asks for the same organisational domain. Without the public suffix
 * list, one domain being the other or a parent of it is the check that never passes a wrong pair.
 */
function aligned(fromDomain: string, dkimDomain: string): boolean {
  return fromDomain === dkimDomain || fromDomain.endsWith(`.${dkimDomain}`) || dkimDomain.endsWith(`.${fromDomain}`);
}
