import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { DigestsStore } from '../../db/digests-store.ts';
import type { SubscribersStore } from '../../db/subscribers-store.ts';
import { NotFound } from '../../errors.ts';
import { FEED_EDITIONS, feedEditions, feedSubscriber, type FeedReader } from '../../domain/feeds.ts';
import { digestSizeSchema, keywordsSchema } from '../../domain/subscriber-input.ts';
import { digestUrl, topLine, weekLine } from '../../mail/edition-names.ts';
import { renderAtom } from '../atom.ts';
import { sendCacheable } from '../conditional.ts';
import { linkSegment } from '../validation.ts';

export interface FeedRoutesDeps {
  digests: Pick<DigestsStore, 'get' | 'list'>;
  subscribers: Pick<SubscribersStore, 'byId'>;
  secret: string;
  /** PUBLIC_URL without a trailing slash. */
  publicUrl: string;
  /** Papers per entry when the public feed's reader gives no size (DIGEST_SIZE). */
  size: number;
}

/** Per client, as for the sign-up form: a feed reader polls a few times an hour. */
export const FEED_REQUESTS_PER_MINUTE = 30;
/** Rendered feeds kept in memory, by reader and editions: keyword feeds repeat across readers. */
const FEED_CACHE_SIZE = 100;
const ATOM = 'application/atom+xml; charset=utf-8';
const EPOCH = '1970-01-01T00:00:00.000Z';

const publicQuery = z.object({
  keywords: keywordsSchema.default(''),
  size: digestSizeSchema.optional(),
});
const personalParams = z.object({ file: linkSegment });

const config = { rateLimit: { max: FEED_REQUESTS_PER_MINUTE, timeWindow: '1 minute' } };

/** "Top 10 papers of Tue 24 Nov", "Week of 23–29 Nov 2026": as the archive names editions. */
const entryTitle = (cadence: string, date: string, count: number) =>
  cadence === 'weekly' ? weekLine(date) : topLine(count, date);

/**
 * Atom feeds of the digests: `/digests.atom` for anyone (with the email's keyword filter and size
 * as query parameters) and `/feeds/<token>.atom`, which follows one subscriber's settings.
 */
export function feedRoutes(deps: FeedRoutesDeps) {
  const cache = new Map<string, string>();

  /** The feed at `selfUrl` for this reader, and when its editions last changed. */
  const feedFor = (selfUrl: string, title: string, reader: FeedReader) => {
    const latest = deps.digests.list(FEED_EDITIONS, reader.cadence);
    const lastModified = latest.reduce((max, d) => (d.createdAt > max ? d.createdAt : max), EPOCH);
    const key = JSON.stringify([selfUrl, title, reader, latest]);
    let body = cache.get(key);
    if (body === undefined) {
      const entries = feedEditions(deps.digests, reader).map((e) => ({
        url: digestUrl(deps.publicUrl, e.date, e.cadence),
        title: entryTitle(e.cadence, e.date, e.papers.length),
        updated: e.createdAt,
        papers: e.papers,
      }));
      body = renderAtom({ title, selfUrl, alternateUrl: `${deps.publicUrl}/digests`, updated: lastModified, entries });
      cache.set(key, body);
      if (cache.size > FEED_CACHE_SIZE) cache.delete(cache.keys().next().value!);
    }
    return { body, lastModified };
  };

  return async function feedsPlugin(fastify: FastifyInstance) {
    const app = fastify.withTypeProvider<ZodTypeProvider>();
    app.get('/digests.atom', { config, schema: { querystring: publicQuery } }, async (req, reply) => {
      const { keywords, size } = req.query;
      const search = new URLSearchParams({
        ...(keywords ? { keywords } : {}),
        ...(size ? { size: String(size) } : {}),
      });
      const selfUrl = `${deps.publicUrl}/digests.atom${search.size ? `?${search}` : ''}`;
      const title = `Paperboy: trending ML papers${keywords ? ` about ${keywords.replaceAll(',', ', ')}` : ''}`;
      const feed = feedFor(selfUrl, title, { size: size ?? deps.size, keywords });
      return sendCacheable(req, reply, { ...feed, contentType: ATOM, cacheControl: 'public, max-age=900' });
    });

    app.get('/feeds/:file', { config, schema: { params: personalParams } }, async (req, reply) => {
      const { file } = req.params;
      if (!file.endsWith('.atom')) throw new NotFound('There is no page at this address.');
      const subscriber = feedSubscriber(deps, file.slice(0, -'.atom'.length));
      const { cadence, digestSize: size, keywords } = subscriber;
      const title = `Paperboy: your ${cadence} digest`;
      const feed = feedFor(`${deps.publicUrl}/feeds/${file}`, title, { cadence, size, keywords });
      // The address is a credential of sorts: shared caches must not keep it.
      return sendCacheable(req, reply, { ...feed, contentType: ATOM, cacheControl: 'private, max-age=900' });
    });
  };
}
