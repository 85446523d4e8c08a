import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { BENCH_DATE, BENCH_FROM, BENCH_PUBLIC_URL, BENCH_SECRET, seedSubscribers } from './fixtures.ts';
import { medianBy } from './report.ts';

/**
 * Cold start of the operator's commands, as an operator types them: wall time from spawning
 * `npm run …` to its exit (these commands print their answer and exit), medians of `reps`, each
 * against `npm run env` (npm, a shell and a tiny program: what any `npm run` costs before our code
 * runs) measured in the same loop, `npm --version` beside it. A first run of each command is not
 * timed: it builds dist/ when its inputs changed (scripts/launch.mjs).
 */
export interface StartupResult {
  reps: number;
  npmVersionMs: number;
  /** `npm run env`: npm, a shell and a tiny program — what every `npm run` costs before our code runs. */
  npmRunEnvMs: number;
  helpMs: number;
  countMs: number;
  dryRunMs: number;
  /** The same --help through tsx, from the sources. */
  helpTsxMs: number;
}

const root = fileURLToPath(new URL('..', import.meta.url));

export async function measureStartup(dir: string, papersApiUrl: string, reps: number): Promise<StartupResult> {
  const dbPath = join(dir, 'startup.sqlite');
  seedSubscribers(dbPath, 1000);
  const env = {
    ...process.env,
    DATABASE_PATH: dbPath,
    PAPERS_API_URL: papersApiUrl,
    MAIL_FROM: BENCH_FROM,
    PUBLIC_URL: BENCH_PUBLIC_URL,
    SECRET: BENCH_SECRET,
    OUTBOX_DIR: join(dir, 'startup-outbox'),
    LOG_LEVEL: 'warn',
  };
  // Not spawnSync: the papers API the dry run asks lives in this process.
  const time = (cmd: string, args: string[]) =>
    new Promise<number>((resolve, reject) => {
      const started = performance.now();
      const child = spawn(cmd, args, { cwd: root, env, stdio: ['ignore', 'ignore', 'pipe'], timeout: 120_000 });
      let stderr = '';
      child.stderr.on('data', (d: Buffer) => (stderr += d));
      child.on('error', reject);
      child.on('close', (code) => {
        const ms = performance.now() - started;
        if (code === 0) resolve(ms);
        else reject(new Error(`${cmd} ${args.join(' ')} exited ${code}: ${stderr.slice(0, 500)}`));
      });
    });
  const commands = {
    npmVersionMs: ['npm', ['--version']],
    npmRunEnvMs: ['npm', ['run', '-s', 'env']],
    helpMs: ['npm', ['run', '-s', 'send-now', '--', '--help']],
    countMs: ['npm', ['run', '-s', 'subscribers', '--', 'count']],
    dryRunMs: ['npm', ['run', '-s', 'send-now', '--', '--dry-run', '--date', BENCH_DATE]],
    helpTsxMs: ['npx', ['tsx', 'scripts/send-now.ts', '--help']],
  } as const;
  for (const [cmd, args] of Object.values(commands)) await time(cmd, [...args]);
  const runs = new Map<string, number[]>(Object.keys(commands).map((k) => [k, []]));
  // Interleaved, so a change in the box's load hits every command alike.
  for (let i = 0; i < reps; i++)
    for (const [key, [cmd, args]] of Object.entries(commands)) runs.get(key)!.push(await time(cmd, [...args]));
  const median = (key: string) => medianBy(runs.get(key)!, (x) => x);
  return {
    reps,
    npmVersionMs: median('npmVersionMs'),
    npmRunEnvMs: median('npmRunEnvMs'),
    helpMs: median('helpMs'),
    countMs: median('countMs'),
    dryRunMs: median('dryRunMs'),
    helpTsxMs: median('helpTsxMs'),
  };
}
