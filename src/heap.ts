import { setFlagsFromString } from 'node:v8';

/**
 * How far V8 lets the heap grow beyond what the program keeps alive. A send keeps little alive
 * (a window of messages, a batch of ledger rows) and makes a great deal of short-lived garbage,
 * so V8's defaults size it for a much bigger program (docs/architecture.md, what the hot paths cost):
 *
 * - The old generation may grow up to 4× past what survived the last full collection before the
 *   next one; how much is promoted varies from run to run with V8's own early decisions, so a
 *   large send's peak RSS varied widely while its live heap stayed small. 50 % bounds it.
 * - The young generation doubles whenever enough has survived its collections since it last grew,
 *   which over a long send always happens: it ended at its maximum with little of it in use. A
 *   growth factor of 1 keeps it at its first size, at no cost in CPU per message.
 *
 * V8 reads both each time it resizes a space, not once when the heap is set up, so setting them at
 * start-up is enough; the earlier, the less the young generation grew while modules loaded. The
 * processes that send call this: the service (`src/main.ts`) and `scripts/send-now.ts` (and the
 * bench's product senders).
 */
export function limitHeapGrowth(): void {
  setFlagsFromString('--heap-growing-percent=50');
  setFlagsFromString('--semi-space-growth-factor=1');
}
