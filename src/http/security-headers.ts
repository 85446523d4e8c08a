import { createHash } from 'node:crypto';
import helmet, { type HelmetOptions } from 'helmet';
import type { FastifyInstance } from 'fastify';
import { ZONE_SCRIPT } from './pages.ts';

/** A CSP source for one inline script: it runs only while its text is exactly this. */
const scriptHash = (text: string) => `'sha256-${createHash('sha256').update(text).digest('base64')}'`;

/**
 * Pages carry one script, allowed by its hash, and load nothing from elsewhere; tokens in URLs
 * never leak as Referer.
 * No CSP defaults (their upgrade-insecure-requests breaks the form on plain-http installs) and no
 * HSTS: TLS, and how far its policy reaches, is the reverse proxy's business.
 */
const SECURITY_HEADERS = {
  contentSecurityPolicy: {
    useDefaults: false,
    directives: {
      defaultSrc: ["'none'"],
      styleSrc: ["'unsafe-inline'"],
      scriptSrc: [scriptHash(ZONE_SCRIPT)],
      imgSrc: ["'self'", 'data:'],
      formAction: ["'self'"],
      baseUri: ["'none'"],
      frameAncestors: ["'none'"],
    },
  },
  referrerPolicy: { policy: 'no-referrer' },
  frameguard: { action: 'deny' },
  strictTransportSecurity: false,
} as const satisfies HelmetOptions;

export type SecurityHeaders = ReturnType<typeof helmet>;

/**
 * The headers with a route's own CSP in place of the app's. Built once, when the routes are
 * declared: helmet parses its options (the CSP directives) each time it is built, which per
 * request was a large share of a sign-up's cost (docs/architecture.md, what the hot paths cost).
 */
export function securityHeadersWith(contentSecurityPolicy: HelmetOptions['contentSecurityPolicy']): SecurityHeaders {
  return helmet({ ...SECURITY_HEADERS, contentSecurityPolicy });
}

/** The app's headers, on every answer (errors Fastify raises before routing included). */
export const securityHeaders: SecurityHeaders = helmet(SECURITY_HEADERS);

declare module 'fastify' {
  interface FastifyContextConfig {
    /** A route's own headers (securityHeadersWith), in place of the app's. */
    securityHeaders?: SecurityHeaders;
  }
}

export function addSecurityHeaders(app: FastifyInstance): void {
  // helmet throws on a bad option rather than passing it on (since 8.1): `next` has no error to carry.
  app.addHook('onRequest', (req, reply, done) =>
    (req.routeOptions.config.securityHeaders ?? securityHeaders)(req.raw, reply.raw, () => done()),
  );
}
