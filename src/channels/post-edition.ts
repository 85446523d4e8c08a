import type { Clock } from '../clock.ts';
import type { Logger } from '../logger.ts';
import type { Channel, ChannelsStore, OwedPost } from '../db/channels-store.ts';
import type { DigestsStore } from '../db/digests-store.ts';
import { addDays } from '../domain/dates.ts';
import type { Paper } from '../model/paper.ts';
import { parseKeywords, rankPapers } from '../domain/ranking.ts';
import { frozenRanking, type RankingDeps } from '../digest/variants.ts';
import { digestUrl } from '../mail/edition-names.ts';
import { channelPayload } from './formats.ts';
import { maskUrl, postWebhook, type PostOutcome, type PosterDeps, type PostPolicy } from './poster.ts';

export interface ChannelPostDeps {
  channels: ChannelsStore;
  /** The digest's own ranking: channels get the edition the email readers got. */
  ranking: RankingDeps;
  poster: PosterDeps;
  policy?: PostPolicy;
  clock: Clock;
  logger: Logger;
  /** PUBLIC_URL without a trailing slash. */
  publicUrl: string;
}

export interface ChannelPostSummary {
  posted: number;
  failed: number;
  /** Channels whose webhook was gone (404/410): disabled. */
  disabled: number;
  /** Channels that had the edition already, or whose post another process is making. */
  alreadyPosted: number;
  /** Channels whose keywords match none of the edition's papers: nothing to post. */
  nothingMatched: number;
}

/**
 * A claim older than this belongs to a process that stopped before it recorded the answer: the
 * post is made again. Longer than a post can take with its retries (DEFAULT_POST_POLICY).
 */
const STALE_CLAIM_MS = 10 * 60_000;
/** How far back a failed or cut-off post is still made: an edition older than a week is news no more. */
const OWED_DAYS = 7;

/**
 * Posts an edition to each enabled channel of its cadence that does not have it yet, then the
 * posts of the past week that failed or were cut off. Never throws: a problem is logged and counted.
 */
export async function postChannels(deps: ChannelPostDeps, date: string, cadence: OwedPost['cadence']) {
  const summary: ChannelPostSummary = { posted: 0, failed: 0, disabled: 0, alreadyPosted: 0, nothingMatched: 0 };
  const staleBefore = new Date(deps.clock.now().getTime() - STALE_CLAIM_MS);
  const owed = deps.channels
    .owed(staleBefore, addDays(date, -OWED_DAYS))
    .filter((o) => o.digestDate !== date || o.cadence !== cadence);
  for (const edition of [{ digestDate: date, cadence }, ...owed]) {
    try {
      await postEdition(deps, edition, summary);
    } catch (err) {
      summary.failed++;
      deps.logger.error({ err, date: edition.digestDate, cadence: edition.cadence }, 'channel posts failed');
    }
  }
  return summary;
}

async function postEdition(deps: ChannelPostDeps, edition: OwedPost, summary: ChannelPostSummary): Promise<void> {
  const channels = deps.channels.enabled(edition.cadence);
  if (!channels.length) return;
  const papers = await frozenRanking(deps.ranking, edition.digestDate, { save: true, cadence: edition.cadence });
  if (!papers.length) return;
  for (const channel of channels) {
    const ranked = channelPapers(channel, papers);
    if (!ranked.length) {
      summary.nothingMatched++;
      continue;
    }
    const now = deps.clock.now();
    if (!deps.channels.claim(channel.id, edition, now, new Date(now.getTime() - STALE_CLAIM_MS))) {
      summary.alreadyPosted++;
      continue;
    }
    const outcome = await postTo(deps, channel, edition, ranked);
    record(deps, channel, edition, outcome);
    summary[outcome.result === 'posted' ? 'posted' : outcome.result === 'gone' ? 'disabled' : 'failed']++;
  }
}

/** The papers of an edition a channel gets: ranked and cut as for a reader with its size and keywords. */
const channelPapers = (channel: Channel, papers: Paper[]) =>
  rankPapers(papers, { size: channel.digestSize, keywords: parseKeywords(channel.keywords) });

function postTo(
  deps: Pick<ChannelPostDeps, 'publicUrl' | 'poster' | 'policy'>,
  channel: Channel,
  edition: OwedPost,
  papers: Paper[],
): Promise<PostOutcome> {
  const { digestDate: date, cadence } = edition;
  const payload = channelPayload(channel.kind, {
    date,
    cadence,
    papers,
    archiveUrl: digestUrl(deps.publicUrl, date, cadence),
  });
  return postWebhook(deps.poster, channel.url, payload, deps.policy);
}

/** The outcome in the ledger and the log; a gone webhook disables its channel. */
function record(deps: ChannelPostDeps, channel: Channel, edition: OwedPost, outcome: PostOutcome): void {
  const log = deps.logger.child({
    channel: channel.id,
    kind: channel.kind,
    url: maskUrl(channel.url),
    date: edition.digestDate,
    cadence: edition.cadence,
    attempts: outcome.attempts,
  });
  if (outcome.result === 'posted') {
    deps.channels.markPosted(channel.id, edition, deps.clock.now());
    log.info('edition posted to the channel');
    return;
  }
  const error = outcome.result === 'gone' ? `webhook gone (HTTP ${outcome.status})` : outcome.error;
  deps.channels.markFailed(channel.id, edition, error);
  if (outcome.result === 'gone') {
    disableGone(deps.channels, channel.id, outcome.status);
    log.warn({ status: outcome.status }, 'channel disabled: its webhook was deleted');
  } else log.error({ error }, 'channel post failed; it is tried again at the next send');
}

const disableGone = (channels: ChannelsStore, id: number, status: number) =>
  channels.disable(id, `webhook gone (HTTP ${status})`);

/** A made-up paper for a channel test before any edition exists. */
const SAMPLE_PAPER: Paper = {
  id: '1706.03762',
  title: 'Attention Is All You Need (a sample post from Paperboy)',
  abstract: 'This is how papers will look in this channel.',
  authors: ['Paperboy'],
  publishedAt: '2017-06-12T00:00:00.000Z',
  featuredDate: '2017-06-12',
  upvotes: 1,
  numComments: 0,
  aiSummary: null,
  keywords: [],
  githubRepo: null,
  projectPage: null,
  withdrawn: false,
};

/**
 * Posts a sample to one channel, outside the ledger: the latest edition of its cadence as it would
 * get it, or a made-up paper before there is one. A gone webhook disables the channel as a post would.
 */
export async function postSample(
  deps: Pick<ChannelPostDeps, 'channels' | 'poster' | 'policy' | 'logger' | 'publicUrl'> & {
    digests: Pick<DigestsStore, 'list' | 'get'>;
  },
  channel: Channel,
): Promise<PostOutcome> {
  const latest = deps.digests.list(1, channel.cadence)[0];
  const frozen = latest ? (deps.digests.get(latest.date, channel.cadence)?.papers ?? []) : [];
  const ranked = channelPapers(channel, frozen);
  const edition = { digestDate: latest?.date ?? SAMPLE_PAPER.featuredDate, cadence: channel.cadence };
  const outcome = await postTo(deps, channel, edition, ranked.length ? ranked : [SAMPLE_PAPER]);
  if (outcome.result === 'gone') {
    disableGone(deps.channels, channel.id, outcome.status);
    deps.logger.warn(
      { channel: channel.id, url: maskUrl(channel.url), status: outcome.status },
      'channel disabled: its webhook was deleted',
    );
  }
  return outcome;
}
