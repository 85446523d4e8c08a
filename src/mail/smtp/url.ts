/**
 * SMTP_URL: `smtp://[user:password@]host[:port][?options]` (STARTTLS when the server offers it,
 * port 587 by default) or `smtps://…` (implicit TLS, port 465). User and password are
 * URL-decoded and sent with AUTH PLAIN, or LOGIN when the server offers only that. The mailer and
 * the doctor read it here alone. Options, named as nodemailer names them (others are ignored):
 *   name=host.example.org        the EHLO name (default: the host name when it is a FQDN,
 *                                otherwise the connection's local address literal)
 *   requireTLS=true              fail unless STARTTLS succeeds (never send in clear)
 *   ignoreTLS=true               never use STARTTLS, even when offered
 *   tls.rejectUnauthorized=false accept a certificate that does not verify (self-signed)
 *   secure=true                  implicit TLS on an smtp:// URL, as smtps:// (port 465 by default)
 */

export interface SmtpTarget {
  host: string;
  port: number;
  secure: boolean;
  auth: { user: string; pass: string } | null;
  name: string | null;
  requireTLS: boolean;
  ignoreTLS: boolean;
  rejectUnauthorized: boolean | null;
}

export function parseSmtpUrl(url: string): SmtpTarget {
  const u = new URL(url);
  if (u.protocol !== 'smtp:' && u.protocol !== 'smtps:')
    throw new Error(`not an smtp:// or smtps:// URL: ${u.protocol}`);
  const flag = (key: string) => u.searchParams.get(key) === 'true';
  const secure = u.protocol === 'smtps:' || flag('secure');
  const reject = u.searchParams.get('tls.rejectUnauthorized');
  const user = decodeURIComponent(u.username);
  return {
    // new URL keeps an IPv6 host in brackets; sockets want it bare.
    host: u.hostname.replace(/^\[(.*)\]$/, '$1'),
    port: u.port ? Number(u.port) : secure ? 465 : 587,
    secure,
    auth: user ? { user, pass: decodeURIComponent(u.password) } : null,
    name: u.searchParams.get('name'),
    requireTLS: flag('requireTLS'),
    ignoreTLS: flag('ignoreTLS'),
    rejectUnauthorized: reject === null ? null : reject !== 'false',
  };
}
