import { addDays } from '../domain/dates.ts';
import type { BounceStore, DayEvent } from './events-store.ts';
import { recipientDomain } from './domains.ts';
import { SOFT_WINDOW_DAYS } from '../config.ts';

/**
 * Refusals about the sender (the `sender` kind): how they are told to the operator, and which
 * readers are refused so steadily that the operator may want to judge them.
 */

/** How a receiving domain refused us, and what that is about, per classifier reason. */
const REASON_WORDS: Readonly<Record<string, { how: string; about: string }>> = {
  spam: { how: 'as spam', about: "the sending domain's reputation" },
  blocked: { how: 'on a blocklist or for reputation', about: "the sending domain's and IP's reputation" },
  'provider-code': { how: 'with its own refusal code', about: "the sending domain's reputation or volume" },
  authentication: {
    how: 'for failed authentication (SPF, DKIM, DMARC)',
    about: "the sending domain's DNS and signing setup",
  },
  'rate-limited': { how: 'for sending too fast', about: 'the sending rate' },
  policy: { how: 'by its policy', about: 'the sender' },
  'sender-rejected': { how: 'refusing the sender address', about: 'the sending address' },
  'sender-address': { how: 'refusing the sender address', about: 'the sending address' },
  'relay-denied': { how: 'as a relay', about: 'the sending setup' },
  'list-refused': { how: 'as a list post', about: 'the sender' },
};

/** One line per (domain, reason), most refusals first: "gmail.com refused 312 digests as spam: …". */
export function describeSenderRefusals(
  rows: readonly { domain: string; reason: string; refusals: number }[],
  limit = 10,
): string[] {
  const sorted = [...rows].sort((a, b) => b.refusals - a.refusals);
  const lines = sorted.slice(0, limit).map((r) => {
    const words = REASON_WORDS[r.reason] ?? { how: `for a reason about the sender (${r.reason})`, about: 'the sender' };
    const digests = r.refusals === 1 ? 'digest' : 'digests';
    return `${r.domain || 'an unknown domain'} refused ${r.refusals} ${digests} ${words.how}: this is ${words.about}, not your readers`;
  });
  const more = sorted.slice(limit).reduce((n, r) => n + r.refusals, 0);
  if (more) lines.push(`… and ${more} more refusals for the sender's reasons (npm run bounces -- stats)`);
  return lines;
}

/** A reader refused for one sender-side reason on every digest for SOFT_WINDOW_DAYS. */
export interface RefusedReader {
  email: string;
  domain: string;
  reason: string;
  /** The oldest digest of the unbroken row of refusals. */
  since: string;
  /** Digests refused in that row. */
  digests: number;
}

/**
 * The unbroken row of refusals for one sender-side reason that ends with a reader's latest
 * digest, when it goes back `days` or more; null otherwise. `events` are the reader's verified
 * events about recent digests, `sentDays` the digests the relay accepted for them. A digest
 * breaks the row when it was delivered (sent, and no refusal came back) or bounced for another
 * reason; a delay or an auto-reply says nothing either way.
 */
export function refusedThroughout(
  events: readonly DayEvent[],
  sentDays: readonly string[],
  today: string,
  days = SOFT_WINDOW_DAYS,
): Pick<RefusedReader, 'reason' | 'since' | 'digests'> | null {
  const refusals = new Map<string, Set<string>>();
  const otherwise = new Set(sentDays);
  for (const e of events) {
    if (e.kind === 'sender') refusals.set(e.day, (refusals.get(e.day) ?? new Set()).add(e.reason));
    else if (e.kind !== 'delayed' && e.kind !== 'ignore') otherwise.add(e.day);
  }
  const digestDays = [...new Set([...otherwise, ...refusals.keys()])].sort().reverse();
  const latest = refusals.get(digestDays[0] ?? '');
  if (!latest || latest.size !== 1) return null;
  const reason = [...latest][0]!;
  let since = '';
  let digests = 0;
  for (const day of digestDays) {
    if (!refusals.get(day)?.has(reason)) break;
    since = day;
    digests++;
  }
  return since <= addDays(today, -days) ? { reason, since, digests } : null;
}

/**
 * The confirmed readers refused for the same sender-side reason on every digest of the last
 * SOFT_WINDOW_DAYS, for `bounces stats`: listed for the operator to judge, never acted on. A week
 * more is read so a weekly reader's row can reach back that far.
 */
export function refusedReaders(store: BounceStore, today: string, days = SOFT_WINDOW_DAYS): RefusedReader[] {
  const recent = addDays(today, -days);
  const from = addDays(recent, -7);
  return store.refusedReaders(recent).flatMap((s) => {
    const row = refusedThroughout(store.dayEvents(s.id, from), store.sentDigestDays(s.id, from), today, days);
    return row ? [{ email: s.email, domain: recipientDomain(s.email), ...row }] : [];
  });
}
