import { Worker } from 'node:worker_threads';
import { ReportRefused, type BounceReport } from './report-types.ts';

/**
 * Report parsing off the event loop. A report is whatever a stranger chose to send; MIME parsing
 * and the classifier's text scans run on one worker thread, one report at a time, so the HTTP
 * server and the send loop keep answering while they work. Each report has a time budget
 * (BOUNCE_PARSE_TIMEOUT_MS): past it the thread is ended, the report fails with ParseTimedOut
 * (the intake quarantines it), and the next report starts a fresh thread. The thread also has a
 * heap limit, and ends after a while without work, so an idle service keeps no parser memory.
 */
export interface ReportParser {
  parse(raw: Buffer): Promise<BounceReport>;
  close(): Promise<void>;
}

/**
 * The parser module the thread loads, as this one was loaded: compiled JavaScript in dist/,
 * TypeScript when run from the sources (tsx, vitest).
 */
const parserModule = new URL(
  import.meta.url.endsWith('.ts') ? './parse-report.ts' : './parse-report.js',
  import.meta.url,
).href;

export class ParseTimedOut extends Error {}
/** The thread died under a report (out of memory, a crash): the report is quarantined like a timeout. */
export class ParserCrashed extends Error {}

export interface ReportParserOptions {
  timeoutMs: number;
  /** How long an idle thread is kept before it ends. */
  idleMs?: number;
  /** The thread's old-generation heap limit. */
  heapMb?: number;
}

interface Job {
  raw: Buffer;
  resolve(report: BounceReport): void;
  reject(err: Error): void;
}

interface Reply {
  id?: number;
  ready?: true;
  report?: BounceReport;
  error?: string;
  cap?: ReportRefused['cap'];
}

export function createReportParser(o: ReportParserOptions): ReportParser {
  const idleMs = o.idleMs ?? 30_000;
  const queue: Job[] = [];
  let worker: Worker | undefined;
  let ready = false;
  let current: { id: number; job: Job; timer: NodeJS.Timeout } | undefined;
  let idleTimer: NodeJS.Timeout | undefined;
  let nextId = 0;
  let closed = false;

  /** The report in the thread is over: its answer is given, and the next one goes in. */
  function settle(outcome: { report: BounceReport } | { error: Error }) {
    if (!current) return;
    const { job, timer } = current;
    clearTimeout(timer);
    current = undefined;
    if ('report' in outcome) job.resolve(outcome.report);
    else job.reject(outcome.error);
    dispatch();
  }

  function end(w: Worker) {
    if (worker !== w) return;
    worker = undefined;
    ready = false;
    void w.terminate();
  }

  /**
   * The thread ended on its own: the report in it fails; a thread that never became ready fails the
   * waiting reports too (it would fail them all again), and the next report starts a new one.
   */
  function lost(w: Worker, err: Error) {
    if (worker !== w) return;
    const starting = !ready;
    end(w);
    if (current) settle({ error: err });
    else if (starting) for (const job of queue.splice(0)) job.reject(err);
  }

  function spawn(): Worker {
    const w = new Worker(new URL('./parse-worker.mjs', import.meta.url), {
      // Plain JavaScript: the parent's --import loaders are not loadable there (the thread loads tsx itself
      // when it is given the TypeScript).
      execArgv: [],
      workerData: { parserModule },
      resourceLimits: { maxOldGenerationSizeMb: o.heapMb ?? 256 },
    });
    w.on('message', (m: Reply) => {
      if (m.ready) {
        ready = true;
        return dispatch();
      }
      if (!current || m.id !== current.id) return;
      if (m.report) settle({ report: m.report });
      else settle({ error: m.cap ? new ReportRefused(m.cap, m.error ?? m.cap) : new Error(m.error) });
    });
    w.on('error', (err) => lost(w, new ParserCrashed(`the report parser failed: ${err.message}`, { cause: err })));
    w.on('exit', (code) => lost(w, new ParserCrashed(`the report parser exited with code ${code}`)));
    return w;
  }

  function dispatch() {
    if (closed || current) return;
    const job = queue.shift();
    if (!job) return goIdle();
    clearTimeout(idleTimer);
    worker ??= spawn();
    worker.ref();
    if (!ready) {
      queue.unshift(job);
      return;
    }
    const id = nextId++;
    const w = worker;
    const timer = setTimeout(() => {
      end(w);
      settle({ error: new ParseTimedOut(`parsing took longer than ${o.timeoutMs} ms`) });
    }, o.timeoutMs);
    current = { id, job, timer };
    w.postMessage({ id, raw: job.raw });
  }

  function goIdle() {
    const w = worker;
    if (!w) return;
    w.unref();
    clearTimeout(idleTimer);
    idleTimer = setTimeout(() => end(w), idleMs);
    idleTimer.unref();
  }

  return {
    parse(raw) {
      if (closed) return Promise.reject(new Error('the report parser is closed'));
      return new Promise<BounceReport>((resolve, reject) => {
        queue.push({ raw, resolve, reject });
        dispatch();
      });
    },
    async close() {
      closed = true;
      clearTimeout(idleTimer);
      const err = new Error('the report parser is closed');
      for (const job of queue.splice(0)) job.reject(err);
      if (current) settle({ error: err });
      const w = worker;
      worker = undefined;
      if (w) await w.terminate();
    },
  };
}
