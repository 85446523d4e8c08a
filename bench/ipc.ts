import { fork, type ChildProcess } from 'node:child_process';
import { createRequire } from 'node:module';
import { fileURLToPath, pathToFileURL } from 'node:url';

/**
 * The bench runs every measured piece in a child process of its own (the SMTP sink, each sender,
 * each HTTP server), so CPU time and RSS belong to the thing measured, not to the harness.
 * Parent and child talk over the fork IPC channel with small request/response messages.
 */

interface Request {
  rpc: number;
  method: string;
  params: unknown;
}
type Response = { rpc: number; ok: true; value: unknown } | { rpc: number; ok: false; error: string };

export type Handlers = Record<string, (params: never) => unknown>;

/** Child side: answers the parent's calls; exits when the parent goes away. */
export function serve(handlers: Handlers): void {
  if (!process.send) throw new Error('this script is a bench worker: run it through npm run bench');
  // The parent died or closed the channel: nothing will ever collect our results.
  process.on('disconnect', () => process.exit(2));
  process.on('message', (msg: Request) => {
    const handler = handlers[msg.method];
    const reply = (r: Response) => process.connected && process.send!(r);
    if (!handler) return reply({ rpc: msg.rpc, ok: false, error: `unknown method ${msg.method}` });
    Promise.resolve()
      .then(() => (handler as (p: unknown) => unknown)(msg.params))
      .then(
        (value) => reply({ rpc: msg.rpc, ok: true, value: value ?? null }),
        (err: unknown) =>
          reply({ rpc: msg.rpc, ok: false, error: err instanceof Error ? (err.stack ?? err.message) : String(err) }),
      );
  });
  process.send({ ready: true });
}

export interface Worker {
  readonly pid: number;
  readonly name: string;
  call<T>(method: string, params?: unknown, timeoutMs?: number): Promise<T>;
  /** Asks nicely, then SIGKILLs after a grace period. Safe to call twice. */
  stop(): Promise<void>;
}

const live = new Set<ChildProcess>();

/** Every child still running, for the last-resort cleanup on exit. */
export function killAllWorkers(): void {
  for (const child of live) {
    if (child.exitCode === null && child.signalCode === null && child.pid) {
      try {
        process.kill(child.pid, 'SIGKILL');
      } catch {
        /* already gone */
      }
    }
  }
  live.clear();
}

const workerScript = fileURLToPath(new URL('./worker.ts', import.meta.url));

/**
 * The child must load TypeScript too. Under `tsx` the parent's execArgv already carries its
 * loader; elsewhere (a vitest fork) tsx's loader is added.
 */
function workerExecArgv(): string[] {
  if (process.execArgv.some((a) => a.includes('tsx'))) return process.execArgv;
  const loader = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;
  return [...process.execArgv, '--import', loader];
}

/** Forks bench/worker.ts with the given role; resolves once it is ready for calls. */
export async function startWorker(
  name: string,
  env: Record<string, string> = {},
  startTimeoutMs = 30_000,
): Promise<Worker> {
  const child = fork(workerScript, [name], {
    env: { ...process.env, ...env },
    execArgv: workerExecArgv(),
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    serialization: 'advanced',
  });
  live.add(child);
  let nextId = 1;
  const pending = new Map<
    number,
    { resolve: (v: unknown) => void; reject: (e: Error) => void; timer: NodeJS.Timeout }
  >();
  let exited: Error | null = null;

  const failAll = (err: Error) => {
    for (const p of pending.values()) {
      clearTimeout(p.timer);
      p.reject(err);
    }
    pending.clear();
  };

  const ready = new Promise<void>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`worker ${name} did not start within ${startTimeoutMs} ms`)),
      startTimeoutMs,
    );
    child.on('message', (msg: Response | { ready: true }) => {
      if ('ready' in msg) {
        clearTimeout(timer);
        resolve();
        return;
      }
      const p = pending.get(msg.rpc);
      if (!p) return;
      pending.delete(msg.rpc);
      clearTimeout(p.timer);
      if (msg.ok) p.resolve(msg.value);
      else p.reject(new Error(`worker ${name}: ${msg.error}`));
    });
    child.on('exit', (code, signal) => {
      live.delete(child);
      clearTimeout(timer);
      exited = new Error(`worker ${name} exited (${signal ?? `code ${code}`})`);
      reject(exited);
      failAll(exited);
    });
    child.on('error', (err) => reject(err));
  });

  try {
    await ready;
  } catch (err) {
    if (child.pid && child.exitCode === null) child.kill('SIGKILL');
    throw err;
  }

  const worker: Worker = {
    pid: child.pid!,
    name,
    call<T>(method: string, params: unknown = null, timeoutMs = 60_000): Promise<T> {
      if (exited) return Promise.reject(exited);
      const rpc = nextId++;
      return new Promise<T>((resolve, reject) => {
        const timer = setTimeout(() => {
          pending.delete(rpc);
          reject(new Error(`worker ${name}: ${method} timed out after ${Math.round(timeoutMs / 1000)} s`));
        }, timeoutMs);
        pending.set(rpc, { resolve: resolve as (v: unknown) => void, reject, timer });
        child.send({ rpc, method, params } satisfies Request);
      });
    },
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const gone = new Promise<void>((resolve) => child.once('exit', () => resolve()));
      if (child.connected) child.disconnect();
      const timer = setTimeout(() => child.kill('SIGKILL'), 3_000);
      await gone;
      clearTimeout(timer);
    },
  };
  return worker;
}

/** Runs fn with a fresh worker and always stops it, whatever happens. */
export async function withWorker<T>(
  name: string,
  fn: (w: Worker) => Promise<T>,
  env: Record<string, string> = {},
): Promise<T> {
  const w = await startWorker(name, env);
  try {
    return await fn(w);
  } finally {
    await w.stop();
  }
}
