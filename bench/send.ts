import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { withWorker } from './ipc.ts';
import type { Sink, SinkStats } from './sink.ts';
import type { DigestContent, SendMeasurement, SenderParams } from './send-worker.ts';
import { BENCH_DATE, benchKey, seedSubscribers, spreadPreferences } from './fixtures.ts';
import { medianBy } from './report.ts';

export type SenderKind = SenderParams['kind'];

export interface SendRun extends SendMeasurement {
  msgsPerSec: number;
  cpuMsPerMsg: number;
  sinkCpuMsPerMsg: number;
  bytesPerMsg: number;
  sink: SinkStats;
  /** Problems seen: wrong message count at the sink, a recipient missing or doubled. */
  problems: string[];
  seedMs?: number;
  /** Which round of the interleaved runs this was (the bench pairs ratios by round). */
  round?: number;
  /** The section of paired runs it belongs to (variants, dkim); none for the send section's. */
  series?: 'variants' | 'dkim';
}

export interface SendShared {
  sink: Sink;
  poolSize: number;
  dir: string;
  content: DigestContent;
  raw: Uint8Array;
  papersApiUrl: string;
  dayPapers: number;
  /** Distinct preferences of the many-variants send (product-variants). */
  variantPreferences: number;
}

/** A generous bound: the slowest sender seen does ~400 msgs/s; this allows 100/s plus start-up. */
export const sendDeadlineMs = (n: number) => 60_000 + (n / 100) * 1000;

let dbCounter = 0;

/** One RSA-2048 key for every signed send of the run, written once to the run's temp dir. */
function dkimKeyPath(dir: string): string {
  const path = join(dir, 'dkim-bench.pem');
  if (!existsSync(path)) writeFileSync(path, benchKey('rsa'), { mode: 0o600 });
  return path;
}

/**
 * One timed send in a fresh child process: prepare (pool warmed) → sink reset → run → the sink's
 * own count. The product path gets a freshly seeded database each time (a run per date is unique).
 */
export async function measureSend(kind: SenderKind, n: number, s: SendShared): Promise<SendRun> {
  const base = { port: s.sink.port, poolSize: s.poolSize, n };
  let seedMs: number | undefined;
  let params: SenderParams;
  switch (kind) {
    case 'nodemailer':
      params = { kind, ...base, content: s.content };
      break;
    case 'nodemailer-raw':
    case 'pipelined-raw':
      params = { kind, ...base, raw: s.raw };
      break;
    case 'product':
    case 'product-variants':
    case 'product-dkim-main':
    case 'product-dkim-workers':
    case 'fastpath-nodb': {
      const dbPath = join(s.dir, `send-${kind}-${n}-${++dbCounter}.sqlite`);
      if (kind !== 'fastpath-nodb' && kind !== 'product-variants') seedMs = seedSubscribers(dbPath, n).ms;
      if (kind === 'product-variants') seedMs = seedSubscribers(dbPath, n, spreadPreferences(s.variantPreferences)).ms;
      const dkim =
        kind === 'product-dkim-main'
          ? { keyPath: dkimKeyPath(s.dir), workers: 0 }
          : kind === 'product-dkim-workers'
            ? { keyPath: dkimKeyPath(s.dir) }
            : undefined;
      params = { kind, ...base, dbPath, date: BENCH_DATE, papersApiUrl: s.papersApiUrl, dayPapers: s.dayPapers, dkim };
      break;
    }
  }
  return withWorker('sender', async (w) => {
    await w.call('prepare', params, 120_000);
    await s.sink.reset({ trackRecipients: n <= 200_000 });
    const m = await w.call<SendMeasurement>('run', null, sendDeadlineMs(n));
    const problems: string[] = [];
    let sink: SinkStats;
    try {
      sink = await s.sink.waitFor(n, 10_000);
    } catch (err) {
      problems.push((err as Error).message);
      sink = await s.sink.stats();
    }
    if (sink.messages !== n) problems.push(`sink got ${sink.messages} messages, expected ${n}`);
    if (sink.distinctRecipients !== null && sink.distinctRecipients !== n)
      problems.push(`sink saw ${sink.distinctRecipients} distinct recipients, expected ${n}`);
    if (m.sent !== n) problems.push(`sender reported ${m.sent} sent, expected ${n}`);
    await w.call('close', null, 10_000).catch(() => undefined);
    return {
      ...m,
      msgsPerSec: n / (m.elapsedMs / 1000),
      cpuMsPerMsg: m.cpuMs / n,
      sinkCpuMsPerMsg: sink.cpuMs / Math.max(1, sink.messages),
      bytesPerMsg: sink.bytes / Math.max(1, sink.messages),
      sink,
      problems,
      ...(seedMs === undefined ? {} : { seedMs }),
    };
  });
}

/** The median run by throughput (runs of one kind and size). */
export function medianRun(runs: SendRun[]): SendRun {
  return medianBy(runs, (r) => r.msgsPerSec);
}
