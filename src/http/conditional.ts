import { createHash } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';

export interface Cacheable {
  body: string;
  contentType: string;
  /** ISO 8601: when what the body shows last changed. */
  lastModified: string;
  cacheControl: string;
}

/**
 * Answers a GET with validators (RFC 9110 §8.8, §13): `ETag` from the body's bytes and
 * `Last-Modified`, and 304 without a body when the client's copy is still current.
 */
export function sendCacheable(req: FastifyRequest, reply: FastifyReply, c: Cacheable) {
  const etag = `"${createHash('sha256').update(c.body).digest('base64url').slice(0, 27)}"`;
  const modified = new Date(c.lastModified);
  reply.header('etag', etag).header('last-modified', modified.toUTCString()).header('cache-control', c.cacheControl);
  if (isNotModified(req, etag, modified)) return reply.code(304).send();
  return reply.code(200).type(c.contentType).send(c.body);
}

function isNotModified(req: FastifyRequest, etag: string, modified: Date): boolean {
  const ifNoneMatch = req.headers['if-none-match'];
  // When both are sent, If-None-Match decides (RFC 9110 §13.1.3): it is the exact one.
  if (ifNoneMatch !== undefined) {
    return ifNoneMatch.split(',').some((tag) => {
      const t = tag.trim();
      return t === '*' || t === etag || t === `W/${etag}`;
    });
  }
  const since = Date.parse(req.headers['if-modified-since'] ?? '');
  // HTTP dates have whole seconds.
  return !Number.isNaN(since) && Math.floor(modified.getTime() / 1000) * 1000 <= since;
}
