import { generateKeyPairSync } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { openDatabase } from '../src/db/connection.ts';
import { migrate } from '../src/db/migrate.ts';
import { parseKeywords, rankPapers } from '../src/domain/ranking.ts';
import { createLogger } from '../src/logger.ts';
import { parseDailyPapersJson } from '../src/papers/hf-daily-papers.ts';
import { fixturesDir } from '../tests/support/fixtures-dir.ts';

/** The day the bench sends a digest for (a weekday, so the product does not treat it as empty). */
export const BENCH_DATE = '2026-11-24';
export const BENCH_FROM = 'Paperboy <paperboy@bench.localhost>';
export const BENCH_FROM_ADDRESS = 'paperboy@bench.localhost';
export const BENCH_PUBLIC_URL = 'https://papers.example.org';
export const BENCH_SECRET = 'bench-secret-bench-secret-bench-secret-0123';

export const recipientFor = (i: number) => `reader${i + 1}@bench.localhost`;

/** A fresh private key, PEM (the bench's signing keys; never published anywhere). */
export const benchKey = (type: 'rsa' | 'ed25519') =>
  (type === 'rsa'
    ? generateKeyPairSync('rsa', { modulusLength: 2048 })
    : generateKeyPairSync('ed25519')
  ).privateKey.export({ type: 'pkcs8', format: 'pem' }) as string;

type Json = Record<string, unknown>;

const topics = [
  'Speculative Decoding',
  'Sparse Attention',
  'Diffusion Policies',
  'Retrieval Agents',
  'Video World Models',
  'Reward Modeling',
  'Mixture-of-Experts Routing',
  'Tokenizer-Free LMs',
  '3D Gaussian Splatting',
  'Long-Context Memory',
  'Code Reasoning',
  'Multilingual Speech',
  'Protein Language Models',
  'Test-Time Scaling',
  'Model Merging',
];
const verbs = [
  'Scaling',
  'Rethinking',
  'Taming',
  'Unifying',
  'Accelerating',
  'Benchmarking',
  'Distilling',
  'Grounding',
];
const tails = ['A Simple Baseline', 'Lessons at Scale', 'One Step Is Enough', 'Beyond the Benchmark'];
const sentences = [
  'We study the problem under realistic compute budgets and report results on eleven public benchmarks.',
  'Existing methods trade quality for cost; we show that the trade-off is largely an artefact of evaluation.',
  'Our method keeps quality while cutting cost by 5x, and its ablations isolate where the gain comes from.',
  'We release code, checkpoints and the evaluation harness so that every number here can be reproduced.',
  'Experiments at three model scales show consistent gains, with the largest improvements on long inputs.',
  'Une partie des données est en français, et 一部は日本語です: the method is language-agnostic.',
];

/**
 * A synthetic Daily Papers response of `count` items in the exact shape of the shared fixtures:
 * each item is a real fixture item (edge cases included: markup and CJK in titles, a withdrawn
 * paper, project pages) with a new id, title, abstract, authors and upvotes.
 */
export function syntheticDay(date: string, count: number): Json[] {
  const templates = JSON.parse(readFileSync(`${fixturesDir}2026-11-24.json`, 'utf8')) as Json[];
  const items: Json[] = [];
  for (let i = 0; i < count; i++) {
    const base = structuredClone(templates[i % templates.length]!);
    const paper = base.paper as Json;
    const id = `2611.${String(10_000 + i).padStart(5, '0')}`;
    const edge = i % templates.length === 2; // the fixture's title with markup, quotes and CJK
    const title = edge
      ? `${paper.title as string} (${i})`
      : `${verbs[i % verbs.length]} ${topics[(i * 7) % topics.length]}: ${tails[i % tails.length]}`;
    const summary = Array.from({ length: 8 }, (_, k) => sentences[(i + k) % sentences.length]).join(' ');
    const authors = Array.from({ length: 3 + (i % 6) }, (_, k) => ({
      _id: `a${i}x${k}`,
      name: `Author ${id}-${k}`,
      hidden: false,
    }));
    Object.assign(paper, {
      id,
      title,
      summary,
      authors,
      // Distinct upvotes so the ranking is not decided by ties alone.
      upvotes: (count - i) * 3 + (i % 5),
      ai_summary:
        i % 3 === 0
          ? null
          : `A ${topics[(i * 7) % topics.length]!.toLowerCase()} method that is cheaper at equal quality.`,
      ai_keywords: [topics[(i * 7) % topics.length]!.toLowerCase(), 'scaling'],
      githubRepo: i % 2 === 0 ? `https://github.com/example/${id}` : null,
    });
    Object.assign(base, { title, summary, publishedAt: `${date}T14:20:00.000Z`, numComments: i % 7 });
    items.push(base);
  }
  return items;
}

export interface Preferences {
  digestSize: number;
  keywords: string;
}

/**
 * Preferences that split a list into many digests, as this round's features do: three topics
 * each (in the synthetic day every topic is in a few papers), size 5 or 10. Consecutive
 * subscribers get different ones; distinctLists counts what they rank to.
 */
export function spreadPreferences(count: number): Preferences[] {
  const triples: string[] = [];
  const t = topics.map((s) => s.toLowerCase());
  for (let a = 0; a < t.length; a++)
    for (let b = a + 1; b < t.length; b++)
      for (let c = b + 1; c < t.length; c++) triples.push(`${t[a]}, ${t[b]}, ${t[c]}`);
  // Spread over all the triples, not only those of the first topics.
  return Array.from({ length: count }, (_, i) => ({
    digestSize: i % 2 ? 10 : 5,
    keywords: triples[Math.floor((i * triples.length) / count)]!,
  }));
}

/** How many distinct digests these preferences rank to over the synthetic day (the product's parser and ranking). */
export function distinctLists(preferences: Preferences[], dayPapers: number): number {
  const { papers } = parseDailyPapersJson(JSON.stringify(syntheticDay(BENCH_DATE, dayPapers)), {
    where: 'bench',
    featuredDate: BENCH_DATE,
    logger: createLogger('silent'),
  });
  return new Set(
    preferences.map((p) =>
      rankPapers(papers, { size: p.digestSize, keywords: parseKeywords(p.keywords) })
        .map((x) => x.id)
        .join(' '),
    ),
  ).size;
}

/**
 * A temp database, migrated by the product's own migrator, holding `n` confirmed subscribers
 * (inserted in one transaction: ~2 s per million). Returns how long seeding took.
 */
export function seedSubscribers(
  dbPath: string,
  n: number,
  preferences: Preferences[] = [{ digestSize: 10, keywords: '' }],
): { ms: number } {
  const started = performance.now();
  const db = openDatabase(dbPath);
  try {
    migrate(db);
    const now = '2026-11-01T00:00:00.000Z';
    const insert = db.prepare(
      `INSERT INTO subscribers (email, status, digest_size, keywords, confirmed_at, created_at, updated_at)
       VALUES (?, 'confirmed', ?, ?, ?, ?, ?)`,
    );
    db.transaction(() => {
      for (let i = 0; i < n; i++) {
        const { digestSize, keywords } = preferences[i % preferences.length]!;
        insert.run(recipientFor(i), digestSize, keywords, now, now, now);
      }
    })();
    db.pragma('wal_checkpoint(TRUNCATE)');
  } finally {
    db.close();
  }
  return { ms: performance.now() - started };
}
