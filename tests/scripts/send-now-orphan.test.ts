import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { repoRoot } from '../support/server-process.ts';

let dir: string | undefined;
let api: Server | undefined;
let npm: ChildProcess | undefined;
const started: number[] = [];

afterEach(async () => {
  // Whatever this test started and is still there (without the fix, the whole chain).
  for (const pid of started.reverse()) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone: that is what the test hopes for
    }
  }
  started.length = 0;
  npm?.kill('SIGKILL');
  api?.closeAllConnections();
  await new Promise((resolve) => api?.close(resolve) ?? resolve(undefined));
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** The parent pid and state of a process, from /proc; undefined once it is gone (or a zombie). */
function procStat(pid: number): { ppid: number } | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const [state, ppid] = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return state === 'Z' ? undefined : { ppid: Number(ppid) };
  } catch {
    return undefined;
  }
}

/** The descendants of `root`, nearest first. */
function descendants(root: number): number[] {
  const children = new Map<number, number[]>();
  for (const name of readdirSync('/proc')) {
    const pid = Number(name);
    const stat = pid ? procStat(pid) : undefined;
    if (stat) children.set(stat.ppid, [...(children.get(stat.ppid) ?? []), pid]);
  }
  const out: number[] = [];
  for (let queue = [root]; queue.length;) {
    const next = children.get(queue.shift()!) ?? [];
    out.push(...next);
    queue.push(...next);
  }
  return out;
}

const cmdline = (pid: number) => {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
  } catch {
    return [];
  }
};

async function until<T>(what: string, probe: () => T | undefined, ms: number): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = probe();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** `npm run send-now` against a paper source that never answers; resolves with npm's pid. */
async function startSendNow(): Promise<{ npmPid: number; asked: () => boolean }> {
  dir = mkdtempSync(join(tmpdir(), 'paperboy-orphan-'));
  // A paper source that accepts the request and never answers: the sender waits on it
  // (10 s per attempt, five attempts) well past the time this test allows.
  let asked = false;
  api = createServer(() => {
    asked = true;
  });
  await new Promise<void>((resolve) => api!.listen(0, '127.0.0.1', resolve));
  const { port } = api.address() as { port: number };
  npm = spawn('npm', ['run', 'send-now', '--', '--date', '2026-11-24'], {
    cwd: repoRoot,
    env: {
      PATH: process.env.PATH ?? '',
      HOME: process.env.HOME ?? dir,
      LOG_LEVEL: 'warn',
      DATABASE_PATH: join(dir, 'paperboy.sqlite'),
      OUTBOX_DIR: join(dir, 'outbox'),
      SECRET: 'test-secret-test-secret-test-secret-0123',
      PAPERS_API_URL: `http://127.0.0.1:${port}/api/daily_papers`,
    },
    stdio: 'ignore',
  });
  return { npmPid: npm.pid!, asked: () => asked };
}

/** npm → sh → node: the node running scripts/launch.mjs send-now, once it is there. */
function senderUnder(npmPid: number): number | undefined {
  const chain = descendants(npmPid);
  for (const pid of chain) if (!started.includes(pid)) started.push(pid);
  const runsSendNow = (args: string[]) =>
    args.some((a) => a.endsWith('scripts/launch.mjs')) && args.includes('send-now');
  return chain.filter((pid) => runsSendNow(cmdline(pid))).at(-1);
}

describe.skipIf(process.platform !== 'linux')('npm run send-now, when npm is killed with -9', () => {
  it('while the sender works, then the node process doing the send notices and exits within seconds', async () => {
    const { npmPid, asked } = await startSendNow();
    await until('send-now to ask the paper source', asked, 30_000);
    const sender = senderUnder(npmPid);
    expect(sender).toBeDefined();
    expect(procStat(sender!)!.ppid).not.toBe(npmPid);

    process.kill(npmPid, 'SIGKILL');
    await until('the sender to exit', () => procStat(sender!) === undefined, 10_000);
  }, 60_000);

  it('while the sender is still loading, then it finds its launcher gone and exits', async () => {
    const { npmPid } = await startSendNow();
    const sender = await until('the sender process', () => senderUnder(npmPid), 30_000);
    process.kill(npmPid, 'SIGKILL');
    await until('the sender to exit', () => procStat(sender) === undefined, 20_000);
  }, 60_000);
});
