import { describe, expect, it } from 'vitest';
import type { Paper } from '../../src/model/paper.ts';
import { countMatches, keywordMatcher } from '../../src/domain/keywords.ts';
import { parseKeywords, rankPapers } from '../../src/domain/ranking.ts';
import { fixturePapers } from '../support/fixture-papers.ts';

const days = ['2026-11-23', '2026-11-24', '2026-11-25'].flatMap((d) => fixturePapers(d));
/** The real fixture titles a keyword list matches (title, abstract or the paper's own keywords). */
const titles = (keywords: string) => {
  const matches = keywordMatcher(parseKeywords(keywords));
  return [...new Set(days.filter(matches).map((p) => p.title))].sort();
};
const paper = (title: string, abstract = ''): Paper => ({
  id: `2611.${Math.random().toString().slice(2, 7)}`,
  title,
  abstract,
  authors: [],
  publishedAt: '2026-11-24T00:00:00.000Z',
  featuredDate: '2026-11-24',
  upvotes: 1,
  numComments: 0,
  aiSummary: null,
  keywords: [],
  githubRepo: null,
  projectPage: null,
  withdrawn: false,
});
const matches = (keyword: string, title: string, abstract?: string) =>
  keywordMatcher([keyword])(paper(title, abstract));

describe('keywords match word stems in real titles', () => {
  it('when the keyword is "agent", then "Retrieval Agents" and "Agentic Web Browsing" match (Porter stems "agentic" to "agent" too)', () => {
    expect(titles('agent')).toEqual([
      'Grounding Agentic Web Browsing: Beyond the Benchmark',
      'Grounding Retrieval Agents: Beyond the Benchmark',
      'Rethinking Retrieval Agents: Lessons at Scale',
      'Unifying Retrieval Agents: Beyond the Benchmark',
    ]);
  });

  it('when the keyword is "LM", then "Tokenizer-Free LMs" matches; "LLM" matches "LLMs" the same way', () => {
    expect(titles('LM')).toEqual([
      'Benchmarking Tokenizer-Free LMs: Lessons at Scale',
      'Grounding Tokenizer-Free LMs: Beyond the Benchmark',
      'Unifying Tokenizer-Free LMs: Beyond the Benchmark',
    ]);
    expect(matches('LLM', 'Compiling C++ with LLMs')).toBe(true);
    expect(matches('llms', 'An LLM for code')).toBe(true);
  });

  it('when the keyword is a phrase, then it matches its words in a row, in any inflection, across a hyphen or a line break', () => {
    expect(titles('reward model')).toEqual([
      'Benchmarking Reward Modeling: Lessons at Scale',
      'Rethinking Reward Modeling: Lessons at Scale',
      'Unifying Reward Modeling: Beyond the Benchmark',
    ]);
    expect(titles('video world model')).toHaveLength(3);
    expect(titles('mixture of experts')).toEqual(titles('mixture-of-experts'));
    expect(titles('mixture of experts')).toHaveLength(3);
    expect(matches('diffusion model', 'Scaling Diffusion Models')).toBe(true);
    expect(matches('diffusion model', 'A title', 'We train diffusion\nmodels on video.')).toBe(true);
  });

  it('when the words of a phrase are apart, reversed, or split by a sentence or by two fields, then it does not match', () => {
    expect(matches('diffusion model', 'Diffusion for language models')).toBe(false);
    expect(matches('diffusion model', 'Model diffusion')).toBe(false);
    expect(matches('diffusion model', 'A title', 'We use diffusion. Models are slow.')).toBe(false);
    expect(matches('diffusion model', 'Fast diffusion', 'Models are slow.')).toBe(false);
    expect(titles('language model')).toEqual(['Accelerating Protein Language Models: A Simple Baseline']);
  });

  it('when the keyword is inside another word, then it does not match: "ai" is not in "Training", "Naive" or "paint"', () => {
    expect(titles('ai')).toEqual([]);
    expect(titles('train')).toEqual(['Rethinking Quantized Training: Lessons at Scale']);
    expect(matches('ai', 'How to paint with AI-generated brushes')).toBe(true);
    expect(matches('ai', 'How to paint')).toBe(false);
    expect(matches('ai', 'Explainable AIs')).toBe(true);
  });

  it('when the case differs, then it still matches; symbols and accents are kept exact', () => {
    expect(titles('SPARSE ATTENTION')).toEqual(titles('sparse attention'));
    expect(titles('sparse attention')).toEqual([
      'Accelerating Sparse Attention: A Simple Baseline',
      'Scaling Sparse Attention: A Simple Baseline',
    ]);
    expect(matches('c++', 'Compiling C++ with LLMs')).toBe(true);
    expect(matches('c++', 'Plan C for compilers')).toBe(false);
    expect(matches('c#', 'Learning C# idioms')).toBe(true);
    expect(matches('génératif', 'Modèle Génératif')).toBe(true);
    expect(matches('gpt-4', 'Probing GPT-4 and GPT 4o')).toBe(true);
    expect(matches('gpt-4', 'Probing GPT-40')).toBe(false);
  });

  it('when the keyword is Chinese, then it matches as a substring, as before', () => {
    expect(titles('大模型')).toEqual(['Why <b>Bold</b> & "Quoted" Titles Break Naive Templates — 大模型']);
    expect(titles('模型')).toHaveLength(1);
    expect(titles('模型训练')).toEqual([]);
  });
});

describe('countMatches', () => {
  it('counts the papers the keywords match, leaving out withdrawn ones, as a digest would', () => {
    const day = fixturePapers('2026-11-24');
    expect(day.some((p) => p.withdrawn)).toBe(true);
    expect(countMatches(day, [])).toBe(rankPapers(day, { size: 50 }).length);
    expect(countMatches(day, ['agent', 'self-play'])).toBe(
      rankPapers(day, { size: 50, keywords: ['agent', 'self-play'] }).length,
    );
    expect(countMatches(day, ['agent'])).toBe(2);
  });

  it('gives the same answer on a second call over the same papers (stems cached per paper)', () => {
    const day = fixturePapers('2026-11-25');
    const first = countMatches(day, ['retrieval agent', 'lm']);
    expect(first).toBeGreaterThan(0);
    expect(countMatches(day, ['retrieval agent', 'lm'])).toBe(first);
  });
});
