import { describe, expect, it } from 'vitest';
import { hostileReports } from '../../bench/hostile-reports.ts';
import { parseReport, ReportRefused, type BounceReport } from '../../src/bounces/classify/parse-report.ts';
import { FAILURE_TEXT_LIMIT } from '../../src/bounces/classify/text-report.ts';

// Each kind is shaped to make a parser do more than linear work; here each ~100 KB instance must
// come out sane (the bench measures how the time grows with the size; no timing is asserted).
const reports = new Map(hostileReports(100_000).map((r) => [r.name, r.raw]));
const parse = (name: string) => parseReport(reports.get(name)!);

const refusal = async (name: string): Promise<ReportRefused> => {
  const error: unknown = await parse(name).catch((e: unknown) => e);
  expect(error).toBeInstanceOf(ReportRefused);
  return error as ReportRefused;
};

const longestDiagnostic = (report: BounceReport) =>
  Math.max(0, ...report.recipients.map((r) => r.diagnostic?.length ?? 0));

describe('parseReport on hostile reports of ~100 KB', () => {
  it('when the generators run, then each kind is about the size asked for', () => {
    expect([...reports.keys()]).toEqual([
      'short-lines',
      'long-word',
      'many-recipients',
      'many-parts',
      'header-lines',
      'text-recipients',
      'nested-reports',
      'long-lines',
      'format-phrases',
    ]);
    for (const raw of reports.values()) expect(raw.length).toBeGreaterThan(90_000);
    for (const raw of reports.values()) expect(raw.length).toBeLessThan(110_000);
  });

  it('when a bounce has tens of thousands of short lines after the failed address, then the address is read and its diagnostic cut to the limit', async () => {
    const report = await parse('short-lines');
    expect(report.recipients).toEqual([
      expect.objectContaining({ address: 'ann@example.com', decision: 'hard', reason: 'user-unknown' }),
    ]);
    expect(longestDiagnostic(report)).toBe(FAILURE_TEXT_LIMIT);
  });

  it('when a bounce is one long word of address characters without @, then it names no recipient', async () => {
    expect(await parse('long-word')).toMatchObject({ kind: 'unknown', recipients: [] });
  });

  it('when a DSN names ~800 recipients, then the first 100 are classified and the rest counted as dropped', async () => {
    const report = await parse('many-recipients');
    expect(report.recipients).toHaveLength(100);
    expect(report.droppedRecipients).toBe(Math.floor(100_000 / 122) - 100);
    expect(report.recipients[0]).toMatchObject({ address: 'r0@example.com', decision: 'hard', status: '5.1.1' });
    expect(report.recipients[99]!.address).toBe('r99@example.com');
  });

  it('when a message has thousands of MIME parts, then it is refused before mailparser reads it', async () => {
    const refused = await refusal('many-parts');
    expect(refused.cap).toBe('parts');
    expect(refused.message).toMatch(/more than 200/);
  });

  it('when a DSN is thousands of header-like lines (headers, text, one delivery-status group, returned headers), then its one recipient is read', async () => {
    const report = await parse('header-lines');
    expect(report.recipients).toEqual([
      expect.objectContaining({ address: 'ann@example.com', decision: 'hard', status: '5.1.1' }),
    ]);
  });

  it('when a text bounce lists thousands of failed addresses, then the first 100 are classified and the rest counted', async () => {
    const report = await parse('text-recipients');
    expect(report.recipients).toHaveLength(100);
    expect(report.recipients.every((r) => r.decision === 'hard' && r.reason === 'user-unknown')).toBe(true);
    expect(report.droppedRecipients).toBeGreaterThan(2000);
  });

  it('when a report is forwarded inside reports 40 deep, then it is refused at the depth cap', async () => {
    const refused = await refusal('nested-reports');
    expect(refused.cap).toBe('depth');
  });

  it('when lines carry long bullet runs, a sender label before a long space run and hundreds of addresses, then only the address leading its line is read', async () => {
    const report = await parse('long-lines');
    expect(report.recipients.map((r) => r.address)).toEqual(['r0@example.com']);
    expect(longestDiagnostic(report)).toBeLessThanOrEqual(FAILURE_TEXT_LIMIT);
  });

  it("when a McAfee DSN's diagnostics are runs its phrases backtrack over, then its recipients are read and capped", async () => {
    const report = await parse('format-phrases');
    expect(report.recipients).toHaveLength(100);
    expect(report.droppedRecipients).toBeGreaterThan(0);
    expect(report.recipients.every((r) => r.decision === 'soft')).toBe(true);
  });
});
