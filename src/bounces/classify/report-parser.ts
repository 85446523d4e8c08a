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

export function createReportParser(options: ReportParserOptions): ReportParser {
  return new ThreadParser(options);
}

/** One worker thread at a time, one report in it at a time, the rest queued in arrival order. */
class ThreadParser implements ReportParser {
  private readonly queue: Job[] = [];
  private worker: Worker | undefined;
  private ready = false;
  private current: { id: number; job: Job; timer: NodeJS.Timeout } | undefined;
  private idleTimer: NodeJS.Timeout | undefined;
  private nextId = 0;
  private closed = false;

  private readonly options: ReportParserOptions;

  constructor(options: ReportParserOptions) {
    this.options = options;
  }

  parse(raw: Buffer): Promise<BounceReport> {
    if (this.closed) return Promise.reject(new Error('the report parser is closed'));
    return new Promise<BounceReport>((resolve, reject) => {
      this.queue.push({ raw, resolve, reject });
      this.dispatch();
    });
  }

  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.idleTimer);
    const err = new Error('the report parser is closed');
    for (const job of this.queue.splice(0)) job.reject(err);
    if (this.current) this.settle({ error: err });
    const worker = this.worker;
    this.worker = undefined;
    if (worker) await worker.terminate();
  }

  /** The next report into the thread, once it is free and ready; a thread is started when there is none. */
  private dispatch() {
    if (this.closed || this.current) return;
    const job = this.queue.shift();
    if (!job) return this.goIdle();
    clearTimeout(this.idleTimer);
    const worker = (this.worker ??= this.spawn());
    worker.ref();
    if (!this.ready) {
      this.queue.unshift(job);
      return;
    }
    const id = this.nextId++;
    const timer = setTimeout(() => {
      this.end(worker);
      this.settle({ error: new ParseTimedOut(`parsing took longer than ${this.options.timeoutMs} ms`) });
    }, this.options.timeoutMs);
    this.current = { id, job, timer };
    worker.postMessage({ id, raw: job.raw });
  }

  /** The report in the thread is over: its answer is given, and the next one goes in. */
  private settle(outcome: { report: BounceReport } | { error: Error }) {
    if (!this.current) return;
    const { job, timer } = this.current;
    clearTimeout(timer);
    this.current = undefined;
    if ('report' in outcome) job.resolve(outcome.report);
    else job.reject(outcome.error);
    this.dispatch();
  }

  private spawn(): Worker {
    const worker = new Worker(new URL('./parse-worker.mjs', import.meta.url), {
      // Plain JavaScript: the parent's --import loaders are not loadable there (the thread loads tsx itself
      // when it is given the TypeScript).
      execArgv: [],
      workerData: { parserModule },
      resourceLimits: { maxOldGenerationSizeMb: this.options.heapMb ?? 256 },
    });
    worker.on('message', (reply: Reply) => this.answer(reply));
    worker.on('error', (err) =>
      this.lost(worker, new ParserCrashed(`the report parser failed: ${err.message}`, { cause: err })),
    );
    worker.on('exit', (code) => this.lost(worker, new ParserCrashed(`the report parser exited with code ${code}`)));
    return worker;
  }

  private answer(reply: Reply) {
    if (reply.ready) {
      this.ready = true;
      return this.dispatch();
    }
    if (!this.current || reply.id !== this.current.id) return;
    if (reply.report) this.settle({ report: reply.report });
    else
      this.settle({
        error: reply.cap ? new ReportRefused(reply.cap, reply.error ?? reply.cap) : new Error(reply.error),
      });
  }

  /**
   * The thread ended on its own: the report in it fails; a thread that never became ready fails the
   * waiting reports too (it would fail them all again), and the next report starts a new one.
   */
  private lost(worker: Worker, err: Error) {
    if (this.worker !== worker) return;
    const starting = !this.ready;
    this.end(worker);
    if (this.current) this.settle({ error: err });
    else if (starting) for (const job of this.queue.splice(0)) job.reject(err);
  }

  private end(worker: Worker) {
    if (this.worker !== worker) return;
    this.worker = undefined;
    this.ready = false;
    void worker.terminate();
  }

  /** No work: the thread no longer keeps the process alive, and ends unless more comes soon. */
  private goIdle() {
    const worker = this.worker;
    if (!worker) return;
    worker.unref();
    clearTimeout(this.idleTimer);
    this.idleTimer = setTimeout(() => this.end(worker), this.options.idleMs ?? 30_000);
    this.idleTimer.unref();
  }
}
