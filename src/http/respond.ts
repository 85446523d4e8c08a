import type { FastifyRequest } from 'fastify';

/** API clients send or ask for JSON; the site's forms get pages. */
export function wantsJson(req: FastifyRequest): boolean {
  const type = req.headers['content-type'] ?? '';
  if (type.startsWith('application/json')) return true;
  const accept = req.headers.accept ?? '';
  return accept.includes('application/json') && !accept.includes('text/html');
}
