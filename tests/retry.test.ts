import { describe, expect, it } from 'vitest';
import { retryDelayMs } from '../src/retry.ts';

describe('retryDelayMs', () => {
  it('doubles per attempt from the base, up to the cap', () => {
    expect([1, 2, 3, 4].map((a) => retryDelayMs(a, 1000))).toEqual([1000, 2000, 4000, 8000]);
    expect(retryDelayMs(30, 60_000)).toBe(30 * 60_000);
  });
});
