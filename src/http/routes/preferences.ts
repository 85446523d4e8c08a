import type { FastifyPluginAsync } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { subscriberFromLink, updatePreferences, type SubscriptionDeps } from '../../domain/subscriptions.ts';
import { preferencesSchema } from '../../domain/subscriber-input.ts';
import { signSubscriberToken } from '../../domain/tokens.ts';
import { preferencesPage } from '../pages.ts';
import type { Subscriber } from '../../db/subscribers-store.ts';
import type { KeywordPreview } from '../../domain/keyword-preview.ts';
import { tokenParams, validationProblem } from '../validation.ts';

// A POST without a body is a form with no fields.
const body = z.preprocess((b) => b ?? {}, preferencesSchema);

type Deps = Pick<SubscriptionDeps, 'subscribers' | 'clock' | 'secret' | 'publicUrl'> & {
  /** How many recent papers a keyword list would have matched, shown beside the field. */
  keywordPreview: (keywords: string) => KeywordPreview;
};

export const preferencesRoutes =
  (deps: Deps): FastifyPluginAsync =>
  async (fastify) => {
    const app = fastify.withTypeProvider<ZodTypeProvider>();
    const page = (s: Subscriber, extra: { saved?: boolean; error?: string } = {}) =>
      preferencesPage({
        email: s.email,
        digestSize: s.digestSize,
        keywords: s.keywords,
        cadence: s.cadence,
        timezone: s.timezone,
        deliveryHour: s.deliveryHour,
        preview: deps.keywordPreview(s.keywords),
        unsubscribeUrl: `/unsubscribe/${signSubscriberToken(deps.secret, 'unsubscribe', s.id)}`,
        // Absolute: it is copied into a feed reader.
        feedUrl: `${deps.publicUrl}/feeds/${signSubscriberToken(deps.secret, 'feed', s.id)}.atom`,
        ...extra,
      });

    app.get('/preferences/:token', { schema: { params: tokenParams } }, async (req, reply) => {
      return reply
        .type('text/html; charset=utf-8')
        .send(page(subscriberFromLink(deps, 'preferences', req.params.token)));
    });

    // A form the page shows again with the problem: its body's validation error comes to the handler.
    const schema = { params: tokenParams, body };
    app.post('/preferences/:token', { bodyLimit: 8 * 1024, schema, attachValidation: true }, async (req, reply) => {
      if (req.validationError && req.validationError.validationContext !== 'body') throw req.validationError;
      const { token } = req.params;
      const subscriber = subscriberFromLink(deps, 'preferences', token);
      const problem = validationProblem(req.validationError);
      if (problem) {
        return reply
          .code(400)
          .type('text/html; charset=utf-8')
          .send(page(subscriber, { error: problem.message }));
      }
      const updated = updatePreferences(deps, token, req.body);
      return reply.type('text/html; charset=utf-8').send(page(updated, { saved: true }));
    });
  };
