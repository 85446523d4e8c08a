import { z } from 'zod';
import { Invalid } from '../../../errors.ts';
import type { BounceKind } from '../../events-store.ts';
import { classifyFailure, providerDecision } from '../../classify/classify.ts';
import {
  applyProviderBounces,
  sameSecret,
  WebhookRefused,
  type ProviderBounce,
  type WebhookDeps,
} from './provider-events.ts';

/**
 * Postmark signs nothing: it recommends HTTP Basic credentials in the webhook URL (and an IP
 * allow-list at the proxy). The header is checked against POSTMARK_WEBHOOK_AUTH in constant time.
 */
function checkPostmarkAuth(authorization: string | undefined, expected: string): void {
  const m = /^Basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(authorization ?? '');
  if (!m) throw new WebhookRefused(401, 'no Basic credentials');
  if (!sameSecret(Buffer.from(m[1]!, 'base64').toString('utf8'), expected))
    throw new WebhookRefused(403, 'wrong Basic credentials');
}

// The bounce and spam-complaint webhooks share one shape (RecordType tells them apart).
const postmarkEvent = z.object({
  RecordType: z.string(),
  ID: z.union([z.number(), z.string()]).optional(),
  Type: z.string().optional(),
  Email: z.string().optional(),
  Description: z.string().optional(),
  Details: z.string().optional(),
});
type PostmarkEvent = z.infer<typeof postmarkEvent>;

// Postmark's bounce types (its "Bounce API" table) whose meaning is plain; the rest go to the
// classifier. Its spam notices, blocks and DMARC refusals are about the sender.
const POSTMARK_KINDS: Record<string, BounceKind> = {
  SpamComplaint: 'complaint',
  SpamNotification: 'sender',
  Blocked: 'sender',
  DMARCPolicy: 'sender',
  AutoResponder: 'ignore',
  AddressChange: 'ignore',
  Subscribe: 'ignore',
  ChallengeVerification: 'ignore',
  OpenRelayTest: 'ignore',
  ManuallyDeactivated: 'ignore',
};

// Postmark's verdicts on the address: the server's words still decide whether it was about the
// sender (a "hard bounce" for spam), and which passing failure it was (a full mailbox counts).
const POSTMARK_SAID: Record<string, 'hard' | 'soft'> = {
  HardBounce: 'hard',
  BadEmailAddress: 'hard',
  SoftBounce: 'soft',
  Transient: 'soft',
  DnsError: 'soft',
};

export function postmarkBounces(e: PostmarkEvent): ProviderBounce[] {
  if ((e.RecordType !== 'Bounce' && e.RecordType !== 'SpamComplaint') || !e.Email || e.ID === undefined) return [];
  const type = e.Type ?? e.RecordType;
  const classified = classifyFailure({ diagnostic: [e.Details, e.Description].filter(Boolean).join(' ') });
  const kind = POSTMARK_KINDS[type] ?? providerDecision(POSTMARK_SAID[type], classified);
  const typeName = type.replace(/([a-z])([A-Z])/g, '$1-$2').toLowerCase();
  const reason =
    kind === 'complaint'
      ? 'feedback'
      : POSTMARK_KINDS[type] || (POSTMARK_SAID[type] && (kind === 'hard' || classified.reason === 'undetermined'))
        ? typeName
        : classified.reason;
  return [{ recipient: e.Email, kind, reason, diagnostic: e.Details, envelopeFrom: [], eventId: String(e.ID) }];
}

export function handlePostmarkCall(
  deps: WebhookDeps,
  expectedAuth: string,
  authorization: string | undefined,
  body: unknown,
): { events: number } {
  checkPostmarkAuth(authorization, expectedAuth);
  const parsed = postmarkEvent.safeParse(body);
  if (!parsed.success) throw new Invalid('not a Postmark webhook payload');
  return { events: applyProviderBounces(deps, 'postmark', postmarkBounces(parsed.data)).length };
}
