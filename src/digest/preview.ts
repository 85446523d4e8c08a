import { randomBytes } from 'node:crypto';
import { personalise, type Rendered } from '../mail/templates.ts';
import { prepareMessage, renderMessage } from '../mail/raw-message.ts';
import { feedbackIdFor, listIdFor } from '../mail/edition-names.ts';
import type { Paper } from '../model/paper.ts';
import type { Cadence } from '../model/cadence.ts';
import { parseKeywords, rankPapers } from '../domain/ranking.ts';
import type { SendDigestDeps, SendDigestResult } from './run-types.ts';
import { frozenRanking, type RankingDeps } from './variants.ts';

/** Looking without sending to subscribers: a dry run, a preview, a test copy. Nothing is frozen. */

/**
 * Who would get the digest now, per variant. The subscriber walk stays synchronous (an open
 * better-sqlite3 iterator holds the connection); each distinct list is assembled afterwards as a
 * send assembles it, so a template problem shows up here too.
 */
export async function dryRun(
  deps: Pick<SendDigestDeps, 'ledger' | 'digestAssembler' | keyof RankingDeps>,
  date: string,
  cadence: Cadence = 'daily',
): Promise<SendDigestResult> {
  const started = performance.now();
  const papers = await frozenRanking(deps, date, { save: false, cadence });
  const variants = new Map<string, { digestSize: number; keywords: string; papers: number; recipients: number }>();
  const lists = new Map<string, Paper[]>();
  let recipients = 0;
  for (const s of deps.ledger.audience(cadence)) {
    const key = `${s.digestSize}|${s.keywords}`;
    let v = variants.get(key);
    if (!v) {
      const ranked = papers.length
        ? rankPapers(papers, { size: s.digestSize, keywords: parseKeywords(s.keywords) })
        : [];
      if (ranked.length) lists.set(ranked.map((p) => p.id).join(' '), ranked);
      v = { digestSize: s.digestSize, keywords: s.keywords, papers: ranked.length, recipients: 0 };
      variants.set(key, v);
    }
    if (v.papers) {
      v.recipients++;
      recipients++;
    }
  }
  const assemble = deps.digestAssembler(date, cadence);
  for (const ranked of lists.values()) await assemble(ranked);
  return {
    outcome: papers.length ? 'dry-run' : 'empty',
    date,
    cadence,
    sent: 0,
    failed: 0,
    skipped: 0,
    deferred: 0,
    resumedInFlight: 0,
    recipients,
    variants: [...variants.values()].sort((a, b) => b.recipients - a.recipients),
    durationMs: Math.round(performance.now() - started),
  };
}

/**
 * The digest of a date as a subscriber with default preferences gets it, links filled for
 * `subscriberId` (0, a subscriber that doesn't exist, for a preview). Nothing is frozen or sent;
 * null when the day has no papers.
 */
export async function renderDigest(
  deps: Pick<SendDigestDeps, 'compileDigest' | 'links' | keyof RankingDeps>,
  options: { date: string; digestSize: number; subscriberId?: number; cadence?: Cadence },
): Promise<Rendered | null> {
  const papers = rankPapers(await frozenRanking(deps, options.date, { save: false, cadence: options.cadence }), {
    size: options.digestSize,
  });
  if (!papers.length) return null;
  return personalise(
    await deps.compileDigest({ date: options.date, papers, cadence: options.cadence }),
    deps.links(options.subscriberId ?? 0),
  );
}

/**
 * One copy to one address, outside any run (for checking what subscribers will get): the same
 * fast-path message, with the links of the subscriber of that address when there is one. Its
 * envelope sender is MAIL_FROM's plain address, not a VERP one: a bounce of a copy goes to the
 * operator who asked for it and never counts against a subscriber.
 */
export async function sendTestCopy(
  deps: Pick<SendDigestDeps, 'compileDigest' | 'links' | 'messageSettings' | 'mailer' | 'clock' | keyof RankingDeps>,
  options: { date: string; to: string; digestSize: number; subscriberId?: number | undefined; cadence?: Cadence },
): Promise<{ messageId: string; response: string } | null> {
  const papers = rankPapers(await frozenRanking(deps, options.date, { save: false, cadence: options.cadence }), {
    size: options.digestSize,
  });
  if (!papers.length) return null;
  const prepared = prepareMessage(await deps.compileDigest({ date: options.date, papers, cadence: options.cadence }), {
    ...deps.messageSettings,
    listId: listIdFor(options.cadence ?? 'daily', deps.messageSettings.domain),
    feedbackId: feedbackIdFor(options.cadence ?? 'daily', options.date, deps.messageSettings.feedbackDomain),
  });
  const messageId = `test.${options.date}.${randomBytes(6).toString('hex')}@${deps.messageSettings.domain}`;
  const info = await deps.mailer.sendPrebuilt(
    renderMessage(prepared, {
      to: options.to,
      messageId,
      date: deps.clock.now(),
      ...deps.links(options.subscriberId ?? 0),
    }),
  );
  return { messageId, response: info.response };
}
