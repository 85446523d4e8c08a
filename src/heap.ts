import { setFlagsFromString } from 'node:v8';

/**
 * How far V8 lets the old generation grow past what survived the last full collection before it
 * runs the next one; by default up to 4×. Nearly all of a send's garbage dies young, but what is
 * promoted stays until a full collection, and how much is promoted varies from run to run with
 * V8's own early decisions: most 100k-subscriber sends peak at ~200–210 MB, some reached
 * 240–280 MB (the live heap stays under ~50 MB). Allowing 50 % growth bounds that: sends that
 * promoted the most (before the fixes of the message object and the claim batch) peaked at
 * 205–211 MB instead of 257–280 MB, at the same CPU per message.
 *
 * V8 reads this flag each time it sizes the heap after a full collection (not once when the heap
 * is set up), so setting it at start-up is enough. The processes that send call this: the
 * service (`src/main.ts`) and `scripts/send-now.ts`.
 */
export function limitHeapGrowth(): void {
  setFlagsFromString('--heap-growing-percent=50');
}
