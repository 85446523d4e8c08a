import nodemailer from 'nodemailer';
import { createLogger } from '../src/logger.ts';
import { loadTemplates, personalise } from '../src/mail/templates.ts';
import { prepareMessage, renderMessage } from '../src/mail/raw-message.ts';
import { parseDailyPapersJson } from '../src/papers/hf-daily-papers.ts';
import { rankPapers } from '../src/domain/ranking.ts';
import { subscriberLinks } from '../src/domain/tokens.ts';
import type { Handlers } from './ipc.ts';
import {
  BENCH_DATE,
  BENCH_FROM,
  BENCH_PUBLIC_URL,
  BENCH_SECRET,
  benchKey,
  recipientFor,
  syntheticDay,
} from './fixtures.ts';
import { buildRawMessage, listHeaders, type DigestContent } from './send-worker.ts';
import { cpuSince } from './memory.ts';
import { dkimSigner } from '../src/mail/dkim/sign.mjs';

const silent = createLogger('silent');

/** Costs are CPU time of this process (see `cost`); `*WallMs`/`wall` keep the wall time. */
export interface RenderResult {
  loadTemplatesMs: number;
  /** MJML's compile of a digest (referenceDigest), CPU ms: the first call, then the mean of `compileRuns` after it. */
  compileFirstMs: number;
  compileMeanMs: number;
  compileMeanWallMs: number;
  compileRuns: number;
  /** Once per digest variant, µs: compileDigest, the day's list filled into the compiled templates. */
  fillDigestUs: number;
  htmlBytes: number;
  textBytes: number;
  /** Per recipient, µs: templates.personalise (string fill of the compiled digest). */
  personaliseUs: number;
  /** Per recipient, µs: the two signed links (HMAC). */
  linksUs: number;
  /** Once per digest variant, µs: raw-message prepareMessage (MIME structure, QP encoding). */
  prepareMessageUs: number;
  /** Per recipient, µs: raw-message renderMessage (the bytes that go on the wire). */
  renderMessageUs: number;
  /** The fast path's whole per-recipient cost: links + renderMessage. */
  fastPathPerRecipientUs: number;
  /** Baseline: nodemailer building the same message per recipient (streamTransport, buffer). */
  nodemailerBuildUs: number;
  /** DKIM signing (RSA-2048, relaxed/relaxed) of one raw message, µs, measured on its own. */
  dkimSignUs: number | null;
  /** What the optional ed25519-sha256 signature adds to it, µs. */
  dkimEd25519Us: number;
  rawBytesFastPath: number;
  rawBytesNodemailer: number;
  iterations: number;
  /** Wall-clock µs of the same loops, for reference. */
  wall: Record<string, number>;
}

/**
 * Per-iteration cost in µs of CPU time (user + system) — on a shared box, wall time per
 * iteration mostly measures the neighbours — and the wall time alongside.
 */
interface Cost {
  cpuUs: number;
  wallUs: number;
}

function cost(iterations: number, fn: (i: number) => unknown): Cost {
  const cpu = process.cpuUsage();
  const started = performance.now();
  for (let i = 0; i < iterations; i++) fn(i);
  return { cpuUs: (cpuSince(cpu) * 1000) / iterations, wallUs: ((performance.now() - started) * 1000) / iterations };
}

async function costAsync(iterations: number, fn: (i: number) => Promise<unknown>): Promise<Cost> {
  const cpu = process.cpuUsage();
  const started = performance.now();
  for (let i = 0; i < iterations; i++) await fn(i);
  return { cpuUs: (cpuSince(cpu) * 1000) / iterations, wallUs: ((performance.now() - started) * 1000) / iterations };
}

export async function digestPapers(date: string, dayPapers: number) {
  return rankPapers(
    parseDailyPapersJson(JSON.stringify(syntheticDay(date, dayPapers)), {
      where: 'bench',
      featuredDate: date,
      logger: silent,
    }).papers,
    { size: 10 },
  );
}

