import { describe, expect, it } from 'vitest';
import { FailureWindow, retryDelayMs } from '../../src/digest/policy.ts';
import { classifySmtpError, describeSmtpError } from '../../src/mail/smtp/replies.ts';

const smtp = (responseCode: number, response: string, code = 'EENVELOPE') => Object.assign(new Error(response), { code, responseCode, response });

describe('classifySmtpError', () => {
  it.each([
    [smtp(550, '550 5.1.1 <x@example.com>: Recipient address rejected: User unknown'), 'recipient'],
    [smtp(552, '552 5.2.2 Mailbox full'), 'recipient'],
    [smtp(554, '554 5.7.1 Service unavailable; Client host blocked using zen.spamhaus.org'), 'policy'],
    [smtp(550, '550 5.7.26 Unauthenticated email from example.org is not accepted due to DMARC policy'), 'policy'],
    [smtp(535, '535 Authentication credentials invalid', 'EAUTH'), 'policy'],
    [smtp(530, '530 Must issue a STARTTLS command first'), 'policy'],
    [smtp(451, '451 4.7.1 Greylisted, try again later'), 'transient'],
    [smtp(421, '421 4.7.0 Too many connections', 'EPROTOCOL'), 'transient'],
    [smtp(503, '503 5.5.1 Bad sequence of commands'), 'transient'],
    [Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:2525'), { code: 'ECONNECTION' }), 'connection'],
    [Object.assign(new Error('Greeting never received'), { code: 'ETIMEDOUT' }), 'connection'],
    [Object.assign(new Error('socket hang up'), { code: 'ESOCKET' }), 'connection'],
    [new Error('something odd'), 'transient'],
    ['not even an error', 'transient'],
  ] as const)('%s → %s', (err, kind) => {
    expect(classifySmtpError(err)).toBe(kind);
  });

  it('when the server said something, then that is what the ledger keeps, on one line', () => {
    expect(describeSmtpError(smtp(550, '550 5.1.1 no\r\n such user'))).toBe('550 5.1.1 no such user');
    expect(describeSmtpError(new Error('connect ECONNREFUSED'))).toBe('connect ECONNREFUSED');
  });
});

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
