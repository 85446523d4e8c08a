import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir, loadavg } from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { plan, USAGE, type Plan } from './plan.ts';
import type { Results } from './results.ts';
import { buildRows } from './rows.ts';
import { killAllWorkers, withWorker } from './ipc.ts';
import { startSink, type Sink } from './sink.ts';
import { startPapersApi, type PapersApi } from './papers-api.ts';
import { measureSend, type SenderKind, type SendShared } from './send.ts';
import { distinctLists, spreadPreferences } from './fixtures.ts';
import { measureStartup } from './startup.ts';
import { measureIntake } from './intake.ts';
import { measureSendNow } from './send-now-memory.ts';
import { measureSubscribe, type LoadResult } from './subscribe.ts';
import type { RenderResult } from './render-worker.ts';
import type { IngestResult } from './ingest-worker.ts';
import type { DigestContent } from './send-worker.ts';
import type { DayResult } from './day.ts';
import { fmt, machine, renderMarkdown, renderTable } from './report.ts';

// ---- cleanup, whatever happens ----

let tempDir: string | null = null;
const closers: (() => Promise<void>)[] = [];

function cleanupSync() {
  killAllWorkers();
  if (tempDir) {
    rmSync(tempDir, { recursive: true, force: true });
    tempDir = null;
  }
}

/** Stops the long-lived helpers of a section (the SMTP sink, the papers API). */
async function closeHelpers() {
  for (const close of closers.splice(0).reverse()) await close().catch(() => undefined);
}

async function cleanup() {
  await closeHelpers();
  cleanupSync();
}

process.on('exit', cleanupSync);
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
  process.on(signal, () => {
    console.error(`\nbench: ${signal}, stopping child processes and removing ${tempDir ?? 'temp files'}`);
    cleanupSync();
    process.exit(signal === 'SIGINT' ? 130 : 143);
  });
}

const TEMP_PREFIX = 'paperboy-bench-';

/** Temp folders of earlier runs that were SIGKILLed (their owner pid is gone): removed. */
function sweepStaleTempDirs() {
  for (const name of readdirSync(tmpdir())) {
    if (!name.startsWith(TEMP_PREFIX)) continue;
    const path = join(tmpdir(), name);
    try {
      const pid = Number(readFileSync(join(path, 'owner.pid'), 'utf8'));
      process.kill(pid, 0);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ESRCH') rmSync(path, { recursive: true, force: true });
    }
  }
}

const log = (msg: string) => console.error(`[bench ${new Date().toISOString().slice(11, 19)}] ${msg}`);

// ---- the sections ----

async function runSection(results: Results, section: string, fn: () => Promise<void>) {
  const started = performance.now();
  log(`${section}…`);
  try {
    await fn();
    log(`${section} done in ${((performance.now() - started) / 1000).toFixed(1)} s`);
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    results.errors.push({ section, message });
    log(`${section} FAILED: ${message.split('\n')[0]}`);
  }
}

