import type { FastifyPluginAsync } from 'fastify';
import { z } from 'zod';
import { subscriberFromLink, updatePreferences, type SubscriptionDeps } from '../../domain/subscriptions.ts';
import { describeInputError, preferencesSchema } from '../../domain/subscriber-input.ts';
import { signSubscriberToken } from '../../domain/tokens.ts';
import { preferencesPage } from '../pages.ts';
import type { Subscriber } from '../../db/subscribers-store.ts';
import type { KeywordPreview } from '../../domain/keyword-preview.ts';

const params = z.object({ token: z.string().max(200) });

type Deps = Pick<SubscriptionDeps, 'subscribers' | 'clock' | 'secret' | 'publicUrl'> & {
  /** How many recent papers a keyword list would have matched, shown beside the field. */
  keywordPreview: (keywords: string) => KeywordPreview;
};

export const preferencesRoutes =
  (deps: Deps): FastifyPluginAsync =>
  async (app) => {
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

    app.get('/preferences/:token', async (req, reply) => {
      const { token } = params.parse(req.params);
      return reply.type('text/html; charset=utf-8').send(page(subscriberFromLink(deps, 'preferences', token)));
    });

    app.post('/preferences/:token', { bodyLimit: 8 * 1024 }, async (req, reply) => {
      const { token } = params.parse(req.params);
      const subscriber = subscriberFromLink(deps, 'preferences', token);
      const parsed = preferencesSchema.safeParse(req.body ?? {});
      if (!parsed.success) {
        return reply
          .code(400)
          .type('text/html; charset=utf-8')
          .send(page(subscriber, { error: describeInputError(parsed.error).message }));
      }
      const updated = updatePreferences(deps, token, parsed.data);
      return reply.type('text/html; charset=utf-8').send(page(updated, { saved: true }));
    });
  };