export function renderHandlers(): Handlers {
  return {
    /** The real digest for the bench day, filled for one recipient, and nodemailer's encoding of it. */
    async content(p: { dayPapers: number }): Promise<{ content: DigestContent; raw: Uint8Array }> {
      const templates = await loadTemplates({ publicUrl: BENCH_PUBLIC_URL, postalAddress: 'Paperboy bench' });
      const digest = await templates.compileDigest({
        date: BENCH_DATE,
        papers: await digestPapers(BENCH_DATE, p.dayPapers),
      });
      const content = personalise(digest, subscriberLinks(BENCH_PUBLIC_URL, BENCH_SECRET, 1));
      return { content, raw: await buildRawMessage(content) };
    },

    async measure(p: { compileRuns: number; iterations: number; dayPapers: number }): Promise<RenderResult> {
      const t = performance.now();
      const templates = await loadTemplates({ publicUrl: BENCH_PUBLIC_URL, postalAddress: 'Paperboy bench' });
      const loadTemplatesMs = performance.now() - t;
      const papers = await digestPapers(BENCH_DATE, p.dayPapers);

      // loadTemplates compiled a sample digest already: "first" is the first with the day's papers.
      const compileOnce = () => templates.referenceDigest({ date: BENCH_DATE, papers });
      const first = await costAsync(1, compileOnce);
      const compile = await costAsync(p.compileRuns, compileOnce);
      const fillOnce = () => templates.compileDigest({ date: BENCH_DATE, papers });
      await costAsync(20, fillOnce);
      const fillDigest = await costAsync(200, fillOnce);
      const digest = await fillOnce();

      const links = Array.from({ length: 1000 }, (_, i) => subscriberLinks(BENCH_PUBLIC_URL, BENCH_SECRET, i + 1));
      const n = p.iterations;
      cost(200, (i) => personalise(digest, links[i % 1000]!)); // warm the JIT
      const personaliseCost = cost(n, (i) => personalise(digest, links[i % 1000]!));
      const linksCost = cost(n, (i) => subscriberLinks(BENCH_PUBLIC_URL, BENCH_SECRET, i + 1));

      const settings = { from: BENCH_FROM, listId: '"Paperboy daily digest" <daily.papers.example.org>' };
      const prepareCost = cost(20, () => prepareMessage(digest, settings));
      const prepared = prepareMessage(digest, settings);
      const recipient = (i: number) => ({
        to: recipientFor(i),
        messageId: `digest.${BENCH_DATE}.${i + 1}@papers.example.org`,
        date: new Date(),
        ...links[i % 1000]!,
      });
      cost(200, (i) => renderMessage(prepared, recipient(i)));
      const renderCost = cost(n, (i) => renderMessage(prepared, recipient(i)));
      const rawFast = renderMessage(prepared, recipient(0)).raw;

      // The baseline for the per-recipient build: nodemailer encoding the same content from scratch.
      const content = personalise(digest, links[0]!);
      const stream = nodemailer.createTransport({ streamTransport: true, buffer: true, newline: 'windows' });
      const buildOne = (i: number) =>
        stream.sendMail({
          from: BENCH_FROM,
          to: recipientFor(i),
          subject: content.subject,
          html: content.html,
          text: content.text,
          ...listHeaders(i),
        });
      await costAsync(20, buildOne);
      const nodemailerCost = await costAsync(Math.max(50, Math.round(n / 50)), buildOne);
      const rawNodemailer = await buildRawMessage(content);

      // DKIM: the product's signer (src/mail/dkim/) on one message, on this thread, keys parsed
      // once: RSA-2048 alone, then with the optional Ed25519 signature next to it.
      const keys = { domainName: 'papers.example.org', keySelector: 'bench', privateKey: benchKey('rsa') };
      const rsaOnly = dkimSigner(keys);
      const both = dkimSigner({ ...keys, ed25519: { keySelector: 'bench-ed25519', privateKey: benchKey('ed25519') } });
      const now = Date.now() / 1000;
      cost(20, () => both(rawFast, now));
      cost(20, () => rsaOnly(rawFast, now));
      // Alternating batches, so a change in the box's load hits both alike; the difference is small.
      let [rsaUs, bothUs] = [0, 0];
      for (let batch = 0; batch < 10; batch++) {
        rsaUs += cost(20, () => rsaOnly(rawFast, now)).cpuUs / 10;
        bothUs += cost(20, () => both(rawFast, now)).cpuUs / 10;
      }
      const [dkimSignUs, dkimBothUs] = [rsaUs, bothUs];

      return {
        loadTemplatesMs,
        compileFirstMs: first.cpuUs / 1000,
        compileMeanMs: compile.cpuUs / 1000,
        compileMeanWallMs: compile.wallUs / 1000,
        compileRuns: p.compileRuns,
        fillDigestUs: fillDigest.cpuUs,
        htmlBytes: Buffer.byteLength(digest.html),
        textBytes: Buffer.byteLength(digest.text),
        personaliseUs: personaliseCost.cpuUs,
        linksUs: linksCost.cpuUs,
        prepareMessageUs: prepareCost.cpuUs,
        renderMessageUs: renderCost.cpuUs,
        fastPathPerRecipientUs: linksCost.cpuUs + renderCost.cpuUs,
        nodemailerBuildUs: nodemailerCost.cpuUs,
        dkimSignUs,
        dkimEd25519Us: dkimBothUs - dkimSignUs,
        rawBytesFastPath: rawFast.length,
        rawBytesNodemailer: rawNodemailer.length,
        wall: {
          personaliseUs: personaliseCost.wallUs,
          linksUs: linksCost.wallUs,
          renderMessageUs: renderCost.wallUs,
          nodemailerBuildUs: nodemailerCost.wallUs,
        },
        iterations: n,
      };
    },
  };
}
