import type { FastifyPluginAsync } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { subscriberFromLink, unsubscribe, type SubscriptionDeps } from '../../domain/subscriptions.ts';
import { unsubscribePromptPage, unsubscribedPage } from '../pages.ts';
import { tokenParams } from '../validation.ts';

const schema = { params: tokenParams };

type Deps = Pick<SubscriptionDeps, 'subscribers' | 'clock' | 'secret'>;

/**
 * GET shows a button (link scanners prefetch GETs, so a GET must never unsubscribe); POST
 * unsubscribes at once — RFC 8058 one-click: no cookie, no login, no redirect, repeatable, 200.
 */
export const unsubscribeRoutes =
  (deps: Deps): FastifyPluginAsync =>
  async (fastify) => {
    const app = fastify.withTypeProvider<ZodTypeProvider>();
    // RFC 8058 allows multipart/form-data as well as urlencoded. The link itself carries everything
    // we need, so the body (List-Unsubscribe=One-Click) is accepted unread, under a tight limit.
    app.addContentTypeParser('multipart/form-data', { parseAs: 'string', bodyLimit: 16 * 1024 }, (_req, body, done) =>
      done(null, body),
    );

    app.get('/unsubscribe/:token', { schema }, async (req, reply) => {
      const subscriber = subscriberFromLink(deps, 'unsubscribe', req.params.token);
      return reply.type('text/html; charset=utf-8').send(unsubscribePromptPage(subscriber.email));
    });

    app.post('/unsubscribe/:token', { bodyLimit: 16 * 1024, schema }, async (req, reply) => {
      const subscriber = unsubscribe(deps, req.params.token);
      req.log.info({ subscriberId: subscriber.id }, 'unsubscribed');
      return reply.code(200).type('text/html; charset=utf-8').send(unsubscribedPage(subscriber.email));
    });
  };
