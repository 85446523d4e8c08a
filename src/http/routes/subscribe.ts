import type { FastifyPluginAsync } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { subscribe, type SubscriptionDeps } from '../../domain/subscriptions.ts';
import { subscribeSchema } from '../../domain/subscriber-input.ts';
import { checkInboxPage, subscribePage, type SamplePaper } from '../pages.ts';
import { wantsJson } from '../respond.ts';
import { validationProblem } from '../validation.ts';

export interface SubscribeRouteDeps {
  subscriptions: SubscriptionDeps;
  ratePerIpPerMinute: number;
  /** A few papers from the latest digest, shown on the front page as a sample. */
  sample: () => { date?: string; papers: SamplePaper[] };
}

// Rendered once: the answer must be the same bytes whatever the address's state.
const CHECK_INBOX = checkInboxPage();
const PENDING = JSON.stringify({ status: 'pending' });
// A POST without a body is a form with no fields.
const body = z.preprocess((b) => b ?? {}, subscribeSchema);

export const subscribeRoutes =
  (deps: SubscribeRouteDeps): FastifyPluginAsync =>
  async (fastify) => {
    const app = fastify.withTypeProvider<ZodTypeProvider>();
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
        // The form is shown again with the problem: the validation error comes to the handler.
        schema: { body },
        attachValidation: true,
        config:
          deps.ratePerIpPerMinute > 0 ? { rateLimit: { max: deps.ratePerIpPerMinute, timeWindow: '1 minute' } } : {},
      },
      async (req, reply) => {
        const json = wantsJson(req);
        const error = validationProblem(req.validationError);
        if (error) {
          if (json) return reply.code(400).send({ error: 'invalid_input', ...error });
          // The body as it came, not validated: the fields are shown back as the person typed them.
          const raw: unknown = req.body;
          const values = typeof raw === 'object' && raw ? (raw as Record<string, string>) : {};
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
        await subscribe(deps.subscriptions, req.body);
        if (json) return reply.code(202).type('application/json; charset=utf-8').send(PENDING);
        return reply.code(202).type('text/html; charset=utf-8').send(CHECK_INBOX);
      },
    );
  };
