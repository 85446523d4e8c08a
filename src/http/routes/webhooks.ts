import type { FastifyPluginAsync } from 'fastify';
import { WebhookRefused, type WebhookDeps } from '../../bounces/sources/webhooks/provider-events.ts';
import type { SnsVerifier } from '../../bounces/sources/webhooks/sns.ts';
import { handleSesCall } from '../../bounces/sources/webhooks/ses.ts';
import { handlePostmarkCall } from '../../bounces/sources/webhooks/postmark.ts';
import { handleMailgunCall, type MailgunVerifier } from '../../bounces/sources/webhooks/mailgun.ts';
import { Invalid } from '../../errors.ts';

export interface WebhookRouteDeps {
  bounces: WebhookDeps;
  /** Set when SES_SNS_TOPIC_ARNS is. */
  ses?: SnsVerifier | undefined;
  /** POSTMARK_WEBHOOK_AUTH. */
  postmarkAuth?: string | undefined;
  mailgun?: MailgunVerifier | undefined;
}

// A provider's event is a few KB; a bounce with its original attached, far less than this.
const BODY_LIMIT = 256 * 1024;

/**
 * POST /webhooks/ses (Amazon SNS), /webhooks/postmark, /webhooks/mailgun. A call that does not
 * prove its origin gets 401 (no proof) or 403 (a wrong one) and changes nothing; answers are JSON
 * for the providers' logs.
 */
export const webhookRoutes =
  (deps: WebhookRouteDeps): FastifyPluginAsync =>
  async (app) => {
    app.setErrorHandler((err, req, reply) => {
      if (err instanceof WebhookRefused) {
        req.log.warn({ url: req.url, reason: err.message }, 'webhook refused');
        if (err.status === 401 && req.url.startsWith('/webhooks/postmark'))
          reply.header('www-authenticate', 'Basic realm="paperboy webhooks"');
        return reply
          .code(err.status)
          .send({ error: err.status === 401 ? 'unauthorized' : 'forbidden', message: err.message });
      }
      if (err instanceof Invalid) return reply.code(400).send({ error: 'invalid', message: err.message });
      throw err;
    });

    const { ses, postmarkAuth, mailgun } = deps;
    // SNS posts its JSON as text/plain, which Fastify reads as a string.
    if (ses)
      app.post('/webhooks/ses', { bodyLimit: BODY_LIMIT }, async (req) => handleSesCall(deps.bounces, ses, req.body));
    if (postmarkAuth) {
      app.post('/webhooks/postmark', { bodyLimit: BODY_LIMIT }, async (req) => ({
        status: 'handled',
        ...handlePostmarkCall(deps.bounces, postmarkAuth, req.headers.authorization, req.body),
      }));
    }
    if (mailgun)
      app.post('/webhooks/mailgun', { bodyLimit: BODY_LIMIT }, async (req) => ({
        status: 'handled',
        ...handleMailgunCall(deps.bounces, mailgun, req.body),
      }));
  };
