import type { DigestsStore } from '../db/digests-store.ts';
import type { Logger } from '../logger.ts';
import type { PreparedMessage } from '../mail/raw-message.ts';
import type { Paper } from '../model/paper.ts';
import type { Cadence } from '../model/cadence.ts';
import { weekDays } from '../domain/dates.ts';
import { mergeWeek, parseKeywords, rankPapers } from '../domain/ranking.ts';

export interface RankingDeps {
  digests: Pick<DigestsStore, 'get' | 'save'>;
  /**
   * Fetches the day from the paper source (with its retries), stores it, and returns the day's full list. Throws when
   * the source is down.
   */
  refreshDay(date: string, stop?: AbortSignal): Promise<Paper[]>;
  /** The papers stored for a day, without asking the source. */
  storedDay(date: string): Paper[];
  logger: Logger;
}

/**
 * The edition's full ranking as frozen for the run: the first freeze wins, so a resumed run (or a
 * second sender) sends exactly what the first recipients got. Before the first freeze the papers
 * are refreshed from the source (upvotes move all day, and for days after); a source that is down
 * is an error here. `save: false` (previews, test copies) ranks without freezing.
 */
export async function frozenRanking(
  deps: RankingDeps,
  date: string,
  options: { save: boolean; stop?: AbortSignal; cadence?: Cadence },
): Promise<Paper[]> {
  const cadence = options.cadence ?? 'daily';
  const frozen = deps.digests.get(date, cadence);
  if (frozen) return frozen.papers;
  const all =
    cadence === 'weekly' ? await refreshWeek(deps, date, options.stop) : await deps.refreshDay(date, options.stop);
  const ranked = all.length ? rankPapers(all, { size: all.length }) : [];
  // An empty edition is not frozen: if the source was merely late, a later run can still send it.
  if (!ranked.length || !options.save) return ranked;
  deps.digests.save(date, ranked, cadence);
  return deps.digests.get(date, cadence)!.papers;
}

/**
 * The papers of the seven days ending on `weekEnding`, each once. Every day is refreshed from
 * the source first (upvotes keep moving for days); a day the source cannot give, after its
 * retries, is logged and the week goes on with what is stored for it. Only a week the source
 * gave nothing of and that has nothing stored is an error (the source is down: try later).
 */
async function refreshWeek(deps: RankingDeps, weekEnding: string, stop?: AbortSignal): Promise<Paper[]> {
  const log = deps.logger.child({ weekEnding });
  const days = weekDays(weekEnding);
  const missing: { date: string; error: string }[] = [];
  for (const date of days) {
    try {
      await deps.refreshDay(date, stop);
    } catch (err) {
      if (stop?.aborted) throw err;
      missing.push({ date, error: (err as Error).message });
      log.warn({ date, err }, 'weekly edition: the source could not give this day; the stored papers of it are used');
    }
  }
  const papers = mergeWeek(days.map((d) => deps.storedDay(d)));
  if (missing.length === days.length && !papers.length)
    throw new Error(`the source gave none of the week's days (${missing[0]!.error})`);
  if (missing.length)
    log.warn(
      { missingDays: missing.map((m) => m.date), papers: papers.length },
      'weekly edition ranked with days missing from the source',
    );
  return papers;
}

/**
 * One compiled, encoded message per digest variant. A variant is the list of papers a subscriber
 * gets; preferences that rank to the same list share it, so MJML runs once per distinct list.
 * A variant is a promise while it compiles and the message itself once compiled, so a send can
 * go out without waiting a turn. Both maps are bounded (least recently used goes first):
 * keywords are free text, and a million subscribers could in principle hold a million different ones.
 */
export function variantCache(papers: Paper[], build: (ranked: Paper[]) => Promise<PreparedMessage>, capacity = 500) {
  /** Preferences → the ids of the papers they rank to ('' when none matches). */
  const listFor = new Map<string, string>();
  /** Paper ids → the variant's message. */
  const variants = new Map<string, PreparedMessage | Promise<PreparedMessage>>();
  const remember = <V>(map: Map<string, V>, key: string, value: V) => {
    map.delete(key);
    map.set(key, value);
    if (map.size > capacity) map.delete(map.keys().next().value!);
    return value;
  };
  return (digestSize: number, keywords: string): PreparedMessage | null | Promise<PreparedMessage> => {
    const preferences = `${digestSize}|${keywords}`;
    const rank = () => rankPapers(papers, { size: digestSize, keywords: parseKeywords(keywords) });
    let ranked: Paper[] | undefined;
    const ids = remember(
      listFor,
      preferences,
      listFor.get(preferences) ?? (ranked = rank()).map((p) => p.id).join(' '),
    );
    if (!ids) return null;
    const known = variants.get(ids);
    if (known !== undefined) return remember(variants, ids, known);
    const compiling: Promise<PreparedMessage> = build(ranked ?? rank()).then((message) => {
      if (variants.get(ids) === compiling) variants.set(ids, message);
      return message;
    });
    return remember(variants, ids, compiling);
  };
}
