import type { Clock } from '../clock.ts';
import { SOFT_WINDOW_DAYS } from '../config.ts';
import type { Logger } from '../logger.ts';
import type { Subscriber, SubscribersStore } from '../db/subscribers-store.ts';
import { addDays } from '../domain/dates.ts';
import type { BounceKind, BounceStore } from './events-store.ts';
import { recipientDomain } from './domains.ts';
import { maskAddresses } from './mask-addresses.ts';
import { MAILBOX_REASONS } from './classify/rules.ts';
import { addressHash, type SuppressionList } from '../db/suppressions-store.ts';

/** One recipient's fate as a report (or a provider's webhook) tells it, already classified. */
export interface BounceEvent {
  /**
   * Whom it concerns: a subscriber id matched by the caller (VERP, Message-ID, link token), null
   * for nobody (a forged VERP address, say), or absent to look `recipient` up by address.
   */
  subscriberId?: number | null;
  /**
   * True when the subscriber was named by something Paperboy signed (VERP address, signed
   * Message-ID, unsubscribe link) or the channel vouches for the report (a provider's signed
   * webhook, an import the operator trusts). False: recorded as unverified, and nothing changes.
   */
  verified: boolean;
  /** The failed address as the report gives it. Stored only as a keyed hash. */
  recipient: string;
  kind: BounceKind;
  /** The classifier's reason (userunknown, mailboxfull, feedback, vacation, …). */
  reason: string;
  status?: string | undefined;
  diagnostic?: string | undefined;
  /** `<kind>:<name>`, e.g. `import:bounces.mbox`, `webhook:ses`, `smtp:send` (the relay's reply to our own send). */
  source: string;
  /** The digest it is about, when the report says (VERP, returned Message-ID). */
  digestDate?: string | undefined;
  /** The same for every reading of the same report: repeats change nothing. */
  reportKey: string;
}

/**
 * What the event did: `repeat` (this report was handled before: nothing changed), `nobody` (no
 * subscriber matched), `unverified` (a subscriber matched only by what anyone could write:
 * recorded, nothing changed), `suppressed`, `unsubscribed`, `counted` (a soft bounce about the
 * mailbox, below the limit), `recorded` (kept, held against no one: a refusal about the sender, a
 * delay, a soft bounce not about the mailbox), or `unchanged` (an ignore, or a subscriber already
 * off the list).
 */
type BounceEffect =
  'repeat' | 'nobody' | 'unverified' | 'suppressed' | 'unsubscribed' | 'counted' | 'recorded' | 'unchanged';

export interface AppliedBounce {
  effect: BounceEffect;
  subscriber: Pick<Subscriber, 'id' | 'email'> | null;
  digestDate: string | null;
  /** For a soft bounce: digests in a row that bounced, the newest first (see softBounceStreak). */
  softStreak?: number;
}

export interface BouncePolicyDeps {
  bounces: BounceStore;
  subscribers: SubscribersStore;
  suppressions: SuppressionList;
  clock: Clock;
  logger: Logger;
  secret: string;
  /** BOUNCE_SOFT_LIMIT. */
  softLimit: number;
}

/**
 * How many of a subscriber's most recent digests bounced softly in a row: their digest days
 * (those sent, and those a soft bounce names) newest first, counted until the first one that
 * went out and did not bounce. A digest that went out and did not come back is a delivery: it
 * ends the streak. The newest digest may still bounce later; its report re-counts.
 */
export function softBounceStreak(sentDays: readonly string[], softDays: readonly string[]): number {
  const bounced = new Set(softDays);
  const days = [...new Set([...sentDays, ...softDays])].sort().reverse();
  let streak = 0;
  for (const day of days) {
    if (!bounced.has(day)) break;
    streak++;
  }
  return streak;
}

/**
 * Records one event and applies the policy, in one transaction:
 * hard → suppressed at once; complaint → unsubscribed at once; soft about the mailbox (full,
 * disabled for a while, greylisting given up) → suppressed once `softLimit` digests in a row within
 * 30 days bounced so; sender (a refusal about the sender), delayed, another soft bounce, ignore →
 * recorded only. Hard bounces, complaints and soft suppressions also go onto the suppression list
 * (by address hash). The same (report, recipient) a second time changes nothing, except that an
 * event recorded as unverified is acted on when the same report comes again verified (an
 * operator's trusted import). An unverified event is recorded about nobody: it changes no
 * subscriber and counts in no rate.
 */
