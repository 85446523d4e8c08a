import type { FastifyPluginAsync } from 'fastify';
import { subscribe, type SubscriptionDeps } from '../../domain/subscriptions.ts';
import { describeInputError, subscribeSchema } from '../../domain/subscriber-input.ts';
import { checkInboxPage, subscribePage, type SamplePaper } from '../pages.ts';
import { wantsJson } from '../respond.ts';

export interface SubscribeRouteDeps {
  subscriptions: SubscriptionDeps;
  ratePerIpPerMinute: number;
  /** A few papers from the latest digest, shown on the front page as a sample. */
  sample: () => { date?: string; papers: SamplePaper[] };
}

// Rendered once: the answer must be the same bytes whatever the address's state.
const CHECK_INBOX = checkInboxPage();
const PENDING = JSON.stringify({ status: 'pending' });

export const subscribeRoutes =
  (deps: SubscribeRouteDeps): FastifyPluginAsync =>
  async (app) => {
    // The form posts urlencoded, API clients JSON; anything else (text/plain included) is a 415.
    app.removeContentTypeParser('text/plain');

    app.get('/', async (_req, reply) => {
      const sample = deps.sample();
      return reply.type('text/html; charset=utf-8').send(
        subscribePage({
          defaultSize: deps.subscriptions.defaultDigestSize,
          sample: sample.papers,
          ...(sample.date ? { sampleDate: sample.date } : {}),
        }),
      );
    });

    app.post(
      '/subscribe',
      {
        bodyLimit: 8 * 1024,
        config:
          deps.ratePerIpPerMinute > 0 ? { rateLimit: { max: deps.ratePerIpPerMinute, timeWindow: '1 minute' } } : {},
      },
      async (req, reply) => {
        const json = wantsJson(req);
        const parsed = subscribeSchema.safeParse(req.body ?? {});
        if (!parsed.success) {
          const error = describeInputError(parsed.error);
          if (json) return reply.code(400).send({ error: 'invalid_input', ...error });
          const values = typeof req.body === 'object' && req.body ? (req.body as Record<string, string>) : {};
          const sample = deps.sample();
          return reply
            .code(400)
            .type('text/html; charset=utf-8')
            .send(
              subscribePage({
                error,
                defaultSize: deps.subscriptions.defaultDigestSize,
                values: {
                  email: String(values.email ?? ''),
                  keywords: String(values.keywords ?? ''),
                  digest_size: String(values.digest_size ?? ''),
                  cadence: String(values.cadence ?? ''),
                  timezone: String(values.timezone ?? ''),
                  delivery_hour: String(values.delivery_hour ?? ''),
                },
                sample: sample.papers,
              }),
            );
        }
        await subscribe(deps.subscriptions, parsed.data);
        if (json) return reply.code(202).type('application/json; charset=utf-8').send(PENDING);
        return reply.code(202).type('text/html; charset=utf-8').send(CHECK_INBOX);
      },
    );
  };
