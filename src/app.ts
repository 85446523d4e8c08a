import Fastify, {
  LogController,
  type FastifyBaseLogger,
  type FastifyError,
  type FastifyInstance,
  type FastifyReply,
  type FastifyRequest,
} from 'fastify';
import formbody from '@fastify/formbody';
import rateLimit from '@fastify/rate-limit';
import { subscriptionDeps, webhookRouteDeps, type Context } from './context.ts';
import type { Templates } from './mail/templates.ts';
import { DomainError, Gone, Invalid, NotFound, Conflict } from './errors.ts';
import { messagePage } from './http/pages.ts';
import { wantsJson } from './http/respond.ts';
import { addSecurityHeaders, securityHeaders } from './http/security-headers.ts';
import { useZodSchemas, validationProblem } from './http/validation.ts';
import { subscribeRoutes } from './http/routes/subscribe.ts';
import { confirmRoutes } from './http/routes/confirm.ts';
import { unsubscribeRoutes } from './http/routes/unsubscribe.ts';
import { preferencesRoutes } from './http/routes/preferences.ts';
import { createKeywordPreview } from './domain/keyword-preview.ts';
import { healthCheck, healthRoutes } from './http/routes/health.ts';
import { createHealthStore } from './db/health-store.ts';
import { digestRoutes } from './http/routes/digests.ts';
import { feedRoutes } from './http/routes/feeds.ts';
import { metricsRoutes } from './http/routes/metrics.ts';
import { webhookRoutes } from './http/routes/webhooks.ts';
import type { SnsFetch } from './bounces/sources/webhooks/sns.ts';
import type { DigestsStore } from './db/digests-store.ts';
import type { SamplePaper } from './http/pages.ts';

export interface AppOptions {
  templates: Templates;
  /** Wakes the mail queue worker after a confirmation email was queued. */
  onMailQueued?: () => void;
  /** Fetches SNS signing certificates and SubscribeURLs (default: fetch; tests serve them locally). */
  snsFetch?: SnsFetch;
}

const STATUS_OF: [new (...a: never[]) => DomainError, number][] = [
  [Invalid, 400],
  [NotFound, 404],
  [Conflict, 409],
  [Gone, 410],
];

/** Messages a person can act on, for the errors Fastify raises before a handler runs. */
const FRAMEWORK_MESSAGES: Record<string, string> = {
  FST_ERR_CTP_INVALID_MEDIA_TYPE: 'Send the form as application/x-www-form-urlencoded or JSON.',
  FST_ERR_CTP_BODY_TOO_LARGE: 'The request is too large.',
  FST_ERR_CTP_INVALID_JSON_BODY: 'The JSON in the request could not be read.',
  FST_ERR_CTP_EMPTY_JSON_BODY: 'The request body is empty.',
  FST_ERR_MAX_PARAM_LENGTH: 'This link is too long to be one of ours: check that it was copied whole and nothing more.',
  FST_ERR_BAD_URL: 'This address could not be read: check that the link was copied whole.',
};

/** The one answer to every error: a status, a message a person can act on, 5xx details only in the log. */
function answerError(err: FastifyError, req: FastifyRequest, reply: FastifyReply) {
  let status = err.statusCode ?? 500;
  let message = FRAMEWORK_MESSAGES[err.code] ?? validationProblem(err)?.message ?? err.message;
  if (err instanceof DomainError) status = STATUS_OF.find(([type]) => err instanceof type)?.[1] ?? 500;
  if (status >= 500) {
    req.log.error({ err }, 'request failed');
    message = 'Something went wrong on our side. Please try again in a minute.';
  }
  if (status === 429) message = 'Too many requests from your network. Please wait a minute and try again.';
  if (wantsJson(req)) return reply.code(status).send({ error: status >= 500 ? 'internal' : 'request_error', message });
  const title =
    status === 404
      ? 'Not found'
      : status === 429
        ? 'Slow down'
        : status >= 500
          ? 'Something went wrong'
          : 'That did not work';
  return reply.code(status).type('text/html; charset=utf-8').send(messagePage(title, message));
}

