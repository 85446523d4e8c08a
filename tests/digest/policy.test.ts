import { describe, expect, it } from 'vitest';
import { FailureWindow, retryDelayMs } from '../../src/digest/policy.ts';

describe('retryDelayMs', () => {
  it('doubles per attempt from the base, up to the cap', () => {
    expect([1, 2, 3, 4].map((a) => retryDelayMs(a, 1000))).toEqual([1000, 2000, 4000, 8000]);
    expect(retryDelayMs(30, 60_000)).toBe(30 * 60_000);
  });
});

describe('FailureWindow', () => {
  it('when failures come in a row, then the budget is spent at the limit', () => {
    const w = new FailureWindow({ maxConsecutive: 3, maxRatio: 0.5, window: 100 });
    w.add(true);
    w.add(true);
    expect(w.exceeded()).toBeNull();
    w.add(true);
    expect(w.exceeded()).toMatch(/3 deliveries in a row failed/);
  });

  it('when a success breaks the streak, then the count starts again', () => {
    const w = new FailureWindow({ maxConsecutive: 3, maxRatio: 1, window: 10 });
    for (const f of [true, true, false, true, true]) w.add(f);
    expect(w.exceeded()).toBeNull();
  });

  it('when the failure share of a full window passes the ratio, then the budget is spent; old outcomes roll out', () => {
    const w = new FailureWindow({ maxConsecutive: 1000, maxRatio: 0.1, window: 20 });
    for (let i = 0; i < 20; i++) w.add(i % 5 === 0); // 4 of 20 = 20 %
    expect(w.exceeded()).toMatch(/4 of the last 20 deliveries failed \(budget 10%\)/);
    for (let i = 0; i < 20; i++) w.add(i === 0); // the window now holds 1 failure in 20
    expect(w.exceeded()).toBeNull();
  });

  it('when the window is not full yet, then a few early failures do not pause a run', () => {
    const w = new FailureWindow({ maxConsecutive: 5, maxRatio: 0.1, window: 200 });
    for (const f of [true, false, true, false]) w.add(f);
    expect(w.exceeded()).toBeNull();
  });
});
