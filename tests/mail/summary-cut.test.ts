import { describe, expect, it } from 'vitest';
import { cutText } from '../../src/mail/cut-text.ts';
import { loadTemplates } from '../../src/mail/templates.ts';
import { fixturePapers } from '../support/fixture-papers.ts';

const len = (s: string) => Array.from(s).length;

describe('cutText: a summary ends where a reader expects', () => {
  it('when the cut would fall inside "(e.g.", then the summary ends at the word before it', () => {
    const text =
      'We study how the sequence models behind tool-using agents that browse, plan and call tools over many steps trade accuracy for memory across settings and how architectures (e.g. transformers and state-space models) differ at equal cost.';
    const at = text.indexOf('(e.g.');
    const cut = cutText(text, at + 4); // the limit falls inside "(e.g."
    expect(cut).toBe(
      'We study how the sequence models behind tool-using agents that browse, plan and call tools over many steps trade accuracy for memory across settings and how architectures…',
    );
    for (let max = at - 5; max < at + 12; max++) {
      expect(len(cutText(text, max))).toBeLessThanOrEqual(max);
      expect(cutText(text, max)).not.toMatch(/\(e\.g|\(…|\(e…/);
    }
  });

  it.each([
    ['Retrieval, e.g. BM25 or dense retrievers, helps long-context models on all datasets.', 'Retrieval…'],
    ['Decoding, i.e. sampling at low temperature, improves reasoning in every setting we tried.', 'Decoding…'],
    ['Encoders (e.g. ViT and ConvNeXt) are compared at equal cost on twelve benchmarks.', 'Encoders…'],
    ['Encoders (i.e., ViT and ConvNeXt) are compared at equal cost on twelve benchmarks.', 'Encoders…'],
  ])(
    'when the limit falls in or just after "e.g.", "i.e." or "(e.g." and no word ends near it, then "%s" ends at the word before',
    (text, cut) => {
      const abbreviation = /\(?[ei]\.[ge]\.,? /.exec(text)!;
      const end = abbreviation.index + abbreviation[0].length;
      // From the abbreviation's first letter to just after it (the limit counts the "…").
      for (let max = abbreviation.index + 2; max <= end + 1; max++)
        expect([max, cutText(text, max)]).toEqual([max, cut]);
    },
  );

  it('when a sentence starting with "E.g." reaches the limit, then the summary ends at the sentence before', () => {
    const text = 'We study splatting at scale. E.g. thin structures break it, and fog makes it worse still.';
    const at = text.indexOf('E.g.');
    for (let max = at + 2; max <= at + 6; max++) expect(cutText(text, max)).toBe('We study splatting at scale.');
  });

  it('when whole sentences fill most of the space, then it ends with a full stop and no ellipsis', () => {
    const text =
      'We propose a method for long-context memory. It keeps quality while cutting cost by 7x on seven benchmarks. Code and checkpoints are released.';
    expect(cutText(text, 110)).toBe(
      'We propose a method for long-context memory. It keeps quality while cutting cost by 7x on seven benchmarks.',
    );
  });

  it('when a sentence seems to end at "et al." or "Dr.", then that is not taken as its end', () => {
    const text =
      'Our results extend the scaling study of Hoffmann et al. Recent work by Dr. Chen shows the same trend on code reasoning tasks, and we confirm it at larger scale.';
    const cut = cutText(text, 80);
    expect(cut).not.toMatch(/(et al\.|Dr\.)$/);
    expect(cut.endsWith('…')).toBe(true);
    expect(len(cut)).toBeLessThanOrEqual(80);
  });

  it('when the text is short enough, then it is kept as it is', () => {
    expect(cutText('A method for vision-language grounding (e.g. charts).', 300)).toBe(
      'A method for vision-language grounding (e.g. charts).',
    );
  });

  it('when text has no spaces (Chinese) or no boundary at all, then it still fits and never splits an emoji', () => {
    const chinese = '我们提出了一种新的大模型推理方法，它在保持质量的同时降低了成本。'.repeat(10);
    const cut = cutText(chinese, 50);
    expect(len(cut)).toBeLessThanOrEqual(50);
    expect(len(cut)).toBeGreaterThan(30);
    const emoji = '🚀'.repeat(400);
    expect(cutText(emoji, 300)).toBe(`${'🚀'.repeat(299)}…`);
  });

  it('when a real fixture abstract is cut, then it ends at a sentence or after a whole word, within the limit', () => {
    const abstracts = ['2026-11-23', '2026-11-24', '2026-11-25']
      .flatMap((d) => fixturePapers(d))
      .map((p) => p.abstract.replace(/\s+/g, ' ').trim());
    for (const abstract of abstracts) {
      for (const max of [60, 90, 120]) {
        const cut = cutText(abstract, max);
        expect(len(cut)).toBeLessThanOrEqual(max);
        if (cut !== abstract) expect(abstract.startsWith(cut.replace(/…$/, ''))).toBe(true);
        if (cut.endsWith('…')) expect(abstract[cut.length - 1]).toMatch(/[\s,;:)]/);
      }
    }
  });
});

describe('the digest card', () => {
  it('when a paper’s abstract would be cut inside "(e.g.", then the email shows it ending at a word', async () => {
    const templates = await loadTemplates({ publicUrl: 'https://papers.example.org', postalAddress: 'Paperboy' });
    const [paper] = fixturePapers('2026-11-24');
    const abstract = `We study how sequence models scale with data and compute across ${'many tasks, '.repeat(17)}comparing architectures (e.g. transformers and state-space models) at equal cost.`;
    // The card's 300 characters end in "transformers", just after "(e.g. ".
    expect(abstract.indexOf('(e.g.')).toBe(292);

    const { text } = await templates.compileDigest({
      date: '2026-11-24',
      papers: [{ ...paper!, aiSummary: null, abstract }],
    });
    expect(text).not.toMatch(/\(e\.g/);
    expect(text.replace(/\s+/g, ' ')).toContain('many tasks, comparing architectures…');
  });
});
