import type { DigestsStore } from '../db/digests-store.ts';
import type { Subscriber, SubscribersStore } from '../db/subscribers-store.ts';
import { Gone, NotFound } from '../errors.ts';
import type { Paper } from '../model/paper.ts';
import { parseKeywords, rankPapers } from './ranking.ts';
import type { Cadence } from '../model/cadence.ts';
import { verifySubscriberToken } from './tokens.ts';

/** How many of the latest editions a feed looks at. */
export const FEED_EDITIONS = 30;

export interface FeedReader {
  /** One cadence, or both when absent (the public feed without a subscription). */
  cadence?: Cadence;
  size: number;
  /** Comma-separated, as a subscriber's are stored. */
  keywords: string;
}

export interface FeedEdition {
  date: string;
  cadence: Cadence;
  createdAt: string;
  papers: Paper[];
}

/**
 * The latest editions as they would have reached this reader: each frozen ranking cut and
 * filtered exactly as the email to such a subscriber is, newest first. Editions with nothing for
 * the reader are left out.
 */
export function feedEditions(digests: Pick<DigestsStore, 'get' | 'list'>, reader: FeedReader): FeedEdition[] {
  const keywords = parseKeywords(reader.keywords);
  return digests.list(FEED_EDITIONS, reader.cadence).flatMap((d) => {
    const frozen = digests.get(d.date, d.cadence)?.papers ?? [];
    const papers = rankPapers(frozen, { size: reader.size, keywords });
    return papers.length ? [{ date: d.date, cadence: d.cadence, createdAt: d.createdAt, papers }] : [];
  });
}

/** The subscriber a personal feed token was signed for; the feed ends with the subscription. */
export function feedSubscriber(
  deps: { secret: string; subscribers: Pick<SubscribersStore, 'byId'> },
  token: string,
): Subscriber {
  const id = verifySubscriberToken(deps.secret, 'feed', token);
  const subscriber = id === null ? undefined : deps.subscribers.byId(id);
  if (!subscriber) throw new NotFound('This feed address is not valid. It may have been copied incompletely.');
  if (subscriber.status === 'unsubscribed') throw new Gone('This feed ended when its subscription was cancelled.');
  return subscriber;
}