/** Builds the HTTP app; it never listens (main.ts does), so tests use app.inject(). */
export async function buildApp(ctx: Context, opts: AppOptions): Promise<FastifyInstance> {
  const trustProxy = ctx.config.TRUST_PROXY;
  const app = Fastify({
    loggerInstance: ctx.logger as FastifyBaseLogger,
    // A hop count as Fastify itself reads one (its types leave the number out).
    trustProxy: typeof trustProxy === 'number' ? (_address: string, hop: number) => hop < trustProxy : trustProxy,
    // One line per request is noise at info level; errors are logged by the error handler.
    logController: new LogController({ disableRequestLogging: !['debug', 'trace'].includes(ctx.config.LOG_LEVEL) }),
    // Errors Fastify answers before routing (a path parameter over maxParamLength: 414) skip the
    // hooks: give them the headers and the answer every other error gets.
    frameworkErrors: (err, req, reply) => {
      securityHeaders(req.raw, reply.raw, () => {});
      return answerError(err, req, reply);
    },
  });
  addSecurityHeaders(app);
  useZodSchemas(app);
  await app.register(formbody, { bodyLimit: 8 * 1024 });
  await app.register(rateLimit, { global: false });
  app.setErrorHandler(answerError);

  app.setNotFoundHandler((req, reply) => {
    const message = 'There is no page at this address.';
    if (wantsJson(req)) return reply.code(404).send({ error: 'not_found', message });
    return reply.code(404).type('text/html; charset=utf-8').send(messagePage('Not found', message));
  });

  const subscriptions = subscriptionDeps(ctx, opts.onMailQueued);

  // Every route, in one place.
  await app.register(
    subscribeRoutes({
      subscriptions,
      ratePerIpPerMinute: ctx.config.SUBSCRIBE_RATE_PER_IP,
      sample: () => latestSample(ctx.digests),
    }),
  );
  await app.register(confirmRoutes(subscriptions));
  await app.register(unsubscribeRoutes(subscriptions));
  await app.register(
    preferencesRoutes({
      ...subscriptions,
      keywordPreview: createKeywordPreview({ papers: ctx.papers, clock: ctx.clock }),
    }),
  );
  await app.register(healthRoutes(healthCheck({ store: createHealthStore(ctx.db), clock: ctx.clock })));
  await app.register(
    digestRoutes({
      digests: ctx.digests,
      templates: opts.templates,
      publicUrl: ctx.config.PUBLIC_URL,
      size: ctx.config.DIGEST_SIZE,
    }),
  );
  await app.register(
    feedRoutes({
      digests: ctx.digests,
      subscribers: ctx.subscribers,
      secret: ctx.secret,
      publicUrl: ctx.config.PUBLIC_URL,
      size: ctx.config.DIGEST_SIZE,
    }),
  );
  await app.register(
    metricsRoutes({
      token: ctx.config.METRICS_TOKEN,
      db: ctx.db,
      clock: ctx.clock,
      config: ctx.config,
      ledger: ctx.ledger,
    }),
  );
  await app.register(webhookRoutes(webhookRouteDeps(ctx, opts.snsFetch)));
  return app;
}

/** The top three papers of the latest digest, as a taste of what arrives. */
function latestSample(digests: DigestsStore): { date?: string; papers: SamplePaper[] } {
  const latest = digests.list(1, 'daily')[0];
  const papers = latest ? (digests.get(latest.date)?.papers ?? []) : [];
  return {
    ...(latest ? { date: latest.date } : {}),
    papers: papers.slice(0, 3).map((p) => ({
      title: p.title,
      upvotes: p.upvotes,
      authors: p.authors.slice(0, 2).join(', ') + (p.authors.length > 2 ? ' et al.' : ''),
    })),
  };
}
