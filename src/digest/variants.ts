import type { DigestsStore } from '../db/digests-store.ts';
import type { PreparedMessage } from '../mail/raw-message.ts';
import type { Paper } from '../domain/paper.ts';
import { parseKeywords, rankPapers } from '../domain/ranking.ts';

export interface RankingDeps {
  digests: Pick<DigestsStore, 'get' | 'save'>;
  /** Fetches the day from the paper source, stores it, and returns the day's full list. Throws when the source is down. */
  refreshDay(date: string, stop?: AbortSignal): Promise<Paper[]>;
}

/**
 * The day's full ranking as frozen for the run: the first freeze wins, so a resumed run (or a
 * second sender) sends exactly what the first recipients got. Before the first freeze the day
 * is refreshed from the source (upvotes move all day); a source that is down is an error here.
 * `save: false` (previews, test copies) ranks without freezing.
 */
export async function frozenRanking(deps: RankingDeps, date: string, o: { save: boolean; stop?: AbortSignal }): Promise<Paper[]> {
  const frozen = deps.digests.get(date);
  if (frozen) return frozen.papers;
  const all = await deps.refreshDay(date, o.stop);
  const ranked = all.length ? rankPapers(all, { size: all.length }) : [];
  // An empty day is not frozen: if the source was merely late, a later run can still send it.
  if (!ranked.length || !o.save) return ranked;
  deps.digests.save(date, ranked);
  return deps.digests.get(date)!.papers;
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
    const ids = remember(listFor, preferences, listFor.get(preferences) ?? (ranked = rank()).map((p) => p.id).join(' '));
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
