import type { FastifyPluginAsync } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { checkConfirmLink, confirm, type SubscriptionDeps } from '../../domain/subscriptions.ts';
import { confirmPromptPage, confirmResultPage } from '../pages.ts';
import { tokenParams } from '../validation.ts';

const schema = { params: tokenParams };

const STATUS = { confirmed: 200, 'already-confirmed': 200, ready: 200, expired: 410, invalid: 404 } as const;

/**
 * GET shows a button and changes nothing: corporate mail filters (Safe Links, Mimecast,
 * Proofpoint) open every link in an incoming email, so a GET that confirmed would let anyone
 * subscribe a victim behind one. POST confirms. The token in the URL is the only credential: it is
 * unguessable, so a form posting back to it needs no other CSRF defence.
 */
export const confirmRoutes =
  (deps: Pick<SubscriptionDeps, 'subscribers' | 'suppressions' | 'clock' | 'secret'>): FastifyPluginAsync =>
  async (fastify) => {
    const app = fastify.withTypeProvider<ZodTypeProvider>();
    app.get('/confirm/:token', { schema }, async (req, reply) => {
      const { token } = req.params;
      const link = checkConfirmLink(deps, token);
      const page =
        link.outcome === 'ready'
          ? confirmPromptPage(link.subscriber.email, link.settings)
          : confirmResultPage(link.outcome);
      return reply
        .code(STATUS[link.outcome])
        .header('cache-control', 'no-store')
        .type('text/html; charset=utf-8')
        .send(page);
    });

    app.post('/confirm/:token', { bodyLimit: 1024, schema }, async (req, reply) => {
      const { token } = req.params;
      const result = confirm(deps, token);
      if (result.outcome === 'confirmed')
        req.log.info({ subscriberId: result.subscriber.id }, 'subscription confirmed');
      return reply
        .code(STATUS[result.outcome])
        .header('cache-control', 'no-store')
        .type('text/html; charset=utf-8')
        .send(confirmResultPage(result.outcome));
    });
  };