async function sendAndMemory(
  p: Plan,
  results: Results,
  dir: string,
  content: { content: DigestContent; raw: Uint8Array },
) {
  const sink: Sink = await startSink();
  closers.push(() => sink.stop());
  const api: PapersApi = await startPapersApi(p.dayPapers);
  closers.push(() => api.close());
  const shared: SendShared = {
    sink,
    poolSize: p.poolSize,
    dir,
    content: content.content,
    raw: content.raw,
    papersApiUrl: api.url,
    dayPapers: p.dayPapers,
    variantPreferences: p.variantPreferences,
  };

  const wantSend = p.sections.includes('send');
  const wantMemory = p.sections.includes('memory');
  for (const n of wantSend ? p.sendSizes : []) {
    const kinds: SenderKind[] = ['nodemailer', 'nodemailer-raw', 'pipelined-raw', 'fastpath-nodb', 'product'];
    const reps = Math.max(...kinds.map((k) => p.repsAt(n, k)));
    for (let rep = 0; rep < reps; rep++) {
      // Interleaved, so drift in the box's load hits every sender alike.
      for (const kind of kinds.filter((k) => rep < p.repsAt(n, k))) {
        try {
          const r = await measureSend(kind, n, shared);
          results.send.push({ ...r, round: rep });
          log(
            `  send ${fmt.n(n)} ${kind}: ${fmt.rate(r.msgsPerSec)}, ${r.cpuMsPerMsg.toFixed(3)} ms CPU/msg, sink ${r.sinkCpuMsPerMsg.toFixed(3)} ms/msg, VmHWM ${r.vmHwmMb === null ? '?' : fmt.mb(r.vmHwmMb)}${r.problems.length ? ` PROBLEMS: ${r.problems.join('; ')}` : ''}`,
          );
        } catch (err) {
          const message = (err as Error).message;
          results.errors.push({ section: `send ${fmt.n(n)} ${kind}`, message });
          log(`  send ${fmt.n(n)} ${kind} FAILED: ${message.split('\n')[0]}`);
        }
      }
    }
  }
  for (const n of wantMemory ? p.memorySizes : []) {
    try {
      const m = await measureSendNow(n, shared);
      results.sendNow.push(m);
      log(
        `  memory: send-now ${fmt.n(n)}: peak RSS ${fmt.mb(m.peakMb)}, ${fmt.ms(m.wallMs)} wall${m.problems.length ? ` PROBLEMS: ${m.problems.join('; ')}` : ''}`,
      );
    } catch (err) {
      const message = (err as Error).message;
      results.errors.push({ section: `memory send-now ${fmt.n(n)}`, message });
      log(`  memory: send-now ${fmt.n(n)} FAILED: ${message.split('\n')[0]}`);
    }
  }
  // Pairs measured back to back in each round, so drift in the box's load hits both alike.
  const paired = async (series: 'variants' | 'dkim', n: number, kinds: SenderKind[]) => {
    for (let round = 0; round < p.pairedRounds; round++) {
      for (const kind of kinds) {
        try {
          const r = await measureSend(kind, n, shared);
          results.send.push({ ...r, round, series });
          log(
            `  ${kind} ${fmt.n(n)}: ${fmt.rate(r.msgsPerSec)}, ${r.cpuMsPerMsg.toFixed(3)} ms CPU/msg (all threads)${r.problems.length ? ` PROBLEMS: ${r.problems.join('; ')}` : ''}`,
          );
        } catch (err) {
          const message = (err as Error).message;
          results.errors.push({ section: `${kind} ${fmt.n(n)}`, message });
          log(`  ${kind} ${fmt.n(n)} FAILED: ${message.split('\n')[0]}`);
        }
      }
    }
  };
  if (p.sections.includes('variants')) {
    results.variantLists = distinctLists(spreadPreferences(p.variantPreferences), p.dayPapers);
    await paired('variants', p.variantsAt, ['product', 'product-variants']);
  }
  if (p.sections.includes('dkim')) {
    // What DKIM threads buy is the sender's second core, which a receiver costing a third of a
    // core per message on the same box would hold back: these pairs send to the lean sink.
    const lean = await startSink('lean');
    closers.push(() => lean.stop());
    shared.sink = lean;
    await paired('dkim', p.dkimAt, ['product-dkim-main', 'product-dkim-workers']);
  }
}

// ---- main ----

