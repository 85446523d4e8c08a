import type { GroupCommit } from '../db/group-commit.ts';
import type { SignupSettings, SubscribersStore, Subscriber } from '../db/subscribers-store.ts';
import type { MailQueueStore } from '../db/mail-queue-store.ts';
import type { SuppressionList } from '../db/suppressions-store.ts';
import type { CapScope, ConfirmationWindowsStore, ConfirmWindow } from '../db/confirmation-windows-store.ts';
import type { Clock } from '../clock.ts';
import type { Logger } from '../logger.ts';
import { NotFound } from '../errors.ts';
import {
  hashConfirmToken,
  newConfirmToken,
  subscriberLinks,
  verifyConfirmToken,
  verifySubscriberToken,
} from './tokens.ts';
import { isDomainCapped, mailboxOf } from './mailbox.ts';
import type { DigestSize } from '../config.ts';
import type { PreferencesInput, SubscribeInput } from './subscriber-input.ts';

export const CONFIRM_TOKEN_TTL_MS = 48 * 3600_000;
const HOUR_MS = 3600_000;

export interface SubscriptionDeps {
  /** Sign-ups from concurrent requests share a commit (see group-commit.ts). */
  writes: GroupCommit;
  subscribers: SubscribersStore;
  mailQueue: MailQueueStore;
  /** A confirmed double opt-in takes the address off it. */
  suppressions: Pick<SuppressionList, 'lift'>;
  confirmationWindows: ConfirmationWindowsStore;
  clock: Clock;
  logger: Logger;
  publicUrl: string;
  secret: string;
  defaultDigestSize: DigestSize;
  /** At most this many confirmation emails to one mailbox (address without +tag) per hour, whoever asks. */
  confirmationsPerAddressPerHour: number;
  /** At most this many to one domain per hour (0: no cap); big shared providers are exempt (mailbox.ts). */
  confirmationsPerDomainPerHour: number;
  /** Called after mail was queued, so the worker sends it now rather than at its next poll. */
  onMailQueued?: () => void;
}

/**
 * Starts a double opt-in, or adds a request to one that is pending. Whatever the address's state —
 * new, pending, confirmed, unsubscribed — the caller learns nothing: it returns nothing, and does
 * the same kind of work. Resolves once the sign-up and its email (a confirmation, or "you're
 * already subscribed" with their links to a confirmed address) are committed.
 */
export async function subscribe(deps: SubscriptionDeps, input: SubscribeInput): Promise<void> {
  if (input.website) {
    deps.logger.info('subscribe: honeypot filled, ignored');
    return;
  }
  const now = deps.clock.now();
  const queued = await deps.writes.run(() => {
    if (!takeConfirmWindows(deps, input.email, now)) return false;
    const existing = deps.subscribers.byEmail(input.email);
    // A confirmed subscriber keeps their subscription and preferences: only their own links change
    // them. They get those links, under the same caps as confirmations.
    if (existing?.status === 'confirmed') {
      const links = subscriberLinks(deps.publicUrl, deps.secret, existing.id);
      deps.mailQueue.enqueue({
        kind: 'already-subscribed',
        recipient: existing.email,
        payload: { ...links, subscriberId: existing.id },
        now: now.toISOString(),
      });
      return true;
    }
    requestConfirmation(deps, input, existing, now.toISOString());
    return true;
  });
  if (queued) deps.onMailQueued?.();
}

/**
 * One confirmation email for a new or pending address, its link naming a request that holds this
 * sign-up's settings alone: whoever asks again for a pending address gets a link of their own,
 * and the earlier links keep theirs. A new subscription after an unsubscribe starts from the form
 * alone, not from whatever the old subscription's links last set.
 */
