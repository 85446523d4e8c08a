import type { ClaimedDelivery, DeliveryOutcome } from './ledger-records.ts';
import type { LedgerStore } from './ledger-store.ts';

/**
 * How old a reading of the departures count may be when a sender checks a status. Every claim
 * and ledger write reads the count inside its transaction, where it is nearly free; as a
 * statement of its own it would cost as much as the rest of a message's bookkeeping.
 */
const DEPARTURES_FRESH_MS = 20;

export type LedgerSession = ReturnType<typeof openLedgerSession>;

/**
 * One sender's hold on a run's deliveries, for the holder of the lease, after `resume`. A first
 * attempt gets its row only when its outcome is recorded, one write per message; until then
 * the session knows it, and the run's mark (settled_through) stays below it.
 * `checksPerReading`: how many status checks one reading of the departures count serves at
 * most (besides DEPARTURES_FRESH_MS); the sender uses its in-flight window.
 */
export function openLedgerSession(
  ledger: LedgerStore,
  id: number,
  { checksPerReading = 1 }: { checksPerReading?: number } = {},
) {
  // What was claimed, and the departures count when it was.
  const claimed = new Map<number, { d: ClaimedDelivery; departures: number }>();
  // First attempts claimed and not written, in id order: claims walk the audience upwards.
  const unwritten = new Set<number>();
  let claimedThrough = ledger.byId(id).enqueuedThrough;
  // The latest reading of the departures count, and how many checks it has served.
  let departures = { n: ledger.departures(), at: performance.now(), checks: 0 };
  const seen = (n: number) => void (departures = { n, at: performance.now(), checks: 0 });
  const departuresNow = () => {
    if (departures.checks >= checksPerReading || performance.now() - departures.at > DEPARTURES_FRESH_MS)
      seen(ledger.departures());
    departures.checks++;
    return departures.n;
  };
  const claimedDelivery = (subscriberId: number) => {
    const c = claimed.get(subscriberId);
    if (!c) throw new Error(`no claimed delivery for subscriber ${subscriberId} in this session`);
    return c;
  };
  return {
    /**
     * Up to `limit` deliveries: retries due first (none to the `held` domains), then first
     * attempts (LedgerStore.claimBatch).
     */
    claim(now: Date, limit: number, held: readonly string[] = []): ClaimedDelivery[] {
      const { retries, fresh, departures: n } = ledger.claimBatch(id, now, limit, held);
      seen(n);
      for (const d of retries) claimed.set(d.subscriberId, { d, departures: n });
      for (const d of fresh) {
        claimed.set(d.subscriberId, { d, departures: n });
        unwritten.add(d.subscriberId);
      }
      if (fresh.length) claimedThrough = fresh[fresh.length - 1]!.subscriberId;
      return retries.concat(fresh);
    },
    /**
     * A claimed subscriber's status (undefined: erased), for the check right before their
     * message goes out: as of at most DEPARTURES_FRESH_MS and `checksPerReading` checks ago,
     * and looked up only if someone left since the claim.
     */
    statusNow(subscriberId: number): string | undefined {
      const c = claimedDelivery(subscriberId);
      return departuresNow() === c.departures ? c.d.status : ledger.subscriberStatus(subscriberId);
    },
    /** Writes outcomes of claimed deliveries in one transaction, and moves the mark. */
    record(outcomes: readonly DeliveryOutcome[], now: Date): void {
      if (!outcomes.length) return;
      const settled = outcomes.map((o) => [o, claimedDelivery(o.subscriberId).d] as const);
      for (const o of outcomes) unwritten.delete(o.subscriberId);
      const first = unwritten.values().next();
      seen(ledger.recordOutcomes(id, settled, first.done ? claimedThrough : first.value - 1, now));
      for (const o of outcomes) claimed.delete(o.subscriberId);
    },
  };
}
