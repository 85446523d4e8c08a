import { setFlagsFromString } from 'node:v8';

/**
 * How far V8 lets the old generation grow past what survived the last full collection before it
 * runs the next one; by default up to 4×. Nearly all of a send's garbage dies young, but what is
 * promoted stays until a full collection, and how much is promoted varies from run to run with
 * V8's own early decisions, so a large send's peak RSS varied widely while its live heap stayed
 * small. Allowing 50 % growth bounds the worst runs at the same CPU per message (the memory rows
 * of the README's benchmark table).
 *
 * V8 reads this flag each time it sizes the heap after a full collection (not once when the heap
 * is set up), so setting it at start-up is enough. The processes that send call this: the
 * service (`src/main.ts`) and `scripts/send-now.ts` (and the bench's product senders).
 */
export function limitHeapGrowth(): void {
  setFlagsFromString('--heap-growing-percent=50');
}
