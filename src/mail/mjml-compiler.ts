import { Worker } from 'node:worker_threads';

/**
 * MJML to HTML on a thread that lives only while there are templates to compile. MJML and the
 * HTML tooling it loads take much of a process's memory, and a compile briefly more, yet a send
 * compiles only at its start (the start-up check, then its cards, a batch at a time): on the main
 * thread that memory stayed for the whole send (docs/architecture.md, what the hot paths cost).
 * The thread ends once it has been idle for IDLE_MS, so a burst of compiles starts it, and pays
 * MJML's load time, once.
 */
const IDLE_MS = 500;
/**
 * The thread's young generation, through Node's resourceLimits: a compile's garbage dies young,
 * and V8's default only lets it pile up before collecting: a small one lowers a send's peak RSS
 * without slowing the compile (docs/architecture.md, what the hot paths cost).
 */
const YOUNG_MB = 4;

interface Pending {
  /** The thread the compile was sent to: a thread that ends fails its own compiles only. */
  owner: Worker;
  resolve(html: string): void;
  reject(err: Error): void;
}

let worker: Worker | null = null;
let idleTimer: NodeJS.Timeout | null = null;
let nextId = 0;
const pending = new Map<number, Pending>();

function failAll(owner: Worker, err: Error) {
  for (const [id, p] of pending) {
    if (p.owner !== owner) continue;
    pending.delete(id);
    p.reject(err);
  }
}

const busy = (thread: Worker) => [...pending.values()].some((job) => job.owner === thread);

function start(): Worker {
  const thread = new Worker(new URL('./mjml-worker.mjs', import.meta.url), {
    // Plain JavaScript: the parent's --import loaders (tsx) are neither needed nor loadable there.
    execArgv: [],
    resourceLimits: { maxYoungGenerationSizeMb: YOUNG_MB },
  });
  thread.on('message', (reply: { id: number; html?: string; error?: string }) => {
    const job = pending.get(reply.id);
    if (!job) return;
    pending.delete(reply.id);
    if (reply.html !== undefined) job.resolve(reply.html);
    else job.reject(new Error(reply.error));
    if (!busy(thread)) idle(thread);
  });
  thread.on('error', (err) => {
    if (worker === thread) worker = null;
    failAll(thread, new Error(`the MJML thread failed: ${err.message}`, { cause: err }));
  });
  thread.on('exit', (code) => {
    if (worker === thread) worker = null;
    // An idle thread ended by its timer exits with code 1 too, with nothing of its own pending.
    failAll(thread, new Error(`the MJML thread exited with code ${code}`));
  });
  return thread;
}

/** No work left: the thread no longer keeps the process alive, and ends unless more comes soon. */
function idle(thread: Worker) {
  thread.unref();
  idleTimer = setTimeout(() => {
    idleTimer = null;
    if (worker === thread && !busy(thread)) {
      worker = null;
      void thread.terminate();
    }
  }, IDLE_MS);
  idleTimer.unref();
}

/** The HTML MJML makes of `mjml` (strict validation); MJML's message when it does not compile. */
export function compileMjml(mjml: string): Promise<string> {
  if (idleTimer) {
    clearTimeout(idleTimer);
    idleTimer = null;
  }
  const owner = (worker ??= start());
  owner.ref();
  const id = nextId++;
  return new Promise<string>((resolve, reject) => {
    pending.set(id, { owner, resolve, reject });
    owner.postMessage({ id, mjml });
  });
}

/** Ends the thread now unless it has work: after a burst of compiles known to be the last, its memory goes at once. */
export async function endMjmlThread(): Promise<void> {
  const thread = worker;
  if (!thread || busy(thread)) return;
  worker = null;
  if (idleTimer) {
    clearTimeout(idleTimer);
    idleTimer = null;
  }
  await thread.terminate();
}
