import { describe, expect, it } from 'vitest';
import { parseReport } from '../../src/bounces/classify/parse-report.ts';
import {
  bounceMail,
  bounceMailFiles,
  expectedDecisions,
  type ExpectedRecipient as Expected,
} from '../support/bounce-fixtures.ts';

interface Figures {
  recipients: number;
  agreed: number;
  hard: number;
  hardCaught: number;
  others: number;
  wronglySuppressed: number;
  complaints: number;
  complaintsCaught: number;
  disagreements: string[];
}

/**
 * expected.json's `soft` is "keep the reader": a refusal about the sender and a delay notice keep
 * the reader too (and, unlike a soft bounce about the mailbox, never count against them).
 */
const asExpected = (decision: string) => (decision === 'sender' || decision === 'delayed' ? 'soft' : decision);

/**
 * Pairs our recipients with the expected ones by address (case-insensitive). An expected
 * recipient we did not find counts as a disagreement; a recipient we invented and suppressed
 * counts as a wrong suppression of someone else.
 */
async function score(files: string[], expected: Record<string, Expected[]>): Promise<Figures> {
  const f: Figures = {
    recipients: 0,
    agreed: 0,
    hard: 0,
    hardCaught: 0,
    others: 0,
    wronglySuppressed: 0,
    complaints: 0,
    complaintsCaught: 0,
    disagreements: [],
  };
  for (const file of files) {
    const report = await parseReport(bounceMail(file));
    const ours = new Map(report.recipients.map((r) => [r.address.toLowerCase(), asExpected(r.decision)]));
    for (const want of expected[file] ?? []) {
      const got = ours.get(want.recipient.toLowerCase());
      ours.delete(want.recipient.toLowerCase());
      f.recipients++;
      if (got === want.decision) f.agreed++;
      else
        f.disagreements.push(
          `${file} ${want.recipient}: expected ${want.decision} (${want.reason}), got ${got ?? 'no such recipient'}`,
        );
      if (want.decision === 'complaint') {
        f.complaints++;
        if (got === 'complaint') f.complaintsCaught++;
      }
      if (want.decision === 'hard') {
        f.hard++;
        if (got === 'hard') f.hardCaught++;
      } else {
        f.others++;
        if (want.decision !== 'complaint' && (got === 'hard' || got === 'complaint')) f.wronglySuppressed++;
      }
    }
    for (const [address, extra] of ours) {
      f.others++;
      f.disagreements.push(`${file} ${address}: not expected, got ${extra}`);
      if (extra === 'hard' || extra === 'complaint') f.wronglySuppressed++;
    }
  }
  return f;
}

const pct = (n: number, d: number) => (d ? (100 * n) / d : 0);

describe('the bounce classifier on the real corpus', () => {
  it('when every message is classified, then the decisions meet the agreement targets', async () => {
    const expected = expectedDecisions();
    const files = bounceMailFiles();
    expect(files.length).toBe(Object.keys(expected).length);

    const figures = async (subset: string[]) => {
      const f = await score(subset, expected);
      return {
        f,
        agreement: pct(f.agreed, f.recipients),
        hardCaught: pct(f.hardCaught, f.hard),
        wronglySuppressed: pct(f.wronglySuppressed, f.others),
      };
    };
    const all = await figures(files);
    // The rules were developed looking at the even-indexed files; the odd ones are the honest check.
    const even = await figures(files.filter((_, i) => i % 2 === 0));
    const heldOut = await figures(files.filter((_, i) => i % 2 === 1));
    console.log(`disagreements with expected.json:\n  ${all.f.disagreements.join('\n  ')}`);
    for (const [name, r] of [
      ['corpus', all],
      ['even', even],
      ['held-out (odd)', heldOut],
    ] as const) {
      console.log(
        `${name}: ${r.f.recipients} recipients, agreement ${r.agreement.toFixed(1)} %, hard caught ${r.hardCaught.toFixed(1)} %, others wrongly suppressed ${r.wronglySuppressed.toFixed(1)} %`,
      );
    }

    expect(all.agreement).toBeGreaterThanOrEqual(98);
    expect(all.hardCaught).toBeGreaterThanOrEqual(97);
    expect(all.wronglySuppressed).toBeLessThanOrEqual(1);
    expect(all.f.complaints).toBeGreaterThan(0);
    expect(all.f.complaintsCaught).toBe(all.f.complaints);
  });
});
