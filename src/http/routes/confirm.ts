import type { FastifyPluginAsync } from 'fastify';
import { z } from 'zod';
import { confirm, type SubscriptionDeps } from '../../domain/subscriptions.ts';
import { confirmResultPage } from '../pages.ts';

const params = z.object({ token: z.string().max(200) });

export const confirmRoutes =
  (deps: Pick<SubscriptionDeps, 'subscribers' | 'suppressions' | 'clock'>): FastifyPluginAsync =>
  async (app) => {
    app.get('/confirm/:token', async (req, reply) => {
      const { token } = params.parse(req.params);
      const result = confirm(deps, token);
      if (result.outcome === 'confirmed') req.log.info({ subscriberId: result.subscriber.id }, 'subscription confirmed');
      const status = result.outcome === 'expired' ? 410 : result.outcome === 'invalid' ? 404 : 200;
      return reply.code(status).type('text/html; charset=utf-8').send(confirmResultPage(result.outcome));
    });
  };
