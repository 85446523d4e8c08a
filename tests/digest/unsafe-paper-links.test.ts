import { afterEach, describe, expect, it } from 'vitest';
import { createLogger } from '../../src/logger.ts';
import { sendDigest } from '../../src/digest/run.ts';
import { fixturePapers } from '../support/fixture-papers.ts';
import { DATE, seedSubscribers, startHarness, type Harness } from '../support/digest-harness.ts';

let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

describe('links from the paper data in a sent digest', () => {
  it('when a paper’s code link is a shortener and its project page an IP address, then the paper is sent without them and the log names it and why', async () => {
    h = await startHarness();
    const lines: string[] = [];
    h.deps.logger = createLogger('info', 'stdout', { destination: { write: (line: string) => lines.push(line) } });
    const [first, ...rest] = fixturePapers('2026-11-24');
    const paper = {
      ...first!,
      title: 'A paper whose links went bad',
      githubRepo: 'https://bit.ly/3abcDEF',
      projectPage: 'https://93.184.216.34/demo',
      upvotes: 10_000,
    };
    h.ctx.digests.save(DATE, [paper, ...rest]);
    seedSubscribers(h.ctx.db, 1, { digestSize: 5 });

    await sendDigest(h.deps, { date: DATE });

    expect(h.sink.messages).toHaveLength(1);
    const { html, text } = h.sink.messages[0]!.parsed;
    expect(text).toContain('1. A paper whose links went bad');
    expect(html).toContain('A paper whose links went bad');
    for (const part of [html as string, text!]) {
      expect(part).not.toContain('bit.ly');
      expect(part).not.toContain('93.184.216.34');
      // Its own pages are still linked.
      expect(part).toContain(`https://huggingface.co/papers/${paper.id}`);
    }
    const dropped = lines
      .map((l) => JSON.parse(l) as Record<string, unknown>)
      .filter((l) => l.msg === 'a link from the paper data is left out of the digest');
    expect(dropped).toEqual([
      expect.objectContaining({
        paper: paper.id,
        title: paper.title,
        link: 'githubRepo',
        url: 'https://bit.ly/3abcDEF',
        reason: 'a URL shortener (bit.ly)',
      }),
      expect.objectContaining({
        paper: paper.id,
        link: 'projectPage',
        url: 'https://93.184.216.34/demo',
        reason: 'an IP address as the host',
      }),
    ]);
  });
});