function requestConfirmation(
  deps: SubscriptionDeps,
  input: SubscribeInput,
  existing: Subscriber | undefined,
  now: string,
): void {
  const settings = {
    digestSize: input.digest_size ?? deps.defaultDigestSize,
    keywords: input.keywords ?? '',
    cadence: input.cadence ?? 'daily',
    timezone: input.timezone ?? null,
    deliveryHour: input.delivery_hour ?? null,
  };
  let subscriberId: number;
  if (!existing) subscriberId = deps.subscribers.insertPending({ email: input.email, ...settings, now });
  else if (existing.status !== 'pending')
    subscriberId = deps.subscribers.replaceWithPending({ id: existing.id, email: input.email, ...settings, now });
  else {
    deps.subscribers.noteConfirmationSent(existing.id, now);
    subscriberId = existing.id;
  }
  const { token, hash } = newConfirmToken(deps.secret, subscriberId);
  deps.subscribers.addRequest({ hash, subscriberId, ...settings, sentAt: now });
  // The subscriber's id names them in the email's envelope sender (VERP), for its bounce.
  deps.mailQueue.enqueue({
    kind: 'confirm',
    recipient: input.email,
    payload: { confirmUrl: `${deps.publicUrl}/confirm/${token}`, subscriberId },
    now,
  });
}

/** The window key of a mailbox's cap; erasing an address deletes its window. */
export const mailboxWindowKey = (email: string) => `mailbox:${mailboxOf(email).mailbox}`;

/**
 * Counts one more confirmation email to `email` against its mailbox's cap and its domain's, or,
 * when either is full, holds it back: false, counted, and warned about once per domain an hour.
 * Checked together so a capped sign-up counts against neither.
 */
function takeConfirmWindows(deps: SubscriptionDeps, email: string, now: Date): boolean {
  const { domain } = mailboxOf(email);
  const caps: [string, number, CapScope][] = [
    [mailboxWindowKey(email), deps.confirmationsPerAddressPerHour, 'address'],
  ];
  if (deps.confirmationsPerDomainPerHour > 0 && isDomainCapped(domain))
    caps.push([`domain:${domain}`, deps.confirmationsPerDomainPerHour, 'domain']);
  const next: [string, ConfirmWindow][] = [];
  for (const [key, cap, scope] of caps) {
    const window = nextConfirmWindow(deps.confirmationWindows.get(key), now, cap);
    if (!window) {
      holdBack(deps, scope, cap, domain, now);
      return false;
    }
    next.push([key, window]);
  }
  for (const [key, window] of next) deps.confirmationWindows.save(key, window);
  return true;
}

/**
 * A capped sign-up gets the same answer as any other, so only the operator can see it: every one
 * is counted (GET /metrics), and a warning names the domain — never the address — once an hour,
 * however many are held back.
 */
function holdBack(deps: SubscriptionDeps, scope: CapScope, perHour: number, domain: string, now: Date): void {
  deps.confirmationWindows.countCapped(scope);
  const key = `warning:${scope}:${domain}`;
  const warning = nextConfirmWindow(deps.confirmationWindows.get(key), now, 1);
  if (!warning) return;
  deps.confirmationWindows.save(key, warning);
  deps.logger.warn(
    { cap: scope, domain, perHour },
    `subscribe: per-${scope} confirmation cap reached at ${domain}, emails held back (warned once an hour per domain)`,
  );
}

/**
 * A cap's window after one more confirmation email, or null when it already had its `cap` emails
 * in the hour the window started.
 */
export function nextConfirmWindow(current: ConfirmWindow | undefined, now: Date, cap: number): ConfirmWindow | null {
  const start = current ? Date.parse(current.start) : NaN;
  if (!(now.getTime() - start < HOUR_MS)) return { start: now.toISOString(), count: 1 };
  return current!.count < cap ? { start: current!.start, count: current!.count + 1 } : null;
}

export type ConfirmOutcome =
  | { outcome: 'confirmed'; subscriber: Subscriber }
  | { outcome: 'already-confirmed' }
  | { outcome: 'expired' }
  | { outcome: 'invalid' };

export type ConfirmLinkState =
  | Exclude<ConfirmOutcome, { outcome: 'confirmed' }>
  | { outcome: 'ready'; subscriber: Subscriber; settings: SignupSettings };

