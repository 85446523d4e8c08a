import { createHash, timingSafeEqual } from 'node:crypto';
import { DomainError } from '../../../errors.ts';
import { identify, type HandleReportDeps, type MatchedBy } from '../../handle-report.ts';
import { applyBounceEvent, type AppliedBounce } from '../../policy.ts';
import type { BounceKind } from '../../events-store.ts';

/** A webhook call that did not prove it came from the provider: 401 (no proof) or 403 (a wrong one). */
export class WebhookRefused extends DomainError {
  constructor(
    readonly status: 401 | 403,
    message: string,
  ) {
    super(message);
  }
}

export type WebhookDeps = Omit<HandleReportDeps, 'parseReport' | 'quarantine' | 'maxBytes'>;

/** One recipient's fate as a provider's webhook tells it, already classified. */
export interface ProviderBounce {
  recipient: string;
  kind: BounceKind;
  reason: string;
  status?: string | undefined;
  diagnostic?: string | undefined;
  /** The original's envelope sender(s) as the provider reports them: where our VERP address is. */
  envelopeFrom: string[];
  /** The original's Message-ID header, when the payload carries it. */
  messageId?: string | undefined;
  /** The provider's id of this event: the same on every retry of the call. */
  eventId: string;
}

export interface AppliedProviderBounce {
  matchedBy: MatchedBy;
  applied: AppliedBounce;
}

/**
 * Puts a provider's events through the policy. A provider's signed call vouches for what it says,
 * so besides our signed identifiers (identify) it may match the recipient's address. A provider's
 * retry of the same event changes nothing.
 */
export function applyProviderBounces(
  deps: WebhookDeps,
  provider: string,
  bounces: readonly ProviderBounce[],
): AppliedProviderBounce[] {
  return bounces.map((b) => {
    const who = identify(
      deps,
      { envelopeTo: b.envelopeFrom, ...(b.messageId ? { originalMessageId: b.messageId } : {}) },
      { trustAddresses: true },
    );
    const applied = applyBounceEvent(deps, {
      subscriberId: who.subscriberId,
      verified: who.verified,
      recipient: b.recipient,
      kind: b.kind,
      reason: b.reason,
      status: b.status,
      diagnostic: b.diagnostic,
      source: `webhook:${provider}`,
      digestDate: who.digestDate,
      reportKey: `webhook:${provider}:${b.eventId}`,
    });
    const matchedBy: MatchedBy = applied.subscriber ? (who.subscriberId === undefined ? 'address' : who.by) : null;
    return { matchedBy, applied };
  });
}

/** Compares two secrets in constant time, whatever their lengths. */
export function sameSecret(given: string, expected: string): boolean {
  const digest = (s: string) => createHash('sha256').update(s).digest();
  return timingSafeEqual(digest(given), digest(expected));
}