async function main(argv: string[]): Promise<number> {
  const p = plan(argv);
  if ('help' in p) {
    console.log(USAGE);
    return 0;
  }
  if ('error' in p) {
    console.error(`bench: ${p.error}\n\n${USAGE}`);
    return 2;
  }
  const started = new Date();
  const host = machine();
  sweepStaleTempDirs();
  tempDir = mkdtempSync(join(tmpdir(), TEMP_PREFIX));
  const dir = tempDir;
  writeFileSync(join(dir, 'owner.pid'), String(process.pid));
  log(
    `${p.mode} run on ${host.cpuModel} × ${host.cores}, Node ${host.node}, load ${host.loadAvgAtStart.join(' ')}; temp ${dir}`,
  );

  // The whole run is bounded: past this, everything is stopped and the run fails.
  const budgetMs = p.mode === 'full' ? 3 * 3600_000 : p.mode === 'default' ? 45 * 60_000 : 10 * 60_000;
  const watchdog = setTimeout(() => {
    console.error(`bench: still running after ${budgetMs / 60_000} min: stopping`);
    cleanupSync();
    process.exit(1);
  }, budgetMs);
  watchdog.unref();

  const results: Results = { send: [], sendNow: [], subscribe: [], errors: [], cores: availableParallelism() };
  let content: { content: DigestContent; raw: Uint8Array } | null = null;
  const needContent = (['send', 'memory', 'variants', 'dkim'] as const).some((s) => p.sections.includes(s));

  if (p.sections.includes('render') || needContent)
    await runSection(results, 'render', async () => {
      await withWorker('render', async (w) => {
        if (p.sections.includes('render')) {
          results.render = await w.call<RenderResult>(
            'measure',
            { compileRuns: p.compileRuns, iterations: p.personaliseIterations, dayPapers: p.dayPapers },
            300_000,
          );
        }
        if (needContent) {
          content = await w.call<{ content: DigestContent; raw: Uint8Array }>(
            'content',
            { dayPapers: p.dayPapers },
            60_000,
          );
          results.content = {
            subjectChars: content.content.subject.length,
            htmlBytes: Buffer.byteLength(content.content.html),
            textBytes: Buffer.byteLength(content.content.text),
            rawBytes: content.raw.length,
          };
        }
      });
    });

  if (needContent) {
    await runSection(results, 'send + memory', async () => {
      if (!content) throw new Error('no digest content (the render section failed)');
      await sendAndMemory(p, results, dir, content);
    });
    await closeHelpers();
  }

  if (p.sections.includes('startup')) {
    await runSection(results, 'startup', async () => {
      const api = await startPapersApi(p.dayPapers);
      try {
        results.startup = await measureStartup(dir, api.url, p.startupReps);
      } finally {
        await api.close();
      }
    });
  }

  if (p.sections.includes('subscribe')) {
    await runSection(results, 'subscribe', async () => {
      // Alternating (bare, product, abuse, abuse, product, bare, …), each on a fresh database in its own process.
      for (let rep = 0; rep < p.subscribeReps; rep++) {
        const order: LoadResult['mode'][] = rep % 2 ? ['abuse', 'product', 'bare'] : ['bare', 'product', 'abuse'];
        for (const mode of order)
          results.subscribe.push(await measureSubscribe(mode, dir, p.subscribeSeconds, p.subscribeConnections, rep));
      }
    });
  }

  if (p.sections.includes('ingest')) {
    await runSection(results, 'ingest', async () => {
      const api = await startPapersApi(500);
      try {
        await withWorker('ingest', async (w) => {
          results.ingest = await w.call<IngestResult>(
            'measure',
            { dir, papers: 500, runs: p.ingestRuns, papersApiUrl: api.url },
            120_000,
          );
        });
      } finally {
        await api.close();
      }
    });
  }

  if (p.sections.includes('intake')) {
    await runSection(results, 'intake', async () => {
      results.intake = await measureIntake(dir, p.intakeReports);
    });
  }

  if (p.sections.includes('day')) {
    await runSection(results, 'day', async () => {
      // Long at 100k (seeding, then about a minute of slices): an hour at most.
      results.day = await withWorker('day', (w) =>
        w.call<DayResult>('measure', { readers: p.dayReaders, dir }, 3600_000),
      );
    });
  }

  host.loadAvgAtEnd = loadavg().map((x) => Math.round(x * 100) / 100);
  const rows = buildRows(p, results);
  const finished = new Date();
  const table = renderTable(rows);
  console.log('');
  console.log(
    `Paperboy bench (${p.mode}) · ${started.toISOString()} · ${((finished.getTime() - started.getTime()) / 1000).toFixed(0)} s`,
  );
  console.log(
    `machine: ${host.cpuModel}, ${host.cores} cores, ${host.memoryGb} GB, Node ${host.node}, ${host.os}; load avg ${host.loadAvgAtStart.join(' ')} → ${host.loadAvgAtEnd.join(' ')}`,
  );
  console.log(
    `pool size ${p.poolSize}; digest ${results.content ? `${Math.round(results.content.rawBytes / 1024)} KB as nodemailer encodes it (HTML ${Math.round(results.content.htmlBytes / 1024)} KB + text ${Math.round(results.content.textBytes / 1024)} KB)` : 'n/a'}`,
  );
  console.log('');
  console.log(table);
  for (const e of results.errors) console.log(`\nERROR in ${e.section}: ${e.message}`);

  const root = fileURLToPath(new URL('..', import.meta.url));
  const outDir = join(root, 'data', 'bench-results');
  mkdirSync(outDir, { recursive: true });
  const file = join(outDir, `${started.toISOString().replace(/[:.]/g, '-')}.json`);
  const { repsAt: _repsAt, ...planJson } = p;
  writeFileSync(
    file,
    JSON.stringify(
      {
        startedAt: started.toISOString(),
        finishedAt: finished.toISOString(),
        command: `npm run bench${argv.length ? ` -- ${argv.join(' ')}` : ''}`,
        machine: host,
        plan: planJson,
        results,
        table: rows,
        markdown: renderMarkdown(rows),
      },
      null,
      2,
    ) + '\n',
  );
  // The same figures as markdown, ready for bench/README.md.
  const md = file.replace(/\.json$/, '.md');
  writeFileSync(
    md,
    [
      `Measured with \`npm run bench${argv.length ? ` -- ${argv.join(' ')}` : ''}\` on ${started.toISOString().slice(0, 10)}: ${host.cpuModel}, ${host.cores} cores, Node ${host.node}, load average ${host.loadAvgAtStart[0]} → ${host.loadAvgAtEnd[0]} (a shared box: compare the ratios, not the absolute figures). SMTP pool ${p.poolSize}.`,
      '',
      renderMarkdown(rows),
      '',
    ].join('\n'),
  );
  console.log(`\nresults: ${relative(process.cwd(), file) || file}\nmarkdown: ${relative(process.cwd(), md) || md}`);
  clearTimeout(watchdog);
  const failed = results.errors.length > 0 || rows.some((r) => r.result === 'FAIL');
  return failed ? 1 : 0;
}

main(process.argv.slice(2)).then(
  async (code) => {
    await cleanup();
    process.exit(code);
  },
  async (err: unknown) => {
    console.error(err);
    await cleanup();
    process.exit(1);
  },
);