export function applyBounceEvent(deps: BouncePolicyDeps, event: BounceEvent): AppliedBounce {
  const nowIso = deps.clock.now().toISOString();
  const since = addDays(nowIso.slice(0, 10), -SOFT_WINDOW_DAYS);
  const applied = deps.bounces.transaction((): AppliedBounce => {
    const subscriber =
      event.subscriberId === undefined
        ? deps.subscribers.byEmail(event.recipient.trim())
        : event.subscriberId === null
          ? undefined
          : deps.subscribers.byId(event.subscriberId);
    // Without a digest named in the report, it is about the last digest the subscriber was sent.
    const digestDate =
      event.digestDate ??
      (subscriber && event.kind !== 'ignore' ? deps.bounces.lastSentDigestDay(subscriber.id, since) : undefined) ??
      null;
    const row = {
      subscriberId: event.verified ? (subscriber?.id ?? null) : null,
      verified: event.verified,
      kind: event.kind,
      reason: event.reason,
      status: event.status || null,
      // Masked here, where every way in passes: an erased address must not come back in a late report.
      diagnostic: event.diagnostic ? maskAddresses(event.diagnostic) : null,
      source: event.source,
      digestDate,
      reportKey: event.reportKey,
      recipientHash: addressHash(deps.secret, event.recipient),
      domain: recipientDomain(event.recipient),
      createdAt: nowIso,
    };
    const fresh = deps.bounces.insert(row) || (event.verified && deps.bounces.verify(row));
    const who = subscriber ? { id: subscriber.id, email: subscriber.email } : null;
    if (!fresh) return { effect: 'repeat', subscriber: who, digestDate };
    if (!subscriber) return { effect: 'nobody', subscriber: null, digestDate };
    if (!event.verified) return { effect: 'unverified', subscriber: who, digestDate };
    return { ...act(deps, subscriber, event, { nowIso, since }), subscriber: who, digestDate };
  });
  deps.logger.info(
    {
      subscriberId: applied.subscriber?.id,
      kind: event.kind,
      reason: event.reason,
      status: event.status,
      source: event.source,
      digestDate: applied.digestDate,
      verified: event.verified,
      effect: applied.effect,
    },
    'bounce event',
  );
  return applied;
}

/** What a verified, fresh event about a subscriber does to them (inside applyBounceEvent's transaction). */
function act(
  deps: BouncePolicyDeps,
  subscriber: Pick<Subscriber, 'id' | 'email'>,
  event: BounceEvent,
  at: { nowIso: string; since: string },
): Pick<AppliedBounce, 'effect' | 'softStreak'> {
  const detail = [event.status, event.reason].filter(Boolean).join(' ');
  const suppress = (why: string) => {
    deps.suppressions.add(subscriber.email, why);
    return deps.subscribers.suppress(subscriber.id, at.nowIso) ? 'suppressed' : 'unchanged';
  };
  switch (event.kind) {
    case 'ignore':
      return { effect: 'unchanged' };
    case 'sender':
    case 'delayed':
      return { effect: 'recorded' };
    case 'hard':
      return { effect: suppress(`hard bounce: ${detail} (${event.source})`) };
    case 'complaint':
      deps.suppressions.add(subscriber.email, `complaint: ${event.reason} (${event.source})`);
      return { effect: deps.subscribers.unsubscribe(subscriber.id, at.nowIso) ? 'unsubscribed' : 'unchanged' };
    case 'soft': {
      if (!MAILBOX_REASONS.includes(event.reason)) return { effect: 'recorded' };
      const softStreak = softBounceStreak(
        deps.bounces.sentDigestDays(subscriber.id, at.since),
        deps.bounces.softBounceDays(subscriber.id, at.since),
      );
      if (softStreak < deps.softLimit) return { effect: 'counted', softStreak };
      return {
        effect: suppress(`soft bounces on ${softStreak} digests in a row: ${detail} (${event.source})`),
        softStreak,
      };
    }
  }
}
