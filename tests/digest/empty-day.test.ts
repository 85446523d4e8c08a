import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { sendDigest } from '../../src/digest/run.ts';
import { emptyDayFinalAt } from '../../src/digest/policy.ts';
import { startPapersApi, type PapersApi } from '../support/papers-api.ts';
import { seedSubscribers, startHarness, type Harness } from '../support/digest-harness.ts';

describe('an empty day from the feed', () => {
  let api: PapersApi;
  let h: Harness | undefined;
  let now: Date;
  beforeEach(async () => {
    api = await startPapersApi();
    h = await startHarness({ env: { PAPERS_API_URL: api.url }, now: () => now });
    seedSubscribers(h.ctx.db, 2);
  });
  afterEach(async () => {
    await h?.close();
    await api.close();
    h = undefined;
  });

  it('is final at once on a weekend, after 12 hours on a weekday', () => {
    expect(emptyDayFinalAt('2026-11-21')).toBeNull(); // Saturday
    expect(emptyDayFinalAt('2026-11-22')).toBeNull(); // Sunday
    expect(emptyDayFinalAt('2026-11-24')?.toISOString()).toBe('2026-11-25T12:00:00.000Z'); // Tuesday
  });

  it('when a weekday comes back empty soon after it ended, then the run fails for a retry; once the feed fills, it is sent', async () => {
    now = new Date('2026-11-25T07:00:00Z');
    api.script({ json: [] });
    const early = await sendDigest(h!.deps, { date: '2026-11-24' });
    expect(early).toMatchObject({
      outcome: 'failed',
      reason: expect.stringMatching(/no papers for 2026-11-24 yet.*2026-11-25T12:00:00\.000Z/),
    });
    expect(h!.ctx.ledger.byDate('2026-11-24')?.status).toBe('failed');
    expect(h!.ctx.digests.get('2026-11-24')).toBeUndefined();

    now = new Date('2026-11-25T09:00:00Z');
    const later = await sendDigest(h!.deps, { date: '2026-11-24' });
    expect(later.outcome).toBe('done');
    await expect.poll(() => h!.sink.messages.length).toBe(2);
  });

  it('when a weekday is still empty 12 hours after it ended, then it is final: recorded empty, nothing sent', async () => {
    now = new Date('2026-11-25T11:59:00Z');
    api.script({ json: [] });
    expect((await sendDigest(h!.deps, { date: '2026-11-24' })).outcome).toBe('failed');
    now = new Date('2026-11-25T12:00:00Z');
    api.script({ json: [] });
    expect((await sendDigest(h!.deps, { date: '2026-11-24' })).outcome).toBe('empty');
    expect(h!.ctx.ledger.byDate('2026-11-24')?.status).toBe('empty');
    expect(h!.sink.messages).toHaveLength(0);
  });

  it('when a Saturday comes back empty, then it is final at once', async () => {
    now = new Date('2026-11-22T00:05:00Z');
    api.script({ json: [] });
    expect((await sendDigest(h!.deps, { date: '2026-11-21' })).outcome).toBe('empty');
    expect(h!.ctx.ledger.byDate('2026-11-21')?.status).toBe('empty');
    expect(h!.sink.messages).toHaveLength(0);
  });
});
