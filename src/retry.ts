/**
 * Retry timing shared by the digest send and the mail queue, kept below both so neither reaches
 * into the other for it.
 */

/** Exponential backoff: base, 2×base, 4×base … capped; attempt counts from 1. */
export function retryDelayMs(attempt: number, baseMs: number, capMs = 30 * 60_000): number {
  return Math.min(capMs, baseMs * 2 ** Math.max(0, attempt - 1));
}
