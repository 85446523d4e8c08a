import { createHmac } from 'node:crypto';
import { z } from 'zod';
import type { Clock } from '../../../clock.ts';
import { Invalid } from '../../../errors.ts';
import { classifyFailure, providerDecision } from '../../classify/classify.ts';
import {
  applyProviderBounces,
  sameSecret,
  WebhookRefused,
  type ProviderBounce,
  type WebhookDeps,
} from './provider-events.ts';
import type { WebhookTokensStore } from './webhook-tokens-store.ts';

/** Mailgun's advice: refuse a signature older than this (or as far ahead), and a token seen before. */
const MAILGUN_MAX_AGE_MS = 5 * 60_000;

const signature = z.object({
  timestamp: z.union([z.string(), z.number()]),
  token: z.string().min(1),
  signature: z.string().min(1),
});

export type MailgunVerifier = ReturnType<typeof createMailgunVerifier>;

/**
 * Mailgun signs each call: signature = hex HMAC-SHA256(signing key, timestamp + token). It signs
 * neither the event nor the URL, so a signature seen once (a proxy's log, a leaked request) could
 * carry any event: a call dated more than 5 minutes from now either way, or whose token was used
 * before, is refused. A token is remembered in the database until its date plus those 5 minutes,
 * when its signature is refused as stale anyway, so a restart forgets none still fresh and the
 * table holds only the last minutes' calls.
 */
export function createMailgunVerifier(signingKey: string, clock: Clock, tokens: WebhookTokensStore) {
  return {
    verify(body: unknown): void {
      const given = signature.safeParse((body as { signature?: unknown } | null)?.signature);
      if (!given.success) throw new WebhookRefused(401, 'no Mailgun signature');
      const { timestamp, token } = given.data;
      const expected = createHmac('sha256', signingKey).update(`${timestamp}${token}`).digest('hex');
      if (!sameSecret(given.data.signature.toLowerCase(), expected))
        throw new WebhookRefused(403, 'the Mailgun signature does not verify');
      const now = clock.now();
      const signedAt = Number(timestamp) * 1000;
      if (!/^\d+$/.test(String(timestamp)) || Math.abs(now.getTime() - signedAt) > MAILGUN_MAX_AGE_MS)
        throw new WebhookRefused(
          403,
          `the Mailgun signature's timestamp ${timestamp} is more than 5 minutes from now (${now.toISOString()})`,
        );
      if (!tokens.use('mailgun', token, new Date(signedAt + MAILGUN_MAX_AGE_MS), now))
        throw new WebhookRefused(403, 'the Mailgun token was used before (a replay)');
    },
  };
}

const mailgunEvent = z.object({
  'event-data': z.object({
    id: z.string(),
    event: z.string(),
    recipient: z.string().optional(),
    severity: z.string().optional(),
    reason: z.string().optional(),
    'delivery-status': z
      .object({
        code: z.union([z.number(), z.string()]).optional(),
        'enhanced-code': z.string().optional(),
        message: z.string().optional(),
        description: z.string().optional(),
      })
      .optional(),
    envelope: z.object({ sender: z.string().optional() }).optional(),
    message: z.object({ headers: z.object({ 'message-id': z.string().optional() }).optional() }).optional(),
  }),
});
type MailgunEvent = z.infer<typeof mailgunEvent>['event-data'];

/**
 * `failed` with severity `temporary` is soft, unless the reply is about the sender. `permanent`
 * is any 5xx, sender-side refusals (spam, reputation, DMARC) included, so the classifier decides
 * from the reply, and only an address it finds bad is hard; `suppress-bounce` (Mailgun did not
 * even try: the address bounced before) is hard. `complained` unsubscribes.
 */
export function mailgunBounces(e: MailgunEvent): ProviderBounce[] {
  if (!e.recipient) return [];
  const common = {
    recipient: e.recipient,
    envelopeFrom: e.envelope?.sender ? [e.envelope.sender] : [],
    messageId: e.message?.headers?.['message-id'],
    eventId: e.id,
  };
  if (e.event === 'complained') return [{ ...common, kind: 'complaint', reason: 'feedback' }];
  if (e.event !== 'failed') return [];
  const ds = e['delivery-status'];
  const status = ds?.['enhanced-code'] ?? (ds?.code !== undefined ? String(ds.code) : undefined);
  const diagnostic = [ds?.message, ds?.description].filter(Boolean).join(' ') || undefined;
  const classified = classifyFailure({ status, diagnostic });
  const more = { status: ds?.['enhanced-code'], diagnostic, reason: classified.reason };
  if (e.severity !== 'permanent') return [{ ...common, ...more, kind: providerDecision('soft', classified) }];
  if (e.reason === 'suppress-bounce') return [{ ...common, ...more, kind: 'hard', reason: 'suppressed' }];
  const said = classified.decision === 'hard' ? 'hard' : 'soft';
  return [{ ...common, ...more, kind: providerDecision(said, classified) }];
}

export function handleMailgunCall(deps: WebhookDeps, verifier: MailgunVerifier, body: unknown): { events: number } {
  verifier.verify(body);
  const parsed = mailgunEvent.safeParse(body);
  if (!parsed.success) throw new Invalid('not a Mailgun webhook payload');
  return { events: applyProviderBounces(deps, 'mailgun', mailgunBounces(parsed.data['event-data'])).length };
}
