import { describe, expect, it } from 'vitest';
import {
  DomainBackoff,
  connectionRetryWait,
  FailureWindow,
  LAST_ATTEMPT_MS,
  openingLimitMs,
} from '../../src/digest/policy.ts';

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

describe('connectionRetryWait: an unreachable SMTP server', () => {
  const patient = { connectionRetries: 3, retryBaseMs: 60_000 };
  it('when there is no time limit (the daily job), then the waits double and the run fails after the last retry', () => {
    expect([1, 2, 3, 4].map((n) => connectionRetryWait(n, patient, { elapsedMs: 0, delivered: false }))).toEqual([
      60_000,
      120_000,
      240_000,
      null,
    ]);
  });
  it('when send-now has a limit, then the waits shrink to fit it and it gives up once it is spent', () => {
    const interactive = { ...patient, connectGiveUpMs: 120_000 };
    expect(connectionRetryWait(1, interactive, { elapsedMs: 100, delivered: false })).toBe(60_000);
    expect(connectionRetryWait(2, interactive, { elapsedMs: 60_200, delivered: false })).toBe(59_800);
    expect(connectionRetryWait(3, interactive, { elapsedMs: 120_050, delivered: false })).toBeNull();
  });
  it('when a message has gone through already, then an outage gets the patient rule', () => {
    expect(
      connectionRetryWait(3, { ...patient, connectGiveUpMs: 120_000 }, { elapsedMs: 600_000, delivered: true }),
    ).toBe(240_000);
  });
});

describe('openingLimitMs: how long an attempt may take to open its session', () => {
  it('when send-now has a limit, then an attempt gets the time left, and the last one (at the deadline) a few seconds', () => {
    const interactive = { connectGiveUpMs: 120_000 };
    expect(openingLimitMs(interactive, { elapsedMs: 80_000.4, delivered: false })).toBe(40_000);
    expect(openingLimitMs(interactive, { elapsedMs: 120_000, delivered: false })).toBe(LAST_ATTEMPT_MS);
    // A limit shorter than that is the whole allowance.
    expect(openingLimitMs({ connectGiveUpMs: 3000 }, { elapsedMs: 3000, delivered: false })).toBe(3000);
  });
  it('when there is no limit (the daily job) or a message has gone through, then the connection’s own timeouts decide', () => {
    expect(openingLimitMs({}, { elapsedMs: 0, delivered: false })).toBeUndefined();
    expect(openingLimitMs({ connectGiveUpMs: 120_000 }, { elapsedMs: 0, delivered: true })).toBeUndefined();
  });
});

describe('DomainBackoff: refusals about the sender, per receiving domain', () => {
  it('when a domain refuses 25 deliveries in a row, then the 25th backs it off, and its next deliveries are held and counted', () => {
    const b = new DomainBackoff();
    for (let i = 1; i < 25; i++) expect(b.refused('gmail.com', 'spam', true)).toBe(false);
    expect(b.holds('gmail.com')).toBe(false);
    expect(b.refused('gmail.com', 'spam', true)).toBe(true);
    // Refusals still in flight when it was backed off do not back it off again.
    expect(b.refused('gmail.com', 'spam', true)).toBe(false);
    expect([b.holds('gmail.com'), b.holds('gmail.com'), b.holds('example.org')]).toEqual([true, true, false]);
    expect(b.domains()).toEqual(['gmail.com']);
    expect(b.backedOff()).toEqual([{ domain: 'gmail.com', reason: 'spam', held: 2 }]);
    expect(b.refusals()).toEqual([{ domain: 'gmail.com', reason: 'spam', refusals: 26 }]);
  });

  it('when the domain accepts a delivery in between, then the row starts again; other domains have rows of their own', () => {
    const b = new DomainBackoff(3);
    b.refused('gmail.com', 'spam', true);
    b.refused('gmail.com', 'spam', true);
    b.delivered('gmail.com');
    b.refused('gmail.com', 'spam', true);
    expect(b.refused('yahoo.com', 'rate-limited', false)).toBe(false);
    expect(b.refused('gmail.com', 'blocked', true)).toBe(false);
    expect(b.refused('gmail.com', 'blocked', true)).toBe(true);
    expect(b.backedOff()).toEqual([{ domain: 'gmail.com', reason: 'blocked', held: 0 }]);
  });

  it('when a refusal only defers the delivery, then it counts in the row but not among the digests refused', () => {
    const b = new DomainBackoff(2);
    b.refused('yahoo.com', 'rate-limited', false);
    expect(b.refused('yahoo.com', 'rate-limited', false)).toBe(true);
    expect(b.refusals()).toEqual([]);
  });
});