type ConfirmDeps = Pick<SubscriptionDeps, 'subscribers' | 'clock' | 'secret'>;

/**
 * What a confirmation link would do, without doing it: opening the link (GET) only shows this,
 * because mail filters open every link of an incoming email to scan it. A link whose request is
 * gone is told apart by the subscriber its signature names: confirmed (by this link or another),
 * or still pending, so its request expired.
 */
export function checkConfirmLink(deps: ConfirmDeps, token: string): ConfirmLinkState {
  if (!/^[\w-]{32}$/.test(token)) return { outcome: 'invalid' };
  const request = deps.subscribers.request(hashConfirmToken(token));
  const id = request ? request.subscriberId : verifyConfirmToken(deps.secret, token);
  const subscriber = id === null ? undefined : deps.subscribers.byId(id);
  if (!subscriber) return { outcome: 'invalid' };
  if (subscriber.status === 'confirmed') return { outcome: 'already-confirmed' };
  if (subscriber.status !== 'pending') return { outcome: 'invalid' };
  if (!request) return { outcome: 'expired' };
  const now = deps.clock.now();
  if (!(now.getTime() - Date.parse(request.sentAt) <= CONFIRM_TOKEN_TTL_MS)) return { outcome: 'expired' };
  const { digestSize, keywords, cadence, timezone, deliveryHour } = request;
  return { outcome: 'ready', subscriber, settings: { digestSize, keywords, cadence, timezone, deliveryHour } };
}

/**
 * Single use: the token confirms a pending address once, within 48 hours of being sent, with the
 * settings its own sign-up asked for.
 */
export function confirm(deps: ConfirmDeps & Pick<SubscriptionDeps, 'suppressions'>, token: string): ConfirmOutcome {
  const link = checkConfirmLink(deps, token);
  if (link.outcome !== 'ready') return link;
  deps.subscribers.confirm(link.subscriber.id, deps.clock.now().toISOString(), link.settings);
  // The owner of the address asked for mail again: an earlier bounce or complaint no longer holds.
  deps.suppressions.lift(link.subscriber.email);
  return { outcome: 'confirmed', subscriber: { ...link.subscriber, ...link.settings, status: 'confirmed' } };
}

type LinkDeps = Pick<SubscriptionDeps, 'subscribers' | 'clock' | 'secret'>;

/** The subscriber a signed unsubscribe/preferences link points at; NotFound for a bad link. */
export function subscriberFromLink(deps: LinkDeps, purpose: 'unsubscribe' | 'preferences', token: string): Subscriber {
  const id = verifySubscriberToken(deps.secret, purpose, token);
  const subscriber = id === null ? undefined : deps.subscribers.byId(id);
  if (!subscriber) throw new NotFound('This link is not valid. It may have been copied incompletely.');
  return subscriber;
}

/** RFC 8058 one-click: idempotent, needs nothing but the signed link. */
export function unsubscribe(deps: LinkDeps, token: string): Subscriber {
  const subscriber = subscriberFromLink(deps, 'unsubscribe', token);
  deps.subscribers.unsubscribe(subscriber.id, deps.clock.now().toISOString());
  return { ...subscriber, status: 'unsubscribed' };
}

export function updatePreferences(deps: LinkDeps, token: string, input: PreferencesInput): Subscriber {
  const subscriber = subscriberFromLink(deps, 'preferences', token);
  const digestSize = input.digest_size ?? subscriber.digestSize;
  const keywords = input.keywords ?? subscriber.keywords;
  const cadence = input.cadence ?? subscriber.cadence;
  // A zone or hour left out keeps its value; null (the form's empty option) goes back to the default.
  const timezone = input.timezone === undefined ? subscriber.timezone : input.timezone;
  const deliveryHour = input.delivery_hour === undefined ? subscriber.deliveryHour : input.delivery_hour;
  const settings = { digestSize, keywords, cadence, timezone, deliveryHour };
  deps.subscribers.setPreferences({ id: subscriber.id, ...settings, now: deps.clock.now().toISOString() });
  return { ...subscriber, ...settings };
}
