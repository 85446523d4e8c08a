import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Sink } from './sink.ts';
import { BENCH_DATE, BENCH_FROM, BENCH_PUBLIC_URL, BENCH_SECRET, seedSubscribers } from './fixtures.ts';
import { sendDeadlineMs } from './send.ts';

/**
 * Peak memory of a send as an operator starts one: `node scripts/launch.mjs send-now` (what
 * `npm run send-now` runs: dist/, the compiled build, no tsx), a process of its own over a
 * database seeded with n confirmed subscribers, into the bench's SMTP sink. Its peak resident set
 * is the kernel's count for the process (getrusage's maxRSS), which a preloaded module reports
 * as the process exits: nothing of the bench runs inside it.
 */
export interface SendNowMemory {
  n: number;
  /** Peak RSS of the whole process, start-up included, MB. */
  peakMb: number;
  /** From spawning the command to its exit. */
  wallMs: number;
  sinkMessages: number;
  problems: string[];
}

const root = fileURLToPath(new URL('..', import.meta.url));
const MARK = 'bench-max-rss-kb:';
// Plain JavaScript, as the process runs no TypeScript loader.
const PRELOAD = `data:text/javascript,process.on('exit',()=>process.stderr.write('\\n${MARK}'+process.resourceUsage().maxRSS+'\\n'))`;

let dbCounter = 0;

export async function measureSendNow(
  n: number,
  s: { sink: Sink; dir: string; poolSize: number; papersApiUrl: string },
): Promise<SendNowMemory> {
  const dbPath = join(s.dir, `send-now-${n}-${++dbCounter}.sqlite`);
  seedSubscribers(dbPath, n);
  await s.sink.reset({ trackRecipients: false });
  const env = {
    ...process.env,
    DATABASE_PATH: dbPath,
    OUTBOX_DIR: `${dbPath}.outbox`,
    SMTP_URL: `smtp://127.0.0.1:${s.sink.port}`,
    SMTP_POOL_SIZE: String(s.poolSize),
    SEND_RATE_PER_SEC: '0',
    PAPERS_API_URL: s.papersApiUrl,
    MAIL_FROM: BENCH_FROM,
    PUBLIC_URL: BENCH_PUBLIC_URL,
    SECRET: BENCH_SECRET,
    LOG_LEVEL: 'warn',
  };
  const started = performance.now();
  const { code, stderr } = await new Promise<{ code: number | null; stderr: string }>((resolve, reject) => {
    const child = spawn(
      process.execPath,
      ['--import', PRELOAD, join(root, 'scripts', 'launch.mjs'), 'send-now', '--date', BENCH_DATE],
      {
        cwd: root,
        env,
        stdio: ['ignore', 'ignore', 'pipe'],
        timeout: sendDeadlineMs(n),
      },
    );
    let err = '';
    child.stderr.on('data', (d: Buffer) => (err += d));
    child.on('error', reject);
    child.on('close', (c) => resolve({ code: c, stderr: err }));
  });
  const wallMs = performance.now() - started;
  const problems: string[] = [];
  if (code !== 0)
    problems.push(
      `send-now exited ${code}: ${stderr
        .replace(new RegExp(`${MARK}\\d+`), '')
        .trim()
        .slice(0, 300)}`,
    );
  const kb = new RegExp(`${MARK}(\\d+)`).exec(stderr)?.[1];
  if (!kb) throw new Error(`send-now ${n} reported no peak RSS (exit ${code}): ${stderr.slice(0, 300)}`);
  const sink = await s.sink.waitFor(n, 10_000).catch(() => s.sink.stats());
  if (sink.messages !== n) problems.push(`sink got ${sink.messages} messages, expected ${n}`);
  return { n, peakMb: Number(kb) / 1024, wallMs, sinkMessages: sink.messages, problems };
}
