import type { FastifyPluginAsync } from 'fastify';
import type { Db } from '../../db/connection.ts';

export const healthRoutes =
  (deps: { db: Db }): FastifyPluginAsync =>
  async (app) => {
    const ping = deps.db.prepare('SELECT count(*) FROM schema_migrations').pluck();
    app.get('/healthz', async (req, reply) => {
      try {
        return reply.send({ status: 'ok', migrations: ping.get() });
      } catch (err) {
        req.log.error({ err }, 'health check: database unreachable');
        return reply.code(503).send({ status: 'unavailable', reason: 'database unreachable' });
      }
    });
  };
