import type { FastifyPluginAsync } from 'fastify';
import { createHash, timingSafeEqual } from 'node:crypto';
import type { Db } from '../../db/connection.ts';
import type { Clock } from '../../clock.ts';
import type { Config } from '../../config.ts';
import type { LedgerStore } from '../../digest/ledger-store.ts';
import { createMetricsStore } from '../../db/metrics-store.ts';
import { createMetrics } from '../metrics.ts';

/**
 * GET /metrics in Prometheus text format, for scrapers holding METRICS_TOKEN as a bearer token,
 * and the HTTP latency of every route. Without a token nothing is registered: /metrics is a 404
 * like any unknown page, and requests are not timed.
 */
export const metricsRoutes = (deps: {
  token: string | undefined;
  db: Db;
  clock: Clock;
  config: Pick<Config, 'DIGEST_CRON' | 'DIGEST_TZ' | 'WEEKLY_DAY' | 'DELIVERY_MODE'>;
  ledger: Pick<LedgerStore, 'audienceGroups'>;
}): FastifyPluginAsync => {
  const plugin: FastifyPluginAsync = async (app) => {
    const token = deps.token;
    if (!token) return;
    const metrics = createMetrics(createMetricsStore(deps.db), deps.clock, {
      config: deps.config,
      audienceGroups: (cadence) => deps.ledger.audienceGroups(cadence),
    });

    app.addHook('onResponse', (req, reply, done) => {
      metrics.observeRequest(req.method, req.routeOptions.url, reply.statusCode, reply.elapsedTime);
      done();
    });

    app.get('/metrics', async (req, reply) => {
      if (!bearerMatches(req.headers.authorization, token)) {
        return reply
          .code(401)
          .header('www-authenticate', 'Bearer realm="metrics"')
          .type('text/plain; charset=utf-8')
          .send('A valid bearer token is needed.\n');
      }
      return reply.type(metrics.registry.contentType).send(await metrics.registry.metrics());
    });
  };
  // Not encapsulated (what fastify-plugin does): the latency hook must see every route's
  // responses, not only this plugin's.
  return Object.assign(plugin, { [Symbol.for('skip-override')]: true });
};

/** Constant-time comparison; hashing first gives both sides the same length whatever was sent. */
function bearerMatches(header: string | undefined, token: string): boolean {
  const sent = /^Bearer\s+(\S+)\s*$/i.exec(header ?? '')?.[1] ?? '';
  const digest = (s: string) => createHash('sha256').update(s).digest();
  return timingSafeEqual(digest(sent), digest(token));
}
