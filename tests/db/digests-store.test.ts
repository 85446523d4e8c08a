import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createTestContext, type TestContext } from '../support/test-context.ts';
import { fixturePapers } from '../support/fixture-papers.ts';

describe('digests store', () => {
  let ctx: TestContext;
  beforeEach(() => {
    ctx = createTestContext();
  });
  afterEach(() => ctx.close());

  it('when a day is frozen twice, then the first ranking is kept', () => {
    const first = fixturePapers('2026-11-24');
    expect(ctx.digests.save('2026-11-24', first)).toBe(true);
    expect(ctx.digests.save('2026-11-24', fixturePapers('2026-11-23'))).toBe(false);

    const stored = ctx.digests.get('2026-11-24');
    expect(stored?.papers).toEqual(first);
    expect(stored?.createdAt).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/);
    expect(ctx.digests.get('2026-11-22')).toBeUndefined();
  });

  it('when listed, then days with papers come newest first with count and top title', () => {
    ctx.digests.save('2026-11-23', fixturePapers('2026-11-23'));
    ctx.digests.save('2026-11-25', fixturePapers('2026-11-25'));
    ctx.digests.save('2026-11-22', []);
    ctx.digests.save('2026-11-24', fixturePapers('2026-11-24'));

    expect(ctx.digests.list(10).map(({ date, count, topTitle }) => ({ date, count, topTitle }))).toEqual(
      ['2026-11-25', '2026-11-24', '2026-11-23'].map((date) => ({
        date,
        count: fixturePapers(date).length,
        topTitle: fixturePapers(date)[0]!.title,
      })),
    );
    expect(ctx.digests.list(1)).toHaveLength(1);
  });

  it('when the date is not YYYY-MM-DD, then the database refuses it', () => {
    expect(() => ctx.digests.save('24.11.2026', [])).toThrow(/CHECK constraint/);
  });
});
