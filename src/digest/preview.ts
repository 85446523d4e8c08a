import { randomBytes } from 'node:crypto';
import { personalise, type Rendered } from '../mail/templates.ts';
import { prepareMessage, renderMessage } from '../mail/raw-message.ts';
import type { Paper } from '../domain/paper.ts';
import { parseKeywords, rankPapers } from '../domain/ranking.ts';
import type { SendDigestDeps, SendDigestResult } from './run.ts';
import { frozenRanking } from './variants.ts';

/** Looking without sending to subscribers: a dry run, a preview, a test copy. Nothing is frozen. */

/**
 * Who would get the digest now, per variant. The subscriber walk stays synchronous (an open
 * better-sqlite3 iterator holds the connection); each distinct list is assembled afterwards as a
 * send assembles it, so a template problem shows up here too.
 */
export async function dryRun(deps: Pick<SendDigestDeps, 'ledger' | 'digests' | 'refreshDay' | 'digestAssembler'>, date: string): Promise<SendDigestResult> {
  const started = performance.now();
  const papers = await frozenRanking(deps, date, { save: false });
  const variants = new Map<string, { digestSize: number; keywords: string; papers: number; recipients: number }>();
  const lists = new Map<string, Paper[]>();
  let recipients = 0;
  for (const s of deps.ledger.audience()) {
    const key = `${s.digestSize}|${s.keywords}`;
    let v = variants.get(key);
    if (!v) {
      const ranked = papers.length ? rankPapers(papers, { size: s.digestSize, keywords: parseKeywords(s.keywords) }) : [];
      if (ranked.length) lists.set(ranked.map((p) => p.id).join(' '), ranked);
      v = { digestSize: s.digestSize, keywords: s.keywords, papers: ranked.length, recipients: 0 };
      variants.set(key, v);
    }
    if (v.papers) {
      v.recipients++;
      recipients++;
    }
  }
  const assemble = deps.digestAssembler(date, papers);
  for (const ranked of lists.values()) await assemble(ranked);
  return {
    outcome: papers.length ? 'dry-run' : 'empty',
    date,
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
  deps: Pick<SendDigestDeps, 'digests' | 'refreshDay' | 'compileDigest' | 'links'>,
  o: { date: string; digestSize: number; subscriberId?: number },
): Promise<Rendered | null> {
  const papers = rankPapers(await frozenRanking(deps, o.date, { save: false }), { size: o.digestSize });
  if (!papers.length) return null;
  return personalise(await deps.compileDigest({ date: o.date, papers }), deps.links(o.subscriberId ?? 0));
}

/**
 * One copy to one address, outside any run (for checking what subscribers will get): the same
 * fast-path message, with the links of the subscriber of that address when there is one.
 */
export async function sendTestCopy(
  deps: Pick<SendDigestDeps, 'digests' | 'refreshDay' | 'compileDigest' | 'links' | 'message' | 'mailer' | 'clock'>,
  o: { date: string; to: string; digestSize: number; subscriberId?: number | undefined },
): Promise<{ messageId: string; response: string } | null> {
  const papers = rankPapers(await frozenRanking(deps, o.date, { save: false }), { size: o.digestSize });
  if (!papers.length) return null;
  const prepared = prepareMessage(await deps.compileDigest({ date: o.date, papers }), deps.message);
  const messageId = `test.${o.date}.${randomBytes(6).toString('hex')}@${deps.message.domain}`;
  const info = await deps.mailer.sendPrebuilt(renderMessage(prepared, { to: o.to, messageId, date: deps.clock.now(), ...deps.links(o.subscriberId ?? 0) }));
  return { messageId, response: info.response };
}
